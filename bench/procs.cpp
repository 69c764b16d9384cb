#include "procs.h"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace weft::bench {

namespace {
// Fixed-size registries, so the interrupt handler can read them without allocating.
constexpr int kMaxChildren = 64;
volatile sig_atomic_t g_pids[kMaxChildren];
constexpr int kMaxDirs = 8;
std::string g_dirs[kMaxDirs];

void remember(int pid) {
  for (auto &p : g_pids)
    if (p == 0) {
      p = pid;
      return;
    }
}
void forget(int pid) {
  for (auto &p : g_pids)
    if (p == pid) p = 0;
}

void on_interrupt(int) {
  kill_all_children();
  // Not async-signal-safe, but the process is about to exit and nothing else runs meanwhile that matters.
  for (auto &d : g_dirs)
    if (!d.empty()) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  _exit(130);
}
} // namespace

Child spawn(const std::vector<std::string> &argv, const std::string &log_path, const std::string &name) {
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open log " + log_path);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("fork failed for " + name);
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(fd, 1);
    dup2(fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  ::close(fd);
  remember(pid);
  return Child{pid, name, log_path};
}

bool running(Child &c) {
  if (c.pid <= 0) return false;
  int status = 0;
  if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
    forget(c.pid);
    c.pid = -1;
    return false;
  }
  return true;
}

int stop(Child &c, std::chrono::milliseconds grace) {
  if (c.pid <= 0) return 0;
  kill(c.pid, SIGTERM);
  auto deadline = Clock::now() + grace;
  int status = 0;
  int code = -1;
  for (;;) {
    pid_t r = waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (r < 0) {
      code = 0;
      break;
    }
    if (Clock::now() > deadline) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &status, 0);
      code = 128 + SIGKILL;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  forget(c.pid);
  c.pid = -1;
  return code;
}

void kill_all_children() {
  for (auto &p : g_pids)
    if (p > 0) kill(p, SIGKILL);
}

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int64_t cpu_us(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return -1;
  // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  static const long ticks = sysconf(_SC_CLK_TCK);
  return (utime + stime) * 1000000 / ticks;
}

int64_t self_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval &t) { return int64_t(t.tv_sec) * 1000000 + t.tv_usec; };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

std::string make_temp_dir(const std::string &prefix) {
  const char *base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("cannot create a temp dir from " + tmpl);
  std::string dir(buf.data());
  for (auto &d : g_dirs)
    if (d.empty()) {
      d = dir;
      break;
    }
  return dir;
}

void remove_tree(const std::string &dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (auto &d : g_dirs)
    if (d == dir) d.clear();
}

uint16_t free_base_port(const std::vector<uint16_t> &offsets) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 59000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto base = static_cast<uint16_t>(pick(rng));
    bool ok = true;
    std::vector<int> fds;
    for (uint16_t off : offsets) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      fds.push_back(fd);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(base + off));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ok = false;
        break;
      }
    }
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
    if (ok) return base;
  }
  throw std::runtime_error("no free range of loopback ports");
}

bool wait_until(const std::function<bool()> &cond, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string tail(const std::string &path, size_t bytes) {
  std::string s = read_file(path);
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

} // namespace weft::bench
