#include "xa_log.h"

#include <utility>

namespace weft::store {

namespace {

Status run(WriteTx &tx, std::string_view sql, const std::vector<std::string> &text, std::vector<std::int64_t> ints = {},
           int int_first = 0) {
  auto st = tx.prepare(sql);
  if (!st) return st.error();
  for (size_t i = 0; i < text.size(); ++i) st->bind(static_cast<int>(i + 1), text[i]);
  for (size_t i = 0; i < ints.size(); ++i) st->bind(int_first + static_cast<int>(i), ints[i]);
  return st->run();
}

Status load_children(const ReadTx &tx, XaRecord &r) {
  auto chains = tx.prepare("SELECT chain, resources, state, message FROM xa_chains WHERE xid = ?1 ORDER BY chain");
  if (!chains) return chains.error();
  chains->bind(1, r.id);
  for (;;) {
    auto row = chains->step();
    if (!row) return row.error();
    if (!*row) break;
    r.chains.push_back({chains->column_text(0), chains->column_text(1), chains->column_text(2), chains->column_text(3)});
  }
  auto steps = tx.prepare("SELECT seq, path, method, args, user, at_ms, outcome, hash, answer FROM xa_steps "
                          "WHERE xid = ?1 ORDER BY seq");
  if (!steps) return steps.error();
  steps->bind(1, r.id);
  for (;;) {
    auto row = steps->step();
    if (!row) return row.error();
    if (!*row) break;
    XaStepRecord s;
    s.seq = steps->column_int(0);
    s.path = steps->column_text(1);
    s.method = steps->column_text(2);
    s.args = steps->column_text(3);
    s.user = steps->column_text(4);
    s.at_ms = steps->column_int(5);
    s.outcome = steps->column_text(6);
    s.hash = steps->column_text(7);
    s.answer = steps->column_text(8);
    r.steps.push_back(std::move(s));
  }
  return Ok{};
}

constexpr const char *kColumns =
    "SELECT id, user, user_id, status, decision, started_ms, commit_ms, rollback_ms, paths, note FROM xa_transactions ";

XaRecord row_record(const Statement &st) {
  XaRecord r;
  r.id = st.column_text(0);
  r.user = st.column_text(1);
  r.user_id = st.column_int(2);
  r.status = st.column_text(3);
  r.decision = st.column_text(4);
  r.started_ms = st.column_int(5);
  r.commit_ms = st.column_int(6);
  r.rollback_ms = st.column_int(7);
  r.paths = st.column_text(8);
  r.note = st.column_text(9);
  return r;
}

} // namespace

Store::WriteFn xa_insert(XaRecord record) {
  return [r = std::move(record)](WriteTx &tx) -> Status {
    if (xa_exists(tx, r.id)) return Error{code::kStore, "XA transaction " + r.id + " is already in the log"};
    if (auto s = run(tx,
                     "INSERT INTO xa_transactions (id, user, status, decision, paths, note, user_id, started_ms, "
                     "commit_ms, rollback_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                     {r.id, r.user, r.status, r.decision, r.paths, r.note},
                     {r.user_id, r.started_ms, r.commit_ms, r.rollback_ms}, 7);
        !s)
      return s;
    for (const auto &c : r.chains)
      if (auto s = run(tx,
                       "INSERT INTO xa_chains (xid, chain, resources, state, message, started_ms) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                       {r.id, c.chain, c.resources, c.state, c.message}, {r.started_ms}, 6);
          !s)
        return s;
    return Ok{};
  };
}

Store::WriteFn xa_put_step(std::string xid, XaStepRecord step) {
  return [xid = std::move(xid), s = std::move(step)](WriteTx &tx) -> Status {
    return run(tx,
               "INSERT OR REPLACE INTO xa_steps (xid, path, method, args, user, outcome, hash, answer, seq, at_ms) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
               {xid, s.path, s.method, s.args, s.user, s.outcome, s.hash, s.answer}, {s.seq, s.at_ms}, 9);
  };
}

Store::WriteFn xa_set_status(std::string xid, std::string status, std::string decision, std::int64_t commit_ms,
                             std::int64_t rollback_ms, std::string note) {
  return [=](WriteTx &tx) -> Status {
    auto s = run(tx,
                 "UPDATE xa_transactions SET status = ?2, decision = ?3, note = ?4, "
                 "commit_ms = max(commit_ms, ?5), rollback_ms = max(rollback_ms, ?6) WHERE id = ?1",
                 {xid, status, decision, note}, {commit_ms, rollback_ms}, 5);
    if (!s) return s;
    if (tx.changes() != 1) return Error{code::kStore, "XA transaction " + xid + " is not in the log"};
    return Ok{};
  };
}

Store::WriteFn xa_set_chain(std::string xid, std::string chain, std::string state, std::string message) {
  return [=](WriteTx &tx) -> Status {
    return run(tx, "UPDATE xa_chains SET state = ?3, message = ?4 WHERE xid = ?1 AND chain = ?2",
               {xid, chain, state, message});
  };
}

bool xa_exists(ReadTx &tx, const std::string &xid) {
  auto st = tx.prepare("SELECT 1 FROM xa_transactions WHERE id = ?1");
  if (!st) return false;
  st->bind(1, xid);
  auto row = st->step();
  return row.ok() && *row;
}

Result<std::optional<XaRecord>> xa_get(Store &store, const std::string &xid) {
  return store.read([&](ReadTx &tx) -> Result<std::optional<XaRecord>> {
    auto st = tx.prepare(std::string(kColumns) + "WHERE id = ?1");
    if (!st) return st.error();
    st->bind(1, xid);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<XaRecord>{};
    XaRecord r = row_record(*st);
    if (auto s = load_children(tx, r); !s) return s.error();
    return std::optional<XaRecord>(std::move(r));
  });
}

Result<std::vector<XaRecord>> xa_unfinished(Store &store) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<XaRecord>> {
    auto st = tx.prepare(std::string(kColumns) +
                         "WHERE status NOT IN ('committed', 'rolledback', 'resolved') ORDER BY started_ms, id");
    if (!st) return st.error();
    std::vector<XaRecord> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back(row_record(*st));
    }
    for (auto &r : out)
      if (auto s = load_children(tx, r); !s) return s.error();
    return out;
  });
}

Result<std::vector<XaListEntry>> xa_list_chain(Store &store, const std::string &chain, std::int64_t offset,
                                               std::int64_t limit) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<XaListEntry>> {
    auto st = tx.prepare("SELECT xid, started_ms FROM xa_chains WHERE chain = ?1 ORDER BY started_ms DESC, xid DESC "
                         "LIMIT ?2 OFFSET ?3");
    if (!st) return st.error();
    st->bind(1, chain).bind(2, limit).bind(3, offset);
    std::vector<XaListEntry> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back({st->column_text(0), st->column_int(1)});
    }
    return out;
  });
}

Result<std::vector<std::pair<std::string, std::int64_t>>> xa_status_counts(Store &store) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<std::pair<std::string, std::int64_t>>> {
    auto st = tx.prepare("SELECT status, count(*) FROM xa_transactions GROUP BY status");
    if (!st) return st.error();
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      out.emplace_back(st->column_text(0), st->column_int(1));
    }
    return out;
  });
}

} // namespace weft::store
