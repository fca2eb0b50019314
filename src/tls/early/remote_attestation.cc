#include "src/tls/early/remote_attestation.h"

#include "src/core/byte_reader.h"
#include "src/tls/extensions.h"

#include <utility>

namespace atls::tls::early {
namespace {

constexpr ErrorCode kMalformed = ErrorCode::EarlyAttestationMalformed;

Result<void> no_trailing(const ByteReader& r, const char* what) {
  if (!r.empty()) {
    return Error{kMalformed, std::string("trailing bytes after ") + what};
  }
  return ok();
}

}  // namespace

Result<Bytes> encode_offer(const RemoteAttestationOffer& offer) {
  ATLS_ASSIGN_OR_RETURN(Bytes server, encode_attestation_schemes(offer.server_attester_schemes));
  ATLS_ASSIGN_OR_RETURN(Bytes client, encode_attestation_schemes(offer.client_attester_schemes));
  server.insert(server.end(), client.begin(), client.end());
  return server;
}

Result<RemoteAttestationOffer> parse_offer(ByteView extension_data) {
  ByteReader r(extension_data);
  RemoteAttestationOffer offer;
  ATLS_ASSIGN_OR_RETURN(offer.server_attester_schemes, parse_attestation_schemes(r, kMalformed));
  ATLS_ASSIGN_OR_RETURN(offer.client_attester_schemes, parse_attestation_schemes(r, kMalformed));
  ATLS_TRY(no_trailing(r, "client_attester_schemes"));
  return offer;
}

Result<Bytes> encode_chosen_scheme(const AttestationScheme& scheme) {
  ByteWriter w;
  ATLS_TRY(encode_attestation_scheme(w, scheme));
  return w.take();
}

Result<AttestationScheme> parse_chosen_scheme(ByteView extension_data) {
  ByteReader r(extension_data);
  ATLS_ASSIGN_OR_RETURN(AttestationScheme scheme, parse_attestation_scheme(r, kMalformed));
  ATLS_TRY(no_trailing(r, "the chosen scheme"));
  return scheme;
}

Result<Bytes> encode_cmw_payload(ByteView cmw) {
  if (cmw.empty()) {
    return Error{ErrorCode::InvalidArgument, "cmw_payload<1..2^24-1> cannot be empty"};
  }
  ByteWriter w;
  if (!w.vector24(cmw)) {
    return Error{ErrorCode::InvalidArgument, "CMW over 2^24-1 bytes"};
  }
  return w.take();
}

Result<ByteView> parse_cmw_payload(ByteView extension_data) {
  ByteReader r(extension_data);
  ATLS_RELABEL(const ByteView cmw, r.vector24(), kMalformed, "cmw_payload");
  ATLS_TRY(no_trailing(r, "cmw_payload"));
  if (cmw.empty()) {
    return Error{kMalformed, "empty cmw_payload (the draft's range is <1..2^24-1>)"};
  }
  return cmw;
}

}  // namespace atls::tls::early
