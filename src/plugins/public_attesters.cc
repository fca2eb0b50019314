// The public factories of include/atls/attesters.h: thin wrappers over the
// plug-ins' own constructors.

#include <atls/attesters.h>

#include "src/attestation/policy.h"
#include "src/core/encoding.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/software/software.h"
#include "src/plugins/tdx/tdx.h"
#include "src/plugins/tpm2/tpm2.h"

namespace atls {
namespace {

Result<std::shared_ptr<Attester>> shared(Result<std::unique_ptr<Attester>> made) {
  if (!made) {
    return made.error();
  }
  return std::shared_ptr<Attester>(std::move(*made));
}

TsmConfig tsm_config(const TeeAttesterOptions& options) {
  TsmConfig tsm;
  tsm.root = options.tsm_path;
  tsm.privlevel = options.vmpl;
  return tsm;
}

}  // namespace

Result<std::shared_ptr<Attester>> software_attester(const SoftwareAttesterOptions& options) {
  SoftwareAttesterConfig config;
  config.signing_key_pem.assign(options.signing_key_pem.begin(), options.signing_key_pem.end());
  config.measured_files = options.measured_files;
  config.machine_id_file = options.machine_id_file;
  return shared(make_software_attester(std::move(config)));
}

Result<std::shared_ptr<Attester>> tpm2_attester(const Tpm2AttesterOptions& options) {
  Tpm2AttesterConfig config;
  config.tcti = options.tcti;
  config.ak_handle = options.ak_handle;
  config.pcrs = options.pcrs;
  return shared(make_tpm2_attester(config));
}

Result<std::shared_ptr<Attester>> sev_snp_attester(const TeeAttesterOptions& options) {
  if (options.vmpl < -1 || options.vmpl > 3) {
    return Error{ErrorCode::InvalidArgument, "vmpl must be 0..3 (or -1 for the default)"};
  }
  SevSnpAttesterConfig config;
  config.tsm = tsm_config(options);
  return shared(make_sevsnp_attester(std::move(config)));
}

Result<std::shared_ptr<Attester>> tdx_attester(const TeeAttesterOptions& options) {
  if (options.vmpl != -1) {
    return Error{ErrorCode::InvalidArgument, "vmpl applies to SEV-SNP only"};
  }
  TdxAttesterConfig config;
  config.tsm = tsm_config(options);
  return shared(make_tdx_attester(std::move(config)));
}

Result<std::shared_ptr<Attester>> passport_attester(const PassportAttesterOptions& options) {
  if (!options.evidence_attester) {
    return Error{ErrorCode::InvalidArgument, "the passport attester needs an evidence attester"};
  }
  auto registry = std::make_shared<const Registry>(builtin_registry());
  PassportAttesterConfig config;
  config.evidence_attester = options.evidence_attester;
  config.registry = registry;
  ATLS_ASSIGN_OR_RETURN(config.policy,
                        parse_policy(options.policy_json.empty() ? "{}" : options.policy_json,
                                     *registry, options.policy_base_dir));
  config.signing_key_pem = to_bytes(options.signing_key_pem);
  if (!options.verifier_url.empty()) {
    remote::ClientOptions vo;
    vo.url = options.verifier_url;
    vo.ca_file = options.verifier_ca_file;
    vo.timeout = options.verifier_timeout;
    ATLS_ASSIGN_OR_RETURN(config.verifier, remote::VerifierClient::create(std::move(vo)));
  }
  return shared(make_passport_attester(std::move(config)));
}

Result<std::string> attester_public_key_pem(const Attester& attester) {
  if (attester.name() == "software") {
    return software_attester_public_key(attester);
  }
  if (attester.name() == "tpm2") {
    return tpm2_attester_ak_pem(attester);
  }
  return Error{ErrorCode::InvalidArgument,
               "attester '" + std::string(attester.name()) + "' has no key to pin"};
}

}  // namespace atls
