#pragma once

// CBOR extended diagnostic notation (RFC 8949 §8, RFC 8610 Appendix G): the
// text form that specifications and test suites write CBOR examples in.
// Pure: no I/O.

#include <atls/result.h>

#include "src/formats/cbor/cbor.h"

#include <string_view>

namespace atls {

// cbor_from_diag parses one data item in diagnostic notation: unsigned and
// negative integers, decimal floats (and Infinity, NaN), "text" (JSON
// escapes), h'hex' and b64'base64' byte strings, [arrays], {maps}, tags
// N(item), true, false, null, undefined (also as simple(20..23)), and
// /comments/. Other simple values are rejected, as the binary decoder
// rejects them. Fails with CborMalformed (detail gives the offset),
// CborTooDeep when arrays, maps and tags nest deeper than
// |limits.max_depth| (counted as cbor_decode counts them), CborTooLarge beyond
// |limits.max_size| characters, CborDuplicateKey, CborInvalidUtf8 or
// CborIntegerOutOfRange.
Result<CborValue> cbor_from_diag(std::string_view text, const CborLimits& limits = {});

}  // namespace atls
