#include "src/service/verifier_service.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/core/defaults.h"
#include "src/core/encoding.h"
#include "src/formats/jwt/jwk.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/remote/api.h"
#include "src/service/session_token.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace atls::service {
namespace {

constexpr std::int64_t kMaxSessionTtl = 24 * 3600;

nlohmann::json session_json(const Session& s, const std::vector<std::string>& accept,
                            std::string_view status) {
  return {{"nonce", base64_encode(s.nonce)},
          {"expiry", ossl::format_time(s.exp)},
          {"accept", accept},
          {"status", std::string(status)}};
}

Reply json_reply(int status, std::string_view content_type, const nlohmann::json& j) {
  Reply r;
  r.status = status;
  r.content_type = std::string(content_type);
  r.body = j.dump();
  return r;
}

Reply bad_request(std::string detail) {
  return problem(400, Error{ErrorCode::InvalidArgument, std::move(detail)});
}

// normalise_media_type drops parameters and white space and lowers the case
// (media types are case-insensitive, RFC 9110 §8.3.1).
std::string normalise_media_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.front())) != 0) {
    ct.remove_prefix(1);
  }
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.back())) != 0) {
    ct.remove_suffix(1);
  }
  std::string out(ct);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// one_param returns the value of |name| when given once; nullopt when
// absent; an error when repeated (which value would count is ambiguous).
Result<std::optional<std::string>> one_param(const Query& q, std::string_view name) {
  const auto [lo, hi] = q.equal_range(std::string(name));
  if (lo == hi) {
    return std::optional<std::string>{};
  }
  if (std::next(lo) != hi) {
    return Error{ErrorCode::InvalidArgument, "'" + std::string(name) + "' is repeated"};
  }
  return std::optional<std::string>{lo->second};
}

Result<std::size_t> parse_nonce_size(const std::string& text) {
  if (text.empty() || text.size() > 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error{ErrorCode::InvalidArgument, "nonceSize must be a number"};
  }
  const std::size_t n = std::stoul(text);
  if (n < remote::kMinNonceSize || n > remote::kMaxNonceSize) {
    return Error{ErrorCode::InvalidArgument, "nonceSize " + text + " is outside 8..64"};
  }
  return n;
}

Result<SessionBinding> parse_binding(const std::optional<std::string>& b) {
  if (!b || *b == remote::kBindingNonce) {
    return SessionBinding::Nonce;
  }
  if (*b == remote::kBindingKey) {
    return SessionBinding::Key;
  }
  if (*b == remote::kBindingTls) {
    return SessionBinding::Tls;
  }
  return Error{ErrorCode::InvalidArgument, "binding must be nonce, key or tls"};
}

Result<Session> session_from_query(const Query& q, Rng& rng) {
  ATLS_ASSIGN_OR_RETURN(const auto nonce_size, one_param(q, remote::kParamNonceSize));
  ATLS_ASSIGN_OR_RETURN(const auto nonce, one_param(q, remote::kParamNonce));
  ATLS_ASSIGN_OR_RETURN(const auto binding, one_param(q, remote::kParamBinding));
  ATLS_ASSIGN_OR_RETURN(const auto akpub, one_param(q, remote::kParamAkpub));
  Session s;
  if (nonce_size && nonce) {
    return Error{ErrorCode::InvalidArgument, "give nonceSize or nonce, not both"};
  }
  if (nonce) {
    auto n = base64url_decode(*nonce);
    if (!n || n->size() < remote::kMinNonceSize || n->size() > remote::kMaxNonceSize) {
      return Error{ErrorCode::InvalidArgument, "nonce must be base64url of 8..64 bytes"};
    }
    s.nonce = std::move(*n);
  } else {
    std::size_t n = remote::kDefaultNonceSize;
    if (nonce_size) {
      ATLS_ASSIGN_OR_RETURN(n, parse_nonce_size(*nonce_size));
    }
    s.nonce.resize(n);
    rng.fill(s.nonce);
  }
  ATLS_ASSIGN_OR_RETURN(s.binding, parse_binding(binding));
  if ((s.binding == SessionBinding::Key) != akpub.has_value()) {
    return Error{ErrorCode::InvalidArgument, "akpub goes with binding=key, and only with it"};
  }
  if (akpub) {
    auto der = base64url_decode(*akpub);
    if (!der || der->empty() || der->size() > remote::kMaxAkpubSize) {
      return Error{ErrorCode::InvalidArgument, "akpub must be base64url of a DER SPKI"};
    }
    if (auto key = ossl::parse_public_key(*der); !key) {
      return Error{ErrorCode::InvalidArgument, "akpub: " + key.error().to_string()};
    }
    s.akpub = std::move(*der);
  }
  return s;
}

Result<Evidence> evidence_of(const std::string& media_type, ByteView body,
                             const std::vector<std::string>& accept) {
  if (media_type == remote::kMediaTypeCmwCbor || media_type == remote::kMediaTypeCmwJson) {
    return evidence_from_cmw(body);
  }
  if (std::find(accept.begin(), accept.end(), media_type) == accept.end()) {
    return Error{ErrorCode::UnsupportedMediaType, "\"" + media_type + "\""};
  }
  const std::uint32_t ind = media_type == kMediaTypeEar ? kIndAttestationResult : kIndEvidence;
  return evidence_from_records(
      {EvidenceRecord{"", media_type, Bytes(body.begin(), body.end()), ind}});
}

}  // namespace

Reply problem(int status, const Error& e) {
  const std::string name(e.name());
  nlohmann::json j = {{"type", std::string(remote::kProblemTypePrefix) + name},
                      {"title", std::string(error_message(e.code))},
                      {"status", status},
                      {"code", name}};
  // A server-side failure's detail may name local files: it goes to the
  // log, not to the client.
  if (status < 500 && !e.detail.empty()) {
    j["detail"] = e.detail;
  }
  return json_reply(status, remote::kProblemMediaType, j);
}

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return 400;
    case ErrorCode::VerifierSessionInvalid:
      return 404;
    case ErrorCode::VerifierSessionExpired:
      return 410;
    case ErrorCode::PayloadTooLarge:
      return 413;
    case ErrorCode::UnsupportedMediaType:
      return 415;
    default:
      break;
  }
  switch (error_category(code)) {
    case ErrorCategory::BadEvidence:
    case ErrorCategory::PolicyRejected:
    case ErrorCategory::Protocol:
      return 422;
    default:
      // Internal, Io (a policy file that went missing), Usage (the
      // service's own configuration): not the client's fault.
      return 500;
  }
}

Result<ossl::SecretBytes> load_session_key(const std::string& path) {
  ATLS_ASSIGN_OR_RETURN(Bytes raw, read_file_bytes(path));
  const auto is_hex = [](std::uint8_t c) { return std::isxdigit(c) != 0; };
  if (raw.size() == kSessionKeySize && !std::all_of(raw.begin(), raw.end(), is_hex)) {
    ossl::SecretBytes key(raw);
    ossl::cleanse(raw);
    return key;
  }
  std::string text(raw.begin(), raw.end());
  ossl::cleanse(raw);
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const std::string_view hex = first == std::string::npos
                                   ? std::string_view{}
                                   : std::string_view(text).substr(first, last - first + 1);
  auto decoded = hex.size() == 2 * kSessionKeySize ? from_hex(hex) : Result<Bytes>{Bytes{}};
  ossl::cleanse(text);
  if (!decoded || decoded->size() != kSessionKeySize) {
    return Error{ErrorCode::InvalidArgument,
                 path + ": a session key is 32 random bytes, raw or as 64 hex digits"};
  }
  ossl::SecretBytes key(*decoded);
  ossl::cleanse(*decoded);
  return key;
}

Result<std::shared_ptr<const ServiceState>> build_state(
    const StateFiles& files, const Registry& registry, Rng& rng,
    const ossl::SecretBytes* previous_session_key) {
  if (files.session_ttl < 1 || files.session_ttl > kMaxSessionTtl) {
    return Error{ErrorCode::InvalidArgument, "the session ttl must be 1..86400 s"};
  }
  auto st = std::make_shared<ServiceState>();
  ATLS_ASSIGN_OR_RETURN(st->policy, load_policy_file(files.policy, registry));
  ATLS_ASSIGN_OR_RETURN(Bytes pem, read_file_bytes(files.ear_key));
  auto key = ossl::parse_private_key(pem);
  ossl::cleanse(pem);
  if (!key) {
    return Error{key.error().code, files.ear_key + ": " + key.error().to_string()};
  }
  if (ossl::key_type(key->get()) != ossl::KeyType::EcP256) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 files.ear_key + ": the EAR key must be a P-256 key (ES256)"};
  }
  st->ear_key = std::move(*key);
  ATLS_ASSIGN_OR_RETURN(st->ear_kid, jwk_thumbprint(st->ear_key.get()));
  ATLS_ASSIGN_OR_RETURN(st->ear_jwk, pkey_to_jwk(st->ear_key.get()));
  st->ear_jwk["alg"] = "ES256";
  st->ear_jwk["kid"] = st->ear_kid;
  if (!files.session_key.empty()) {
    ATLS_ASSIGN_OR_RETURN(st->session_key, load_session_key(files.session_key));
    st->session_key_shared = true;
  } else if (previous_session_key != nullptr && previous_session_key->size() == kSessionKeySize) {
    st->session_key = *previous_session_key;
  } else {
    Bytes fresh(kSessionKeySize);
    rng.fill(fresh);
    st->session_key = ossl::SecretBytes(fresh);
    ossl::cleanse(fresh);
  }
  st->ear_profile = files.ear_profile;
  st->session_ttl = files.session_ttl;
  return std::shared_ptr<const ServiceState>(std::move(st));
}

VerifierService::VerifierService(const Registry& registry, const Clock& clock,
                                 std::shared_ptr<const ServiceState> state)
    : m_registry(registry), m_clock(clock), m_state(std::move(state)) {
  m_accept = registry.media_types();
  m_accept.emplace_back(remote::kMediaTypeCmwCbor);
  m_accept.emplace_back(remote::kMediaTypeCmwJson);
}

std::shared_ptr<const ServiceState> VerifierService::state() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  return m_state;
}

void VerifierService::install(std::shared_ptr<const ServiceState> state) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_state = std::move(state);
}

Reply VerifierService::new_session(const Query& query, Rng& rng) const {
  const auto st = state();
  auto s = session_from_query(query, rng);
  if (!s) {
    return bad_request(s.error().detail);
  }
  s->iat = m_clock.now();
  s->exp = s->iat + st->session_ttl;
  auto id = seal_session(*s, st->session_key.view());
  if (!id) {
    return problem(500, id.error());
  }
  Reply r = json_reply(201, remote::kSessionMediaType, session_json(*s, m_accept, "waiting"));
  r.headers.emplace_back("Location", std::string(remote::kSessionPathPrefix) + *id);
  return r;
}

Reply VerifierService::submit(std::string_view id, std::string_view content_type,
                              ByteView body) const {
  // One state for the whole request: a reload meanwhile does not mix two.
  const auto st = state();
  auto session = open_session(id, st->session_key.view(), m_clock.now());
  if (!session) {
    return problem(status_for(session.error().code), session.error());
  }
  const std::string media_type = normalise_media_type(content_type);
  const bool known = std::find(m_accept.begin(), m_accept.end(), media_type) != m_accept.end();
  const auto fail = [&](const Error& e) {
    Reply r = problem(status_for(e.code), e);
    r.verified_media_type = known ? media_type : "other";
    r.verification_outcome = std::string(e.name());
    return r;
  };
  auto evidence = evidence_of(media_type, body, m_accept);
  if (!evidence) {
    return fail(evidence.error());
  }

  // The expectation the session's binding dictates.
  internal::Expectation expect;
  std::optional<Bytes> ear_nonce = session->nonce;
  std::optional<Bytes> attested_key;
  switch (session->binding) {
    case SessionBinding::Nonce:
      expect = internal::Expectation::background_check(session->nonce);
      break;
    case SessionBinding::Key: {
      //= docs/wire-profile.md §1.5: the passport Evidence binds
      //= SHA-256(verifier nonce ‖ SHA-256(SPKI)).
      auto bound = passport_evidence_nonce(session->nonce, session->akpub);
      if (!bound) {
        return fail(bound.error());
      }
      expect = internal::Expectation::background_check(std::move(*bound));
      expect.context.attested_key_spki = session->akpub;
      attested_key = session->akpub;
      break;
    }
    case SessionBinding::Tls:
      // The Evidence's nonce is the connection's binder, which the Verifier
      // cannot compute: it reports the nonce, the relying party compares.
      ear_nonce.reset();
      break;
  }
  const internal::RelyingParty rp(m_registry, m_clock, st->policy);
  auto appraisal = rp.appraise(*evidence, std::move(expect));
  if (!appraisal) {
    return fail(appraisal.error());
  }
  const EvidenceClaims& claims = appraisal->evidence.claims();
  if (session->binding == SessionBinding::Tls) {
    if (claims.nonce.size() < remote::kMinNonceSize ||
        claims.nonce.size() > remote::kMaxNonceSize) {
      return fail(Error{ErrorCode::NonceMismatch, "the evidence nonce of " +
                                                      std::to_string(claims.nonce.size()) +
                                                      " bytes cannot be a binder"});
    }
    ear_nonce = claims.nonce;
  }

  // Deterministic claims (docs/verifier-service.md, "Stateless"): the times
  // come from the session id and the Evidence, never from this instance's
  // clock, so completing a session again yields the same claims.
  internal::EarIssue issue;
  issue.key = st->ear_key.get();
  issue.kid = st->ear_kid;
  issue.profile = st->ear_profile;
  issue.developer = st->policy.ear.developer;
  issue.build = st->policy.ear.build;
  issue.iat = session->iat;
  const std::int64_t lifetime = std::max<std::int64_t>(st->policy.ear.lifetime, 0);
  issue.exp = session->iat > std::numeric_limits<std::int64_t>::max() - lifetime
                  ? std::numeric_limits<std::int64_t>::max()
                  : session->iat + lifetime;
  if (claims.expires_at) {
    issue.exp = std::min(issue.exp, *claims.expires_at);
  }
  if (issue.exp < issue.iat) {
    return fail(Error{ErrorCode::EvidenceStale, "the evidence expired before the session began"});
  }
  issue.nonce = std::move(ear_nonce);
  issue.attested_key_spki = std::move(attested_key);
  auto ear = internal::issue_ear(appraisal->result, claims, issue);
  if (!ear) {
    return fail(ear.error());
  }
  nlohmann::json j = session_json(*session, m_accept, "complete");
  j["result"] = *ear;
  Reply r = json_reply(200, remote::kSessionMediaType, j);
  r.verified_media_type = known ? media_type : "other";
  r.verification_outcome = std::string(tier_name(appraisal->result.status()));
  return r;
}

Reply VerifierService::get(std::string_view id) const {
  const auto st = state();
  auto session = open_session(id, st->session_key.view(), m_clock.now());
  if (!session) {
    return problem(status_for(session.error().code), session.error());
  }
  return json_reply(200, remote::kSessionMediaType, session_json(*session, m_accept, "waiting"));
}

Reply VerifierService::remove(std::string_view id) const {
  const auto st = state();
  auto session = open_session(id, st->session_key.view(), m_clock.now());
  if (!session) {
    return problem(status_for(session.error().code), session.error());
  }
  Reply r;
  r.status = 204;
  return r;
}

Reply VerifierService::well_known() const {
  const auto st = state();
  nlohmann::json j = {
      {"ear-verification-key", st->ear_jwk},
      {"media-types", m_accept},
      {"version", std::string(internal::kBuildString)},
      {"service-state", "READY"},
      {"api-endpoints", {{"newChallengeResponseSession", std::string(remote::kNewSessionPath)}}}};
  return json_reply(200, remote::kDiscoveryMediaType, j);
}

}  // namespace atls::service
