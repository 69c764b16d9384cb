// The console's side of WeCross's login (sheet §4): fetch the router's RSA key and a single-use auth code, send the
// credentials RSA-encrypted (PKCS#1 v1.5), keep the credential it answers for the requests that follow.
#pragma once

#include "http_client.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace weft::console {

// Who the console is logged in as; shared by the transport, which sends the credential with every request.
struct ConsoleSession {
  std::string user;
  std::string credential; // "Bearer …"; empty when logged out
  // The current XA transaction (startTransaction or loadTransaction), as WeCross's SDK keeps it per thread.
  std::string xa_id;                // empty: none
  std::vector<std::string> xa_paths; // its resource paths
  long long xa_seq = 0;             // the last step's seq (a millisecond clock, strictly increasing)
};

// WeCross's client-side password hash: sha256hex("1234567890~!#$%^&*()_+" + password).
std::string client_password_hash(const std::string &password);
// RSA PKCS#1 v1.5 encryption to a base64 SubjectPublicKeyInfo key; base64 out. Empty on failure.
std::string rsa_encrypt_base64(const std::string &public_key_base64, const std::string &plaintext);

using RawTransport = std::function<HttpResult(const HttpRequest &)>;

struct LoginFailure {
  std::string message; // one line; empty on success
  bool unreachable = false; // no HTTP answer at all (exit code 3, as for any command)
};
// Logs in; on success fills session.
LoginFailure login(const RawTransport &transport, const std::string &user, const std::string &password,
                   ConsoleSession &session);

// The password for --user: the environment variable (WEFT_PASSWORD by default), else one line of standard input
// (without echo on a terminal).
std::string read_password(const std::string &prompt, const char *env = "WEFT_PASSWORD");

// Sends `json` RSA-encrypted to the router's login key (register, changePassword): the answer's data.errorCode and
// message, or a transport failure.
LoginFailure send_sealed(const RawTransport &transport, const std::string &target, const std::string &json);

} // namespace weft::console
