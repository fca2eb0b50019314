#pragma once

// Shared fuzz driver: each target defines one function over a byte span.
// Targets must be deterministic and must not abort on any input.

#include <cstddef>
#include <cstdint>
#include <span>

#define ATLS_FUZZ_TARGET(fn)                                                    \
  static void fn(std::span<const std::uint8_t> data);                           \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* d, std::size_t n) { \
    fn(std::span<const std::uint8_t>(d, n));                                    \
    return 0;                                                                   \
  }                                                                             \
  static void fn(std::span<const std::uint8_t> data)
