// The router's table of chains and resources: every local chain it opened (or failed to open) and every
// resource those chains expose, by path. Filled at start-up before the RPC door opens, read-only after.
#pragma once

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chain_handle.h"

namespace weft {

struct ChainEntry {
  std::string path; // zone.chain
  std::string stub_type;
  std::string default_account;
  std::shared_ptr<ChainHandle> handle; // null when the chain failed to open
  std::string open_error;
};

struct ResourceEntry {
  std::string path; // zone.chain.resource
  std::string chain_path;
  std::string name;
  std::string stub_type;
  boost::json::object properties;
};

class Registry {
 public:
  void add_chain(ChainEntry chain) { chains_[chain.path] = std::move(chain); }
  void add_resource(ResourceEntry r) { resources_[r.path] = std::move(r); }
  const ChainEntry *chain(const std::string &path) const {
    auto it = chains_.find(path);
    return it == chains_.end() ? nullptr : &it->second;
  }
  const ResourceEntry *resource(const std::string &path) const {
    auto it = resources_.find(path);
    return it == resources_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, ChainEntry> &chains() const { return chains_; }
  const std::map<std::string, ResourceEntry> &resources() const { return resources_; }

 private:
  std::map<std::string, ChainEntry> chains_;
  std::map<std::string, ResourceEntry> resources_;
};

} // namespace weft
