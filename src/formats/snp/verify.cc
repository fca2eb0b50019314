#include "src/formats/snp/verify.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/x509.h"

#include <array>
#include <string>
#include <string_view>

namespace atls {
namespace {

// AMD's VCEK certificate extensions (VCEK specification 57230, "VCEK
// Certificate Extensions"). Each SPL is a DER INTEGER; hwID is the raw chip
// identifier (64 bytes on Milan/Genoa, 8 bytes on Turin).
constexpr std::string_view kOidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
constexpr std::string_view kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
constexpr std::string_view kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
constexpr std::string_view kOidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
constexpr std::string_view kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
constexpr std::string_view kOidHwId = "1.3.6.1.4.1.3704.1.4";

// small_der_integer decodes a DER INTEGER in [0, 255] (the SPL range).
Result<std::uint8_t> small_der_integer(ByteView der, std::string_view oid) {
  // 02 01 vv (vv < 0x80) or 02 02 00 vv (vv >= 0x80, minimal encoding).
  if (der.size() == 3 && der[0] == 0x02 && der[1] == 0x01 && der[2] < 0x80) {
    return der[2];
  }
  if (der.size() == 4 && der[0] == 0x02 && der[1] == 0x02 && der[2] == 0x00 && der[3] >= 0x80) {
    return der[3];
  }
  return Error{ErrorCode::CertMalformed,
               "VCEK extension " + std::string(oid) + " is not an INTEGER in [0, 255]"};
}

Result<std::uint8_t> vcek_spl(const X509* vcek, std::string_view oid) {
  ATLS_ASSIGN_OR_RETURN(auto ext, ossl::find_extension(vcek, oid));
  if (!ext) {
    return Error{ErrorCode::CertMalformed, "VCEK lacks extension " + std::string(oid)};
  }
  return small_der_integer(ext->value, oid);
}

Result<void> expect_spl(const X509* vcek, std::string_view oid, std::string_view name,
                        std::uint8_t reported) {
  ATLS_ASSIGN_OR_RETURN(const std::uint8_t spl, vcek_spl(vcek, oid));
  if (spl != reported) {
    return Error{ErrorCode::SnpVcekMismatch, "VCEK " + std::string(name) + " " +
                                                 std::to_string(spl) + " != REPORTED_TCB " +
                                                 std::to_string(reported)};
  }
  return ok();
}

// is_self_signed checks that |cert| is self-issued and its signature verifies
// with its own key. OpenSSL does not check a trust anchor's self-signature
// unless asked, and an ARK must be a real root.
bool is_self_signed(X509* cert) {
  if (::X509_check_issued(cert, cert) != X509_V_OK) {
    ossl::drain_errors();
    return false;
  }
  EVP_PKEY* key = ::X509_get0_pubkey(cert);  // borrowed from cert
  const bool good = key != nullptr && ::X509_verify(cert, key) == 1;
  ossl::drain_errors();
  return good;
}

}  // namespace

Result<void> verify_snp_report_signature(const SnpReport& r, EVP_PKEY* vcek_key) {
  if (vcek_key == nullptr || ossl::key_type(vcek_key) != ossl::KeyType::EcP384) {
    ossl::drain_errors();
    return Error{ErrorCode::KeyTypeMismatch, "VCEK key is not EC P-384"};
  }
  if (r.signed_bytes.size() != kSnpSignedSize || r.signature_r.size() != 48 ||
      r.signature_s.size() != 48) {
    return Error{ErrorCode::SnpMalformed, "report was not produced by parse_snp_report"};
  }
  Bytes raw = r.signature_r;
  raw.insert(raw.end(), r.signature_s.begin(), r.signature_s.end());
  auto der = ossl::ecdsa_raw_to_der(raw);
  if (!der) {
    return Error{ErrorCode::SnpBadSignature, der.error().detail};
  }
  //= https://www.amd.com/system/files/TechDocs/56860.pdf#ATTESTATION_REPORT Structure
  //# SIGNATURE: Signature of bytes 0h to 29Fh inclusive of this report.
  auto verified = ossl::verify(vcek_key, ossl::SignatureAlg::EcdsaSha384, r.signed_bytes, *der);
  if (!verified) {
    if (verified.error().code == ErrorCode::SignatureInvalid) {
      return Error{ErrorCode::SnpBadSignature, verified.error().detail};
    }
    return verified.error();
  }
  return ok();
}

Result<SnpChain> parse_snp_chain(ByteView pem) {
  ATLS_ASSIGN_OR_RETURN(auto certs, ossl::parse_certificates(pem));
  if (certs.size() != 2) {
    return Error{ErrorCode::CertMalformed,
                 "expected ASK and ARK, found " + std::to_string(certs.size()) + " certificates"};
  }
  SnpChain chain;
  chain.ask = std::move(certs[0]);
  chain.ark = std::move(certs[1]);
  if (::X509_check_issued(chain.ark.get(), chain.ark.get()) != X509_V_OK) {
    ossl::drain_errors();
    return Error{ErrorCode::CertChainInvalid, "second certificate (ARK) is not self-issued"};
  }
  return chain;
}

Result<void> verify_vcek_chain(X509* vcek, X509* ask, X509* ark, std::int64_t at,
                               const ossl::ChainCache* cache) {
  if (vcek == nullptr || ask == nullptr || ark == nullptr) {
    return Error{ErrorCode::InvalidArgument, "null certificate"};
  }
  if (::X509_check_issued(ark, ark) != X509_V_OK) {
    ossl::drain_errors();
    return Error{ErrorCode::CertUntrusted, "ARK is not a self-signed root"};
  }
  // The ASK signs the VCEK and the ARK signs the ASK with RSASSA-PSS
  // (SHA-384, MGF1-SHA-384, salt 48); OpenSSL 3 verifies these natively.
  // OpenSSL also checks the ARK's self-signature here (an ARK must be a
  // real root), so that a cached verdict covers all three signatures.
  const std::array<X509*, 1> intermediates{ask};
  const std::array<X509*, 1> roots{ark};
  ossl::ChainOptions options;
  options.at = at;
  options.check_root_signature = true;
  auto verdict = cache != nullptr ? cache->verify(vcek, intermediates, roots, options)
                                  : ossl::verify_chain(vcek, intermediates, roots, options);
  if (!verdict && !is_self_signed(ark)) {
    return Error{ErrorCode::CertUntrusted, "ARK is not a self-signed root"};
  }
  return verdict;
}

Result<void> verify_vcek_chain(X509* vcek, const SnpChain& chain, std::int64_t at,
                               const ossl::ChainCache* cache) {
  return verify_vcek_chain(vcek, chain.ask.get(), chain.ark.get(), at, cache);
}

Result<void> check_vcek_matches_report(X509* vcek, const SnpReport& r) {
  if (vcek == nullptr) {
    return Error{ErrorCode::InvalidArgument, "null certificate"};
  }
  const bool turin = r.tcb_layout == SnpTcbLayout::Turin;
  if (!r.mask_chip_key) {
    ATLS_ASSIGN_OR_RETURN(auto hwid, ossl::find_extension(vcek, kOidHwId));
    if (!hwid) {
      return Error{ErrorCode::CertMalformed, "VCEK lacks the hwID extension"};
    }
    // Turin VCEKs carry an 8-byte hwID, matching the first 8 bytes of
    // CHIP_ID (the remaining 56 are zero in Turin reports).
    const std::size_t n = turin ? 8 : r.chip_id.size();
    const ByteView chip(r.chip_id.data(), n);
    if (!constant_time_equal(hwid->value, chip)) {
      return Error{ErrorCode::SnpVcekMismatch, "VCEK hwID does not equal CHIP_ID"};
    }
  }
  const SnpTcb& t = r.reported_tcb;
  ATLS_TRY(expect_spl(vcek, kOidBlSpl, "blSPL", t.bootloader));
  ATLS_TRY(expect_spl(vcek, kOidTeeSpl, "teeSPL", t.tee));
  ATLS_TRY(expect_spl(vcek, kOidSnpSpl, "snpSPL", t.snp));
  ATLS_TRY(expect_spl(vcek, kOidUcodeSpl, "ucodeSPL", t.microcode));
  if (turin) {
    ATLS_TRY(expect_spl(vcek, kOidFmcSpl, "fmcSPL", t.fmc));
  }
  return ok();
}

Result<void> verify_snp_report_data(const SnpReport& r, ByteView expected) {
  if (expected.size() != r.report_data.size()) {
    return Error{ErrorCode::InvalidArgument, "expected REPORT_DATA must be 64 bytes"};
  }
  if (!constant_time_equal(ByteView(r.report_data.data(), r.report_data.size()), expected)) {
    return Error{ErrorCode::SnpReportDataMismatch, "REPORT_DATA differs"};
  }
  return ok();
}

Result<SnpReport> verify_snp_attestation(ByteView report, X509* vcek, const SnpChain& chain,
                                         std::int64_t at) {
  ATLS_ASSIGN_OR_RETURN(SnpReport r, parse_snp_report(report));
  if (r.signing_key != SnpSigningKey::Vcek) {
    // VLEK-signed reports chain to the ASVK, unsigned ones to nothing.
    return Error{ErrorCode::SnpBadSignature, "report is not signed by a VCEK"};
  }
  ATLS_TRY(verify_vcek_chain(vcek, chain, at));
  ATLS_TRY(check_vcek_matches_report(vcek, r));
  EVP_PKEY* key = ::X509_get0_pubkey(vcek);  // borrowed from vcek
  if (key == nullptr) {
    return ossl::failure(ErrorCode::CertMalformed, "VCEK public key");
  }
  ATLS_TRY(verify_snp_report_signature(r, key));
  return r;
}

}  // namespace atls
