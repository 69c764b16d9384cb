// node.yaml: one weft-node validator's configuration, and the files `weft-node init-network` writes for a network.
#pragma once

#include "ledger.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft::refchain::node {

struct NodeValidator {
  Address address{};
  std::string peer; // "host:port" of its peer port
};

struct NodeConfig {
  uint64_t chain_id = 1;
  uint32_t index = 0;
  std::string key_file; // relative paths are relative to the config file's directory
  std::string data_dir;
  std::string listen;        // peer port, "host:port"
  std::string client_listen; // client API port, "host:port"
  std::vector<NodeValidator> validators;
  std::vector<ResourceConfig> resources{{"store", "kv"}, {"token", "asset"}};
  uint64_t block_interval_ms = 100;
  uint64_t empty_block_interval_ms = 3000;
  uint64_t max_block_txs = 1000;
  uint64_t pool_limit = 20000;
  uint64_t round_timeout_ms = 1000;
  uint64_t client_max_connections = 1024;  // open client connections; more are refused
  uint64_t client_idle_timeout_ms = 60000; // a client connection with nothing pending this long is closed
  uint64_t peer_idle_timeout_ms = 15000;   // an accepted peer link silent this long is dropped
  std::string log_level = "info";          // debug, info, warn, error
  std::string ready_file;                  // written with the client address once both ports are bound; optional
  std::optional<Address> xa_coordinator;   // the chain's XA coordinator; unset: the first to start or roll back
  int64_t block_time_offset_ms = 0;        // this validator's clock runs at now + offset (every validator alike)
};

// Every problem in the file, one per line as "file:line:col: message".
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

NodeConfig load_node_config(const std::string &path); // throws ConfigError

struct NetworkPlan {
  size_t validators = 4;
  std::string dir;
  std::string host = "127.0.0.1";
  uint16_t base_port = 30300; // validator i: peer port base+i, client port base+100+i
  uint64_t chain_id = 1;
};

// Writes dir/node<i>/{node.yaml, validator.key (0600)} and dir/network.yaml. Throws std::runtime_error.
void init_network(const NetworkPlan &plan);

} // namespace weft::refchain::node
