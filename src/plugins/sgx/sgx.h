#pragma once

// The sgx plug-in: Evidence is an Intel SGX DCAP quote, version 3, media type
// application/vnd.atls.sgx-quote, with REPORTDATA = the binder (nonce)
// zero-padded to 64 bytes. The quote carries its PCK chain (certification
// data type 5); the Intel SGX Root CA comes from the policy ("sgx_root") or
// the context's trust anchors, never from the quote. There is no attester:
// SGX quotes reach atls inside RA-TLS certificates (src/attestation/ratls.h)
// or CMWs made elsewhere. Profile: docs/evidence-profiles.md.

#include <atls/verifier.h>

#include <memory>

namespace atls {

// make_sgx_verifier checks the quote: PCK <- PCK CA <- trusted Intel SGX
// Root CA at the context's time, the QE report signature and its binding of
// the attestation key, the quote signature, Intel's SGX Quoting Enclave
// (MRSIGNER, ISVPRODID 1, not debug; its ISVSVN needs collateral and is not
// checked), and REPORTDATA against the expected nonce. No TCB status, no CRL.
std::unique_ptr<Verifier> make_sgx_verifier();

// make_sgx_appraiser compares the claims with the reference section:
// "mrenclave", "mrsigner" (32-byte hex or lists), "isvprodid", "min_isvsvn",
// "allow_debug", "policy_id", "dangerous_any_measurement".
std::unique_ptr<Appraiser> make_sgx_appraiser();

}  // namespace atls
