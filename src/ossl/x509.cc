#include "src/ossl/x509.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"

#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <new>
#include <utility>

namespace atls::ossl {
namespace {

bool looks_pem(ByteView data) {
  return as_string_view(data).find("-----BEGIN ") != std::string_view::npos;
}

// The ex_data slot of an X509 that holds its DER encoding, computed once
// when we parsed it. Attached before the certificate is shared, and then
// only read: no lock needed.
int der_index() {
  static const int kIndex = ::CRYPTO_get_ex_new_index(
      CRYPTO_EX_INDEX_X509, 0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {  // NOLINT(runtime/int)
        delete static_cast<Bytes*>(ptr);
      });
  return kIndex;
}

// keep_encoding attaches i2d_X509's encoding of |cert| (just parsed) to it:
// the same bytes cert_der would compute, so comparisons and cache keys mean
// what they meant without it. Without memory, nothing is attached and
// cert_der encodes the certificate each time.
void keep_encoding(X509* cert) {
  const int index = der_index();
  if (index < 0) {
    return;
  }
  auto der = cert_der(cert);  // nothing kept yet: encodes it
  if (!der) {
    return;
  }
  auto* kept = new (std::nothrow) Bytes(std::move(*der));
  if (kept != nullptr && ::X509_set_ex_data(cert, index, kept) != 1) {
    delete kept;
  }
}

std::size_t count_pem_blocks(ByteView data, std::string_view header) {
  const std::string_view text = as_string_view(data);
  std::size_t n = 0;
  for (std::size_t at = text.find(header); at != std::string_view::npos;
       at = text.find(header, at + header.size())) {
    ++n;
  }
  return n;
}

std::string name_string(const X509_NAME* name) {
  UniquePtr<BIO> bio(::BIO_new(::BIO_s_mem()));
  if (!bio || ::X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    drain_errors();
    return {};
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return n > 0 && p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::int64_t asn1_time_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ::ASN1_TIME_to_tm(t, &tm) != 1) {
    drain_errors();
    return 0;
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace

Result<std::vector<UniquePtr<X509>>> parse_certificates(ByteView data) {
  std::vector<UniquePtr<X509>> out;
  if (data.empty() || data.size() > INT_MAX) {
    return Error{ErrorCode::CertMalformed, "empty input"};
  }
  if (looks_pem(data)) {
    UniquePtr<BIO> bio(::BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    while (true) {
      UniquePtr<X509> cert(::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!cert) {
        break;
      }
      keep_encoding(cert.get());
      out.push_back(std::move(cert));
    }
    // The loop ends with a "no start line" error at end of input, but also
    // at the first damaged certificate block. Counting the certificate
    // headers tells the two apart without looking at the error queue.
    drain_errors();
    if (out.empty()) {
      return Error{ErrorCode::CertMalformed, "no PEM certificate found"};
    }
    const std::size_t blocks = count_pem_blocks(data, "-----BEGIN CERTIFICATE-----") +
                               count_pem_blocks(data, "-----BEGIN X509 CERTIFICATE-----");
    if (blocks != out.size()) {
      return Error{ErrorCode::CertMalformed, "PEM certificate " + std::to_string(out.size() + 1) +
                                                 " of " + std::to_string(blocks) +
                                                 " does not parse"};
    }
    return out;
  }
  ATLS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, parse_certificate_der(data));
  out.push_back(std::move(cert));
  return out;
}

Result<UniquePtr<X509>> parse_certificate(ByteView data) {
  ATLS_ASSIGN_OR_RETURN(auto certs, parse_certificates(data));
  if (certs.size() != 1) {
    return Error{ErrorCode::CertMalformed,
                 "expected one certificate, found " + std::to_string(certs.size())};
  }
  return std::move(certs.front());
}

Result<UniquePtr<X509>> parse_certificate_der(ByteView der) {
  if (der.empty() || der.size() > INT_MAX) {
    return Error{ErrorCode::CertMalformed, "empty input"};
  }
  const unsigned char* p = der.data();
  UniquePtr<X509> cert(
      ::d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // NOLINT(runtime/int)
  if (!cert) {
    return failure(ErrorCode::CertMalformed, "not a DER certificate");
  }
  if (p != der.data() + der.size()) {
    return Error{ErrorCode::CertMalformed, "trailing bytes after DER certificate"};
  }
  keep_encoding(cert.get());
  return cert;
}

ByteView encoded_der(const X509* cert) {
  const int index = der_index();
  const auto* der = cert == nullptr || index < 0
                        ? nullptr
                        : static_cast<const Bytes*>(::X509_get_ex_data(cert, index));
  return der == nullptr ? ByteView() : ByteView(*der);
}

bool der_equals(const X509* cert, ByteView der) {
  if (cert == nullptr) {
    return false;
  }
  if (const ByteView kept = encoded_der(cert); !kept.empty()) {
    return std::ranges::equal(kept, der);
  }
  const auto encoded = cert_der(cert);
  return encoded && std::ranges::equal(*encoded, der);
}

bool CertificateCache::DerLess::operator()(ByteView a, ByteView b) const {
  if (a.size() != b.size()) {
    return a.size() < b.size();
  }
  return !a.empty() && std::memcmp(a.data(), b.data(), a.size()) < 0;
}

UniquePtr<X509> CertificateCache::find(ByteView der) const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_entries.find(der);
  if (it == m_entries.end()) {
    return nullptr;
  }
  return up_ref(it->second.get());
}

void CertificateCache::insert(ByteView der, X509* cert) const {
  if (cert == nullptr || der.empty() || der.size() > kMaxDer || m_capacity == 0) {
    return;
  }
  UniquePtr<X509> ref = up_ref(cert);
  if (!ref) {
    return;
  }
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (m_entries.find(der) != m_entries.end()) {
    return;  // another thread decoded the same bytes meanwhile; both are equal
  }
  if (m_entries.size() >= m_capacity) {
    m_entries.erase(m_entries.begin());
  }
  m_entries.emplace(Bytes(der.begin(), der.end()), std::move(ref));
}

Result<UniquePtr<X509>> CertificateCache::parse(ByteView der) const {
  if (UniquePtr<X509> cached = find(der)) {
    return cached;
  }
  ATLS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, parse_certificate_der(der));
  insert(der, cert.get());
  return cert;
}

std::size_t CertificateCache::size() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  return m_entries.size();
}

Result<void> verify_chain(X509* leaf, std::span<X509* const> intermediates,
                          std::span<X509* const> roots, const ChainOptions& options) {
  ATLS_TRY(verify_chain_window(leaf, intermediates, roots, options));
  return ok();
}

Result<ChainWindow> verify_chain_window(X509* leaf, std::span<X509* const> intermediates,
                                        std::span<X509* const> roots, const ChainOptions& options) {
  UniquePtr<X509_STORE> store(::X509_STORE_new());
  if (!store) {
    return failure(ErrorCode::CryptoFailure, "X509_STORE_new");
  }
  if (options.system_roots && ::X509_STORE_set_default_paths(store.get()) != 1) {
    return failure(ErrorCode::CryptoFailure, "X509_STORE_set_default_paths");
  }
  for (X509* root : roots) {
    if (::X509_STORE_add_cert(store.get(), root) != 1) {
      return failure(ErrorCode::CryptoFailure, "X509_STORE_add_cert");
    }
  }
  X509Stack untrusted = new_x509_stack();
  for (X509* c : intermediates) {
    auto ref = up_ref(c);
    if (!ref || ::sk_X509_push(untrusted.get(), ref.get()) <= 0) {
      return failure(ErrorCode::CryptoFailure, "sk_X509_push");
    }
    (void)ref.release();  // the stack owns it now
  }
  UniquePtr<X509_STORE_CTX> ctx(::X509_STORE_CTX_new());
  if (!ctx || ::X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return failure(ErrorCode::CryptoFailure, "X509_STORE_CTX_init");
  }
  ::X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(options.at));
  if (options.allow_partial_chain) {
    ::X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  }
  if (options.check_root_signature) {
    ::X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CHECK_SS_SIGNATURE);
  }
  const int rc = ::X509_verify_cert(ctx.get());
  drain_errors();
  if (rc == 1) {
    // OpenSSL checked every certificate of the built path against
    // options.at, the anchor included; their common window is where that
    // check passes.
    // A time that does not convert closes the window: such a verdict is
    // never reused.
    ChainWindow w{INT64_MIN, INT64_MAX};
    const STACK_OF(X509)* path = ::X509_STORE_CTX_get0_chain(ctx.get());
    if (path == nullptr) {
      return ChainWindow{1, 0};
    }
    for (int i = 0; i < sk_X509_num(path); ++i) {
      const X509* c = sk_X509_value(path, i);
      struct tm nb {};
      struct tm na {};
      if (::ASN1_TIME_to_tm(::X509_get0_notBefore(c), &nb) != 1 ||
          ::ASN1_TIME_to_tm(::X509_get0_notAfter(c), &na) != 1) {
        drain_errors();
        return ChainWindow{1, 0};
      }
      w.not_before = std::max(w.not_before, static_cast<std::int64_t>(::timegm(&nb)));
      w.not_after = std::min(w.not_after, static_cast<std::int64_t>(::timegm(&na)));
    }
    return w;
  }
  const int err = ::X509_STORE_CTX_get_error(ctx.get());
  const int depth = ::X509_STORE_CTX_get_error_depth(ctx.get());
  std::string detail =
      std::string(::X509_verify_cert_error_string(err)) + " at depth " + std::to_string(depth);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Error{ErrorCode::CertExpired, std::move(detail)};
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Error{ErrorCode::CertNotYetValid, std::move(detail)};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return Error{ErrorCode::CertUntrusted, std::move(detail)};
    default:
      return Error{ErrorCode::CertChainInvalid, std::move(detail)};
  }
}

Result<std::optional<Extension>> find_extension(const X509* cert, std::string_view oid) {
  const std::string oid_s(oid);
  UniquePtr<ASN1_OBJECT> obj(::OBJ_txt2obj(oid_s.c_str(), 1));
  if (!obj) {
    return failure(ErrorCode::InvalidArgument, "bad OID " + oid_s);
  }
  const int idx = ::X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0) {
    return std::optional<Extension>{};
  }
  X509_EXTENSION* ext = ::X509_get_ext(cert, idx);  // borrowed from cert
  const ASN1_OCTET_STRING* data = ::X509_EXTENSION_get_data(ext);
  if (data == nullptr) {
    return Error{ErrorCode::CertMalformed, "extension without value"};
  }
  Extension e;
  e.value.assign(::ASN1_STRING_get0_data(data),
                 ::ASN1_STRING_get0_data(data) + ::ASN1_STRING_length(data));
  e.critical = ::X509_EXTENSION_get_critical(ext) == 1;
  return std::optional<Extension>(std::move(e));
}

Result<Bytes> cert_der(const X509* cert) {
  if (const ByteView kept = encoded_der(cert); !kept.empty()) {
    return Bytes(kept.begin(), kept.end());
  }
  unsigned char* buf = nullptr;
  const int len = ::i2d_X509(cert, &buf);
  if (len <= 0) {
    return failure(ErrorCode::CertMalformed, "i2d_X509");
  }
  Bytes out(buf, buf + len);
  ::OPENSSL_free(buf);
  return out;
}

Result<Bytes> cert_spki_der(const X509* cert) {
  const X509_PUBKEY* pk = ::X509_get_X509_PUBKEY(cert);  // borrowed from cert
  unsigned char* buf = nullptr;
  const int len = ::i2d_X509_PUBKEY(pk, &buf);
  if (len <= 0) {
    return failure(ErrorCode::CertMalformed, "i2d_X509_PUBKEY");
  }
  Bytes out(buf, buf + len);
  ::OPENSSL_free(buf);
  return out;
}

Result<CertSummary> summarize(const X509* cert) {
  CertSummary s;
  s.subject = name_string(::X509_get_subject_name(cert));
  s.issuer = name_string(::X509_get_issuer_name(cert));
  const ASN1_INTEGER* serial = ::X509_get0_serialNumber(cert);
  if (serial != nullptr) {
    s.serial_hex = to_hex(
        {::ASN1_STRING_get0_data(serial), static_cast<std::size_t>(::ASN1_STRING_length(serial))});
  }
  s.not_before = asn1_time_unix(::X509_get0_notBefore(cert));
  s.not_after = asn1_time_unix(::X509_get0_notAfter(cert));
  const EVP_PKEY* key = ::X509_get0_pubkey(cert);
  s.key_type = std::string(key_type_name(key_type(key)));
  const int n = ::X509_get_ext_count(cert);
  for (int i = 0; i < n; ++i) {
    const X509_EXTENSION* ext = ::X509_get_ext(cert, i);
    char buf[128];
    ::OBJ_obj2txt(buf, sizeof buf, ::X509_EXTENSION_get_object(const_cast<X509_EXTENSION*>(ext)),
                  1);
    s.extension_oids.emplace_back(buf);
  }
  drain_errors();
  return s;
}

std::string format_time(std::int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  if (::gmtime_r(&tt, &tm) == nullptr) {
    return std::to_string(t);
  }
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace atls::ossl
