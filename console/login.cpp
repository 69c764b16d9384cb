#include "login.h"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

namespace weft::console {

namespace json = boost::json;

std::string client_password_hash(const std::string &password) {
  std::string salted = "1234567890~!#$%^&*()_+" + password;
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(salted.data(), salted.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += {kHex[md[i] >> 4], kHex[md[i] & 15]};
  return out;
}

std::string rsa_encrypt_base64(const std::string &public_key_base64, const std::string &plaintext) {
  std::vector<unsigned char> der(public_key_base64.size());
  int n = EVP_DecodeBlock(der.data(), reinterpret_cast<const unsigned char *>(public_key_base64.data()),
                          static_cast<int>(public_key_base64.size()));
  if (n <= 0) return "";
  // EVP_DecodeBlock counts the padding's zero bytes; d2i stops at the key's own length.
  const unsigned char *p = der.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(d2i_PUBKEY(nullptr, &p, n), EVP_PKEY_free);
  if (!key) return "";
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  size_t out_len = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, reinterpret_cast<const unsigned char *>(plaintext.data()),
                       plaintext.size()) <= 0)
    return "";
  std::vector<unsigned char> out(out_len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, reinterpret_cast<const unsigned char *>(plaintext.data()),
                       plaintext.size()) <= 0)
    return "";
  std::string b64(4 * ((out_len + 2) / 3) + 1, '\0');
  int m = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(b64.data()), out.data(), static_cast<int>(out_len));
  b64.resize(static_cast<size_t>(m));
  return b64;
}

namespace {

// The envelope's data of a successful answer, or an error line.
std::variant<json::value, std::string> data_of(const HttpResult &result) {
  if (const auto *f = std::get_if<TransportFailure>(&result)) return f->message;
  const auto &r = std::get<HttpResponse>(result);
  if (r.status != 200) return "HTTP " + std::to_string(r.status);
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  const auto *o = v.if_object();
  if (ec || !o || !o->contains("errorCode")) return std::string("malformed answer");
  if (o->at("errorCode") != 0) {
    const auto *m = o->if_contains("message");
    return "error " + json::serialize(o->at("errorCode")) + ": " +
           (m && m->is_string() ? std::string(m->get_string()) : "");
  }
  return o->contains("data") ? o->at("data") : json::value(nullptr);
}

HttpRequest rpc(std::string method, std::string target, json::value data) {
  return HttpRequest{std::move(method), std::move(target),
                     json::serialize(json::object{{"version", "1"}, {"data", std::move(data)}}), ""};
}

} // namespace

LoginFailure login(const RawTransport &transport, const std::string &user, const std::string &password,
                   ConsoleSession &session) {
  auto first = transport(rpc("GET", "/auth/pub", nullptr));
  if (const auto *f = std::get_if<TransportFailure>(&first)) return {f->message, true};
  auto pub = data_of(first);
  if (auto *e = std::get_if<std::string>(&pub)) return {"cannot get the router's login key: " + *e};
  auto code = data_of(transport(rpc("GET", "/auth/authCode", nullptr)));
  if (auto *e = std::get_if<std::string>(&code)) return {"cannot get an auth code: " + *e};
  const auto *pub_o = std::get<json::value>(pub).if_object();
  const auto *code_o = std::get<json::value>(code).if_object();
  const json::value *key = pub_o ? pub_o->if_contains("pub") : nullptr;
  const json::value *ac = code_o ? code_o->if_contains("authCode") : nullptr;
  const json::value *token = ac && ac->is_object() ? ac->as_object().if_contains("randomToken") : nullptr;
  if (!key || !key->is_string() || !token || !token->is_string()) return {"the router answered a malformed login key"};
  std::string creds = json::serialize(json::object{
      {"username", user}, {"password", client_password_hash(password)}, {"randomToken", token->get_string()}});
  std::string sealed = rsa_encrypt_base64(std::string(key->get_string()), creds);
  if (sealed.empty()) return {"cannot encrypt to the router's login key"};
  auto answer = data_of(transport(rpc("POST", "/auth/login", json::string(sealed))));
  if (auto *e = std::get_if<std::string>(&answer)) return {"login failed: " + *e};
  const auto *a = std::get<json::value>(answer).if_object();
  if (!a) return {"login failed: malformed answer"};
  const auto *ec = a->if_contains("errorCode");
  if (!ec || *ec != 0) {
    const auto *m = a->if_contains("message");
    return {"login failed: " +
            (m && m->is_string() ? std::string(m->get_string()) : "error " + (ec ? json::serialize(*ec) : "?"))};
  }
  const auto *cred = a->if_contains("credential");
  if (!cred || !cred->is_string()) return {"login failed: no credential in the answer"};
  session.user = user;
  session.credential = std::string(cred->get_string());
  return {};
}

LoginFailure send_sealed(const RawTransport &transport, const std::string &target, const std::string &plain) {
  auto first = transport(rpc("GET", "/auth/pub", nullptr));
  if (const auto *f = std::get_if<TransportFailure>(&first)) return {f->message, true};
  auto pub = data_of(first);
  if (auto *e = std::get_if<std::string>(&pub)) return {"cannot get the router's key: " + *e};
  const auto *o = std::get<json::value>(pub).if_object();
  const json::value *key = o ? o->if_contains("pub") : nullptr;
  if (!key || !key->is_string()) return {"the router answered a malformed key"};
  std::string sealed = rsa_encrypt_base64(std::string(key->get_string()), plain);
  if (sealed.empty()) return {"cannot encrypt to the router's key"};
  auto answer = data_of(transport(rpc("POST", target, json::string(sealed))));
  if (auto *e = std::get_if<std::string>(&answer)) return {*e};
  const auto *a = std::get<json::value>(answer).if_object();
  const auto *ec = a ? a->if_contains("errorCode") : nullptr;
  if (!ec || *ec != 0) {
    const auto *m = a ? a->if_contains("message") : nullptr;
    return {m && m->is_string() ? std::string(m->get_string()) : std::string("malformed answer")};
  }
  return {};
}

std::string read_password(const std::string &prompt, const char *env_name) {
  if (const char *env = std::getenv(env_name); env && *env) return env;
  bool tty = isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

} // namespace weft::console
