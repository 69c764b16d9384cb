#include "state.h"

#include "crypto.h"

namespace weft::refchain {

StateOverlay StateOverlay::over(const StateOverlay &parent) {
  return StateOverlay([&parent](const std::string &r, const std::string &k) { return parent.get(r, k); },
                      [&parent](const std::string &r, const std::string &p) { return parent.scan(r, p); });
}

std::optional<std::string> StateOverlay::get(const std::string &resource, const std::string &key) const {
  if (auto it = writes_.find({resource, key}); it != writes_.end()) return it->second;
  return base_ ? base_(resource, key) : std::nullopt;
}

void StateOverlay::put(const std::string &resource, const std::string &key, std::string value) {
  writes_[{resource, key}] = std::move(value);
}

void StateOverlay::erase(const std::string &resource, const std::string &key) {
  writes_[{resource, key}] = std::nullopt;
}

StateEntries StateOverlay::scan(const std::string &resource, const std::string &prefix) const {
  StateEntries out = scan_ ? scan_(resource, prefix) : StateEntries{};
  for (auto it = writes_.lower_bound({resource, prefix}); it != writes_.end(); ++it) {
    const auto &[k, v] = *it;
    if (k.first != resource || k.second.compare(0, prefix.size(), prefix) != 0) break;
    if (v)
      out[k.second] = *v;
    else
      out.erase(k.second);
  }
  return out;
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
    if (v)
      w.str(*v);
    else
      w.u32(kDeletedValueMarker);
  }
  return w.take();
}

Hash next_state_hash(const Hash &parent, const StateWrites &writes) {
  return Sha256().update(parent).update(encode_writes(writes)).finish();
}

} // namespace weft::refchain
