#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/cose/cose.h"
#include "src/formats/eat/eat.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/software/software.h"

namespace atls {
namespace {

constexpr std::int64_t kCoseAlgSha256 = -16;

class SoftwareAttester final : public Attester {
 public:
  SoftwareAttester(ossl::UniquePtr<EVP_PKEY> key, Bytes ueid, std::vector<EatMeasurement> m,
                   const Clock* clock)
      : m_key(std::move(key)),
        m_ueid(std::move(ueid)),
        m_measurements(std::move(m)),
        m_clock(clock) {
    auto spki = ossl::spki_der(m_key.get());
    if (spki) {
      m_kid = *ossl::digest(ossl::HashAlg::Sha256, *spki);
    }
  }

  std::string_view name() const override { return "software"; }
  std::string_view media_type() const override { return kMediaTypeEatCwt; }

  Result<Evidence> attest(const AttestationRequest& request) override {
    //= https://www.rfc-editor.org/rfc/rfc9711#section-4.1
    //# nonce-type = bstr .size (8..64)
    if (request.nonce.size() < 8 || request.nonce.size() > 64) {
      return Error{ErrorCode::InvalidArgument, "nonce must be 8..64 bytes"};
    }
    EatClaims claims;
    claims.nonces.push_back(request.nonce);
    claims.ueid = m_ueid;
    claims.profile = std::string(kSoftwareEatProfile);
    claims.swname = "atls-software-attester";
    claims.iat = m_clock->now();
    claims.measurements = m_measurements;
    const Bytes payload = cbor_encode(encode_eat_claims(claims));
    CoseSignOptions opts;
    opts.cwt_tagged = true;
    opts.protected_extra.emplace_back(CborValue::uint(4), CborValue::bytes(m_kid));
    ATLS_ASSIGN_OR_RETURN(Bytes token, sign_cose_sign1(m_key.get(), payload, opts));
    EvidenceRecord rec;
    rec.media_type = std::string(kMediaTypeEatCwt);
    rec.value = std::move(token);
    rec.ind = kIndEvidence;
    return evidence_from_records({std::move(rec)});
  }

  EVP_PKEY* key() const { return m_key.get(); }

 private:
  ossl::UniquePtr<EVP_PKEY> m_key;
  Bytes m_ueid;
  Bytes m_kid;
  std::vector<EatMeasurement> m_measurements;
  const Clock* m_clock;
};

SystemClock g_system_clock;  // stateless; used when no clock is injected

}  // namespace

Result<std::unique_ptr<Attester>> make_software_attester(SoftwareAttesterConfig config) {
  ossl::UniquePtr<EVP_PKEY> key;
  if (config.signing_key_pem.empty()) {
    ATLS_ASSIGN_OR_RETURN(key, ossl::generate_key(ossl::KeyType::EcP256));
  } else {
    ATLS_ASSIGN_OR_RETURN(key, ossl::parse_private_key(config.signing_key_pem));
    if (ossl::key_type(key.get()) != ossl::KeyType::EcP256) {
      return Error{ErrorCode::KeyInvalid, "the software attester signs with a P-256 key (ES256)"};
    }
  }
  // ueid type RAND (0x01) with 256 bits derived from the machine id file.
  ATLS_ASSIGN_OR_RETURN(const Bytes machine_id, read_file_bytes(config.machine_id_file));
  ATLS_ASSIGN_OR_RETURN(const Bytes h, ossl::digest(ossl::HashAlg::Sha256, machine_id));
  Bytes ueid{0x01};
  ueid.insert(ueid.end(), h.begin(), h.end());

  if (config.measured_files.empty()) {
    config.measured_files.push_back("/proc/self/exe");
  }
  std::vector<EatMeasurement> measurements;
  for (const auto& f : config.measured_files) {
    ATLS_ASSIGN_OR_RETURN(Bytes digest, ossl::digest_file(ossl::HashAlg::Sha256, f));
    const std::string name = f == "/proc/self/exe" ? "executable" : f;
    EatMeasurement m;
    m.content_type = kSoftwareMeasurementContentType;
    m.value =
        cbor_encode(CborValue::array({CborValue::text(name), CborValue::integer(kCoseAlgSha256),
                                      CborValue::bytes(std::move(digest))}));
    measurements.push_back(std::move(m));
  }
  const Clock* clock = config.clock != nullptr ? config.clock : &g_system_clock;
  return std::unique_ptr<Attester>(std::make_unique<SoftwareAttester>(
      std::move(key), std::move(ueid), std::move(measurements), clock));
}

Result<std::string> software_attester_public_key(const Attester& attester) {
  const auto* s = dynamic_cast<const SoftwareAttester*>(&attester);
  if (s == nullptr) {
    return Error{ErrorCode::InvalidArgument, "not a software attester"};
  }
  return ossl::public_key_pem(s->key());
}

}  // namespace atls
