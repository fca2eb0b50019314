#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"

#include <exception>
#include <map>
#include <mutex>
#include <optional>

namespace atls {

Result<Bytes> passport_evidence_nonce(ByteView verifier_nonce, ByteView key_spki) {
  if (verifier_nonce.empty() || key_spki.empty()) {
    return Error{ErrorCode::InvalidArgument, "passport nonce inputs must not be empty"};
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes key_hash, ossl::digest(ossl::HashAlg::Sha256, key_spki));
  ATLS_ASSIGN_OR_RETURN(auto h, ossl::Hasher::create(ossl::HashAlg::Sha256));
  ATLS_TRY(h.update(verifier_nonce));
  ATLS_TRY(h.update(key_hash));
  return h.finish();
}

namespace {

struct CachedEar {
  std::string jwt;
  std::int64_t exp = 0;
};

class PassportAttester final : public Attester {
 public:
  PassportAttester(PassportAttesterConfig config, ossl::UniquePtr<EVP_PKEY> key,
                   std::shared_ptr<const Registry> registry)
      : m_config(std::move(config)), m_key(std::move(key)), m_registry(std::move(registry)) {}

  std::string_view name() const override { return "passport"; }
  std::string_view media_type() const override { return kMediaTypeEar; }

  Result<Evidence> attest(const AttestationRequest& request) override {
    if (request.key_spki.empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "a passport needs the key it is bound to (AttestationRequest::key_spki)"};
    }
    const Clock& clock = m_config.clock != nullptr ? *m_config.clock : m_system_clock;
    if (auto cached = lookup(request.key_spki, clock)) {
      return wrap(*cached);
    }
    // One issuance at a time, so that connections racing for the same key
    // share one EAR; the cache itself stays readable meanwhile.
    std::lock_guard<std::mutex> issuing(m_issue_mutex);
    if (auto cached = lookup(request.key_spki, clock)) {
      return wrap(*cached);
    }
    ATLS_ASSIGN_OR_RETURN(CachedEar fresh, issue(request.key_spki, clock));
    auto evidence = wrap(fresh.jwt);
    if (evidence) {
      store(request.key_spki, std::move(fresh), clock.now());
    }
    return evidence;
  }

 private:
  // lookup returns the cached EAR for |spki| unless it is due for renewal.
  std::optional<std::string> lookup(const Bytes& spki, const Clock& clock) {
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_cache.find(spki);
    if (it != m_cache.end() && clock.now() + m_config.refresh_margin < it->second.exp) {
      return it->second.jwt;
    }
    return std::nullopt;
  }

  // issue runs Evidence -> in-process Verifier -> EAR for |spki|.
  Result<CachedEar> issue(const Bytes& spki, const Clock& clock) {
    // Called with m_issue_mutex held, so the Rng is used by one thread at a time.
    Bytes verifier_nonce(kPassportVerifierNonceSize, 0);
    (m_config.rng != nullptr ? *m_config.rng : m_system_rng).fill(verifier_nonce);
    ATLS_ASSIGN_OR_RETURN(const Bytes nonce, passport_evidence_nonce(verifier_nonce, spki));
    AttestationRequest inner;
    inner.nonce = nonce;
    inner.key_spki = spki;
    Result<Evidence> evidence = Error{ErrorCode::Internal, "evidence attester did not run"};
    try {
      evidence = m_config.evidence_attester->attest(inner);
    } catch (const std::exception& e) {
      return Error{ErrorCode::Internal,
                   std::string(m_config.evidence_attester->name()) + " attester: " + e.what()};
    }
    if (!evidence) {
      return std::move(evidence).error();
    }

    // The in-process Verifier appraises and signs whatever the tier: the
    // relying party judges the EAR against its own policy.
    const internal::RelyingParty verifier(*m_registry, clock, m_config.policy);
    auto expect = internal::Expectation::background_check(nonce);
    expect.context.trust_anchors = m_config.trust_anchors;
    expect.context.attested_key_spki = spki;  // named in the EAR
    ATLS_ASSIGN_OR_RETURN(const internal::Appraisal appraisal,
                          verifier.appraise(*evidence, std::move(expect), m_key.get()));
    const AttestationResult& result = appraisal.result;
    if (result.ear().empty()) {
      return Error{ErrorCode::AttesterFailure, "the in-process Verifier signed no EAR"};
    }
    return CachedEar{result.ear(), result.valid_until()};
  }

  void store(const Bytes& spki, CachedEar ear, std::int64_t now) {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (auto it = m_cache.begin(); it != m_cache.end();) {
      it = it->second.exp <= now ? m_cache.erase(it) : std::next(it);
    }
    m_cache.erase(spki);
    while (!m_cache.empty() && m_cache.size() >= m_config.max_cache_entries) {
      auto soonest = m_cache.begin();
      for (auto it = m_cache.begin(); it != m_cache.end(); ++it) {
        if (it->second.exp < soonest->second.exp) {
          soonest = it;
        }
      }
      m_cache.erase(soonest);
    }
    if (m_config.max_cache_entries > 0) {
      m_cache.emplace(spki, std::move(ear));
    }
  }

  static Result<Evidence> wrap(const std::string& jwt) {
    EvidenceRecord rec;
    rec.media_type = std::string(kMediaTypeEar);
    rec.value.assign(jwt.begin(), jwt.end());
    rec.ind = kIndAttestationResult;
    std::vector<EvidenceRecord> records;
    records.push_back(std::move(rec));
    return evidence_from_records(std::move(records));
  }

  PassportAttesterConfig m_config;
  ossl::UniquePtr<EVP_PKEY> m_key;
  std::shared_ptr<const Registry> m_registry;
  SystemClock m_system_clock;
  SystemRng m_system_rng;
  std::mutex m_issue_mutex;  // held while an EAR is issued
  std::mutex m_mutex;        // guards m_cache
  std::map<Bytes, CachedEar> m_cache;
};

}  // namespace

Result<std::unique_ptr<Attester>> make_passport_attester(PassportAttesterConfig config) {
  if (!config.evidence_attester) {
    return Error{ErrorCode::InvalidArgument, "the passport attester needs an evidence attester"};
  }
  if (config.refresh_margin < 0) {
    return Error{ErrorCode::InvalidArgument, "refresh_margin must not be negative"};
  }
  ossl::UniquePtr<EVP_PKEY> key;
  if (config.signing_key != nullptr) {
    if (::EVP_PKEY_up_ref(config.signing_key) != 1) {
      return Error{ErrorCode::CryptoFailure, "EVP_PKEY_up_ref: " + ossl::drain_errors()};
    }
    key.reset(config.signing_key);
    config.signing_key = nullptr;
  } else {
    Bytes pem = config.signing_key_pem;
    if (pem.empty() && !config.policy.ear.signing_key.empty()) {
      ATLS_ASSIGN_OR_RETURN(pem,
                            load_reference(config.policy.base_dir, config.policy.ear.signing_key));
    }
    if (pem.empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "the passport attester needs an EAR signing key (signing_key, signing_key_pem "
                   "or the policy's ear.signing_key)"};
    }
    ATLS_ASSIGN_OR_RETURN(key, ossl::parse_private_key(pem));
  }
  std::shared_ptr<const Registry> registry = config.registry;
  if (!registry) {
    registry = std::make_shared<const Registry>(builtin_registry());
  }
  return std::unique_ptr<Attester>(
      std::make_unique<PassportAttester>(std::move(config), std::move(key), std::move(registry)));
}

}  // namespace atls
