#pragma once

// The library's defaults, defined once: the policy's time limits (see
// docs/policy.md) and the build string that EARs and `atls --version` carry.

#include <cstdint>
#include <string_view>

// ATLS_VERSION_STRING is the CMake project version, set by CMakeLists.txt
// on every target that compiles the library's sources.
#ifndef ATLS_VERSION_STRING
#error "ATLS_VERSION_STRING must be defined by the build (CMakeLists.txt)"
#endif

namespace atls::internal {

// How long an appraisal stays valid before re-attestation (seconds).
inline constexpr std::int64_t kDefaultReattestInterval = 3600;
// Maximum age of Evidence that says when it was produced (seconds).
inline constexpr std::int64_t kDefaultMaxEvidenceAge = 300;
// Maximum age of a passport's attestation result (seconds).
inline constexpr std::int64_t kDefaultMaxResultAge = 300;
// Lifetime of an EAR this process signs (seconds until its exp).
inline constexpr std::int64_t kDefaultEarLifetime = 300;
// The developer and build an EAR's verifier-id names by default.
inline constexpr std::string_view kDefaultEarDeveloper = "atls";
inline constexpr std::string_view kBuildString = "atls " ATLS_VERSION_STRING;

}  // namespace atls::internal
