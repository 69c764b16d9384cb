#include "state.h"

#include "crypto.h"

namespace weft::refchain {

std::optional<std::string> StateOverlay::get(const std::string &resource, const std::string &key) const {
  if (auto it = writes_.find({resource, key}); it != writes_.end()) return it->second;
  return base_ ? base_(resource, key) : std::nullopt;
}

void StateOverlay::put(const std::string &resource, const std::string &key, std::string value) {
  writes_[{resource, key}] = std::move(value);
}

void StateOverlay::merge_into(StateOverlay &parent) {
  for (auto &[k, v] : writes_)
    parent.writes_[k] = std::move(v);
  writes_.clear();
}

Bytes encode_writes(const StateWrites &writes) {
  Writer w;
  w.u32(static_cast<uint32_t>(writes.size()));
  for (const auto &[k, v] : writes) {
    w.str(k.first);
    w.str(k.second);
    w.str(v);
  }
  return w.take();
}

Hash next_state_hash(const Hash &parent, const StateWrites &writes) {
  return Sha256().update(parent).update(encode_writes(writes)).finish();
}

} // namespace weft::refchain
