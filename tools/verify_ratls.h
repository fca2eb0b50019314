#pragma once

// `atls verify CERT`: an RA-TLS certificate (id-pe-cmw or the TCG DICE
// evidence extension) is verified and appraised as the TLS handshake would
// (src/tls/ratls.h), and every check is printed.

#include <atls/clock.h>

#include "src/attestation/policy.h"
#include "src/attestation/registry.h"

#include <string>
#include <vector>

namespace atls::tools {

// RatlsVerifyArgs are the `atls verify` options that apply to a certificate.
struct RatlsVerifyArgs {
  std::string file;
  std::vector<std::string> trust;  // trust anchors (files)
  std::string connection_nonce;    // hex; "" for a long-lived certificate
  bool json = false;
};

// is_certificate_file reports whether |file| holds one X.509 certificate
// (PEM or DER). False for anything else, including unreadable files (the
// Evidence path then reports those).
bool is_certificate_file(const std::string& file);

// verify_ratls_file runs the certificate path; |policy| may be null
// (integrity only, as for Evidence). Prints the result, or fails with the
// error's exit code (1; 2 for a usage error).
void verify_ratls_file(const RatlsVerifyArgs& a, const Registry& registry, const Clock& clock,
                       const Policy* policy);

}  // namespace atls::tools
