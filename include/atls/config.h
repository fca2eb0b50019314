#pragma once

// Immutable configuration of an attested TLS endpoint (client or server),
// built once with Config::Builder and shared by every connection as a
// std::shared_ptr<const Config>. docs/wire-profile.md §1 is the wire profile.

#include <atls/attester.h>
#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/export.h>
#include <atls/gateway.h>
#include <atls/result.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace atls {

class Verifier;   // <atls/verifier.h>
class Appraiser;  // <atls/verifier.h>

namespace internal {
struct ConfigState;
struct ConfigAccess;
}  // namespace internal

// AttestationMode says what an endpoint requires of its peer's attestation.
enum class AttestationMode : std::uint8_t {
  // The peer is not asked to attest.
  Off,
  // The peer is asked when it announces support (atls_negotiation); against
  // a peer without atls the connection continues as plain TLS. A failed
  // appraisal is still fatal.
  Optional,
  // The connection fails unless the peer attests (AttestationRequired,
  // AttestationTimeout or the appraisal's code).
  Required,
};

// AttestationModel is a RATS topology (RFC 9334 §5).
enum class AttestationModel : std::uint8_t {
  // The attester sends Evidence; the relying party appraises it in-process.
  BackgroundCheck,
  // The attester sends an Attestation Result (EAR) from a Verifier.
  Passport,
};

// PeerCertificatePolicy says how the peer's certificates (the TLS handshake
// certificate, if any, and the authenticator's leaf) are checked.
enum class PeerCertificatePolicy : std::uint8_t {
  // Chain to the system roots or to the configured CA certificates; a
  // client also checks the host name it connected to.
  WebPki,
  // The SHA-256 of the leaf's DER SubjectPublicKeyInfo must be one of the
  // pinned values.
  PinnedKey,
  // Any certificate: the peer's identity is the key its Evidence binds (the
  // onboarding case). Needs AttestationMode::Required.
  AttestationOnly,
};

// ExporterLabel is the TLS exporter label of the attestation binder
// (docs/wire-profile.md §1.5; docs/protocol-choices.md says why both exist).
enum class ExporterLabel : std::uint8_t {
  // "Attestation": wire profile 1 and draft-fossati-seat-expat -02/-03.
  Attestation,
  // "EXPORTER-cmw-attestation": draft-fossati-seat-expat -04.
  CmwAttestation,
};

// exporter_label_name returns the label's bytes as the exporter uses them.
ATLS_API std::string_view exporter_label_name(ExporterLabel label) noexcept;

// ExporterLabelPolicy says which label an endpoint uses.
enum class ExporterLabelPolicy : std::uint8_t {
  // Offer and accept EXPORTER-cmw-attestation in atls_negotiation; use it
  // when both peers agree there, "Attestation" otherwise (also with
  // negotiation off).
  Negotiate,
  // Always "Attestation"; never offer or accept the other.
  Attestation,
  // Always EXPORTER-cmw-attestation: with negotiation on, a peer that does
  // not agree fails the handshake (ExporterLabelUnsupported).
  CmwAttestation,
};

// Codepoints are the TLS extension types of docs/wire-profile.md (none is assigned by
// IANA; the defaults are private-use values). 0xFFA3 is reserved for the
// intra-handshake remoteAttestation extension (docs/protocol-choices.md).
struct Codepoints {
  std::uint16_t cmw_attestation = 0xFFA0;
  std::uint16_t atls_schemes = 0xFFA1;
  std::uint16_t atls_negotiation = 0xFFA2;
  std::uint16_t remote_attestation = 0xFFA3;  // IntraHandshake::EarlyAttestation only
};

// IntraHandshake selects where attestation happens (docs/intra-handshake.md).
enum class IntraHandshake : std::uint8_t {
  // Post-handshake (docs/wire-profile.md §1): the default.
  Off,
  // draft-fossati-seat-early-attestation: Evidence in the handshake's leaf
  // CertificateEntry, bound to ClientHello..ServerHello and the leaf key.
  // Zero extra round trips, no re-attestation, and NOT relay-resistant
  // against a TLS-terminating relay that holds a genuine attester's key
  // (docs/intra-handshake.md). Both peers must use it.
  EarlyAttestation,
  // RA-TLS style (docs/intra-handshake.md, "RA-TLS certificates"): the
  // server mints a self-signed certificate per connection whose id-pe-cmw
  // extension holds Evidence with nonce SHA-256(SPKI ‖ ClientHello.random);
  // the client appraises it in its certificate check. Server attestation
  // only; the same relay caveat as EarlyAttestation. Both peers must use it.
  RatlsCertificate,
};

// FrameLimits bound the frames accepted from the peer (docs/wire-profile.md §1.2):
// a longer frame is a decode_error (FrameTooLarge) and is never allocated.
struct FrameLimits {
  std::size_t max_control = 64 * 1024;
  std::size_t max_data = 1024 * 1024;
};

// Config is the immutable configuration of an endpoint. Build it with
// Config::builder(); Client, Server and the OpenSSL attach functions take a
// std::shared_ptr<const Config> and keep it alive as long as they need it.
class ATLS_API Config {
 public:
  class Builder;
  class DangerousBuilder;

  // builder returns an empty builder: no certificate, no attester, peer
  // attestation Required, WebPKI with the system roots (as a client),
  // negotiation on.
  static Builder builder();

  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // peer_attestation returns what this endpoint requires of its peer.
  AttestationMode peer_attestation() const;
  // has_attester reports whether this endpoint attests to its peer.
  bool has_attester() const;
  // describe renders the effective settings as text (one "key = value" a
  // line), so that a changed default shows in a review.
  std::string describe() const;

 private:
  friend struct internal::ConfigAccess;
  Config();
  std::unique_ptr<internal::ConfigState> m_state;
};

// Config::DangerousBuilder holds the settings that weaken checks. Reach it
// with Config::Builder::dangerous(); each call says what it gives up.
class ATLS_API Config::DangerousBuilder {
 public:
  // skip_peer_certificate_check accepts any peer certificate under the
  // WebPki and PinnedKey policies (attestation still binds the connection).
  DangerousBuilder& skip_peer_certificate_check();
  // skip_hostname_check keeps the WebPKI chain check but not the host name.
  DangerousBuilder& skip_hostname_check();
  // back returns the builder.
  Builder& back() { return m_builder; }

 private:
  friend class Builder;
  explicit DangerousBuilder(Builder& b) : m_builder(b) {}
  Builder& m_builder;
};

// Config::Builder collects settings; build() validates them and returns the
// immutable Config. Setters return *this; errors are reported by build().
class ATLS_API Config::Builder {
 public:
  Builder();
  ~Builder();
  Builder(Builder&&) noexcept;
  Builder& operator=(Builder&&) noexcept;
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  // --- our identity -------------------------------------------------------
  // certificate_chain_file / private_key_file: PEM files (leaf first).
  Builder& certificate_chain_file(std::string path);
  Builder& private_key_file(std::string path);
  // certificate_chain_pem / private_key_pem: the same, in memory.
  Builder& certificate_chain_pem(std::string pem);
  Builder& private_key_pem(std::string pem);
  // attestation_only_identity makes build() generate a P-256 key and a
  // self-signed leaf for |common_name|: the identity is whatever the
  // Evidence binds (onboarding). The key never leaves the process. The same
  // leaf serves the TLS handshake (server) and the authenticators.
  Builder& attestation_only_identity(std::string common_name = "atls attested endpoint");

  // --- what we attest with ------------------------------------------------
  // attester sets our Attester (shared; it must be thread-safe if several
  // connections attest at once). Background-check: it returns Evidence;
  // passport: it returns a CMW holding an EAR (the EAR plug-in's passport
  // attester; an attester whose media type is application/eat+jwt counts
  // as passport whatever |model| says). Without a certificate chain, an
  // attester implies attestation_only_identity().
  Builder& attester(std::shared_ptr<Attester> attester,
                    AttestationModel model = AttestationModel::BackgroundCheck);
  // passport_verifier_id names the Verifier in a passport scheme (the key
  // id of its EAR signing key; docs/wire-profile.md §4). Default "".
  Builder& passport_verifier_id(std::string id);

  // --- what we require of the peer ----------------------------------------
  // peer_attestation: Off, Optional or Required (default Required).
  Builder& peer_attestation(AttestationMode mode);
  // policy_file / policy_json: the appraisal policy (docs/policy.md),
  // parsed with the built-in plug-ins and those given to add_verifier().
  // Without one, the default policy applies (docs/policy.md: its defaults,
  // no trust anchors, no reference values), so most Evidence fails with
  // KeyUntrusted.
  Builder& policy_file(std::string path);
  Builder& policy_json(std::string json_text, std::string base_dir = ".");
  // accept_models lists the models we accept from the peer (default both).
  Builder& accept_models(std::vector<AttestationModel> models);
  // max_result_age bounds the age of a passport EAR (seconds, > 0); it
  // overrides the policy's max_result_age (default 300).
  Builder& max_result_age(std::chrono::seconds age);
  // add_verifier registers a Verifier and its Appraiser (both required,
  // shared, and thread-safe: connections verify concurrently) for the
  // media types they accept. They are registered after the built-in
  // plug-ins, so they replace a built-in plug-in for the same media type;
  // among several calls the last one wins. The policy's "schemes" section
  // may name their media types, and they are offered to the peer in the
  // atls_schemes list. build() fails with InvalidArgument when either is
  // null.
  Builder& add_verifier(std::shared_ptr<const Verifier> verifier,
                        std::shared_ptr<const Appraiser> appraiser);

  // verifier makes a remote Verifier service (docs/verifier-service.md) do
  // the appraisal: the peer's Evidence goes to one of its challenge-response
  // sessions, whose nonce is the request's certificate_request_context, and
  // the connection is decided on the EAR it returns (signature, the binder
  // as its nonce, then this policy's tier and machine pins). Its EAR key,
  // from its well-known endpoint, is also trusted for passports unless the
  // policy names verifier_keys of its own. |url| is https://HOST:PORT (plain
  // http:// on loopback only); |ca_file| holds the CA certificates that
  // authenticate it (default: the system's roots). Without a verifier, the
  // appraisal runs in-process.
  Builder& verifier(std::string url, std::string ca_file = "");
  // verifier_timeout bounds each call to the remote Verifier (default 5 s);
  // a Verifier that is down or slower fails the connection with
  // VerifierUnavailable or VerifierTimeout.
  Builder& verifier_timeout(std::chrono::milliseconds timeout);

  // --- certificate policy for the peer -----------------------------------
  // peer_certificate_policy: default WebPki when this Config is used by a
  // client (for the server's certificates) and AttestationOnly when used by
  // a server (a client's authenticator leaf is its attestation identity).
  Builder& peer_certificate_policy(PeerCertificatePolicy policy);
  // ca_file / ca_pem: trust anchors for WebPki instead of the system roots.
  Builder& ca_file(std::string path);
  Builder& ca_pem(std::string pem);
  // pin_spki_sha256 adds a pinned SHA-256(DER SPKI) (32 bytes); it also
  // selects PeerCertificatePolicy::PinnedKey.
  Builder& pin_spki_sha256(Bytes digest);

  // --- protocol ------------------------------------------------------------
  // negotiation switches the atls_negotiation extension (default on).
  Builder& negotiation(bool on);
  Builder& codepoints(Codepoints cp);
  // exporter_label_policy: which binder label to use (default Negotiate).
  Builder& exporter_label_policy(ExporterLabelPolicy policy);
  // first_flight_attestation (default on; docs/wire-profile.md §1.9): as a
  // server, push our authenticator right after our Finished when the
  // client's atls_negotiation accepts it, and send our request for client
  // attestation in the same flight; as a client, accept a pushed server
  // authenticator (not with a remote Verifier for Evidence, whose nonce
  // needs a request). No round trip is spent on attestation then.
  Builder& first_flight_attestation(bool on);
  // intra_handshake (default Off): IntraHandshake::EarlyAttestation or
  // RatlsCertificate attest inside the TLS handshake instead of after it
  // (docs/intra-handshake.md);
  // the connection then carries application bytes only, and reattest()
  // fails with InvalidArgument.
  Builder& intra_handshake(IntraHandshake mode);
  // attestation_timeout: how long an RP waits for a valid authenticator
  // (default 10 s; docs/wire-profile.md §1.2).
  Builder& attestation_timeout(std::chrono::milliseconds timeout);
  // handshake_timeout bounds the TLS handshake of Client::connect,
  // Server::accept and Connection::handshake (default 10 s); a peer that
  // stays silent fails with HandshakeTimeout. The first attestation then has
  // attestation_timeout.
  Builder& handshake_timeout(std::chrono::milliseconds timeout);
  // receive_buffer_limit: received application bytes a Connection holds
  // for the application before it stops reading its socket (backpressure;
  // default 8 MiB, at least 16 KiB). A proxy that reads only as fast as it
  // can pass bytes on sets it to its own buffer size.
  Builder& receive_buffer_limit(std::size_t bytes);
  // reattest_interval overrides the policy's reattest_interval (§1.8; > 0).
  Builder& reattest_interval(std::chrono::seconds interval);
  // min_reattestation_interval: as an attester, answer the peer's requests
  // after the first at most this often (default 1 s); a request that comes
  // sooner is answered when the interval has passed. It bounds how busy one
  // peer can keep a shared attester such as a TPM.
  Builder& min_reattestation_interval(std::chrono::milliseconds interval);
  // detailed_alerts: put the full error text in the ALERT frames we send
  // (default off: the code and the error's name only, so that local file
  // paths and library messages stay local).
  Builder& detailed_alerts(bool on);
  Builder& frame_limits(FrameLimits limits);
  // async_attestation_policy (opt-in, docs/wire-profile.md §1.8): an RP may send
  // DATA before its appraisal finishes; received DATA is held until the
  // appraisal succeeds and dropped if it fails; verification runs on a
  // worker thread instead of the I/O thread.
  Builder& async_attestation_policy(bool on);

  // --- pre-handshake attestation (docs/gateway.md) ---------------------------
  // gateway_token: this client connects with the token's PSK (TLS 1.3
  // external PSK with a fresh (EC)DHE share, SHA-256 suites only) and no
  // attestation runs on the connection: the gateway already appraised this
  // client, and the server proves that it holds the gateway key by
  // completing the handshake. peer_attestation and the certificate policy
  // are not consulted. A server that does not take the token fails the
  // handshake with GatewayTokenNotAccepted (it sent a certificate), one that
  // refuses it with GatewayTokenRejected.
  Builder& gateway_token(GatewayToken token);
  // accept_gateway_tokens: this server also admits clients that present a
  // token sealed under |key| (32 bytes, shared with the gateway): their
  // appraisal is the token's summary, checked against this Config's policy
  // (pinned machine ids, required tier) and exposed as peer_result(). With
  // |audience| set, a token must name this server. A server without a
  // certificate admits token clients only (GatewayTokenRequired for others).
  // The key is copied and wiped with the Config. |replay| (null: a new one)
  // holds the single-use tokens already admitted; share one across the
  // Configs a reloading server builds.
  Builder& accept_gateway_tokens(Bytes key, std::string audience = "",
                                 std::shared_ptr<GatewayReplayCache> replay = nullptr);

  // --- seams -----------------------------------------------------------------
  // clock: time for appraisal and valid_until (default the system clock).
  Builder& clock(std::shared_ptr<const Clock> clock);
  // rng: randomness for certificate_request_context values.
  Builder& rng(std::shared_ptr<Rng> rng);

  // dangerous returns the sub-builder for settings that weaken checks.
  DangerousBuilder& dangerous() { return m_dangerous; }

  // build validates the settings and returns the Config. Fails with
  // InvalidArgument (inconsistent settings, detail says which),
  // FileNotFound / IoError (files), KeyInvalid / CertMalformed (PEM) or
  // PolicyInvalid (the policy).
  Result<std::shared_ptr<const Config>> build();

 private:
  friend class DangerousBuilder;
  std::unique_ptr<internal::ConfigState> m_state;
  DangerousBuilder m_dangerous;
};

}  // namespace atls
