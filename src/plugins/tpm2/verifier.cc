// The tpm2 Verifier and Appraiser, and conversion from and to tpm2-tools
// files. Verification follows the TPM 2.0 quote procedure (TPM 2.0 Part 3,
// TPM2_Quote; docs/evidence-profiles.md "tpm2"): AK trust, the signature
// over the exact TPMS_ATTEST bytes, magic and type, extraData == nonce, the
// PCR selection, and the recomputed pcrDigest.

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/core/parse_cache.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/tpm.h"
#include "src/formats/tpm/verify.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/tpm2/tpm2.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atls {
namespace {

// The trust material of one verification, loaded from the policy section
// and the context.
struct TrustMaterial {
  // Pinned AK Names (nameAlg || H(TPMT_PUBLIC)): they bind the whole public
  // area, object attributes included.
  std::vector<Bytes> pinned_names;
  std::vector<ossl::UniquePtr<EVP_PKEY>> pinned_keys;
  std::vector<ossl::UniquePtr<X509>> roots;
  std::vector<ossl::UniquePtr<X509>> certs;  // AK and intermediate candidates
  // Extended key usages that make a certificate an AK certificate.
  std::vector<std::string> ak_ekus;
};

// tcg-kp-AIKCertificate (TCG EK Credential Profile; TCG "TPM 2.0 Keys for
// Device Identity and Attestation"): the EKU of an AK certificate.
constexpr const char* kTcgKpAikCertificate = "2.23.133.8.3";

Result<std::vector<Bytes>> load_files(const VerifyContext& ctx, const char* key) {
  std::vector<Bytes> out;
  if (!ctx.trust.is_object() || !ctx.trust.contains(key)) {
    return out;
  }
  if (!ctx.load) {
    return Error{ErrorCode::FileNotFound, std::string("no loader for trust.") + key};
  }
  for (const auto& ref : ctx.trust[key]) {
    if (!ref.is_string()) {
      return Error{ErrorCode::PolicyInvalid, std::string("trust.") + key + " must list file names"};
    }
    ATLS_ASSIGN_OR_RETURN(Bytes b, ctx.load(ref.get<std::string>()));
    out.push_back(std::move(b));
  }
  return out;
}

// Whether |data| holds a certificate (PEM or DER) rather than a bare key.
bool looks_like_certificate(ByteView data) {
  const std::string_view text = as_string_view(data);
  if (text.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    return true;
  }
  if (text.find("-----BEGIN") != std::string_view::npos) {
    return false;
  }
  return ossl::parse_certificate(data).has_value();
}

// A pinned AK: a public key (PEM or DER SubjectPublicKeyInfo), or a TPM
// public area (TPM2B_PUBLIC as tpm2_createak -u writes it, or TPMT_PUBLIC)
// pinned by its Name.
struct PinnedAk {
  ossl::UniquePtr<EVP_PKEY> key;
  Bytes name;
};

Result<PinnedAk> parse_pinned_ak(ByteView data) {
  PinnedAk p;
  auto key = ossl::parse_public_key(data);
  if (key) {
    p.key = std::move(*key);
    return p;
  }
  auto pub = parse_tpm2b_public(data);
  if (!pub) {
    pub = parse_tpm_public(data);
  }
  if (!pub) {
    return key.error();
  }
  ATLS_ASSIGN_OR_RETURN(p.name, tpm_object_name(*pub));
  return p;
}

// A --trust anchor: a root certificate (or several) or a pinned AK.
struct ParsedAnchor {
  std::vector<ossl::UniquePtr<X509>> roots;
  PinnedAk ak;
};

Result<ParsedAnchor> parse_anchor(ByteView data) {
  ParsedAnchor a;
  if (looks_like_certificate(data)) {
    ATLS_ASSIGN_OR_RETURN(a.roots, ossl::parse_certificates(data));
  } else {
    ATLS_ASSIGN_OR_RETURN(a.ak, parse_pinned_ak(data));
  }
  return a;
}

// Whether |cert| carries one of |ekus| (dotted OIDs) in its extended key
// usage extension.
bool has_eku(X509* cert, const std::vector<std::string>& ekus) {
  auto* usage = static_cast<EXTENDED_KEY_USAGE*>(
      ::X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
  if (usage == nullptr) {
    (void)ossl::drain_errors();
    return false;
  }
  bool found = false;
  for (int i = 0; i < sk_ASN1_OBJECT_num(usage); ++i) {
    char oid[80] = {};
    const int n = ::OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(usage, i), 1);
    for (const auto& want : ekus) {
      found = found || (n > 0 && want == std::string_view(oid, static_cast<std::size_t>(n)));
    }
  }
  ::EXTENDED_KEY_USAGE_free(usage);
  return found;
}

// Parsed trust material, by content: each anchor, key and certificate file
// is parsed once, not on every verification.
struct TrustCaches {
  internal::ParseCache<PinnedAk> keys;
  internal::ParseCache<std::vector<ossl::UniquePtr<X509>>> certs;
  internal::ParseCache<ParsedAnchor> anchors;
  // The Evidence's own AK certificate and AK key, by the certificate's DER
  // and the TPMT_PUBLIC bytes (one per machine). Reusing the key also skips
  // OpenSSL's full public-key check, as costly as a signature check for EC.
  internal::ParseCache<ossl::UniquePtr<X509>> evidence_certs{internal::kParseCacheCapacity,
                                                             internal::kParseCacheMaxEvidenceInput};
  internal::ParseCache<ossl::UniquePtr<EVP_PKEY>> ak_keys{internal::kParseCacheCapacity,
                                                          internal::kParseCacheMaxEvidenceInput};
};

Result<void> add_certs(std::vector<ossl::UniquePtr<X509>>& to, ByteView data,
                       const TrustCaches& caches) {
  ATLS_ASSIGN_OR_RETURN(const auto certs, caches.certs.get(data, [](ByteView d) {
    return ossl::parse_certificates(d);
  }));
  for (const auto& c : *certs) {
    to.push_back(ossl::up_ref(c.get()));
  }
  return ok();
}

Result<TrustMaterial> load_trust(const VerifyContext& ctx, const TrustCaches& caches) {
  TrustMaterial t;
  ATLS_ASSIGN_OR_RETURN(const auto keys, load_files(ctx, "ak_keys"));
  for (const auto& k : keys) {
    ATLS_ASSIGN_OR_RETURN(const auto pin, caches.keys.get(k, parse_pinned_ak));
    if (pin->key) {
      t.pinned_keys.push_back(ossl::up_ref(pin->key.get()));
    } else {
      t.pinned_names.push_back(pin->name);
    }
  }
  if (ctx.trust.is_object() && ctx.trust.contains("ak_names")) {
    for (const auto& n : ctx.trust["ak_names"]) {
      ATLS_ASSIGN_OR_RETURN(Bytes name, internal::json_hex(n));
      t.pinned_names.push_back(std::move(name));
    }
  }
  t.ak_ekus = {kTcgKpAikCertificate};
  if (ctx.trust.is_object() && ctx.trust.contains("ak_certificate_ekus")) {
    t.ak_ekus = ctx.trust["ak_certificate_ekus"].get<std::vector<std::string>>();
  }
  ATLS_ASSIGN_OR_RETURN(const auto roots, load_files(ctx, "roots"));
  for (const auto& r : roots) {
    ATLS_TRY(add_certs(t.roots, r, caches));
  }
  for (const char* key : {"ak_certificates", "intermediates"}) {
    ATLS_ASSIGN_OR_RETURN(const auto certs, load_files(ctx, key));
    for (const auto& c : certs) {
      ATLS_TRY(add_certs(t.certs, c, caches));
    }
  }
  for (const auto& anchor : ctx.trust_anchors) {
    ATLS_ASSIGN_OR_RETURN(const auto a, caches.anchors.get(anchor, parse_anchor));
    if (a->ak.key) {
      t.pinned_keys.push_back(ossl::up_ref(a->ak.key.get()));
    } else if (!a->ak.name.empty()) {
      t.pinned_names.push_back(a->ak.name);
    }
    for (const auto& r : a->roots) {
      t.roots.push_back(ossl::up_ref(r.get()));
    }
  }
  for (const auto& c : ctx.certificates) {
    ATLS_TRY(add_certs(t.certs, c, caches));
  }
  return t;
}

// How the AK came to be trusted.
struct TrustedAk {
  ossl::UniquePtr<EVP_PKEY> key;
  std::string how;  // "pinned-name", "pinned-key" or "certificate"
};

// Checks |key| against the trust material: a pinned key equal to it, or an
// AK certificate (one of t.ak_ekus) for it that chains to a root. Returns
// nullopt (with |error| set) when neither holds.
std::optional<std::string> trust_key(EVP_PKEY* key, const std::vector<X509*>& ak_certs,
                                     const TrustMaterial& t, std::int64_t now, Error& error) {
  for (const auto& pinned : t.pinned_keys) {
    if (ossl::public_keys_equal(pinned.get(), key)) {
      return std::string("pinned-key");
    }
  }
  std::vector<X509*> intermediates;
  for (const auto& c : t.certs) {
    intermediates.push_back(c.get());
  }
  std::vector<X509*> roots;
  for (const auto& r : t.roots) {
    roots.push_back(r.get());
  }
  for (X509* cert : ak_certs) {
    EVP_PKEY* cert_key = ::X509_get0_pubkey(cert);  // borrowed from cert
    if (cert_key == nullptr || !ossl::public_keys_equal(cert_key, key)) {
      (void)ossl::drain_errors();
      continue;
    }
    // A certificate for this key that does not say it certifies an AK (for
    // instance a TLS certificate from the same CA) vouches for nothing here.
    if (!has_eku(cert, t.ak_ekus)) {
      error = Error{
          ErrorCode::TpmAkCertificateProfile,
          "the certificate for the AK lacks the AK extended key usage (" + t.ak_ekus.front() + ")"};
      continue;
    }
    if (roots.empty()) {
      error =
          Error{ErrorCode::CertUntrusted, "an AK certificate is present but no root is trusted"};
      continue;
    }
    ossl::ChainOptions opts;
    opts.at = now;
    auto chain = ossl::chain_cache().verify(cert, intermediates, roots, opts);
    if (chain) {
      return std::string("certificate");
    }
    error = std::move(chain).error();
  }
  return std::nullopt;
}

// Collects AK certificate candidates: the evidence's own, then the others.
Result<std::vector<ossl::UniquePtr<X509>>> evidence_certs(const Tpm2QuoteEvidence& ev,
                                                          const TrustCaches& caches) {
  std::vector<ossl::UniquePtr<X509>> out;
  if (ev.ak_cert) {
    ATLS_ASSIGN_OR_RETURN(const auto c, caches.evidence_certs.get(*ev.ak_cert, [](ByteView d) {
      return ossl::parse_certificate(d);
    }));
    out.push_back(ossl::up_ref(c->get()));
  }
  return out;
}

// The "pcrs" claim: bank name -> PCR index (decimal) -> value (hex). Each
// value is moved into place (up to 24 PCRs per bank on every verification).
nlohmann::json pcrs_json(const TpmPcrValues& pcrs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& bank : pcrs.banks) {
    nlohmann::json b = nlohmann::json::object();
    auto& values = b.get_ref<nlohmann::json::object_t&>();
    for (const auto& [index, value] : bank.values) {
      values.insert_or_assign(std::to_string(index), to_hex(value));
    }
    out[std::string(tpm_hash_name(bank.hash))] = std::move(b);
  }
  return out;
}

std::string_view sig_alg_name(std::uint16_t alg) {
  switch (alg) {
    case kTpmAlgEcdsa:
      return "ecdsa";
    case kTpmAlgRsassa:
      return "rsassa";
    case kTpmAlgRsapss:
      return "rsapss";
    default:
      return "unknown";
  }
}

class Tpm2Verifier final : public Verifier {
 public:
  std::string_view name() const override { return "tpm2"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeTpmQuote)};
  }

  Result<void> check_trust_section(const nlohmann::json& trust) const override {
    ATLS_TRY(internal::only_keys(trust, {"ak_names", "ak_keys", "ak_certificates", "intermediates",
                                         "roots", "ak_certificate_ekus"}));
    for (const char* key : {"ak_keys", "ak_certificates", "intermediates", "roots"}) {
      ATLS_TRY(internal::check_string_array(trust, key, "an array of file names"));
    }
    ATLS_TRY(internal::check_string_array(trust, "ak_names", "an array of hex TPM Names"));
    for (const auto& n : trust.value("ak_names", nlohmann::json::array())) {
      auto b = internal::json_hex(n);
      if (!b || b->size() < 2) {
        return Error{ErrorCode::PolicyInvalid, "each of \"ak_names\" must be a hex TPM Name"};
      }
    }
    ATLS_TRY(internal::check_string_array(trust, "ak_certificate_ekus", "an array of dotted OIDs"));
    if (trust.contains("ak_certificate_ekus") && trust["ak_certificate_ekus"].empty()) {
      return Error{ErrorCode::PolicyInvalid, "\"ak_certificate_ekus\" must not be empty"};
    }
    return ok();
  }

  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    const EvidenceRecord* rec = evidence.find(kMediaTypeTpmQuote);
    if (rec == nullptr) {
      return Error{ErrorCode::UnsupportedMediaType,
                   "no application/vnd.atls.tpm2-quote+cbor record"};
    }
    // Parse everything first (bounded parsers), then check integrity.
    ATLS_ASSIGN_OR_RETURN(const Tpm2QuoteEvidence ev, parse_tpm2_quote_evidence(rec->value));
    ATLS_ASSIGN_OR_RETURN(const TpmAttest attest, parse_tpm_attest(ev.attest));
    ATLS_ASSIGN_OR_RETURN(const TpmSignature sig, parse_tpm_signature(ev.signature));
    std::optional<TpmPublic> ak_pub;
    if (ev.ak_pub) {
      ATLS_ASSIGN_OR_RETURN(ak_pub, parse_tpm_public(*ev.ak_pub));
    }
    ATLS_ASSIGN_OR_RETURN(auto own_certs, evidence_certs(ev, m_caches));
    ATLS_ASSIGN_OR_RETURN(const TrustMaterial trust, load_trust(ctx, m_caches));
    const std::int64_t now = ctx.clock != nullptr ? ctx.clock->now() : 0;

    // 1. Trust in the AK.
    std::vector<X509*> ak_certs;
    for (const auto& c : own_certs) {
      ak_certs.push_back(c.get());
    }
    for (const auto& c : trust.certs) {
      ak_certs.push_back(c.get());
    }
    std::optional<TrustedAk> ak;
    Bytes name;  // the AK's Name, when the Evidence carries its public area
    Error why{ErrorCode::KeyUntrusted, "the AK is neither pinned nor certified by a trusted root"};
    if (ak_pub) {
      // Only a restricted signing key guarantees that the TPM produced the
      // TPMS_ATTEST (it refuses to sign data that starts with TPM_GENERATED).
      if (!ak_pub->is_restricted_signing_key()) {
        return Error{ErrorCode::KeyUntrusted, "ak_pub is not a restricted signing key"};
      }
      // The key is a function of the TPMT_PUBLIC bytes (ak_pub->raw).
      ATLS_ASSIGN_OR_RETURN(const auto cached, m_caches.ak_keys.get(ak_pub->raw, [&](ByteView) {
        return tpm_public_key(*ak_pub);
      }));
      auto key = ossl::up_ref(cached->get());
      // A pinned Name binds the whole public area, so the attributes checked
      // above are those of the pinned key; a pinned key or an AK certificate
      // vouches for the key only (docs/evidence-profiles.md, "tpm2").
      ATLS_ASSIGN_OR_RETURN(name, tpm_object_name(*ak_pub));
      bool name_pinned = false;
      for (const auto& pinned : trust.pinned_names) {
        name_pinned = constant_time_equal(pinned, name) || name_pinned;
      }
      if (name_pinned) {
        ak = TrustedAk{std::move(key), "pinned-name"};
      } else if (auto how = trust_key(key.get(), ak_certs, trust, now, why)) {
        ak = TrustedAk{std::move(key), *how};
      }
    } else {
      // No AK public area: every pinned key and certified key is a candidate;
      // the one whose signature verifies is the AK.
      std::vector<TrustedAk> candidates;
      for (const auto& k : trust.pinned_keys) {
        candidates.push_back(TrustedAk{ossl::up_ref(k.get()), "pinned-key"});
      }
      for (X509* cert : ak_certs) {
        EVP_PKEY* cert_key = ::X509_get0_pubkey(cert);  // borrowed from cert
        if (cert_key != nullptr) {
          auto owned = ossl::up_ref(cert_key);
          if (trust_key(owned.get(), {cert}, trust, now, why)) {
            candidates.push_back(TrustedAk{std::move(owned), "certificate"});
          }
        }
      }
      for (auto& c : candidates) {
        if (verify_tpm_signature(c.key.get(), sig, ev.attest)) {
          ak = std::move(c);
          break;
        }
      }
      if (!ak && !candidates.empty()) {
        return Error{ErrorCode::TpmBadSignature, "the quote does not verify under any trusted AK"};
      }
    }
    if (!ak) {
      return why;
    }

    // 2-3. The signature over the exact TPMS_ATTEST bytes.
    ATLS_TRY(verify_tpm_signature(ak->key.get(), sig, ev.attest));

    // 4. magic (checked by the parser) and type.
    if (attest.type != kTpmStAttestQuote || !attest.quote) {
      return Error{ErrorCode::TpmNoQuote, "TPMS_ATTEST.type is not TPM_ST_ATTEST_QUOTE"};
    }

    // 5. extraData carries the nonce.
    EvidenceClaims out;
    out.nonce = attest.extra_data;
    if (ctx.expected_nonce) {
      ATLS_ASSIGN_OR_RETURN(const bool match,
                            tpm_extra_data_matches(attest.extra_data, *ctx.expected_nonce));
      if (!match) {
        return Error{ErrorCode::NonceMismatch, "TPMS_ATTEST.extraData is not the expected nonce"};
      }
      out.nonce = *ctx.expected_nonce;
      out.nonce_verified = true;
    }

    // 6-7. The PCR selection and pcrDigest.
    ATLS_TRY(check_tpm_quote_pcrs(*attest.quote, sig.hash, ev.pcrs));

    nlohmann::json& c = out.claims;
    c["pcrs"] = pcrs_json(ev.pcrs);
    c["pcr_digest"] = to_hex(attest.quote->pcr_digest);
    c["extra_data"] = to_hex(attest.extra_data);
    c["qualified_signer"] = to_hex(attest.qualified_signer);
    c["clock"] = {{"clock", attest.clock_info.clock},
                  {"reset_count", attest.clock_info.reset_count},
                  {"restart_count", attest.clock_info.restart_count},
                  {"safe", attest.clock_info.safe}};
    c["firmware_version"] = attest.firmware_version;
    c["signature_alg"] = sig_alg_name(sig.sig_alg);
    c["signature_hash"] = tpm_hash_name(sig.hash);
    c["ak_trust"] = ak->how;
    if (ak_pub) {
      c["ak_name"] = to_hex(name);
      out.machine_id = "tpm-ak-name:" + to_hex(name);
    } else {
      ATLS_ASSIGN_OR_RETURN(const Bytes spki, ossl::spki_der(ak->key.get()));
      ATLS_ASSIGN_OR_RETURN(const Bytes h, ossl::digest(ossl::HashAlg::Sha256, spki));
      out.machine_id = "tpm-ak-spki-sha256:" + to_hex(h);
    }
    // A trusted TPM key signed the quote: the evidence is TPM-rooted.
    out.hardware_rooted = true;
    return out;
  }

 private:
  // Thread-safe; verify is const and may run on many threads.
  TrustCaches m_caches;
};

// Appraisal against reference PCR values and pcrDigests.
class Tpm2Appraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "tpm2"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeTpmQuote)};
  }

  Result<void> check_reference_section(const nlohmann::json& ref) const override {
    ATLS_TRY(internal::only_keys(ref, {"pcrs", "pcr_digests", "policy_id",
                                       std::string(internal::kDangerousAnyMeasurement)}));
    if (ref.contains("pcrs")) {
      if (!ref["pcrs"].is_object()) {
        return Error{ErrorCode::PolicyInvalid, "\"pcrs\" must map banks to PCR values"};
      }
      for (const auto& [bank, values] : ref["pcrs"].items()) {
        const auto hash = tpm_hash_from_name(bank);
        if (!hash) {
          return Error{ErrorCode::PolicyInvalid, "unknown PCR bank \"" + bank + "\""};
        }
        if (!values.is_object()) {
          return Error{ErrorCode::PolicyInvalid,
                       "pcrs." + bank + " must map PCR indices to hex values"};
        }
        for (const auto& [index, want] : values.items()) {
          const bool numeric = !index.empty() && index.size() <= 2 &&
                               index.find_first_not_of("0123456789") == std::string::npos &&
                               std::stoul(index) < kTpmPcrSelectMax * 8;
          if (!numeric) {
            return Error{ErrorCode::PolicyInvalid,
                         "pcrs." + bank + ": \"" + index + "\" is not a PCR index"};
          }
          for (const auto& d : want.is_array() ? want : nlohmann::json::array({want})) {
            auto v = internal::json_hex(d);
            if (!v || v->size() != tpm_hash_size(*hash)) {
              return Error{ErrorCode::PolicyInvalid,
                           "pcrs." + bank + "." + index + " must be hex of the bank's digest size"};
            }
          }
        }
      }
    }
    if (ref.contains("pcr_digests")) {
      const auto& d = ref["pcr_digests"];
      bool good = d.is_array();
      for (const auto& e : good ? d : nlohmann::json::array()) {
        good = good && e.is_string() && from_hex(e.get<std::string>()).has_value();
      }
      if (!good) {
        return Error{ErrorCode::PolicyInvalid, "\"pcr_digests\" must be an array of hex strings"};
      }
    }
    ATLS_TRY(internal::require_reference_values(
        ref, ref.contains("pcrs") || ref.contains("pcr_digests"), "pcrs or pcr_digests"));
    return internal::check_string(ref, "policy_id");
  }

  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& ev,
                                                const nlohmann::json& ref) const override {
    SubmodAppraisal s;
    s.name = "tpm2";
    s.policy_id =
        ref.is_object() ? ref.value("policy_id", "atls:tpm2/default") : "atls:tpm2/default";
    auto& tv = s.trust_vector.claims;
    // The AK is pinned or certified by a trusted root.
    tv[TrustVector::kInstanceIdentity] = 2;
    if (ev.claims().hardware_rooted) {
      tv[TrustVector::kHardware] = 2;
    }
    const nlohmann::json& claims = ev.claims().claims;
    const bool has_pcrs = ref.is_object() && ref.contains("pcrs");
    const bool has_digests = ref.is_object() && ref.contains("pcr_digests");
    if (!has_pcrs && !has_digests) {
      // No reference PCRs ("dangerous_any_measurement" or no policy
      // section): any boot of a trusted TPM would pass.
      tv[TrustVector::kExecutables] = internal::kExecutablesUnrecognized;
      return std::vector<SubmodAppraisal>{std::move(s)};
    }
    std::string bad;
    if (has_pcrs) {
      const nlohmann::json quoted = claims.value("pcrs", nlohmann::json::object());
      for (const auto& [bank, values] : ref["pcrs"].items()) {
        for (const auto& [index, want] : values.items()) {
          bool found = false;
          if (quoted.contains(bank) && quoted[bank].contains(index) &&
              quoted[bank][index].is_string()) {
            const Bytes have = from_hex(quoted[bank][index].get<std::string>()).value_or(Bytes{});
            for (const auto& d : want.is_array() ? want : nlohmann::json::array({want})) {
              found = constant_time_equal(have, from_hex(d.get<std::string>()).value_or(Bytes{})) ||
                      found;
            }
          }
          if (!found) {
            bad += (bad.empty() ? "" : ", ") + bank + ":" + index;
          }
        }
      }
    }
    if (has_digests) {
      const Bytes have = from_hex(claims.value("pcr_digest", std::string())).value_or(Bytes{});
      bool found = false;
      for (const auto& d : ref["pcr_digests"]) {
        found =
            constant_time_equal(have, from_hex(d.get<std::string>()).value_or(Bytes{})) || found;
      }
      if (!found) {
        bad += std::string(bad.empty() ? "" : ", ") + "pcrDigest";
      }
    }
    // PCRs measure both boot code and its configuration.
    const std::int8_t v = bad.empty() ? 2 : 96;
    tv[TrustVector::kExecutables] = v;
    tv[TrustVector::kConfiguration] = v;
    if (!bad.empty()) {
      s.findings.push_back(
          {ErrorCode::MeasurementMismatch, "PCRs not in the reference values: " + bad});
    }
    return std::vector<SubmodAppraisal>{std::move(s)};
  }
};

}  // namespace

std::unique_ptr<Verifier> make_tpm2_verifier() {
  return std::make_unique<Tpm2Verifier>();
}
std::unique_ptr<Appraiser> make_tpm2_appraiser() {
  return std::make_unique<Tpm2Appraiser>();
}

Result<Evidence> evidence_from_tpm2_tools(ByteView quote_msg, ByteView signature, ByteView pcrs,
                                          ByteView ak_public) {
  // Validate each file so that errors name the file that is wrong.
  ATLS_TRY(parse_tpm_attest(quote_msg));
  ATLS_TRY(parse_tpm_signature(signature));
  Tpm2QuoteEvidence ev;
  ev.attest.assign(quote_msg.begin(), quote_msg.end());
  ev.signature.assign(signature.begin(), signature.end());
  ATLS_ASSIGN_OR_RETURN(ev.pcrs, parse_tpm_pcrs_file(pcrs));
  if (!ak_public.empty()) {
    auto pub = parse_tpm_public(ak_public);
    if (!pub) {
      ATLS_ASSIGN_OR_RETURN(pub, parse_tpm2b_public(ak_public));
    }
    ev.ak_pub = pub->raw;
  }
  EvidenceRecord rec;
  rec.media_type = std::string(kMediaTypeTpmQuote);
  rec.value = encode_tpm2_quote_evidence(ev);
  rec.ind = kIndEvidence;
  return evidence_from_records({std::move(rec)});
}

Result<Tpm2ToolsFiles> export_tpm2_tools_files(const Evidence& evidence) {
  const EvidenceRecord* rec = evidence.find(kMediaTypeTpmQuote);
  if (rec == nullptr) {
    return Error{ErrorCode::UnsupportedMediaType, "no application/vnd.atls.tpm2-quote+cbor record"};
  }
  ATLS_ASSIGN_OR_RETURN(Tpm2QuoteEvidence ev, parse_tpm2_quote_evidence(rec->value));
  ATLS_ASSIGN_OR_RETURN(const TpmAttest attest, parse_tpm_attest(ev.attest));
  ATLS_ASSIGN_OR_RETURN(const TpmSignature sig, parse_tpm_signature(ev.signature));
  Tpm2ToolsFiles out;
  ATLS_ASSIGN_OR_RETURN(out.pcrs, encode_tpm_pcrs_file(ev.pcrs));
  out.msg = std::move(ev.attest);
  out.sig = std::move(ev.signature);
  out.hash = std::string(tpm_hash_name(sig.hash));
  out.qualifying_data = attest.extra_data;
  if (ev.ak_pub) {
    ATLS_ASSIGN_OR_RETURN(const TpmPublic pub, parse_tpm_public(*ev.ak_pub));
    ATLS_ASSIGN_OR_RETURN(const auto key, tpm_public_key(pub));
    ATLS_ASSIGN_OR_RETURN(out.ak_pem, ossl::public_key_pem(key.get()));
  }
  return out;
}

}  // namespace atls
