#include "envelope.h"

#include <boost/json/serialize.hpp>

namespace weft {

std::string envelope_ok(const boost::json::value &data) {
  boost::json::object o;
  o["version"] = kRpcVersion;
  o["errorCode"] = 0;
  o["message"] = "Success";
  o["data"] = data;
  return boost::json::serialize(o);
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
