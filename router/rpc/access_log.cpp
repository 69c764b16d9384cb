#include "access_log.h"

#include <spdlog/spdlog.h>

namespace weft {

uint64_t AccessLog::count_success(Clock::time_point now) {
  successes_.fetch_add(1, std::memory_order_relaxed);
  int64_t t = now.time_since_epoch().count();
  int64_t due = next_summary_.load(std::memory_order_relaxed);
  if (t < due) return 0;
  // One thread wins the summary; the others go on counting.
  int64_t next = (now + every_).time_since_epoch().count();
  if (!next_summary_.compare_exchange_strong(due, next, std::memory_order_relaxed)) return 0;
  return successes_.exchange(0, std::memory_order_relaxed);
}

void AccessLog::record(std::string_view remote, std::string_view method, std::string_view target, int http_status,
                       int code, Clock::time_point started, Clock::time_point now) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - started).count();
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("rpc {} {} {} -> {} {} ({} us)", remote, method, target, http_status, code, us);
    return;
  }
  if (!spdlog::should_log(spdlog::level::info)) return;
  if (http_status != 200 || code != 0) {
    spdlog::info("rpc {} {} {} -> {} {} ({} us)", remote, method, target, http_status, code, us);
    return;
  }
  if (uint64_t n = count_success(now))
    spdlog::info("rpc: {} requests answered with success since the last summary (the last: {} {} {} us)", n, method,
                 target, us);
}

} // namespace weft
