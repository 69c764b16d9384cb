// The host side of the adapter ABI: finds adapter libraries in a directory, checks them, and serves their
// tables by stub type. A library that is not a valid adapter is refused with a reason; loading goes on.
#pragma once

#include <weft/adapter.h>

#include <functional>
#include <string>
#include <vector>

#include <weft/error.hpp>

namespace weft {

struct AdapterLibrary {
  std::string file; // path it was loaded from
  std::string name;
  std::string version;
  std::vector<std::string> stub_types;
  const weft_adapter_v1 *table = nullptr;
};

struct RefusedLibrary {
  std::string file;
  std::string reason;
};

struct LoadReport {
  std::vector<AdapterLibrary> loaded;
  std::vector<RefusedLibrary> refused;
  // The library serving a stub type, or nullptr.
  const AdapterLibrary *find(const std::string &stub_type) const;
};

// Loads one library and checks its entry table. Libraries are never unloaded: an adapter's threads or
// static destructors may outlive any point we could pick, so they stay mapped until the process exits.
Result<AdapterLibrary> load_adapter(const std::string &file);

// Loads every *.so in `dir` in name order. Refuses libraries that fail load_adapter or declare a stub type
// an earlier library already serves. A missing directory is an error; an empty one is not.
Result<LoadReport> load_adapters(const std::string &dir);

} // namespace weft
