#pragma once

#include <atls/export.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace atls {

// ErrorCategory is the coarse class of an error; applications branch on it.
// Peer-caused failures (Protocol, BadEvidence, PolicyRejected, Alert) are kept
// apart from local ones (Usage, Io, Internal).
enum class ErrorCategory : std::uint8_t {
  Io,              // a file or socket operation failed
  WouldBlock,      // non-blocking operation must be retried
  Closed,          // the peer closed the connection
  Alert,           // the peer sent an alert
  Protocol,        // malformed or unexpected bytes from the peer (framing, TLS vectors)
  BadEvidence,     // evidence / tokens that fail to parse or verify
  PolicyRejected,  // well-formed, verified input that policy does not accept
  Usage,           // the caller misused the API or gave bad arguments
  Internal,        // a bug or an unexpected library failure
};

// The single list of error codes. Each row: name, category, TLS alert
// (RFC 8446 AlertDescription) and a short message. The enum, the category
// table and the message table are all generated from this list.
#define ATLS_ERROR_CODES(X)                                                                        \
  /* generic */                                                                                    \
  X(Ok, Internal, 0, "no error")                                                                   \
  X(Internal, Internal, 80, "internal error")                                                      \
  X(InvalidArgument, Usage, 80, "invalid argument")                                                \
  X(IoError, Io, 80, "I/O error")                                                                  \
  X(FileNotFound, Io, 80, "file not found")                                                        \
  X(FileTooLarge, Io, 80, "file too large")                                                        \
  /* core encodings and TLS-style vectors */                                                       \
  X(Truncated, Protocol, 50, "input truncated")                                                    \
  X(TrailingData, Protocol, 50, "unexpected trailing data")                                        \
  X(LengthOverflow, Protocol, 50, "length exceeds limit")                                          \
  X(InvalidHex, Usage, 50, "invalid hex string")                                                   \
  X(InvalidBase64, BadEvidence, 50, "invalid base64url string")                                    \
  /* crypto */                                                                                     \
  X(CryptoFailure, Internal, 80, "cryptographic operation failed")                                 \
  X(SignatureInvalid, BadEvidence, 51, "signature verification failed")                            \
  X(KeyInvalid, BadEvidence, 42, "invalid or unsupported key")                                     \
  X(KeyTypeMismatch, BadEvidence, 42, "key type does not match the algorithm")                     \
  X(UnsupportedAlgorithm, BadEvidence, 40, "unsupported algorithm")                                \
  /* X.509 */                                                                                      \
  X(CertMalformed, BadEvidence, 42, "malformed certificate")                                       \
  X(CertChainInvalid, BadEvidence, 42, "certificate chain does not verify")                        \
  X(CertUntrusted, BadEvidence, 48, "certificate does not chain to a trust anchor")                \
  X(CertExpired, BadEvidence, 45, "certificate expired")                                           \
  X(CertNotYetValid, BadEvidence, 45, "certificate not yet valid")                                 \
  X(CertNoCmwExtension, BadEvidence, 42, "certificate has no CMW extension")                       \
  /* CBOR */                                                                                       \
  X(CborMalformed, BadEvidence, 50, "malformed CBOR")                                              \
  X(CborTrailingData, BadEvidence, 50, "trailing bytes after CBOR item")                           \
  X(CborTooDeep, BadEvidence, 50, "CBOR nesting too deep")                                         \
  X(CborTooLarge, BadEvidence, 50, "CBOR input too large")                                         \
  X(CborWrongType, BadEvidence, 50, "CBOR item has the wrong type")                                \
  X(CborDuplicateKey, BadEvidence, 50, "duplicate key in CBOR map")                                \
  X(CborIntegerOutOfRange, BadEvidence, 50, "CBOR integer out of range")                           \
  X(CborInvalidUtf8, BadEvidence, 50, "CBOR text string is not valid UTF-8")                       \
  /* JSON */                                                                                       \
  X(JsonMalformed, BadEvidence, 50, "malformed JSON")                                              \
  X(JsonTooDeep, BadEvidence, 50, "JSON nesting too deep")                                         \
  X(JsonTooLarge, BadEvidence, 50, "JSON input too large")                                         \
  X(JsonDuplicateKey, BadEvidence, 50, "duplicate key in JSON object")                             \
  X(JsonWrongType, BadEvidence, 50, "JSON value has the wrong type")                               \
  /* COSE */                                                                                       \
  X(CoseMalformed, BadEvidence, 50, "malformed COSE_Sign1")                                        \
  X(CoseMissingAlgorithm, BadEvidence, 50, "COSE protected header has no algorithm")               \
  X(CoseUnknownCritical, BadEvidence, 50, "COSE crit lists an unknown header")                     \
  X(CoseBadSignature, BadEvidence, 51, "COSE_Sign1 signature verification failed")                 \
  /* JWS / JWT */                                                                                  \
  X(JwsMalformed, BadEvidence, 50, "malformed JWS compact serialization")                          \
  X(JwsAlgNone, BadEvidence, 51, "JWS algorithm 'none' is not accepted")                           \
  X(JwsAlgorithmMismatch, BadEvidence, 51, "JWS algorithm does not match the key")                 \
  X(JwsBadSignature, BadEvidence, 51, "JWS signature verification failed")                         \
  X(JwtClaimsMalformed, BadEvidence, 50, "malformed JWT claims")                                   \
  X(JwtExpired, BadEvidence, 45, "token expired")                                                  \
  X(JwtNotYetValid, BadEvidence, 45, "token not yet valid")                                        \
  /* CMW */                                                                                        \
  X(CmwMalformed, BadEvidence, 50, "malformed CMW")                                                \
  X(CmwBadType, BadEvidence, 50, "CMW record has an invalid type")                                 \
  X(CmwBadIndicator, BadEvidence, 50, "CMW indicator is invalid")                                  \
  X(CmwBadTag, BadEvidence, 50, "CBOR tag is not a CMW tag")                                       \
  X(CmwEmptyCollection, BadEvidence, 50, "CMW collection has no entries")                          \
  X(CmwTooDeep, BadEvidence, 50, "CMW collection nesting too deep")                                \
  X(CmwBadCollectionType, BadEvidence, 50, "CMW collection type (__cmwc_t) is invalid")            \
  /* EAT */                                                                                        \
  X(EatMalformed, BadEvidence, 50, "malformed EAT claims set")                                     \
  X(EatBadClaim, BadEvidence, 50, "EAT claim has an invalid value")                                \
  /* EAR */                                                                                        \
  X(EarMalformed, BadEvidence, 50, "malformed EAR")                                                \
  X(EarMissingClaim, BadEvidence, 50, "EAR lacks a mandatory claim")                               \
  X(EarBadProfile, BadEvidence, 50, "EAR has an unknown eat_profile")                              \
  X(EarBadStatus, BadEvidence, 50, "EAR status is invalid")                                        \
  X(EarBadTrustVector, BadEvidence, 50, "EAR trustworthiness vector is invalid")                   \
  X(EarExpired, BadEvidence, 45, "EAR expired")                                                    \
  /* SEV-SNP */                                                                                    \
  X(SnpMalformed, BadEvidence, 50, "malformed SEV-SNP attestation report")                         \
  X(SnpUnsupportedVersion, BadEvidence, 50, "unsupported SEV-SNP report version")                  \
  X(SnpBadSignature, BadEvidence, 51, "SEV-SNP report signature does not verify")                  \
  X(SnpReportDataMismatch, BadEvidence, 51, "SEV-SNP REPORT_DATA does not match")                  \
  X(SnpVcekMismatch, BadEvidence, 42, "VCEK does not match the report's chip or TCB")              \
  /* TDX */                                                                                        \
  X(TdxMalformed, BadEvidence, 50, "malformed TDX quote")                                          \
  X(TdxUnsupportedVersion, BadEvidence, 50, "unsupported TDX quote version")                       \
  X(TdxBadQuoteSignature, BadEvidence, 51, "TDX quote signature does not verify")                  \
  X(TdxBadQeReportSignature, BadEvidence, 51, "TDX QE report signature does not verify")           \
  X(TdxQeReportDataMismatch, BadEvidence, 51, "TDX QE report does not bind the attestation key")   \
  X(TdxBadPckChain, BadEvidence, 42, "TDX quote PCK certificate chain is malformed")               \
  X(TdxQeIdentityMalformed, Usage, 80, "malformed TDX QE Identity collateral")                     \
  X(TdxQeIdentityBadSignature, BadEvidence, 51, "TDX QE Identity signature does not verify")       \
  X(TdxQeIdentityExpired, BadEvidence, 45, "TDX QE Identity collateral is outside its validity")   \
  X(TdxQeIdentityMismatch, BadEvidence, 42, "TDX Quoting Enclave does not match the QE identity")  \
  X(TdxQeDebug, BadEvidence, 42, "TDX Quoting Enclave is a debug enclave")                         \
  /* SGX */                                                                                        \
  X(SgxMalformed, BadEvidence, 50, "malformed SGX quote")                                          \
  X(SgxUnsupportedVersion, BadEvidence, 50, "unsupported SGX quote version")                       \
  X(SgxBadQuoteSignature, BadEvidence, 51, "SGX quote signature does not verify")                  \
  X(SgxBadQeReportSignature, BadEvidence, 51, "SGX QE report signature does not verify")           \
  X(SgxQeReportDataMismatch, BadEvidence, 51, "SGX QE report does not bind the attestation key")   \
  X(SgxBadPckChain, BadEvidence, 42, "SGX quote PCK certificate chain is malformed")               \
  /* RA-TLS certificates */                                                                        \
  X(RatlsNoEvidence, BadEvidence, 42, "certificate carries no RA-TLS evidence extension")          \
  X(RatlsMalformed, BadEvidence, 50, "malformed RA-TLS evidence extension")                        \
  X(RatlsReportDataMismatch, BadEvidence, 51, "quote report_data does not bind the RA-TLS claims") \
  X(RatlsKeyBindingMismatch, BadEvidence, 51, "RA-TLS evidence is not bound to the cert key")      \
  /* TPM */                                                                                        \
  X(TpmMalformed, BadEvidence, 50, "malformed TPM 2.0 structure")                                  \
  X(TpmBadMagic, BadEvidence, 50, "TPMS_ATTEST magic is not TPM_GENERATED_VALUE")                  \
  X(TpmNoQuote, BadEvidence, 50, "TPMS_ATTEST is not a quote")                                     \
  X(TpmBadSignature, BadEvidence, 51, "TPM quote signature does not verify")                       \
  X(TpmPcrSelectionMismatch, BadEvidence, 51, "quote PCR selection differs from PCR values")       \
  X(TpmPcrDigestMismatch, BadEvidence, 51, "TPM quote pcrDigest does not match the PCR values")    \
  X(TpmAkCertificateProfile, BadEvidence, 42, "certificate is not a TCG AK certificate")           \
  /* attestation pipeline, plug-ins and policy */                                                  \
  X(NonceMismatch, BadEvidence, 51, "evidence nonce does not match the expected binder")           \
  X(UnsupportedMediaType, BadEvidence, 43, "no verifier for this evidence media type")             \
  X(KeyUntrusted, BadEvidence, 48, "signing key is not a trusted key")                             \
  X(EvidenceStale, BadEvidence, 45, "evidence or result is too old")                               \
  X(PolicyInvalid, Usage, 80, "invalid policy")                                                    \
  X(MeasurementMismatch, PolicyRejected, 42, "measurement does not match a reference value")       \
  X(DebugEnabled, PolicyRejected, 42, "debug is enabled and the policy forbids it")                \
  X(TcbTooLow, PolicyRejected, 42, "TCB version is below the policy minimum")                      \
  X(MachineIdMismatch, PolicyRejected, 42, "machine identifier is not the pinned one")             \
  X(TierInsufficient, PolicyRejected, 42, "attestation result is below the required tier")         \
  X(AttesterFailure, Internal, 80, "the attester could not produce evidence")                      \
  X(TpmUnavailable, Io, 80, "the TPM cannot be reached through its TCTI")                          \
  X(EarKeyBindingMismatch, BadEvidence, 51, "EAR does not name the authenticator's key")           \
  /* attested TLS: exported authenticators (RFC 9261, expat) */                                    \
  X(TlsVersionUnsupported, Protocol, 70, "attested connections need TLS 1.3")                      \
  X(TlsHandshakeFailed, Protocol, 40, "TLS handshake failed")                                      \
  X(TlsResumptionRefused, Protocol, 10, "resumption or 0-RTT on an attested connection")           \
  X(EaRequestMalformed, Protocol, 50, "malformed authenticator request")                           \
  X(EaMalformed, Protocol, 50, "malformed exported authenticator")                                 \
  X(EaBadFinished, Protocol, 51, "authenticator Finished does not verify")                         \
  X(EaBadCertificateVerify, Protocol, 51, "authenticator CertificateVerify does not verify")       \
  X(EaSignatureSchemeUnsupported, Protocol, 40, "no acceptable signature scheme")                  \
  X(EaUnknownContext, Protocol, 10, "authenticator context was not issued on this connection")     \
  X(EaContextReused, Protocol, 10, "authenticator context was already used")                       \
  X(EaUnsupportedExtension, Protocol, 110, "Certificate carries an extension not requested")       \
  X(EaEmptyAuthenticator, PolicyRejected, 42,                                                      \
    "peer refused to authenticate (empty authenticator)")                                          \
  X(EaNoAttestation, BadEvidence, 42, "authenticator carries no cmw_attestation extension")        \
  X(PushUnsolicited, Protocol, 10, "pushed authenticator the receiver did not accept")             \
  X(PushRepeated, Protocol, 10, "a second pushed authenticator")                                   \
  X(PushContextReused, Protocol, 10, "authenticator reuses the context of the pushed one")         \
  X(PushLate, Protocol, 10, "pushed authenticator after the peer's first frame")                   \
  X(PeerCertUntrusted, PolicyRejected, 42,                                                         \
    "peer certificate does not meet the certificate policy")                                       \
  X(PeerHostnameMismatch, PolicyRejected, 42, "peer certificate does not match the host name")     \
  X(PinnedKeyMismatch, PolicyRejected, 42, "peer key is not the pinned key")                       \
  /* attested TLS: stream, negotiation, lifetime */                                                \
  X(FrameMalformed, Protocol, 50, "malformed atls frame")                                          \
  X(FrameTooLarge, Protocol, 50, "atls frame exceeds the configured limit")                        \
  X(UnexpectedFrame, Protocol, 10, "unexpected atls frame")                                        \
  X(NegotiationMalformed, Protocol, 50, "malformed atls_negotiation extension")                    \
  X(NoCommonScheme, Protocol, 40, "no attestation scheme acceptable to both peers")                \
  X(ExporterLabelUnsupported, Protocol, 40, "the peer does not use the required exporter label")   \
  X(AttestationRequired, PolicyRejected, 40, "peer does not attest and attestation is required")   \
  X(AttestationTimeout, Protocol, 40, "no valid authenticator within the attestation timeout")     \
  X(AttestationExpired, PolicyRejected, 45, "attestation expired and was not renewed in time")     \
  X(AttestationIdentityChanged, PolicyRejected, 42, "re-attestation names another key or machine") \
  X(EarlyAttestationMalformed, Protocol, 50, "malformed remoteAttestation extension")              \
  X(EarlyAttestationMisplaced, Protocol, 47, "remoteAttestation where the draft forbids it")       \
  X(EarlyAttestationMissing, BadEvidence, 42, "negotiated remoteAttestation absent from the leaf") \
  X(EarlyPeerUnsupportedSchemes, Alert, 0, "peer sent unsupported_attestation_schemes")            \
  X(EarlyPeerAttestationRequired, Alert, 0, "peer sent attestation_required")                      \
  X(EarlyPeerAttestationFailed, Alert, 0, "peer sent attestation_failed")                          \
  X(HandshakeTimeout, Io, 0, "the TLS handshake did not finish within the handshake timeout")      \
  X(PeerAlert, Alert, 0, "peer sent an atls alert")                                                \
  X(ConnectionClosed, Closed, 0, "connection closed")                                              \
  X(WouldBlock, WouldBlock, 0, "operation would block")                                            \
  /* pre-handshake gateway tokens (docs/gateway.md) */                                             \
  X(GatewayTokenInvalid, BadEvidence, 115, "gateway token is forged, altered or malformed")        \
  X(GatewayTokenExpired, PolicyRejected, 115, "gateway token has expired")                         \
  X(GatewayTokenReplayed, PolicyRejected, 115, "single-use gateway token was already used")        \
  X(GatewayTokenWrongServer, PolicyRejected, 115, "gateway token was issued for another server")   \
  X(GatewayTokenPskMismatch, PolicyRejected, 51, "the client does not hold the token's PSK")       \
  X(GatewayTokenRequired, PolicyRejected, 40, "the server accepts only gateway-token clients")     \
  X(GatewayTokenRejected, PolicyRejected, 0, "the server refused the gateway token")               \
  X(GatewayTokenNotAccepted, PolicyRejected, 0, "the server did not take the gateway token")       \
  /* remote Verifier (docs/verifier-service.md) */                                                 \
  X(VerifierUnavailable, Io, 80, "the remote Verifier could not be reached")                       \
  X(VerifierTimeout, Io, 80, "the remote Verifier did not answer in time")                         \
  X(VerifierRejected, Protocol, 80, "the remote Verifier refused the request")                     \
  X(VerifierSessionInvalid, Protocol, 80, "the Verifier session id is not one it issued")          \
  X(VerifierSessionExpired, Protocol, 80, "the Verifier session has expired")                      \
  X(PayloadTooLarge, Protocol, 80, "the request body exceeds the size limit")                      \
  X(PassportExpired, Io, 80, "the passport EAR expired and could not be renewed")                  \
  /* sidecar (docs/sidecar.md) */                                                                  \
  X(BackendUnavailable, Io, 80, "the sidecar's backend could not be reached")                      \
  /* detection */                                                                                  \
  X(UnknownFormat, Usage, 50, "input is not a recognised format")

// ErrorCode is the fine-grained error. Tests assert exact codes.
enum class ErrorCode : std::uint16_t {
#define ATLS_X_ENUM(name, category, alert, message) name,
  ATLS_ERROR_CODES(ATLS_X_ENUM)
#undef ATLS_X_ENUM
};

// error_category returns the coarse category of |code|.
ATLS_API ErrorCategory error_category(ErrorCode code) noexcept;

// error_name returns the enumerator's name of |code|, e.g. "CborTooDeep".
ATLS_API std::string_view error_name(ErrorCode code) noexcept;

// error_message returns the fixed human-readable message of |code|.
ATLS_API std::string_view error_message(ErrorCode code) noexcept;

// error_tls_alert returns the RFC 8446 AlertDescription to send for |code|.
ATLS_API std::uint8_t error_tls_alert(ErrorCode code) noexcept;

// category_name returns a lower-case name of |category|, e.g. "bad-evidence".
ATLS_API std::string_view category_name(ErrorCategory category) noexcept;

// Error is a code plus free-form detail (never secrets or raw evidence).
struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string detail;

  ErrorCategory category() const noexcept { return error_category(code); }
  std::string_view name() const noexcept { return error_name(code); }
  // to_string returns "<message>: <detail>" (or the message alone).
  ATLS_API std::string to_string() const;
};

}  // namespace atls
