// weft-router: reads its config, opens its store, loads adapter plugins, brings chains up (in parallel, retrying
// those that fail), and serves the RPC and the metrics listener until SIGINT/SIGTERM.
#include <openssl/crypto.h>
#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <sched.h>

#include "chains/chain_service.h"
#include "chains/supervisor.h"
#include "config.h"
#include "host_services.h"
#include "io_watches.h"
#include "keystore.h"
#include "loader.h"
#include "accounts/key_vault.h"
#include "auth/auth_service.h"
#include "metrics/router_metrics.h"
#include "rpc/envelope.h"
#include "rpc/http_server.h"
#include "rpc/rpc_service.h"
#include "store/chain_status.h"
#include "store/store.h"
#include "xa/coordinator.h"
#include "htlc/engine.h"
#include "core/failpoint.h"
#include <boost/asio/strand.hpp>

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.0.0"
#endif

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace weft;

namespace {

// The router's I/O threads: they run the loop until stop(), which every way out of main calls (the destructor too).
class IoThreads {
 public:
  IoThreads(boost::asio::io_context &io, int n) : io_(io), work_(io.get_executor()) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([&io] { io.run(); });
  }
  ~IoThreads() { stop(); }
  void stop() {
    work_.reset();
    io_.stop();
    for (auto &t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  boost::asio::io_context &io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

constexpr std::chrono::seconds kDrainTimeout{5};
// How long start-up waits for every chain's first attempt to open before it serves anyway.
constexpr std::chrono::seconds kFirstOpenWait{30};

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

// The cores this process may run on: its CPU affinity (taskset, a container's cpuset), else what the machine has.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string address_text(const boost::asio::ip::tcp::endpoint &ep) {
  std::string a = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  return a + ":" + std::to_string(ep.port());
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `weft-router account add|remove|list`: works on the store directly, with or without a running router.
int run_account_command(const RouterConfig &cfg, const CLI::App &account, const std::string &name, bool admin,
                        const std::string &stub_type) {
  auto store = store::Store::open(cfg.data_dir);
  if (!store.ok()) {
    std::cerr << "weft-router: router store: " << store.error().message << "\n";
    return 1;
  }
  store::Store &db = **store;
  if (account.got_subcommand("list")) {
    auto users = auth::list_users(db);
    if (!users.ok()) {
      std::cerr << "weft-router: " << users.error().message << "\n";
      return 1;
    }
    for (const auto &u : *users) std::cout << u.name << " " << auth::to_string(u.role) << " " << u.acl << "\n";
    return 0;
  }
  if (account.got_subcommand("role")) {
    auto u = auth::find_user_by_name(db, name);
    if (!u.ok() || !*u) {
      std::cerr << "weft-router: no user named '" << name << "'\n";
      return 1;
    }
    auto changed = auth::set_role(db, (*u)->id, admin ? auth::Role::kAdmin : auth::Role::kUser);
    if (!changed.ok()) {
      std::cerr << "weft-router: " << changed.error().message << "\n";
      return 1;
    }
    (void)auth::append_audit(db, "role_changed", name, "cli", admin ? "admin" : "user");
    std::cout << name << " is now " << (admin ? "an admin" : "a user") << "; its tokens are revoked\n";
    return 0;
  }
  if (account.got_subcommand("genkey")) {
    if (cfg.master_key_file.empty()) {
      std::cerr << "weft-router: chain keys are sealed under router.master_key_file; set it first\n";
      return 2;
    }
    auto vault = accounts::KeyVault::open(db, cfg.master_key_file);
    auto u = auth::find_user_by_name(db, name);
    if (!vault.ok() || !u.ok() || !*u) {
      std::cerr << "weft-router: " << (!vault.ok() ? vault.error().message : "no user named '" + name + "'") << "\n";
      return 1;
    }
    auto added = (*vault)->add((*u)->id, stub_type, accounts::algorithm_for_stub_type(stub_type), "", "", "", false);
    if (!added.ok()) {
      std::cerr << "weft-router: " << added.error().message << "\n";
      return 1;
    }
    (void)auth::append_audit(db, "chain_account_added", name, "cli", stub_type + " key " + std::to_string(added->key_id));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string pub;
    for (uint8_t b : added->public_key) pub += {kHex[b >> 4], kHex[b & 15]};
    std::cout << "chain account " << added->key_id << " of " << name << ": " << stub_type << " " << added->algorithm
              << (added->is_default ? " (default)" : "") << "\npublic key: " << pub << "\n";
    return 0;
  }
  if (account.got_subcommand("remove")) {
    auto u = auth::find_user_by_name(db, name);
    if (!u.ok() || !*u) {
      std::cerr << "weft-router: no user named '" << name << "'\n";
      return 1;
    }
    if (auto s = auth::remove_user(db, (*u)->id); !s.ok()) {
      std::cerr << "weft-router: " << s.error().message << "\n";
      return 1;
    }
    (void)auth::append_audit(db, "user_removed", name, "cli", "");
    std::cout << "removed " << name << "\n";
    return 0;
  }
  std::string password;
  std::getline(std::cin, password);
  if (password.empty()) {
    std::cerr << "weft-router: give the password on standard input (one line)\n";
    return 2;
  }
  auto h = auth::hash_password(auth::client_password_hash(password));
  if (!h.ok()) {
    std::cerr << "weft-router: " << h.error().message << "\n";
    return 1;
  }
  auth::User u;
  u.name = name;
  u.salt.assign(h->salt.begin(), h->salt.end());
  u.pw_hash.assign(h->hash.begin(), h->hash.end());
  u.role = admin ? auth::Role::kAdmin : auth::Role::kUser;
  u.created_ms = now_ms();
  auto created = auth::create_user(db, u);
  if (!created.ok()) {
    std::cerr << "weft-router: " << created.error().message << "\n";
    return 1;
  }
  (void)auth::append_audit(db, "user_created", name, "cli", admin ? "admin" : "user");
  std::cout << "added " << (admin ? "admin " : "user ") << name << "\n";
  return 0;
}

int run_key_command(const RouterConfig &cfg, const CLI::App &key) {
  if (cfg.master_key_file.empty()) {
    std::cerr << "weft-router: set router.master_key_file in the config first\n";
    return 2;
  }
  if (key.got_subcommand("create")) {
    if (auto s = accounts::create_master_key(cfg.master_key_file); !s.ok()) {
      std::cerr << "weft-router: " << s.error().message << "\n";
      return 1;
    }
    std::cout << "created " << cfg.master_key_file.string() << " (mode 0600); keep it apart from the data directory\n";
    return 0;
  }
  auto store = store::Store::open(cfg.data_dir);
  if (!store.ok()) {
    std::cerr << "weft-router: router store: " << store.error().message << "\n";
    return 1;
  }
  if (auto s = accounts::KeyVault::rotate(**store, cfg.master_key_file); !s.ok()) {
    std::cerr << "weft-router: " << s.error().message << "\n";
    return 1;
  }
  (void)auth::append_audit(**store, "master_key_rotated", "", "cli", "");
  std::cout << "every chain key is sealed under the new master key in " << cfg.master_key_file.string() << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // OpenSSL must not tear its state down at exit: adapters' library threads (gRPC's, in the Fabric adapter) may still
  // be using it while the process ends, and its atexit clean-up then crashes them. The system reclaims it anyway.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  CLI::App app{"weft-router: the Weft cross-chain router"};
  std::string config_path = "conf/router.yaml";
  app.add_option("-c,--config", config_path, "router configuration file")->capture_default_str();
  app.set_version_flag("--version", std::string("weft-router ") + WEFT_VERSION);
  // Offline administration of the router's data directory: how the first admin is made.
  auto *account = app.add_subcommand("account", "manage users in the router's store (offline)");
  account->require_subcommand(1);
  std::string user_name;
  bool admin = false;
  auto *add = account->add_subcommand("add", "add a user; the password is read from standard input");
  add->add_option("NAME", user_name, "user name")->required();
  add->add_flag("--admin", admin, "give the user the admin role");
  auto *remove = account->add_subcommand("remove", "remove a user, its tokens and its chain accounts");
  remove->add_option("NAME", user_name, "user name")->required();
  account->add_subcommand("list", "list the users");
  std::string role;
  auto *role_cmd = account->add_subcommand("role", "give a user the admin or user role (revokes its tokens)");
  role_cmd->add_option("NAME", user_name, "user name")->required();
  role_cmd->add_option("ROLE", role, "admin or user")->required()->check(CLI::IsMember({"admin", "user"}));
  std::string stub_type;
  auto *genkey = account->add_subcommand("genkey", "make a chain key inside the router for a user (sealed; needs "
                                                   "router.master_key_file)");
  genkey->add_option("NAME", user_name, "user name")->required();
  genkey->add_option("TYPE", stub_type, "the chain's stub type, e.g. RefChain")->required();
  auto *key = app.add_subcommand("key", "the master key that seals users' chain keys (router.master_key_file)");
  key->require_subcommand(1);
  key->add_subcommand("create", "make a new master key file, mode 0600 (never overwrites)");
  key->add_subcommand("rotate", "re-seal every chain key under a new master key, in one store transaction");
  CLI11_PARSE(app, argc, argv);

  auto cfg = load_config(config_path);
  if (!cfg.ok()) {
    std::cerr << "weft-router: configuration error\n" << cfg.error().message << "\n";
    return 2;
  }
  if (account->parsed()) return run_account_command(*cfg, *account, user_name, admin || role == "admin", stub_type);
  if (key->parsed()) return run_key_command(*cfg, *key);
  // The stop signals are blocked before any thread starts (logging's included), so every thread inherits the mask
  // and only the main thread takes them, with sigwait. They stay blocked to the end: a signal that arrives during
  // start-up is taken once the router serves, and a repeated one during the drain or the teardown after it cannot
  // kill the process half-way through closing its store.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    setup_logging(*cfg);
  } catch (const std::exception &e) {
    std::cerr << "weft-router: cannot set up logging: " << e.what() << "\n";
    return 2;
  }
  spdlog::info("weft-router {} starting, config {}", WEFT_VERSION, cfg->config_path.string());
  if (auto bad = failpoint::init_from_env(); !bad.empty()) {
    spdlog::critical("{}", bad);
    return 2;
  }
  if (const char *fp = std::getenv("WEFT_FAILPOINTS"); fp && *fp) spdlog::warn("failpoints armed: {}", fp);

  std::error_code ec;
  fs::create_directories(cfg->data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data directory {}: {}", cfg->data_dir.string(), ec.message());
    return 1;
  }
  auto store = store::Store::open(cfg->data_dir);
  if (!store.ok()) {
    spdlog::critical("router store: {}", store.error().message);
    return 1;
  }
  std::unique_ptr<accounts::KeyVault> vault;
  if (!cfg->master_key_file.empty()) {
    auto opened = accounts::KeyVault::open(**store, cfg->master_key_file);
    if (!opened.ok()) {
      spdlog::critical("router.master_key_file: {}", opened.error().message);
      return 1;
    }
    vault = std::move(*opened);
  }
  // With a master key, the router's own accounts' keys live sealed in the store too (moved from their files).
  SealedKeys sealed_keys{
      [&vault](const std::string &name) -> Result<std::optional<std::array<uint8_t, 32>>> {
        auto k = vault->load_router_key(name, accounts::KeyAlgorithm::Secp256k1);
        if (!k.ok()) return k.error();
        if (!*k) return std::optional<std::array<uint8_t, 32>>();
        std::array<uint8_t, 32> out{};
        std::copy((*k)->bytes().begin(), (*k)->bytes().end(), out.begin());
        return std::optional<std::array<uint8_t, 32>>(out);
      },
      [&vault](const std::string &name, const std::array<uint8_t, 32> &secret) -> Status {
        return vault->save_router_key(name, accounts::KeyAlgorithm::Secp256k1, accounts::SecretKey(secret));
      }};
  auto keystore = Keystore::open(cfg->data_dir, cfg->accounts, vault ? &sealed_keys : nullptr);
  if (!keystore.ok()) {
    spdlog::critical("keystore: {}", keystore.error().message);
    return 1;
  }
  auto host = HostServices::open(**keystore, cfg->accounts);
  if (!host.ok()) {
    spdlog::critical("{}", host.error().message);
    return 1;
  }
  if (vault) (*host)->set_vault(vault.get());

  // The I/O threads run from before the first chain opens: adapters wait on their sockets in this loop (io_watch), an
  // open that asks its chain something included. Every return from here on stops them first (io_threads.stop()).
  // A concurrency hint of 1 is Asio's single-thread mode with its locks kept: a thread runs the handlers of the events
  // it takes and what they post, and wakes another thread only for work posted from outside the loop. Safe with any
  // number of threads; it saves the wake-up of a second thread per event (rpc.handoff, docs/config.md).
  const unsigned cores = usable_cores();
  const bool keep = cfg->rpc.handoff_keeps(cores);
  boost::asio::io_context io(keep ? 1 : cfg->rpc.threads);
  IoWatches io_watches(io);
  (*host)->set_io(&io_watches);
  IoThreads io_threads(io, cfg->rpc.threads);

  LoadReport adapters;
  if (auto report = load_adapters(cfg->plugin_dir.string()); report.ok()) {
    adapters = std::move(*report);
  } else {
    spdlog::error("{}", report.error().message);
  }
  for (const auto &lib : adapters.loaded)
    spdlog::info("adapter {} {} loaded from {}", lib.name, lib.version, lib.file);
  for (const auto &r : adapters.refused) spdlog::warn("adapter {} refused: {}", r.file, r.reason);

  MetricsRegistry metrics_registry;
  RouterMetrics metrics(metrics_registry, WEFT_VERSION);

  // Chains: every configured one in the registry at once, opened in parallel by the supervisor.
  Registry registry;
  std::vector<ChainPlan> plans;
  for (const auto &c : cfg->chains) {
    json::object props;
    for (const auto &[k, v] : c.options)
      if (v.is_string() || v.is_number() || v.is_bool()) props[k] = v;
    fs::path dir = cfg->data_dir / "chains" / c.name;
    fs::create_directories(dir, ec);
    plans.push_back({std::make_shared<Chain>(cfg->zone, c.name, c.type, c.default_account, std::move(props)),
                     adapters.find(c.type), json::serialize(c.options), dir.string()});
  }
  SupervisorOptions sup_opt;
  sup_opt.retry_initial = std::chrono::milliseconds(cfg->chain_retry_initial_ms);
  sup_opt.retry_max = std::chrono::milliseconds(cfg->chain_retry_max_ms);
  store::Store &db = **store;
  // Set once the XA coordinator exists (it needs the chains' service, made after the supervisor).
  std::atomic<xa::Coordinator *> xa_on_up{nullptr};
  ChainSupervisor supervisor(registry, (*host)->table(), sup_opt,
                             [&db, &xa_on_up](const Chain &c, ChainState s, const std::string &reason) {
                               if (s == ChainState::Up)
                                 if (auto *coord = xa_on_up.load()) coord->chain_up(c.path);
                               store::ChainStatusEvent ev;
                               ev.chain = c.path;
                               ev.at_ms = now_ms();
                               ev.status = s == ChainState::Up ? store::ChainState::kUp : store::ChainState::kDown;
                               ev.reason = reason;
                               if (auto r = store::record_chain_status(db, ev); !r.ok())
                                 spdlog::warn("router store: cannot record the state of {}: {}", c.path,
                                              r.error().message);
                             });
  supervisor.start(std::move(plans), kFirstOpenWait);

  ChainService chain_service(registry, static_cast<uint32_t>(cfg->rpc.request_timeout_ms));
  chain_service.set_observer([&metrics](const std::string &chain, Verb verb, bool failed, double seconds) {
    metrics.chain_call_done(chain, verb_name(verb), !failed, seconds);
  });
  metrics.set_chain_source([&registry] {
    std::vector<weft::ChainStatus> out;
    for (const auto &c : registry.chains()) {
      auto st = c->status();
      out.push_back({c->path, st.state == ChainState::Up, st.height});
    }
    return out;
  });

  HttpLimits limits;
  limits.max_body_bytes = cfg->rpc.max_body_bytes;
  limits.header_timeout = std::chrono::milliseconds(cfg->rpc.header_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(cfg->rpc.idle_timeout_ms);
  limits.max_in_flight = cfg->rpc.max_in_flight;

  RpcContext ctx{registry, chain_service};
  ctx.set_resources = [&registry](const std::string &chain_path, const std::string &stub_type,
                                  std::string_view listed) {
    return apply_listed_resources(registry, chain_path, stub_type, listed);
  };
  ctx.version = WEFT_VERSION;
  ctx.zone = cfg->zone;
  ctx.started = std::chrono::steady_clock::now();
  ctx.adapters = &adapters;
  ctx.data_dir = cfg->data_dir.string();
  ctx.vault = vault.get();
  for (const auto &a : (*keystore)->list()) ctx.accounts.push_back({a.name, a.algorithm});
  std::unique_ptr<auth::AuthService> auth_service;
  if (cfg->auth.login) {
    auth::AuthOptions ao;
    ao.token_life = std::chrono::seconds(cfg->auth.token_life_s);
    ao.allow_register = cfg->auth.allow_register;
    auto created = auth::AuthService::create(db, ao);
    if (!created.ok()) {
      spdlog::critical("accounts: {}", created.error().message);
      supervisor.stop();
      io_threads.stop();
      db.close();
      return 1;
    }
    auth_service = std::move(*created);
    ctx.auth = auth_service.get();
  }
  // The XA coordinator: its unfinished transactions are read back before the RPC serves, and each is driven to its
  // end (presumed abort) as soon as its chains answer.
  xa::Options xa_opt;
  xa_opt.open_timeout = std::chrono::seconds(cfg->xa.timeout_s);
  xa_opt.retry_max = std::chrono::milliseconds(cfg->xa.retry_max_ms);
  xa_opt.start_in_step = cfg->xa.start_in_step;
  xa_opt.action_deadline_ms = static_cast<uint32_t>(cfg->rpc.request_timeout_ms);
  xa::Coordinator coordinator(db, registry, chain_service, xa_opt, boost::asio::make_strand(io));
  if (auto s = coordinator.recover(); !s.ok()) {
    spdlog::critical("XA log: {}", s.error().message);
    supervisor.stop();
    io_threads.stop();
    db.close();
    return 1;
  }
  ctx.xa = &coordinator;
  xa_on_up = &coordinator;
  // The HTLC engine resumes every open swap before the RPC takes new work.
  htlc::Options htlc_opt;
  htlc_opt.min_window = std::chrono::milliseconds(cfg->htlc.min_window_ms);
  htlc_opt.margin = std::chrono::milliseconds(cfg->htlc.margin_ms);
  htlc_opt.poll = std::chrono::milliseconds(cfg->htlc.poll_ms);
  htlc::Engine htlc_engine(db, registry, chain_service, vault.get(), htlc_opt, boost::asio::make_strand(io));
  if (auto s = htlc_engine.recover(); !s.ok()) {
    spdlog::critical("HTLC store: {}", s.error().message);
    supervisor.stop();
    io_threads.stop();
    db.close();
    return 1;
  }
  ctx.htlc = &htlc_engine;
  metrics.set_xa_source([&coordinator] { return coordinator.counts(); });
  metrics.set_store_source([&db] { return static_cast<double>(db.stats().synced_commits); });
  RpcService rpc(ctx, default_routes(), cfg->rpc.url_prefix);
  if (auth_service)
    rpc.set_login_check([svc = auth_service.get()](RpcRequest &r, const Route &) -> std::optional<Reply> {
      auto session = svc->check(r.authorization);
      if (!session) return reply_login_required(r);
      r.session = std::make_shared<const auth::Session>(std::move(*session));
      return std::nullopt;
    });
  rpc.set_observer([&metrics](std::string_view path, int, int code, double seconds) {
    metrics.request_done(path, code, seconds);
  });

  HttpServer server(
      io, limits, [&rpc](HttpRequest r) { return rpc.handle(std::move(r)); },
      [](const Error &e) { return envelope_error(e); });
  server.set_refusal_observer([&metrics](int status) { metrics.refused(status); });
  // Pipelined reads of one connection that wait on chains run alongside each other; writes keep their place in line.
  server.set_parallel_filter([&rpc](const HttpRequest &r) { return rpc.parallel(r); });
  if (cfg->rpc.tls.mode != "plain") {
    TlsOptions tls;
    tls.mode = cfg->rpc.tls.mode == "mutual" ? TlsMode::Mutual : TlsMode::Tls;
    tls.certificate = cfg->rpc.tls.certificate.string();
    tls.private_key = cfg->rpc.tls.private_key.string();
    tls.ca_certificate = cfg->rpc.tls.ca_certificate.string();
    tls.ciphers = cfg->rpc.tls.ciphers;
    if (auto s = server.enable_tls(tls); !s.ok()) {
      spdlog::critical("{}", s.error().message);
      supervisor.stop();
      io_threads.stop();
      db.close();
      return 1;
    }
  }
  metrics.set_in_flight_source([&server] { return static_cast<double>(server.requests_in_flight()); });

  // The metrics listener: its own port, no login, never behind the RPC's in-flight limit.
  std::atomic<bool> ready{false};
  std::unique_ptr<HttpServer> metrics_server;
  if (cfg->metrics.enabled) {
    HttpLimits mlimits;
    mlimits.max_body_bytes = 4096;
    metrics_server = std::make_unique<HttpServer>(
        io, mlimits,
        [&metrics_registry, &ready](HttpRequest r) -> boost::asio::awaitable<HttpResponse> {
          co_return metrics_http_answer(r, metrics_registry, ready.load(), true);
        },
        [](const Error &e) { return e.message + "\n"; });
  }

  auto fail_start = [&](const std::string &what) {
    spdlog::critical("{}", what);
    supervisor.stop();
    io_threads.stop();
    db.close();
    return 1;
  };
  auto bound = server.listen(cfg->rpc.host, cfg->rpc.port);
  if (!bound.ok()) return fail_start(bound.error().message);
  if (!bound->address().is_loopback() && (!cfg->auth.login || cfg->rpc.tls.mode == "plain")) {
    if (!cfg->rpc.allow_insecure)
      return fail_start("rpc.listen " + address_text(*bound) +
                        " reaches beyond this machine, so the RPC needs login (auth.login: true) and TLS (rpc.tls); "
                        "set rpc.allow_insecure: true only if the network itself is trusted");
    spdlog::warn("RPC listens on {} without {}: anyone who reaches it can use the router's accounts",
                 address_text(*bound), cfg->auth.login ? "TLS" : "login");
  }
  std::string address = address_text(*bound);
  ctx.rpc_address = address;
  std::string metrics_address;
  if (metrics_server) {
    auto mb = metrics_server->listen(cfg->metrics.host, cfg->metrics.port);
    if (!mb.ok()) return fail_start("metrics.listen: " + mb.error().message);
    metrics_address = address_text(*mb);
    metrics_server->start();
  }
  server.start();
  ready = true;
  try {
    // The metrics address first: whoever waits on the RPC's ready file may read both at once.
    if (metrics_server) write_ready_file(cfg->metrics.ready_file, metrics_address);
    write_ready_file(cfg->rpc.ready_file, address);
  } catch (const std::exception &e) {
    spdlog::error("cannot write ready file: {}", e.what());
  }
  spdlog::info("RPC listening on {}://{}{}", cfg->rpc.tls.mode == "plain" ? "http" : "https", address,
               cfg->rpc.url_prefix);
  spdlog::info("{} I/O thread{}; an event's work {} (rpc.handoff {}, {} core{})", cfg->rpc.threads,
               cfg->rpc.threads == 1 ? "" : "s",
               keep ? "stays on the thread that took it" : "is shared with an idle thread", cfg->rpc.handoff, cores,
               cores == 1 ? "" : "s");
  if (metrics_server) spdlog::info("metrics and health on http://{}/metrics", metrics_address);

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  spdlog::info("signal {}: shutting down", sig);
  // Order: not ready (a load balancer stops sending), stop accepting, let in-flight requests finish, close the
  // chains (which ends what still waits), close the store, stop.
  ready = false;
  server.stop();
  auto until = std::chrono::steady_clock::now() + kDrainTimeout;
  while (server.requests_in_flight() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  xa_on_up = nullptr;
  coordinator.stop();
  htlc_engine.stop();
  supervisor.stop();
  // Every chain is closed: an adapter that left a descriptor in the loop broke the io_watch contract.
  if (size_t left = io_watches.size(); left > 0)
    spdlog::warn("{} descriptor watch(es) of closed chains still registered: an adapter did not call io_unwatch", left);
  auth_service.reset(); // its pool finishes the logins in progress first
  until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (server.connections() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (metrics_server) metrics_server->stop();
  io_threads.stop();
  db.close();
  spdlog::info("stopped");
  return 0;
}
