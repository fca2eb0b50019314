#include "src/tls/authenticator.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/ssl_ptr.h"
#include "src/ossl/x509.h"
#include "src/tls/exporter.h"

#include <gtest/gtest.h>

#include <openssl/rsa.h>

#include <string>
#include <vector>

namespace atls::tls {
namespace {

// ---------------------------------------------------------------------------
// Fixtures: keys, certificates and an in-memory TLS connection.

struct Identity {
  ossl::UniquePtr<EVP_PKEY> key;
  ossl::UniquePtr<X509> cert;
  Bytes der;
};

ossl::UniquePtr<EVP_PKEY> make_key(ossl::KeyType type) {
  if (type == ossl::KeyType::Rsa) {
    return ossl::UniquePtr<EVP_PKEY>(::EVP_RSA_gen(2048));
  }
  auto k = ossl::generate_key(type);
  EXPECT_TRUE(k) << k.error().to_string();
  return k ? std::move(*k) : nullptr;
}

// make_identity returns a certificate for a fresh key of |type|, signed by
// |issuer| (self-signed when null).
Identity make_identity(ossl::KeyType type, const char* cn, const Identity* issuer = nullptr) {
  Identity id;
  id.key = make_key(type);
  id.cert.reset(::X509_new());
  X509* c = id.cert.get();
  EXPECT_EQ(::X509_set_version(c, 2), 1);
  ::ASN1_INTEGER_set(::X509_get_serialNumber(c), 7);
  ::X509_gmtime_adj(::X509_getm_notBefore(c), -60);
  ::X509_gmtime_adj(::X509_getm_notAfter(c), 86400);
  EXPECT_EQ(::X509_set_pubkey(c, id.key.get()), 1);
  X509_NAME* name = ::X509_get_subject_name(c);  // borrowed from c
  ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
  const Identity& signer = issuer != nullptr ? *issuer : id;
  ::X509_set_issuer_name(c, ::X509_get_subject_name(signer.cert.get()));
  const EVP_MD* md =
      ossl::key_type(signer.key.get()) == ossl::KeyType::Ed25519 ? nullptr : ::EVP_sha256();
  EXPECT_GT(::X509_sign(c, signer.key.get(), md), 0);
  auto der = ossl::cert_der(c);
  EXPECT_TRUE(der);
  id.der = der ? *der : Bytes{};
  return id;
}

struct TlsPair {
  ossl::UniquePtr<SSL_CTX> client_ctx;
  ossl::UniquePtr<SSL_CTX> server_ctx;
  ossl::UniquePtr<SSL> client;
  ossl::UniquePtr<SSL> server;
};

// connect runs a handshake between two SSL objects over a BIO pair.
TlsPair connect(const Identity& server_id, int version = TLS1_3_VERSION,
                const char* suites = nullptr) {
  TlsPair p;
  p.client_ctx.reset(::SSL_CTX_new(::TLS_method()));
  p.server_ctx.reset(::SSL_CTX_new(::TLS_method()));
  for (SSL_CTX* ctx : {p.client_ctx.get(), p.server_ctx.get()}) {
    ::SSL_CTX_set_min_proto_version(ctx, version);
    ::SSL_CTX_set_max_proto_version(ctx, version);
    if (suites != nullptr) {
      ::SSL_CTX_set_ciphersuites(ctx, suites);
    }
  }
  ::SSL_CTX_set_num_tickets(p.server_ctx.get(), 0);
  EXPECT_EQ(::SSL_CTX_use_certificate(p.server_ctx.get(), server_id.cert.get()), 1);
  EXPECT_EQ(::SSL_CTX_use_PrivateKey(p.server_ctx.get(), server_id.key.get()), 1);
  p.client.reset(::SSL_new(p.client_ctx.get()));
  p.server.reset(::SSL_new(p.server_ctx.get()));
  BIO* raw_c = nullptr;
  BIO* raw_s = nullptr;
  EXPECT_EQ(::BIO_new_bio_pair(&raw_c, 0, &raw_s, 0), 1);
  ossl::UniquePtr<BIO> bc(raw_c);
  ossl::UniquePtr<BIO> bs(raw_s);
  ::SSL_set_bio(p.client.get(), bc.get(), bc.get());  // takes ownership
  bc.release();
  ::SSL_set_bio(p.server.get(), bs.get(), bs.get());
  bs.release();
  ::SSL_set_connect_state(p.client.get());
  ::SSL_set_accept_state(p.server.get());
  for (int i = 0; i < 50; ++i) {
    const int rc = ::SSL_do_handshake(p.client.get());
    const int rs = ::SSL_do_handshake(p.server.get());
    if (rc == 1 && rs == 1) {
      return p;
    }
  }
  ADD_FAILURE() << "handshake did not complete: " << ossl::drain_errors();
  return p;
}

const ExtensionCodepoints kCp{};

Bytes ctx_bytes(std::uint8_t fill, std::size_t n = 32) {
  return Bytes(n, fill);
}

AuthRequest make_request(std::uint8_t type = kClientCertificateRequest,
                         std::vector<std::uint16_t> schemes = {}) {
  AuthRequestOptions o;
  o.msg_type = type;
  o.context = ctx_bytes(0xC1);
  o.signature_schemes = std::move(schemes);
  o.schemes = {AttestationScheme::evidence_media_type("application/eat+cwt")};
  auto r = encode_auth_request(o, kCp);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? std::move(*r) : AuthRequest{};
}

// An independent assembly of an authenticator from its parts, so that tests
// can produce what build_authenticator refuses to (and cross-check it).
struct EntrySpec {
  Bytes der;
  std::vector<Extension> exts;
};

// Byte helpers go through ByteWriter: g++ 12 reports false -Warray-bounds on
// vector::insert after small initializer-list vectors.
Bytes hs_msg(std::uint8_t type, const Bytes& body) {
  ByteWriter w;
  w.u8(type);
  w.u24(static_cast<std::uint32_t>(body.size()));
  w.bytes(body);
  return w.take();
}

void append(Bytes& b, ByteView v) {
  ByteWriter w;
  w.bytes(b);
  w.bytes(v);
  b = w.take();
}
void put16(Bytes& b, std::size_t v) {
  ByteWriter w;
  w.u16(static_cast<std::uint16_t>(v));
  append(b, w.data());
}
void put24(Bytes& b, std::size_t v) {
  ByteWriter w;
  w.u24(static_cast<std::uint32_t>(v));
  append(b, w.data());
}

Bytes concat(std::initializer_list<ByteView> parts) {
  ByteWriter w;
  for (ByteView p : parts) {
    w.bytes(p);
  }
  return w.take();
}

struct Craft {
  ByteView context;
  std::vector<EntrySpec> entries;
  EVP_PKEY* key = nullptr;
  std::uint16_t scheme = kEcdsaSecp256r1Sha256;
  ossl::SignatureAlg alg = ossl::SignatureAlg::EcdsaSha256;
  bool tamper_signature = false;
};

Bytes craft(const EaKeys& k, ByteView request_raw, const Craft& c) {
  Bytes list;
  for (const EntrySpec& e : c.entries) {
    put24(list, e.der.size());
    append(list, e.der);
    Bytes exts;
    for (const Extension& x : e.exts) {
      put16(exts, x.type);
      put16(exts, x.data.size());
      append(exts, x.data);
    }
    put16(list, exts.size());
    append(list, exts);
  }
  Bytes body(1, static_cast<std::uint8_t>(c.context.size()));
  append(body, c.context);
  put24(body, list.size());
  append(body, list);
  const Bytes cert = hs_msg(kCertificate, body);

  auto th = ossl::digest(k.hash, concat({k.handshake_context, request_raw, cert}));
  EXPECT_TRUE(th);
  const Bytes content =
      concat({Bytes(64, 0x20), to_bytes("Exported Authenticator"), Bytes(1, 0), *th});
  auto sig = ossl::sign(c.key, c.alg, content);
  EXPECT_TRUE(sig) << sig.error().to_string();
  if (c.tamper_signature) {
    sig->back() ^= 0x01;
  }
  Bytes cvb;
  put16(cvb, c.scheme);
  put16(cvb, sig->size());
  append(cvb, *sig);
  const Bytes cv = hs_msg(kCertificateVerify, cvb);

  auto fh = ossl::digest(k.hash, concat({k.handshake_context, request_raw, cert, cv}));
  auto mac = ossl::hmac(k.hash, k.finished_key, *fh);
  EXPECT_TRUE(mac);
  return concat({cert, cv, hs_msg(kFinished, *mac)});
}

Bytes cmw_data(ByteView cmw) {
  Bytes d;
  put16(d, cmw.size());
  append(d, cmw);
  return d;
}

// Shared state: one connection, the server's authenticator keys from both
// ends, and an attestation identity.
class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_server_id = make_identity(ossl::KeyType::EcP256, "server");
    m_tls = connect(m_server_id, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
    m_attester = make_identity(ossl::KeyType::EcP256, "attester");
    auto own = authenticator_keys(m_tls.server.get(), true);
    auto peer = authenticator_keys(m_tls.client.get(), true);
    ASSERT_TRUE(own) << own.error().to_string();
    ASSERT_TRUE(peer) << peer.error().to_string();
    m_server_keys = *own;
    m_server_keys_at_client = *peer;
  }

  Bytes build(const AuthRequest& req, std::vector<Extension> exts = {}) {
    const std::vector<Bytes> chain{m_attester.der};
    auto a =
        build_authenticator(m_server_keys, &req, req.context, chain, exts, m_attester.key.get());
    EXPECT_TRUE(a) << a.error().to_string();
    return a ? *a : Bytes{};
  }

  ErrorCode validate_code(const AuthRequest& req, ByteView auth) {
    auto v = validate_authenticator(m_server_keys_at_client, req, auth, kCp);
    return v ? ErrorCode::Ok : v.error().code;
  }

  Identity m_server_id;
  TlsPair m_tls;
  Identity m_attester;
  EaKeys m_server_keys;
  EaKeys m_server_keys_at_client;
};

// ---------------------------------------------------------------------------
// Requests

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

// ---------------------------------------------------------------------------
// AttestationScheme

TEST(AttestationScheme, EncodingAndRoundTrip) {
  const std::vector<AttestationScheme> list = {
      AttestationScheme::evidence_content_format(0x1234),
      AttestationScheme::evidence_media_type("ab"),
      AttestationScheme::result(Bytes{0xEE}),
  };
  auto enc = encode_attestation_schemes(list);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc),
            "000e"
            "00001234"
            "0001"
            "00026162"
            "01"
            "0001ee");
  auto dec = parse_attestation_scheme_list(*enc, ErrorCode::NegotiationMalformed);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, list);
  EXPECT_FALSE(list[0] == list[1]);
}

TEST(AttestationScheme, Malformed) {
  const std::vector<std::string> bad = {
      "",
      "00",
      "0001",
      "000102",        // truncated
      "00020200",      // unknown mechanism
      "00020002",      // unknown type_encoding
      "0003000012",    // short content_format
      "000400010005",  // media type overruns
      "0003010001",    // verifier identity overruns
      "000400001234"
      "00",  // trailing byte
  };
  for (const std::string& h : bad) {
    auto b = from_hex(h);
    ASSERT_TRUE(b);
    auto r = parse_attestation_scheme_list(*b, ErrorCode::EaRequestMalformed);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::EaRequestMalformed) << h;
  }
}

// ---------------------------------------------------------------------------
// Exporter values

TEST(Exporter, KeysAgreeAcrossTheConnectionAndDifferByRole) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect(id, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
  auto h = connection_hash(p.client.get());
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, ossl::HashAlg::Sha256);
  auto s_own = authenticator_keys(p.server.get(), true);
  auto s_at_c = authenticator_keys(p.client.get(), true);
  auto c_own = authenticator_keys(p.client.get(), false);
  auto c_at_s = authenticator_keys(p.server.get(), false);
  ASSERT_TRUE(s_own && s_at_c && c_own && c_at_s);
  EXPECT_EQ(s_own->handshake_context, s_at_c->handshake_context);
  EXPECT_EQ(s_own->finished_key, s_at_c->finished_key);
  EXPECT_EQ(c_own->handshake_context, c_at_s->handshake_context);
  EXPECT_EQ(c_own->finished_key, c_at_s->finished_key);
  EXPECT_NE(s_own->handshake_context, c_own->handshake_context);
  EXPECT_NE(s_own->finished_key, c_own->finished_key);
  EXPECT_NE(s_own->handshake_context, s_own->finished_key);
  EXPECT_EQ(s_own->handshake_context.size(), 32u);

  // The same values straight from the exporter, with the RFC 9261 labels.
  Bytes direct(32);
  const std::string label = "EXPORTER-server authenticator finished key";
  ASSERT_EQ(::SSL_export_keying_material(p.client.get(), direct.data(), direct.size(), label.data(),
                                         label.size(), nullptr, 0, 0),
            1);
  EXPECT_EQ(direct, s_own->finished_key);
}

TEST(Exporter, Sha384Suite) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect(id, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384");
  auto h = connection_hash(p.server.get());
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, ossl::HashAlg::Sha384);
  auto k = authenticator_keys(p.server.get(), true);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->handshake_context.size(), 48u);
  EXPECT_EQ(k->finished_key.size(), 48u);
}

TEST(Exporter, Tls12IsRefused) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect(id, TLS1_2_VERSION);
  ASSERT_EQ(::SSL_version(p.client.get()), TLS1_2_VERSION);
  EXPECT_EQ(authenticator_keys(p.client.get(), true).error().code,
            ErrorCode::TlsVersionUnsupported);
  EXPECT_EQ(connection_hash(p.client.get()).error().code, ErrorCode::TlsVersionUnsupported);
  EXPECT_EQ(attestation_exporter(p.server.get(), Bytes{1}).error().code,
            ErrorCode::TlsVersionUnsupported);
}

TEST(Exporter, AttestationExporterAndBinder) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect(id);
  const Bytes ctx1 = ctx_bytes(1);
  const Bytes ctx2 = ctx_bytes(2);
  auto a = attestation_exporter(p.client.get(), ctx1);
  auto b = attestation_exporter(p.server.get(), ctx1);
  auto c = attestation_exporter(p.server.get(), ctx2);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);

  Bytes direct(32);
  ASSERT_EQ(::SSL_export_keying_material(p.client.get(), direct.data(), 32, "Attestation", 11,
                                         ctx1.data(), ctx1.size(), 1),
            1);
  EXPECT_EQ(direct, *a);

  auto spki = ossl::cert_spki_der(id.cert.get());
  ASSERT_TRUE(spki);
  auto binder = compute_binder(ossl::HashAlg::Sha256, *spki, *a);
  ASSERT_TRUE(binder);
  EXPECT_EQ(*binder, *ossl::digest(ossl::HashAlg::Sha256, concat({*spki, *a})));
  EXPECT_EQ(compute_binder(ossl::HashAlg::Sha256, {}, *a).error().code, ErrorCode::InvalidArgument);
}

// ---------------------------------------------------------------------------
// Authenticators

TEST_F(AuthenticatorTest, BuildThenValidate) {
  const AuthRequest req = make_request();
  const Bytes cmw = to_bytes(R"(["application/eat+jwt","e30"])");
  auto ext_cmw = cmw_extension(cmw, kCp);
  ASSERT_TRUE(ext_cmw);
  const Bytes auth = build(req, {*ext_cmw});
  ASSERT_FALSE(auth.empty());

  auto peek = peek_context(auth);
  ASSERT_TRUE(peek);
  EXPECT_EQ(*peek, req.context);

  auto v = validate_authenticator(m_server_keys_at_client, req, auth, kCp);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->context, req.context);
  ASSERT_EQ(v->chain_der.size(), 1u);
  EXPECT_EQ(v->chain_der[0], m_attester.der);
  ASSERT_TRUE(v->cmw);
  EXPECT_EQ(*v->cmw, cmw);
  EXPECT_EQ(v->scheme, kEcdsaSecp256r1Sha256);
  EXPECT_EQ(v->leaf_spki, *ossl::cert_spki_der(m_attester.cert.get()));
  EXPECT_EQ(::X509_cmp(v->leaf.get(), m_attester.cert.get()), 0);
}

TEST_F(AuthenticatorTest, Sha384Connection) {
  TlsPair p = connect(m_server_id, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384");
  auto own = authenticator_keys(p.server.get(), true);
  auto peer = authenticator_keys(p.client.get(), true);
  ASSERT_TRUE(own && peer);
  EXPECT_EQ(own->hash, ossl::HashAlg::Sha384);
  const AuthRequest req = make_request();
  const std::vector<Bytes> chain{m_attester.der};
  auto a = build_authenticator(*own, &req, req.context, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  auto p_a = parse_authenticator(*a);
  ASSERT_TRUE(p_a);
  EXPECT_EQ(p_a->verify_data.size(), 48u);
  EXPECT_TRUE(validate_authenticator(*peer, req, *a, kCp));
  // SHA-256 keys of another connection are the wrong size.
  EXPECT_EQ(validate_authenticator(m_server_keys_at_client, req, *a, kCp).error().code,
            ErrorCode::EaMalformed);
}

TEST_F(AuthenticatorTest, ClientAuthenticatorForCertificateRequest) {
  const AuthRequest req = make_request(kCertificateRequest);
  auto own = authenticator_keys(m_tls.client.get(), false);
  auto peer = authenticator_keys(m_tls.server.get(), false);
  ASSERT_TRUE(own && peer);
  const std::vector<Bytes> chain{m_attester.der};
  auto a = build_authenticator(*own, &req, req.context, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  auto v = validate_authenticator(*peer, req, *a, kCp);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_FALSE(v->cmw);
}

TEST_F(AuthenticatorTest, SchemesForEachKeyType) {
  struct Case {
    ossl::KeyType type;
    std::uint16_t scheme;
  };
  for (const Case& c :
       {Case{ossl::KeyType::EcP384, kEcdsaSecp384r1Sha384}, Case{ossl::KeyType::Ed25519, kEd25519},
        Case{ossl::KeyType::Rsa, kRsaPssRsaeSha256}}) {
    const Identity id = make_identity(c.type, "k");
    const AuthRequest req = make_request();
    const std::vector<Bytes> chain{id.der};
    auto a = build_authenticator(m_server_keys, &req, req.context, chain, {}, id.key.get());
    ASSERT_TRUE(a) << a.error().to_string();
    auto v = validate_authenticator(m_server_keys_at_client, req, *a, kCp);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(v->scheme, c.scheme);
  }
}

TEST_F(AuthenticatorTest, MatchesIndependentAssembly) {
  // Ed25519 signatures are deterministic, so both assemblies must agree
  // byte for byte.
  const Identity id = make_identity(ossl::KeyType::Ed25519, "ed");
  const AuthRequest req = make_request();
  auto ext_cmw = cmw_extension(to_bytes("cmw"), kCp);
  const std::vector<Bytes> chain{id.der, m_server_id.der};
  auto a = build_authenticator(m_server_keys, &req, req.context, chain,
                               std::vector<Extension>{*ext_cmw}, id.key.get());
  ASSERT_TRUE(a);
  Craft c;
  c.context = req.context;
  c.entries = {EntrySpec{id.der, {*ext_cmw}}, EntrySpec{m_server_id.der, {}}};
  c.key = id.key.get();
  c.scheme = kEd25519;
  c.alg = ossl::SignatureAlg::Ed25519;
  EXPECT_EQ(to_hex(*a), to_hex(craft(m_server_keys, req.raw, c)));
}

TEST_F(AuthenticatorTest, SpontaneousAuthenticator) {
  const std::vector<Bytes> chain{m_attester.der};
  const Bytes ctx = ctx_bytes(0x33);
  auto a = build_authenticator(m_server_keys, nullptr, ctx, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  // Its transcript has no request part.
  Craft c;
  c.context = ctx;
  c.entries = {EntrySpec{m_attester.der, {}}};
  c.key = m_attester.key.get();
  const Bytes crafted = craft(m_server_keys, {}, c);
  EXPECT_EQ(Bytes(a->begin(), a->begin() + 20), Bytes(crafted.begin(), crafted.begin() + 20));
  const std::uint16_t only_ed[] = {kEd25519};
  EXPECT_EQ(
      build_authenticator(m_server_keys, nullptr, ctx, chain, {}, m_attester.key.get(), only_ed)
          .error()
          .code,
      ErrorCode::EaSignatureSchemeUnsupported);
}

TEST_F(AuthenticatorTest, BuildRejects) {
  const AuthRequest only_rsa = make_request(kClientCertificateRequest, {kRsaPssRsaeSha256});
  const std::vector<Bytes> chain{m_attester.der};
  EXPECT_EQ(build_authenticator(m_server_keys, &only_rsa, only_rsa.context, chain, {},
                                m_attester.key.get())
                .error()
                .code,
            ErrorCode::EaSignatureSchemeUnsupported);
  const AuthRequest req = make_request();
  const std::vector<Extension> unrequested{Extension{0x4242, {}}};
  EXPECT_EQ(build_authenticator(m_server_keys, &req, req.context, chain, unrequested,
                                m_attester.key.get())
                .error()
                .code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(build_authenticator(m_server_keys, &req, req.context, {}, {}, m_attester.key.get())
                .error()
                .code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(cmw_extension({}, kCp).error().code, ErrorCode::InvalidArgument);
}

TEST_F(AuthenticatorTest, AuthenticatorFromAnotherConnection) {
  const AuthRequest req = make_request();
  TlsPair other = connect(m_server_id, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
  auto other_keys = authenticator_keys(other.server.get(), true);
  ASSERT_TRUE(other_keys);
  const std::vector<Bytes> chain{m_attester.der};
  auto a = build_authenticator(*other_keys, &req, req.context, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  EXPECT_EQ(validate_code(req, *a), ErrorCode::EaBadFinished);
}

TEST_F(AuthenticatorTest, ReflectionIsRejected) {
  // In mutual mode the client must not accept its own authenticator back:
  // validating with the client's (own-role) labels fails.
  const AuthRequest req = make_request(kCertificateRequest);
  auto client_own = authenticator_keys(m_tls.client.get(), false);
  ASSERT_TRUE(client_own);
  const std::vector<Bytes> chain{m_attester.der};
  auto a = build_authenticator(*client_own, &req, req.context, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  // The server validates the client's authenticator with the client labels: ok.
  auto at_server = authenticator_keys(m_tls.server.get(), false);
  ASSERT_TRUE(validate_authenticator(*at_server, req, *a, kCp));
  // Reflected to the client, which expects a server-sent authenticator.
  auto v = validate_authenticator(m_server_keys_at_client, req, *a, kCp);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::EaBadFinished);
}

TEST_F(AuthenticatorTest, WrongRequestIsBadFinished) {
  const AuthRequest req = make_request();
  const Bytes auth = build(req);
  AuthRequestOptions o;
  o.context = req.context;  // same context, different request bytes
  o.signature_schemes = {kEcdsaSecp256r1Sha256};
  auto other = encode_auth_request(o, kCp);
  ASSERT_TRUE(other);
  EXPECT_EQ(validate_code(*other, auth), ErrorCode::EaBadFinished);
}

TEST_F(AuthenticatorTest, TamperedFinished) {
  const AuthRequest req = make_request();
  Bytes auth = build(req);
  auth.back() ^= 0x80;
  EXPECT_EQ(validate_code(req, auth), ErrorCode::EaBadFinished);
}

TEST_F(AuthenticatorTest, TamperedCertificateVerify) {
  const AuthRequest req = make_request();
  Craft c;
  c.context = req.context;
  c.entries = {EntrySpec{m_attester.der, {}}};
  c.key = m_attester.key.get();
  ASSERT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)), ErrorCode::Ok);
  c.tamper_signature = true;
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaBadCertificateVerify);
  // Signed by another key than the leaf's.
  c.tamper_signature = false;
  const Identity other = make_identity(ossl::KeyType::EcP256, "other");
  c.key = other.key.get();
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaBadCertificateVerify);
  // A scheme of the wrong curve for the leaf key.
  c.key = m_attester.key.get();
  c.scheme = kEcdsaSecp384r1Sha384;
  c.alg = ossl::SignatureAlg::EcdsaSha384;
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaBadCertificateVerify);
}

TEST_F(AuthenticatorTest, SchemeNotInRequest) {
  const AuthRequest req = make_request(kClientCertificateRequest, {kEcdsaSecp384r1Sha384});
  Craft c;
  c.context = req.context;
  c.entries = {EntrySpec{m_attester.der, {}}};
  c.key = m_attester.key.get();  // P-256 with 0x0403, which the request lacks
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaSignatureSchemeUnsupported);
  // Requested but not a scheme we support (ecdsa_secp521r1_sha512).
  const AuthRequest req2 = make_request(kClientCertificateRequest, {0x0603});
  c.context = req2.context;
  c.scheme = 0x0603;
  EXPECT_EQ(validate_code(req2, craft(m_server_keys, req2.raw, c)),
            ErrorCode::EaSignatureSchemeUnsupported);
}

TEST_F(AuthenticatorTest, ContextMismatch) {
  const AuthRequest req = make_request();
  const std::vector<Bytes> chain{m_attester.der};
  const Bytes wrong = ctx_bytes(0x99);
  auto a = build_authenticator(m_server_keys, &req, wrong, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  EXPECT_EQ(validate_code(req, *a), ErrorCode::EaUnknownContext);
  auto peek = peek_context(*a);
  ASSERT_TRUE(peek);
  EXPECT_EQ(*peek, wrong);
}

TEST_F(AuthenticatorTest, UnrequestedExtension) {
  const AuthRequest req = make_request();
  Craft c;
  c.context = req.context;
  c.key = m_attester.key.get();
  c.entries = {EntrySpec{m_attester.der, {Extension{0x4242, {}}}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaUnsupportedExtension);
  // Also on a non-leaf entry.
  c.entries = {EntrySpec{m_attester.der, {}}, EntrySpec{m_server_id.der, {Extension{0x4242, {}}}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaUnsupportedExtension);
  // cmw_attestation in a Certificate answering a request that did not offer it.
  AuthRequestOptions o;
  o.context = req.context;
  o.request_attestation = false;
  auto plain = encode_auth_request(o, kCp);
  ASSERT_TRUE(plain);
  c.entries = {EntrySpec{m_attester.der, {Extension{kCp.cmw_attestation, cmw_data(Bytes{1})}}}};
  EXPECT_EQ(validate_code(*plain, craft(m_server_keys, plain->raw, c)),
            ErrorCode::EaUnsupportedExtension);
}

TEST_F(AuthenticatorTest, CmwOnIntermediate) {
  const AuthRequest req = make_request();
  Craft c;
  c.context = req.context;
  c.key = m_attester.key.get();
  const Extension cmw{kCp.cmw_attestation, cmw_data(Bytes{0x81, 0x01})};
  c.entries = {EntrySpec{m_attester.der, {cmw}}, EntrySpec{m_server_id.der, {cmw}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaUnsupportedExtension);
  c.entries = {EntrySpec{m_attester.der, {}}, EntrySpec{m_server_id.der, {cmw}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)),
            ErrorCode::EaUnsupportedExtension);
  c.entries = {EntrySpec{m_attester.der, {cmw}}, EntrySpec{m_server_id.der, {}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)), ErrorCode::Ok);
}

TEST_F(AuthenticatorTest, MalformedCmwData) {
  const AuthRequest req = make_request();
  Craft c;
  c.context = req.context;
  c.key = m_attester.key.get();
  for (const Bytes& data : {Bytes{}, Bytes{0x00}, Bytes{0x00, 0x00}, Bytes{0x00, 0x02, 0x01},
                            Bytes{0x00, 0x01, 0x01, 0x02}}) {
    c.entries = {EntrySpec{m_attester.der, {Extension{kCp.cmw_attestation, data}}}};
    EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)), ErrorCode::EaMalformed)
        << to_hex(data);
  }
}

TEST_F(AuthenticatorTest, BadCertificateDer) {
  const AuthRequest req = make_request();
  Craft c;
  c.context = req.context;
  c.key = m_attester.key.get();
  Bytes der = m_attester.der;
  der.push_back(0);  // trailing byte after the certificate
  c.entries = {EntrySpec{der, {}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)), ErrorCode::EaMalformed);
  c.entries = {EntrySpec{m_attester.der, {}}, EntrySpec{Bytes{0x30, 0x00}, {}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)), ErrorCode::EaMalformed);
}

TEST_F(AuthenticatorTest, EmptyAuthenticator) {
  const AuthRequest req = make_request();
  auto empty = build_empty_authenticator(m_server_keys, req);
  ASSERT_TRUE(empty);
  EXPECT_EQ((*empty)[0], kFinished);
  EXPECT_EQ(empty->size(), 4u + 32u);
  EXPECT_EQ(validate_code(req, *empty), ErrorCode::EaEmptyAuthenticator);
  EXPECT_EQ(peek_context(*empty).error().code, ErrorCode::EaEmptyAuthenticator);
  // The Finished covers a Certificate with the request's context, no entries.
  const Bytes cert = hs_msg(kCertificate, concat({Bytes{32}, req.context, Bytes{0, 0, 0}}));
  auto mac = ossl::hmac(ossl::HashAlg::Sha256, m_server_keys.finished_key,
                        *ossl::digest(ossl::HashAlg::Sha256,
                                      concat({m_server_keys.handshake_context, req.raw, cert})));
  EXPECT_EQ(*empty, hs_msg(kFinished, *mac));
  // A forged refusal is a bad Finished, not a refusal.
  Bytes forged = *empty;
  forged.back() ^= 1;
  EXPECT_EQ(validate_code(req, forged), ErrorCode::EaBadFinished);
  auto client_own = authenticator_keys(m_tls.client.get(), false);
  auto reflected = build_empty_authenticator(*client_own, req);
  EXPECT_EQ(validate_code(req, *reflected), ErrorCode::EaBadFinished);
}

TEST_F(AuthenticatorTest, TruncatedAndTrailing) {
  const AuthRequest req = make_request();
  const Bytes auth = build(req, {*cmw_extension(Bytes{1, 2, 3}, kCp)});
  for (std::size_t n = 0; n < auth.size(); ++n) {
    const Bytes t(auth.begin(), auth.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(validate_code(req, t), ErrorCode::EaMalformed) << n;
    EXPECT_FALSE(parse_authenticator(t)) << n;
  }
  Bytes trailing = auth;
  trailing.push_back(0);
  EXPECT_EQ(validate_code(req, trailing), ErrorCode::EaMalformed);
  Bytes twice = concat({auth, auth});
  EXPECT_EQ(validate_code(req, twice), ErrorCode::EaMalformed);
}

TEST_F(AuthenticatorTest, ParseRejectsStructure) {
  const AuthRequest req = make_request();
  const Bytes auth = build(req);
  auto p = parse_authenticator(auth);
  ASSERT_TRUE(p);
  ASSERT_FALSE(p->is_empty);
  EXPECT_EQ(p->entries.size(), 1u);
  EXPECT_EQ(p->scheme, kEcdsaSecp256r1Sha256);
  EXPECT_EQ(p->verify_data.size(), 32u);

  const Bytes cert(p->certificate_message.begin(), p->certificate_message.end());
  const Bytes cv(p->certificate_verify_message.begin(), p->certificate_verify_message.end());
  const Bytes fin(p->finished_message.begin(), p->finished_message.end());
  const Bytes empty_list = hs_msg(kCertificate, concat({Bytes{0}, Bytes{0, 0, 0}}));
  const std::vector<std::pair<std::string, Bytes>> bad = {
      {"no Finished", concat({cert, cv})},
      {"no CertificateVerify", concat({cert, fin})},
      {"swapped", concat({cv, cert, fin})},
      {"Certificate only", cert},
      {"empty certificate_list", concat({empty_list, cv, fin})},
      {"empty Finished", concat({cert, cv, hs_msg(kFinished, {})})},
      {"bare empty Finished", hs_msg(kFinished, {})},
      {"request type", concat({req.raw})},
      {"empty cert_data",
       concat({hs_msg(kCertificate, Bytes{0, 0, 0, 5, 0, 0, 0, 0, 0}), cv, fin})},
      {"CV trailing",
       concat({cert,
               hs_msg(kCertificateVerify, concat({Bytes(cv.begin() + 4, cv.end()), Bytes{0}})),
               fin})},
  };
  for (const auto& [what, bytes] : bad) {
    auto r = parse_authenticator(bytes);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, ErrorCode::EaMalformed) << what;
  }
  // Duplicate extension inside one entry.
  Craft c;
  c.context = req.context;
  c.key = m_attester.key.get();
  c.entries = {EntrySpec{m_attester.der,
                         {Extension{kCp.cmw_attestation, cmw_data(Bytes{1})},
                          Extension{kCp.cmw_attestation, cmw_data(Bytes{2})}}}};
  EXPECT_EQ(validate_code(req, craft(m_server_keys, req.raw, c)), ErrorCode::EaMalformed);
  // Finished of the wrong length for the hash.
  Bytes shortfin = concat({cert, cv, hs_msg(kFinished, Bytes(31, 0))});
  EXPECT_EQ(validate_code(req, shortfin), ErrorCode::EaMalformed);
}

TEST(SignatureSchemes, MatchKeys) {
  auto p256 = make_key(ossl::KeyType::EcP256);
  auto ed = make_key(ossl::KeyType::Ed25519);
  EXPECT_TRUE(signature_scheme_matches_key(kEcdsaSecp256r1Sha256, p256.get()));
  EXPECT_FALSE(signature_scheme_matches_key(kEcdsaSecp384r1Sha384, p256.get()));
  EXPECT_FALSE(signature_scheme_matches_key(kRsaPssRsaeSha256, p256.get()));
  EXPECT_TRUE(signature_scheme_matches_key(kEd25519, ed.get()));
  EXPECT_FALSE(signature_scheme_matches_key(0x0401, p256.get()));
  EXPECT_FALSE(is_supported_signature_scheme(0x0401));
  EXPECT_TRUE(is_supported_signature_scheme(kRsaPssRsaeSha384));
}

}  // namespace
}  // namespace atls::tls
