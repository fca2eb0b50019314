#pragma once

// The internal state behind atls::Config: settings as given, plus what
// build() resolved from them (certificates and keys, the parsed policy, the
// plug-in registry and the two prepared SSL_CTX objects).

#include <atls/attester.h>
#include <atls/clock.h>
#include <atls/config.h>
#include <atls/openssl.h>

#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/gateway/acceptor.h"
#include "src/ossl/ossl.h"
#include "src/ossl/secret.h"
#include "src/ossl/ssl_ptr.h"
#include "src/ossl/x509.h"
#include "src/remote/verifier_client.h"
#include "src/tls/authenticator.h"
#include "src/tls/frame.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace atls::internal {

struct ConfigState {
  ConfigState() = default;
  ConfigState(const ConfigState&) = delete;
  ConfigState& operator=(const ConfigState&) = delete;
  // A private key given as PEM that build() did not consume is wiped.
  ~ConfigState();

  // --- as given ---------------------------------------------------------------
  std::string chain_file, key_file, chain_pem, key_pem;
  bool generate_identity = false;
  std::string identity_cn = "atls attested endpoint";

  std::shared_ptr<Attester> attester;
  AttestationModel model = AttestationModel::BackgroundCheck;
  std::string passport_verifier_id;

  AttestationMode peer_attestation = AttestationMode::Required;
  std::string policy_file, policy_text, policy_base_dir = ".";
  std::vector<AttestationModel> accept_models = {AttestationModel::BackgroundCheck,
                                                 AttestationModel::Passport};
  // Plug-ins added with Config::Builder::add_verifier, in call order; they
  // are registered after the built-in ones, so they win for their types.
  std::vector<std::pair<std::shared_ptr<const Verifier>, std::shared_ptr<const Appraiser>>> plugins;

  // The remote Verifier (Config::Builder::verifier), resolved by build().
  std::string verifier_url, verifier_ca_file;
  std::chrono::milliseconds verifier_timeout{5000};
  std::shared_ptr<const remote::VerifierClient> verifier;

  std::optional<PeerCertificatePolicy> cert_policy;
  std::string ca_file, ca_pem;
  std::vector<Bytes> pins;

  bool negotiation = true;
  Codepoints codepoints;
  ExporterLabelPolicy exporter_label = ExporterLabelPolicy::Negotiate;
  bool first_flight = true;
  IntraHandshake intra_handshake = IntraHandshake::Off;
  std::chrono::milliseconds handshake_timeout{10000};
  std::size_t receive_buffer_limit = 8 * 1024 * 1024;
  std::chrono::milliseconds attestation_timeout{10000};
  std::chrono::milliseconds min_reattestation_interval{1000};
  bool detailed_alerts = false;
  // Overrides of the policy's settings (Config::Builder::reattest_interval,
  // max_result_age); build() applies them to |policy|.
  std::optional<std::chrono::seconds> reattest_interval;
  std::optional<std::chrono::seconds> max_result_age;
  FrameLimits frame_limits;
  bool async_policy = false;

  std::shared_ptr<const Clock> clock;
  std::shared_ptr<Rng> rng;

  // Gateway tokens (docs/gateway.md): a client's token; a server's key
  // (as given) and the acceptor build() makes of it.
  std::optional<GatewayToken> gateway_token;
  ossl::SecretBytes gateway_key;
  std::string gateway_audience;
  std::shared_ptr<GatewayReplayCache> gateway_replay;
  std::shared_ptr<gateway::TokenAcceptor> token_acceptor;

  bool dangerous_skip_cert_check = false;
  bool dangerous_skip_hostname = false;

  // --- resolved by build() ----------------------------------------------------
  // Our identity: the chain (leaf first, DER) and its private key. Empty
  // when this endpoint has none (a client that does not attest).
  std::vector<Bytes> chain_der;
  ossl::UniquePtr<EVP_PKEY> key;
  std::vector<ossl::UniquePtr<X509>> chain;
  Bytes leaf_spki;  // DER SubjectPublicKeyInfo of chain[0] (the binder's key)
  std::vector<ossl::UniquePtr<X509>> ca_certs;  // empty with WebPki: system roots
  // The appraisal policy: the configured one with the overrides above
  // applied, or a default Policy when none is configured.
  Policy policy;
  Registry registry;
  ossl::UniquePtr<SSL_CTX> client_ctx;
  ossl::UniquePtr<SSL_CTX> server_ctx;  // null without an identity
  // Peers' authenticator certificates decoded on earlier connections of
  // this config (a parse cache: every check still runs on each use).
  ossl::CertificateCache peer_certificates;

  // effective_cert_policy: the configured policy, else WebPki for a
  // client (checking its server) and AttestationOnly for a server (its
  // clients' identities are the keys their Evidence binds).
  PeerCertificatePolicy effective_cert_policy(Role role = Role::Client) const {
    return cert_policy.value_or(role == Role::Server ? PeerCertificatePolicy::AttestationOnly
                                                     : PeerCertificatePolicy::WebPki);
  }
  // is_passport: our attester sends attestation results.
  bool is_passport() const;
  bool has_identity() const { return key != nullptr && !chain_der.empty(); }
  bool accepts(AttestationModel m) const;

  tls::ExtensionCodepoints ext_codepoints() const;
  tls::FrameLimits tls_frame_limits() const;
  // own_scheme is the scheme our attester produces (nullopt: no attester).
  std::optional<tls::AttestationScheme> own_scheme() const;
  // accepted_schemes lists, in our order of preference, what we accept
  // from the peer: Evidence media types with a verifier in the policy (or
  // every verifier's when the policy names none), then a passport result.
  std::vector<tls::AttestationScheme> accepted_schemes() const;
  // accepts_push: as a relying party we can take a pushed authenticator
  // (docs/wire-profile.md §1.9): first flight on, and no remote Verifier
  // whose nonce must be the context of a request for Evidence.
  bool accepts_push() const;
};

// ConfigAccess is the library's way into a Config (a friend of it):
// <atls/config.h> shows no internal state.
struct ConfigAccess {
  // state returns the Config's internal state (valid while |config| lives).
  static const ConfigState& state(const Config& config) { return *config.m_state; }
  // make wraps built state into a Config.
  static std::shared_ptr<const Config> make(std::unique_ptr<ConfigState> state);
};

// config_state is ConfigAccess::state, for brevity at call sites.
inline const ConfigState& config_state(const Config& config) {
  return ConfigAccess::state(config);
}

// scheme_matches compares two schemes; a passport scheme with an empty
// verifier identity stands for "any Verifier the relying party trusts".
bool scheme_matches(const tls::AttestationScheme& a, const tls::AttestationScheme& b);

// lists_scheme reports whether |list| holds a scheme that scheme_matches |s|.
bool lists_scheme(std::span<const tls::AttestationScheme> list, const tls::AttestationScheme& s);

// CertificateSpec describes a certificate for make_certificate.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName dNSName
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress ("127.0.0.1")
  bool is_ca = false;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};

// make_certificate issues a certificate for |subject_key| (borrowed),
// signed by |issuer_key| under |issuer| (both borrowed; issuer == nullptr:
// self-signed with subject_key). Fails with CryptoFailure.
Result<ossl::UniquePtr<X509>> make_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                               X509* issuer, EVP_PKEY* issuer_key);

// certificate_pem renders a certificate as PEM.
Result<std::string> certificate_pem(X509* cert);

// spki_sha256 returns SHA-256 of the DER SubjectPublicKeyInfo of |cert|.
Result<Bytes> spki_sha256(const X509* cert);

}  // namespace atls::internal
