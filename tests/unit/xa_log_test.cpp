// The XA coordinator's log in the router store, and the failpoint spec: what the coordinator writes before each
// action comes back exactly after a reopen, unfinished transactions are found, per-chain listing pages newest
// first, and a malformed WEFT_FAILPOINTS is refused with a message naming the entry.
#include "core/failpoint.h"
#include "store/store.h"
#include "store/xa_log.h"

#include <doctest/doctest.h>

#include "test_support.h"

using namespace weft;
using namespace weft::store;
using weft::test::TempDir;

namespace {

XaRecord record(const std::string &id, std::int64_t started, std::vector<std::string> chains) {
  XaRecord r;
  r.id = id;
  r.user = "alice";
  r.user_id = 7;
  r.started_ms = started;
  r.paths = "[\"z.c.r\"]";
  for (auto &c : chains) r.chains.push_back({c, "[\"r\"]", "open", ""});
  return r;
}

} // namespace

TEST_CASE("the XA log keeps a transaction, its chains and its steps across a reopen") {
  TempDir tmp;
  {
    auto store = Store::open(tmp.path);
    REQUIRE(store.ok());
    Store &db = **store;
    REQUIRE(db.write(xa_insert(record("x1", 100, {"z.a", "z.b"}))).ok());
    CHECK_FALSE(db.write(xa_insert(record("x1", 100, {"z.a"}))).ok()); // an id is unique over the whole log
    XaStepRecord s;
    s.seq = 5;
    s.path = "z.a.r";
    s.method = "transfer";
    s.args = "[\"0xb\",\"1\"]";
    s.user = "alice";
    s.at_ms = 101;
    REQUIRE(db.write(xa_put_step("x1", s)).ok());
    s.outcome = "ok";
    s.hash = "0xabc";
    s.answer = "{\"errorCode\":0}";
    REQUIRE(db.write(xa_put_step("x1", s)).ok()); // the outcome replaces the pending record
    REQUIRE(db.write(xa_set_status("x1", "committing", "commit", 120, 0, "")).ok());
    REQUIRE(db.write(xa_set_chain("x1", "z.a", "done", "")).ok());
    CHECK_FALSE(db.write(xa_set_status("nope", "committed", "commit", 1, 0, "")).ok());
  }
  auto store = Store::open(tmp.path);
  REQUIRE(store.ok());
  auto got = xa_get(**store, "x1");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  const XaRecord &r = **got;
  CHECK(r.status == "committing");
  CHECK(r.decision == "commit");
  CHECK(r.commit_ms == 120);
  CHECK(r.user_id == 7);
  REQUIRE(r.chains.size() == 2);
  CHECK(r.chains[0].chain == "z.a");
  CHECK(r.chains[0].state == "done");
  CHECK(r.chains[1].state == "open");
  REQUIRE(r.steps.size() == 1);
  CHECK(r.steps[0].outcome == "ok");
  CHECK(r.steps[0].hash == "0xabc");
  CHECK(r.steps[0].args == "[\"0xb\",\"1\"]");
  auto missing = xa_get(**store, "x2");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
}

TEST_CASE("unfinished transactions are found oldest first; ended ones are not") {
  TempDir tmp;
  auto store = Store::open(tmp.path);
  REQUIRE(store.ok());
  Store &db = **store;
  REQUIRE(db.write(xa_insert(record("late", 300, {"z.a"}))).ok());
  REQUIRE(db.write(xa_insert(record("early", 100, {"z.a"}))).ok());
  REQUIRE(db.write(xa_insert(record("done", 200, {"z.a"}))).ok());
  REQUIRE(db.write(xa_set_status("done", "committed", "commit", 210, 0, "")).ok());
  REQUIRE(db.write(xa_insert(record("stuck", 250, {"z.a"}))).ok());
  REQUIRE(db.write(xa_set_status("stuck", "heuristic", "rollback", 0, 260, "z.a refused")).ok());
  auto open = xa_unfinished(db);
  REQUIRE(open.ok());
  std::vector<std::string> ids;
  for (const auto &r : *open) ids.push_back(r.id);
  CHECK(ids == std::vector<std::string>{"early", "stuck", "late"});
  auto counts = xa_status_counts(db);
  REQUIRE(counts.ok());
  CHECK(counts->size() == 3);
}

TEST_CASE("a chain's transactions are listed newest first, paged by offset") {
  TempDir tmp;
  auto store = Store::open(tmp.path);
  REQUIRE(store.ok());
  Store &db = **store;
  for (int i = 0; i < 5; ++i)
    REQUIRE(db.write(xa_insert(record("t" + std::to_string(i), 100 + i, {"z.a"}))).ok());
  REQUIRE(db.write(xa_insert(record("other", 500, {"z.b"}))).ok());
  auto page = xa_list_chain(db, "z.a", 0, 2);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK((*page)[0].id == "t4");
  CHECK((*page)[1].id == "t3");
  page = xa_list_chain(db, "z.a", 4, 2);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 1);
  CHECK((*page)[0].id == "t0");
  CHECK(xa_list_chain(db, "z.c", 0, 10)->empty());
}

TEST_CASE("WEFT_FAILPOINTS: well-formed specs arm, malformed ones are refused naming the entry") {
  CHECK(failpoint::init("xa.after_decision=crash") == "");
  CHECK(failpoint::init("a=crash@3; b=off ,c=crash") == "");
  CHECK(failpoint::init("") == "");
  failpoint::hit("xa.after_decision"); // disarmed again: nothing happens
  CHECK(failpoint::init("nothing").find("not name=action") != std::string::npos);
  CHECK(failpoint::init("a=explode").find("explode") != std::string::npos);
  CHECK(failpoint::init("a=crash@0").find("counts from 1") != std::string::npos);
  CHECK(failpoint::init("a=crash@x").find("N must be") != std::string::npos);
  CHECK(failpoint::init("=crash").find("not name=action") != std::string::npos);
  CHECK(failpoint::init("") == "");
}
