// Prepared ECDSA signing contexts (src/ossl/sign_template.h): what a
// prepared context signs verifies, per digest; the contexts live with the
// key (a copy of the key does not share them); concurrent signers are safe.

#include "src/ossl/sign_template.h"

#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include "src/core/encoding.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace atls::ossl {
namespace {

UniquePtr<EVP_PKEY> ec_key(KeyType t = KeyType::EcP256) {
  auto k = generate_key(t);
  EXPECT_TRUE(k);
  return k ? std::move(*k) : nullptr;
}

TEST(SignTemplate, RepeatedSignaturesVerifyForEachDigest) {
  const auto key = ec_key();
  const Bytes msg = to_bytes("exported authenticator");
  for (int round = 0; round < 3; ++round) {
    for (SignatureAlg alg :
         {SignatureAlg::EcdsaSha256, SignatureAlg::EcdsaSha384, SignatureAlg::EcdsaSha512}) {
      auto sig = sign(key.get(), alg, msg);
      ASSERT_TRUE(sig) << sig.error().to_string();
      EXPECT_TRUE(verify(key.get(), alg, msg, *sig));
      // The digest is the one asked for, not another slot's.
      for (SignatureAlg other :
           {SignatureAlg::EcdsaSha256, SignatureAlg::EcdsaSha384, SignatureAlg::EcdsaSha512}) {
        if (other != alg) {
          EXPECT_FALSE(verify(key.get(), other, msg, *sig));
        }
      }
      Bytes tampered = msg;
      tampered[0] ^= 1;
      EXPECT_FALSE(verify(key.get(), alg, tampered, *sig));
    }
  }
}

TEST(SignTemplate, ContextsAreTheKeysOwn) {
  const auto a = ec_key();
  const auto b = ec_key();
  const Bytes msg = to_bytes("m");
  // Both keys get prepared contexts; each signs with its own key.
  for (int i = 0; i < 2; ++i) {
    auto sa = sign(a.get(), SignatureAlg::EcdsaSha256, msg);
    auto sb = sign(b.get(), SignatureAlg::EcdsaSha256, msg);
    ASSERT_TRUE(sa && sb);
    EXPECT_TRUE(verify(a.get(), SignatureAlg::EcdsaSha256, msg, *sa));
    EXPECT_FALSE(verify(b.get(), SignatureAlg::EcdsaSha256, msg, *sa));
    EXPECT_TRUE(verify(b.get(), SignatureAlg::EcdsaSha256, msg, *sb));
    EXPECT_FALSE(verify(a.get(), SignatureAlg::EcdsaSha256, msg, *sb));
  }
}

// EVP_PKEY_dup copies ex_data pointers: without dup_templates both keys
// would own (and free) the same templates.
TEST(SignTemplate, DuplicateKeyOutlivesTheOriginal) {
  auto original = ec_key();
  const Bytes msg = to_bytes("m");
  ASSERT_TRUE(sign(original.get(), SignatureAlg::EcdsaSha256, msg));  // prepares
  UniquePtr<EVP_PKEY> copy(::EVP_PKEY_dup(original.get()));
  ASSERT_TRUE(copy);
  original.reset();  // frees the original's templates
  for (int i = 0; i < 2; ++i) {
    auto sig = sign(copy.get(), SignatureAlg::EcdsaSha256, msg);
    ASSERT_TRUE(sig);
    EXPECT_TRUE(verify(copy.get(), SignatureAlg::EcdsaSha256, msg, *sig));
  }
}

TEST(SignTemplate, OnlyEcKeysArePrepared) {
  auto ed = generate_key(KeyType::Ed25519);
  ASSERT_TRUE(ed);
  EXPECT_EQ(prepared_sign_ctx(ed->get(), hash_md(HashAlg::Sha256), 0), nullptr);
  const auto ec = ec_key();
  EXPECT_EQ(prepared_sign_ctx(ec.get(), hash_md(HashAlg::Sha256), kSignTemplateSlots), nullptr);
  EXPECT_NE(prepared_sign_ctx(ec.get(), hash_md(HashAlg::Sha256), 0), nullptr);
  const Bytes msg = to_bytes("m");
  auto sig = sign(ed->get(), SignatureAlg::Ed25519, msg);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(verify(ed->get(), SignatureAlg::Ed25519, msg, *sig));
}

TEST(SignTemplate, ConcurrentSigners) {
  const auto key = ec_key(KeyType::EcP384);
  const Bytes msg = to_bytes("concurrent");
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto sig = sign(key.get(), SignatureAlg::EcdsaSha384, msg);
        if (!sig || !verify(key.get(), SignatureAlg::EcdsaSha384, msg, *sig)) {
          ++bad;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace atls::ossl
