#pragma once

// The atls_negotiation TLS extension (docs/wire-profile.md §1.7): the offer in the
// ClientHello and the answer in EncryptedExtensions. Pure codecs; the
// OpenSSL custom-extension callbacks live in the engine.
//
//   struct {
//     uint8 modes;               // bits 0-1 delivery mode, 2-3 push, 4 label
//     AttestationScheme server_attester_schemes<0..2^16-1>;
//     AttestationScheme client_attester_schemes<0..2^16-1>;
//   } AtlsOffer;
//
//   struct {
//     uint8 mode;
//     AttestationScheme server_scheme<0..2^16-1>;   // zero or one scheme; empty = no server
//     attestation uint8 wants_client_attestation;                // 0 or 1
//   } AtlsAnswer;

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/tls/attestation_scheme.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace atls::tls {

// Mode bits of AtlsOffer::modes. AtlsAnswer::mode holds exactly one of
// the two delivery modes, plus any of the flags below that were offered.
inline constexpr std::uint8_t kModePostHandshake = 0x01;
inline constexpr std::uint8_t kModeIntraHandshake = 0x02;
inline constexpr std::uint8_t kDeliveryModes = kModePostHandshake | kModeIntraHandshake;
// docs/wire-profile.md §1.9, bit 2: offer = the client accepts a pushed
// server authenticator; answer = the server pushes one.
inline constexpr std::uint8_t kModePush = 0x04;
// §1.9, bit 3: offer = the client can push its own authenticator; answer =
// the server accepts one. atls never sets it (docs/protocol-choices.md).
inline constexpr std::uint8_t kModeClientPush = 0x08;
// Bit 4 (docs/protocol-choices.md): offer = the client can bind with
// "EXPORTER-cmw-attestation"; answer = both use it.
inline constexpr std::uint8_t kModeCmwLabel = 0x10;
inline constexpr std::uint8_t kAnswerFlags = kModePush | kModeClientPush | kModeCmwLabel;

// AtlsOffer is the client's offer: the modes it supports and, in order of
// preference, the schemes it accepts for the server as attester and the
// schemes it can produce as attester itself.
struct AtlsOffer {
  std::uint8_t modes = kModePostHandshake;
  std::vector<AttestationScheme> server_attester_schemes;
  std::vector<AttestationScheme> client_attester_schemes;

  bool operator==(const AtlsOffer&) const = default;
};

// AtlsAnswer is the server's answer: the chosen mode, the scheme the server
// will attest with (nullopt: the server will not attest), and whether it
// will ask the client to attest.
struct AtlsAnswer {
  std::uint8_t mode = kModePostHandshake;
  std::optional<AttestationScheme> server_scheme;
  bool wants_client_attestation = false;

  bool operator==(const AtlsAnswer&) const = default;
};

// encode_offer returns the extension_data of an offer. Fails with
// InvalidArgument when a scheme list does not fit its 16-bit length or a
// scheme is invalid.
Result<Bytes> encode_offer(const AtlsOffer& offer);

// parse_offer parses an offer's extension_data. A short input, a scheme
// vector that does not hold whole schemes, an unknown mechanism or encoding,
// or trailing bytes fail with NegotiationMalformed. The mode bits are not
// interpreted (unknown bits are kept; modes may be 0): that is the engine's
// choice.
Result<AtlsOffer> parse_offer(ByteView extension_data);

// encode_answer returns the extension_data of an answer. Fails with
// InvalidArgument when |mode| does not hold exactly one delivery mode, holds
// a bit outside kDeliveryModes | kAnswerFlags, or the scheme is invalid.
Result<Bytes> encode_answer(const AtlsAnswer& answer);

// parse_answer parses an answer's extension_data. Fails with
// NegotiationMalformed on a short input, trailing bytes, a mode without
// exactly one delivery mode or with an unknown bit, a server_scheme vector holding more than one
// scheme or a partial one, or wants_client_attestation other than 0 or 1. Whether the mode, its
// flags and the scheme were offered is the engine's check.
Result<AtlsAnswer> parse_answer(ByteView extension_data);

// choose_scheme returns the first scheme of |theirs| (the offerer's order of
// preference, as the ClientHello lists them) that also appears in |ours|,
// or nullopt when they share none (the caller then fails with
// NoCommonScheme or declines to attest).
std::optional<AttestationScheme> choose_scheme(std::span<const AttestationScheme> ours,
                                               std::span<const AttestationScheme> theirs);

}  // namespace atls::tls
