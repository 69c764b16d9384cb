// The router's configuration: the YAML file (docs/config.md) parsed and checked into plain structs.
// Every path in a loaded RouterConfig is absolute, so nothing downstream depends on the working directory.
#pragma once

#include <weft/error.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// The RPC door's TLS (docs/config.md): WeCross's sslSwitch 2, 1, 0 as plain, tls, mutual.
struct RpcTlsConfig {
  std::string mode = "plain";
  std::filesystem::path certificate;    // PEM chain
  std::filesystem::path private_key;    // PEM
  std::filesystem::path ca_certificate; // CA that signs client certificates (mutual)
  std::string ciphers;                  // OpenSSL TLS 1.2 cipher list; empty: OpenSSL's default
};

struct RpcConfig {
  std::string host = "127.0.0.1"; // without brackets, also for IPv6 ("::1")
  std::uint16_t port = 8250;      // 0: the OS picks a free port
  int threads = 2;
  // What an I/O thread does with the work an event brings: "share" wakes an idle thread to watch the sockets while it
  // works (Asio's shared scheduler); "keep" runs it itself and wakes another thread only for work from outside the
  // I/O threads; "auto" is keep when the router may run on two cores or fewer, share otherwise (handoff_keeps).
  std::string handoff = "auto";
  std::size_t max_body_bytes = 1024 * 1024;
  std::int64_t header_timeout_ms = 10000;  // a client must send a whole request within this
  std::int64_t idle_timeout_ms = 60000;    // keep-alive idle limit
  std::int64_t request_timeout_ms = 30000; // deadline handed to adapters
  std::size_t max_in_flight = 1024;
  std::filesystem::path ready_file; // empty: none; else "host:port\n" is written here after binding
  std::string url_prefix;           // e.g. "/weft": routes are served only under it; empty: at the root
  RpcTlsConfig tls;
  bool allow_insecure = false; // listen beyond loopback without login and TLS anyway (the operator means it)

  // "host:port", with brackets around an IPv6 host.
  std::string listen() const;
  // Whether the I/O threads keep their work (handoff keep, or auto on `cores` <= 2).
  bool handoff_keeps(unsigned cores) const;
};

// The Prometheus and health listener: its own port, no login.
struct MetricsConfig {
  bool enabled = true;
  std::string host = "127.0.0.1";
  std::uint16_t port = 9250;
  std::filesystem::path ready_file; // as RpcConfig::ready_file
};

// Universal accounts and login (docs/accounts.md).
struct AuthConfig {
  bool login = true;           // every route but WeCross's open ones needs a token
  bool allow_register = false; // /auth/register creates users
  std::int64_t token_life_s = 18000;
};

// The XA coordinator (docs/xa.md).
struct XaConfig {
  std::int64_t timeout_s = 600;      // a transaction left open (no commit or rollback) longer is rolled back
  std::int64_t retry_max_ms = 5000;  // a chain that misses a decision is asked again, the wait doubling up to this
  bool start_in_step = true;         // a chain that can starts its branch in the first step, not at start
};

// The HTLC engine (docs/htlc.md).
struct HtlcConfig {
  std::int64_t min_window_ms = 200000; // the participant's timelock must be at least this far in its chain's future
  std::int64_t margin_ms = 5000;       // added to the safety gap between the two timelocks
  std::int64_t poll_ms = 250;          // how often a waiting swap looks at its chains when no event comes
};

struct AccountConfig {
  std::string name;
  std::string algorithm = "secp256k1";
  std::filesystem::path key_file; // absolute after parsing; empty means <data_dir>/keys/<name>.key
  std::filesystem::path certificate; // X.509 PEM for chains that name signers by certificate (Fabric)
  std::string msp_id;                // the certificate's MSP id; set together with certificate
  int line = 0;                   // where the account is defined, for later messages
};

struct ChainConfig {
  std::string name; // the chain's path is <zone>.<name>
  std::string type; // the stub type an adapter serves, e.g. "RefChain"
  std::string default_account;
  boost::json::object options; // passed to the adapter verbatim
  int line = 0;
};

struct RouterConfig {
  std::string zone;
  std::filesystem::path data_dir;
  std::filesystem::path plugin_dir;
  std::filesystem::path master_key_file; // seals users' chain keys; empty: users have no chain accounts
  std::int64_t chain_retry_initial_ms = 500; // first wait before reopening a chain that failed to open
  std::int64_t chain_retry_max_ms = 30000;   // the backoff doubles up to this
  RpcConfig rpc;
  MetricsConfig metrics;
  AuthConfig auth;
  XaConfig xa;
  HtlcConfig htlc;
  std::string log_level = "info"; // trace|debug|info|warn|error|off
  std::filesystem::path log_file; // empty: stderr
  std::vector<AccountConfig> accounts;
  std::vector<ChainConfig> chains;
  std::filesystem::path config_path; // the file it was loaded from; empty when parsed from text
};

// Reads and checks the file at `path`. Relative paths inside resolve against the file's directory.
// Every problem found is reported in one Error (code::kInternal), one "<file>:<line>:<col>: ..." line each.
Result<RouterConfig> load_config(const std::filesystem::path &path);

// The same from text already in memory; `file_name` only labels messages, `base_dir` anchors relative paths.
// Environment overrides (WEFT_DATA_DIR, WEFT_PLUGIN_DIR) apply here too.
Result<RouterConfig> parse_config(std::string_view text, std::string_view file_name,
                                  const std::filesystem::path &base_dir);

} // namespace weft
