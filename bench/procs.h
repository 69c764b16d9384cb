// Child processes, temp directories, free loopback ports and per-process CPU time for the benchmarks. Every child
// is remembered by its pid so that the benchmark stops exactly what it started, also when it is interrupted.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace weft::bench {

using Clock = std::chrono::steady_clock;

// A started child process; its output goes to a log file.
struct Child {
  int pid = -1;
  std::string name;
  std::string log_path;
};

// Starts argv[0] with argv, stdout and stderr appended to log_path. The child dies with the benchmark (parent
// death signal). Throws std::runtime_error.
Child spawn(const std::vector<std::string> &argv, const std::string &log_path, const std::string &name);
// SIGTERM, then SIGKILL after grace; reaps it. Returns its exit code (or 128 + signal). Safe on a stopped child.
int stop(Child &child, std::chrono::milliseconds grace = std::chrono::milliseconds(10000));
// Whether the child still runs (reaps it if it exited).
bool running(Child &child);
// SIGKILLs every child still registered; async-signal-safe, for the interrupt handler.
void kill_all_children();
// Installs SIGINT/SIGTERM handlers that kill the children, remove registered temp dirs and exit 130.
void install_interrupt_handler();

// utime + stime of a process in microseconds (from /proc/<pid>/stat), or -1 if it cannot be read.
int64_t cpu_us(int pid);
// This process's own CPU time (all threads) in microseconds.
int64_t self_cpu_us();

// A fresh directory under $TMPDIR (or /tmp), removed by remove_tree; registered for the interrupt handler.
std::string make_temp_dir(const std::string &prefix);
void remove_tree(const std::string &dir);

// A base port such that base+offsets[i] are all free on 127.0.0.1 right now.
uint16_t free_base_port(const std::vector<uint16_t> &offsets);

// Polls cond every 20 ms until it holds or timeout passes; returns whether it held.
bool wait_until(const std::function<bool()> &cond, std::chrono::milliseconds timeout);

std::string read_file(const std::string &path);
void write_file(const std::string &path, const std::string &text);
// The last bytes of a log, for error messages.
std::string tail(const std::string &path, size_t bytes = 2000);

} // namespace weft::bench
