#pragma once

// The tdx plug-in: Evidence is an Intel TDX DCAP quote (version 4 or 5),
// media type application/vnd.atls.tdx-quote (docs/wire-profile.md §4), with
// REPORTDATA = the binder (nonce) zero-padded to 64 bytes. The quote carries
// its PCK certificate chain (certification data type 5); the Intel SGX Root
// CA comes from the policy or the context's trust anchors, never from the
// quote. Profile: docs/evidence-profiles.md.

#include <atls/attester.h>
#include <atls/verifier.h>

#include "src/plugins/tsm/tsm.h"

#include <memory>

namespace atls {

struct TdxAttesterConfig {
  // Where the quote comes from (configfs-tsm; the provider must be
  // "tdx_guest"). tsm.privlevel is not used by TDX and must stay -1.
  TsmConfig tsm;
};

// make_tdx_attester builds the attester; it touches no file until attest().
// attest() fails with InvalidArgument (nonce empty or longer than 64 bytes),
// the TSM client's codes, AttesterFailure (the provider is not "tdx_guest",
// or the quote does not carry the requested REPORTDATA) or the quote
// parser's codes (TdxMalformed, TdxUnsupportedVersion, UnsupportedAlgorithm).
Result<std::unique_ptr<Attester>> make_tdx_attester(TdxAttesterConfig config);

// make_tdx_verifier checks the quote: PCK <- PCK CA <- trusted Intel SGX
// Root CA at the context's time, the QE report signature and its binding of
// the attestation key, the quote signature, and REPORTDATA against the
// expected nonce. Trust section key: "sgx_root" (a file, or list of files,
// each a PEM or DER Intel SGX Root CA certificate).
std::unique_ptr<Verifier> make_tdx_verifier();

// make_tdx_appraiser compares the claims with the reference section:
// "mrtd", "rtmr0".."rtmr3", "mrconfigid", "mrowner", "mrownerconfig",
// "mrseam", "allow_debug", "policy_id" (docs/evidence-profiles.md).
std::unique_ptr<Appraiser> make_tdx_appraiser();

}  // namespace atls
