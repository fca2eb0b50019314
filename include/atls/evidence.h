#pragma once

// Evidence and attestation requests: what an Attester produces and a
// Verifier consumes. On the wire, Evidence is always a CMW
// (draft-ietf-rats-msg-wrap); the record media type selects the plug-in.

#include <atls/bytes.h>
#include <atls/export.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace atls {

// Media types of the built-in evidence and result formats (docs/wire-profile.md §4).
inline constexpr std::string_view kMediaTypeEatCwt = "application/eat+cwt";
inline constexpr std::string_view kMediaTypeTpmQuote = "application/vnd.atls.tpm2-quote+cbor";
inline constexpr std::string_view kMediaTypeSnpReport = "application/vnd.atls.sev-snp-report";
inline constexpr std::string_view kMediaTypeTdxQuote = "application/vnd.atls.tdx-quote";
inline constexpr std::string_view kMediaTypeSgxQuote = "application/vnd.atls.sgx-quote";
inline constexpr std::string_view kMediaTypeEar = "application/eat+jwt";
inline constexpr std::string_view kMediaTypePkixCert = "application/pkix-cert";

// CMW indicator bits (draft-ietf-rats-msg-wrap "ind").
inline constexpr std::uint32_t kIndEvidence = 4;
inline constexpr std::uint32_t kIndAttestationResult = 8;

// AttestationRequest asks an Attester for Evidence. The nonce is always
// present: in attested TLS it is the binder Hash(SPKI || exporter value)
// (docs/wire-profile.md §1.5), and the Evidence must carry it.
struct AttestationRequest {
  Bytes nonce;
  // Acceptable evidence media types in order of preference; empty means
  // the Attester's default.
  std::vector<std::string> media_types;
  // DER SubjectPublicKeyInfo of the key the attestation will be bound to
  // (the TLS authenticator's leaf key). Required by passport attesters,
  // which name it in the EAR; other attesters ignore it.
  Bytes key_spki;
};

// EvidenceRecord is one record of a CMW, with the label path that leads to
// it in a collection ("" for a lone record, "vcek" or "a/b" in collections).
struct EvidenceRecord {
  std::string label;
  std::string media_type;
  Bytes value;
  std::uint32_t ind = 0;
};

// Evidence is a CMW as sent on the wire, plus its records flattened.
struct ATLS_API Evidence {
  // The serialized CMW (CBOR or JSON).
  Bytes cmw;
  // The records in depth-first order. records.front() is the primary
  // record whose media type selects the Verifier.
  std::vector<EvidenceRecord> records;

  // media_type returns the primary record's media type ("" if empty).
  std::string_view media_type() const;
  // find returns the first record of |media_type|, or nullptr.
  const EvidenceRecord* find(std::string_view media_type) const;
  // find_label returns the record with label |label|, or nullptr.
  const EvidenceRecord* find_label(std::string_view label) const;
};

}  // namespace atls
