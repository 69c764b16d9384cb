// weft-router: reads its config, loads adapter plugins, opens chains and serves the RPC until SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "config.h"
#include "host_services.h"
#include "keystore.h"
#include "loader.h"
#include "registry.h"
#include "rpc/envelope.h"
#include "rpc/http_server.h"
#include "rpc/rpc_service.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.0.0"
#endif

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace weft;

namespace {

constexpr std::chrono::seconds kDrainTimeout{5};

void setup_logging(const RouterConfig &cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.log_file.empty()) {
    logger = spdlog::stderr_color_mt("weft");
  } else {
    fs::create_directories(cfg.log_file.parent_path());
    logger = spdlog::basic_logger_mt("weft", cfg.log_file.string());
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(cfg.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Runs one verb to completion from a plain thread (start-up only).
Result<std::string> invoke_blocking(ChainHandle &chain, Verb verb, const std::string &req, uint32_t deadline) {
  std::promise<Result<std::string>> p;
  auto f = p.get_future();
  chain.invoke(verb, req, deadline, [&p](Result<std::string> r) { p.set_value(std::move(r)); });
  return f.get();
}

// Opens every configured chain and registers its resources. A chain that fails is logged and kept in the
// registry as unavailable: the router serves the others.
void open_chains(const RouterConfig &cfg, const LoadReport &adapters, const HostServices &host, Registry &reg) {
  for (const auto &c : cfg.chains) {
    ChainEntry entry;
    entry.path = cfg.zone + "." + c.name;
    entry.stub_type = c.type;
    entry.default_account = c.default_account;
    const AdapterLibrary *lib = adapters.find(c.type);
    if (lib == nullptr) {
      entry.open_error = "no loaded adapter serves stub type " + c.type;
      spdlog::error("chain {}: {}", entry.path, entry.open_error);
      reg.add_chain(std::move(entry));
      continue;
    }
    fs::path dir = cfg.data_dir / "chains" / c.name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    ChainHandle::OpenArgs args{c.type, entry.path, json::serialize(c.options), dir.string(), host.table()};
    auto handle = ChainHandle::open(*lib, args);
    if (!handle.ok()) {
      entry.open_error = handle.error().message;
      spdlog::error("chain {}: cannot open: {}", entry.path, entry.open_error);
      reg.add_chain(std::move(entry));
      continue;
    }
    entry.handle = *handle;
    auto listed = invoke_blocking(**handle, Verb::ListResources, "{}", cfg.rpc.request_timeout_ms);
    json::error_code jec;
    json::value v = listed.ok() ? json::parse(*listed, jec) : json::value();
    const json::array *arr = nullptr;
    if (listed.ok() && !jec && v.is_object())
      if (auto *r = v.as_object().if_contains("resources")) arr = r->if_array();
    if (arr == nullptr) {
      spdlog::error("chain {}: cannot list resources: {}", entry.path,
                    listed.ok() ? "adapter answered malformed JSON" : listed.error().message);
    } else {
      for (const auto &item : *arr) {
        const auto *o = item.if_object();
        const json::value *name = o ? o->if_contains("name") : nullptr;
        if (name == nullptr || !name->is_string()) {
          spdlog::warn("chain {}: adapter listed a resource without a name; skipped", entry.path);
          continue;
        }
        ResourceEntry r;
        r.name = std::string(name->get_string());
        r.path = entry.path + "." + r.name;
        r.chain_path = entry.path;
        r.stub_type = c.type;
        if (auto *p = o->if_contains("properties"); p && p->is_object()) r.properties = p->get_object();
        spdlog::info("resource {} ({})", r.path, c.type);
        reg.add_resource(std::move(r));
      }
    }
    spdlog::info("chain {} open ({} via {})", entry.path, c.type, lib->file);
    reg.add_chain(std::move(entry));
  }
}

void write_ready_file(const fs::path &file, const std::string &address) {
  if (file.empty()) return;
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << address << "\n";
  }
  fs::rename(tmp, file);
}

bool is_loopback(const boost::asio::ip::address &a) { return a.is_loopback(); }

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"weft-router: the Weft cross-chain router"};
  std::string config_path = "conf/router.yaml";
  app.add_option("-c,--config", config_path, "router configuration file")->capture_default_str();
  app.set_version_flag("--version", std::string("weft-router ") + WEFT_VERSION);
  CLI11_PARSE(app, argc, argv);

  auto cfg = load_config(config_path);
  if (!cfg.ok()) {
    std::cerr << "weft-router: configuration error\n" << cfg.error().message << "\n";
    return 2;
  }
  try {
    setup_logging(*cfg);
  } catch (const std::exception &e) {
    std::cerr << "weft-router: cannot set up logging: " << e.what() << "\n";
    return 2;
  }
  spdlog::info("weft-router {} starting, config {}", WEFT_VERSION, cfg->config_path.string());

  std::error_code ec;
  fs::create_directories(cfg->data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data directory {}: {}", cfg->data_dir.string(), ec.message());
    return 1;
  }
  auto keystore = Keystore::open(cfg->data_dir, cfg->accounts);
  if (!keystore.ok()) {
    spdlog::critical("keystore: {}", keystore.error().message);
    return 1;
  }
  HostServices host(**keystore);

  LoadReport adapters;
  if (auto report = load_adapters(cfg->plugin_dir.string()); report.ok()) {
    adapters = std::move(*report);
  } else {
    spdlog::error("{}", report.error().message);
  }
  for (const auto &lib : adapters.loaded)
    spdlog::info("adapter {} {} loaded from {}", lib.name, lib.version, lib.file);
  for (const auto &r : adapters.refused) spdlog::warn("adapter {} refused: {}", r.file, r.reason);

  Registry registry;
  open_chains(*cfg, adapters, host, registry);

  RouterInfo info;
  info.version = WEFT_VERSION;
  info.zone = cfg->zone;
  info.started = std::chrono::steady_clock::now();
  info.adapters = &adapters;
  info.request_timeout_ms = static_cast<uint32_t>(cfg->rpc.request_timeout_ms);
  for (const auto &a : (*keystore)->list()) info.accounts.push_back({a.name, a.algorithm});
  RpcService rpc(registry, std::move(info));

  boost::asio::io_context io(cfg->rpc.threads);
  HttpLimits limits;
  limits.max_body_bytes = cfg->rpc.max_body_bytes;
  limits.header_timeout = std::chrono::milliseconds(cfg->rpc.header_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(cfg->rpc.idle_timeout_ms);
  limits.max_in_flight = cfg->rpc.max_in_flight;
  HttpServer server(
      io, limits, [&rpc](HttpRequest r) { return rpc.handle(std::move(r)); },
      [](const Error &e) { return envelope_error(e); });
  auto bound = server.listen(cfg->rpc.host, cfg->rpc.port);
  if (!bound.ok()) {
    spdlog::critical("{}", bound.error().message);
    for (auto &[path, c] : registry.chains())
      if (c.handle) c.handle->close();
    return 1;
  }
  std::string address = bound->address().is_v6() ? "[" + bound->address().to_string() + "]" : bound->address().to_string();
  address += ":" + std::to_string(bound->port());
  if (!is_loopback(bound->address()))
    spdlog::warn("RPC listens on {} without TLS or login: anyone who reaches it can use every account", address);
  server.start();
  try {
    write_ready_file(cfg->rpc.ready_file, address);
  } catch (const std::exception &e) {
    spdlog::error("cannot write ready file: {}", e.what());
  }
  spdlog::info("RPC listening on http://{}", address);

  std::promise<int> stop_signal;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code &e, int sig) {
    if (!e) stop_signal.set_value(sig);
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < cfg->rpc.threads; ++i) threads.emplace_back([&io] { io.run(); });

  int sig = stop_signal.get_future().get();
  spdlog::info("signal {}: shutting down", sig);
  // Order: stop accepting, let in-flight requests finish, close chains (which ends what still waits), stop.
  server.stop();
  auto until = std::chrono::steady_clock::now() + kDrainTimeout;
  while (server.requests_in_flight() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (auto &[path, c] : registry.chains())
    if (c.handle) c.handle->close();
  until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (server.connections() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  io.stop();
  for (auto &t : threads) t.join();
  spdlog::info("stopped");
  return 0;
}
