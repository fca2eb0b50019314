#include "src/tls/authenticator.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/tls/exporter.h"

#include "tests/testlib/ea_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atls::tls {
namespace {

using test::append;
using test::concat;
using test::connect_pair;
using test::hs_msg;
using test::Identity;
using test::make_identity;
using test::put16;
using test::put24;
using test::TlsPair;

// ---------------------------------------------------------------------------
// Fixtures: a request, an independent assembly of authenticators, and one
// TLS connection.

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

// validate parses |auth| and validates the parsed value, as a receiver does.
Result<ValidatedAuthenticator> validate(const EaKeys& keys, const AuthRequest& req, ByteView auth) {
  ATLS_ASSIGN_OR_RETURN(const ParsedAuthenticator p, parse_authenticator(auth));
  return validate_authenticator(keys, req, p, kCp);
}

// Shared state: one connection, the server's authenticator keys from both
// ends, and an attestation identity.
class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_server_id = make_identity(ossl::KeyType::EcP256, "server");
    m_tls = connect_pair(m_server_id, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
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
    auto v = validate(m_server_keys_at_client, req, auth);
    return v ? ErrorCode::Ok : v.error().code;
  }

  Identity m_server_id;
  TlsPair m_tls;
  Identity m_attester;
  EaKeys m_server_keys;
  EaKeys m_server_keys_at_client;
};

// ---------------------------------------------------------------------------
// Authenticators

TEST_F(AuthenticatorTest, BuildThenValidate) {
  const AuthRequest req = make_request();
  const Bytes cmw = to_bytes(R"(["application/eat+jwt","e30"])");
  auto ext_cmw = cmw_extension(cmw, kCp);
  ASSERT_TRUE(ext_cmw);
  const Bytes auth = build(req, {*ext_cmw});
  ASSERT_FALSE(auth.empty());

  auto parsed = parse_authenticator(auth);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->is_empty);
  EXPECT_EQ(Bytes(parsed->context.begin(), parsed->context.end()), req.context);

  auto v = validate_authenticator(m_server_keys_at_client, req, *parsed, kCp);
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
  TlsPair p = connect_pair(m_server_id, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384");
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
  EXPECT_TRUE(validate(*peer, req, *a));
  // SHA-256 keys of another connection are the wrong size.
  EXPECT_EQ(validate(m_server_keys_at_client, req, *a).error().code, ErrorCode::EaMalformed);
}

TEST_F(AuthenticatorTest, ClientAuthenticatorForCertificateRequest) {
  const AuthRequest req = make_request(kCertificateRequest);
  auto own = authenticator_keys(m_tls.client.get(), false);
  auto peer = authenticator_keys(m_tls.server.get(), false);
  ASSERT_TRUE(own && peer);
  const std::vector<Bytes> chain{m_attester.der};
  auto a = build_authenticator(*own, &req, req.context, chain, {}, m_attester.key.get());
  ASSERT_TRUE(a);
  auto v = validate(*peer, req, *a);
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
    auto v = validate(m_server_keys_at_client, req, *a);
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
  TlsPair other = connect_pair(m_server_id, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
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
  ASSERT_TRUE(validate(*at_server, req, *a));
  // Reflected to the client, which expects a server-sent authenticator.
  auto v = validate(m_server_keys_at_client, req, *a);
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
  auto parsed = parse_authenticator(*a);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Bytes(parsed->context.begin(), parsed->context.end()), wrong);
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
  auto parsed = parse_authenticator(*empty);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->is_empty);
  EXPECT_TRUE(parsed->context.empty());  // an empty authenticator names no context
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

// ---------------------------------------------------------------------------
// Parsed once: the receiver parses an authenticator, finds the request by
// the parsed context, and validates that same value.

TEST_F(AuthenticatorTest, ParsedValueIsValidatedAsItIs) {
  const AuthRequest req = make_request();
  const Bytes auth = build(req, {*cmw_extension(Bytes{1, 2, 3}, kCp)});
  auto parsed = parse_authenticator(auth);
  ASSERT_TRUE(parsed);
  // The parsed value keeps the input's byte ranges for the transcript hashes.
  EXPECT_EQ(parsed->certificate_message.data(), auth.data());
  EXPECT_EQ(parsed->finished_message.data() + parsed->finished_message.size(),
            auth.data() + auth.size());
  // Validated against a request of another context: the Finished, which
  // covers the request, fails first, as when the bytes are parsed afresh.
  AuthRequestOptions o;
  o.context = ctx_bytes(0xC2);
  auto other = encode_auth_request(o, kCp);
  ASSERT_TRUE(other);
  auto wrong = validate_authenticator(m_server_keys_at_client, *other, *parsed, kCp);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::EaBadFinished);
  EXPECT_EQ(validate_code(*other, auth), ErrorCode::EaBadFinished);
  // The same value, against the request it answers, validates (and again).
  for (int i = 0; i < 2; ++i) {
    auto v = validate_authenticator(m_server_keys_at_client, req, *parsed, kCp);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(v->context, req.context);
    ASSERT_TRUE(v->cmw);
    EXPECT_EQ(*v->cmw, (Bytes{1, 2, 3}));
  }
  // A value parse_authenticator would not make: a Certificate without entries.
  ParsedAuthenticator no_entries = *parsed;
  no_entries.entries.clear();
  EXPECT_EQ(validate_authenticator(m_server_keys_at_client, req, no_entries, kCp).error().code,
            ErrorCode::EaMalformed);
  // Keys that are not Hash.length bytes are refused before anything else.
  EaKeys short_keys = m_server_keys_at_client;
  short_keys.finished_key.pop_back();
  EXPECT_EQ(validate_authenticator(short_keys, req, *parsed, kCp).error().code,
            ErrorCode::InvalidArgument);
}

TEST_F(AuthenticatorTest, EmptyAuthenticatorIsParsedOnceAndTriedPerRequest) {
  // An empty authenticator names no context: its one parsed value has its
  // Finished checked against each outstanding request in turn.
  const AuthRequest first = make_request();
  AuthRequestOptions o;
  o.context = ctx_bytes(0xC2);
  auto second = encode_auth_request(o, kCp);
  ASSERT_TRUE(second);
  auto empty = build_empty_authenticator(m_server_keys, *second);
  ASSERT_TRUE(empty);
  auto parsed = parse_authenticator(*empty);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->is_empty);
  EXPECT_EQ(validate_authenticator(m_server_keys_at_client, first, *parsed, kCp).error().code,
            ErrorCode::EaBadFinished);
  EXPECT_EQ(validate_authenticator(m_server_keys_at_client, *second, *parsed, kCp).error().code,
            ErrorCode::EaEmptyAuthenticator);
  EXPECT_EQ(validate_authenticator(m_server_keys_at_client, first, *parsed, kCp).error().code,
            ErrorCode::EaBadFinished);
}

}  // namespace
}  // namespace atls::tls
