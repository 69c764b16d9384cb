// A 4-validator weft-node network on loopback for the benchmark: laid out with `weft-node init-network`, tuned
// through node.yaml, started as child processes and stopped by pid; plus the issuer account, its pre-signed
// transfers and the end-of-run checks.
#pragma once

#include "load.h"
#include "procs.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace weft::bench {

struct WeftParams {
  std::string node_binary;
  size_t validators = 4;
  uint64_t max_block_txs = 1000;
  uint64_t block_interval_ms = 20;
  uint64_t pool_limit = 100000;
  uint64_t round_timeout_ms = 2000;
  bool keep_dir = false;
};

class WeftNetwork {
public:
  explicit WeftNetwork(WeftParams params);
  ~WeftNetwork(); // stops every node still running and removes the directory (unless keep_dir)

  void start();                          // throws std::runtime_error if a node does not come up
  std::vector<Endpoint> clients() const; // the nodes' client API addresses
  std::vector<int> pids() const;
  const std::string &dir() const { return dir_; }

  // A blocking client op on node i; returns the answer's result. Throws on an error answer.
  boost::json::object ask(size_t node, const std::string &op, boost::json::object fields = {});

  // Creates the issuer key, mints `supply` to it (waits for the commit) and signs `count` transfers of 1 unit to
  // `recipients` distinct addresses, on `threads` threads. Returns framed submit requests with ids 0..count-1.
  std::vector<std::string> prepare_transfers(size_t count, uint64_t supply, size_t recipients, uint64_t wait_ms,
                                             unsigned threads);

  // After the load: waits until every node has the same height, then compares their head hashes and the
  // issuer's balance. Returns an empty string if all agree, else what differs. Sets the head it saw.
  std::string check_agreement(uint64_t expected_issuer_balance, uint64_t *height, std::string *head_hash);

  // Stops every node (SIGTERM, by pid); returns the names of the nodes that did not exit 0.
  std::vector<std::string> stop_all();

private:
  WeftParams p_;
  std::string dir_;
  uint16_t base_ = 0;
  std::vector<Child> nodes_;
  std::string issuer_address_;
};

} // namespace weft::bench
