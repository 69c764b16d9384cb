// A chain's `options` for the Fabric adapter (docs/config.md, "Fabric chains"), checked in full at open: an unknown
// key, a bad value or an unreadable or malformed PEM file is refused with its name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::fabric {

// A peer or an orderer: where it listens and the CA that signs its TLS certificate.
struct Endpoint {
  std::string name;        // peers: how resources name it
  std::string address;     // host:port
  std::string tls_ca_pem;  // the TLS root (PEM text); "" only with tls off
  std::string tls_ca_file; // for messages
  std::string server_name; // TLS name to check instead of the host of address ("" = the host)
};

struct ChaincodeResource {
  std::string name;               // the resource: zone.chain.<name>
  std::string chaincode;          // the chaincode's name on the channel
  std::vector<std::string> peers; // endorsing peers (names from options.peers)
  bool xa = false;                 // XA-capable business chaincode: its writes go through options.xa_proxy
  bool htlc = false;               // Weft's HTLC chaincode (stubs/fabric/weft-htlc.js)
};

struct FabricConfig {
  std::string channel;
  std::vector<Endpoint> peers;    // the first one also serves Deliver and qscc
  std::vector<Endpoint> orderers; // tried in order
  bool tls = true;
  // Mutual TLS: the client's certificate and key (PEM text), and the SHA-256 of the certificate's DER.
  std::string client_cert_pem, client_key_pem, client_cert_file;
  std::string tls_cert_hash;
  // The account that signs the adapter's own requests (the Deliver stream, qscc, health) and calls made by an
  // account that has no Fabric identity: a chain account of a user, e.g. "ua:1:1".
  std::string service_account;
  std::uint64_t request_timeout_ms = 10000;
  std::uint64_t block_interval_ms = 2000; // what chain_info reports: the orderer's BatchTimeout, typically
  std::vector<ChaincodeResource> resources;
  // The chaincode name of Weft's XA proxy on the channel (stubs/fabric/weft-xa-proxy.js), "" when there is none. The
  // channel's admins install it; the router does not deploy chaincode.
  std::string xa_proxy;
};

// Throws plugin::Failure(WEFT_E_INVALID_ARGUMENT, message naming the key or file) on anything wrong.
FabricConfig parse_fabric_config(const std::string &json);

// The DER bytes of the first certificate in a PEM text; throws plugin::Failure naming `origin` when there is none.
std::string certificate_der(const std::string &pem, const std::string &origin);

} // namespace weft::fabric
