#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/formats/ear/ear.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/remote/api.h"
#include "src/remote/remote_appraisal.h"

#include <cstdio>
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
    if (auto cached = lookup(request.key_spki, clock.now() + m_config.refresh_margin)) {
      return remote::ear_evidence(cached->jwt);
    }
    // One issuance at a time, so that connections racing for the same key
    // share one EAR; the cache itself stays readable meanwhile.
    std::lock_guard<std::mutex> issuing(m_issue_mutex);
    if (auto cached = lookup(request.key_spki, clock.now() + m_config.refresh_margin)) {
      return remote::ear_evidence(cached->jwt);
    }
    Result<CachedEar> fresh = issue(request.key_spki, clock);
    if (!fresh) {
      return renewal_failed(request.key_spki, clock, std::move(fresh).error());
    }
    auto evidence = remote::ear_evidence(fresh->jwt);
    if (evidence) {
      store(request.key_spki, std::move(*fresh), clock.now());
    }
    return evidence;
  }

 private:
  // lookup returns the cached EAR for |spki| if it is still valid at |at|.
  std::optional<CachedEar> lookup(const Bytes& spki, std::int64_t at) {
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_cache.find(spki);
    if (it != m_cache.end() && at < it->second.exp) {
      return it->second;
    }
    return std::nullopt;
  }

  // renewal_failed presents the cached EAR while it is still valid (and
  // says so in the log), else fails: PassportExpired when there was one.
  Result<Evidence> renewal_failed(const Bytes& spki, const Clock& clock, Error why) {
    const std::int64_t now = clock.now();
    if (auto cached = lookup(spki, now)) {
      log("atls: passport: renewing the EAR failed (" + why.to_string() +
          "); presenting the cached one, valid for " + std::to_string(cached->exp - now) +
          " s more");
      return remote::ear_evidence(cached->jwt);
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    if (const auto it = m_cache.find(spki); it != m_cache.end()) {
      return Error{ErrorCode::PassportExpired,
                   "the EAR expired " + std::to_string(now - it->second.exp) +
                       " s ago and renewing it failed: " + why.to_string()};
    }
    return why;
  }

  void log(const std::string& line) const {
    if (m_config.log) {
      m_config.log(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

  // issue_remote sends Evidence to the remote Verifier's session that names
  // |spki| (binding "key") and returns its EAR.
  Result<CachedEar> issue_remote(const Bytes& spki) {
    const remote::VerifierClient& verifier = *m_config.verifier;
    ATLS_ASSIGN_OR_RETURN(const remote::Session session,
                          verifier.new_session(remote::kBindingKey, spki));
    ATLS_ASSIGN_OR_RETURN(const Bytes nonce, passport_evidence_nonce(session.nonce, spki));
    ATLS_ASSIGN_OR_RETURN(const Evidence evidence, evidence_for(nonce, spki));
    ATLS_ASSIGN_OR_RETURN(std::string jwt, verifier.submit(session, evidence.cmw));
    // The relying party verifies the EAR; here only its lifetime is read.
    ATLS_ASSIGN_OR_RETURN(const Ear ear, decode_ear_jwt_unverified(jwt));
    if (!ear.exp) {
      return Error{ErrorCode::EarMissingClaim, "the Verifier's EAR has no exp"};
    }
    return CachedEar{std::move(jwt), *ear.exp};
  }

  // evidence_for asks the evidence attester for Evidence with |nonce|.
  Result<Evidence> evidence_for(const Bytes& nonce, const Bytes& spki) {
    AttestationRequest inner;
    inner.nonce = nonce;
    inner.key_spki = spki;
    try {
      return m_config.evidence_attester->attest(inner);
    } catch (const std::exception& e) {
      return Error{ErrorCode::Internal,
                   std::string(m_config.evidence_attester->name()) + " attester: " + e.what()};
    }
  }

  // issue runs Evidence -> Verifier -> EAR for |spki|: the remote Verifier
  // when there is one, else the in-process one.
  Result<CachedEar> issue(const Bytes& spki, const Clock& clock) {
    if (m_config.verifier) {
      return issue_remote(spki);
    }
    // Called with m_issue_mutex held, so the Rng is used by one thread at a time.
    Bytes verifier_nonce(kPassportVerifierNonceSize, 0);
    (m_config.rng != nullptr ? *m_config.rng : m_system_rng).fill(verifier_nonce);
    ATLS_ASSIGN_OR_RETURN(const Bytes nonce, passport_evidence_nonce(verifier_nonce, spki));
    ATLS_ASSIGN_OR_RETURN(const Evidence evidence, evidence_for(nonce, spki));

    // The in-process Verifier appraises and signs whatever the tier: the
    // relying party judges the EAR against its own policy.
    const internal::RelyingParty verifier(*m_registry, clock, m_config.policy);
    auto expect = internal::Expectation::background_check(nonce);
    expect.context.trust_anchors = m_config.trust_anchors;
    expect.context.attested_key_spki = spki;  // named in the EAR
    ATLS_ASSIGN_OR_RETURN(const internal::Appraisal appraisal,
                          verifier.appraise(evidence, std::move(expect), m_key.get()));
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
  } else if (!config.verifier) {
    Bytes pem = config.signing_key_pem;
    if (pem.empty() && !config.policy.ear.signing_key.empty()) {
      ATLS_ASSIGN_OR_RETURN(pem,
                            load_reference(config.policy.base_dir, config.policy.ear.signing_key));
    }
    if (pem.empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "the passport attester needs an EAR signing key (signing_key, signing_key_pem "
                   "or the policy's ear.signing_key) or a remote Verifier"};
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
