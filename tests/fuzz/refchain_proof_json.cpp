// Inclusion proofs as a node answers them and as users hand them in to be checked offline: proof_from_json refuses
// what is malformed with a DecodeError, what it accepts survives proof_json and back unchanged, and verify_proof
// answers true or false without throwing.
#include "fuzz_check.h"

#include "chain_json.h"
#include "error.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace weft::refchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return 0;
  try {
    InclusionProof p = proof_from_json(v);
    boost::json::value once = proof_json(p);
    InclusionProof q = proof_from_json(once);
    FUZZ_CHECK(boost::json::serialize(proof_json(q)) == boost::json::serialize(once),
               "proof_from_json(proof_json(p)) differs from p");
    std::string why;
    (void)verify_proof(p, &why);
    std::vector<Address> set(4);
    for (size_t i = 0; i < set.size(); ++i)
      set[i][19] = static_cast<uint8_t>(i);
    (void)verify_proof(p, set, &why);
  } catch (const DecodeError &) {
  }
  return 0;
}
