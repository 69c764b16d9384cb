#include "failpoint.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unistd.h>

namespace weft::failpoint {

namespace detail {
std::atomic<bool> armed{false};
} // namespace detail

namespace {

struct Point {
  unsigned long at = 1; // crash on this hit
  unsigned long hits = 0;
};

std::mutex mu;
std::map<std::string, Point, std::less<>> points;

} // namespace

namespace detail {
void reached(std::string_view name) {
  std::unique_lock lock(mu);
  auto it = points.find(name);
  if (it == points.end()) return;
  if (++it->second.hits < it->second.at) return;
  std::string line = "weft-router: failpoint " + std::string(name) + " reached: crashing\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(137);
}
} // namespace detail

std::string init(std::string_view spec) {
  std::map<std::string, Point, std::less<>> parsed;
  while (!spec.empty()) {
    size_t end = spec.find_first_of(";,");
    std::string_view entry = spec.substr(0, end);
    spec = end == std::string_view::npos ? std::string_view{} : spec.substr(end + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return "WEFT_FAILPOINTS: \"" + std::string(entry) + "\" is not name=action";
    std::string name(entry.substr(0, eq));
    std::string_view action = entry.substr(eq + 1);
    if (action == "off") continue;
    Point p;
    if (action.substr(0, 5) != "crash")
      return "WEFT_FAILPOINTS: action \"" + std::string(action) + "\" of " + name + " is not crash, crash@N or off";
    if (action.size() > 5) {
      if (action[5] != '@' || action.size() == 6)
        return "WEFT_FAILPOINTS: action \"" + std::string(action) + "\" of " + name + " is not crash, crash@N or off";
      unsigned long n = 0;
      for (char c : action.substr(6)) {
        if (c < '0' || c > '9' || n > 1000000)
          return "WEFT_FAILPOINTS: \"" + std::string(action) + "\" of " + name + ": N must be a number 1..1000000";
        n = n * 10 + static_cast<unsigned long>(c - '0');
      }
      if (n == 0) return "WEFT_FAILPOINTS: crash@0 of " + name + ": N counts from 1";
      p.at = n;
    }
    parsed[name] = p;
  }
  std::lock_guard lock(mu);
  points = std::move(parsed);
  detail::armed.store(!points.empty(), std::memory_order_relaxed);
  return "";
}

std::string init_from_env() {
  const char *spec = std::getenv("WEFT_FAILPOINTS");
  return init(spec ? spec : "");
}

} // namespace weft::failpoint
