#include "src/tls/early/binder.h"

#include <algorithm>
#include <array>

namespace atls::tls::early {
namespace {

// RFC 8446 §4.1.3: SHA-256("HelloRetryRequest").
constexpr std::array<std::uint8_t, 32> kHelloRetryRandom = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

// Handshake header (type ‖ uint24 length), then ServerHello.legacy_version.
constexpr std::size_t kHeader = 4;
constexpr std::size_t kRandomOffset = kHeader + 2;

}  // namespace

bool is_hello_retry_request(ByteView message) {
  if (message.size() < kRandomOffset + kHelloRetryRandom.size() || message[0] != kServerHello) {
    return false;
  }
  return std::equal(kHelloRetryRandom.begin(), kHelloRetryRandom.end(),
                    message.begin() + kRandomOffset);
}

void HandshakeTranscript::add(ByteView message) {
  if (m_complete || message.size() < kHeader) {
    return;
  }
  const std::uint8_t type = message[0];
  if (type != kClientHello && type != kServerHello) {
    return;
  }
  m_messages.emplace_back(message.begin(), message.end());
  if (type == kServerHello) {
    if (is_hello_retry_request(message)) {
      m_hello_retry = true;
    } else {
      m_complete = true;
    }
  }
}

Result<Bytes> HandshakeTranscript::hash(ossl::HashAlg alg) const {
  if (!m_complete || m_messages.empty()) {
    return Error{ErrorCode::Internal, "the transcript has no ServerHello yet"};
  }
  Bytes input;
  std::size_t first = 0;
  if (m_hello_retry) {
    //= https://www.rfc-editor.org/rfc/rfc8446#section-4.4.1
    //# Transcript-Hash(ClientHello1, HelloRetryRequest, ... Mn) =
    //#     Hash(message_hash ||        /* Handshake type */
    //#          00 00 Hash.length  ||  /* Handshake message length (bytes) */
    //#          Hash(ClientHello1) ||  /* Hash of ClientHello1 */
    //#          HelloRetryRequest  || ... || Mn)
    ATLS_ASSIGN_OR_RETURN(const Bytes ch1, ossl::digest(alg, m_messages.front()));
    input.push_back(kMessageHash);
    input.push_back(0);
    input.push_back(0);
    input.push_back(static_cast<std::uint8_t>(ch1.size()));
    input.insert(input.end(), ch1.begin(), ch1.end());
    first = 1;
  }
  for (std::size_t i = first; i < m_messages.size(); ++i) {
    input.insert(input.end(), m_messages[i].begin(), m_messages[i].end());
  }
  return ossl::digest(alg, input);
}

Result<Bytes> attestation_binder(ossl::HashAlg alg, ByteView transcript_hash, ByteView spki_der) {
  const std::size_t n = ossl::hash_size(alg);
  const Bytes zeros(n, 0);
  //= draft-fossati-seat-early-attestation §5.1.1: attest_base =
  //= HKDF-Expand-Label(0, "attestation base", Hash(ClientHello...ServerHello),
  //= Hash.length), "0" being Hash.length zero bytes; no HKDF-Extract.
  ATLS_ASSIGN_OR_RETURN(const Bytes base, ossl::hkdf_expand_label(alg, zeros, "attestation base",
                                                                  transcript_hash, n));
  //= §5.1.1: binder = HKDF-Expand-Label(attest_base, "attestation",
  //= Hash(TLS_*_Public_Key), Hash.length), the key being the DER SPKI of the
  //= end-entity certificate.
  ATLS_ASSIGN_OR_RETURN(const Bytes key_hash, ossl::digest(alg, spki_der));
  return ossl::hkdf_expand_label(alg, base, "attestation", key_hash, n);
}

}  // namespace atls::tls::early
