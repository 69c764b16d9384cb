#include "htlc_log.h"

namespace weft::store {

namespace {

constexpr const char *kColumns = "SELECT id, user, user_id, state, proposal, progress, secret_version, secret_nonce, "
                                 "secret_sealed, created_ms, updated_ms, note FROM htlc_swaps ";

HtlcSwapRecord row_record(const Statement &st) {
  HtlcSwapRecord r;
  r.id = st.column_text(0);
  r.user = st.column_text(1);
  r.user_id = st.column_int(2);
  r.state = st.column_text(3);
  r.proposal = st.column_text(4);
  r.progress = st.column_text(5);
  r.secret_version = st.column_int(6);
  r.secret_nonce = st.column_blob(7);
  r.secret_sealed = st.column_blob(8);
  r.created_ms = st.column_int(9);
  r.updated_ms = st.column_int(10);
  r.note = st.column_text(11);
  return r;
}

Result<std::vector<HtlcSwapRecord>> all_rows(Statement &st) {
  std::vector<HtlcSwapRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(row_record(st));
  }
  return out;
}

} // namespace

Store::WriteFn htlc_insert(HtlcSwapRecord r) {
  return [r = std::move(r)](WriteTx &tx) -> Status {
    auto st = tx.prepare("INSERT INTO htlc_swaps (id, user, user_id, state, proposal, progress, secret_version, "
                         "secret_nonce, secret_sealed, created_ms, updated_ms, note) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!st) return st.error();
    st->bind(1, r.id).bind(2, r.user).bind(3, r.user_id).bind(4, r.state).bind(5, r.proposal).bind(6, r.progress);
    st->bind(7, r.secret_version);
    if (r.secret_sealed.empty())
      st->bind_null(8).bind_null(9);
    else
      st->bind_blob(8, r.secret_nonce).bind_blob(9, r.secret_sealed);
    st->bind(10, r.created_ms).bind(11, r.updated_ms).bind(12, r.note);
    return st->run();
  };
}

Store::WriteFn htlc_update(std::string id, std::string state, std::string progress, std::string note,
                           std::int64_t updated_ms) {
  return [=](WriteTx &tx) -> Status {
    auto st = tx.prepare("UPDATE htlc_swaps SET state = ?2, progress = ?3, note = ?4, updated_ms = ?5 WHERE id = ?1");
    if (!st) return st.error();
    st->bind(1, id).bind(2, state).bind(3, progress).bind(4, note).bind(5, updated_ms);
    if (auto s = st->run(); !s) return s;
    if (tx.changes() != 1) return Error{code::kStore, "HTLC swap " + id + " is not in the store"};
    return Ok{};
  };
}

Result<std::optional<HtlcSwapRecord>> htlc_get(Store &store, const std::string &id) {
  return store.read([&](ReadTx &tx) -> Result<std::optional<HtlcSwapRecord>> {
    auto st = tx.prepare(std::string(kColumns) + "WHERE id = ?1");
    if (!st) return st.error();
    st->bind(1, id);
    auto rows = all_rows(*st);
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<HtlcSwapRecord>{};
    return std::optional<HtlcSwapRecord>(std::move(rows->front()));
  });
}

Result<std::vector<HtlcSwapRecord>> htlc_unfinished(Store &store) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<HtlcSwapRecord>> {
    auto st = tx.prepare(std::string(kColumns) +
                         "WHERE state NOT IN ('completed', 'refunded', 'cancelled', 'failed') ORDER BY created_ms, id");
    if (!st) return st.error();
    return all_rows(*st);
  });
}

Result<std::vector<HtlcSwapRecord>> htlc_list(Store &store, std::int64_t user_id, std::int64_t offset,
                                              std::int64_t limit) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<HtlcSwapRecord>> {
    auto st = tx.prepare(std::string(kColumns) +
                         "WHERE (?1 < 0 OR user_id = ?1) ORDER BY created_ms DESC, id DESC LIMIT ?2 OFFSET ?3");
    if (!st) return st.error();
    st->bind(1, user_id).bind(2, limit).bind(3, offset);
    return all_rows(*st);
  });
}

} // namespace weft::store
