#include "router_procs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace weft::bench {

namespace {
constexpr auto kStartTimeout = std::chrono::milliseconds(30000);
constexpr const char *kStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"; // Debian's libnginx-mod-stream

bool accepts(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The parent pid of a process, from /proc/<pid>/stat (the field after the parenthesised name and the state).
int parent_of(int pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 4 >= text.size()) return -1;
  return std::atoi(text.c_str() + close + 4);
}

// nginx's own string syntax: single quotes, with backslash escapes for quotes and backslashes.
std::string nginx_quote(const std::string &s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}
} // namespace

std::string find_program(const std::string &name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : std::string();
  const char *env = getenv("PATH");
  std::string path = std::string(env ? env : "/usr/bin:/bin") + ":/usr/local/sbin:/usr/sbin:/sbin";
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    fs::path candidate = fs::path(path.substr(start, end - start)) / name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

RouterProcess::RouterProcess(RouterParams params) : p_(std::move(params)) {
  dir_ = make_temp_dir("weft-bench-router-");
}

RouterProcess::~RouterProcess() {
  stop();
  if (!p_.keep_dir) remove_tree(dir_);
}

void RouterProcess::start() {
  std::string nodes;
  for (const auto &n : p_.nodes)
    nodes += (nodes.empty() ? "\"" : ", \"") + n.host + ":" + std::to_string(n.port) + "\"";
  // Warnings only: at info the router writes one log line per request, which would be measured as its cost.
  std::string config = "router:\n  zone: payment\n  data_dir: " + dir_ + "/data\n  plugin_dir: " + p_.plugin_dir +
                       "\nrpc:\n  listen: 127.0.0.1:0\n  threads: " + std::to_string(p_.threads) +
                       "\n  max_in_flight: 100000\n  idle_timeout_ms: 600000\n  request_timeout_ms: " +
                       std::to_string(p_.request_timeout_ms) + "\n  ready_file: " + dir_ +
                       "/ready\nmetrics:\n  listen: 127.0.0.1:0\nauth:\n  login: false\nlog:\n  level: warn\naccounts:\n  - name: alice\nchains:\n  - name: ledger1\n"
                       "    type: RefChain\n    default_account: alice\n    options:\n      chain_id: " +
                       std::to_string(p_.chain_id) + "\n      nodes: [" + nodes +
                       "]\n      remote_connections: " + std::to_string(p_.remote_connections) +
                       "\n      remote_io: " + p_.remote_io + "\n";
  write_file(dir_ + "/router.yaml", config);
  child_ = spawn({p_.router_binary, "-c", dir_ + "/router.yaml"}, dir_ + "/router.log", "weft-router");
  std::string ready = dir_ + "/ready";
  bool up = wait_until([&] { return fs::exists(ready) || !running(child_); }, kStartTimeout);
  if (!up || !running(child_)) throw std::runtime_error("weft-router did not come up:\n" + log_tail());
  // The file appears before its line is complete only in a race we close by waiting for the newline.
  std::string address;
  wait_until(
      [&] {
        address = read_file(ready);
        return address.find('\n') != std::string::npos;
      },
      kStartTimeout);
  address = address.substr(0, address.find('\n'));
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("weft-router's ready file holds '" + address + "'");
  endpoint_ = {address.substr(0, colon), static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))};
}

int RouterProcess::stop() {
  return child_.pid > 0 ? weft::bench::stop(child_) : 0;
}

NginxServer::NginxServer(std::string binary, std::string body, unsigned workers, bool keep_dir,
                         std::vector<Endpoint> upstreams)
    : binary_(std::move(binary)), body_(std::move(body)), workers_(workers), upstreams_(std::move(upstreams)),
      keep_dir_(keep_dir) {
  dir_ = make_temp_dir("weft-bench-nginx-");
}

NginxServer::~NginxServer() {
  stop();
  if (!keep_dir_) remove_tree(dir_);
}

void NginxServer::start() {
  port_ = free_base_port({0});
  // Every path inside our directory, so nothing system-wide is read or written. keepalive_requests is raised from
  // its default (1000), after which nginx closes a connection the benchmark expects to keep.
  std::string t = dir_ + "/tmp";
  fs::create_directories(t);
  std::string conf = "worker_processes " + std::to_string(workers_) + ";\ndaemon off;\npid " + dir_ +
                     "/nginx.pid;\nerror_log " + dir_ + "/error.log warn;\nevents { worker_connections 8192; }\n";
  if (!upstreams_.empty()) {
    // Debian ships the stream module apart (libnginx-mod-stream, which scripts/bench-deps.sh installs).
    std::string servers;
    for (const auto &u : upstreams_)
      servers += "    server " + u.host + ":" + std::to_string(u.port) + ";\n";
    conf = "load_module " + std::string(kStreamModule) + ";\n" + conf + "stream {\n  upstream nodes {\n" + servers +
           "  }\n  server {\n    listen 127.0.0.1:" + std::to_string(port_) +
           ";\n    proxy_pass nodes;\n    tcp_nodelay on;\n    proxy_timeout 600s;\n  }\n}\n";
  } else {
    conf += std::string("http {\n  access_log off;\n  keepalive_requests 100000000;\n  keepalive_timeout 600s;\n") +
                     "  client_body_temp_path " + t + "/body;\n  proxy_temp_path " + t + "/proxy;\n" +
                     "  fastcgi_temp_path " + t + "/fastcgi;\n  uwsgi_temp_path " + t + "/uwsgi;\n" +
                     "  scgi_temp_path " + t + "/scgi;\n  server {\n    listen 127.0.0.1:" + std::to_string(port_) +
                     ";\n    location / {\n      default_type application/json;\n      return 200 " +
                     nginx_quote(body_) + ";\n    }\n  }\n}\n";
  }
  write_file(dir_ + "/nginx.conf", conf);
  child_ =
      spawn({binary_, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"}, dir_ + "/nginx.log", "nginx");
  bool up = wait_until([&] { return accepts(port_) || !running(child_); }, kStartTimeout);
  if (!up || !running(child_))
    throw std::runtime_error("nginx did not come up:\n" + tail(dir_ + "/nginx.log") + tail(dir_ + "/error.log"));
  // The master listens before its workers are forked: wait for them, so none is measured while starting.
  wait_until([&] { return pids().size() >= 1 + workers_; }, kStartTimeout);
}

std::vector<int> NginxServer::pids() const {
  std::vector<int> out;
  if (child_.pid <= 0) return out;
  out.push_back(child_.pid);
  DIR *d = opendir("/proc");
  if (!d) return out;
  while (dirent *e = readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid > 0 && parent_of(pid) == child_.pid) out.push_back(pid);
  }
  closedir(d);
  return out;
}

int NginxServer::stop() {
  // SIGTERM to the master: it stops its workers and exits.
  return child_.pid > 0 ? weft::bench::stop(child_) : 0;
}

std::string NginxServer::version() const {
  std::string log = dir_ + "/version.log";
  Child v = spawn({binary_, "-v"}, log, "nginx -v");
  wait_until([&] { return !running(v); }, kStartTimeout);
  std::string text = read_file(log);
  auto slash = text.find('/');
  return slash == std::string::npos ? "" : text.substr(slash + 1, text.find_first_of("\r\n", slash) - slash - 1);
}

} // namespace weft::bench
