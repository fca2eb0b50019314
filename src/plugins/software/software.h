#pragma once

// The software plug-in: Evidence is an EAT (RFC 9711) as a CWT in a
// COSE_Sign1 (ES256), signed by a software key. It is for development and for
// machines without a TPM or TEE; results say so (hardware trust is never
// better than "warning"). Profile: docs/evidence-profiles.md.

#include <atls/attester.h>
#include <atls/clock.h>
#include <atls/verifier.h>

#include "src/ossl/ossl.h"

#include <memory>
#include <string>
#include <vector>

namespace atls {

// The EAT profile of software evidence.
inline constexpr std::string_view kSoftwareEatProfile = "tag:atls-project.org,2026:software-eat/1";
// Content type of a measurement entry: application/cbor (CoAP C-F 60),
// holding the CBOR array [name: tstr, alg: COSE alg id (-16 = SHA-256), digest: bstr].
inline constexpr std::uint64_t kSoftwareMeasurementContentType = 60;

struct SoftwareAttesterConfig {
  // PEM private key (P-256) that signs the evidence. Empty: a fresh key is
  // generated per attester instance (its public key is then only useful
  // with a policy that pins it, e.g. in tests and the demo).
  Bytes signing_key_pem;
  // Files whose SHA-256 goes into "measurements"; empty = the running
  // executable (/proc/self/exe).
  std::vector<std::string> measured_files;
  // File whose contents identify the machine (ueid = 0x01 || SHA-256(it)).
  std::string machine_id_file = "/etc/machine-id";
  const Clock* clock = nullptr;  // default: the system clock
};

// make_software_attester builds the attester; fails with KeyInvalid,
// FileNotFound or IoError (measured files are read at construction).
Result<std::unique_ptr<Attester>> make_software_attester(SoftwareAttesterConfig config);

// software_public_key_pem returns the PEM public key of a software attester
// built by make_software_attester (for pinning in a policy).
Result<std::string> software_attester_public_key(const Attester& attester);

std::unique_ptr<Verifier> make_software_verifier();
std::unique_ptr<Appraiser> make_software_appraiser();

}  // namespace atls
