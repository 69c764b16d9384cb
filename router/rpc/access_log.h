// The RPC's access log at info without a formatted line per request: a request that failed (an HTTP refusal or an
// envelope error) gets its own line, successes are counted and summed up in one line at most once a second (as
// nginx buffers its access log). At debug every request gets its line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace weft {

class AccessLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AccessLog(std::chrono::milliseconds summary_every = std::chrono::seconds(1)) : every_(summary_every) {}

  // One answered request: its remote address, method, target, HTTP status, envelope code, and when it started.
  void record(std::string_view remote, std::string_view method, std::string_view target, int http_status, int code,
              Clock::time_point started, Clock::time_point now);

  // What a success adds to: a line is due once `every` has passed since the last one. Returns the successes since
  // that line (this one included) when this call writes the summary, 0 otherwise. Public for its test.
  uint64_t count_success(Clock::time_point now);

 private:
  std::chrono::milliseconds every_;
  std::atomic<uint64_t> successes_{0};
  std::atomic<int64_t> next_summary_{0}; // steady clock ticks
};

} // namespace weft
