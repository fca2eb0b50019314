#include "src/tls/config.h"

#include "src/ossl/secret.h"

#include <atls/config.h>
#include <atls/openssl.h>

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/builtin_plugins.h"
#include "src/tls/openssl_attach.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <sstream>

namespace atls {

std::string_view exporter_label_name(ExporterLabel label) noexcept {
  //= docs/protocol-choices.md: the two binder labels.
  return label == ExporterLabel::CmwAttestation ? "EXPORTER-cmw-attestation" : "Attestation";
}

namespace internal {

bool ConfigState::accepts(AttestationModel m) const {
  return std::find(accept_models.begin(), accept_models.end(), m) != accept_models.end();
}

bool ConfigState::accepts_push() const {
  return first_flight && !(verifier && accepts(AttestationModel::BackgroundCheck));
}

tls::ExtensionCodepoints ConfigState::ext_codepoints() const {
  tls::ExtensionCodepoints cp;
  cp.cmw_attestation = codepoints.cmw_attestation;
  cp.atls_schemes = codepoints.atls_schemes;
  cp.atls_negotiation = codepoints.atls_negotiation;
  return cp;
}

tls::FrameLimits ConfigState::tls_frame_limits() const {
  tls::FrameLimits l;
  l.control = frame_limits.max_control;
  l.data = frame_limits.max_data;
  return l;
}

bool ConfigState::is_passport() const {
  return attester &&
         (model == AttestationModel::Passport || attester->media_type() == kMediaTypeEar);
}

std::optional<tls::AttestationScheme> ConfigState::own_scheme() const {
  if (!attester) {
    return std::nullopt;
  }
  if (is_passport()) {
    return tls::AttestationScheme::result(to_bytes(passport_verifier_id));
  }
  return tls::AttestationScheme::evidence_media_type(attester->media_type());
}

std::vector<tls::AttestationScheme> ConfigState::accepted_schemes() const {
  std::vector<tls::AttestationScheme> out;
  if (accepts(AttestationModel::BackgroundCheck)) {
    std::vector<std::string> types;
    if (!policy.schemes.empty()) {
      for (const auto& [media_type, section] : policy.schemes) {
        types.push_back(media_type);
      }
    } else {
      types = registry.media_types();
    }
    for (const auto& t : types) {
      if (t != kMediaTypeEar) {
        out.push_back(tls::AttestationScheme::evidence_media_type(t));
      }
    }
  }
  if (accepts(AttestationModel::Passport)) {
    // An empty verifier identity: any Verifier whose EAR key the policy trusts.
    out.push_back(tls::AttestationScheme::result({}));
  }
  return out;
}

bool scheme_matches(const tls::AttestationScheme& a, const tls::AttestationScheme& b) {
  if (a.mechanism == tls::AttestationMechanism::Result &&
      b.mechanism == tls::AttestationMechanism::Result &&
      (a.verifier_identity.empty() || b.verifier_identity.empty())) {
    return true;
  }
  return a == b;
}

bool lists_scheme(std::span<const tls::AttestationScheme> list, const tls::AttestationScheme& s) {
  return std::any_of(list.begin(), list.end(),
                     [&s](const tls::AttestationScheme& x) { return scheme_matches(x, s); });
}

namespace {

Result<void> add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  ::X509V3_set_ctx(&v3, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  const ossl::UniquePtr<X509_EXTENSION> ext(
      ::X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
  if (!ext || ::X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509 extension " + value);
  }
  return ok();
}

Result<std::string> read_text_file(const std::string& path) {
  ATLS_ASSIGN_OR_RETURN(const Bytes b, read_file_bytes(path));
  return std::string(as_string_view(b));
}

}  // namespace

Result<ossl::UniquePtr<X509>> make_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                               X509* issuer, EVP_PKEY* issuer_key) {
  ossl::UniquePtr<X509> cert(::X509_new());
  if (!cert || ::X509_set_version(cert.get(), 2) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509_new");
  }
  std::uint8_t serial[8];
  if (::RAND_bytes(serial, sizeof serial) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "RAND_bytes");
  }
  serial[0] &= 0x7F;
  std::uint64_t s = 0;
  for (std::uint8_t b : serial) {
    s = (s << 8) | b;
  }
  if (::ASN1_INTEGER_set_uint64(::X509_get_serialNumber(cert.get()), s) != 1 ||
      ::ASN1_TIME_set(::X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) ==
          nullptr ||
      ::ASN1_TIME_set(::X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) ==
          nullptr) {
    return ossl::failure(ErrorCode::CryptoFailure, "certificate serial/validity");
  }
  X509_NAME* name = ::X509_get_subject_name(cert.get());  // owned by cert
  if (::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                   -1, -1, 0) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "certificate subject");
  }
  const X509_NAME* issuer_name = issuer != nullptr ? ::X509_get_subject_name(issuer) : name;
  if (::X509_set_issuer_name(cert.get(), issuer_name) != 1 ||
      ::X509_set_pubkey(cert.get(), subject_key) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "certificate issuer/key");
  }
  ATLS_TRY(add_ext(cert.get(), issuer, NID_basic_constraints,
                   spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  ATLS_TRY(add_ext(cert.get(), issuer, NID_key_usage,
                   spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
  ATLS_TRY(add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    ATLS_TRY(add_ext(cert.get(), issuer, NID_authority_key_identifier, "keyid"));
  }
  std::string san;
  for (const auto& d : spec.dns_names) {
    san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  }
  for (const auto& ip : spec.ip_addresses) {
    san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  if (!san.empty()) {
    ATLS_TRY(add_ext(cert.get(), issuer, NID_subject_alt_name, san));
  }
  EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : subject_key;
  const EVP_MD* md = ossl::key_type(signer) == ossl::KeyType::Ed25519 ? nullptr : ::EVP_sha256();
  if (::X509_sign(cert.get(), signer, md) <= 0) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509_sign");
  }
  return cert;
}

Result<std::string> certificate_pem(X509* cert) {
  ossl::UniquePtr<BIO> bio(::BIO_new(::BIO_s_mem()));
  if (!bio || ::PEM_write_bio_X509(bio.get(), cert) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "PEM_write_bio_X509");
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  if (n <= 0 || p == nullptr) {
    return ossl::failure(ErrorCode::CryptoFailure, "BIO_get_mem_data");
  }
  return std::string(p, static_cast<std::size_t>(n));
}

Result<Bytes> spki_sha256(const X509* cert) {
  ATLS_ASSIGN_OR_RETURN(const Bytes spki, ossl::cert_spki_der(cert));
  return ossl::digest(ossl::HashAlg::Sha256, spki);
}

}  // namespace internal

// ---------------------------------------------------------------------------
// Config

Config::Config() = default;
Config::~Config() = default;

std::shared_ptr<const Config> internal::ConfigAccess::make(std::unique_ptr<ConfigState> state) {
  // Config's constructor is private; a local subclass reaches it through
  // this friend, so that make_shared can build it.
  struct Built final : Config {};
  auto config = std::make_shared<Built>();
  config->m_state = std::move(state);
  return config;
}

Config::Builder Config::builder() {
  return Builder();
}

AttestationMode Config::peer_attestation() const {
  return m_state->peer_attestation;
}
bool Config::has_attester() const {
  return m_state->attester != nullptr;
}

std::string Config::describe() const {
  const auto& s = *m_state;
  auto mode = [](AttestationMode m) {
    switch (m) {
      case AttestationMode::Off:
        return "off";
      case AttestationMode::Optional:
        return "optional";
      case AttestationMode::Required:
        return "required";
    }
    return "?";
  };
  auto cert = [](PeerCertificatePolicy p) {
    switch (p) {
      case PeerCertificatePolicy::WebPki:
        return "webpki";
      case PeerCertificatePolicy::PinnedKey:
        return "pinned-key";
      case PeerCertificatePolicy::AttestationOnly:
        return "attestation-only";
    }
    return "?";
  };
  std::ostringstream o;
  o << "tls_versions = 1.3\n";
  o << "session_tickets = off\nearly_data = off\n";
  o << "identity = "
    << (s.generate_identity ? "attestation-only" : (s.has_identity() ? "certificate" : "none"))
    << "\n";
  o << "attester = " << (s.attester ? std::string(s.attester->name()) : std::string("none"))
    << "\n";
  o << "model = " << (s.is_passport() ? "passport" : "background-check") << "\n";
  o << "peer_attestation = " << mode(s.peer_attestation) << "\n";
  o << "accept_background_check = " << (s.accepts(AttestationModel::BackgroundCheck) ? "yes" : "no")
    << "\n";
  o << "accept_passport = " << (s.accepts(AttestationModel::Passport) ? "yes" : "no") << "\n";
  o << "verifier = " << (s.verifier_url.empty() ? std::string("in-process") : s.verifier_url)
    << "\n";
  o << "verifier_timeout_ms = " << s.verifier_timeout.count() << "\n";
  o << "max_result_age = " << s.policy.max_result_age << "\n";
  o << "peer_certificate_policy = "
    << (s.cert_policy ? cert(*s.cert_policy) : "webpki (client), attestation-only (server)")
    << "\n";
  o << "trust_anchors = " << (s.ca_certs.empty() ? "system" : std::to_string(s.ca_certs.size()))
    << "\n";
  o << "pinned_keys = " << s.pins.size() << "\n";
  o << "negotiation = " << (s.negotiation ? "on" : "off") << "\n";
  o << "exporter_label_policy = "
    << (s.exporter_label == ExporterLabelPolicy::Negotiate
            ? "negotiate"
            : exporter_label_name(s.exporter_label == ExporterLabelPolicy::Attestation
                                      ? ExporterLabel::Attestation
                                      : ExporterLabel::CmwAttestation))
    << "\n";
  o << "first_flight_attestation = " << (s.first_flight ? "on" : "off") << "\n";
  if (s.intra_handshake != IntraHandshake::Off) {
    o << "intra_handshake = "
      << (s.intra_handshake == IntraHandshake::EarlyAttestation ? "early-attestation"
                                                                : "ratls-certificate")
      << "\n";
  }
  char cp[64];
  std::snprintf(cp, sizeof cp, "0x%04X 0x%04X 0x%04X", s.codepoints.cmw_attestation,
                s.codepoints.atls_schemes, s.codepoints.atls_negotiation);
  o << "codepoints = " << cp << "\n";
  o << "handshake_timeout_ms = " << s.handshake_timeout.count() << "\n";
  o << "receive_buffer_limit = " << s.receive_buffer_limit << "\n";
  o << "attestation_timeout_ms = " << s.attestation_timeout.count() << "\n";
  o << "min_reattestation_interval_ms = " << s.min_reattestation_interval.count() << "\n";
  o << "detailed_alerts = " << (s.detailed_alerts ? "on" : "off") << "\n";
  o << "reattest_interval = " << s.policy.reattest_interval << "\n";
  o << "max_control_frame = " << s.frame_limits.max_control << "\n";
  o << "max_data_frame = " << s.frame_limits.max_data << "\n";
  o << "async_attestation_policy = " << (s.async_policy ? "on" : "off") << "\n";
  o << "dangerous_skip_peer_certificate_check = " << (s.dangerous_skip_cert_check ? "yes" : "no")
    << "\n";
  o << "dangerous_skip_hostname_check = " << (s.dangerous_skip_hostname ? "yes" : "no") << "\n";
  return o.str();
}

// ---------------------------------------------------------------------------
// Builder

Config::Builder::Builder()
    : m_state(std::make_unique<internal::ConfigState>()), m_dangerous(*this) {}
Config::Builder::~Builder() = default;
Config::Builder::Builder(Builder&& o) noexcept
    : m_state(std::move(o.m_state)), m_dangerous(*this) {}
Config::Builder& Config::Builder::operator=(Builder&& o) noexcept {
  m_state = std::move(o.m_state);
  return *this;
}

Config::DangerousBuilder& Config::DangerousBuilder::skip_peer_certificate_check() {
  m_builder.m_state->dangerous_skip_cert_check = true;
  return *this;
}
Config::DangerousBuilder& Config::DangerousBuilder::skip_hostname_check() {
  m_builder.m_state->dangerous_skip_hostname = true;
  return *this;
}

Config::Builder& Config::Builder::certificate_chain_file(std::string path) {
  m_state->chain_file = std::move(path);
  return *this;
}

Config::Builder& Config::Builder::private_key_file(std::string path) {
  m_state->key_file = std::move(path);
  return *this;
}

Config::Builder& Config::Builder::certificate_chain_pem(std::string pem) {
  m_state->chain_pem = std::move(pem);
  return *this;
}

Config::Builder& Config::Builder::private_key_pem(std::string pem) {
  m_state->key_pem = std::move(pem);
  return *this;
}

Config::Builder& Config::Builder::attestation_only_identity(std::string cn) {
  m_state->generate_identity = true;
  m_state->identity_cn = std::move(cn);
  return *this;
}

Config::Builder& Config::Builder::attester(std::shared_ptr<Attester> a, AttestationModel model) {
  m_state->attester = std::move(a);
  m_state->model = model;
  return *this;
}

Config::Builder& Config::Builder::passport_verifier_id(std::string id) {
  m_state->passport_verifier_id = std::move(id);
  return *this;
}

Config::Builder& Config::Builder::peer_attestation(AttestationMode mode) {
  m_state->peer_attestation = mode;
  return *this;
}

Config::Builder& Config::Builder::policy_file(std::string path) {
  m_state->policy_file = std::move(path);
  m_state->policy_text.clear();
  return *this;
}

Config::Builder& Config::Builder::policy_json(std::string text, std::string base_dir) {
  m_state->policy_text = std::move(text);
  m_state->policy_base_dir = std::move(base_dir);
  m_state->policy_file.clear();
  return *this;
}

Config::Builder& Config::Builder::accept_models(std::vector<AttestationModel> models) {
  m_state->accept_models = std::move(models);
  return *this;
}

Config::Builder& Config::Builder::max_result_age(std::chrono::seconds age) {
  m_state->max_result_age = age;
  return *this;
}

Config::Builder& Config::Builder::add_verifier(std::shared_ptr<const Verifier> verifier,
                                               std::shared_ptr<const Appraiser> appraiser) {
  m_state->plugins.emplace_back(std::move(verifier), std::move(appraiser));
  return *this;
}

Config::Builder& Config::Builder::peer_certificate_policy(PeerCertificatePolicy p) {
  m_state->cert_policy = p;
  return *this;
}

Config::Builder& Config::Builder::ca_file(std::string path) {
  m_state->ca_file = std::move(path);
  return *this;
}

Config::Builder& Config::Builder::ca_pem(std::string pem) {
  m_state->ca_pem = std::move(pem);
  return *this;
}

Config::Builder& Config::Builder::pin_spki_sha256(Bytes digest) {
  m_state->pins.push_back(std::move(digest));
  if (!m_state->cert_policy) {
    m_state->cert_policy = PeerCertificatePolicy::PinnedKey;
  }
  return *this;
}

Config::Builder& Config::Builder::negotiation(bool on) {
  m_state->negotiation = on;
  return *this;
}

Config::Builder& Config::Builder::codepoints(Codepoints cp) {
  m_state->codepoints = cp;
  return *this;
}

Config::Builder& Config::Builder::exporter_label_policy(ExporterLabelPolicy policy) {
  m_state->exporter_label = policy;
  return *this;
}

Config::Builder& Config::Builder::first_flight_attestation(bool on) {
  m_state->first_flight = on;
  return *this;
}

Config::Builder& Config::Builder::intra_handshake(IntraHandshake mode) {
  m_state->intra_handshake = mode;
  return *this;
}

Config::Builder& Config::Builder::attestation_timeout(std::chrono::milliseconds t) {
  m_state->attestation_timeout = t;
  return *this;
}

Config::Builder& Config::Builder::reattest_interval(std::chrono::seconds i) {
  m_state->reattest_interval = i;
  return *this;
}

Config::Builder& Config::Builder::frame_limits(FrameLimits limits) {
  m_state->frame_limits = limits;
  return *this;
}

Config::Builder& Config::Builder::async_attestation_policy(bool on) {
  m_state->async_policy = on;
  return *this;
}

Config::Builder& Config::Builder::clock(std::shared_ptr<const Clock> c) {
  m_state->clock = std::move(c);
  return *this;
}

Config::Builder& Config::Builder::rng(std::shared_ptr<Rng> r) {
  m_state->rng = std::move(r);
  return *this;
}

Config::Builder& Config::Builder::receive_buffer_limit(std::size_t bytes) {
  m_state->receive_buffer_limit = bytes;
  return *this;
}

Config::Builder& Config::Builder::handshake_timeout(std::chrono::milliseconds timeout) {
  m_state->handshake_timeout = timeout;
  return *this;
}

Config::Builder& Config::Builder::min_reattestation_interval(std::chrono::milliseconds interval) {
  m_state->min_reattestation_interval = interval;
  return *this;
}

Config::Builder& Config::Builder::detailed_alerts(bool on) {
  m_state->detailed_alerts = on;
  return *this;
}

Config::Builder& Config::Builder::gateway_token(GatewayToken token) {
  m_state->gateway_token = std::move(token);
  return *this;
}

Config::Builder& Config::Builder::accept_gateway_tokens(
    Bytes key, std::string audience, std::shared_ptr<GatewayReplayCache> replay) {
  m_state->gateway_key = ossl::SecretBytes(key);
  OPENSSL_cleanse(key.data(), key.size());
  m_state->gateway_audience = std::move(audience);
  m_state->gateway_replay = std::move(replay);
  return *this;
}

Config::Builder& Config::Builder::verifier(std::string url, std::string ca_file) {
  m_state->verifier_url = std::move(url);
  m_state->verifier_ca_file = std::move(ca_file);
  return *this;
}

Config::Builder& Config::Builder::verifier_timeout(std::chrono::milliseconds timeout) {
  m_state->verifier_timeout = timeout;
  return *this;
}

internal::ConfigState::~ConfigState() {
  ossl::cleanse(key_pem);
}

namespace {

Result<void> load_identity(internal::ConfigState& s) {
  const bool have_chain = !s.chain_file.empty() || !s.chain_pem.empty();
  const bool have_key = !s.key_file.empty() || !s.key_pem.empty();
  if (have_chain != have_key) {
    return Error{ErrorCode::InvalidArgument,
                 "a certificate chain needs its private key and vice versa"};
  }
  if (have_chain && s.generate_identity) {
    return Error{ErrorCode::InvalidArgument,
                 "attestation_only_identity() and a certificate chain exclude each other"};
  }
  if (have_chain) {
    std::string chain_text = s.chain_pem;
    std::string key_text = s.key_pem;
    if (!s.chain_file.empty()) {
      ATLS_ASSIGN_OR_RETURN(chain_text, internal::read_text_file(s.chain_file));
    }
    if (!s.key_file.empty()) {
      ATLS_ASSIGN_OR_RETURN(key_text, internal::read_text_file(s.key_file));
    }
    ATLS_ASSIGN_OR_RETURN(s.chain, ossl::parse_certificates(to_bytes(chain_text)));
    // The private key's text is wiped as soon as OpenSSL holds the key.
    Bytes key_bytes = to_bytes(key_text);
    ossl::cleanse(key_text);
    ossl::cleanse(s.key_pem);
    auto key = ossl::parse_private_key(key_bytes);
    ossl::cleanse(key_bytes);
    ATLS_ASSIGN_OR_RETURN(s.key, std::move(key));
    if (::X509_check_private_key(s.chain.front().get(), s.key.get()) != 1) {
      ossl::drain_errors();
      return Error{ErrorCode::KeyInvalid, "the private key does not match the leaf certificate"};
    }
  } else if (s.generate_identity || s.attester) {
    // An attester without a certificate gets an attestation-only identity:
    // a key generated here, named by the Evidence it is bound to.
    ATLS_ASSIGN_OR_RETURN(s.key, ossl::generate_key(ossl::KeyType::EcP256));
    internal::CertificateSpec spec;
    spec.common_name = s.identity_cn;
    const std::int64_t now = s.clock->now();
    spec.not_before = now - 3600;
    spec.not_after = now + 365 * 86400;
    ATLS_ASSIGN_OR_RETURN(auto cert,
                          internal::make_certificate(spec, s.key.get(), nullptr, nullptr));
    s.chain.push_back(std::move(cert));
    s.generate_identity = true;
  }
  for (const auto& c : s.chain) {
    ATLS_ASSIGN_OR_RETURN(Bytes der, ossl::cert_der(c.get()));
    s.chain_der.push_back(std::move(der));
  }
  if (!s.chain.empty()) {
    // The binder's key input, the same on every connection. Should it not
    // encode, the handshake reports that (Engine::on_auth_request).
    if (auto spki = ossl::cert_spki_der(s.chain.front().get())) {
      s.leaf_spki = std::move(*spki);
    }
  }
  return ok();
}

}  // namespace

namespace {
Result<std::shared_ptr<const Config>> build_config(std::unique_ptr<internal::ConfigState> s);
}  // namespace

Result<std::shared_ptr<const Config>> Config::Builder::build() {
  if (!m_state) {
    return Error{ErrorCode::InvalidArgument, "builder was moved from"};
  }
  try {
    auto s = std::move(m_state);
    m_state = std::make_unique<internal::ConfigState>();
    return build_config(std::move(s));
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string("building the config: ") + e.what()};
  }
}

namespace {

Result<std::shared_ptr<const Config>> build_config(std::unique_ptr<internal::ConfigState> s) {
  if (!s->clock) {
    s->clock = std::make_shared<SystemClock>();
  }
  if (!s->rng) {
    s->rng = std::make_shared<SystemRng>();
  }
  if (s->accept_models.empty() && s->peer_attestation != AttestationMode::Off) {
    return Error{ErrorCode::InvalidArgument,
                 "accept_models is empty but peer attestation is not off"};
  }
  if (s->receive_buffer_limit < 16 * 1024) {
    return Error{ErrorCode::InvalidArgument, "receive_buffer_limit must be at least 16 KiB"};
  }
  if (s->handshake_timeout.count() <= 0) {
    return Error{ErrorCode::InvalidArgument, "handshake_timeout must be positive"};
  }
  if (s->min_reattestation_interval.count() < 0) {
    return Error{ErrorCode::InvalidArgument, "min_reattestation_interval must not be negative"};
  }
  if (s->attestation_timeout.count() <= 0) {
    return Error{ErrorCode::InvalidArgument, "attestation_timeout must be positive"};
  }
  if (s->reattest_interval && s->reattest_interval->count() <= 0) {
    return Error{ErrorCode::InvalidArgument, "reattest_interval must be positive"};
  }
  if (s->max_result_age && s->max_result_age->count() <= 0) {
    return Error{ErrorCode::InvalidArgument, "max_result_age must be positive"};
  }
  if (s->frame_limits.max_control < 1024 || s->frame_limits.max_data < 1 ||
      s->frame_limits.max_control > tls::kMaxFrameBody ||
      s->frame_limits.max_data > tls::kMaxFrameBody) {
    return Error{ErrorCode::InvalidArgument,
                 "frame limits must be within 1 KiB (control) .. 2^24-1"};
  }
  for (const auto& pin : s->pins) {
    if (pin.size() != 32) {
      return Error{ErrorCode::InvalidArgument, "a pinned SPKI SHA-256 is 32 bytes"};
    }
  }
  const PeerCertificatePolicy cp = s->effective_cert_policy(Role::Client);
  if (cp == PeerCertificatePolicy::PinnedKey && s->pins.empty()) {
    return Error{ErrorCode::InvalidArgument, "the pinned-key policy needs pin_spki_sha256()"};
  }
  if (s->cert_policy == PeerCertificatePolicy::AttestationOnly &&
      s->peer_attestation != AttestationMode::Required) {
    return Error{ErrorCode::InvalidArgument,
                 "the attestation-only certificate policy needs peer_attestation(Required)"};
  }
  if (!s->verifier_url.empty()) {
    remote::ClientOptions vo;
    vo.url = s->verifier_url;
    vo.ca_file = s->verifier_ca_file;
    vo.timeout = s->verifier_timeout;
    ATLS_ASSIGN_OR_RETURN(s->verifier, remote::VerifierClient::create(std::move(vo)));
  } else if (!s->verifier_ca_file.empty()) {
    return Error{ErrorCode::InvalidArgument, "a Verifier CA file needs a Verifier URL"};
  }
  s->registry = builtin_registry();
  for (auto& [verifier, appraiser] : s->plugins) {
    if (!verifier || !appraiser) {
      return Error{ErrorCode::InvalidArgument, "add_verifier needs a Verifier and its Appraiser"};
    }
    s->registry.add_verifier(verifier);
    s->registry.add_appraiser(appraiser);
  }
  if (!s->policy_file.empty()) {
    ATLS_ASSIGN_OR_RETURN(s->policy, load_policy_file(s->policy_file, s->registry));
  } else if (!s->policy_text.empty()) {
    ATLS_ASSIGN_OR_RETURN(s->policy, parse_policy(s->policy_text, s->registry, s->policy_base_dir));
  }
  if (s->reattest_interval) {
    s->policy.reattest_interval = s->reattest_interval->count();
  }
  if (s->max_result_age) {
    s->policy.max_result_age = s->max_result_age->count();
  }
  if (cp == PeerCertificatePolicy::WebPki && (!s->ca_file.empty() || !s->ca_pem.empty())) {
    std::string text = s->ca_pem;
    if (!s->ca_file.empty()) {
      ATLS_ASSIGN_OR_RETURN(std::string f, internal::read_text_file(s->ca_file));
      text += "\n" + f;
    }
    ATLS_ASSIGN_OR_RETURN(s->ca_certs, ossl::parse_certificates(to_bytes(text)));
  }
  ATLS_TRY(load_identity(*s));
  if (s->gateway_token && (s->gateway_token->psk.size() != gateway::kPskSize ||
                           !gateway::is_token_identity(s->gateway_token->identity))) {
    return Error{ErrorCode::InvalidArgument, "gateway_token: not an atls gateway token"};
  }
  if ((s->gateway_token || !s->gateway_key.empty()) && s->intra_handshake != IntraHandshake::Off) {
    return Error{ErrorCode::InvalidArgument,
                 "gateway tokens and the intra-handshake mode exclude each other"};
  }
  if (!s->gateway_key.empty()) {
    if (s->gateway_key.size() != gateway::kGatewayKeySize) {
      return Error{ErrorCode::InvalidArgument, "accept_gateway_tokens: the key is 32 bytes"};
    }
    if (!s->gateway_replay) {
      s->gateway_replay = std::make_shared<GatewayReplayCache>();
    }
    s->token_acceptor = std::make_shared<gateway::TokenAcceptor>(
        s->gateway_key.view(), s->gateway_audience, s->gateway_replay);
  }

  s->client_ctx.reset(::SSL_CTX_new(::TLS_client_method()));
  if (!s->client_ctx) {
    return ossl::failure(ErrorCode::Internal, "SSL_CTX_new");
  }
  ATLS_TRY(internal::prepare_ctx(s->client_ctx.get(), *s, Role::Client, true));
  if (s->has_identity() || s->token_acceptor) {
    s->server_ctx.reset(::SSL_CTX_new(::TLS_server_method()));
    if (!s->server_ctx) {
      return ossl::failure(ErrorCode::Internal, "SSL_CTX_new");
    }
    ATLS_TRY(internal::prepare_ctx(s->server_ctx.get(), *s, Role::Server, true));
  }
  return internal::ConfigAccess::make(std::move(s));
}

}  // namespace

}  // namespace atls
