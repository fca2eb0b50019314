#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace atls {

// The two byte aliases of the project: borrowed input and owned output.
using ByteView = std::span<const std::uint8_t>;
using Bytes = std::vector<std::uint8_t>;

}  // namespace atls
