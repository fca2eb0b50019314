#pragma once

// Format detection and decoding for `atls inspect`: any CMW, COSE_Sign1/EAT,
// JWT/EAR or X.509 (with a CMW extension) becomes a JSON description.

#include <atls/bytes.h>
#include <atls/result.h>

#include <nlohmann/json.hpp>

#include <string>

namespace atls::tools {

struct InspectOptions {
  // Optional key (PEM/DER public key or certificate) to verify a COSE_Sign1
  // or JWS signature with.
  Bytes verify_key;
  // Force a media type instead of auto-detection (e.g. "application/eat+jwt").
  std::string media_type;
};

// inspect_bytes describes |data|. Fails with UnknownFormat (naming what was
// tried) or with the specific error of the format the input looked like.
Result<nlohmann::ordered_json> inspect_bytes(ByteView data, const InspectOptions& opts);

// render_tree renders the description as an indented, readable tree.
std::string render_tree(const nlohmann::ordered_json& j);

}  // namespace atls::tools
