#include <atls/clock.h>

#include <openssl/rand.h>

#include <chrono>
#include <climits>
#include <cstdlib>

namespace atls {

std::int64_t SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SystemRng::fill(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    const std::size_t n = out.size() > INT_MAX ? INT_MAX : out.size();
    // A failing system RNG leaves no safe way to continue.
    if (::RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      std::abort();
    }
    out = out.subspan(n);
  }
}

}  // namespace atls
