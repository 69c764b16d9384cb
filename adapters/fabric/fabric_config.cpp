#include "fabric_config.h"

#include "evm_config.h"
#include "fabric_messages.h"

#include <weft/adapter.hpp>

#include <boost/json/parse.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace weft::fabric {

namespace json = boost::json;
namespace opt = weft::evm::options;

namespace {

std::string read_pem(const std::string &path, const std::string &where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) opt::bad(where + ": cannot read the file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.find("-----BEGIN ") == std::string::npos) opt::bad(where + ": '" + path + "' is not a PEM file");
  return text;
}

void check_private_key(const std::string &pem, const std::string &path, const std::string &where) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) opt::bad(where + ": '" + path + "' holds no readable private key");
  EVP_PKEY_free(key);
}

bool address_ok(const std::string &a) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  for (size_t i = colon + 1; i < a.size(); ++i)
    if (a[i] < '0' || a[i] > '9') return false;
  return a.size() - colon - 1 <= 5;
}

Endpoint endpoint(const json::value &v, const std::string &where, bool tls, bool named) {
  if (!v.is_object()) opt::bad(where + " must be a mapping");
  const auto &o = v.as_object();
  std::set<std::string> keys{"address", "tls_ca_file", "server_name"};
  if (named) keys.insert("name");
  opt::only_keys(o, keys, where);
  Endpoint e;
  e.address = opt::text(o, "address", where);
  if (!address_ok(e.address)) opt::bad(where + ".address must be host:port, got '" + e.address + "'");
  if (named) {
    e.name = opt::text(o, "name", where);
    if (e.name.empty() || e.name.size() > 128) opt::bad(where + ".name must be 1-128 characters");
  } else {
    e.name = e.address;
  }
  if (o.contains("server_name")) e.server_name = opt::text(o, "server_name", where);
  if (tls) {
    e.tls_ca_file = opt::text(o, "tls_ca_file", where);
    e.tls_ca_pem = read_pem(e.tls_ca_file, where + ".tls_ca_file");
    certificate_der(e.tls_ca_pem, where + ".tls_ca_file '" + e.tls_ca_file + "'");
  } else if (o.contains("tls_ca_file")) {
    opt::bad(where + ".tls_ca_file is set but options.tls.enabled is false");
  }
  return e;
}

} // namespace

std::string certificate_der(const std::string &pem, const std::string &origin) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509 *cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (cert == nullptr) throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, origin + " holds no readable X.509 certificate");
  unsigned char *der = nullptr;
  int n = i2d_X509(cert, &der);
  X509_free(cert);
  if (n <= 0) throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, origin + ": the certificate cannot be encoded");
  std::string out(reinterpret_cast<char *>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

FabricConfig parse_fabric_config(const std::string &text) {
  boost::system::error_code ec;
  auto root = json::parse(text, ec);
  if (ec || !root.is_object()) opt::bad("options must be a mapping");
  const auto &o = root.as_object();
  opt::only_keys(o,
                 {"channel", "peers", "orderers", "tls", "service_account", "request_timeout_ms", "block_interval_ms",
                  "resources", "xa_proxy"},
                 "options");
  FabricConfig c;
  c.channel = opt::text(o, "channel", "options");
  // Fabric's channel names: lower-case letters, digits, '.' and '-', starting with a letter, under 250 characters.
  if (c.channel.empty() || c.channel.size() > 249 || c.channel[0] < 'a' || c.channel[0] > 'z' ||
      c.channel.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
    opt::bad("options.channel '" + c.channel + "' is not a Fabric channel name (a-z, 0-9, '.', '-')");
  c.service_account = opt::text(o, "service_account", "options");
  if (c.service_account.empty()) opt::bad("options.service_account must name a chain account, e.g. 'ua:1:1'");
  c.request_timeout_ms = opt::number(o, "request_timeout_ms", 10000, 100, 600000, "options");
  c.block_interval_ms = opt::number(o, "block_interval_ms", 2000, 1, 3600000, "options");

  if (const auto *t = o.if_contains("tls")) {
    if (!t->is_object()) opt::bad("options.tls must be a mapping");
    const auto &to = t->as_object();
    opt::only_keys(to, {"enabled", "cert_file", "key_file"}, "options.tls");
    if (const auto *en = to.if_contains("enabled")) {
      if (!en->is_bool()) opt::bad("options.tls.enabled must be true or false");
      c.tls = en->as_bool();
    }
    if (to.contains("cert_file") != to.contains("key_file"))
      opt::bad("options.tls: cert_file and key_file go together (a client certificate needs its key)");
    if (to.contains("cert_file")) {
      if (!c.tls) opt::bad("options.tls.cert_file is set but options.tls.enabled is false");
      c.client_cert_file = opt::text(to, "cert_file", "options.tls");
      c.client_cert_pem = read_pem(c.client_cert_file, "options.tls.cert_file");
      std::string key_file = opt::text(to, "key_file", "options.tls");
      c.client_key_pem = read_pem(key_file, "options.tls.key_file");
      check_private_key(c.client_key_pem, key_file, "options.tls.key_file");
      std::string der = certificate_der(c.client_cert_pem, "options.tls.cert_file '" + c.client_cert_file + "'");
      c.tls_cert_hash = sha256(der);
    }
  }

  auto list = [&](const char *key) -> const json::array & {
    const auto *v = o.if_contains(key);
    if (v == nullptr || !v->is_array() || v->as_array().empty())
      opt::bad(std::string("options.") + key + " must be a non-empty list");
    return v->as_array();
  };
  const auto &peers = list("peers");
  std::set<std::string> peer_names;
  for (size_t i = 0; i < peers.size(); ++i) {
    auto e = endpoint(peers[i], "options.peers[" + std::to_string(i) + "]", c.tls, true);
    if (!peer_names.insert(e.name).second) opt::bad("options.peers: the name '" + e.name + "' appears twice");
    c.peers.push_back(std::move(e));
  }
  const auto &orderers = list("orderers");
  for (size_t i = 0; i < orderers.size(); ++i)
    c.orderers.push_back(endpoint(orderers[i], "options.orderers[" + std::to_string(i) + "]", c.tls, false));

  if (const auto *r = o.if_contains("resources")) {
    if (!r->is_array()) opt::bad("options.resources must be a list");
    std::set<std::string> names;
    for (size_t i = 0; i < r->as_array().size(); ++i) {
      const std::string where = "options.resources[" + std::to_string(i) + "]";
      const auto &rv = r->as_array()[i];
      if (!rv.is_object()) opt::bad(where + " must be a mapping");
      const auto &ro = rv.as_object();
      opt::only_keys(ro, {"name", "chaincode", "peers", "xa", "htlc"}, where);
      ChaincodeResource cr;
      cr.name = opt::text(ro, "name", where);
      if (!opt::name_ok(cr.name))
        opt::bad(where + ".name '" + cr.name + "' must be 1-64 characters of letters, digits, _ and -");
      if (!names.insert(cr.name).second) opt::bad(where + ".name '" + cr.name + "' appears twice");
      cr.chaincode = ro.contains("chaincode") ? opt::text(ro, "chaincode", where) : cr.name;
      if (cr.chaincode.empty() || cr.chaincode.size() > 128) opt::bad(where + ".chaincode must be 1-128 characters");
      if (const auto *pv = ro.if_contains("peers")) {
        if (!pv->is_array() || pv->as_array().empty())
          opt::bad(where + ".peers must be a non-empty list of peer names");
        for (const auto &p : pv->as_array()) {
          if (!p.is_string()) opt::bad(where + ".peers must list peer names (strings)");
          std::string n(p.as_string());
          if (!peer_names.contains(n)) opt::bad(where + ".peers: '" + n + "' is not a name in options.peers");
          cr.peers.push_back(n);
        }
      } else {
        cr.peers.push_back(c.peers.front().name);
      }
      for (const char *flag : {"xa", "htlc"})
        if (const auto *f = ro.if_contains(flag)) {
          if (!f->is_bool()) opt::bad(where + "." + flag + " must be true or false");
          (std::string(flag) == "xa" ? cr.xa : cr.htlc) = f->as_bool();
        }
      if (cr.xa && cr.htlc) opt::bad(where + " cannot be both xa and htlc");
      c.resources.push_back(std::move(cr));
    }
  }
  if (o.contains("xa_proxy")) {
    c.xa_proxy = opt::text(o, "xa_proxy", "options");
    if (c.xa_proxy.empty() || c.xa_proxy.size() > 128) opt::bad("options.xa_proxy must be 1-128 characters");
  }
  for (const auto &r : c.resources)
    if (r.xa && c.xa_proxy.empty())
      opt::bad("options.resources: '" + r.name + "' is xa but options.xa_proxy names no XA proxy chaincode");
  return c;
}

} // namespace weft::fabric
