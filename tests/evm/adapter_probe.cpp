// A test tool: loads one adapter library, opens a chain with it through the C table, runs one subscribe_v2 and prints
// every record as a line on stdout, for the integration tests to read. Usage:
//   adapter_probe LIBRARY STUB_TYPE CONFIG_JSON REQUEST_JSON COUNT SECONDS [close-first]
// Ends after COUNT records or SECONDS, then unsubscribes and closes the chain (or, with close-first, closes it while
// still subscribed, so the adapter's "end" record shows). Exit 0 when COUNT records came, 1 when they did not, 3 when
// the subscription was refused (the line "refused STATUS: MESSAGE").
#include <weft/adapter.h>

#include "loader.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>

namespace {

std::mutex mu;
std::condition_variable cv;
long seen = 0;

void host_log(void *, int32_t, const char *chain, const char *message) {
  std::fprintf(stderr, "[%s] %s\n", chain ? chain : "", message ? message : "");
}

void on_record(void *, const uint8_t *record, size_t size) {
  std::lock_guard lock(mu);
  std::cout << std::string_view(reinterpret_cast<const char *>(record), size) << std::endl;
  ++seen;
  cv.notify_all();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: adapter_probe LIBRARY STUB_TYPE CONFIG_JSON REQUEST_JSON COUNT SECONDS [close-first]\n");
    return 2;
  }
  const long want = std::stol(argv[5]);
  const auto wait = std::chrono::seconds(std::stol(argv[6]));
  const bool close_first = argc > 7 && std::string(argv[7]) == "close-first";
  auto lib = weft::load_adapter(argv[1]);
  if (!lib.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], lib.error().message.c_str());
    return 2;
  }
  const weft_adapter_v1 *t = lib->table;
  weft_host_v1 host{};
  host.struct_size = sizeof host;
  host.log = host_log;
  const auto dir = std::filesystem::temp_directory_path() / ("weft-probe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string data_dir = dir.string();
  weft_open_args_v1 args{};
  args.struct_size = sizeof args;
  args.host = &host;
  args.stub_type = argv[2];
  args.chain_name = "probe.chain";
  args.config_json = argv[3];
  args.data_dir = data_dir.c_str();
  weft_chain *chain = nullptr;
  char err[512] = {0};
  if (t->open(&args, &chain, err, sizeof err) != WEFT_OK) {
    std::fprintf(stderr, "cannot open: %s\n", err);
    return 2;
  }
  uint64_t id = 0;
  const std::string request = argv[4];
  int32_t rc = t->subscribe_v2(chain, reinterpret_cast<const uint8_t *>(request.data()), request.size(), on_record,
                               nullptr, &id, err, sizeof err);
  if (rc != WEFT_OK) {
    std::cout << "refused " << rc << ": " << err << std::endl;
    t->close(chain);
    std::filesystem::remove_all(dir);
    return 3;
  }
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return seen >= want; });
  }
  const bool enough = seen >= want;
  if (!close_first) t->unsubscribe(chain, id);
  t->close(chain);
  std::cout << "closed" << std::endl;
  std::filesystem::remove_all(dir);
  return enough ? 0 : 1;
}
