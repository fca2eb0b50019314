#pragma once

// Controllable plug-ins for tests of the relying-party path and of plug-in
// registration: an Attester whose Evidence is the request's nonce, a
// Verifier that checks (or, on request, ignores) that nonce and reports
// what the test tells it to, and an Appraiser that assigns a chosen
// hardware claim. Media type kFakeEvidenceType.

#include <atls/attester.h>
#include <atls/verifier.h>

#include "src/attestation/evidence_cmw.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atls::test {

inline constexpr std::string_view kFakeEvidenceType = "application/vnd.atls.test-fake-evidence";

// FakeAttester returns Evidence of |media_type| whose one record is the nonce.
class FakeAttester final : public Attester {
 public:
  explicit FakeAttester(std::string media_type = std::string(kFakeEvidenceType))
      : m_media_type(std::move(media_type)) {}
  std::string_view name() const override { return "fake"; }
  std::string_view media_type() const override { return m_media_type; }
  Result<Evidence> attest(const AttestationRequest& request) override {
    EvidenceRecord rec;
    rec.media_type = m_media_type;
    rec.value = request.nonce;
    rec.ind = kIndEvidence;
    return evidence_from_records({std::move(rec)});
  }

 private:
  std::string m_media_type;
};

// FakeVerifierOptions say what FakeVerifier reports.
struct FakeVerifierOptions {
  std::vector<std::string> media_types = {std::string(kFakeEvidenceType)};
  // Compare the record with the expected nonce and report it bound; false:
  // ignore the nonce (a broken Verifier).
  bool bind_nonce = true;
  // Fail every verification with this code (Ok: do not).
  ErrorCode fail = ErrorCode::Ok;
  std::optional<std::int64_t> issued_at;
  std::string machine_id = "fake:01";
};

class FakeVerifier final : public Verifier {
 public:
  explicit FakeVerifier(FakeVerifierOptions options = {}) : m_options(std::move(options)) {}
  std::string_view name() const override { return "fake"; }
  std::vector<std::string> accepted_types() const override { return m_options.media_types; }
  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    if (m_options.fail != ErrorCode::Ok) {
      return Error{m_options.fail, "fake verifier told to fail"};
    }
    EvidenceClaims c;
    c.nonce = evidence.records.front().value;
    if (m_options.bind_nonce && ctx.expected_nonce) {
      if (c.nonce != *ctx.expected_nonce) {
        return Error{ErrorCode::NonceMismatch, "fake evidence for another nonce"};
      }
      c.nonce_verified = true;
    }
    c.issued_at = m_options.issued_at;
    c.machine_id = m_options.machine_id;
    c.claims = {{"fake", true}};
    return c;
  }
  Result<void> check_trust_section(const nlohmann::json&) const override { return ok(); }

 private:
  FakeVerifierOptions m_options;
};

// FakeAppraiser assigns |hardware| to the hardware claim of one submodule
// ("fake"), with |finding| when it is below affirming.
class FakeAppraiser final : public Appraiser {
 public:
  explicit FakeAppraiser(std::int8_t hardware = 2, Finding finding = {},
                         std::vector<std::string> media_types = {std::string(kFakeEvidenceType)})
      : m_hardware(hardware),
        m_finding(std::move(finding)),
        m_media_types(std::move(media_types)) {}
  std::string_view name() const override { return "fake"; }
  std::vector<std::string> accepted_types() const override { return m_media_types; }
  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence&,
                                                const nlohmann::json&) const override {
    SubmodAppraisal s;
    s.name = "fake";
    s.trust_vector.claims[TrustVector::kHardware] = m_hardware;
    if (m_finding.code != ErrorCode::Ok) {
      s.findings.push_back(m_finding);
    }
    return std::vector<SubmodAppraisal>{std::move(s)};
  }
  Result<void> check_reference_section(const nlohmann::json&) const override { return ok(); }

 private:
  std::int8_t m_hardware;
  Finding m_finding;
  std::vector<std::string> m_media_types;
};

}  // namespace atls::test
