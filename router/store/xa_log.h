// The XA coordinator's log in the router store (migration 4): one row per transaction, per chain it touches and per
// step. The coordinator writes a record and waits for it to be durable before it sends the action the record
// announces; recovery reads the unfinished ones back. JSON columns (paths, resources, args, answer) are text the
// coordinator writes and reads; this file only stores them.
#pragma once

#include "store.h"

#include <weft/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::store {

struct XaChainRecord {
  std::string chain;          // zone.chain
  std::string resources;      // JSON array of resource names on that chain
  std::string state = "open"; // open | done | refused
  std::string message;        // why it refused, or the last error seen
};

struct XaStepRecord {
  std::int64_t seq = 0;
  std::string path;   // zone.chain.resource
  std::string method;
  std::string args;   // JSON array of strings
  std::string user;
  std::int64_t at_ms = 0;
  std::string outcome = "pending"; // pending | ok | failed | unknown
  std::string hash;                // the step's transaction, once known
  std::string answer;              // the TransactionResponse JSON given to the client (ok, failed)
};

struct XaRecord {
  std::string id;
  std::string user;
  std::int64_t user_id = 0;
  std::string status = "processing"; // processing | committing | rollingback | committed | rolledback | heuristic | resolved
  std::string decision;              // "" | commit | rollback
  std::int64_t started_ms = 0, commit_ms = 0, rollback_ms = 0;
  std::string paths; // JSON array of resource paths
  std::string note;  // why it ended as it did (timeout, start failure, heuristic, resolution)
  std::vector<XaChainRecord> chains;
  std::vector<XaStepRecord> steps; // by seq
};

// Writes for Store::write / write_async. Each is one savepoint of a group commit.
Store::WriteFn xa_insert(XaRecord record);                       // fails if the id exists
Store::WriteFn xa_put_step(std::string xid, XaStepRecord step);  // insert or replace
Store::WriteFn xa_set_status(std::string xid, std::string status, std::string decision, std::int64_t commit_ms,
                             std::int64_t rollback_ms, std::string note);
Store::WriteFn xa_set_chain(std::string xid, std::string chain, std::string state, std::string message);

// One transaction with its chains and steps, or nullopt.
Result<std::optional<XaRecord>> xa_get(Store &store, const std::string &xid);
bool xa_exists(ReadTx &tx, const std::string &xid);
// Every transaction not yet committed, rolled back or resolved, oldest first.
Result<std::vector<XaRecord>> xa_unfinished(Store &store);
// The ids touching `chain`, newest first, skipping `offset`, at most `limit`; with their start times.
struct XaListEntry {
  std::string id;
  std::int64_t started_ms = 0;
};
Result<std::vector<XaListEntry>> xa_list_chain(Store &store, const std::string &chain, std::int64_t offset,
                                               std::int64_t limit);
// Counts by status, for /metrics.
Result<std::vector<std::pair<std::string, std::int64_t>>> xa_status_counts(Store &store);

} // namespace weft::store
