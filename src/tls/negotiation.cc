#include "src/tls/negotiation.h"

#include "src/core/byte_reader.h"

#include <algorithm>
#include <utility>

namespace atls::tls {
namespace {

constexpr ErrorCode kBad = ErrorCode::NegotiationMalformed;

// valid_answer_mode: exactly one delivery mode, and only known flags.
bool valid_answer_mode(std::uint8_t mode) {
  const std::uint8_t delivery = mode & kDeliveryModes;
  return (delivery == kModePostHandshake || delivery == kModeIntraHandshake) &&
         (mode & ~(kDeliveryModes | kAnswerFlags)) == 0;
}

Result<void> append_schemes(ByteWriter& w, std::span<const AttestationScheme> schemes) {
  ATLS_ASSIGN_OR_RETURN(const Bytes list, encode_attestation_schemes(schemes));
  w.bytes(list);
  return ok();
}

}  // namespace

Result<Bytes> encode_offer(const AtlsOffer& offer) {
  ByteWriter w;
  w.u8(offer.modes);
  ATLS_TRY(append_schemes(w, offer.server_attester_schemes));
  ATLS_TRY(append_schemes(w, offer.client_attester_schemes));
  return w.take();
}

Result<AtlsOffer> parse_offer(ByteView extension_data) {
  ByteReader r(extension_data);
  auto modes = r.u8();
  if (!modes) {
    return Error{kBad, "empty atls_negotiation offer"};
  }
  AtlsOffer offer;
  offer.modes = *modes;
  ATLS_ASSIGN_OR_RETURN(offer.server_attester_schemes, parse_attestation_schemes(r, kBad));
  ATLS_ASSIGN_OR_RETURN(offer.client_attester_schemes, parse_attestation_schemes(r, kBad));
  if (!r.empty()) {
    return Error{kBad, "trailing bytes in the offer"};
  }
  return offer;
}

Result<Bytes> encode_answer(const AtlsAnswer& answer) {
  if (!valid_answer_mode(answer.mode)) {
    return Error{ErrorCode::InvalidArgument,
                 "answer mode must be one delivery mode and known flags"};
  }
  ByteWriter w;
  w.u8(answer.mode);
  if (answer.server_scheme) {
    ATLS_TRY(append_schemes(w, std::span<const AttestationScheme>(&*answer.server_scheme, 1)));
  } else {
    w.u16(0);
  }
  w.u8(answer.wants_client_attestation ? 1 : 0);
  return w.take();
}

Result<AtlsAnswer> parse_answer(ByteView extension_data) {
  ByteReader r(extension_data);
  auto mode = r.u8();
  if (!mode) {
    return Error{kBad, "empty atls_negotiation answer"};
  }
  if (!valid_answer_mode(*mode)) {
    return Error{kBad, "answer mode " + std::to_string(*mode) + " is not one mode and known flags"};
  }
  AtlsAnswer answer;
  answer.mode = *mode;
  ATLS_ASSIGN_OR_RETURN(std::vector<AttestationScheme> schemes, parse_attestation_schemes(r, kBad));
  if (schemes.size() > 1) {
    return Error{kBad, "answer names more than one server scheme"};
  }
  if (!schemes.empty()) {
    answer.server_scheme = std::move(schemes.front());
  }
  auto wants = r.u8();
  if (!wants) {
    return Error{kBad, "answer lacks wants_client_attestation"};
  }
  if (*wants > 1) {
    return Error{kBad, "wants_client_attestation must be 0 or 1"};
  }
  answer.wants_client_attestation = *wants == 1;
  if (!r.empty()) {
    return Error{kBad, "trailing bytes in the answer"};
  }
  return answer;
}

std::optional<AttestationScheme> choose_scheme(std::span<const AttestationScheme> ours,
                                               std::span<const AttestationScheme> theirs) {
  for (const AttestationScheme& s : theirs) {
    if (std::find(ours.begin(), ours.end(), s) != ours.end()) {
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace atls::tls
