#pragma once

#include <atls/bytes.h>
#include <atls/export.h>

#include <cstdint>
#include <span>

namespace atls {

// Clock is the time seam: verification code asks a Clock, never the system.
class ATLS_API Clock {
 public:
  virtual ~Clock() = default;
  // now returns the current time in seconds since the Unix epoch (UTC).
  virtual std::int64_t now() const = 0;
};

// SystemClock reads the real-time clock.
class ATLS_API SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

// FixedClock always returns the time it was given (tests, `--at`).
class ATLS_API FixedClock final : public Clock {
 public:
  explicit FixedClock(std::int64_t t) : m_t(t) {}
  std::int64_t now() const override { return m_t; }
  void set(std::int64_t t) { m_t = t; }

 private:
  std::int64_t m_t;
};

// Rng is the randomness seam.
class ATLS_API Rng {
 public:
  virtual ~Rng() = default;
  // fill writes random bytes into |out|; aborts if the system RNG fails.
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// SystemRng uses OpenSSL's RAND_bytes.
class ATLS_API SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace atls
