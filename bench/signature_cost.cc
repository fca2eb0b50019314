#include "bench/signature_cost.h"

#include "src/ossl/keys.h"
#include "src/ossl/ossl.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <vector>

namespace atls::bench {
namespace {

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

struct SignatureCost::State {
  ossl::UniquePtr<EVP_PKEY> key;
  ossl::UniquePtr<EVP_MD> sha256;
  ossl::UniquePtr<EVP_MD_CTX> ctx;
  std::array<std::uint8_t, 200> message{};
  int n = 0;
  double sign_seconds = 0;
  double verify_seconds = 0;
};

SignatureCost::SignatureCost(std::unique_ptr<State> s) : m_s(std::move(s)) {}
SignatureCost::SignatureCost(SignatureCost&&) noexcept = default;
SignatureCost& SignatureCost::operator=(SignatureCost&&) noexcept = default;
SignatureCost::~SignatureCost() = default;

Result<SignatureCost> SignatureCost::create() {
  auto s = std::make_unique<State>();
  ATLS_ASSIGN_OR_RETURN(s->key, ossl::generate_key(ossl::KeyType::EcP256));
  s->sha256.reset(::EVP_MD_fetch(nullptr, "SHA256", nullptr));
  s->ctx.reset(::EVP_MD_CTX_new());
  if (!s->sha256 || !s->ctx) {
    ::ERR_clear_error();
    return Error{ErrorCode::Internal, "EVP_MD_fetch / EVP_MD_CTX_new"};
  }
  for (std::size_t i = 0; i < s->message.size(); ++i) {
    s->message[i] = static_cast<std::uint8_t>(i * 7 + 1);
  }
  return SignatureCost(std::move(s));
}

Result<void> SignatureCost::measure(int n) {
  State& s = *m_s;
  std::vector<std::vector<std::uint8_t>> sigs(static_cast<std::size_t>(n));
  const double t0 = thread_cpu_seconds();
  for (auto& sig : sigs) {
    std::size_t len = 80;  // a DER ECDSA P-256 signature is at most 72 bytes
    sig.resize(len);
    if (::EVP_MD_CTX_reset(s.ctx.get()) != 1 ||
        ::EVP_DigestSignInit(s.ctx.get(), nullptr, s.sha256.get(), nullptr, s.key.get()) != 1 ||
        ::EVP_DigestSign(s.ctx.get(), sig.data(), &len, s.message.data(), s.message.size()) != 1) {
      ::ERR_clear_error();
      return Error{ErrorCode::Internal, "EVP_DigestSign"};
    }
    sig.resize(len);
  }
  const double t1 = thread_cpu_seconds();
  for (const auto& sig : sigs) {
    if (::EVP_MD_CTX_reset(s.ctx.get()) != 1 ||
        ::EVP_DigestVerifyInit(s.ctx.get(), nullptr, s.sha256.get(), nullptr, s.key.get()) != 1) {
      ::ERR_clear_error();
      return Error{ErrorCode::Internal, "EVP_DigestVerifyInit"};
    }
    if (::EVP_DigestVerify(s.ctx.get(), sig.data(), sig.size(), s.message.data(),
                           s.message.size()) != 1) {
      ::ERR_clear_error();
      return Error{ErrorCode::SignatureInvalid, "EVP_DigestVerify"};
    }
  }
  const double t2 = thread_cpu_seconds();
  s.sign_seconds += t1 - t0;
  s.verify_seconds += t2 - t1;
  s.n += n;
  return ok();
}

int SignatureCost::count() const {
  return m_s->n;
}

double SignatureCost::sign_ms() const {
  return m_s->n > 0 ? 1000.0 * m_s->sign_seconds / m_s->n : 0.0;
}

double SignatureCost::verify_ms() const {
  return m_s->n > 0 ? 1000.0 * m_s->verify_seconds / m_s->n : 0.0;
}

}  // namespace atls::bench
