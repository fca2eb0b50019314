#include "src/plugins/tdx/intel_roots.h"

#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/ossl/x509.h"

#include <algorithm>

namespace atls::internal {

Result<void> IntelRoots::add(std::vector<ossl::UniquePtr<X509>>& to, ByteView data) const {
  ATLS_ASSIGN_OR_RETURN(const auto certs,
                        m_roots.get(data, [](ByteView d) { return ossl::parse_certificates(d); }));
  for (const auto& c : *certs) {
    to.push_back(ossl::up_ref(c.get()));
  }
  return ok();
}

Result<std::vector<ossl::UniquePtr<X509>>> IntelRoots::trusted(const VerifyContext& ctx) const {
  std::vector<ossl::UniquePtr<X509>> roots;
  // The "sgx_root" trust entry: one file reference or a list of them.
  for (const auto& ref : file_refs(ctx.trust, "sgx_root")) {
    ATLS_ASSIGN_OR_RETURN(const Bytes b, load_file(ctx, ref));
    ATLS_TRY(add(roots, b));
  }
  for (const auto& anchor : ctx.trust_anchors) {
    ATLS_TRY(add(roots, anchor));
  }
  return roots;
}

Result<void> check_sgx_root_entry(const nlohmann::json& trust) {
  if (!trust.contains("sgx_root")) {
    return ok();
  }
  return check_file_list(trust["sgx_root"], "sgx_root",
                         "an Intel SGX Root CA certificate file or a list of them");
}

Result<void> bind_report_data(const Bytes& report_data, const VerifyContext& ctx,
                              EvidenceClaims& out) {
  out.nonce = report_data;
  if (!ctx.expected_nonce) {
    return ok();
  }
  // docs/wire-profile.md §1.5: REPORTDATA is the binder zero-padded to 64 bytes.
  const Bytes& n = *ctx.expected_nonce;
  if (n.size() > report_data.size()) {
    return Error{ErrorCode::NonceMismatch,
                 "the expected nonce is longer than REPORTDATA (64 bytes)"};
  }
  Bytes padded(report_data.size(), 0);
  std::copy(n.begin(), n.end(), padded.begin());
  if (!constant_time_equal(padded, report_data)) {
    return Error{ErrorCode::NonceMismatch,
                 "REPORTDATA is not the expected binder zero-padded to 64 bytes"};
  }
  out.nonce = n;
  out.nonce_verified = true;
  return ok();
}

}  // namespace atls::internal
