// secp256k1 goes through libsecp256k1 (RFC 6979 nonces, low-S by construction); SM2 and P-256 go through OpenSSL 3's
// EVP interface, which computes SM2's Z_A itself once it is given the user ID.
#include "chain_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <weft/text.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

namespace weft::accounts {

namespace {

Error fail(std::string msg) {
  return Error{code::kInternal, std::move(msg)};
}

// The reason of OpenSSL's last error, and an empty queue for the next caller.
std::string openssl_reason() {
  unsigned long err = ERR_peek_last_error();
  char buf[256] = "no reason given";
  if (err != 0) ERR_error_string_n(err, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Error openssl_fail(const std::string &what) {
  return fail(what + " (OpenSSL: " + openssl_reason() + ")");
}

template <auto Free> struct Freer {
  template <class T> void operator()(T *p) const { Free(p); }
};
template <class T, auto Free> using Owned = std::unique_ptr<T, Freer<Free>>;
using Bignum = Owned<BIGNUM, BN_clear_free>;
using BnCtx = Owned<BN_CTX, BN_CTX_free>;
using Group = Owned<EC_GROUP, EC_GROUP_free>;
using Point = Owned<EC_POINT, EC_POINT_free>;
using Pkey = Owned<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtx = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using EcdsaSig = Owned<ECDSA_SIG, ECDSA_SIG_free>;
using ParamBld = Owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
// A BN_secure_new scalar goes to the builder's secure block, which OSSL_PARAM_free clears.
using Params = Owned<OSSL_PARAM, OSSL_PARAM_free>;

// Shared by every thread: libsecp256k1 only reads a context once it is randomized. Null if that failed.
const secp256k1_context *secp_context() {
  static const secp256k1_context *ctx = [] {
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<std::uint8_t, 32> seed{};
    // Blinds the signing tables against timing side channels, per libsecp256k1's advice.
    bool ok = c && RAND_priv_bytes(seed.data(), static_cast<int>(seed.size())) == 1 &&
              secp256k1_context_randomize(c, seed.data());
    OPENSSL_cleanse(seed.data(), seed.size());
    if (!ok && c) {
      secp256k1_context_destroy(c);
      c = nullptr;
    }
    return c;
  }();
  return ctx;
}

Result<const secp256k1_context *> secp() {
  if (const secp256k1_context *ctx = secp_context()) return ctx;
  return fail("cannot set up libsecp256k1 (context creation or randomization failed)");
}

// The OpenSSL side of the two curves libsecp256k1 does not do.
struct Curve {
  int nid;
  const char *group_name; // OSSL_PKEY_PARAM_GROUP_NAME
  const char *key_type;   // EVP key type: SM2 keys are their own type in OpenSSL 3
};

Curve curve_of(KeyAlgorithm algorithm) {
  if (algorithm == KeyAlgorithm::Sm2) return {NID_sm2, "SM2", "SM2"};
  return {NID_X9_62_prime256v1, "prime256v1", "EC"};
}

Result<Group> group_of(const Curve &curve) {
  Group group(EC_GROUP_new_by_curve_name(curve.nid));
  if (!group) return openssl_fail(std::string("cannot load curve ") + curve.group_name);
  return group;
}

// The key as a constant-time BIGNUM, checked to be a usable private scalar for the curve.
Result<Bignum> ec_scalar(KeyAlgorithm algorithm, const EC_GROUP *group, const SecretKey &key) {
  Bignum d(BN_secure_new());
  if (!d) return openssl_fail("cannot allocate a private scalar");
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  if (!BN_bin2bn(key.bytes().data(), static_cast<int>(key.bytes().size()), d.get()))
    return openssl_fail("cannot read a private scalar");
  const BIGNUM *order = EC_GROUP_get0_order(group);
  Bignum limit(BN_dup(order));
  // SM2 signs with (1 + d)^-1 mod n, which n - 1 does not have.
  if (!limit || (algorithm == KeyAlgorithm::Sm2 && !BN_sub_word(limit.get(), 1)))
    return openssl_fail("cannot compute the curve order");
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), limit.get()) >= 0)
    return fail(std::string("not a valid ") + std::string(name(algorithm)) + " secret key: it must be in [1, n-" +
                (algorithm == KeyAlgorithm::Sm2 ? "2" : "1") + "] where n is the curve order");
  return d;
}

Status check_key(KeyAlgorithm algorithm, const SecretKey &key) {
  if (algorithm == KeyAlgorithm::Secp256k1) {
    auto ctx = secp();
    if (!ctx) return ctx.error();
    if (!secp256k1_ec_seckey_verify(*ctx, key.bytes().data()))
      return fail("not a valid secp256k1 secret key: it must be in [1, n-1] where n is the curve order");
    return Ok{};
  }
  auto group = group_of(curve_of(algorithm));
  if (!group) return group.error();
  auto d = ec_scalar(algorithm, group->get(), key);
  if (!d) return d.error();
  return Ok{};
}

// 0x04 || x || y
using Uncompressed = std::array<std::uint8_t, 65>;

Result<Uncompressed> ec_public(const EC_GROUP *group, const BIGNUM *d) {
  BnCtx bn_ctx(BN_CTX_secure_new());
  Point point(EC_POINT_new(group));
  Uncompressed out{};
  if (!bn_ctx || !point || !EC_POINT_mul(group, point.get(), d, nullptr, nullptr, bn_ctx.get()) ||
      EC_POINT_point2oct(group, point.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), bn_ctx.get()) !=
          out.size())
    return openssl_fail("cannot derive a public key");
  return out;
}

Uncompressed with_prefix(std::span<const std::uint8_t, 64> pub) {
  Uncompressed out{};
  out[0] = 0x04;
  std::copy(pub.begin(), pub.end(), out.begin() + 1);
  return out;
}

// An EVP key for the curve: a key pair when d is given, a public key otherwise.
Result<Pkey> ec_pkey(const Curve &curve, const BIGNUM *d, const Uncompressed &pub) {
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group_name, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()) ||
      (d && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d)))
    return openssl_fail("cannot build key parameters");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, curve.key_type, nullptr));
  EVP_PKEY *raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return openssl_fail(std::string("cannot load a ") + curve.group_name + " key");
  return Pkey(raw);
}

// An EVP_MD_CTX set up to sign or verify SM2 over SM3 with Z_A computed over kSm2DefaultId.
Result<MdCtx> sm2_md_ctx(EVP_PKEY *pkey, const PkeyCtx &pctx, bool signing) {
  MdCtx md(EVP_MD_CTX_new());
  if (!md || !pctx) return openssl_fail("cannot create an SM2 context");
  if (EVP_PKEY_CTX_set1_id(pctx.get(), kSm2DefaultId.data(), static_cast<int>(kSm2DefaultId.size())) <= 0)
    return openssl_fail("cannot set the SM2 user ID");
  // The MD context borrows pctx: the caller keeps it alive longer than md.
  EVP_MD_CTX_set_pkey_ctx(md.get(), pctx.get());
  int ok = signing ? EVP_DigestSignInit(md.get(), nullptr, EVP_sm3(), nullptr, pkey)
                   : EVP_DigestVerifyInit(md.get(), nullptr, EVP_sm3(), nullptr, pkey);
  if (ok != 1) return openssl_fail("cannot start an SM2 signature");
  return md;
}

// DER ECDSA-Sig-Value -> r || s, each 32 bytes; s replaced by n - s when above n/2 if low_s.
Result<std::vector<std::uint8_t>> der_to_raw(const std::vector<std::uint8_t> &der, const EC_GROUP *group, bool low_s) {
  const unsigned char *p = der.data();
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return openssl_fail("cannot decode a signature");
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bignum flipped;
  if (low_s) {
    const BIGNUM *n = EC_GROUP_get0_order(group);
    Bignum half(BN_new());
    if (!half || !BN_rshift1(half.get(), n)) return openssl_fail("cannot compute n/2");
    if (BN_cmp(s, half.get()) > 0) {
      flipped.reset(BN_new());
      if (!flipped || !BN_sub(flipped.get(), n, s)) return openssl_fail("cannot normalize s");
      s = flipped.get();
    }
  }
  std::vector<std::uint8_t> out(64);
  if (BN_bn2binpad(r, out.data(), 32) != 32 || BN_bn2binpad(s, out.data() + 32, 32) != 32)
    return openssl_fail("cannot encode a signature");
  return out;
}

// r || s -> DER ECDSA-Sig-Value.
Result<std::vector<std::uint8_t>> raw_to_der(std::span<const std::uint8_t> raw) {
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM *r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM *s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return openssl_fail("cannot build a signature");
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return openssl_fail("cannot encode a signature");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char *p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return openssl_fail("cannot encode a signature");
  return der;
}

Status check_digest(KeyAlgorithm algorithm, std::span<const std::uint8_t> digest, const char *what) {
  if (algorithm != KeyAlgorithm::Sm2 && digest.size() != 32)
    return fail(std::string(what) + ": a " + std::string(name(algorithm)) + " digest must be 32 bytes, got " +
                std::to_string(digest.size()));
  return Ok{};
}

Result<std::vector<std::uint8_t>> sign_secp256k1(const SecretKey &key, std::span<const std::uint8_t> digest) {
  auto ctx = secp();
  if (!ctx) return ctx.error();
  secp256k1_ecdsa_recoverable_signature sig;
  // Null nonce function: RFC 6979. libsecp256k1 always returns the low-S form.
  if (!secp256k1_ecdsa_sign_recoverable(*ctx, &sig, digest.data(), key.bytes().data(), nullptr, nullptr))
    return fail("not a valid secp256k1 secret key: it must be in [1, n-1] where n is the curve order");
  std::vector<std::uint8_t> out(65);
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(*ctx, out.data(), &recid, &sig);
  out[64] = static_cast<std::uint8_t>(recid);
  return out;
}

Result<bool> verify_secp256k1(std::span<const std::uint8_t, 64> pub, std::span<const std::uint8_t> digest,
                              std::span<const std::uint8_t> signature) {
  auto ctx = secp();
  if (!ctx) return ctx.error();
  Uncompressed expected = with_prefix(pub);
  secp256k1_pubkey key;
  if (!secp256k1_ec_pubkey_parse(*ctx, &key, expected.data(), expected.size()))
    return fail("verify: the secp256k1 public key is not a point on the curve");
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(*ctx, &rsig, signature.data(), signature[64]))
    return false; // recovery id above 3, or r or s not below n
  secp256k1_ecdsa_signature sig;
  secp256k1_ecdsa_recoverable_signature_convert(*ctx, &sig, &rsig);
  // secp256k1_ecdsa_verify refuses a high-S signature, as chains do.
  if (!secp256k1_ecdsa_verify(*ctx, &sig, digest.data(), &key)) return false;
  secp256k1_pubkey recovered;
  if (!secp256k1_ecdsa_recover(*ctx, &recovered, &rsig, digest.data())) return false;
  Uncompressed got{};
  std::size_t len = got.size();
  secp256k1_ec_pubkey_serialize(*ctx, got.data(), &len, &recovered, SECP256K1_EC_UNCOMPRESSED);
  return got == expected;
}

Result<std::vector<std::uint8_t>> sign_ec(KeyAlgorithm algorithm, const SecretKey &key,
                                          std::span<const std::uint8_t> digest, const PublicKey *known) {
  Curve curve = curve_of(algorithm);
  auto group = group_of(curve);
  if (!group) return group.error();
  auto d = ec_scalar(algorithm, group->get(), key);
  if (!d) return d.error();
  auto pub = known ? Result<Uncompressed>(with_prefix(*known)) : ec_public(group->get(), d->get());
  if (!pub) return pub.error();
  auto pkey = ec_pkey(curve, d->get(), *pub);
  if (!pkey) return pkey.error();

  std::vector<std::uint8_t> der;
  std::size_t len = 0;
  PkeyCtx pctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey->get(), nullptr));
  if (algorithm == KeyAlgorithm::Sm2) {
    auto md = sm2_md_ctx(pkey->get(), pctx, true);
    if (!md) return md.error();
    if (EVP_DigestSign(md->get(), nullptr, &len, digest.data(), digest.size()) != 1)
      return openssl_fail("SM2 signing failed");
    der.resize(len);
    if (EVP_DigestSign(md->get(), der.data(), &len, digest.data(), digest.size()) != 1)
      return openssl_fail("SM2 signing failed");
  } else {
    // No message digest is set on the context, so OpenSSL signs the 32 bytes as the hash itself.
    if (!pctx || EVP_PKEY_sign_init(pctx.get()) != 1 ||
        EVP_PKEY_sign(pctx.get(), nullptr, &len, digest.data(), digest.size()) != 1)
      return openssl_fail("P-256 signing failed");
    der.resize(len);
    if (EVP_PKEY_sign(pctx.get(), der.data(), &len, digest.data(), digest.size()) != 1)
      return openssl_fail("P-256 signing failed");
  }
  der.resize(len);
  // Only ECDSA has the (r, n - s) twin that Fabric refuses; an SM2 s is what it is.
  return der_to_raw(der, group->get(), algorithm == KeyAlgorithm::P256);
}

Result<bool> verify_ec(KeyAlgorithm algorithm, std::span<const std::uint8_t, 64> pub,
                       std::span<const std::uint8_t> digest, std::span<const std::uint8_t> signature) {
  Curve curve = curve_of(algorithm);
  auto group = group_of(curve);
  if (!group) return group.error();
  Uncompressed point = with_prefix(pub);
  Point p(EC_POINT_new(group->get()));
  if (!p || !EC_POINT_oct2point(group->get(), p.get(), point.data(), point.size(), nullptr)) {
    ERR_clear_error();
    return fail("verify: the " + std::string(name(algorithm)) + " public key is not a point on the curve");
  }
  if (algorithm == KeyAlgorithm::P256) {
    Bignum s(BN_bin2bn(signature.data() + 32, 32, nullptr));
    Bignum half(BN_new());
    if (!s || !half || !BN_rshift1(half.get(), EC_GROUP_get0_order(group->get())))
      return openssl_fail("cannot compute n/2");
    if (BN_cmp(s.get(), half.get()) > 0) return false;
  }
  auto der = raw_to_der(signature);
  if (!der) return der.error();
  auto pkey = ec_pkey(curve, nullptr, point);
  if (!pkey) return pkey.error();
  PkeyCtx pctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey->get(), nullptr));
  int ok = 0;
  if (algorithm == KeyAlgorithm::Sm2) {
    auto md = sm2_md_ctx(pkey->get(), pctx, false);
    if (!md) return md.error();
    ok = EVP_DigestVerify(md->get(), der->data(), der->size(), digest.data(), digest.size());
  } else {
    if (!pctx || EVP_PKEY_verify_init(pctx.get()) != 1) return openssl_fail("cannot start a P-256 verification");
    ok = EVP_PKEY_verify(pctx.get(), der->data(), der->size(), digest.data(), digest.size());
  }
  // A bad signature leaves reasons in OpenSSL's queue; they are not errors here.
  ERR_clear_error();
  return ok == 1;
}

} // namespace

std::string_view name(KeyAlgorithm algorithm) {
  switch (algorithm) {
  case KeyAlgorithm::Secp256k1:
    return "secp256k1";
  case KeyAlgorithm::Sm2:
    return "sm2";
  case KeyAlgorithm::P256:
    return "p256";
  }
  return "unknown";
}

std::optional<KeyAlgorithm> parse_algorithm(std::string_view text) {
  for (KeyAlgorithm a : {KeyAlgorithm::Secp256k1, KeyAlgorithm::Sm2, KeyAlgorithm::P256})
    if (text == name(a)) return a;
  return std::nullopt;
}

SecretKey::SecretKey(std::span<const std::uint8_t, 32> bytes) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

SecretKey::SecretKey(SecretKey &&other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

SecretKey &SecretKey::operator=(SecretKey &&other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

SecretKey::~SecretKey() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

Result<SecretKey> generate_key(KeyAlgorithm algorithm) {
  std::array<std::uint8_t, 32> buf{};
  // Each curve's order is within 2^-32 of 2^256, so a retry is rare and a hundred of them never happen.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (RAND_priv_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
      OPENSSL_cleanse(buf.data(), buf.size());
      return openssl_fail("the system random number generator failed");
    }
    SecretKey key(buf);
    OPENSSL_cleanse(buf.data(), buf.size());
    if (check_key(algorithm, key)) return key;
  }
  return fail("cannot generate a " + std::string(name(algorithm)) + " key: no valid scalar in 100 draws");
}

Result<SecretKey> parse_secret_hex(KeyAlgorithm algorithm, std::string_view hex) {
  hex = text::strip_0x(hex);
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) { return text::hex_value(c) >= 0; }))
    return fail("a " + std::string(name(algorithm)) +
                " secret key must be 64 hex characters (32 bytes), optionally prefixed with 0x");
  std::array<std::uint8_t, 32> buf{};
  for (std::size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<std::uint8_t>(text::hex_value(hex[2 * i]) * 16 + text::hex_value(hex[2 * i + 1]));
  SecretKey key(buf);
  OPENSSL_cleanse(buf.data(), buf.size());
  if (auto s = check_key(algorithm, key); !s) return s.error();
  return key;
}

Result<PublicKey> public_key(KeyAlgorithm algorithm, const SecretKey &key) {
  Uncompressed full{};
  if (algorithm == KeyAlgorithm::Secp256k1) {
    auto ctx = secp();
    if (!ctx) return ctx.error();
    secp256k1_pubkey pub;
    std::size_t len = full.size();
    if (!secp256k1_ec_pubkey_create(*ctx, &pub, key.bytes().data()))
      return fail("not a valid secp256k1 secret key: it must be in [1, n-1] where n is the curve order");
    secp256k1_ec_pubkey_serialize(*ctx, full.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  } else {
    auto group = group_of(curve_of(algorithm));
    if (!group) return group.error();
    auto d = ec_scalar(algorithm, group->get(), key);
    if (!d) return d.error();
    auto pub = ec_public(group->get(), d->get());
    if (!pub) return pub.error();
    full = *pub;
  }
  PublicKey out{};
  std::copy(full.begin() + 1, full.end(), out.begin());
  return out;
}

Result<std::vector<std::uint8_t>> sign(KeyAlgorithm algorithm, const SecretKey &key,
                                       std::span<const std::uint8_t> digest, const PublicKey *pub) {
  if (auto s = check_digest(algorithm, digest, "sign"); !s) return s.error();
  if (algorithm == KeyAlgorithm::Secp256k1) return sign_secp256k1(key, digest); // needs no public key
  return sign_ec(algorithm, key, digest, pub);
}

Result<bool> verify(KeyAlgorithm algorithm, std::span<const std::uint8_t, 64> pub, std::span<const std::uint8_t> digest,
                    std::span<const std::uint8_t> signature) {
  if (auto s = check_digest(algorithm, digest, "verify"); !s) return s.error();
  std::size_t want = algorithm == KeyAlgorithm::Secp256k1 ? 65 : 64;
  if (signature.size() != want)
    return fail("verify: a " + std::string(name(algorithm)) + " signature must be " + std::to_string(want) +
                " bytes, got " + std::to_string(signature.size()));
  if (algorithm == KeyAlgorithm::Secp256k1) return verify_secp256k1(pub, digest, signature);
  return verify_ec(algorithm, pub, digest, signature);
}

} // namespace weft::accounts
