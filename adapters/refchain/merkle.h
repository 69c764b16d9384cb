// Merkle trees as RFC 6962 defines them: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), split
// at the largest power of two below n, empty tree = SHA-256(""). The distinct prefixes stop a proof from passing an
// inner node off as a leaf. Leaves of a block's trees are the transaction hashes and the receipt hashes.
#pragma once

#include "bytes.h"

#include <vector>

namespace weft::refchain {

Hash merkle_leaf_hash(ByteView data);
Hash merkle_node_hash(const Hash &left, const Hash &right);

// Root over leaf data items (each hashed as a leaf): 32-byte items (a block's trees) or any bytes.
Hash merkle_root(const std::vector<Hash> &leaves);
Hash merkle_root(const std::vector<Bytes> &leaves);

// The audit path of leaf `index` (RFC 6962 PATH), bottom-up; empty for an index out of range.
std::vector<Hash> merkle_path(const std::vector<Hash> &leaves, size_t index);
std::vector<Hash> merkle_path(const std::vector<Bytes> &leaves, size_t index);

// Recomputes the root from one leaf's data and its path (RFC 9162 2.1.3.2) and compares.
bool merkle_verify(ByteView leaf_data, size_t index, size_t tree_size, const std::vector<Hash> &path, const Hash &root);

} // namespace weft::refchain
