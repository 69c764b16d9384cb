// The default reference-chain network: n validators inside one process (the plugin), each with its own SQLite file
// and key file, exchanging the same checked frames a weft-node network does, through in-process delivery. Four
// validators in one process tolerate no machine fault; they are the zero-setup default, weft-node the deployment.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "validator.h"

namespace weft::refchain {

class EmbeddedNetwork {
 public:
  // Opens (creating on first use) validator<i>.key and validator<i>.sqlite in data_dir for i < config.validators.
  // `listeners` are validator 0's: clients talk to it. Throws Error.
  EmbeddedNetwork(const ChainConfig &config, const std::string &data_dir, Validator::Listeners listeners,
                  Validator::Log log, uint64_t round_timeout_ms = 1000);
  ~EmbeddedNetwork();
  EmbeddedNetwork(const EmbeddedNetwork &) = delete;
  EmbeddedNetwork &operator=(const EmbeddedNetwork &) = delete;

  void start();
  // Stops every validator; no listener runs after it returns.
  void stop();

  Validator &front() { return *validators_.front(); }
  Validator &at(size_t i) { return *validators_.at(i); }
  size_t size() const { return validators_.size(); }
  const std::vector<Address> &validator_set() const { return set_; }

 private:
  class Link;
  std::vector<Address> set_;
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<Validator>> validators_;
};

} // namespace weft::refchain
