// A test tool for the Fabric tests: loads the Fabric adapter library, opens a chain through the C table as the router
// would, with host services of its own (a P-256 key and certificate from PEM files for one account), runs one
// subscribe_v2 and prints every record as a line on stdout. Usage:
//   fabric-probe LIBRARY STUB_TYPE CONFIG_JSON ACCOUNT KEY_PEM CERT_PEM MSP_ID REQUEST_JSON COUNT SECONDS
// Prints "subscribed" once the subscription runs; ends after COUNT records or SECONDS, then unsubscribes and closes.
// Exit 0 when COUNT records came, 1 when they did not, 2 on a usage or set-up error, 3 when the subscription was
// refused (the line "refused STATUS: MESSAGE").
#include <weft/adapter.h>

#include "loader.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

namespace {

std::mutex mu;
std::condition_variable cv;
long seen = 0;

struct Identity {
  std::string account, cert, msp;
  EVP_PKEY *key = nullptr;
} identity;

void host_log(void *, int32_t, const char *chain, const char *message) {
  std::fprintf(stderr, "[%s] %s\n", chain ? chain : "", message ? message : "");
}

int32_t refuse(const char *account, char *err, size_t cap) {
  std::snprintf(err, cap, "no account '%s' here", account ? account : "");
  return WEFT_E_NOT_FOUND;
}

// ECDSA P-256 over the given digest, answered r||s as the router's host does.
int32_t host_sign(void *, const char *account, const char *algorithm, const uint8_t *digest, size_t digest_len,
                  uint8_t *sig, size_t *sig_len, uint8_t *, size_t *pub_len, char *err, size_t err_cap) {
  if (account == nullptr || identity.account != account) return refuse(account, err, err_cap);
  if (std::strcmp(algorithm, "p256") != 0 || *sig_len < 64) return WEFT_E_INVALID_ARGUMENT;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(identity.key, nullptr);
  unsigned char der[128];
  size_t der_len = sizeof der;
  const bool ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, der, &der_len, digest, digest_len) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return WEFT_E_INTERNAL;
  const unsigned char *p = der;
  ECDSA_SIG *s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  const BIGNUM *r = nullptr, *sv = nullptr;
  ECDSA_SIG_get0(s, &r, &sv);
  BN_bn2binpad(r, sig, 32);
  BN_bn2binpad(sv, sig + 32, 32); // S may be high: the adapter is the one that must send it low
  ECDSA_SIG_free(s);
  *sig_len = 64;
  *pub_len = 0;
  return WEFT_OK;
}

int32_t host_identity(void *, const char *account, char *cert, size_t *cert_len, char *msp_id, size_t msp_cap,
                      char *err, size_t err_cap) {
  if (account == nullptr || identity.account != account) return refuse(account, err, err_cap);
  if (*cert_len < identity.cert.size() || msp_cap <= identity.msp.size()) return WEFT_E_INVALID_ARGUMENT;
  std::memcpy(cert, identity.cert.data(), identity.cert.size());
  *cert_len = identity.cert.size();
  std::memcpy(msp_id, identity.msp.c_str(), identity.msp.size() + 1);
  return WEFT_OK;
}

void on_record(void *, const uint8_t *record, size_t size) {
  std::lock_guard lock(mu);
  std::cout << std::string_view(reinterpret_cast<const char *>(record), size) << std::endl;
  ++seen;
  cv.notify_all();
}

std::string slurp(const char *path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 11) {
    std::fprintf(stderr, "usage: fabric-probe LIBRARY STUB_TYPE CONFIG_JSON ACCOUNT KEY_PEM CERT_PEM MSP_ID "
                         "REQUEST_JSON COUNT SECONDS\n");
    return 2;
  }
  identity.account = argv[4];
  FILE *kf = std::fopen(argv[5], "r");
  identity.key = kf ? PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr) : nullptr;
  if (kf) std::fclose(kf);
  identity.cert = slurp(argv[6]);
  identity.msp = argv[7];
  if (identity.key == nullptr || identity.cert.empty()) {
    std::fprintf(stderr, "cannot read the key %s or the certificate %s\n", argv[5], argv[6]);
    return 2;
  }
  const long want = std::stol(argv[9]);
  const auto wait = std::chrono::seconds(std::stol(argv[10]));
  auto lib = weft::load_adapter(argv[1]);
  if (!lib.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], lib.error().message.c_str());
    return 2;
  }
  const weft_adapter_v1 *t = lib->table;
  weft_host_v1 host{};
  host.struct_size = sizeof host;
  host.log = host_log;
  host.sign = host_sign;
  host.identity = host_identity;
  const auto dir = std::filesystem::temp_directory_path() / ("weft-fabric-probe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string data_dir = dir.string();
  weft_open_args_v1 args{};
  args.struct_size = sizeof args;
  args.host = &host;
  args.stub_type = argv[2];
  args.chain_name = "probe.fabric";
  args.config_json = argv[3];
  args.data_dir = data_dir.c_str();
  weft_chain *chain = nullptr;
  char err[512] = {0};
  if (t->open(&args, &chain, err, sizeof err) != WEFT_OK) {
    std::fprintf(stderr, "cannot open: %s\n", err);
    return 2;
  }
  uint64_t id = 0;
  const std::string request = argv[8];
  int32_t rc = t->subscribe_v2(chain, reinterpret_cast<const uint8_t *>(request.data()), request.size(), on_record,
                               nullptr, &id, err, sizeof err);
  if (rc != WEFT_OK) {
    std::cout << "refused " << rc << ": " << err << std::endl;
    t->close(chain);
    std::filesystem::remove_all(dir);
    EVP_PKEY_free(identity.key);
    return 3;
  }
  std::cout << "subscribed" << std::endl;
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return seen >= want; });
  }
  const bool enough = seen >= want;
  t->unsubscribe(chain, id);
  t->close(chain);
  std::cout << "closed" << std::endl;
  std::filesystem::remove_all(dir);
  EVP_PKEY_free(identity.key);
  return enough ? 0 : 1;
}
