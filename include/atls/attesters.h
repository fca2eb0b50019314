#pragma once

// Factories for the built-in Attesters, for applications that link only the
// public library. Each returns a shared Attester that is safe to use from
// several connections at once; hand it to Config::Builder::attester().
// Evidence formats and what each proves: docs/evidence-profiles.md.

#include <atls/attester.h>
#include <atls/export.h>
#include <atls/result.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atls {

// SoftwareAttesterOptions configure the software attester: an EAT (RFC 9711)
// in a COSE_Sign1 signed by a software key. It proves only what this
// process says about itself, and results say so (never better than
// "warning" for hardware); use it for development and for machines without
// a TPM or TEE.
struct SoftwareAttesterOptions {
  // PEM private key (P-256) that signs the Evidence; empty = a fresh key per
  // attester, whose public key attester_public_key_pem() returns for pinning.
  std::string signing_key_pem;
  // Files whose SHA-256 go into "measurements"; empty = the running
  // executable.
  std::vector<std::string> measured_files;
  // File whose contents identify the machine (ueid = 0x01 || SHA-256(it)).
  std::string machine_id_file = "/etc/machine-id";
};

// software_attester builds a software attester. Fails with KeyInvalid,
// FileNotFound or IoError (measured files are read now).
ATLS_API Result<std::shared_ptr<Attester>> software_attester(
    const SoftwareAttesterOptions& options);

// Tpm2AttesterOptions configure the TPM 2.0 attester (tpm2-tss ESAPI): a
// quote of the given SHA-256 PCRs by an ECC P-256 attestation key.
struct Tpm2AttesterOptions {
  // TCTI, e.g. "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321".
  std::string tcti = "device:/dev/tpmrm0";
  // Persistent handle of the attestation key; created there if absent.
  std::uint32_t ak_handle = 0x81010002;
  // PCRs of the SHA-256 bank to quote.
  std::vector<std::uint32_t> pcrs = {0, 1, 2, 3, 4, 5, 6, 7};
};

// tpm2_attester connects to the TPM and loads or creates the attestation
// key. Fails with TpmUnavailable (the TPM cannot be reached through the
// TCTI), AttesterFailure (the detail names the TSS error) or InvalidArgument.
// The attester may be shared between threads. When the TPM goes away, its
// attestations fail with TpmUnavailable, and it reconnects (at most once a
// second) and quotes again with the same persistent AK when the TPM is back.
ATLS_API Result<std::shared_ptr<Attester>> tpm2_attester(const Tpm2AttesterOptions& options);

// TeeAttesterOptions configure the SEV-SNP and TDX attesters, which obtain
// reports through Linux configfs-tsm.
struct TeeAttesterOptions {
  // The configfs-tsm report directory.
  std::string tsm_path = "/sys/kernel/config/tsm/report";
  // SEV-SNP only: the VMPL to request (0..3); -1 = the kernel's default.
  int vmpl = -1;
};

// sev_snp_attester and tdx_attester build the attesters; they touch no
// file until the first attestation. Fail with InvalidArgument.
ATLS_API Result<std::shared_ptr<Attester>> sev_snp_attester(const TeeAttesterOptions& options);
ATLS_API Result<std::shared_ptr<Attester>> tdx_attester(const TeeAttesterOptions& options);

// PassportAttesterOptions configure the passport attester
// (AttestationModel::Passport): it runs the Evidence of |evidence_attester|
// through an in-process Verifier and sends the signed Attestation Result
// (an EAR, application/eat+jwt) instead. The relying party then trusts the
// EAR signing key, not the Evidence's.
struct PassportAttesterOptions {
  // The attester whose Evidence the in-process Verifier appraises (shared).
  std::shared_ptr<Attester> evidence_attester;
  // The in-process Verifier's policy (JSON, docs/policy.md): trust anchors
  // and reference values for the Evidence, and the "ear" section (lifetime,
  // developer, build; signing_key when signing_key_pem is empty). Empty:
  // the default policy. File references are relative to policy_base_dir.
  std::string policy_json;
  std::string policy_base_dir = ".";
  // PEM private key (P-256) that signs the EARs; empty: the policy's
  // ear.signing_key.
  std::string signing_key_pem;
  // A remote Verifier service (docs/verifier-service.md) instead of the
  // in-process one: https://HOST:PORT (http:// on loopback only), with the
  // CA certificates that authenticate it (default: the system's roots) and
  // a bound on each call. The attester then needs no policy or signing key:
  // it sends its Evidence, bound to the key and the Verifier's nonce, and
  // presents the Verifier's EAR, renewing it shortly before it expires
  // (while renewal fails, the still-valid EAR is presented and a line goes
  // to standard error; after it expired, attest() fails with
  // PassportExpired).
  std::string verifier_url;
  std::string verifier_ca_file;
  std::chrono::milliseconds verifier_timeout{5000};
};

// passport_attester builds the passport attester. Its attest() needs the
// request's key_spki (the connection's leaf key, which the EAR names) and
// reuses an EAR for the same key until shortly before it expires. Fails
// with InvalidArgument (no evidence attester, no signing key),
// PolicyInvalid (the policy), KeyInvalid (the key does not parse) or
// FileNotFound / IoError (the policy's signing key file).
ATLS_API Result<std::shared_ptr<Attester>> passport_attester(
    const PassportAttesterOptions& options);

// attester_public_key_pem returns the PEM public key a relying party pins
// for |attester|: the software attester's signing key or the TPM
// attestation key. Fails with InvalidArgument for other attesters (their
// keys chain to the hardware vendor instead).
ATLS_API Result<std::string> attester_public_key_pem(const Attester& attester);

}  // namespace atls
