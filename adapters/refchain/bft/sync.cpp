// STATUS announcements and block sync: a validator that learns a peer is ahead asks it for committed blocks and
// takes each one only after checking its commit certificate against the validator set and re-validating it.
#include "engine_impl.h"

namespace weft::refchain::bft {

void Engine::Impl::send_status(uint64_t now) {
  last_status = now;
  Message m;
  m.type = MessageType::Status;
  m.height = app.height();
  broadcast(m, false);
}

void Engine::Impl::note_peer_height(uint32_t from, uint64_t committed, uint64_t now) {
  peer_heights[from] = std::max(peer_heights[from], committed);
  uint64_t mine = app.height();
  if (committed <= mine) return;
  // One request in flight per status interval; an answer that leaves us behind asks again at once.
  if (sync_requested && now < last_sync_request + cfg.status_interval_ms) return;
  // Ask the peers that are ahead in turn, not always the highest announcer: a byzantine peer announcing a huge
  // height then gets only its share of the requests, and honest peers still bring us up to date.
  std::vector<uint32_t> ahead;
  for (uint32_t v = 0; v < n; ++v)
    if (v != cfg.self && peer_heights[v] > mine) ahead.push_back(v);
  uint32_t best = ahead.empty() ? from : ahead[sync_rotation++ % ahead.size()];
  sync_requested = true;
  last_sync_request = now;
  Message m;
  m.type = MessageType::SyncRequest;
  m.height = mine + 1;
  m.chain_id = cfg.chain_id;
  sign_message(m, signer);
  net.send(best, m.encode());
}

bool Engine::Impl::on_status(uint32_t from, const Message &m, uint64_t now) {
  note_peer_height(from, m.height, now);
  return true;
}

bool Engine::Impl::on_sync_request(uint32_t from, const Message &m) {
  uint64_t top = app.height();
  if (m.height == 0 || m.height > top) return true;
  Message out;
  out.type = MessageType::SyncResponse;
  out.chain_id = cfg.chain_id;
  out.height = m.height;
  // Leave room for the envelope; a block too big to share an answer still goes alone.
  size_t budget = cfg.max_message_bytes > 4096 ? cfg.max_message_bytes - 4096 : 0;
  size_t used = 0;
  for (uint64_t h = m.height; h <= top && out.blocks.size() < cfg.max_sync_blocks; ++h) {
    auto block = app.committed_block(h);
    if (!block) break;
    size_t size = block->first.size() + 16 + 69 * block->second.seals.size();
    if (!out.blocks.empty() && used + size > budget) break;
    used += size;
    out.blocks.push_back(SyncBlock{std::move(block->first), std::move(block->second)});
  }
  if (out.blocks.empty()) return true;
  sign_message(out, signer);
  net.send(from, out.encode());
  return true;
}

bool Engine::Impl::on_sync_response(uint32_t from, const Message &m, uint64_t now) {
  sync_requested = false;
  uint64_t number = m.height;
  bool took = false;
  for (const auto &b : m.blocks) {
    uint64_t mine = app.height();
    if (number <= mine) {
      ++number;
      continue;
    }
    if (number != mine + 1) break;
    // The block's hash is the application's to compute, so validation comes first; nothing is committed unless a
    // quorum of the validator set sealed exactly that hash at this height.
    std::string why;
    auto hash = app.validate(b.payload, now, &why);
    if (!hash) return drop("sync block " + std::to_string(number) + " is invalid: " + why);
    if (!verify_commit_cert(cfg.chain_id, cfg.validators, number, *hash, b.cert, &why))
      return drop("sync block " + std::to_string(number) + ": " + why);
    app.commit(b.payload, *hash, b.cert);
    ++st.synced_blocks;
    took = true;
    enter_height(now);
    ++number;
  }
  if (took) {
    note(1, "synced to height " + std::to_string(app.height()));
    uint64_t best = 0;
    for (uint64_t h : peer_heights)
      best = std::max(best, h);
    if (best > app.height()) note_peer_height(from, peer_heights[from], now);
  }
  return true;
}

} // namespace weft::refchain::bft
