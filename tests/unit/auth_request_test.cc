#include "src/tls/auth_request.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"

#include "tests/testlib/ea_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace atls::tls {
namespace {

using test::append;
using test::concat;
using test::hs_msg;
using test::put16;

const ExtensionCodepoints kCp{};

Bytes ctx_bytes(std::uint8_t fill, std::size_t n = 32) {
  return Bytes(n, fill);
}

TEST(AuthRequest, RoundTrip) {
  AuthRequestOptions o;
  o.msg_type = kCertificateRequest;
  o.context = ctx_bytes(0x5A);
  o.signature_schemes = {kEcdsaSecp384r1Sha384, kEcdsaSecp256r1Sha256};
  o.schemes = {AttestationScheme::evidence_content_format(10571),
               AttestationScheme::result(to_bytes("https://verifier.example"))};
  o.extra_extensions = {Extension{0x1234, {1, 2, 3}}};
  auto built = encode_auth_request(o, kCp);
  ASSERT_TRUE(built) << built.error().to_string();
  EXPECT_EQ(built->raw[0], kCertificateRequest);

  auto parsed = parse_auth_request(built->raw);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->msg_type, kCertificateRequest);
  EXPECT_EQ(parsed->context, o.context);
  EXPECT_EQ(parsed->extensions, built->extensions);
  EXPECT_EQ(parsed->signature_schemes, o.signature_schemes);
  EXPECT_EQ(parsed->raw, built->raw);
  ASSERT_EQ(parsed->extensions.size(), 4u);
  EXPECT_EQ(parsed->extensions[0].type, kExtSignatureAlgorithms);
  EXPECT_EQ(parsed->extensions[1].type, kCp.cmw_attestation);
  EXPECT_TRUE(parsed->extensions[1].data.empty());
  EXPECT_EQ(parsed->extensions[2].type, kCp.atls_schemes);

  auto asked = requested_attestation(*parsed, kCp);
  ASSERT_TRUE(asked);
  EXPECT_TRUE(asked->wants_attestation);
  EXPECT_EQ(asked->schemes, o.schemes);
}

TEST(AuthRequest, ExactBytes) {
  AuthRequestOptions o;
  o.context = {0xAA, 0xBB};
  o.signature_schemes = {kEcdsaSecp256r1Sha256};
  auto built = encode_auth_request(o, kCp);
  ASSERT_TRUE(built);
  // 17 | len 000011 | ctx 02 AABB | exts 000c | 000d 0004 0002 0403 | ffa0 0000
  EXPECT_EQ(to_hex(built->raw),
            "11"
            "000011"
            "02aabb"
            "000c"
            "000d0004"
            "0002"
            "0403"
            "ffa00000");
}

TEST(AuthRequest, DefaultsAndNoAttestation) {
  AuthRequestOptions o;
  o.request_attestation = false;
  o.schemes = {AttestationScheme::evidence_media_type("x")};
  auto built = encode_auth_request(o, kCp);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->extensions.size(), 1u);  // signature_algorithms only
  const auto def = supported_signature_schemes();
  EXPECT_EQ(built->signature_schemes, std::vector<std::uint16_t>(def.begin(), def.end()));
  auto asked = requested_attestation(*built, kCp);
  ASSERT_TRUE(asked);
  EXPECT_FALSE(asked->wants_attestation);
}

TEST(AuthRequest, EncodeRejectsBadOptions) {
  AuthRequestOptions o;
  o.msg_type = kCertificate;
  EXPECT_EQ(encode_auth_request(o, kCp).error().code, ErrorCode::InvalidArgument);
  o = {};
  o.context = Bytes(256, 1);
  EXPECT_EQ(encode_auth_request(o, kCp).error().code, ErrorCode::InvalidArgument);
  o = {};
  o.extra_extensions = {Extension{kExtSignatureAlgorithms, {}}};
  EXPECT_EQ(encode_auth_request(o, kCp).error().code, ErrorCode::InvalidArgument);
  o = {};
  o.extra_extensions = {Extension{kCp.cmw_attestation, {}}};
  EXPECT_EQ(encode_auth_request(o, kCp).error().code, ErrorCode::InvalidArgument);
}

// Builds a request message by hand from a body.
Bytes raw_request(std::uint8_t type, const Bytes& body) {
  return hs_msg(type, body);
}

Bytes body_with(ByteView context, const Bytes& exts) {
  Bytes b(1, static_cast<std::uint8_t>(context.size()));
  append(b, context);
  put16(b, exts.size());
  append(b, exts);
  return b;
}

Bytes ext(std::uint16_t type, const Bytes& data) {
  Bytes e;
  put16(e, type);
  put16(e, data.size());
  append(e, data);
  return e;
}

const Bytes kSigAlgs = ext(kExtSignatureAlgorithms, {0x00, 0x02, 0x04, 0x03});

TEST(AuthRequest, ParseAcceptsMinimalAndUnknownExtensions) {
  const Bytes ctx = {1, 2, 3};
  auto r = parse_auth_request(raw_request(kCertificateRequest, body_with(ctx, kSigAlgs)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->signature_schemes, std::vector<std::uint16_t>{kEcdsaSecp256r1Sha256});
  auto u = parse_auth_request(
      raw_request(kClientCertificateRequest, body_with({}, concat({ext(0x7777, {9}), kSigAlgs}))));
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->context.empty());
  EXPECT_TRUE(u->has_extension(0x7777));
}

TEST(AuthRequest, ParseRejectsMalformed) {
  const Bytes ctx = {1, 2, 3};
  const Bytes good = raw_request(kCertificateRequest, body_with(ctx, kSigAlgs));
  ASSERT_TRUE(parse_auth_request(good));

  std::vector<std::pair<std::string, Bytes>> bad;
  bad.emplace_back("empty", Bytes{});
  Bytes t = good;
  t[0] = kCertificate;
  bad.emplace_back("wrong type", t);
  t = good;
  t[3] += 1;
  bad.emplace_back("length too long", t);
  t = good;
  t[3] -= 1;
  bad.emplace_back("length too short", t);
  t = good;
  t.push_back(0);
  bad.emplace_back("trailing byte", t);
  bad.emplace_back("no extensions", raw_request(kCertificateRequest, body_with(ctx, Bytes{})));
  bad.emplace_back("missing signature_algorithms",
                   raw_request(kCertificateRequest, body_with(ctx, ext(0x7777, {}))));
  bad.emplace_back("duplicate extension",
                   raw_request(kCertificateRequest, body_with(ctx, concat({kSigAlgs, kSigAlgs}))));
  bad.emplace_back("duplicate unknown extension",
                   raw_request(kCertificateRequest,
                               body_with(ctx, concat({kSigAlgs, ext(9, {}), ext(9, {1})}))));
  bad.emplace_back(
      "empty signature list",
      raw_request(kCertificateRequest, body_with(ctx, ext(kExtSignatureAlgorithms, {0x00, 0x00}))));
  bad.emplace_back("odd signature list",
                   raw_request(kCertificateRequest, body_with(ctx, ext(kExtSignatureAlgorithms,
                                                                       {0x00, 0x03, 4, 3, 5}))));
  bad.emplace_back("signature_algorithms trailing",
                   raw_request(kCertificateRequest, body_with(ctx, ext(kExtSignatureAlgorithms,
                                                                       {0x00, 0x02, 4, 3, 0}))));
  bad.emplace_back(
      "partial extension",
      raw_request(kCertificateRequest, body_with(ctx, concat({kSigAlgs, Bytes{0x00}}))));
  Bytes body = body_with(ctx, kSigAlgs);
  body.push_back(0);
  bad.emplace_back("trailing body byte", raw_request(kCertificateRequest, body));
  Bytes longctx = {0xff};  // context length 255, but only 3 bytes follow
  append(longctx, Bytes{1, 2, 3});
  bad.emplace_back("context overruns", raw_request(kCertificateRequest, longctx));
  for (std::size_t n = 0; n < good.size(); ++n) {
    bad.emplace_back("truncated to " + std::to_string(n),
                     Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
  }
  for (const auto& [what, bytes] : bad) {
    auto r = parse_auth_request(bytes);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, ErrorCode::EaRequestMalformed) << what;
  }
}

TEST(AuthRequest, ManyExtensions) {
  // Past the short linear scan, duplicates are still found (and parsing
  // stays linear: 16000 extensions fill a 64 KiB frame).
  Bytes exts = kSigAlgs;
  for (std::uint16_t t = 0x100; t < 0x100 + 40; ++t) {
    append(exts, ext(t, {}));
  }
  EXPECT_TRUE(parse_auth_request(raw_request(kCertificateRequest, body_with({}, exts))));
  Bytes dup = exts;
  append(dup, ext(0x100 + 3, {}));
  EXPECT_EQ(parse_auth_request(raw_request(kCertificateRequest, body_with({}, dup))).error().code,
            ErrorCode::EaRequestMalformed);
  Bytes many = kSigAlgs;
  ByteWriter w;
  for (std::uint32_t t = 0x1000; t < 0x1000 + 16000; ++t) {
    w.u16(static_cast<std::uint16_t>(t));
    w.u16(0);
  }
  append(many, w.data());
  auto r = parse_auth_request(raw_request(kCertificateRequest, body_with({}, many)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->extensions.size(), 16001u);
}

TEST(AuthRequest, RequestedAttestationRejectsBadExtensions) {
  AuthRequestOptions o;
  o.request_attestation = false;
  o.extra_extensions = {Extension{kCp.cmw_attestation, {0x00}}};
  auto r = encode_auth_request(o, kCp);
  ASSERT_TRUE(r);
  EXPECT_EQ(requested_attestation(*r, kCp).error().code, ErrorCode::EaRequestMalformed);

  o.extra_extensions = {Extension{kCp.cmw_attestation, {}}, Extension{kCp.atls_schemes, {0, 1}}};
  r = encode_auth_request(o, kCp);
  ASSERT_TRUE(r);
  EXPECT_EQ(requested_attestation(*r, kCp).error().code, ErrorCode::EaRequestMalformed);
}

}  // namespace
}  // namespace atls::tls
