#include "statement.h"

#include <sqlite3.h>

#include <limits>
#include <utility>

namespace weft::store {

Statement::Statement(Statement &&other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(std::exchange(other.bind_rc_, 0)) {}

Statement &Statement::operator=(Statement &&other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_rc_ = std::exchange(other.bind_rc_, 0);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

namespace {

// The statement's SQL, shortened for a message.
std::string sql_of(sqlite3_stmt *stmt) {
  std::string sql = sqlite3_sql(stmt) ? sqlite3_sql(stmt) : "";
  if (sql.size() > 80) sql = sql.substr(0, 77) + "...";
  return sql;
}

} // namespace

Error Statement::failure(int rc) const {
  if (stmt_ == nullptr) return Error{code::kInternal, "router store: a statement used before it was prepared"};
  // The connection's message describes the last failure on it, which is this statement's.
  const char *why = sqlite3_errmsg(sqlite3_db_handle(stmt_));
  return Error{code::kStore,
               "router store: " + std::string(why ? why : sqlite3_errstr(rc)) + " (in: " + sql_of(stmt_) + ")"};
}

Statement &Statement::check_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Statement &Statement::bind(int i, std::int64_t value) {
  return check_bind(sqlite3_bind_int64(stmt_, i, value));
}

Statement &Statement::bind(int i, std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return check_bind(SQLITE_TOOBIG);
  // A non-null pointer even for "", so an empty string binds as '' and not as NULL.
  return check_bind(
      sqlite3_bind_text(stmt_, i, text.empty() ? "" : text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
}

Statement &Statement::bind_blob(int i, std::span<const std::uint8_t> bytes) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return check_bind(SQLITE_TOOBIG);
  return check_bind(sqlite3_bind_blob(stmt_, i, bytes.empty() ? static_cast<const void *>("") : bytes.data(),
                                      static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
}

Statement &Statement::bind_null(int i) {
  return check_bind(sqlite3_bind_null(stmt_, i));
}

Result<bool> Statement::step() {
  if (stmt_ == nullptr) return failure(SQLITE_MISUSE);
  if (bind_rc_ != 0)
    return Error{code::kStore, "router store: cannot bind a parameter: " + std::string(sqlite3_errstr(bind_rc_)) +
                                   " (in: " + sql_of(stmt_) + ")"};
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return failure(rc);
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return Ok{};
  }
}

Statement &Statement::reset() {
  // sqlite3_reset repeats the last step's error, which step() already reported.
  if (stmt_ != nullptr) sqlite3_reset(stmt_);
  return *this;
}

std::int64_t Statement::column_int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string Statement::column_text(int col) const {
  auto text = reinterpret_cast<const char *>(sqlite3_column_text(stmt_, col));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::vector<std::uint8_t> Statement::column_blob(int col) const {
  auto bytes = static_cast<const std::uint8_t *>(sqlite3_column_blob(stmt_, col));
  if (bytes == nullptr) return {};
  return std::vector<std::uint8_t>(bytes, bytes + sqlite3_column_bytes(stmt_, col));
}

bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

} // namespace weft::store
