// Pins the router store's promises: the schema created and upgraded step by step, newer, foreign, damaged and
// non-database files refused and left byte for byte as they were, concurrent writes grouped into few commits with
// each failure kept to itself, and every acknowledged write still there after the writing process is killed with -9.
#include "store/chain_status.h"
#include "store/store.h"

#include <doctest/doctest.h>

#include "test_support.h"

#include <sqlite3.h>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace weft;
using namespace weft::store;
namespace fs = std::filesystem;

namespace {

// Every wait scales with WEFT_TEST_TIME_SCALE (default 1) so sanitizer builds and slow machines pass.
using test::scaled;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("weft-store") {}
};

int latest_version() {
  return router_migrations().back().version;
}

std::unique_ptr<Store> open_ok(const fs::path &dir, const StoreOptions &options = {}) {
  auto store = Store::open(dir, options);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  return std::move(store).value();
}

Error open_error(const fs::path &dir, const StoreOptions &options = {}) {
  auto store = Store::open(dir, options);
  REQUIRE_FALSE(store.ok());
  return store.error();
}

std::string file_bytes(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::set<std::string> names_in(const fs::path &dir) {
  std::set<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir))
    names.insert(entry.path().filename().string());
  return names;
}

// Opens `dir` expecting a refusal whose message holds `expected`, and checks that the directory holds the same files
// with the same bytes as before (router.db-shm aside: it is SQLite's shared-memory index, rebuilt by every reader).
Error refused_untouched(const fs::path &dir, const std::string &expected) {
  auto snapshot = [&] {
    std::map<std::string, std::string> files;
    for (const auto &name : names_in(dir))
      files[name] = name.ends_with("-shm") ? "" : file_bytes(dir / name);
    return files;
  };
  auto before = snapshot();
  Error e = open_error(dir);
  CHECK(e.code == code::kStore);
  CHECK_MESSAGE(e.message.find(expected) != std::string::npos, e.message);
  CHECK(snapshot() == before);
  return e;
}

// A connection of the test's own, beside the store, to build and inspect files by hand.
struct RawDb {
  sqlite3 *db = nullptr;
  explicit RawDb(const fs::path &p) { REQUIRE(sqlite3_open(p.c_str(), &db) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  void exec(const std::string &sql) {
    char *msg = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
    std::string why = msg ? msg : "";
    sqlite3_free(msg);
    REQUIRE_MESSAGE(rc == SQLITE_OK, why);
  }
  std::string text(const std::string &sql) {
    sqlite3_stmt *st = nullptr;
    REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK, sqlite3_errmsg(db));
    std::string value;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      value = reinterpret_cast<const char *>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return value;
  }
  std::int64_t integer(const std::string &sql) { return std::strtoll(text(sql).c_str(), nullptr, 10); }
};

ChainStatusEvent event(std::string chain, std::int64_t at_ms, ChainState status, std::string reason = {}) {
  ChainStatusEvent e;
  e.chain = std::move(chain);
  e.at_ms = at_ms;
  e.status = status;
  e.reason = std::move(reason);
  return e;
}

std::int64_t record_ok(Store &store, const ChainStatusEvent &e) {
  auto id = record_chain_status(store, e);
  REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.error().message));
  return *id;
}

std::vector<ChainStatusEvent> history_ok(Store &store, std::string_view chain, std::size_t limit) {
  auto h = chain_status_history(store, chain, limit);
  REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.error().message));
  return *h;
}

// Reads one value with the store's own read path.
std::string read_text(Store &store, const char *sql) {
  auto value = store.read([&](ReadTx &tx) -> Result<std::string> {
    auto st = tx.prepare(sql);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return *row ? st->column_text(0) : std::string();
  });
  REQUIRE_MESSAGE(value.ok(), (value.ok() ? "" : value.error().message));
  return *value;
}

// The value a pragma has on the writer's connection.
std::string writer_pragma(Store &store, const char *sql) {
  std::string value;
  Status s = store.write([&](WriteTx &tx) -> Status {
    auto st = tx.prepare(sql);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    value = st->column_text(0);
    return Ok{};
  });
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  return value;
}

unsigned mode_of(const fs::path &p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A store file as an older weft-router left it: schema version 1 with two chain_status rows.
void write_version_1_file(const fs::path &dir) {
  fs::create_directories(dir);
  RawDb raw(dir / "router.db");
  raw.exec(std::string(router_migrations()[0].sql));
  raw.exec("INSERT INTO chain_status (chain, at_ms, status, reason) VALUES ('z.old', 1, 'up', ''), "
           "('z.old', 2, 'down', 'node gone')");
  raw.exec("PRAGMA application_id = " + std::to_string(0x57656674));
  raw.exec("PRAGMA user_version = 1");
}

} // namespace

TEST_CASE("a fresh store has the current schema, runs WAL with synchronous=FULL, and keeps its data on reopen") {
  TempDir tmp;
  fs::path data = tmp.path / "data";
  auto store = open_ok(data);
  CHECK(store->schema_version() == latest_version());
  CHECK(store->file() == data / "router.db");
  CHECK(mode_of(data) == 0700);
  CHECK(mode_of(data / "router.db") == 0600);
  CHECK(writer_pragma(*store, "PRAGMA journal_mode") == "wal");
  CHECK(writer_pragma(*store, "PRAGMA synchronous") == "2"); // FULL
  CHECK(writer_pragma(*store, "PRAGMA foreign_keys") == "1");
  CHECK(read_text(*store, "PRAGMA journal_mode") == "wal");

  std::int64_t a1 = record_ok(*store, event("z.a", 1000, ChainState::kUp));
  std::int64_t b1 = record_ok(*store, event("z.b", 1500, ChainState::kUp));
  std::int64_t a2 = record_ok(*store, event("z.a", 2000, ChainState::kDown, "connection refused"));
  std::int64_t a3 = record_ok(*store, event("z.a", 3000, ChainState::kUp));
  CHECK(a1 < b1);
  CHECK(b1 < a2);
  CHECK(a2 < a3);

  auto h = history_ok(*store, "z.a", 10);
  REQUIRE(h.size() == 3);
  CHECK(h[0].id == a3);
  CHECK(h[0].at_ms == 3000);
  CHECK(h[0].status == ChainState::kUp);
  CHECK(h[1].id == a2);
  CHECK(h[1].chain == "z.a");
  CHECK(h[1].status == ChainState::kDown);
  CHECK(h[1].reason == "connection refused");
  CHECK(h[2].id == a1);
  CHECK(history_ok(*store, "z.a", 2).size() == 2);
  CHECK(history_ok(*store, "z.a", 0).empty());
  CHECK(history_ok(*store, "z.none", 10).empty());
  auto empty_chain = record_chain_status(*store, event("", 1, ChainState::kUp));
  REQUIRE_FALSE(empty_chain.ok());
  CHECK(empty_chain.error().code == code::kStore);

  store.reset();
  // The last connection checkpointed the WAL into router.db and removed it.
  CHECK_FALSE(fs::exists(data / "router.db-wal"));
  {
    RawDb raw(data / "router.db");
    CHECK(raw.integer("PRAGMA user_version") == latest_version());
    CHECK(raw.integer("PRAGMA application_id") == 0x57656674);
  }
  store = open_ok(data);
  auto again = history_ok(*store, "z.a", 10);
  REQUIRE(again.size() == 3);
  CHECK(again[1].reason == "connection refused");
  CHECK(history_ok(*store, "z.b", 10).at(0).id == b1);
}

TEST_CASE("an empty file at schema version 0 is upgraded to the current schema and switched to WAL") {
  TempDir tmp;
  {
    RawDb raw(tmp.path / "router.db");
    raw.exec("CREATE TABLE scratch (x); DROP TABLE scratch;");
    CHECK(raw.text("PRAGMA journal_mode") == "delete");
    CHECK(raw.integer("PRAGMA user_version") == 0);
  }
  auto store = open_ok(tmp.path);
  CHECK(store->schema_version() == latest_version());
  record_ok(*store, event("z.a", 1, ChainState::kUp));
  store.reset();
  RawDb raw(tmp.path / "router.db");
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  CHECK(raw.integer("PRAGMA user_version") == latest_version());
  CHECK(raw.integer("SELECT count(*) FROM chain_status") == 1);
}

TEST_CASE("an older file is upgraded through each later step and keeps its rows") {
  TempDir tmp;
  write_version_1_file(tmp.path);
  const Migration steps[] = {
      router_migrations()[0],
      {2, "ALTER TABLE chain_status ADD COLUMN source TEXT NOT NULL DEFAULT 'adapter';"},
      {3, "CREATE TABLE accounts (name TEXT PRIMARY KEY); INSERT INTO accounts VALUES ('admin');"},
  };
  auto store = open_ok(tmp.path, {.migrations = steps});
  CHECK(store->schema_version() == 3);
  auto h = history_ok(*store, "z.old", 10);
  REQUIRE(h.size() == 2);
  CHECK(h[0].reason == "node gone");
  CHECK(read_text(*store, "SELECT group_concat(source) FROM chain_status") == "adapter,adapter");
  CHECK(read_text(*store, "SELECT name FROM accounts") == "admin");
  store.reset();
  // Reopening at the current version runs nothing again.
  store = open_ok(tmp.path, {.migrations = steps});
  CHECK(read_text(*store, "SELECT count(*) FROM accounts") == "1");
}

TEST_CASE("a failing step stops the upgrade at the step before it, with nothing of the failed step applied") {
  TempDir tmp;
  write_version_1_file(tmp.path);
  const Migration steps[] = {
      router_migrations()[0],
      {2, "CREATE TABLE second (x);"},
      {3, "CREATE TABLE half (x); CREATE TABLE broken (;"},
  };
  Error e = open_error(tmp.path, {.migrations = steps});
  CHECK(e.code == code::kStore);
  CHECK(e.message.find("from schema version 2 to 3") != std::string::npos);
  CHECK(e.message.find("stays at version 2") != std::string::npos);
  RawDb raw(tmp.path / "router.db");
  CHECK(raw.integer("PRAGMA user_version") == 2);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'second'") == 1);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'half'") == 0);
  CHECK(raw.integer("SELECT count(*) FROM chain_status") == 2);
}

TEST_CASE("a file from a newer weft-router is refused and left untouched") {
  TempDir tmp;
  fs::path file = tmp.path / "router.db", wal = tmp.path / "router.db-wal";
  open_ok(tmp.path)->close();
  bool in_wal = false;
  SUBCASE("the version in the file") {
    RawDb raw(file);
    raw.exec("PRAGMA user_version = 7");
  }
  SUBCASE("the version still in the WAL of a router that did not close") {
    RawDb raw(file);
    REQUIRE(sqlite3_db_config(raw.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr) == SQLITE_OK);
    raw.exec("PRAGMA user_version = 7");
    in_wal = true;
  }
  REQUIRE(fs::exists(wal) == in_wal);
  if (in_wal) REQUIRE(fs::file_size(wal) > 0);
  refused_untouched(tmp.path, "router.db has schema version 7 but this weft-router knows up to " +
                                  std::to_string(latest_version()) + "; use a newer weft-router or restore a backup");
  if (!in_wal) CHECK(names_in(tmp.path) == std::set<std::string>{"router.db"});
  RawDb raw(file);
  CHECK(raw.integer("PRAGMA user_version") == 7);
}

TEST_CASE("a file that is not a SQLite database is refused and left untouched") {
  TempDir tmp;
  const std::string text = "chains:\n  - name: payment\n    type: RefChain\n" + std::string(5000, '#') + "\n";
  std::ofstream(tmp.path / "router.db", std::ios::binary) << text;
  Error e = refused_untouched(tmp.path, (tmp.path / "router.db").string() + " is not a SQLite database");
  CHECK(e.message.find("left it untouched: restore router.db from a backup") != std::string::npos);
  CHECK(names_in(tmp.path) == std::set<std::string>{"router.db"});
}

TEST_CASE("a database with garbage over its pages is refused and left untouched") {
  TempDir tmp;
  {
    auto store = open_ok(tmp.path);
    for (int i = 0; i < 100; ++i)
      record_ok(*store, event("z.a", i, ChainState::kDown, std::string(300, static_cast<char>('a' + i % 26))));
  }
  fs::path file = tmp.path / "router.db";
  std::string bytes = file_bytes(file);
  REQUIRE(bytes.size() > 4 * 4096);
  // Page 1 (the header and the schema) stays; every other page becomes noise.
  std::mt19937 rng(42);
  for (std::size_t i = 4096; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(rng());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;

  Error e = refused_untouched(tmp.path, file.string() + " is damaged (quick_check: ");
  CHECK(e.message.find("left it untouched") != std::string::npos);
  CHECK(names_in(tmp.path) == std::set<std::string>{"router.db"});
}

TEST_CASE("a database of another program is refused and left untouched") {
  TempDir tmp;
  SUBCASE("tables without a schema version") {
    RawDb raw(tmp.path / "router.db");
    raw.exec("CREATE TABLE wallets (name TEXT)");
  }
  SUBCASE("another application_id") {
    RawDb raw(tmp.path / "router.db");
    raw.exec("CREATE TABLE wallets (name TEXT); PRAGMA application_id = 1234; PRAGMA user_version = 1");
  }
  refused_untouched(tmp.path, "not a router store");
  CHECK(names_in(tmp.path) == std::set<std::string>{"router.db"});
}

TEST_CASE("concurrent blocking writes share commits, every acknowledged one is stored, and failures stay apart") {
  TempDir tmp;
  auto store = open_ok(tmp.path);
  constexpr int kThreads = 8, kWrites = 50, kFailEvery = 10;
  std::atomic<int> ok_count{0}, wrong{0};
  std::atomic<bool> writing{true};
  std::atomic<int> reads{0}, read_errors{0};

  // Readers run beside the writers: WAL lets them see committed rows without waiting.
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      while (writing) {
        if (chain_status_history(*store, "t0", 5).ok())
          ++reads;
        else
          ++read_errors;
      }
    });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      std::string chain = "t" + std::to_string(t);
      for (int j = 0; j < kWrites; ++j) {
        bool fail = j % kFailEvery == kFailEvery - 1;
        Status s = store->write([&](WriteTx &tx) -> Status {
          auto insert = tx.prepare("INSERT INTO chain_status (chain, at_ms, status) VALUES (?1, ?2, 'up')");
          if (!insert) return insert.error();
          if (auto run = insert->bind(1, chain).bind(2, j).run(); !run) return run;
          // A failure after a change: the savepoint must undo the row.
          if (fail) return Error{code::kChainRejected, "write " + chain + "/" + std::to_string(j) + " refused"};
          return Ok{};
        });
        if (fail) {
          if (s.ok() || s.error().code != code::kChainRejected) ++wrong;
        } else if (s.ok()) {
          ++ok_count;
        } else {
          ++wrong;
        }
      }
    });
  for (auto &w : writers)
    w.join();
  writing = false;
  for (auto &r : readers)
    r.join();

  CHECK(wrong == 0);
  CHECK(read_errors == 0);
  const int total = kThreads * kWrites, failed = total / kFailEvery;
  CHECK(ok_count == total - failed);
  for (int t = 0; t < kThreads; ++t) {
    auto rows = history_ok(*store, "t" + std::to_string(t), 1000);
    std::set<std::int64_t> seen;
    for (const auto &e : rows)
      seen.insert(e.at_ms);
    CHECK(rows.size() == static_cast<std::size_t>(kWrites - kWrites / kFailEvery));
    for (int j = 0; j < kWrites; ++j)
      CHECK(seen.count(j) == (j % kFailEvery == kFailEvery - 1 ? 0u : 1u));
  }
  StoreStats st = store->stats();
  MESSAGE("grouped writes: " << total << " writes (" << failed << " failing) from " << kThreads << " threads in "
                             << st.commits << " commits; " << st.grouped_submissions << " grouped; largest group "
                             << st.largest_group << "; " << reads.load() << " reads beside");
  CHECK(st.submissions == static_cast<std::uint64_t>(total));
  CHECK(st.failed_submissions == static_cast<std::uint64_t>(failed));
  CHECK(st.commits < static_cast<std::uint64_t>(total / 2));
  CHECK(st.grouped_submissions > static_cast<std::uint64_t>(total / 2));
  CHECK(st.largest_group > 1);
}

namespace {

// Holds the store's writer inside a write of its own until open(), so that what is queued meanwhile forms one group.
struct WriterGate {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<Status> done;
  explicit WriterGate(Store &store, Store::Sync sync = Store::Sync::kDurable) {
    REQUIRE(store
                .write_async(
                    [this](WriteTx &) -> Status {
                      entered.set_value();
                      released.wait();
                      return Ok{};
                    },
                    [this](Status s) { done.set_value(std::move(s)); }, sync)
                .ok());
    entered.get_future().wait();
  }
  // Lets the writer go on; the gate's own outcome.
  Status open() {
    release.set_value();
    return done.get_future().get();
  }
};

} // namespace

TEST_CASE("submissions queued together commit in one transaction; each failure is rolled back alone") {
  TempDir tmp;
  auto store = open_ok(tmp.path);
  // The first write holds the writer until everything else is queued, so the rest form exactly one group.
  WriterGate gate(*store);
  StoreStats before = store->stats();

  auto insert = [](const char *chain) {
    return [chain](WriteTx &tx) -> Status {
      return tx.exec(std::string("INSERT INTO chain_status (chain, at_ms, status) VALUES ('") + chain + "', 1, 'up')");
    };
  };
  struct Outcome {
    std::promise<Status> status;
    std::thread::id thread;
    Status nested = Ok{};
  };
  std::vector<Outcome> out(5);
  std::vector<Store::WriteFn> fns = {
      insert("a"),
      [&](WriteTx &tx) -> Status {
        if (auto s = insert("b")(tx); !s) return s;
        return Error{code::kChainRejected, "b refused"};
      },
      [&](WriteTx &tx) -> Status {
        if (auto s = insert("c")(tx); !s) return s;
        throw std::runtime_error("c blew up");
      },
      [&](WriteTx &tx) -> Status {
        if (auto s = insert("d")(tx); !s) return s;
        return tx.exec("COMMIT"); // the store owns the transaction: refused
      },
      insert("e"),
  };
  for (std::size_t i = 0; i < fns.size(); ++i)
    REQUIRE(store
                ->write_async(fns[i],
                              [&, i](Status s) {
                                out[i].thread = std::this_thread::get_id();
                                // Waiting for a write from the writer thread would wait forever: refused.
                                if (i == 0) out[i].nested = store->write([](WriteTx &) -> Status { return Ok{}; });
                                out[i].status.set_value(std::move(s));
                              })
                .ok());
  CHECK(gate.open().ok());
  std::vector<Status> results;
  for (auto &o : out)
    results.push_back(o.status.get_future().get());

  CHECK(results[0].ok());
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error().code == code::kChainRejected);
  CHECK(results[1].error().message == "b refused");
  REQUIRE_FALSE(results[2].ok());
  CHECK(results[2].error().message.find("c blew up") != std::string::npos);
  REQUIRE_FALSE(results[3].ok());
  CHECK(results[3].error().code == code::kStore);
  CHECK(results[4].ok());
  CHECK(out[0].thread != std::this_thread::get_id());
  CHECK(out[0].thread == out[4].thread);
  REQUIRE_FALSE(out[0].nested.ok());
  CHECK(out[0].nested.error().message.find("writer thread") != std::string::npos);

  StoreStats after = store->stats();
  CHECK(after.commits - before.commits == 2); // the gate's, then one for all five
  CHECK(after.largest_group == 5);
  CHECK(after.grouped_submissions - before.grouped_submissions == 5);
  CHECK(after.failed_submissions - before.failed_submissions == 3);
  CHECK(read_text(*store, "SELECT group_concat(chain, '') FROM (SELECT chain FROM chain_status ORDER BY id)") == "ae");
}

TEST_CASE("lazy writes commit in order without an fsync of their own; a durable write takes them along") {
  TempDir tmp;
  auto store = open_ok(tmp.path);
  // Each write inserts its name and reads the connection's synchronous level (1 NORMAL, 2 FULL) as it runs.
  std::mutex mu;
  std::vector<std::string> seen;
  auto insert = [&](std::string chain) {
    return [&, chain](WriteTx &tx) -> Status {
      if (auto s = tx.exec("INSERT INTO chain_status (chain, at_ms, status) VALUES ('" + chain + "', 1, 'up')"); !s)
        return s;
      auto st = tx.prepare("PRAGMA synchronous");
      if (!st) return st.error();
      auto row = st->step();
      if (!row) return row.error();
      std::lock_guard lock(mu);
      seen.push_back(chain + "=" + st->column_text(0));
      return Ok{};
    };
  };
  auto submit = [&](std::string chain, Store::Sync sync) {
    auto done = std::make_shared<std::promise<Status>>();
    REQUIRE(store
                ->write_async(
                    insert(chain), [done](Status s) { done->set_value(std::move(s)); }, sync)
                .ok());
    return done->get_future();
  };
  StoreStats before = store->stats();
  CHECK(submit("a", Store::Sync::kLazy).get().ok());
  CHECK(submit("b", Store::Sync::kLazy).get().ok());
  StoreStats lazy = store->stats();
  CHECK(lazy.commits - before.commits == 2);
  CHECK(lazy.synced_commits == before.synced_commits);
  CHECK(submit("c", Store::Sync::kDurable).get().ok());
  StoreStats durable = store->stats();
  CHECK(durable.commits - lazy.commits == 1);
  CHECK(durable.synced_commits - lazy.synced_commits == 1);
  CHECK(submit("d", Store::Sync::kLazy).get().ok());
  // A group with one durable submission syncs: queued behind a gate, a lazy and a durable write share one commit.
  WriterGate gate(*store, Store::Sync::kLazy);
  StoreStats gated = store->stats();
  auto e = submit("e", Store::Sync::kLazy);
  auto f = submit("f", Store::Sync::kDurable);
  CHECK(gate.open().ok());
  CHECK(e.get().ok());
  CHECK(f.get().ok());
  StoreStats grouped = store->stats();
  CHECK(grouped.commits - gated.commits == 2);               // the gate's, then one for both
  CHECK(grouped.synced_commits - gated.synced_commits == 1); // the pair's: it holds a durable write
  CHECK(seen == std::vector<std::string>{"a=1", "b=1", "c=2", "d=1", "e=2", "f=2"});
  CHECK(read_text(*store, "SELECT group_concat(chain, '') FROM (SELECT chain FROM chain_status ORDER BY id)") ==
        "abcdef");
  // Reopened after a close (which checkpoints the WAL), every lazy write is there.
  store->close();
  store = open_ok(tmp.path);
  CHECK(read_text(*store, "SELECT group_concat(chain, '') FROM (SELECT chain FROM chain_status ORDER BY id)") ==
        "abcdef");
  CHECK(writer_pragma(*store, "PRAGMA synchronous") == "2");
}

TEST_CASE("statements bind and read integers, text, blobs and NULL; a bad bind fails the step") {
  TempDir tmp;
  const Migration steps[] = {router_migrations()[0], {2, "CREATE TABLE kv (k INTEGER PRIMARY KEY, t TEXT, b BLOB);"}};
  auto store = open_ok(tmp.path, {.migrations = steps});
  const std::vector<std::uint8_t> blob = {0, 1, 2, 255, 0};
  Status s = store->write([&](WriteTx &tx) -> Status {
    auto st = tx.prepare("INSERT INTO kv (k, t, b) VALUES (?1, ?2, ?3)");
    if (!st) return st.error();
    if (auto r = st->bind(1, -5).bind(2, std::string_view("h\0llo", 5)).bind_blob(3, blob).run(); !r) return r;
    if (auto r = st->reset().bind(1, 6).bind(2, "").bind_null(3).run(); !r) return r;
    return tx.changes() == 1 ? Status(Ok{}) : Status(Error{code::kInternal, "changes() != 1"});
  });
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  auto rows = store->read([&](ReadTx &tx) -> Result<int> {
    auto st = tx.prepare("SELECT k, t, b FROM kv ORDER BY k");
    if (!st) return st.error();
    REQUIRE(*st->step());
    CHECK(st->column_int(0) == -5);
    CHECK(st->column_text(1) == std::string("h\0llo", 5));
    CHECK(st->column_blob(2) == blob);
    REQUIRE(*st->step());
    CHECK(st->column_text(1).empty());
    CHECK_FALSE(st->column_is_null(1));
    CHECK(st->column_is_null(2));
    CHECK(st->column_blob(2).empty());
    CHECK_FALSE(*st->step());
    auto bad = tx.prepare("SELECT ?1");
    if (!bad) return bad.error();
    auto stepped = bad->bind(2, 1).step();
    REQUIRE_FALSE(stepped.ok());
    CHECK(stepped.error().code == code::kStore);
    CHECK_FALSE(tx.prepare("SELEKT 1").ok());
    CHECK_FALSE(tx.prepare("SELECT 1; DELETE FROM kv").ok());
    CHECK(tx.prepare("SELECT 1;  \n").ok());
    return 2;
  });
  REQUIRE(rows.ok());
  // The read connections are read-only.
  auto write_in_read = store->read([](ReadTx &tx) -> Status {
    auto st = tx.prepare("DELETE FROM kv");
    if (!st) return st.error();
    return st->run();
  });
  CHECK_FALSE(write_in_read.ok());
  CHECK(read_text(*store, "SELECT count(*) FROM kv") == "2");
}

TEST_CASE("after close, writes and reads are refused") {
  TempDir tmp;
  auto store = open_ok(tmp.path);
  record_ok(*store, event("z.a", 1, ChainState::kUp));
  store->close();
  auto w = record_chain_status(*store, event("z.a", 2, ChainState::kUp));
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code == code::kStore);
  CHECK(w.error().message.find("closed") != std::string::npos);
  auto r = chain_status_history(*store, "z.a", 1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("closed") != std::string::npos);
  store->close(); // twice is harmless
}

namespace {

// The child of the kill test: four threads record events as fast as they can and send each acknowledged id down the
// pipe only after record_chain_status returned. It never returns; the parent kills it.
[[noreturn]] void write_until_killed(const fs::path &dir, int ack_fd) {
  auto store = Store::open(dir);
  if (!store.ok()) ::_exit(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::int64_t i = 0;; ++i) {
        auto id = record_chain_status(
            **store, event("kill", i, t % 2 ? ChainState::kUp : ChainState::kDown, "writer " + std::to_string(t)));
        if (!id.ok()) ::_exit(3);
        std::int64_t v = *id;
        // 8 bytes, below PIPE_BUF: the write is atomic, so ids from the threads never interleave.
        if (::write(ack_fd, &v, sizeof v) != sizeof v) ::_exit(4);
      }
    });
  // A parent that died without killing us: stop on our own.
  std::this_thread::sleep_for(scaled(30000));
  ::_exit(5);
}

} // namespace

TEST_CASE("every write acknowledged before kill -9 is in the store after reopening") {
  TempDir tmp;
  std::mt19937 rng(std::random_device{}());
  std::set<std::int64_t> acked;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      write_until_killed(tmp.path, fds[1]);
    }
    ::close(fds[1]);

    std::vector<std::int64_t> round_acks;
    std::string pending;
    auto read_acks = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return true;
      char buf[4096];
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) return false; // the child is gone and everything it sent was read
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t whole = pending.size() / 8 * 8;
      for (std::size_t i = 0; i < whole; i += 8) {
        std::int64_t v;
        std::memcpy(&v, pending.data() + i, 8);
        round_acks.push_back(v);
      }
      pending.erase(0, whole);
      return true;
    };
    // Kill it at a random moment once it is writing.
    auto first_deadline = std::chrono::steady_clock::now() + scaled(10000);
    while (round_acks.empty() && std::chrono::steady_clock::now() < first_deadline)
      if (!read_acks(50)) break;
    REQUIRE_MESSAGE(!round_acks.empty(), "the writer child acknowledged nothing");
    auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(50 + rng() % 250);
    while (std::chrono::steady_clock::now() < kill_at)
      read_acks(10);
    REQUIRE(::kill(pid, SIGKILL) == 0);
    // Acks already in the pipe were sent before the kill, after their commit: they count too.
    while (read_acks(1000)) {
    }
    ::close(fds[0]);
    int wstatus = 0;
    REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
    REQUIRE_MESSAGE(WIFSIGNALED(wstatus), "the writer child exited on its own with " << WEXITSTATUS(wstatus));
    CHECK(WTERMSIG(wstatus) == SIGKILL);
    CHECK(pending.empty());
    acked.insert(round_acks.begin(), round_acks.end());

    auto store = open_ok(tmp.path);
    CHECK(read_text(*store, "PRAGMA quick_check") == "ok");
    auto ids = store->read([](ReadTx &tx) -> Result<std::set<std::int64_t>> {
      auto st = tx.prepare("SELECT id FROM chain_status WHERE chain = 'kill'");
      if (!st) return st.error();
      std::set<std::int64_t> out;
      for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out.insert(st->column_int(0));
      }
    });
    REQUIRE(ids.ok());
    std::size_t missing = 0;
    for (std::int64_t id : acked)
      missing += ids->count(id) == 0;
    MESSAGE("kill round " << round + 1 << ": " << round_acks.size() << " acknowledged this round, " << acked.size()
                          << " in all; " << ids->size() << " rows after reopening; " << missing << " missing");
    CHECK(missing == 0);
  }
}
