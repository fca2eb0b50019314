#include "src/gateway/token.h"

#include "src/core/byte_reader.h"
#include "src/core/error_names.h"
#include "src/ossl/crypto.h"

#include <algorithm>

namespace atls::gateway {
namespace {

ByteView prefix_bytes() {
  return {reinterpret_cast<const std::uint8_t*>(kTokenPrefix.data()), kTokenPrefix.size()};
}

Error invalid(std::string detail) {
  return Error{ErrorCode::GatewayTokenInvalid, std::move(detail)};
}

ByteView text_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Result<void> write_submod(ByteWriter& w, const SubmodResult& s) {
  ATLS_TRY(w.vector8(text_bytes(s.name)));
  ATLS_TRY(w.vector8(text_bytes(s.policy_id)));
  std::uint8_t present = 0;
  for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
    if (s.trust_vector.claims[i]) {
      present |= static_cast<std::uint8_t>(1u << i);
    }
  }
  w.u8(present);
  for (const auto& c : s.trust_vector.claims) {
    w.u8(static_cast<std::uint8_t>(c.value_or(0)));
  }
  const std::string_view finding =
      s.findings.empty() ? std::string_view{} : error_name(s.findings.front().code);
  return w.vector8(text_bytes(finding));
}

Result<Bytes> plaintext_of(const TokenContents& t) {
  if (t.psk.size() != kPskSize || t.token_id.size() != kTokenIdSize) {
    return Error{ErrorCode::InvalidArgument, "a token needs a 32-byte PSK and a 16-byte id"};
  }
  if (t.iat < 0 || t.exp < t.iat || t.summary.verified_at < 0 || t.summary.valid_until < 0) {
    return Error{ErrorCode::InvalidArgument, "token times out of order"};
  }
  if (t.summary.submods.empty() || t.summary.submods.size() > 0xffff) {
    return Error{ErrorCode::InvalidArgument, "a token summarises 1 to 65535 submodules"};
  }
  ByteWriter w;
  w.u8(kTokenVersion);
  w.u8(t.single_use ? kFlagSingleUse : 0);
  w.bytes(t.psk.view());
  w.u64(static_cast<std::uint64_t>(t.iat));
  w.u64(static_cast<std::uint64_t>(t.exp));
  w.bytes(t.token_id);
  ATLS_TRY(w.vector8(text_bytes(t.audience)));
  w.u8(static_cast<std::uint8_t>(t.summary.status));
  w.u8(t.summary.hardware_rooted ? 1 : 0);
  w.u64(static_cast<std::uint64_t>(t.summary.verified_at));
  w.u64(static_cast<std::uint64_t>(t.summary.valid_until));
  ATLS_TRY(w.vector8(text_bytes(t.summary.media_type)));
  ATLS_TRY(w.vector8(text_bytes(t.summary.machine_id)));
  w.u16(static_cast<std::uint16_t>(t.summary.submods.size()));
  for (const auto& s : t.summary.submods) {
    ATLS_TRY(write_submod(w, s));
  }
  return w.take();
}

Result<TrustTier> read_tier(std::uint8_t v) {
  switch (static_cast<TrustTier>(static_cast<std::int8_t>(v))) {
    case TrustTier::None:
    case TrustTier::Affirming:
    case TrustTier::Warning:
    case TrustTier::Contraindicated:
      return static_cast<TrustTier>(static_cast<std::int8_t>(v));
  }
  return invalid("unknown trust tier " + std::to_string(v));
}

Result<std::string> read_text(ByteReader& r, const char* what) {
  auto v = r.vector8();
  if (!v) {
    return invalid(std::string("truncated ") + what);
  }
  return std::string(v->begin(), v->end());
}

Result<std::int64_t> read_time(ByteReader& r, const char* what) {
  auto v = r.u64();
  if (!v) {
    return invalid(std::string("truncated ") + what);
  }
  if (*v > static_cast<std::uint64_t>(INT64_MAX)) {
    return invalid(std::string(what) + " out of range");
  }
  return static_cast<std::int64_t>(*v);
}

Result<SubmodResult> read_submod(ByteReader& r) {
  SubmodResult s;
  ATLS_ASSIGN_OR_RETURN(s.name, read_text(r, "submodule name"));
  ATLS_ASSIGN_OR_RETURN(s.policy_id, read_text(r, "policy id"));
  auto present = r.u8();
  auto claims = r.bytes(TrustVector::kSize);
  if (!present || !claims) {
    return invalid("truncated trust vector");
  }
  for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
    if ((*present >> i) & 1u) {
      s.trust_vector.claims[i] = static_cast<std::int8_t>((*claims)[i]);
    } else if ((*claims)[i] != 0) {
      return invalid("an absent trustworthiness claim with a value");
    }
  }
  s.status = s.trust_vector.worst();
  ATLS_ASSIGN_OR_RETURN(const std::string finding, read_text(r, "finding"));
  if (!finding.empty()) {
    const auto code = error_code_from_name(finding);
    if (!code) {
      return invalid("unknown finding \"" + finding + "\"");
    }
    s.findings.push_back(Finding{*code, "reported by the gateway"});
  }
  return s;
}

Result<TokenContents> parse_plaintext(ByteView plain) {
  ByteReader r(plain);
  auto version = r.u8();
  auto flags = r.u8();
  if (!version || !flags) {
    return invalid("truncated token");
  }
  if (*version != kTokenVersion) {
    return invalid("token version " + std::to_string(*version));
  }
  if ((*flags & ~kFlagSingleUse) != 0) {
    return invalid("unknown token flags");
  }
  TokenContents t;
  t.single_use = (*flags & kFlagSingleUse) != 0;
  auto psk = r.bytes(kPskSize);
  if (!psk) {
    return invalid("truncated PSK");
  }
  t.psk = ossl::SecretBytes(*psk);
  ATLS_ASSIGN_OR_RETURN(t.iat, read_time(r, "iat"));
  ATLS_ASSIGN_OR_RETURN(t.exp, read_time(r, "exp"));
  auto id = r.bytes(kTokenIdSize);
  if (!id) {
    return invalid("truncated token id");
  }
  t.token_id.assign(id->begin(), id->end());
  ATLS_ASSIGN_OR_RETURN(t.audience, read_text(r, "audience"));
  auto status = r.u8();
  auto hw = r.u8();
  if (!status || !hw) {
    return invalid("truncated summary");
  }
  ATLS_ASSIGN_OR_RETURN(t.summary.status, read_tier(*status));
  if (*hw > 1) {
    return invalid("hardware_rooted is not a boolean");
  }
  t.summary.hardware_rooted = *hw == 1;
  ATLS_ASSIGN_OR_RETURN(t.summary.verified_at, read_time(r, "verified_at"));
  ATLS_ASSIGN_OR_RETURN(t.summary.valid_until, read_time(r, "valid_until"));
  ATLS_ASSIGN_OR_RETURN(t.summary.media_type, read_text(r, "media type"));
  ATLS_ASSIGN_OR_RETURN(t.summary.machine_id, read_text(r, "machine id"));
  auto n = r.u16();
  if (!n || *n == 0) {
    return invalid("a token summarises at least one submodule");
  }
  for (std::uint16_t i = 0; i < *n; ++i) {
    ATLS_ASSIGN_OR_RETURN(SubmodResult s, read_submod(r));
    t.summary.submods.push_back(std::move(s));
  }
  if (!r.empty()) {
    return invalid("trailing bytes in the token");
  }
  if (t.exp < t.iat) {
    return invalid("token expires before it was issued");
  }
  return t;
}

}  // namespace

bool is_token_identity(ByteView identity) {
  const ByteView p = prefix_bytes();
  return identity.size() >= p.size() && std::equal(p.begin(), p.end(), identity.begin());
}

Result<Bytes> seal_token(const TokenContents& t, ByteView key, ByteView nonce) {
  ATLS_ASSIGN_OR_RETURN(Bytes plain, plaintext_of(t));
  auto sealed = ossl::aead_seal(key, nonce, prefix_bytes(), plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!sealed) {
    return std::move(sealed).error();
  }
  Bytes out(prefix_bytes().begin(), prefix_bytes().end());
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), sealed->begin(), sealed->end());
  if (out.size() > kMaxIdentitySize) {
    return Error{ErrorCode::InvalidArgument,
                 "the token would exceed " + std::to_string(kMaxIdentitySize) + " bytes"};
  }
  return out;
}

Result<TokenContents> open_token(ByteView identity, ByteView key) {
  if (key.size() != kGatewayKeySize) {
    return Error{ErrorCode::InvalidArgument, "a gateway key is 32 bytes"};
  }
  if (!is_token_identity(identity)) {
    return invalid("the PSK identity is not an atls gateway token");
  }
  if (identity.size() > kMaxIdentitySize) {
    return invalid("token of " + std::to_string(identity.size()) + " bytes");
  }
  const std::size_t head = kTokenPrefix.size() + ossl::kAeadNonceSize;
  if (identity.size() < head + ossl::kAeadTagSize) {
    return invalid("truncated token");
  }
  auto plain = ossl::aead_open(key, identity.subspan(kTokenPrefix.size(), ossl::kAeadNonceSize),
                               prefix_bytes(), identity.subspan(head));
  if (!plain) {
    if (plain.error().code == ErrorCode::SignatureInvalid) {
      return invalid(
          "the token does not open under this gateway key (forged, altered or "
          "issued for another server)");
    }
    return std::move(plain).error();
  }
  ossl::SecretBytes secret(*plain);
  OPENSSL_cleanse(plain->data(), plain->size());
  return parse_plaintext(secret.view());
}

}  // namespace atls::gateway
