#pragma once

// The tpm2 plug-in: Evidence is a TPM 2.0 quote (TPMS_ATTEST + TPMT_SIGNATURE
// + the quoted PCR values + the AK public area) in one CBOR map, media type
// application/vnd.atls.tpm2-quote+cbor (docs/wire-profile.md §4; profile in
// docs/evidence-profiles.md); extraData = the nonce (up to 64 bytes), or
// SHA-256(nonce) for a longer one or for a TPM too small to take it whole.

#include <atls/attester.h>
#include <atls/bytes.h>
#include <atls/verifier.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atls {

struct Tpm2AttesterConfig {
  // tpm2-tss TCTI configuration, e.g. "swtpm:host=127.0.0.1,port=2321" or
  // "device:/dev/tpmrm0".
  std::string tcti = "device:/dev/tpmrm0";
  // Persistent handle of the ECC P-256 attestation key; created (restricted
  // signing key under the owner hierarchy) and persisted there if absent.
  std::uint32_t ak_handle = 0x81010002;
  // PCRs of the SHA-256 bank to quote.
  std::vector<std::uint32_t> pcrs = {0, 1, 2, 3, 4, 5, 6, 7};
  // After the connection to the TPM is lost, attestations fail with
  // TpmUnavailable and reconnect at most this often.
  std::chrono::milliseconds reconnect_interval{1000};
};

// make_tpm2_attester connects to the TPM and loads or creates the AK. Fails
// with TpmUnavailable (the TPM cannot be reached), AttesterFailure (detail
// names the TSS error) or InvalidArgument.
//
// The attester serialises its TPM commands (it may be called from several
// threads). When a command fails because the TPM cannot be reached, that
// attestation fails with TpmUnavailable and the connection is dropped; a
// later attestation, at most one per reconnect_interval (the others fail at
// once with TpmUnavailable), opens the TCTI again and loads the AK from
// ak_handle. The AK must be the one found at start (AttesterFailure
// otherwise: a cleared TPM gets no new AK behind the relying parties' pins).
Result<std::unique_ptr<Attester>> make_tpm2_attester(const Tpm2AttesterConfig& config);

// make_tpm2_verifier returns the tpm2 Verifier. Its "trust" policy section
// takes "ak_keys" (PEM public keys of pinned AKs), "ak_certificates" (AK
// certificates besides the Evidence's own "ak_cert"), "intermediates" and
// "roots" (CA certificates); all are file references. VerifyContext
// trust_anchors may be PEM/DER public keys (pinned AKs) or root
// certificates, and VerifyContext certificates AK or intermediate
// certificates. The machine id is "tpm-ak-name:<hex Name>" (or
// "tpm-ak-spki-sha256:<hex>" when the Evidence has no ak_pub).
std::unique_ptr<Verifier> make_tpm2_verifier();

// make_tpm2_appraiser returns the tpm2 Appraiser. Its "reference" section:
// {"pcrs": {"sha256": {"0": "hex" or ["hex", ...], ...}}, "pcr_digests":
// ["hex", ...], "policy_id": "..."}.
std::unique_ptr<Appraiser> make_tpm2_appraiser();

// tpm2_attester_ak_public returns the TPMT_PUBLIC of a tpm2 attester's AK,
// and tpm2_attester_ak_pem its PEM public key (to pin in a policy). Fail
// with InvalidArgument for another kind of attester.
Result<Bytes> tpm2_attester_ak_public(const Attester& attester);
Result<std::string> tpm2_attester_ak_pem(const Attester& attester);

// evidence_from_tpm2_tools builds tpm2 Evidence from the three files that
// `tpm2_quote -m MSG -s SIG -o PCRS` writes (tpm2-tools 5.x, default
// signature and PCR formats). |ak_public| is optional: a TPMT_PUBLIC or a
// TPM2B_PUBLIC (`tpm2_readpublic -o`, `tpm2_create -u`); without it the AK
// comes from the verifier's trust anchors. Fails with the TPM parser's
// codes (TpmMalformed, TpmBadMagic, UnsupportedAlgorithm).
Result<Evidence> evidence_from_tpm2_tools(ByteView quote_msg, ByteView signature, ByteView pcrs,
                                          ByteView ak_public = {});

// Tpm2ToolsFiles are the inputs of `tpm2_checkquote -m msg -s sig -f pcrs
// -u ak.pem -g <hash> -q <extraData hex>`.
struct Tpm2ToolsFiles {
  Bytes msg;              // TPMS_ATTEST
  Bytes sig;              // TPMT_SIGNATURE
  Bytes pcrs;             // tpm2-tools serialized PCR file
  std::string ak_pem;     // PEM public key of the AK ("" without ak_pub)
  std::string hash;       // signature hash for -g ("sha256", ...)
  Bytes qualifying_data;  // TPMS_ATTEST.extraData, for -q
};

// export_tpm2_tools_files writes tpm2 Evidence as tpm2-tools files. Fails
// with UnsupportedMediaType when there is no tpm2 record, and the parser's
// codes on malformed evidence. It checks nothing cryptographically.
Result<Tpm2ToolsFiles> export_tpm2_tools_files(const Evidence& evidence);

}  // namespace atls
