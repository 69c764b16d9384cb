#include "merkle.h"

#include "crypto.h"

namespace weft::refchain {

namespace {
size_t split_point(size_t n) { // largest power of two strictly below n (n >= 2)
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash subtree_root(const std::vector<Hash> &leaves, size_t begin, size_t end) {
  size_t n = end - begin;
  if (n == 1) return merkle_leaf_hash(leaves[begin]);
  size_t k = split_point(n);
  return merkle_node_hash(subtree_root(leaves, begin, begin + k), subtree_root(leaves, begin + k, end));
}

void subtree_path(const std::vector<Hash> &leaves, size_t m, size_t begin, size_t end, std::vector<Hash> &out) {
  size_t n = end - begin;
  if (n <= 1) return;
  size_t k = split_point(n);
  if (m < k) {
    subtree_path(leaves, m, begin, begin + k, out);
    out.push_back(subtree_root(leaves, begin + k, end));
  } else {
    subtree_path(leaves, m - k, begin + k, end, out);
    out.push_back(subtree_root(leaves, begin, begin + k));
  }
}
} // namespace

Hash merkle_leaf_hash(ByteView data) { return Sha256().update(uint8_t{0}).update(data).finish(); }

Hash merkle_node_hash(const Hash &left, const Hash &right) {
  return Sha256().update(uint8_t{1}).update(left).update(right).finish();
}

Hash merkle_root(const std::vector<Hash> &leaves) {
  if (leaves.empty()) return sha256({});
  return subtree_root(leaves, 0, leaves.size());
}

std::vector<Hash> merkle_path(const std::vector<Hash> &leaves, size_t index) {
  std::vector<Hash> out;
  if (index < leaves.size()) subtree_path(leaves, index, 0, leaves.size(), out);
  return out;
}

bool merkle_verify(const Hash &leaf_data, size_t index, size_t tree_size, const std::vector<Hash> &path,
                   const Hash &root) {
  if (index >= tree_size) return false;
  size_t fn = index, sn = tree_size - 1;
  Hash r = merkle_leaf_hash(leaf_data);
  for (const Hash &p : path) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = merkle_node_hash(p, r);
      if ((fn & 1) == 0)
        while ((fn & 1) == 0 && fn != 0) {
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
