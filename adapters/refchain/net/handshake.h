// The authenticated handshake of the validator mesh, as pure functions so tests drive it without sockets.
// The acceptor sends a random 32-byte challenge; the dialer answers with its validator index and a signature over
// SHA-256("weft-peer" || chain_id u64 || challenge || acceptor's validator address); the acceptor recovers the
// signer and takes the connection only if it is the validator at that index, then answers one byte, kAccepted.
// Binding the acceptor's address stops a validator from replaying another's answer to a third one.
#pragma once

#include "bytes.h"
#include "crypto.h"

#include <optional>
#include <string>
#include <vector>

namespace weft::refchain::net {

inline constexpr size_t kChallengeBytes = 32;
inline constexpr size_t kHelloBytes = 4 + 65; // u32 index || signature
inline constexpr uint8_t kAccepted = 1;

using Challenge = std::array<uint8_t, kChallengeBytes>;

Challenge random_challenge(); // OpenSSL RAND_bytes

Hash handshake_digest(uint64_t chain_id, const Challenge &challenge, const Address &acceptor);

// The dialer's answer to a challenge frame. Throws DecodeError if the frame is not a challenge.
Bytes answer_challenge(uint64_t chain_id, ByteView challenge_frame, const Address &acceptor, uint32_t self,
                       const SecretKey &key);

// The acceptor's check of the dialer's answer: the dialer's index, or nullopt with *why set (unknown index, our
// own index, a bad or foreign signature, a malformed answer). Never throws.
std::optional<uint32_t> check_hello(uint64_t chain_id, const Challenge &challenge, uint32_t self,
                                    const std::vector<Address> &validators, ByteView hello, std::string *why);

} // namespace weft::refchain::net
