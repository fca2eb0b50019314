#pragma once

// Entity Attestation Token (RFC 9711) claims sets in their CBOR form: a typed
// view of the EAT claims this project uses, every other claim kept verbatim.
// Pure: no I/O, no signature checks (the enclosing COSE_Sign1 or JWS is
// verified elsewhere).

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/cbor/cbor.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace atls {

// CBOR claim keys (RFC 8392 §4 for the CWT claims, RFC 9711 §10.2 for EAT).
namespace eat_key {
inline constexpr std::int64_t kIss = 1;
inline constexpr std::int64_t kSub = 2;
inline constexpr std::int64_t kAud = 3;
inline constexpr std::int64_t kExp = 4;
inline constexpr std::int64_t kNbf = 5;
inline constexpr std::int64_t kIat = 6;
inline constexpr std::int64_t kCti = 7;
inline constexpr std::int64_t kCnf = 8;
inline constexpr std::int64_t kNonce = 10;
inline constexpr std::int64_t kUeid = 256;
inline constexpr std::int64_t kSueids = 257;
inline constexpr std::int64_t kOemid = 258;
inline constexpr std::int64_t kHwmodel = 259;
inline constexpr std::int64_t kHwversion = 260;
inline constexpr std::int64_t kUptime = 261;
inline constexpr std::int64_t kOemboot = 262;
inline constexpr std::int64_t kDbgstat = 263;
inline constexpr std::int64_t kLocation = 264;
inline constexpr std::int64_t kProfile = 265;
inline constexpr std::int64_t kSubmods = 266;
inline constexpr std::int64_t kBootcount = 267;
inline constexpr std::int64_t kBootseed = 268;
inline constexpr std::int64_t kDloas = 269;
inline constexpr std::int64_t kSwname = 270;
inline constexpr std::int64_t kSwversion = 271;
inline constexpr std::int64_t kManifests = 272;
inline constexpr std::int64_t kMeasurements = 273;
inline constexpr std::int64_t kMeasres = 274;
inline constexpr std::int64_t kIntuse = 275;
}  // namespace eat_key

// DebugStatus is the dbgstat claim (RFC 9711 §4.2.9), in registry order.
enum class DebugStatus : std::uint8_t {
  Enabled = 0,
  Disabled = 1,
  DisabledSinceBoot = 2,
  DisabledPermanently = 3,
  DisabledFullyAndPermanently = 4,
};

// EatMeasurement is one entry of the measurements claim:
// [content-type: CoAP Content-Format uint, content: bstr].
struct EatMeasurement {
  std::uint64_t content_type = 0;
  Bytes value;

  bool operator==(const EatMeasurement&) const = default;
};

// EatSwVersion is the swversion claim: [version: tstr, ?scheme: CoSWID
// version-scheme int].
struct EatSwVersion {
  std::string version;
  std::optional<std::int64_t> scheme;

  bool operator==(const EatSwVersion&) const = default;
};

struct EatClaims;

// EatSubmod is one entry of the submods claim (RFC 9711 §4.2.18): a nested
// claims set, a nested token (a CBOR token as bstr, or a JSON token as tstr),
// or a detached digest [hash-alg: int / tstr, digest: bstr]. Nested tokens
// are kept as opaque bytes/text; verifying them is the caller's business.
struct EatSubmod {
  enum class Kind : std::uint8_t { Claims, CborToken, JsonToken, DetachedDigest };

  std::string name;  // the submodule's name (the submods map key)
  Kind kind = Kind::Claims;
  // Kind::Claims: exactly one element. A vector (which permits an
  // incomplete element type) gives the recursion without heap pointers.
  std::vector<EatClaims> claims;
  Bytes cbor_token;                                      // Kind::CborToken
  std::string json_token;                                // Kind::JsonToken
  std::variant<std::int64_t, std::string> digest_alg{};  // Kind::DetachedDigest
  Bytes digest;                                          // Kind::DetachedDigest

  friend bool operator==(const EatSubmod& a, const EatSubmod& b);
};

// EatClaims is a parsed EAT claims set.
struct EatClaims {
  std::vector<Bytes> nonces;                  // eat_nonce (10): empty when absent
  std::optional<Bytes> ueid;                  // 256
  std::optional<CborValue> oemid;             // 258: int, or bstr of 3 or 16 bytes
  std::optional<Bytes> hwmodel;               // 259
  std::optional<std::string> swname;          // 270
  std::optional<EatSwVersion> swversion;      // 271
  std::vector<EatMeasurement> measurements;   // 273: empty when absent
  std::optional<DebugStatus> dbgstat;         // 263
  std::optional<std::int64_t> iat, exp, nbf;  // 6, 4, 5
  std::optional<std::string> profile;         // 265: URI, or an OID in dotted form
  std::optional<std::string> issuer;          // 1
  // 266, in map order. (Each entry carries its name: a std::pair with the
  // recursive EatSubmod does not compile under clang with libstdc++.)
  std::vector<EatSubmod> submods;
  // Every other claim, verbatim, as a CBOR map with int or text keys.
  CborValue unknown = CborValue::map();

  // Field-by-field equality (defined out of line: the recursion through
  // EatSubmod needs both types complete).
  friend bool operator==(const EatClaims& a, const EatClaims& b);
};

// parse_eat_claims parses a decoded claims set. Fails with EatMalformed when
// |claims_map| is not a map, a key is neither int nor text, or a claim has
// the wrong CBOR type; with EatBadClaim when a value is out of range (nonce
// not 8..64 bytes or a one-element nonce array, ueid not 7..33 bytes or of
// unknown type, oemid bstr not 3 or 16 bytes, hwmodel not 1..32 bytes,
// dbgstat above 4, a floating-point or out-of-int64-range time, swversion
// without swname, a profile OID that does not decode, an empty
// measurements/submods, or submods nested deeper than |max_submod_depth|).
// Integers beyond int64 in typed claims are reported as EatBadClaim.
Result<EatClaims> parse_eat_claims(const CborValue& claims_map, std::size_t max_submod_depth = 4);

// parse_eat_claims decodes |cbor_payload| (with the default CborLimits) and
// parses it. CBOR errors are returned as the decoder reports them.
Result<EatClaims> parse_eat_claims(ByteView cbor_payload);

// encode_eat_claims builds the CBOR map of |claims|: typed claims in
// ascending key order, then the unknown claims in their stored order. An
// unknown entry whose key is one of the typed claims' keys is skipped, so
// the output never holds a duplicate key. A profile made only of digits and
// dots is encoded as an untagged OID bstr, otherwise as text.
CborValue encode_eat_claims(const EatClaims& claims);

// eat_claims_to_json renders |claims| for people: claim names as keys, byte
// strings in hex, dbgstat as its JSON name, and the unknown claims under
// "unknown" as {"<key>": "<CBOR diagnostic notation>"}. Never fails.
nlohmann::json eat_claims_to_json(const EatClaims& claims);

// eat_claim_name returns the registered JSON name of a CBOR claim key
// ("eat_nonce", "ueid", "iss", ...), or "" if the key is not registered.
std::string_view eat_claim_name(std::int64_t key);

// oid_to_dotted renders the content octets of a BER/DER OBJECT IDENTIFIER
// as dotted decimal. Fails with EatBadClaim on an empty, truncated,
// non-minimal or over-long encoding.
Result<std::string> oid_to_dotted(ByteView der_content);

// oid_from_dotted encodes a dotted-decimal OID as content octets. Fails with
// InvalidArgument if |dotted| is not a valid OID.
Result<Bytes> oid_from_dotted(std::string_view dotted);

}  // namespace atls
