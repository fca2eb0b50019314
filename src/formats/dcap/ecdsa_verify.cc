#include "src/formats/dcap/ecdsa_verify.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"

#include <algorithm>
#include <span>
#include <string>
#include <utility>

namespace atls {
namespace {

// ---------------------------------------------------------------------------
// Chain

Result<bool> is_trusted_root(X509* root, const std::vector<X509*>& trusted) {
  ATLS_ASSIGN_OR_RETURN(const Bytes der, ossl::cert_der(root));
  for (X509* t : trusted) {
    ATLS_ASSIGN_OR_RETURN(const Bytes tder, ossl::cert_der(t));
    if (tder == der) {
      return true;
    }
  }
  return false;
}

Result<void> verify_pck_chain(const DcapPckChain& chain, const DcapVerifyOptions& opts) {
  ATLS_ASSIGN_OR_RETURN(const bool trusted, is_trusted_root(chain.root.get(), opts.trusted_roots));
  if (!trusted) {
    return Error{ErrorCode::CertUntrusted,
                 "the quote's root CA is not a trusted Intel SGX Root CA"};
  }
  X509* const intermediates[] = {chain.intermediate.get()};
  ossl::ChainOptions copts;
  copts.at = opts.at;
  const std::span<X509* const> roots(opts.trusted_roots);
  if (opts.cache != nullptr) {
    return opts.cache->verify(chain.pck.get(), intermediates, roots, copts);
  }
  return ossl::verify_chain(chain.pck.get(), intermediates, roots, copts);
}

Result<void> check_trusted_roots(const DcapVerifyOptions& opts) {
  if (opts.trusted_roots.empty() ||
      std::any_of(opts.trusted_roots.begin(), opts.trusted_roots.end(),
                  [](X509* c) { return c == nullptr; })) {
    return Error{ErrorCode::InvalidArgument, "no trusted Intel SGX Root CA given"};
  }
  return ok();
}

// ---------------------------------------------------------------------------
// Signatures

Result<void> verify_qe_report_signature(const DcapEcdsaQuote& q, X509* pck,
                                        const DcapErrorCodes& codes) {
  EVP_PKEY* key = ::X509_get0_pubkey(pck);  // borrowed from |pck|
  if (key == nullptr || ossl::key_type(key) != ossl::KeyType::EcP256) {
    ossl::drain_errors();
    return Error{ErrorCode::KeyTypeMismatch, "PCK certificate key is not EC P-256"};
  }
  return verify_raw_p256(key, q.qe_report_raw, q.qe_report_signature, codes.bad_qe_report_signature,
                         "QE report signature by the PCK key");
}

Result<void> verify_qe_report_data(const DcapEcdsaQuote& q, const DcapErrorCodes& codes) {
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.10
  //# QE Report.ReportData = SHA256(ECDSA Attestation Key || QE Authentication Data) ||
  //# 32-0x00's
  ATLS_ASSIGN_OR_RETURN(auto hasher, ossl::Hasher::create(ossl::HashAlg::Sha256));
  ATLS_TRY(hasher.update(q.attestation_key));
  ATLS_TRY(hasher.update(q.qe_auth_data));
  ATLS_ASSIGN_OR_RETURN(const Bytes expected, hasher.finish());
  const ByteView rd(q.qe_report.report_data);
  if (rd.size() != 64) {
    return Error{codes.malformed, "QE report_data is not 64 bytes"};
  }
  static const std::uint8_t kZero[32] = {};
  if (!constant_time_equal(rd.first(32), expected)) {
    return Error{codes.qe_report_data_mismatch,
                 "QE report_data[0:32] != SHA-256(attestation key || QE auth data)"};
  }
  if (!constant_time_equal(rd.subspan(32), ByteView(kZero))) {
    return Error{codes.qe_report_data_mismatch, "QE report_data[32:64] is not zero"};
  }
  return ok();
}

Result<void> verify_quote_signature(const DcapEcdsaQuote& q, EVP_PKEY* decoded_key,
                                    const DcapErrorCodes& codes) {
  if (q.attestation_key.size() != kDcapEcdsaKeySize) {
    return Error{codes.malformed, "attestation key is not 64 bytes"};
  }
  if (decoded_key != nullptr) {
    return verify_raw_p256(decoded_key, q.signed_bytes, q.signature, codes.bad_quote_signature,
                           "quote signature by the attestation key");
  }
  auto key = dcap_attestation_key(q, codes.malformed);
  if (!key) {
    return Error{ErrorCode::KeyInvalid, "attestation key is not a P-256 point"};
  }
  return verify_raw_p256(key->get(), q.signed_bytes, q.signature, codes.bad_quote_signature,
                         "quote signature by the attestation key");
}

}  // namespace

Result<void> verify_raw_p256(EVP_PKEY* key, ByteView msg, ByteView raw_sig, ErrorCode bad,
                             const char* what) {
  auto der = ossl::ecdsa_raw_to_der(raw_sig);
  if (!der) {
    if (der.error().code == ErrorCode::SignatureInvalid) {
      return Error{bad, std::string(what) + ": " + der.error().detail};
    }
    return der.error();
  }
  auto r = ossl::verify(key, ossl::SignatureAlg::EcdsaSha256, msg, *der);
  if (!r) {
    if (r.error().code == ErrorCode::SignatureInvalid) {
      return Error{bad, what};
    }
    return r.error();
  }
  return ok();
}

Result<DcapPckChain> parse_dcap_pck_chain(ByteView pck_chain_pem, ErrorCode bad_chain) {
  ByteView pem = pck_chain_pem;
  while (!pem.empty() && pem.back() == 0) {
    pem = pem.first(pem.size() - 1);
  }
  auto certs = ossl::parse_certificates(pem);
  if (!certs) {
    return Error{bad_chain, certs.error().detail};
  }
  if (certs->size() != 3) {
    return Error{bad_chain, "expected 3 PEM certificates (PCK, CA, root), found " +
                                std::to_string(certs->size())};
  }
  DcapPckChain chain;
  chain.pck = std::move((*certs)[0]);
  chain.intermediate = std::move((*certs)[1]);
  chain.root = std::move((*certs)[2]);
  return chain;
}

Result<void> verify_dcap_quote(const DcapEcdsaQuote& q, const DcapVerifyOptions& opts,
                               const DcapErrorCodes& codes) {
  ATLS_TRY(check_trusted_roots(opts));
  ATLS_ASSIGN_OR_RETURN(const DcapPckChain chain,
                        parse_dcap_pck_chain(q.pck_chain_pem, codes.bad_pck_chain));
  return verify_dcap_quote(q, chain, opts, codes);
}

Result<void> verify_dcap_quote(const DcapEcdsaQuote& q, const DcapPckChain& chain,
                               const DcapVerifyOptions& opts, const DcapErrorCodes& codes) {
  ATLS_TRY(check_trusted_roots(opts));
  if (!chain.pck || !chain.intermediate || !chain.root) {
    return Error{ErrorCode::InvalidArgument, "incomplete PCK chain"};
  }
  ATLS_TRY(verify_pck_chain(chain, opts));
  if (opts.cache != nullptr) {
    ATLS_TRY(opts.cache->verify_signed_by(
        chain.pck.get(), q.qe_report_raw, q.qe_report_signature,
        [&]() { return verify_qe_report_signature(q, chain.pck.get(), codes); }));
  } else {
    ATLS_TRY(verify_qe_report_signature(q, chain.pck.get(), codes));
  }
  ATLS_TRY(verify_qe_report_data(q, codes));
  ATLS_TRY(verify_quote_signature(q, opts.attestation_key, codes));
  return ok();
}

Result<ossl::UniquePtr<EVP_PKEY>> dcap_attestation_key(const DcapEcdsaQuote& q,
                                                       ErrorCode malformed) {
  if (q.attestation_key.size() != kDcapEcdsaKeySize) {
    return Error{malformed, "attestation key is not 64 bytes"};
  }
  const ByteView ak(q.attestation_key);
  return ossl::ec_public_from_xy(ossl::KeyType::EcP256, ak.first(32), ak.subspan(32));
}

}  // namespace atls
