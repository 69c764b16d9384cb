#include "merkle.h"

#include "crypto.h"

namespace weft::refchain {

namespace {
size_t split_point(size_t n) { // largest power of two strictly below n (n >= 2)
  size_t k = 1;
  while (k * 2 < n)
    k *= 2;
  return k;
}

// Both work on leaf hashes, so each leaf is hashed once.
Hash subtree_root(const std::vector<Hash> &h, size_t begin, size_t end) {
  size_t n = end - begin;
  if (n == 1) return h[begin];
  size_t k = split_point(n);
  return merkle_node_hash(subtree_root(h, begin, begin + k), subtree_root(h, begin + k, end));
}

void subtree_path(const std::vector<Hash> &h, size_t m, size_t begin, size_t end, std::vector<Hash> &out) {
  size_t n = end - begin;
  if (n <= 1) return;
  size_t k = split_point(n);
  if (m < k) {
    subtree_path(h, m, begin, begin + k, out);
    out.push_back(subtree_root(h, begin + k, end));
  } else {
    subtree_path(h, m - k, begin + k, end, out);
    out.push_back(subtree_root(h, begin, begin + k));
  }
}

template <class Leaves> std::vector<Hash> leaf_hashes(const Leaves &leaves) {
  std::vector<Hash> h;
  h.reserve(leaves.size());
  for (const auto &l : leaves)
    h.push_back(merkle_leaf_hash(l));
  return h;
}

Hash root_of(const std::vector<Hash> &h) { return h.empty() ? sha256({}) : subtree_root(h, 0, h.size()); }

std::vector<Hash> path_of(const std::vector<Hash> &h, size_t index) {
  std::vector<Hash> out;
  if (index < h.size()) subtree_path(h, index, 0, h.size(), out);
  return out;
}
} // namespace

Hash merkle_leaf_hash(ByteView data) { return Sha256().update(uint8_t{0}).update(data).finish(); }

Hash merkle_node_hash(const Hash &left, const Hash &right) {
  return Sha256().update(uint8_t{1}).update(left).update(right).finish();
}

Hash merkle_root(const std::vector<Hash> &leaves) { return root_of(leaf_hashes(leaves)); }
Hash merkle_root(const std::vector<Bytes> &leaves) { return root_of(leaf_hashes(leaves)); }

std::vector<Hash> merkle_path(const std::vector<Hash> &leaves, size_t index) {
  return path_of(leaf_hashes(leaves), index);
}
std::vector<Hash> merkle_path(const std::vector<Bytes> &leaves, size_t index) {
  return path_of(leaf_hashes(leaves), index);
}

bool merkle_verify(ByteView leaf_data, size_t index, size_t tree_size, const std::vector<Hash> &path,
                   const Hash &root) {
  if (index >= tree_size) return false;
  size_t fn = index, sn = tree_size - 1;
  Hash r = merkle_leaf_hash(leaf_data);
  for (const Hash &p : path) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = merkle_node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) { // skip the levels where this node has no right sibling
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

} // namespace weft::refchain
