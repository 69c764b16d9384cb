#include "embedded_network.h"

#include <atomic>

namespace weft::refchain {

// Validator i's outbox: hands each frame to the other validators' deliver(), as a socket would.
class EmbeddedNetwork::Link : public Outbox {
 public:
  Link(EmbeddedNetwork &net, uint32_t self) : net_(net), self_(self) {}
  void broadcast(ByteView frame) override {
    if (!open_) return;
    for (uint32_t i = 0; i < net_.validators_.size(); ++i)
      if (i != self_) net_.validators_[i]->deliver(frame);
  }
  void send(uint32_t validator, ByteView frame) override {
    if (open_ && validator != self_ && validator < net_.validators_.size())
      net_.validators_[validator]->deliver(frame);
  }
  void close() { open_ = false; }

 private:
  EmbeddedNetwork &net_;
  uint32_t self_;
  std::atomic<bool> open_{true};
};

EmbeddedNetwork::EmbeddedNetwork(const ChainConfig &config, const std::string &data_dir,
                                 Validator::Listeners listeners, Validator::Log log, uint64_t round_timeout_ms) {
  std::vector<ValidatorKey> keys;
  for (uint32_t i = 0; i < config.validators; ++i) {
    keys.push_back(load_or_create_validator_key(data_dir + "/validator" + std::to_string(i) + ".key"));
    set_.push_back(keys.back().address);
  }
  for (uint32_t i = 0; i < config.validators; ++i) {
    links_.push_back(std::make_unique<Link>(*this, i));
    ValidatorOptions o;
    o.chain = config;
    o.validators = set_;
    o.self = i;
    o.db_path = data_dir + "/validator" + std::to_string(i) + ".sqlite";
    o.key = keys[i];
    o.round_timeout_ms = round_timeout_ms;
    // Validator 0 speaks for the chain at info level; the others' routine lines (a commit per block each) would
    // only repeat it, so they go to debug. Their warnings and errors stay.
    auto tagged = [log, i](int level, const std::string &m) {
      if (log) log(i != 0 && level == 1 ? 0 : level, "validator " + std::to_string(i) + ": " + m);
    };
    validators_.push_back(
        std::make_unique<Validator>(std::move(o), *links_.back(), i == 0 ? listeners : Validator::Listeners{}, tagged));
  }
}

EmbeddedNetwork::~EmbeddedNetwork() { stop(); }

void EmbeddedNetwork::start() {
  for (auto &v : validators_)
    v->start();
}

void EmbeddedNetwork::stop() {
  for (auto &l : links_)
    l->close();
  for (auto &v : validators_)
    v->stop();
}

} // namespace weft::refchain
