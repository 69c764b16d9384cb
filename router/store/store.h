// The router store: the router's one SQLite file, <data_dir>/router.db, with versioned migrations, one writer thread
// that groups concurrent writes into one commit, and a small pool of read connections. Nothing here throws.
#pragma once

#include "statement.h"

#include <weft/error.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

struct sqlite3;

namespace weft::store {

// One step of the schema: the SQL that takes a file from version - 1 to version, run in one transaction together
// with setting PRAGMA user_version. Steps are never edited once shipped; a change is a new step.
struct Migration {
  int version;
  std::string_view sql;
};

// The router's own steps, in order; the last one's version is the schema this build writes.
std::span<const Migration> router_migrations();

struct StoreOptions {
  int read_connections = 4;
  int busy_timeout_ms = 5000; // how long a statement waits for another process's lock (a backup, the sqlite3 shell)
  std::span<const Migration> migrations; // empty: router_migrations(); tests pass their own
};

struct StoreStats {
  std::uint64_t commits = 0;             // write transactions committed
  std::uint64_t synced_commits = 0;      // of those, committed with an fsync of the WAL (a durable write among them)
  std::uint64_t submissions = 0;         // write submissions answered (succeeded or failed)
  std::uint64_t failed_submissions = 0;  // of those, answered with an error
  std::uint64_t grouped_submissions = 0; // of those, committed in a transaction shared with another submission
  std::uint64_t largest_group = 0;       // most submissions in one transaction
};

// A connection lent to one read or one write submission; valid only inside the callable it is passed to.
class ReadTx {
public:
  ReadTx(const ReadTx &) = delete;
  ReadTx &operator=(const ReadTx &) = delete;
  Result<Statement> prepare(std::string_view sql) const;

protected:
  friend class Store;
  explicit ReadTx(sqlite3 *db) : db_(db) {}
  sqlite3 *db_;
};

// The write connection inside the group transaction, within the submission's own savepoint. BEGIN, COMMIT,
// ROLLBACK and SAVEPOINT are refused here: the store owns the transaction.
class WriteTx : public ReadTx {
public:
  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

private:
  friend class Store;
  using ReadTx::ReadTx;
};

class Store {
public:
  static constexpr std::string_view kFileName = "router.db";

  // Opens <data_dir>/router.db, creating the directory (mode 0700) and the file (0600) when missing, and upgrades an
  // older schema. Refuses, leaving the file as it is, one that is not a SQLite database, fails PRAGMA quick_check,
  // belongs to another application, or has a schema version newer than this build knows. Errors carry code::kStore.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path &data_dir, const StoreOptions &options = {});

  // Closes the store, as close() does.
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  // Answers every write already submitted, stops the writer thread and closes the connections; later writes and
  // reads fail. Waits for reads in progress. Never call it from a write callable or a completion callback.
  void close();

  // A write: runs on the writer thread inside a savepoint of the group transaction. An error it returns (or an
  // exception it throws) rolls back its own changes only. Submissions must be short: the group waits for each.
  using WriteFn = std::function<Status(WriteTx &)>;
  using WriteDone = std::function<void(Status)>;

  // Blocks until the write's group has committed (the write is durable) or failed, and returns its outcome.
  // Refused from the writer thread (a write callable or a completion callback): that would wait for itself.
  Status write(WriteFn fn);

  // How a write reaches the disk. kDurable: its COMMIT waits for an fsync of the WAL. kLazy: it commits in order
  // with the others but does not wait for the disk; the next durable write's fsync (or a checkpoint, or close) takes
  // it along, since the WAL is one file written in order. Once committed (its `done` ran), a crash of the process
  // loses nothing; a crash of the machine may lose lazy writes committed after the last fsync, never an earlier one
  // and never one without those before it. A group of submissions syncs when any of them is durable.
  enum class Sync { kDurable, kLazy };

  // Queues a write. `done` runs on the writer thread after the group's COMMIT returned (or failed), with the write's
  // outcome; it must be quick, must not throw and must not call write() or close(). An error return means the write
  // was not queued (the store is closed) and `done` will never run.
  Status write_async(WriteFn fn, WriteDone done, Sync sync = Sync::kDurable);

  // Runs fn(ReadTx &) -> Result<T> (or Status) on a read connection, in one read transaction: it sees the writes
  // committed before it started, whatever commits meanwhile. Reads run in parallel with each other and the writer.
  // Waits while every read connection is lent out, so a read never calls read(); a write that needs to see its own
  // changes reads through its WriteTx instead.
  template <class F> std::invoke_result_t<F &, ReadTx &> read(F &&fn);

  // The file's schema version (the last migration's, once open succeeded).
  int schema_version() const { return schema_version_; }
  const std::filesystem::path &file() const { return file_; }
  StoreStats stats() const;

private:
  struct Submission {
    WriteFn fn;
    WriteDone done;
    Sync sync = Sync::kDurable;
    Status result = Ok{};
  };

  Store() = default;
  Status read_impl(const std::function<Status(ReadTx &)> &fn);
  void writer_loop();
  std::size_t run_transaction(std::deque<Submission> &group, std::size_t first);
  void run_submission(Submission &s);
  static int authorize(void *self, int action, const char *, const char *, const char *, const char *);

  std::filesystem::path file_;
  int schema_version_ = 0;
  sqlite3 *write_db_ = nullptr;
  bool in_submission_ = false;   // writer thread only: makes the authorizer refuse transaction control
  bool synchronous_full_ = true; // writer thread only: the write connection's PRAGMA synchronous is FULL

  std::mutex mu_;
  std::condition_variable queued_;
  std::deque<Submission> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::atomic<std::thread::id> writer_id_{};

  std::mutex read_mu_;
  std::condition_variable read_returned_;
  std::vector<sqlite3 *> idle_readers_;
  int readers_out_ = 0;
  bool readers_closed_ = false;

  std::atomic<std::uint64_t> commits_{0}, synced_commits_{0}, submissions_{0}, failed_{0}, grouped_{0},
      largest_group_{0};
};

template <class F> std::invoke_result_t<F &, ReadTx &> Store::read(F &&fn) {
  using R = std::invoke_result_t<F &, ReadTx &>;
  std::optional<R> out;
  Status s = read_impl([&](ReadTx &tx) -> Status {
    out.emplace(fn(tx));
    if (out->ok()) return Ok{};
    return out->error();
  });
  if (!out) return s.error();
  return std::move(*out);
}

} // namespace weft::store
