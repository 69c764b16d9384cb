// A prepared SQLite statement of the router store: bind, step, read columns, finalized on scope exit.
// Only code under router/store/ writes SQL; it gets statements from a ReadTx or WriteTx (store.h), never throws.
#pragma once

#include <weft/error.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3_stmt;

namespace weft::store {

class Statement {
public:
  Statement() = default;
  Statement(Statement &&other) noexcept;
  Statement &operator=(Statement &&other) noexcept;
  ~Statement();
  Statement(const Statement &) = delete;
  Statement &operator=(const Statement &) = delete;

  // Binds parameter i (1-based, as ?1, ?2 in the SQL). A failed bind is remembered and returned by the next step()
  // or run(), so binds chain without checks in between.
  Statement &bind(int i, std::int64_t value);
  Statement &bind(int i, std::string_view text);
  Statement &bind_blob(int i, std::span<const std::uint8_t> bytes);
  Statement &bind_null(int i);

  // true: a row is ready to read; false: the statement is done.
  Result<bool> step();
  // Steps until done, ignoring rows: for INSERT, UPDATE, DELETE and DDL.
  Status run();
  // Makes the statement ready to run again; bindings are kept until rebound.
  Statement &reset();

  // Columns of the current row, 0-based. NULL reads as 0, "" or no bytes.
  std::int64_t column_int(int col) const;
  std::string column_text(int col) const;
  std::vector<std::uint8_t> column_blob(int col) const;
  bool column_is_null(int col) const;

private:
  friend class ReadTx;
  explicit Statement(sqlite3_stmt *stmt) : stmt_(stmt) {}
  Error failure(int rc) const;
  Statement &check_bind(int rc);

  sqlite3_stmt *stmt_ = nullptr;
  int bind_rc_ = 0; // the first failed bind's result code; 0 when every bind succeeded
};

} // namespace weft::store
