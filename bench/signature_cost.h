#pragma once

// SignatureCost measures, in this process, what one P-256 ECDSA signature
// (SHA-256) costs to make and to verify: the unit of the handshake
// benchmark's CPU floor (bench/handshake_bench.cc). Each operation is what a
// careful implementation does per signature: EVP_DigestSignInit or
// EVP_DigestVerifyInit on a reset EVP_MD_CTX with a SHA-256 fetched once,
// then one EVP_DigestSign or EVP_DigestVerify over a 200-byte message. The
// key is fresh, made at construction. Times are the CPU time of the calling
// thread.

#include <atls/result.h>

#include <memory>

namespace atls::bench {

class SignatureCost {
 public:
  static Result<SignatureCost> create();
  SignatureCost(SignatureCost&&) noexcept;
  SignatureCost& operator=(SignatureCost&&) noexcept;
  ~SignatureCost();

  // measure makes |n| signatures and |n| verifications and adds their times.
  // Fails with SignatureInvalid if a verification fails (the numbers would
  // mean nothing), Internal if OpenSSL fails.
  Result<void> measure(int n);

  int count() const;         // of each, so far
  double sign_ms() const;    // mean CPU ms per signature (0 before measure)
  double verify_ms() const;  // mean CPU ms per verification

 private:
  struct State;
  explicit SignatureCost(std::unique_ptr<State> s);
  std::unique_ptr<State> m_s;
};

}  // namespace atls::bench
