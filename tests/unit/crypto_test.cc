#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"

#include "src/core/encoding.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

namespace atls::ossl {
namespace {

using test::hex;

// FIPS 180-4 examples (NIST CSRC "SHA-2 example values"), message "abc".
TEST(Digest, Fips180Abc) {
  const Bytes abc = to_bytes("abc");
  EXPECT_EQ(to_hex(digest(HashAlg::Sha256, abc).value()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(digest(HashAlg::Sha384, abc).value()),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(to_hex(digest(HashAlg::Sha512, abc).value()),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(to_hex(digest(HashAlg::Sha256, Bytes{}).value()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_size(HashAlg::Sha1), 20u);
  EXPECT_EQ(hash_size(HashAlg::Sha384), 48u);
}

TEST(Digest, HasherMatchesOneShot) {
  auto h = Hasher::create(HashAlg::Sha384);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->update(to_bytes("a")));
  ASSERT_TRUE(h->update(Bytes{}));
  ASSERT_TRUE(h->update(to_bytes("bc")));
  EXPECT_EQ(h->finish().value(), digest(HashAlg::Sha384, to_bytes("abc")).value());
  EXPECT_EQ(hash_alg_from_md(hash_md(HashAlg::Sha512)).value(), HashAlg::Sha512);
  EXPECT_EQ(hash_alg_from_md(nullptr).error().code, ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(hash_alg_from_md(hash_md(HashAlg::Sha1)).error().code, ErrorCode::UnsupportedAlgorithm);
}

// RFC 4231 §4.2 and §4.3 (test cases 1 and 2).
TEST(Hmac, Rfc4231) {
  const Bytes key1(20, 0x0b);
  const Bytes data1 = to_bytes("Hi There");
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha256, key1, data1).value()),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha384, key1, data1).value()),
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
            "faea9ea9076ede7f4af152e8b2fa9cb6");
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha512, key1, data1).value()),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
            "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
  const Bytes key2 = to_bytes("Jefe");
  const Bytes data2 = to_bytes("what do ya want for nothing?");
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha256, key2, data2).value()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha384, key2, data2).value()),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha512, key2, data2).value()),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  // An empty key is legal HMAC.
  EXPECT_TRUE(hmac(HashAlg::Sha256, Bytes{}, Bytes{}));
}

// RFC 5869 Appendix A.1 (test case 1).
TEST(Hkdf, Rfc5869Case1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = hex("000102030405060708090a0b0c");
  const Bytes info = hex("f0f1f2f3f4f5f6f7f8f9");
  auto prk = hkdf_extract(HashAlg::Sha256, salt, ikm);
  ASSERT_TRUE(prk);
  EXPECT_EQ(to_hex(*prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  auto okm = hkdf_expand(HashAlg::Sha256, *prk, info, 42);
  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  EXPECT_EQ(hkdf_expand(HashAlg::Sha256, *prk, info, 0).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(hkdf_expand(HashAlg::Sha256, *prk, info, 255 * 32 + 1).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(hkdf_expand(HashAlg::Sha256, *prk, info, 255 * 32).value().size(), 255u * 32);
}

// RFC 8448 §3 (Simple 1-RTT Handshake):
//   {server} extract secret "early": salt 0, IKM 32 zero octets,
//     secret 33ad0a1c...f92a
//   {server} derive secret for handshake "tls13 derived": PRK = that secret,
//     hash = SHA-256(""), expanded 6f2615a1...11ba
//   {server} extract secret "handshake": salt = derived, IKM = 8bd4054f...492d,
//     secret 1dc826e9...beac
TEST(Hkdf, ExpandLabelRfc8448) {
  auto early = hkdf_extract(HashAlg::Sha256, Bytes{}, Bytes(32, 0));
  ASSERT_TRUE(early);
  EXPECT_EQ(to_hex(*early), "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
  const Bytes empty_hash = digest(HashAlg::Sha256, Bytes{}).value();
  auto derived = hkdf_expand_label(HashAlg::Sha256, *early, "derived", empty_hash, 32);
  ASSERT_TRUE(derived);
  EXPECT_EQ(to_hex(*derived), "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
  auto handshake =
      hkdf_extract(HashAlg::Sha256, *derived,
                   hex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d"));
  ASSERT_TRUE(handshake);
  EXPECT_EQ(to_hex(*handshake), "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
  // Limits of HkdfLabel: label<7..255> including "tls13 ", context<0..255>.
  EXPECT_TRUE(hkdf_expand_label(HashAlg::Sha256, *early, std::string(249, 'a'), Bytes{}, 32));
  EXPECT_FALSE(hkdf_expand_label(HashAlg::Sha256, *early, std::string(250, 'a'), Bytes{}, 32));
  EXPECT_FALSE(hkdf_expand_label(HashAlg::Sha256, *early, "x", Bytes(256, 0), 32));
  EXPECT_EQ(hkdf_expand_label(HashAlg::Sha256, *early, "x", Bytes{}, 0x10000).error().code,
            ErrorCode::InvalidArgument);
}

struct SignCase {
  KeyType type;
  SignatureAlg alg;
};

TEST(Signature, SignVerifyTamperEcAndEd25519) {
  const SignCase cases[] = {
      {KeyType::EcP256, SignatureAlg::EcdsaSha256},
      {KeyType::EcP384, SignatureAlg::EcdsaSha384},
      {KeyType::Ed25519, SignatureAlg::Ed25519},
  };
  const Bytes msg = to_bytes("message to sign");
  for (const auto& c : cases) {
    auto key = generate_key(c.type);
    ASSERT_TRUE(key);
    EXPECT_EQ(key_type(key->get()), c.type);
    auto sig = sign(key->get(), c.alg, msg);
    ASSERT_TRUE(sig) << sig.error().to_string();
    EXPECT_TRUE(verify(key->get(), c.alg, msg, *sig));
    Bytes bad_msg = msg;
    bad_msg[0] ^= 1;
    EXPECT_EQ(verify(key->get(), c.alg, bad_msg, *sig).error().code, ErrorCode::SignatureInvalid);
    Bytes bad_sig = *sig;
    bad_sig[bad_sig.size() / 2] ^= 0x40;
    EXPECT_EQ(verify(key->get(), c.alg, msg, bad_sig).error().code, ErrorCode::SignatureInvalid);
    EXPECT_EQ(verify(key->get(), c.alg, msg, Bytes{}).error().code, ErrorCode::SignatureInvalid);
    // A different key of the same type does not verify.
    auto other = generate_key(c.type);
    ASSERT_TRUE(other);
    EXPECT_EQ(verify(other->get(), c.alg, msg, *sig).error().code, ErrorCode::SignatureInvalid);
  }
  // Ed25519 signatures are deterministic.
  auto ed = generate_key(KeyType::Ed25519);
  ASSERT_TRUE(ed);
  EXPECT_EQ(sign(ed->get(), SignatureAlg::Ed25519, msg).value(),
            sign(ed->get(), SignatureAlg::Ed25519, msg).value());
}

TEST(Signature, WrongKeyType) {
  auto ec = generate_key(KeyType::EcP256);
  auto ed = generate_key(KeyType::Ed25519);
  ASSERT_TRUE(ec && ed);
  const Bytes msg = to_bytes("m");
  EXPECT_EQ(sign(ec->get(), SignatureAlg::Ed25519, msg).error().code, ErrorCode::KeyTypeMismatch);
  EXPECT_EQ(sign(ed->get(), SignatureAlg::EcdsaSha256, msg).error().code,
            ErrorCode::KeyTypeMismatch);
  EXPECT_EQ(sign(ec->get(), SignatureAlg::RsaPssSha256, msg).error().code,
            ErrorCode::KeyTypeMismatch);
  EXPECT_EQ(verify(ed->get(), SignatureAlg::EcdsaSha256, msg, Bytes(64, 1)).error().code,
            ErrorCode::KeyTypeMismatch);
  EXPECT_EQ(verify(ec->get(), SignatureAlg::RsaPkcs1Sha256, msg, Bytes(64, 1)).error().code,
            ErrorCode::KeyTypeMismatch);
  EXPECT_EQ(key_type(nullptr), KeyType::Other);
  EXPECT_EQ(generate_key(KeyType::Rsa).error().code, ErrorCode::InvalidArgument);
}

TEST(Signature, EcdsaDerRawRoundTrip) {
  for (const KeyType t : {KeyType::EcP256, KeyType::EcP384}) {
    auto key = generate_key(t);
    ASSERT_TRUE(key);
    const SignatureAlg alg =
        t == KeyType::EcP256 ? SignatureAlg::EcdsaSha256 : SignatureAlg::EcdsaSha384;
    const Bytes msg = to_bytes("raw");
    for (int i = 0; i < 8; ++i) {  // several signatures, so short r/s values occur
      const Bytes der = sign(key->get(), alg, msg).value();
      auto raw = ecdsa_der_to_raw(der, ec_field_len(t));
      ASSERT_TRUE(raw);
      EXPECT_EQ(raw->size(), 2 * ec_field_len(t));
      auto der2 = ecdsa_raw_to_der(*raw);
      ASSERT_TRUE(der2);
      EXPECT_EQ(*der2, der);
      EXPECT_TRUE(verify(key->get(), alg, msg, *der2));
    }
  }
  // Fixed example: r = 1, s = 2 on P-256.
  const Bytes der = hex("3006020101020102");
  const Bytes raw = ecdsa_der_to_raw(der, 32).value();
  EXPECT_EQ(raw, hex("0000000000000000000000000000000000000000000000000000000000000001"
                     "0000000000000000000000000000000000000000000000000000000000000002"));
  EXPECT_EQ(ecdsa_raw_to_der(raw).value(), der);
  EXPECT_EQ(ec_field_len(KeyType::EcP521), 66u);
  EXPECT_EQ(ec_field_len(KeyType::Ed25519), 0u);
}

TEST(Signature, MalformedDerAndRaw) {
  EXPECT_EQ(ecdsa_der_to_raw(Bytes{}, 32).error().code, ErrorCode::SignatureInvalid);
  EXPECT_EQ(ecdsa_der_to_raw(hex("3006020101020102"
                                 "00"),
                             32)
                .error()
                .code,
            ErrorCode::SignatureInvalid);  // trailing byte
  EXPECT_EQ(ecdsa_der_to_raw(hex("30060201010201"), 32).error().code, ErrorCode::SignatureInvalid);
  EXPECT_EQ(ecdsa_der_to_raw(hex("3106020101020102"), 32).error().code,
            ErrorCode::SignatureInvalid);
  EXPECT_EQ(ecdsa_der_to_raw(hex("3003020101"), 32).error().code, ErrorCode::SignatureInvalid);
  // r has 33 significant bytes: too large for P-256.
  const Bytes big =
      hex("3027022101"
          "0000000000000000000000000000000000000000000000000000000000000000"
          "020101");
  EXPECT_EQ(ecdsa_der_to_raw(big, 32).error().code, ErrorCode::SignatureInvalid);
  EXPECT_EQ(ecdsa_raw_to_der(Bytes{}).error().code, ErrorCode::SignatureInvalid);
  EXPECT_EQ(ecdsa_raw_to_der(Bytes(63, 1)).error().code, ErrorCode::SignatureInvalid);
  EXPECT_EQ(ecdsa_raw_to_der(Bytes(134, 1)).error().code, ErrorCode::SignatureInvalid);
}

TEST(Keys, ParsePemDerAndCertificate) {
  auto key = generate_key(KeyType::EcP256);
  ASSERT_TRUE(key);
  const Bytes spki = spki_der(key->get()).value();
  const std::string pem = public_key_pem(key->get()).value();
  EXPECT_NE(pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  auto from_der = parse_public_key(spki);
  ASSERT_TRUE(from_der);
  EXPECT_TRUE(public_keys_equal(from_der->get(), key->get()));
  auto from_pem = parse_public_key(to_bytes(pem));
  ASSERT_TRUE(from_pem);
  EXPECT_TRUE(public_keys_equal(from_pem->get(), key->get()));
  const std::string priv_pem = private_key_pem(key->get()).value();
  auto priv = parse_private_key(to_bytes(priv_pem));
  ASSERT_TRUE(priv);
  EXPECT_TRUE(public_keys_equal(priv->get(), key->get()));
  auto other = generate_key(KeyType::EcP256);
  ASSERT_TRUE(other);
  EXPECT_FALSE(public_keys_equal(other->get(), key->get()));

  // A certificate, DER and PEM: the key is the certificate's.
  const Bytes cert_der_bytes = test::read_data("x509/gosevguest_vcek.der");
  auto cert_key = parse_public_key(cert_der_bytes);
  ASSERT_TRUE(cert_key) << cert_key.error().to_string();
  EXPECT_EQ(key_type(cert_key->get()), KeyType::EcP384);
  auto chain_key = parse_public_key(test::read_data("x509/ask_ark_milan.pem"));
  ASSERT_TRUE(chain_key);                               // the first certificate (ASK)
  EXPECT_EQ(key_type(chain_key->get()), KeyType::Rsa);  // rsaEncryption SPKI, PSS signatures

  // Garbage and truncation.
  EXPECT_EQ(parse_public_key(Bytes{}).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(parse_public_key(hex("3000")).error().code, ErrorCode::KeyInvalid);
  Bytes truncated = spki;
  truncated.pop_back();
  EXPECT_EQ(parse_public_key(truncated).error().code, ErrorCode::KeyInvalid);
  Bytes trailing = spki;
  trailing.push_back(0);
  EXPECT_EQ(parse_public_key(trailing).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(
      parse_public_key(to_bytes("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
          .error()
          .code,
      ErrorCode::KeyInvalid);
  EXPECT_EQ(parse_private_key(Bytes{}).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(parse_private_key(hex("300100")).error().code, ErrorCode::KeyInvalid);
}

TEST(Keys, EncryptedPemFailsWithoutPrompting) {
  const Bytes enc = test::read_data("crypto/ec_p256_encrypted.pem");
  ASSERT_FALSE(enc.empty());
  EXPECT_EQ(parse_private_key(enc).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(parse_public_key(enc).error().code, ErrorCode::KeyInvalid);
}

TEST(Keys, EcPublicFromXy) {
  auto key = generate_key(KeyType::EcP384);
  ASSERT_TRUE(key);
  auto xy = ec_public_xy(key->get());
  ASSERT_TRUE(xy);
  EXPECT_EQ(xy->x.size(), 48u);
  auto rebuilt = ec_public_from_xy(KeyType::EcP384, xy->x, xy->y);
  ASSERT_TRUE(rebuilt) << rebuilt.error().to_string();
  EXPECT_TRUE(public_keys_equal(rebuilt->get(), key->get()));

  // Off the curve: flip a bit of y.
  Bytes y = xy->y;
  y.back() ^= 1;
  EXPECT_EQ(ec_public_from_xy(KeyType::EcP384, xy->x, y).error().code, ErrorCode::KeyInvalid);
  // (0, 0) is not on P-256.
  EXPECT_EQ(ec_public_from_xy(KeyType::EcP256, Bytes(32, 0), Bytes(32, 0)).error().code,
            ErrorCode::KeyInvalid);
  // Wrong lengths and non-EC types.
  EXPECT_EQ(ec_public_from_xy(KeyType::EcP256, xy->x, xy->y).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(ec_public_from_xy(KeyType::Ed25519, Bytes(32, 0), Bytes(32, 0)).error().code,
            ErrorCode::KeyInvalid);
  auto ed = generate_key(KeyType::Ed25519);
  ASSERT_TRUE(ed);
  EXPECT_EQ(ec_public_xy(ed->get()).error().code, ErrorCode::KeyTypeMismatch);
}

TEST(Keys, Ed25519Raw) {
  auto key = generate_key(KeyType::Ed25519);
  ASSERT_TRUE(key);
  auto raw = raw_public_key(key->get());
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), 32u);
  auto back = ed25519_public_from_raw(*raw);
  ASSERT_TRUE(back);
  EXPECT_TRUE(public_keys_equal(back->get(), key->get()));
  EXPECT_EQ(ed25519_public_from_raw(Bytes(31, 0)).error().code, ErrorCode::KeyInvalid);
  auto ec = generate_key(KeyType::EcP256);
  ASSERT_TRUE(ec);
  EXPECT_EQ(raw_public_key(ec->get()).error().code, ErrorCode::KeyTypeMismatch);
}

// Signatures made by the openssl command-line tool (tests/data/crypto/gen.sh).
TEST(Signature, RsaFromOpensslCli) {
  auto key = parse_public_key(test::read_data("crypto/rsa2048_pub.pem"));
  ASSERT_TRUE(key);
  EXPECT_EQ(key_type(key->get()), KeyType::Rsa);
  auto key_der = parse_public_key(test::read_data("crypto/rsa2048_pub.der"));
  ASSERT_TRUE(key_der);
  EXPECT_TRUE(public_keys_equal(key->get(), key_der->get()));
  const Bytes msg = test::read_data("crypto/message.txt");
  const Bytes pkcs1 = test::read_data("crypto/rsa_pkcs1_sha256.sig");
  const Bytes pss = test::read_data("crypto/rsa_pss_sha256.sig");
  EXPECT_TRUE(verify(key->get(), SignatureAlg::RsaPkcs1Sha256, msg, pkcs1));
  EXPECT_TRUE(verify(key->get(), SignatureAlg::RsaPssSha256, msg, pss));
  // Crossed paddings and hashes fail.
  EXPECT_EQ(verify(key->get(), SignatureAlg::RsaPssSha256, msg, pkcs1).error().code,
            ErrorCode::SignatureInvalid);
  EXPECT_EQ(verify(key->get(), SignatureAlg::RsaPkcs1Sha256, msg, pss).error().code,
            ErrorCode::SignatureInvalid);
  EXPECT_EQ(verify(key->get(), SignatureAlg::RsaPkcs1Sha384, msg, pkcs1).error().code,
            ErrorCode::SignatureInvalid);
  Bytes bad = pkcs1;
  bad[10] ^= 1;
  EXPECT_EQ(verify(key->get(), SignatureAlg::RsaPkcs1Sha256, msg, bad).error().code,
            ErrorCode::SignatureInvalid);
  Bytes bad_msg = msg;
  bad_msg[0] ^= 1;
  EXPECT_EQ(verify(key->get(), SignatureAlg::RsaPssSha256, bad_msg, pss).error().code,
            ErrorCode::SignatureInvalid);
  // PSS verification insists on salt length = hash length (as TLS 1.3 and
  // JOSE/COSE PS256 do): a maximum-salt signature is refused.
  EXPECT_EQ(verify(key->get(), SignatureAlg::RsaPssSha256, msg,
                   test::read_data("crypto/rsa_pss_sha256_maxsalt.sig"))
                .error()
                .code,
            ErrorCode::SignatureInvalid);
  // An RSA key cannot verify ECDSA.
  EXPECT_EQ(verify(key->get(), SignatureAlg::EcdsaSha256, msg, pkcs1).error().code,
            ErrorCode::KeyTypeMismatch);

  // Our signatures with the CLI-made private key verify too.
  auto priv = parse_private_key(test::read_data("crypto/rsa2048.pem"));
  ASSERT_TRUE(priv);
  for (const SignatureAlg alg : {SignatureAlg::RsaPkcs1Sha384, SignatureAlg::RsaPssSha512}) {
    auto sig = sign(priv->get(), alg, msg);
    ASSERT_TRUE(sig);
    EXPECT_TRUE(verify(key->get(), alg, msg, *sig));
  }
}

}  // namespace
}  // namespace atls::ossl
