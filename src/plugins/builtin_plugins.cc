// The built-in plug-ins, registered explicitly (no self-registration). Adding
// a plug-in touches only this file and its own folder.

#include "src/plugins/builtin_plugins.h"

#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/sgx/sgx.h"
#include "src/plugins/software/software.h"
#include "src/plugins/tdx/tdx.h"
#include "src/plugins/tpm2/tpm2.h"

namespace atls {

Registry builtin_registry() {
  Registry r;
  r.add_verifier(make_software_verifier());
  r.add_appraiser(make_software_appraiser());
  r.add_verifier(make_sevsnp_verifier());
  r.add_appraiser(make_sevsnp_appraiser());
  r.add_verifier(make_tpm2_verifier());
  r.add_appraiser(make_tpm2_appraiser());
  r.add_verifier(make_tdx_verifier());
  r.add_appraiser(make_tdx_appraiser());
  r.add_verifier(make_sgx_verifier());
  r.add_appraiser(make_sgx_appraiser());
  r.add_verifier(make_ear_verifier());
  r.add_appraiser(make_ear_appraiser());
  return r;
}

}  // namespace atls
