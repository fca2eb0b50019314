#pragma once

// The attestation binder of draft-fossati-seat-early-attestation §5.1.1
// (docs/protocol-choices.md "Intra-handshake: early-attestation"):
//
//   attest_base = HKDF-Expand-Label(zeros(Hash.length), "attestation base",
//                                   Transcript-Hash(ClientHello...ServerHello), Hash.length)
//   binder      = HKDF-Expand-Label(attest_base, "attestation",
//                                   Hash(DER SPKI of the attester's leaf), Hash.length)
//
// and the transcript it is computed from. The binder is a nonce, not a
// secret: it depends only on messages sent in the clear and a public key.
// Pure: no SSL object (the message callback feeds HandshakeTranscript).

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/crypto.h"

#include <cstdint>
#include <span>
#include <vector>

namespace atls::tls::early {

// HandshakeType values this file looks at (RFC 8446 §4).
inline constexpr std::uint8_t kClientHello = 0x01;
inline constexpr std::uint8_t kServerHello = 0x02;
// RFC 8446 §4.4.1: the synthetic message that replaces ClientHello1.
inline constexpr std::uint8_t kMessageHash = 0xFE;

// is_hello_retry_request reports whether |message| (a whole ServerHello
// handshake message: type ‖ uint24 length ‖ body) carries the
// HelloRetryRequest random of RFC 8446 §4.1.3.
bool is_hello_retry_request(ByteView message);

// HandshakeTranscript keeps the handshake messages from the first
// ClientHello up to and including the ServerHello, as one endpoint saw
// them (sent or received, each a whole message: type ‖ uint24 length ‖
// body). Messages of other types, and everything after the ServerHello,
// are ignored.
class HandshakeTranscript {
 public:
  // add records one handshake message. A message too short to carry its
  // header is ignored (libssl reports only whole messages).
  void add(ByteView message);
  // complete: the ServerHello (not a HelloRetryRequest) was recorded.
  bool complete() const { return m_complete; }
  bool had_hello_retry() const { return m_hello_retry; }
  std::span<const Bytes> messages() const { return m_messages; }

  // hash returns Transcript-Hash(ClientHello...ServerHello) under |alg|
  // (RFC 8446 §4.4.1): with a HelloRetryRequest, ClientHello1 is replaced
  // by message_hash = FE 00 00 Hash.length ‖ Hash(ClientHello1). Fails
  // with Internal before complete().
  Result<Bytes> hash(ossl::HashAlg alg) const;

 private:
  std::vector<Bytes> m_messages;
  bool m_complete = false;
  bool m_hello_retry = false;
};

// attestation_binder derives the binder above from a transcript hash and
// the attester's leaf SPKI (DER). Fails with CryptoFailure.
Result<Bytes> attestation_binder(ossl::HashAlg alg, ByteView transcript_hash, ByteView spki_der);

}  // namespace atls::tls::early
