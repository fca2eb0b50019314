#pragma once

// The Attester plug-in interface: runs inside the attesting environment and
// produces Evidence for a request.

#include <atls/evidence.h>
#include <atls/export.h>
#include <atls/result.h>

#include <string_view>

namespace atls {

// Attester produces Evidence. Implementations take their device access
// (TPM TCTI, configfs-tsm path, key files) in their constructor, so tests
// can inject fakes. attest() may block (a TPM quote takes milliseconds).
class ATLS_API Attester {
 public:
  virtual ~Attester() = default;
  // name is the plug-in's short name ("software", "tpm2", ...).
  virtual std::string_view name() const = 0;
  // media_type is the type of the primary record this Attester produces.
  virtual std::string_view media_type() const = 0;
  // attest returns Evidence whose nonce equals request.nonce. Fails with
  // InvalidArgument (bad nonce size), IoError or a device-specific code.
  virtual Result<Evidence> attest(const AttestationRequest& request) = 0;
};

}  // namespace atls
