#include "chain_status.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace weft::store {

std::string_view to_string(ChainState state) {
  return state == ChainState::kUp ? "up" : "down";
}

Result<std::int64_t> record_chain_status(Store &store, const ChainStatusEvent &event) {
  std::int64_t id = 0;
  Status written = store.write([&](WriteTx &tx) -> Status {
    auto insert = tx.prepare("INSERT INTO chain_status (chain, at_ms, status, reason) VALUES (?1, ?2, ?3, ?4)");
    if (!insert) return insert.error();
    insert->bind(1, event.chain).bind(2, event.at_ms).bind(3, to_string(event.status)).bind(4, event.reason);
    if (auto s = insert->run(); !s) return s;
    id = tx.last_insert_rowid();
    return Ok{};
  });
  if (!written) return written.error();
  return id;
}

Result<std::vector<ChainStatusEvent>> chain_status_history(Store &store, std::string_view chain, std::size_t limit) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<ChainStatusEvent>> {
    auto select = tx.prepare("SELECT id, at_ms, status, reason FROM chain_status WHERE chain = ?1 "
                             "ORDER BY id DESC LIMIT ?2");
    if (!select) return select.error();
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    select->bind(1, chain).bind(2, static_cast<std::int64_t>(std::min(limit, kMax)));
    std::vector<ChainStatusEvent> events;
    for (;;) {
      auto row = select->step();
      if (!row) return row.error();
      if (!*row) break;
      ChainStatusEvent e;
      e.id = select->column_int(0);
      e.chain = std::string(chain);
      e.at_ms = select->column_int(1);
      std::string status = select->column_text(2);
      // The table's CHECK allows nothing else; anything else means the file was edited by hand.
      if (status != "up" && status != "down")
        return Error{code::kStore, "router store: chain_status row " + std::to_string(e.id) + " has status '" + status +
                                       "'; expected 'up' or 'down'"};
      e.status = status == "up" ? ChainState::kUp : ChainState::kDown;
      e.reason = select->column_text(3);
      events.push_back(std::move(e));
    }
    return events;
  });
}

} // namespace weft::store
