#include "etcd_cluster.h"

#include <arpa/inet.h>
#include <csignal>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace weft::bench {

namespace {

std::string base64(std::string_view in) {
  static const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8 | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[v >> 12 & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8;
    out += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], '='};
  }
  return out;
}

std::string key_of(size_t i) {
  return "bench/" + std::to_string(i);
}
std::string value_of(size_t i, size_t bytes) {
  std::string v = "v" + std::to_string(i) + "-";
  while (v.size() < bytes)
    v += static_cast<char>('a' + v.size() % 26);
  return v.substr(0, std::max(bytes, size_t(1)));
}

std::string http_post(const std::string &path, const std::string &body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// One blocking request on a fresh connection; returns the whole response text ("" if it failed).
std::string http_once(uint16_t port, const std::string &request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
    std::string req = request;
    // Ask the server to close after answering, so reading to the end gives the whole response.
    req.insert(req.find("\r\n") + 2, "Connection: close\r\n");
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t r;
      while ((r = ::recv(fd, buf, sizeof buf, 0)) > 0)
        out.append(buf, static_cast<size_t>(r));
    }
  }
  ::close(fd);
  return out;
}

} // namespace

Answer check_put_answer(std::string_view body, int http_status) {
  Answer a;
  a.ok = http_status == 200 && body.find("\"header\"") != std::string_view::npos;
  if (!a.ok) a.error = "etcd put: HTTP " + std::to_string(http_status) + " " + std::string(body.substr(0, 200));
  return a;
}

EtcdCluster::EtcdCluster(std::string binary, size_t members, bool keep_dir)
    : binary_(std::move(binary)), members_(members), keep_dir_(keep_dir) {
  dir_ = make_temp_dir("weft-bench-etcd-");
}

EtcdCluster::~EtcdCluster() {
  stop_all();
  if (!keep_dir_) remove_tree(dir_);
}

void EtcdCluster::start() {
  std::vector<uint16_t> offsets;
  for (size_t i = 0; i < members_; ++i) {
    offsets.push_back(static_cast<uint16_t>(i));       // client
    offsets.push_back(static_cast<uint16_t>(100 + i)); // peer
  }
  base_ = free_base_port(offsets);
  auto peer_url = [&](size_t i) { return "http://127.0.0.1:" + std::to_string(base_ + 100 + i); };
  auto client_url = [&](size_t i) { return "http://127.0.0.1:" + std::to_string(base_ + i); };
  std::string cluster;
  for (size_t i = 0; i < members_; ++i)
    cluster += (i ? "," : "") + std::string("m") + std::to_string(i) + "=" + peer_url(i);
  Child v = spawn({binary_, "--version"}, dir_ + "/version.log", "etcd --version");
  wait_until([&] { return !running(v); }, std::chrono::milliseconds(10000));
  std::string vt = read_file(dir_ + "/version.log");
  if (auto at = vt.find("etcd Version: "); at != std::string::npos)
    version_ = vt.substr(at + 14, vt.find('\n', at) - at - 14);
  for (size_t i = 0; i < members_; ++i) {
    std::string name = "m" + std::to_string(i);
    procs_.push_back(spawn({binary_,
                            "--name",
                            name,
                            "--data-dir",
                            dir_ + "/" + name,
                            "--listen-client-urls",
                            client_url(i),
                            "--advertise-client-urls",
                            client_url(i),
                            "--listen-peer-urls",
                            peer_url(i),
                            "--initial-advertise-peer-urls",
                            peer_url(i),
                            "--initial-cluster",
                            cluster,
                            "--initial-cluster-state",
                            "new",
                            "--initial-cluster-token",
                            "weft-bench",
                            "--logger",
                            "zap",
                            "--log-level",
                            "warn"},
                           dir_ + "/" + name + ".log", "etcd " + name));
  }
  bool healthy = wait_until(
      [&] {
        for (size_t i = 0; i < members_; ++i) {
          if (!running(procs_[i])) throw std::runtime_error("etcd member exited:\n" + tail(procs_[i].log_path));
          std::string r = http_once(static_cast<uint16_t>(base_ + i), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
          if (r.find("\"health\":\"true\"") == std::string::npos) return false;
        }
        return true;
      },
      std::chrono::milliseconds(60000));
  if (!healthy) throw std::runtime_error("etcd cluster not healthy within 60 s:\n" + tail(procs_[0].log_path));
}

std::vector<Endpoint> EtcdCluster::clients() const {
  std::vector<Endpoint> out;
  for (size_t i = 0; i < members_; ++i)
    out.push_back({"127.0.0.1", static_cast<uint16_t>(base_ + i)});
  return out;
}

std::vector<int> EtcdCluster::pids() const {
  std::vector<int> out;
  for (const auto &p : procs_)
    out.push_back(p.pid);
  return out;
}

std::vector<std::string> EtcdCluster::put_requests(size_t count, size_t value_bytes) {
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i)
    out.push_back(http_post("/v3/kv/put", "{\"key\":\"" + base64(key_of(i)) + "\",\"value\":\"" +
                                              base64(value_of(i, value_bytes)) + "\"}"));
  return out;
}

std::string EtcdCluster::check(size_t count, size_t value_bytes, size_t sample) {
  std::string problems;
  for (size_t s = 0; s < sample && count > 0; ++s) {
    size_t i = s * count / sample;
    for (size_t m = 0; m < members_; ++m) {
      // A linearizable read through each member: it sees every acknowledged put.
      std::string r = http_once(static_cast<uint16_t>(base_ + m),
                                http_post("/v3/kv/range", "{\"key\":\"" + base64(key_of(i)) + "\"}"));
      if (r.find("\"value\":\"" + base64(value_of(i, value_bytes)) + "\"") == std::string::npos)
        problems += "member " + std::to_string(m) + " lacks key " + key_of(i) + "; ";
    }
  }
  return problems;
}

std::vector<std::string> EtcdCluster::stop_all() {
  std::vector<std::string> bad;
  for (auto &p : procs_) {
    if (p.pid <= 0) continue;
    int code = stop(p);
    // etcd ends with the signal's status on SIGTERM after a clean shutdown; only a kill after the grace is bad.
    if (code != 0 && code != 128 + SIGTERM) bad.push_back(p.name + " (exit " + std::to_string(code) + ")");
  }
  return bad;
}

} // namespace weft::bench
