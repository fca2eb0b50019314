#include "src/formats/tdx/verify.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace atls {
namespace {

// ---------------------------------------------------------------------------
// Minimal DER reader for the SGX extension (definite lengths, one-byte tags).

struct Tlv {
  std::uint8_t tag = 0;
  ByteView value;
};

Error bad_ext(std::string detail) {
  return Error{ErrorCode::CertMalformed, "SGX extension: " + std::move(detail)};
}

Result<Tlv> der_next(ByteReader& r) {
  auto tag = r.u8();
  auto len0 = r.u8();
  if (!tag || !len0) {
    return bad_ext("truncated TLV");
  }
  if ((*tag & 0x1f) == 0x1f) {
    return bad_ext("multi-byte tag");
  }
  std::size_t len = *len0;
  if (len >= 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 3) {
      return bad_ext("unsupported length form");
    }
    len = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto b = r.u8();
      if (!b) {
        return bad_ext("truncated length");
      }
      len = (len << 8) | *b;
    }
  }
  auto value = r.bytes(len);
  if (!value) {
    return bad_ext("length exceeds input");
  }
  return Tlv{*tag, *value};
}

constexpr std::uint8_t kTagBoolean = 0x01;
constexpr std::uint8_t kTagInteger = 0x02;
constexpr std::uint8_t kTagOctetString = 0x04;
constexpr std::uint8_t kTagOid = 0x06;
constexpr std::uint8_t kTagEnumerated = 0x0a;
constexpr std::uint8_t kTagSequence = 0x30;

// DER contents of OID 1.2.840.113741.1.13.1 (the SGX extension arc).
constexpr std::uint8_t kSgxArc[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

// sub_oid returns the arcs after kSgxArc (each < 128), or nullopt for an OID
// outside the arc.
std::optional<std::vector<std::uint8_t>> sub_oid(ByteView oid) {
  if (oid.size() <= sizeof kSgxArc ||
      !std::equal(std::begin(kSgxArc), std::end(kSgxArc), oid.begin())) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> arcs(oid.begin() + sizeof kSgxArc, oid.end());
  for (std::uint8_t a : arcs) {
    if (a >= 0x80) {
      return std::nullopt;
    }
  }
  return arcs;
}

Result<std::uint32_t> der_small_uint(const Tlv& t, std::uint8_t tag, std::uint32_t max,
                                     const char* what) {
  if (t.tag != tag || t.value.empty() || t.value.size() > 4 || (t.value[0] & 0x80) != 0) {
    return bad_ext(std::string(what) + " is not a small non-negative integer");
  }
  std::uint32_t v = 0;
  for (std::uint8_t b : t.value) {
    v = (v << 8) | b;
  }
  if (v > max) {
    return bad_ext(std::string(what) + " out of range");
  }
  return v;
}

Result<Bytes> der_octets(const Tlv& t, std::size_t size, const char* what) {
  if (t.tag != kTagOctetString || t.value.size() != size) {
    return bad_ext(std::string(what) + " is not an OCTET STRING of " + std::to_string(size) +
                   " bytes");
  }
  return Bytes(t.value.begin(), t.value.end());
}

Result<bool> der_bool(const Tlv& t, const char* what) {
  if (t.tag != kTagBoolean || t.value.size() != 1) {
    return bad_ext(std::string(what) + " is not a BOOLEAN");
  }
  return t.value[0] != 0;
}

// for_each_entry walks a SEQUENCE OF SEQUENCE { OID, value } and calls
// |fn(arcs, value)| for every OID inside the SGX arc.
template <class Fn>
Result<void> for_each_entry(ByteView seq_contents, Fn&& fn) {
  ByteReader r(seq_contents);
  while (!r.empty()) {
    ATLS_ASSIGN_OR_RETURN(const Tlv entry, der_next(r));
    if (entry.tag != kTagSequence) {
      return bad_ext("entry is not a SEQUENCE");
    }
    ByteReader er(entry.value);
    ATLS_ASSIGN_OR_RETURN(const Tlv oid, der_next(er));
    ATLS_ASSIGN_OR_RETURN(const Tlv value, der_next(er));
    if (oid.tag != kTagOid || !er.empty()) {
      return bad_ext("entry is not { OID, value }");
    }
    const auto arcs = sub_oid(oid.value);
    if (arcs) {
      ATLS_TRY(fn(*arcs, value));
    }
  }
  return ok();
}

Result<void> parse_tcb(const Tlv& tcb, PckExtensions& e, bool& have_pcesvn, bool& have_cpusvn,
                       std::uint32_t& have_comps) {
  if (tcb.tag != kTagSequence) {
    return bad_ext("TCB is not a SEQUENCE");
  }
  return for_each_entry(
      tcb.value, [&](const std::vector<std::uint8_t>& arcs, const Tlv& v) -> Result<void> {
        if (arcs.size() != 2 || arcs[0] != 2) {
          return ok();
        }
        const std::uint8_t n = arcs[1];
        if (n >= 1 && n <= 16) {
          ATLS_ASSIGN_OR_RETURN(const std::uint32_t svn,
                                der_small_uint(v, kTagInteger, 255, "TCB component SVN"));
          e.tcb_comp_svn[n - 1] = static_cast<std::uint8_t>(svn);
          have_comps |= 1U << (n - 1);
        } else if (n == 17) {
          ATLS_ASSIGN_OR_RETURN(const std::uint32_t svn,
                                der_small_uint(v, kTagInteger, 0xffff, "PCESVN"));
          e.pcesvn = static_cast<std::uint16_t>(svn);
          have_pcesvn = true;
        } else if (n == 18) {
          ATLS_ASSIGN_OR_RETURN(e.cpusvn, der_octets(v, 16, "CPUSVN"));
          have_cpusvn = true;
        }
        return ok();
      });
}

Result<void> parse_configuration(const Tlv& cfg, PckExtensions& e) {
  if (cfg.tag != kTagSequence) {
    return bad_ext("Configuration is not a SEQUENCE");
  }
  return for_each_entry(
      cfg.value, [&](const std::vector<std::uint8_t>& arcs, const Tlv& v) -> Result<void> {
        if (arcs.size() != 2 || arcs[0] != 7) {
          return ok();
        }
        if (arcs[1] == 1) {
          ATLS_ASSIGN_OR_RETURN(e.dynamic_platform, der_bool(v, "dynamicPlatform"));
        } else if (arcs[1] == 2) {
          ATLS_ASSIGN_OR_RETURN(e.cached_keys, der_bool(v, "cachedKeys"));
        } else if (arcs[1] == 3) {
          ATLS_ASSIGN_OR_RETURN(e.smt_enabled, der_bool(v, "smtEnabled"));
        }
        return ok();
      });
}

Result<PckCaType> ca_type_of(X509* pck) {
  ATLS_ASSIGN_OR_RETURN(const ossl::CertSummary s, ossl::summarize(pck));
  if (s.issuer.find("Intel SGX PCK Platform CA") != std::string::npos) {
    return PckCaType::Platform;
  }
  if (s.issuer.find("Intel SGX PCK Processor CA") != std::string::npos) {
    return PckCaType::Processor;
  }
  return Error{ErrorCode::CertMalformed, "PCK issuer is not an Intel SGX PCK CA: " + s.issuer};
}

}  // namespace

Result<DcapPckChain> parse_tdx_pck_chain(const TdxQuote& q) {
  return parse_dcap_pck_chain(q.pck_chain_pem, ErrorCode::TdxBadPckChain);
}

Result<DcapPckChain> parse_tdx_pck_chain(ByteView pck_chain_pem) {
  return parse_dcap_pck_chain(pck_chain_pem, ErrorCode::TdxBadPckChain);
}

Result<void> verify_tdx_quote(const TdxQuote& q, const DcapVerifyOptions& opts) {
  return verify_dcap_quote(q, opts, kTdxQuoteErrors);
}

Result<void> verify_tdx_quote(const TdxQuote& q, const DcapPckChain& chain,
                              const DcapVerifyOptions& opts) {
  return verify_dcap_quote(q, chain, opts, kTdxQuoteErrors);
}

Result<void> verify_qe_identity_signature(const QeIdentity& id, ByteView issuer_chain_pem,
                                          const std::vector<X509*>& trusted_roots,
                                          std::int64_t at) {
  if (trusted_roots.empty()) {
    return Error{ErrorCode::InvalidArgument, "no trusted Intel SGX Root CA given"};
  }
  auto certs = ossl::parse_certificates(issuer_chain_pem);
  if (!certs) {
    return Error{ErrorCode::TdxQeIdentityMalformed,
                 "QE Identity issuer chain: " + certs.error().detail};
  }
  // The TCB Signing certificate is found by name; the chain's root (if any)
  // is not used: trust comes from |trusted_roots| only.
  X509* signer = nullptr;
  for (const auto& c : *certs) {
    const X509_NAME* subject = ::X509_get_subject_name(c.get());
    char cn[128] = {};
    const int n = ::X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn);
    if (n > 0 && std::string_view(cn, static_cast<std::size_t>(n)) == "Intel SGX TCB Signing") {
      signer = c.get();
      break;
    }
  }
  if (signer == nullptr) {
    (void)ossl::drain_errors();
    return Error{ErrorCode::TdxQeIdentityMalformed,
                 "QE Identity issuer chain has no \"Intel SGX TCB Signing\" certificate"};
  }
  ossl::ChainOptions copts;
  copts.at = at;
  ATLS_TRY(ossl::verify_chain(signer, {}, std::span<X509* const>(trusted_roots), copts));
  EVP_PKEY* key = ::X509_get0_pubkey(signer);  // borrowed from |signer|
  if (key == nullptr || ossl::key_type(key) != ossl::KeyType::EcP256) {
    (void)ossl::drain_errors();
    return Error{ErrorCode::KeyTypeMismatch, "TCB Signing certificate key is not EC P-256"};
  }
  return verify_raw_p256(key, id.signed_bytes, id.signature, ErrorCode::TdxQeIdentityBadSignature,
                         "QE Identity signature by the TCB Signing key");
}

Result<ossl::UniquePtr<EVP_PKEY>> tdx_attestation_key(const TdxQuote& q) {
  return dcap_attestation_key(q, ErrorCode::TdxMalformed);
}

Result<PckExtensions> parse_pck_extensions(X509* pck) {
  ATLS_ASSIGN_OR_RETURN(const auto ext, ossl::find_extension(pck, "1.2.840.113741.1.13.1"));
  if (!ext) {
    return Error{ErrorCode::CertMalformed, "PCK certificate has no SGX extension"};
  }
  ByteReader top(ext->value);
  ATLS_ASSIGN_OR_RETURN(const Tlv seq, der_next(top));
  if (seq.tag != kTagSequence || !top.empty()) {
    return bad_ext("not a single SEQUENCE");
  }
  PckExtensions e;
  bool have_ppid = false;
  bool have_tcb = false;
  bool have_pcesvn = false;
  bool have_cpusvn = false;
  std::uint32_t have_comps = 0;
  bool have_pceid = false;
  bool have_fmspc = false;
  bool have_type = false;
  const auto visit = [&](const std::vector<std::uint8_t>& arcs, const Tlv& v) -> Result<void> {
    if (arcs.size() != 1) {
      return ok();
    }
    switch (arcs[0]) {
      case 1: {
        ATLS_ASSIGN_OR_RETURN(e.ppid, der_octets(v, 16, "PPID"));
        have_ppid = true;
        break;
      }
      case 2: {
        ATLS_TRY(parse_tcb(v, e, have_pcesvn, have_cpusvn, have_comps));
        have_tcb = true;
        break;
      }
      case 3: {
        ATLS_ASSIGN_OR_RETURN(e.pceid, der_octets(v, 2, "PCE-ID"));
        have_pceid = true;
        break;
      }
      case 4: {
        ATLS_ASSIGN_OR_RETURN(e.fmspc, der_octets(v, 6, "FMSPC"));
        have_fmspc = true;
        break;
      }
      case 5: {
        ATLS_ASSIGN_OR_RETURN(const std::uint32_t t,
                              der_small_uint(v, kTagEnumerated, 255, "SGX Type"));
        e.sgx_type = static_cast<std::uint8_t>(t);
        have_type = true;
        break;
      }
      case 6: {
        ATLS_ASSIGN_OR_RETURN(e.platform_instance_id, der_octets(v, 16, "PlatformInstanceID"));
        break;
      }
      case 7: {
        ATLS_TRY(parse_configuration(v, e));
        break;
      }
      default:
        break;
    }
    return ok();
  };
  ATLS_TRY(for_each_entry(seq.value, visit));
  if (!have_ppid || !have_tcb || !have_pcesvn || !have_cpusvn || have_comps != 0xffffU ||
      !have_pceid || !have_fmspc || !have_type) {
    return bad_ext("a mandatory field is missing");
  }
  ATLS_ASSIGN_OR_RETURN(e.ca_type, ca_type_of(pck));
  return e;
}

const char* pck_ca_type_name(PckCaType t) {
  return t == PckCaType::Platform ? "platform" : "processor";
}

nlohmann::json pck_extensions_to_json(const PckExtensions& e) {
  nlohmann::json out = {
      {"ppid", to_hex(e.ppid)},   {"tcb_comp_svn", to_hex(e.tcb_comp_svn)},
      {"pcesvn", e.pcesvn},       {"cpusvn", to_hex(e.cpusvn)},
      {"pceid", to_hex(e.pceid)}, {"fmspc", to_hex(e.fmspc)},
      {"sgx_type", e.sgx_type},   {"ca_type", pck_ca_type_name(e.ca_type)},
  };
  if (e.platform_instance_id) {
    out["platform_instance_id"] = to_hex(*e.platform_instance_id);
  }
  if (e.dynamic_platform) {
    out["dynamic_platform"] = *e.dynamic_platform;
  }
  if (e.cached_keys) {
    out["cached_keys"] = *e.cached_keys;
  }
  if (e.smt_enabled) {
    out["smt_enabled"] = *e.smt_enabled;
  }
  return out;
}

}  // namespace atls
