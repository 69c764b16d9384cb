#include "loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <set>

namespace weft {
namespace {

// The prefix of the table every version-1 adapter must fill: everything up to the verbs later issues added.
constexpr size_t kMinTableSize = offsetof(weft_adapter_v1, deploy_stubs);

std::string describe(const char *s) { return s != nullptr ? std::string(s) : std::string("(null)"); }

} // namespace

const AdapterLibrary *LoadReport::find(const std::string &stub_type) const {
  for (const auto &lib : loaded)
    if (std::find(lib.stub_types.begin(), lib.stub_types.end(), stub_type) != lib.stub_types.end()) return &lib;
  return nullptr;
}

Result<AdapterLibrary> load_adapter(const std::string &file) {
  // RTLD_LOCAL keeps each adapter's symbols to itself; RTLD_NOW surfaces missing symbols here, not mid-call.
  void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Error{code::kInternal, "cannot load: " + describe(dlerror())};
  dlerror();
  void *sym = dlsym(handle, WEFT_ADAPTER_ENTRY_SYMBOL);
  if (sym == nullptr)
    return Error{code::kInternal, std::string("not a Weft adapter: no exported symbol ") + WEFT_ADAPTER_ENTRY_SYMBOL};
  auto entry = reinterpret_cast<weft_adapter_entry_v1_fn>(sym);
  const weft_adapter_v1 *table = entry();
  if (table == nullptr) return Error{code::kInternal, "adapter entry returned no table"};
  if (table->abi_version != WEFT_ADAPTER_ABI_VERSION)
    return Error{code::kInternal, "built for adapter ABI version " + std::to_string(table->abi_version) +
                                      ", this router speaks version " + std::to_string(WEFT_ADAPTER_ABI_VERSION) +
                                      "; rebuild the adapter against this router's adapter.h"};
  if (table->struct_size < kMinTableSize)
    return Error{code::kInternal, "adapter table is " + std::to_string(table->struct_size) + " bytes, at least " +
                                      std::to_string(kMinTableSize) + " are required"};
  if (table->open == nullptr || table->close == nullptr)
    return Error{code::kInternal, "adapter table lacks open or close"};
  AdapterLibrary lib;
  lib.file = file;
  lib.name = describe(table->name);
  lib.version = describe(table->version);
  lib.table = table;
  for (const char *const *t = table->stub_types; t != nullptr && *t != nullptr; ++t) {
    std::string type(*t);
    if (type.empty()) return Error{code::kInternal, "adapter declares an empty stub type"};
    if (std::find(lib.stub_types.begin(), lib.stub_types.end(), type) != lib.stub_types.end())
      return Error{code::kInternal, "adapter declares stub type " + type + " twice"};
    lib.stub_types.push_back(std::move(type));
  }
  if (lib.stub_types.empty()) return Error{code::kInternal, "adapter declares no stub types"};
  return lib;
}

Result<LoadReport> load_adapters(const std::string &dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{code::kInternal, "plugin directory " + dir + " does not exist"};
  std::vector<std::string> files;
  for (const auto &entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path().string());
  if (ec) return Error{code::kInternal, "cannot list plugin directory " + dir + ": " + ec.message()};
  std::sort(files.begin(), files.end());

  LoadReport report;
  for (const auto &file : files) {
    auto lib = load_adapter(file);
    if (!lib) {
      report.refused.push_back({file, lib.error().message});
      continue;
    }
    std::string clash;
    for (const auto &type : lib->stub_types)
      if (const auto *owner = report.find(type)) clash = "stub type " + type + " is already served by " + owner->file;
    if (!clash.empty()) {
      report.refused.push_back({file, clash});
      continue;
    }
    report.loaded.push_back(std::move(lib).value());
  }
  return report;
}

} // namespace weft
