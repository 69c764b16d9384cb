#include "envelope.h"

#include <boost/json/serialize.hpp>

namespace weft {

namespace {
// What boost::json writes for {"version":"1","errorCode":0,"message":"Success","data": — the keys in this order.
constexpr std::string_view kOkHead = R"({"version":"1","errorCode":0,"message":"Success","data":)";
} // namespace

std::string envelope_ok(const boost::json::value &data) { return envelope_ok_text(boost::json::serialize(data)); }

std::string envelope_ok_text(std::string_view data_json) {
  std::string out;
  out.reserve(kOkHead.size() + data_json.size() + 1);
  out += kOkHead;
  out += data_json;
  out += '}';
  return out;
}

void append_json_string(std::string &out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t plain = 0; // start of the run not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

std::string tx_outcome_json(const TxOutcome &t) {
  std::string out;
  out.reserve(128 + t.message.size() + t.hash.size() + 8 * t.result.size());
  out += "{\"errorCode\":";
  out += std::to_string(t.error_code);
  out += ",\"message\":";
  append_json_string(out, t.message);
  out += ",\"hash\":";
  append_json_string(out, t.hash);
  out += ",\"extraHashes\":";
  out += boost::json::serialize(t.extra_hashes);
  out += ",\"blockNumber\":";
  out += std::to_string(t.block_number);
  out += ",\"result\":[";
  for (size_t i = 0; i < t.result.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, t.result[i]);
  }
  out += "],\"timestamp\":";
  out += std::to_string(t.timestamp);
  out += '}';
  return out;
}

std::string envelope_error(const Error &e) {
  boost::json::object o;
  o["version"] = kRpcVersion;
  o["errorCode"] = e.code;
  o["message"] = e.message;
  o["data"] = nullptr;
  return boost::json::serialize(o);
}

bool supported_request_version(const std::string &v) { return v == "1" || v == "0.1" || v == "0.2"; }

} // namespace weft
