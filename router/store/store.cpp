// Opening only reads the file until it passes its checks (a SQLite database, not damaged, ours, not from a newer
// build), so a refused file is left exactly as it was. After open, the writer thread is the only one that writes.
#include "store.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <future>
#include <string>

namespace weft::store {

namespace fs = std::filesystem;

namespace {

// PRAGMA application_id of every router.db ("Weft" in ASCII), so a database of another program is not taken for one.
constexpr std::int64_t kApplicationId = 0x57656674;

constexpr Migration kMigrations[] = {
    {1, R"sql(
-- When each chain went up or down, and why: history for operators and /metrics, appended, never rewritten.
CREATE TABLE chain_status (
  id INTEGER PRIMARY KEY,
  chain TEXT NOT NULL CHECK (chain <> ''),
  at_ms INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('up', 'down')),
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX chain_status_by_chain ON chain_status (chain, id);
)sql"},
    {2, R"sql(
-- Universal accounts (router/auth/): the users, their login tokens, their sealed chain keys, and an audit trail.
-- A user's password is kept only as scrypt of what WeCross's client sends; version is bumped on a password or role
-- change, which voids every token issued before it.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT UNIQUE NOT NULL,
  salt BLOB NOT NULL,
  pw_hash BLOB NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  acl TEXT NOT NULL DEFAULT '[]', -- JSON array of allowed resource paths or prefixes
  version INTEGER NOT NULL DEFAULT 1,
  created_ms INTEGER NOT NULL
);
-- Only the SHA-256 of a token is kept, so a copy of the file logs nobody in.
CREATE TABLE tokens (
  hash BLOB PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  user_version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_ms);
-- A user's chain keys, sealed (AEAD) under the router's master key version key_version.
CREATE TABLE chain_accounts (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key_id INTEGER NOT NULL,
  chain_type TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  public_key BLOB NOT NULL,
  certificate TEXT,
  msp_id TEXT,
  is_default INTEGER NOT NULL DEFAULT 0,
  key_version INTEGER NOT NULL,
  nonce BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  UNIQUE (user_id, key_id)
);
-- At most one default per user and chain type; the code keeps it exactly one while the user has one of that type.
CREATE UNIQUE INDEX chain_accounts_one_default ON chain_accounts (user_id, chain_type) WHERE is_default = 1;
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  user TEXT,
  remote TEXT,
  detail TEXT
);
)sql"},
    {3, R"sql(
-- The keys of the router's own accounts (router.yaml's accounts), sealed under the master key like users' chain keys;
-- they move here from their plain key files on the first start with router.master_key_file.
CREATE TABLE router_keys (
  name TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  nonce BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
)sql"},
    {4, R"sql(
-- The XA coordinator's log (docs/xa.md): written and synced before each action it records is sent to a chain.
-- status: processing, committing, rollingback (a decision is logged, chains are being told), committed, rolledback,
-- heuristic (a chain refused the decision; an admin clears it), resolved (cleared). decision: '', commit, rollback.
CREATE TABLE xa_transactions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  decision TEXT NOT NULL DEFAULT '',
  started_ms INTEGER NOT NULL,
  commit_ms INTEGER NOT NULL DEFAULT 0,
  rollback_ms INTEGER NOT NULL DEFAULT 0,
  paths TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX xa_transactions_unfinished ON xa_transactions (status)
  WHERE status NOT IN ('committed', 'rolledback', 'resolved');
-- One row per chain a transaction touches; state: open, done (the decision reached it), refused (it refused it).
CREATE TABLE xa_chains (
  xid TEXT NOT NULL,
  chain TEXT NOT NULL,
  resources TEXT NOT NULL,
  state TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  started_ms INTEGER NOT NULL,
  PRIMARY KEY (xid, chain)
) WITHOUT ROWID;
CREATE INDEX xa_chains_by_chain ON xa_chains (chain, started_ms DESC, xid);
-- Steps: logged 'pending' before they are sent, then ok, failed or unknown (sent, no answer; hash names it).
CREATE TABLE xa_steps (
  xid TEXT NOT NULL,
  seq INTEGER NOT NULL,
  path TEXT NOT NULL,
  method TEXT NOT NULL,
  args TEXT NOT NULL,
  user TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  hash TEXT NOT NULL DEFAULT '',
  answer TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (xid, seq)
) WITHOUT ROWID;
)sql"},
    {5, R"sql(
-- The HTLC engine's swaps (docs/htlc.md): the proposal both sides agreed to, where the swap stands, and the secret
-- sealed under the master key (never stored in plain text). id is the lock id used on both chains.
-- state: proposed, initiator_locked, participant_locked, claimed_participant, completed, refunding, refunded,
-- cancelled, failed.
CREATE TABLE htlc_swaps (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  state TEXT NOT NULL,
  proposal TEXT NOT NULL,
  progress TEXT NOT NULL DEFAULT '{}',
  secret_version INTEGER NOT NULL DEFAULT 0,
  secret_nonce BLOB,
  secret_sealed BLOB,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX htlc_swaps_open ON htlc_swaps (state)
  WHERE state NOT IN ('completed', 'refunded', 'cancelled', 'failed');
)sql"},
};

constexpr const char *kWhatToDo = "; weft-router left it untouched: restore router.db from a backup, or move it "
                                  "away to start with an empty store";

Error store_error(std::string message) {
  return Error{code::kStore, std::move(message)};
}

std::string errmsg(sqlite3 *db) {
  const char *m = db ? sqlite3_errmsg(db) : nullptr;
  return m ? m : "out of memory";
}

Status exec(sqlite3 *db, const std::string &sql) {
  char *msg = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) == SQLITE_OK) return Ok{};
  std::string why = msg ? msg : errmsg(db);
  sqlite3_free(msg);
  std::string shown = sql.size() > 80 ? sql.substr(0, 77) + "..." : sql;
  return store_error("router store: " + why + " (in: " + shown + ")");
}

// Closes a connection on every return path of open(); a refused file is not checkpointed on close.
struct Connection {
  sqlite3 *db = nullptr;
  ~Connection() {
    if (db) sqlite3_close_v2(db);
  }
  sqlite3 *release() { return std::exchange(db, nullptr); }
};

} // namespace

std::span<const Migration> router_migrations() {
  return kMigrations;
}

Result<Statement> ReadTx::prepare(std::string_view sql) const {
  std::string shown(sql.substr(0, 80));
  if (sql.size() > 1'000'000)
    return store_error("router store: a statement of " + std::to_string(sql.size()) + " bytes (in: " + shown + ")");
  sqlite3_stmt *stmt = nullptr;
  const char *tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail) != SQLITE_OK)
    return store_error("router store: " + errmsg(db_) + " (in: " + shown + ")");
  Statement prepared(stmt);
  if (stmt == nullptr) return store_error("router store: an empty statement");
  // SQLite would silently ignore everything after the first statement.
  std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos)
    return store_error("router store: prepare takes one statement; use WriteTx::exec for a script (in: " + shown + ")");
  return prepared;
}

Status WriteTx::exec(std::string_view sql) {
  return store::exec(db_, std::string(sql));
}

std::int64_t WriteTx::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

std::int64_t WriteTx::changes() const {
  return sqlite3_changes64(db_);
}

namespace {

// The one-value pragmas read during open, with the result code kept to tell "not a database" from "damaged".
struct Probe {
  sqlite3 *db;
  int rc = SQLITE_OK;

  Result<std::string> text(const char *sql) {
    sqlite3_stmt *stmt = nullptr;
    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    std::string value;
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        auto t = reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0));
        value = t ? t : "";
        rc = SQLITE_OK;
      } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
      }
    }
    if (rc != SQLITE_OK) {
      std::string why = errmsg(db);
      sqlite3_finalize(stmt);
      return store_error(why);
    }
    sqlite3_finalize(stmt);
    return value;
  }

  Result<std::int64_t> integer(const char *sql) {
    auto t = text(sql);
    if (!t) return t.error();
    return static_cast<std::int64_t>(std::strtoll(t->c_str(), nullptr, 10));
  }

  // Every line PRAGMA quick_check reports, at most a few.
  Result<std::vector<std::string>> quick_check() {
    sqlite3_stmt *stmt = nullptr;
    std::vector<std::string> lines;
    rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &stmt, nullptr);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        auto t = reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0));
        lines.emplace_back(t ? t : "");
      }
    }
    std::string why = errmsg(db);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return store_error(why);
    rc = SQLITE_OK;
    return lines;
  }
};

// Refuses a file before anything is written to it. Returns the file's schema version.
Result<int> check_existing(sqlite3 *db, const std::string &file, int latest) {
  Probe probe{db};
  auto version = probe.integer("PRAGMA user_version");
  if (!version) {
    int rc = probe.rc & 0xff;
    if (rc == SQLITE_NOTADB)
      return store_error(file + " is not a SQLite database (" + version.error().message + ")" + kWhatToDo);
    if (rc == SQLITE_CORRUPT) return store_error(file + " is damaged (" + version.error().message + ")" + kWhatToDo);
    return store_error("cannot read " + file + ": " + version.error().message +
                       "; check that the file and router.data_dir are readable and writable by the router");
  }
  if (*version > latest)
    return store_error(file + " has schema version " + std::to_string(*version) + " but this weft-router knows up to " +
                       std::to_string(latest) + "; use a newer weft-router or restore a backup");
  if (*version < 0)
    return store_error(file + " has schema version " + std::to_string(*version) +
                       ", which no weft-router writes; it is not a router store" + kWhatToDo);

  auto app = probe.integer("PRAGMA application_id");
  if (!app) return store_error("cannot read " + file + ": " + app.error().message);
  if (*app != kApplicationId && (*version > 0 || *app != 0)) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08llx", static_cast<unsigned long long>(*app) & 0xffffffffULL);
    return store_error(file + " is a SQLite database of another program (application_id " + hex +
                       "), not a router store; point router.data_dir elsewhere or move the file away");
  }

  auto lines = probe.quick_check();
  if (!lines) return store_error(file + " is damaged (quick_check: " + lines.error().message + ")" + kWhatToDo);
  if (lines->size() != 1 || (*lines)[0] != "ok") {
    // One line per problem; SQLite prefixes them with a "*** in database main ***" heading.
    std::string report;
    for (const auto &row : *lines)
      for (std::size_t start = 0, end; start < row.size(); start = end + 1) {
        end = std::min(row.find('\n', start), row.size());
        std::string line = row.substr(start, end - start);
        if (!line.empty() && line.rfind("***", 0) != 0) report += (report.empty() ? "" : "; ") + line;
      }
    return store_error(file + " is damaged (quick_check: " + report + ")" + kWhatToDo);
  }

  if (*version == 0) {
    // A file without our version that already holds tables was made by something else: adding ours would mix them.
    auto table = probe.text("SELECT name FROM sqlite_schema LIMIT 1");
    if (!table) return store_error("cannot read " + file + ": " + table.error().message);
    if (!table->empty())
      return store_error(file + " holds tables (" + *table +
                         ") but no weft-router schema version, so it is not a router store; point router.data_dir "
                         "elsewhere or move the file away");
  }
  return static_cast<int>(*version);
}

// Applies each step above `version` in its own transaction. A failing step leaves the file at the step before.
Result<int> migrate(sqlite3 *db, const std::string &file, int version, std::span<const Migration> steps) {
  for (const Migration &step : steps) {
    if (step.version <= version) continue;
    if (auto s = exec(db, "BEGIN IMMEDIATE"); !s)
      return store_error("cannot upgrade " + file + ": " + s.error().message);
    Status applied = Ok{};
    // Another process may have upgraded the file since it was checked.
    Probe probe{db};
    auto now = probe.integer("PRAGMA user_version");
    if (!now) applied = now.error();
    if (applied && *now >= step.version) {
      exec(db, "ROLLBACK");
      version = static_cast<int>(*now);
      continue;
    }
    if (applied && version == 0) applied = exec(db, "PRAGMA application_id = " + std::to_string(kApplicationId));
    if (applied) applied = exec(db, std::string(step.sql));
    if (applied) applied = exec(db, "PRAGMA user_version = " + std::to_string(step.version));
    if (applied) applied = exec(db, "COMMIT");
    if (!applied) {
      if (!sqlite3_get_autocommit(db)) exec(db, "ROLLBACK");
      return store_error("cannot upgrade " + file + " from schema version " + std::to_string(version) + " to " +
                         std::to_string(step.version) + ": " + applied.error().message +
                         "; the file stays at version " + std::to_string(version) +
                         " (report this with the router's log)");
    }
    version = step.version;
  }
  return version;
}

Result<sqlite3 *> open_connection(const std::string &file, int flags, int busy_timeout_ms) {
  Connection c;
  int rc = sqlite3_open_v2(file.c_str(), &c.db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK)
    return store_error("cannot open " + file + ": " + errmsg(c.db) +
                       "; check that router.data_dir exists and the router may write there");
  sqlite3_extended_result_codes(c.db, 1);
  sqlite3_busy_timeout(c.db, busy_timeout_ms);
  return c.release();
}

} // namespace

Result<std::unique_ptr<Store>> Store::open(const fs::path &data_dir, const StoreOptions &options) {
  try {
    std::span<const Migration> steps = options.migrations.empty() ? router_migrations() : options.migrations;
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (steps[i].version != static_cast<int>(i) + 1)
        return Error{code::kInternal, "router store: migration " + std::to_string(i) + " has version " +
                                          std::to_string(steps[i].version) + ", expected " + std::to_string(i + 1)};
    const int latest = steps.empty() ? 0 : steps.back().version;
    if (sqlite3_threadsafe() == 0)
      return store_error("the SQLite library was built without thread support; the router store needs it");
    if (options.read_connections < 1) return store_error("router store: read_connections must be at least 1");

    std::error_code ec;
    if (!fs::is_directory(data_dir, ec)) {
      std::error_code made;
      if (fs::create_directories(data_dir, made)) fs::permissions(data_dir, fs::perms::owner_all, made);
      if (!fs::is_directory(data_dir, ec))
        return store_error("cannot create the router's data directory " + data_dir.string() + ": " +
                           (made ? made.message() : "a file of that name is in the way") + "; check router.data_dir");
    }
    std::unique_ptr<Store> store(new Store());
    store->file_ = data_dir / kFileName;
    const std::string file = store->file_.string();

    // Created here rather than by SQLite so that it (and the -wal and -shm files, which copy its mode) is private.
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return store_error("cannot open " + file + ": " + std::strerror(errno) +
                         "; check that the router may read and write it");
    ::close(fd);

    auto opened = open_connection(file, SQLITE_OPEN_READWRITE, options.busy_timeout_ms);
    if (!opened) return opened.error();
    Connection writer{*opened};
    // A WAL with content was left by a router that stopped without closing. Until the checks pass, closing must not
    // fold it into the file; an empty or missing one SQLite may remove on close, leaving the directory as it was.
    std::error_code wal_ec;
    if (fs::file_size(file + "-wal", wal_ec) > 0 && !wal_ec)
      sqlite3_db_config(writer.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    auto version = check_existing(writer.db, file, latest);
    if (!version) return version.error();

    Probe probe{writer.db};
    auto mode = probe.text("PRAGMA journal_mode = WAL");
    if (!mode) return store_error("cannot switch " + file + " to WAL mode: " + mode.error().message);
    if (*mode != "wal")
      return store_error("cannot switch " + file + " to WAL mode (SQLite kept '" + *mode +
                         "'); put router.data_dir on a local file system");
    sqlite3_db_config(writer.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
    for (const char *pragma : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"})
      if (auto s = exec(writer.db, pragma); !s) return s.error();

    auto migrated = migrate(writer.db, file, *version, steps);
    if (!migrated) return migrated.error();
    store->schema_version_ = *migrated;

    store->idle_readers_.reserve(static_cast<std::size_t>(options.read_connections));
    for (int i = 0; i < options.read_connections; ++i) {
      auto reader = open_connection(file, SQLITE_OPEN_READONLY, options.busy_timeout_ms);
      if (!reader) return reader.error(); // the store's destructor closes those already open
      store->idle_readers_.push_back(*reader);
    }

    // Set after the migrations, which may do anything; submissions may not end or nest the store's transaction.
    sqlite3_set_authorizer(writer.db, &Store::authorize, store.get());
    store->write_db_ = writer.release();
    store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
    store->writer_id_ = store->writer_.get_id();
    return store;
  } catch (const std::exception &e) {
    return store_error(std::string("cannot open the router store: ") + e.what());
  }
}

Store::~Store() {
  close();
}

void Store::close() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  queued_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::unique_lock lock(read_mu_);
    readers_closed_ = true;
    read_returned_.notify_all();
    read_returned_.wait(lock, [&] { return readers_out_ == 0; });
    for (sqlite3 *db : idle_readers_)
      sqlite3_close_v2(db);
    idle_readers_.clear();
  }
  // Closed last, so this is the last connection: SQLite checkpoints the WAL into router.db and removes it.
  if (write_db_) sqlite3_close_v2(std::exchange(write_db_, nullptr));
}

int Store::authorize(void *self, int action, const char *, const char *, const char *, const char *) {
  bool in_submission = static_cast<Store *>(self)->in_submission_;
  if (in_submission && (action == SQLITE_TRANSACTION || action == SQLITE_SAVEPOINT)) return SQLITE_DENY;
  return SQLITE_OK;
}

Status Store::write(WriteFn fn) {
  if (std::this_thread::get_id() == writer_id_.load())
    return Error{code::kInternal, "router store: write() called on the writer thread (from a write or a completion "
                                  "callback) would wait for itself; use write_async"};
  try {
    // Shared with the callback, which may still be returning from set_value when get() wakes up.
    auto promise = std::make_shared<std::promise<Status>>();
    std::future<Status> outcome = promise->get_future();
    Status queued = write_async(std::move(fn), [promise](Status s) { promise->set_value(std::move(s)); });
    if (!queued) return queued;
    return outcome.get();
  } catch (const std::exception &e) {
    return store_error(std::string("router store: cannot submit a write: ") + e.what());
  }
}

Status Store::write_async(WriteFn fn, WriteDone done, Sync sync) {
  try {
    std::lock_guard lock(mu_);
    if (stopping_) return store_error("router store " + file_.string() + " is closed");
    queue_.push_back(Submission{std::move(fn), std::move(done), sync});
  } catch (const std::exception &e) {
    return store_error(std::string("router store: cannot submit a write: ") + e.what());
  }
  queued_.notify_one();
  return Ok{};
}

void Store::writer_loop() {
  std::deque<Submission> group;
  std::unique_lock lock(mu_);
  for (;;) {
    queued_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;
    // Everything queued now goes into one transaction: one fsync for all of them.
    group.swap(queue_);
    lock.unlock();
    for (std::size_t first = 0; first < group.size();) {
      std::size_t end = run_transaction(group, first);
      for (std::size_t i = first; i < end; ++i) {
        if (!group[i].done) continue;
        try {
          group[i].done(std::move(group[i].result));
        } catch (...) {
          // A completion callback must not throw; the writer carries on for everyone else.
        }
      }
      first = end;
    }
    group.clear();
    lock.lock();
  }
}

void Store::run_submission(Submission &s) {
  WriteTx tx(write_db_);
  in_submission_ = true;
  try {
    s.result = s.fn ? s.fn(tx) : Status(Ok{});
  } catch (const std::exception &e) {
    s.result = Error{code::kInternal, std::string("router store: a write threw: ") + e.what()};
  } catch (...) {
    s.result = Error{code::kInternal, "router store: a write threw an exception that is not a std::exception"};
  }
  in_submission_ = false;
}

// Runs group[first, ...) in one transaction, each submission in its own savepoint, and commits. If the transaction
// itself fails (SQLite rolled it back, or COMMIT failed), every submission in it gets that error and the rest go to
// a new transaction. Returns the end of the submissions answered; always at least one.
std::size_t Store::run_transaction(std::deque<Submission> &group, std::size_t first) {
  std::size_t end = first;
  // WAL mode: FULL syncs the WAL at COMMIT, NORMAL leaves it to a later FULL commit or a checkpoint. Set between
  // transactions, and only when it changes.
  bool full = false;
  for (std::size_t i = first; i < group.size(); ++i)
    full = full || group[i].sync == Sync::kDurable;
  // The transaction's own outcome; once it fails, no submission in it is durable. A durable group that cannot have
  // FULL fails; one that cannot relax to NORMAL just syncs.
  Status tx = Ok{};
  if (full != synchronous_full_) {
    Status set = exec(write_db_, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    if (set)
      synchronous_full_ = full;
    else if (full)
      tx = set;
  }
  if (tx) tx = exec(write_db_, "BEGIN IMMEDIATE");
  if (!tx) {
    end = group.size();
  } else {
    while (end < group.size()) {
      Submission &s = group[end++];
      if (tx = exec(write_db_, "SAVEPOINT submission"); !tx) break;
      run_submission(s);
      if (sqlite3_get_autocommit(write_db_)) {
        // SQLite rolled back the whole transaction (disk full, I/O error): the earlier submissions are gone too.
        tx = store_error("router store: SQLite rolled back the write transaction" +
                         (s.result ? std::string() : ": " + s.result.error().message));
        break;
      }
      if (!s.result)
        if (tx = exec(write_db_, "ROLLBACK TO submission"); !tx) break;
      if (tx = exec(write_db_, "RELEASE submission"); !tx) break;
    }
    bool any_ok = false;
    for (std::size_t i = first; i < end; ++i)
      any_ok = any_ok || group[i].result.ok();
    if (tx && any_ok) tx = exec(write_db_, "COMMIT");
    if (!sqlite3_get_autocommit(write_db_)) exec(write_db_, "ROLLBACK");
    if (tx && any_ok) {
      std::uint64_t n = end - first;
      commits_.fetch_add(1);
      if (synchronous_full_) synced_commits_.fetch_add(1);
      if (n > 1) grouped_.fetch_add(n);
      if (n > largest_group_.load()) largest_group_.store(n);
    }
  }
  for (std::size_t i = first; i < end; ++i) {
    if (!tx && group[i].result) group[i].result = tx.error();
    if (!group[i].result) failed_.fetch_add(1);
  }
  submissions_.fetch_add(end - first);
  return end;
}

Status Store::read_impl(const std::function<Status(ReadTx &)> &fn) {
  sqlite3 *db = nullptr;
  {
    std::unique_lock lock(read_mu_);
    read_returned_.wait(lock, [&] { return readers_closed_ || !idle_readers_.empty(); });
    if (readers_closed_) return store_error("router store " + file_.string() + " is closed");
    db = idle_readers_.back();
    idle_readers_.pop_back();
    ++readers_out_;
  }
  Status result = exec(db, "BEGIN");
  if (result) {
    ReadTx tx(db);
    try {
      result = fn(tx);
    } catch (const std::exception &e) {
      result = Error{code::kInternal, std::string("router store: a read threw: ") + e.what()};
    } catch (...) {
      result = Error{code::kInternal, "router store: a read threw an exception that is not a std::exception"};
    }
  }
  // Ending the read lets a checkpoint move past the snapshot it held.
  if (!sqlite3_get_autocommit(db)) exec(db, "ROLLBACK");
  {
    std::lock_guard lock(read_mu_);
    idle_readers_.push_back(db); // never reallocates: reserved for every connection at open
    --readers_out_;
  }
  read_returned_.notify_all();
  return result;
}

StoreStats Store::stats() const {
  return StoreStats{.commits = commits_.load(),
                    .synced_commits = synced_commits_.load(),
                    .submissions = submissions_.load(),
                    .failed_submissions = failed_.load(),
                    .grouped_submissions = grouped_.load(),
                    .largest_group = largest_group_.load()};
}

} // namespace weft::store
