// Failpoints: named places in the router where a test can make the process die on the spot, as a power cut or
// SIGKILL would, to prove that recovery resumes from what was durable. Compiled into every build; an unarmed
// failpoint costs one relaxed load and a branch.
//
// WEFT_FAILPOINTS="name=action[;name=action...]", read once at start. Actions:
//   crash      _exit(137) at once: no destructor, no flush, no goodbye (stderr gets one line first)
//   crash@N    the same, at the N-th time the point is reached (1 = first)
//   off        nothing (the default)
// Names are listed in docs/xa.md ("Failpoints").
#pragma once

#include <atomic>
#include <string>
#include <string_view>

namespace weft::failpoint {

namespace detail {
extern std::atomic<bool> armed;
void reached(std::string_view name);
} // namespace detail

// Arms the points WEFT_FAILPOINTS names. Returns a message naming a malformed entry, or "" when all is well.
std::string init_from_env();
// Arms from a spec string (tests); an empty spec disarms everything.
std::string init(std::string_view spec);

inline void hit(std::string_view name) {
  if (detail::armed.load(std::memory_order_relaxed)) [[unlikely]]
    detail::reached(name);
}

} // namespace weft::failpoint
