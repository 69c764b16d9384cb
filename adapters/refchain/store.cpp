#include "store.h"

#include "error.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

namespace weft::refchain {

namespace {
constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, header BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txs (hash BLOB PRIMARY KEY, block_number INTEGER NOT NULL, idx INTEGER NOT NULL,
                                nonce BLOB NOT NULL, body BLOB NOT NULL, receipt BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS txs_by_block ON txs (block_number, idx);
CREATE TABLE IF NOT EXISTS state (resource TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
                                  PRIMARY KEY (resource, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS certs (number INTEGER PRIMARY KEY, cert BLOB NOT NULL);
)sql";
} // namespace

// A prepared statement borrowed from the cache: bind, step, read, and reset on scope exit.
class Store::Statement {
public:
  Statement(Store &store, const char *sql) : db_(store.db_), stmt_(store.prepare(sql)) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement &bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement &bind(int i, ByteView b) {
    return check(sqlite3_bind_blob(stmt_, i, b.empty() ? "" : static_cast<const void *>(b.data()),
                                   static_cast<int>(b.size()), SQLITE_TRANSIENT));
  }
  Statement &bind_text(int i, const std::string &s) {
    return check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(WEFT_E_INTERNAL, std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  Bytes blob(int col) {
    auto p = static_cast<const uint8_t *>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? Bytes(p, p + n) : Bytes{};
  }

private:
  Statement &check(int rc) {
    if (rc != SQLITE_OK) throw Error(WEFT_E_INTERNAL, std::string("SQLite bind: ") + sqlite3_errmsg(db_));
    return *this;
  }
  sqlite3 *db_;
  sqlite3_stmt *stmt_;
};

Store::Store(const std::string &path, uint64_t chain_id) : path_(path) {
  int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(WEFT_E_UNAVAILABLE, "cannot open the chain store " + path + ": " + why);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    // A page cache that holds the hot b-tree pages of a busy chain: the default 2 MiB re-reads them from the OS
    // for every block. Durability is untouched (synchronous stays FULL).
    exec("PRAGMA cache_size=-65536");
    // Checkpoint less often: a page rewritten by many blocks is copied back to the database once per checkpoint,
    // not once per default-sized (1000-page) one. The WAL is synced at every commit either way.
    exec("PRAGMA wal_autocheckpoint=10000");
    exec("PRAGMA foreign_keys=ON");
    exec(kSchema);
    Writer id;
    id.u64(chain_id);
    bool fresh = true;
    {
      Statement s(*this, "SELECT v FROM meta WHERE k = 'chain_id'");
      if (s.step()) {
        fresh = false;
        if (s.blob(0) != id.bytes())
          throw Error(WEFT_E_INVALID_ARGUMENT,
                      "the store " + path + " belongs to another chain id; use another data directory or chain_id");
      }
    }
    if (fresh) {
      exec("BEGIN IMMEDIATE");
      try {
        Statement(*this, "INSERT INTO meta (k, v) VALUES ('chain_id', ?1)").bind(1, id.bytes()).step();
        BlockHeader g = genesis_header(chain_id);
        Statement(*this, "INSERT INTO blocks (number, hash, header) VALUES (0, ?1, ?2)")
            .bind(1, g.hash())
            .bind(2, g.encode())
            .step();
        exec("COMMIT");
      } catch (...) {
        exec("ROLLBACK");
        throw;
      }
    }
    Statement s(*this, "SELECT MAX(number) FROM blocks");
    s.step();
    height_ = static_cast<uint64_t>(s.integer(0));
  } catch (...) {
    for (auto *st : cache_)
      sqlite3_finalize(st);
    cache_.clear();
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() {
  for (auto *st : cache_)
    sqlite3_finalize(st);
  sqlite3_close(db_);
}

void Store::exec(const char *sql) {
  char *msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string why = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    throw Error(WEFT_E_INTERNAL, "SQLite on " + path_ + ": " + why);
  }
}

sqlite3_stmt *Store::prepare(const char *sql) {
  // Statements are found again by their SQL text; there are only a handful, so a linear scan is enough.
  for (auto *st : cache_)
    if (sqlite3_sql(st) != nullptr && std::strcmp(sqlite3_sql(st), sql) == 0) return st;
  sqlite3_stmt *st = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK)
    throw Error(WEFT_E_INTERNAL, std::string("SQLite prepare: ") + sqlite3_errmsg(db_));
  cache_.push_back(st);
  return st;
}

std::optional<BlockHeader> Store::header(uint64_t number) {
  Statement s(*this, "SELECT header FROM blocks WHERE number = ?1");
  s.bind(1, static_cast<int64_t>(number));
  if (!s.step()) return std::nullopt;
  return BlockHeader::decode(s.blob(0));
}

std::vector<Hash> Store::block_tx_hashes(uint64_t number) {
  Statement s(*this, "SELECT hash FROM txs WHERE block_number = ?1 ORDER BY idx");
  s.bind(1, static_cast<int64_t>(number));
  std::vector<Hash> out;
  while (s.step()) {
    Bytes b = s.blob(0);
    Hash h{};
    if (b.size() != h.size()) throw Error(WEFT_E_INTERNAL, "corrupt transaction hash in the store");
    std::copy(b.begin(), b.end(), h.begin());
    out.push_back(h);
  }
  return out;
}

std::optional<TxRecord> Store::find_tx(const Hash &hash) {
  Statement s(*this, "SELECT body, receipt FROM txs WHERE hash = ?1");
  s.bind(1, hash);
  if (!s.step()) return std::nullopt;
  return TxRecord{Transaction::decode(s.blob(0)), Receipt::decode(s.blob(1))};
}

std::optional<std::string> Store::state_get(const std::string &resource, const std::string &key) {
  Statement s(*this, "SELECT value FROM state WHERE resource = ?1 AND key = ?2");
  s.bind_text(1, resource).bind(2, view(key));
  if (!s.step()) return std::nullopt;
  Bytes b = s.blob(0);
  return std::string(b.begin(), b.end());
}

StateEntries Store::state_scan(const std::string &resource, const std::string &prefix) {
  // key >= prefix in SQLite's bytewise BLOB order, up to the first key without the prefix.
  Statement s(*this, "SELECT key, value FROM state WHERE resource = ?1 AND key >= ?2 ORDER BY key");
  s.bind_text(1, resource).bind(2, view(prefix));
  StateEntries out;
  while (s.step()) {
    Bytes k = s.blob(0);
    if (k.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), k.begin(),
                                                [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; }))
      break;
    Bytes v = s.blob(1);
    out.emplace(std::string(k.begin(), k.end()), std::string(v.begin(), v.end()));
  }
  return out;
}

std::vector<std::pair<uint64_t, Nonce>> Store::nonces_since(uint64_t first_block) {
  Statement s(*this, "SELECT block_number, nonce FROM txs WHERE block_number >= ?1");
  s.bind(1, static_cast<int64_t>(first_block));
  std::vector<std::pair<uint64_t, Nonce>> out;
  while (s.step()) {
    Bytes b = s.blob(1);
    Nonce n{};
    if (b.size() != n.size()) throw Error(WEFT_E_INTERNAL, "corrupt nonce in the store");
    std::copy(b.begin(), b.end(), n.begin());
    out.emplace_back(static_cast<uint64_t>(s.integer(0)), n);
  }
  return out;
}

std::vector<Bytes> Store::block_tx_bodies(uint64_t number) {
  Statement s(*this, "SELECT body FROM txs WHERE block_number = ?1 ORDER BY idx");
  s.bind(1, static_cast<int64_t>(number));
  std::vector<Bytes> out;
  while (s.step())
    out.push_back(s.blob(0));
  return out;
}

std::optional<Bytes> Store::cert(uint64_t number) {
  Statement s(*this, "SELECT cert FROM certs WHERE number = ?1");
  s.bind(1, static_cast<int64_t>(number));
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

void Store::save_meta(const std::string &key, ByteView value) {
  // Outside any other transaction: autocommit with synchronous=FULL makes it durable before we return.
  Statement(*this, "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)").bind_text(1, key).bind(2, value).step();
}

std::optional<Bytes> Store::load_meta(const std::string &key) {
  Statement s(*this, "SELECT v FROM meta WHERE k = ?1");
  s.bind_text(1, key);
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

void Store::commit(const BlockHeader &header, const std::vector<VerifiedTx> &txs, const std::vector<Receipt> &receipts,
                   const StateWrites &writes, ByteView cert) {
  if (header.number != height_ + 1)
    throw Error(WEFT_E_INTERNAL,
                "block " + std::to_string(header.number) + " does not follow height " + std::to_string(height_));
  if (txs.size() != receipts.size()) throw Error(WEFT_E_INTERNAL, "a block needs one receipt per transaction");
  exec("BEGIN IMMEDIATE");
  try {
    write_block(header, txs, receipts, writes, cert);
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  height_ = header.number;
}

void Store::write_block(const BlockHeader &header, const std::vector<VerifiedTx> &txs,
                        const std::vector<Receipt> &receipts, const StateWrites &writes, ByteView cert) {
  Statement(*this, "INSERT INTO blocks (number, hash, header) VALUES (?1, ?2, ?3)")
      .bind(1, static_cast<int64_t>(header.number))
      .bind(2, header.hash())
      .bind(3, header.encode())
      .step();
  for (size_t i = 0; i < txs.size(); ++i) {
    Statement(*this, "INSERT INTO txs (hash, block_number, idx, nonce, body, receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, txs[i].hash)
        .bind(2, static_cast<int64_t>(header.number))
        .bind(3, static_cast<int64_t>(i))
        .bind(4, txs[i].tx.nonce)
        .bind(5, txs[i].tx.encode())
        .bind(6, receipts[i].encode())
        .step();
  }
  for (const auto &[k, v] : writes) {
    if (v)
      Statement(*this, "INSERT OR REPLACE INTO state (resource, key, value) VALUES (?1, ?2, ?3)")
          .bind_text(1, k.first)
          .bind(2, view(k.second))
          .bind(3, view(*v))
          .step();
    else
      Statement(*this, "DELETE FROM state WHERE resource = ?1 AND key = ?2")
          .bind_text(1, k.first)
          .bind(2, view(k.second))
          .step();
  }
  if (!cert.empty())
    Statement(*this, "INSERT INTO certs (number, cert) VALUES (?1, ?2)")
        .bind(1, static_cast<int64_t>(header.number))
        .bind(2, cert)
        .step();
}

} // namespace weft::refchain
