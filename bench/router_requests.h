// The requests of the router benchmark, built before the clock starts, and the checks of their answers: the same
// operation through the router's RPC (HTTP/1.1, WeCross envelope) and straight to the nodes' client API (u32 length
// + JSON), so the difference between the two is the router's cost.
#pragma once

#include "load.h"
#include "weft_net.h"

#include <string>
#include <vector>

namespace weft::bench {

// The body the router answers to /sys/test, which the nginx baseline answers too.
inline constexpr const char *kSysTestBody = R"({"version":"1","errorCode":0,"message":"Success","data":"OK!"})";

std::string http_get(const std::string &target);
std::string http_post(const std::string &target, const std::string &json_body);
std::string framed(const std::string &json_body);

// `count` copies of GET /sys/test; the checker wants HTTP 200 and envelope 0.
std::vector<std::string> sys_test_requests(size_t count);
Checker check_http_ok();

// kv `get` of `key` on resource `store`: through the router (call), or as the client API's `call` op with id i.
std::vector<std::string> router_get_requests(size_t count, const std::string &key);
std::vector<std::string> node_get_requests(size_t count, const std::string &key);
// Router answers: envelope 0 and the chain's errorCode 0. Direct answers: status 0 and the result's errorCode 0.
// Each acknowledged transaction's hash is appended to *hashes when hashes is not null.
Checker check_router_tx(std::vector<std::string> *hashes);
Checker check_node_tx(std::vector<std::string> *hashes);

// kv `set` of key prefix+i through the router (sendTransaction, signed by the router's default account).
std::vector<std::string> router_set_requests(size_t count, const std::string &prefix);
// The same sets signed here by a fresh key before the clock starts, as framed `submit`s with ids 0..count-1
// waiting up to wait_ms for the commit.
std::vector<std::string> node_set_requests(WeftNetwork &net, size_t count, const std::string &prefix, uint64_t wait_ms,
                                           unsigned threads);

// Looks every hash up with get_receipt on the nodes (spread over them); returns what is missing or failed, empty if
// every one is committed with status 0.
std::string check_receipts(const std::vector<Endpoint> &nodes, const std::vector<std::string> &hashes);

} // namespace weft::bench
