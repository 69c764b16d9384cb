// An open-loop load generator on one thread: pre-built requests go out at a target rate over a fixed set of
// keep-alive connections (round robin), pipelined, and answers are matched to their request by id (weft's client
// API answers out of order) or in order (HTTP/1.1). Latency runs from the moment a request is written to the moment
// its answer is read.
#pragma once

#include "procs.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::bench {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

enum class Wire {
  Framed, // u32 big-endian length + body; answers carry the request's index as their id
  Http,   // HTTP/1.1 requests; answers come back in order on each connection
};

// What one answer said. For Framed answers the checker also names the request (its index).
struct Answer {
  size_t index = 0;
  bool ok = false;
  std::string error; // when !ok
};
using Checker = std::function<Answer(std::string_view body, int http_status)>;

struct LoadSpec {
  std::vector<Endpoint> endpoints; // connections are spread over these in turn
  size_t connections = 1;
  double rate = 0;              // requests per second; 0 = as fast as the in-flight bounds allow
  size_t max_in_flight = 10000; // over all connections
  size_t max_in_flight_per_conn = 1000;
  std::vector<std::string> requests; // wire bytes, framing included
  Wire wire = Wire::Framed;
  Checker check;
  std::chrono::milliseconds answer_timeout{120000}; // after the last request is written
};

struct LoadResult {
  size_t sent = 0, ok = 0, failed = 0;
  double elapsed_s = 0;            // first write .. last answer
  double send_span_s = 0;          // first write .. last write
  std::vector<double> latency_ms;  // of the successful requests
  std::vector<std::string> errors; // the first few
  bool timed_out = false;
  int64_t client_cpu_us = 0;

  double offered_rate() const { return send_span_s > 0 ? sent / send_span_s : 0; }
  double committed_rate() const { return elapsed_s > 0 ? ok / elapsed_s : 0; }
  double percentile(double p) const; // of latency_ms; p in [0,100]
};

// Connects every connection first (throws std::runtime_error if one cannot), then runs the load to the end.
LoadResult run_load(const LoadSpec &spec, const std::function<void()> &on_start = {});

} // namespace weft::bench
