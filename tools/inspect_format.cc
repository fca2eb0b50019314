#include "tools/inspect.h"

#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/cbor/edn.h"
#include "src/formats/cmw/cmw.h"
#include "src/formats/cmw/cmw_x509.h"
#include "src/formats/cose/cose.h"
#include "src/formats/ear/ear.h"
#include "src/formats/eat/eat.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jws.h"
#include "src/formats/ratls/dice_evidence.h"
#include "src/formats/sgx/quote.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"

#include <cctype>
#include <optional>

namespace atls::tools {
namespace {

using ojson = nlohmann::ordered_json;

constexpr int kMaxNesting = 8;

ojson to_ordered(const nlohmann::json& j) {
  // nlohmann::json keeps keys sorted; the ordered variant keeps insertion.
  return ojson::parse(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_printable_text(ByteView data) {
  if (!is_valid_utf8(as_string_view(data))) {
    return false;
  }
  for (const std::uint8_t c : data) {
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
      return false;
    }
  }
  return true;
}

bool looks_like_jws(std::string_view s) {
  std::size_t dots = 0;
  for (const char c : s) {
    if (c == '.') {
      ++dots;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return false;
    }
  }
  return dots == 2;
}

std::string cose_alg_name(std::int64_t alg) {
  switch (alg) {
    case kCoseAlgEs256:
      return "ES256";
    case kCoseAlgEs384:
      return "ES384";
    case kCoseAlgEs512:
      return "ES512";
    case kCoseAlgEdDsa:
      return "EdDSA";
    default:
      return "unknown";
  }
}

ojson header_json(const CborValue& map) {
  ojson out = ojson::object();
  for (std::size_t i = 0; i < map.map_size(); ++i) {
    const CborValue& k = map.map_key(i);
    const CborValue& v = map.map_value(i);
    std::string name = cbor_diag(k);
    if (k.is_integer()) {
      switch (k.as_int64().value_or(0)) {
        case 1:
          name = "alg (1)";
          break;
        case 2:
          name = "crit (2)";
          break;
        case 3:
          name = "content type (3)";
          break;
        case 4:
          name = "kid (4)";
          break;
        case 33:
          name = "x5chain (33)";
          break;
        default:
          break;
      }
    }
    if (k.is_integer() && k.as_int64().value_or(0) == 1 && v.is_integer()) {
      const auto a = v.as_int64().value_or(0);
      out[name] = cose_alg_name(a) + " (" + std::to_string(a) + ")";
    } else if (v.is_bytes()) {
      out[name] = to_hex(v.raw_bytes());
    } else if (v.is_text()) {
      out[name] = std::string(v.raw_text());
    } else {
      out[name] = cbor_diag(v);
    }
  }
  return out;
}

Result<ossl::UniquePtr<EVP_PKEY>> load_key(const InspectOptions& opts) {
  return ossl::parse_public_key(opts.verify_key);
}

Result<ojson> inspect_any(ByteView data, const InspectOptions& opts, int depth);

// Decodes a CMW record value according to its media type (nested display).
std::optional<ojson> decode_record_value(const CmwRecord& rec, int depth) {
  if (depth > kMaxNesting || rec.value.empty()) {
    return std::nullopt;
  }
  InspectOptions none;
  auto r = inspect_any(rec.value, none, depth + 1);
  if (!r) {
    return std::nullopt;
  }
  return std::move(*r);
}

ojson cmw_json(const Cmw& cmw, int depth) {
  ojson out;
  out["format"] = "cmw";
  out["serialization"] = cmw.format == Cmw::Format::Json ? "json" : "cbor";
  switch (cmw.kind) {
    case Cmw::Kind::Record:
    case Cmw::Kind::Tag: {
      out["kind"] = cmw.kind == Cmw::Kind::Tag ? "tag" : "record";
      if (cmw.kind == Cmw::Kind::Tag) {
        out["tag"] = cmw.tag;
      }
      if (cmw.record.content_format) {
        out["content_format"] = *cmw.record.content_format;
      } else {
        out["media_type"] = cmw.record.media_type;
      }
      if (cmw.record.ind) {
        out["indicator"] = cmw_indicator_names(*cmw.record.ind);
      }
      out["value_size"] = cmw.record.value.size();
      out["value"] = to_hex(cmw.record.value);
      if (auto nested = decode_record_value(cmw.record, depth)) {
        out["decoded"] = std::move(*nested);
      }
      break;
    }
    case Cmw::Kind::Collection: {
      out["kind"] = "collection";
      if (cmw.collection.ctype) {
        out["collection_type"] = *cmw.collection.ctype;
      }
      ojson entries = ojson::object();
      for (const auto& [label, item] : cmw.collection.entries) {
        const std::string key = std::holds_alternative<std::string>(label)
                                    ? std::get<std::string>(label)
                                    : std::to_string(std::get<std::int64_t>(label));
        entries[key] = cmw_json(item, depth + 1);
      }
      out["entries"] = std::move(entries);
      break;
    }
  }
  return out;
}

Result<ojson> inspect_cose(const CoseSign1& msg, const InspectOptions& opts) {
  ojson out;
  out["format"] = "cose_sign1";
  if (msg.outer_tag) {
    out["tag"] = *msg.outer_tag;
  }
  out["protected"] = header_json(msg.protected_header);
  out["unprotected"] = header_json(msg.unprotected_header);
  if (msg.payload) {
    out["payload_size"] = msg.payload->size();
    auto claims = parse_eat_claims(*msg.payload);
    if (claims) {
      out["claims"] = to_ordered(eat_claims_to_json(*claims));
    } else if (auto v = cbor_decode(*msg.payload)) {
      out["payload"] = cbor_diag(*v);
      out["claims_error"] = claims.error().to_string();
    } else {
      out["payload"] = to_hex(*msg.payload);
    }
  } else {
    out["payload"] = "detached";
  }
  out["signature"] = to_hex(msg.signature);
  if (!opts.verify_key.empty()) {
    ATLS_ASSIGN_OR_RETURN(auto key, load_key(opts));
    auto v = verify_cose_sign1(msg, key.get());
    out["verified"] = static_cast<bool>(v);
    if (!v) {
      out["verify_error"] = std::string(v.error().name()) + ": " + v.error().to_string();
    }
  }
  return out;
}

ojson trust_vector_json(const TrustVector& tv) {
  ojson out = ojson::object();
  for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
    if (tv.claims[i]) {
      ojson c;
      c["value"] = static_cast<int>(*tv.claims[i]);
      c["tier"] = std::string(tier_name(tier_of_claim_value(*tv.claims[i])));
      out[std::string(TrustVector::claim_name(i))] = std::move(c);
    }
  }
  return out;
}

ojson ear_json(const Ear& ear) {
  ojson out;
  out["format"] = "ear";
  out["profile"] = ear.profile;
  out["iat"] = ear.iat;
  out["iat_time"] = ossl::format_time(ear.iat);
  if (ear.exp) {
    out["exp"] = *ear.exp;
    out["exp_time"] = ossl::format_time(*ear.exp);
  }
  if (ear.status) {
    out["status"] = std::string(tier_name(*ear.status));
  }
  out["verifier_id"] = {{"developer", ear.verifier_id.developer}, {"build", ear.verifier_id.build}};
  if (ear.nonce) {
    out["nonce"] = to_hex(*ear.nonce);
  }
  if (ear.raw_evidence) {
    out["raw_evidence"] = to_hex(*ear.raw_evidence);
  }
  ojson subs = ojson::object();
  for (const auto& s : ear.submods) {
    ojson j;
    j["status"] = std::string(tier_name(s.status));
    if (s.trust_vector) {
      j["trust_vector"] = trust_vector_json(*s.trust_vector);
    }
    if (!s.policy_ids.empty()) {
      j["policy_ids"] = s.policy_ids;
    }
    if (s.profile) {
      j["eat_profile"] = *s.profile;
    }
    if (s.nonce) {
      j["eat_nonce"] = to_hex(*s.nonce);
    }
    for (const auto& [k, v] : s.extensions.items()) {
      j[k] = to_ordered(v);
    }
    subs[s.name] = std::move(j);
  }
  out["submods"] = std::move(subs);
  for (const auto& [k, v] : ear.extensions.items()) {
    out[k] = to_ordered(v);
  }
  out["claim_names"] = ear.legacy_names ? "legacy (ear.*)" : "current (ear_*)";
  return out;
}

Result<ojson> inspect_jwt(std::string_view token, const InspectOptions& opts) {
  ATLS_ASSIGN_OR_RETURN(const Jws jws, parse_jws_compact(token));
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json claims, jwt_claims(jws));
  ojson out;
  auto ear = ear_from_claims(claims);
  const bool looks_ear = claims.contains("submods") || claims.contains("ear.verifier-id") ||
                         claims.contains("ear_verifier_id");
  if (ear) {
    out = ear_json(*ear);
  } else if (looks_ear) {
    return std::move(ear).error();
  } else {
    out["format"] = "jwt";
    out["claims"] = to_ordered(claims);
  }
  out["header"] = to_ordered(jws.header);
  out["signature"] = to_hex(jws.signature);
  if (!opts.verify_key.empty()) {
    ATLS_ASSIGN_OR_RETURN(auto key, load_key(opts));
    auto v = verify_jws(jws, key.get());
    out["verified"] = static_cast<bool>(v);
    if (!v) {
      out["verify_error"] = std::string(v.error().name()) + ": " + v.error().to_string();
    }
  }
  return out;
}

// add_dice_evidence decodes an Interoperable RA-TLS (TCG DICE) evidence
// extension into c["ratls_dice"]: the SGX quote, the claims, and whether the
// claims name this certificate's key. Nothing is verified here (`atls
// verify` does).
Result<void> add_dice_evidence(const X509* cert, ojson& c) {
  ATLS_ASSIGN_OR_RETURN(const auto ext, ossl::find_extension(cert, kOidTcgDiceTaggedEvidence));
  if (!ext) {
    return ok();
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes spki, ossl::cert_spki_der(cert));
  ATLS_ASSIGN_OR_RETURN(const Bytes spki_hash, ossl::digest(ossl::HashAlg::Sha256, spki));
  ojson d;
  d["oid"] = std::string(kOidTcgDiceTaggedEvidence);
  d["spki_sha256"] = to_hex(spki_hash);
  auto dice = parse_dice_ratls_evidence(ext->value);
  if (!dice) {
    d["error"] = std::string(dice.error().name()) + ": " + dice.error().to_string();
    c["ratls_dice"] = std::move(d);
    return ok();
  }
  d["tag"] = dice->tag;
  d["pubkey_hash_alg"] = dice->hash_alg;
  d["pubkey_hash"] = to_hex(dice->pubkey_hash);
  d["pubkey_hash_names_this_key"] = dice->hash_alg == 1 && dice->pubkey_hash == spki_hash;
  ATLS_ASSIGN_OR_RETURN(const Bytes claims_hash,
                        ossl::digest(ossl::HashAlg::Sha256, dice->claims_buffer));
  d["claims_sha256"] = to_hex(claims_hash);
  d["other_claims"] = to_ordered(dice->other_claims);
  auto quote = parse_sgx_quote(dice->quote);
  if (quote) {
    d["quote"] = to_ordered(sgx_quote_to_json(*quote));
  } else {
    d["quote_error"] = std::string(quote.error().name()) + ": " + quote.error().to_string();
  }
  c["ratls_dice"] = std::move(d);
  return ok();
}

Result<ojson> inspect_certs(ByteView data, int depth) {
  ATLS_ASSIGN_OR_RETURN(auto certs, ossl::parse_certificates(data));
  ojson list = ojson::array();
  for (const auto& cert : certs) {
    ATLS_ASSIGN_OR_RETURN(const auto s, ossl::summarize(cert.get()));
    ojson c;
    c["subject"] = s.subject;
    c["issuer"] = s.issuer;
    c["serial"] = s.serial_hex;
    c["not_before"] = ossl::format_time(s.not_before);
    c["not_after"] = ossl::format_time(s.not_after);
    c["key"] = s.key_type;
    c["extensions"] = s.extension_oids;
    auto cmw = cmw_from_certificate(cert.get());
    if (cmw) {
      c["cmw"] = cmw_json(*cmw, depth + 1);
    } else if (cmw.error().code != ErrorCode::CertNoCmwExtension) {
      c["cmw_error"] = std::string(cmw.error().name()) + ": " + cmw.error().to_string();
    }
    ATLS_TRY(add_dice_evidence(cert.get(), c));
    list.push_back(std::move(c));
  }
  ojson out;
  out["format"] = "x509";
  if (list.size() == 1) {
    for (auto& [k, v] : list[0].items()) {
      out[k] = v;
    }
  } else {
    out["certificates"] = std::move(list);
  }
  return out;
}

bool is_cose_shape(const CborValue& v) {
  const CborValue* p = &v;
  while (p->is_tag() && (p->tag_number() == kCwtTag || p->tag_number() == kCoseSign1Tag)) {
    p = &p->tag_content();
  }
  return p->is_array() && p->items().size() == 4 && p->items()[0].is_bytes() &&
         p->items()[1].is_map();
}

Result<ojson> inspect_any(ByteView data, const InspectOptions& opts, int depth) {
  if (data.empty()) {
    return Error{ErrorCode::UnknownFormat, "empty input"};
  }
  if (is_printable_text(data)) {
    const std::string_view text = trim(as_string_view(data));
    if (text.starts_with("-----BEGIN")) {
      return inspect_certs(to_bytes(text), depth);
    }
    // A base64url JOSE header ("eyJ" = '{"') marks a JWS even when the rest
    // is broken, so the JWS parser names what is wrong with it.
    if (looks_like_jws(text) || text.starts_with("eyJ") || text.starts_with(".eyJ")) {
      return inspect_jwt(text, opts);
    }
    if (text.starts_with("[") || text.starts_with("{")) {
      auto cmw = parse_cmw_json(text);
      if (cmw || cmw.error().code != ErrorCode::JsonMalformed) {
        ATLS_TRY(cmw);
        return cmw_json(*cmw, depth);
      }
      // Not JSON: CBOR diagnostic notation (as specifications and test
      // suites write CBOR examples)? Decode it and describe the CBOR.
      auto diag = cbor_from_diag(text);
      if (!diag) {
        return cmw.error();
      }
      auto r = inspect_any(cbor_encode(*diag), opts, depth + 1);
      if (r) {
        (*r)["input_encoding"] = "cbor-diagnostic-notation";
      }
      return r;
    }
    // Hex text (some vectors are distributed that way): decode and retry.
    if (text.size() >= 2 && depth == 0) {
      if (auto raw = from_hex(text)) {
        auto r = inspect_any(*raw, opts, depth + 1);
        if (r) {
          (*r)["input_encoding"] = "hex";
        }
        return r;
      }
    }
  }
  // DER certificate: SEQUENCE with a long-form length.
  if (data.size() > 4 && data[0] == 0x30 && (data[1] == 0x82 || data[1] == 0x83)) {
    auto r = inspect_certs(data, depth);
    if (r) {
      return r;
    }
  }
  auto cbor = cbor_decode(data);
  if (!cbor) {
    return Error{ErrorCode::UnknownFormat, "not CMW, COSE_Sign1/EAT, JWT/EAR or X.509 (as CBOR: " +
                                               cbor.error().to_string() + ")"};
  }
  if (is_cose_shape(*cbor)) {
    ATLS_ASSIGN_OR_RETURN(const CoseSign1 msg, cose_sign1_from_cbor(*cbor));
    return inspect_cose(msg, opts);
  }
  auto cmw = cmw_from_cbor(*cbor);
  if (cmw) {
    return cmw_json(*cmw, depth);
  }
  if (cbor->is_map()) {
    // A bare (unsigned) EAT claims set.
    if (auto claims = parse_eat_claims(*cbor)) {
      ojson out;
      out["format"] = "eat_claims";
      out["claims"] = to_ordered(eat_claims_to_json(*claims));
      return out;
    }
  }
  if (cbor->is_array() || cbor->is_tag() || cbor->is_map()) {
    return std::move(cmw).error();
  }
  return Error{ErrorCode::UnknownFormat,
               "CBOR item is not CMW, COSE_Sign1 or EAT: " + cbor_diag(*cbor).substr(0, 80)};
}

}  // namespace

Result<nlohmann::ordered_json> inspect_bytes(ByteView data, const InspectOptions& opts) {
  try {
    return inspect_any(data, opts, 0);
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, e.what()};
  }
}

namespace {

constexpr std::size_t kMaxHexChars = 96;

bool is_hex_string(const std::string& s) {
  if (s.size() < 16 || s.size() % 2 != 0) {
    return false;
  }
  for (const char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string scalar(const ojson& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (is_hex_string(s) && s.size() > kMaxHexChars) {
      return s.substr(0, kMaxHexChars) + "… (" + std::to_string(s.size() / 2) + " bytes)";
    }
    return s;
  }
  return v.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

bool all_scalars(const ojson& a) {
  for (const auto& e : a) {
    if (e.is_structured()) {
      return false;
    }
  }
  return true;
}

void render(std::string& out, const ojson& j, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (v.is_object() && !v.empty()) {
        out += pad + k + ":\n";
        render(out, v, indent + 1);
      } else if (v.is_array() && !v.empty() && !all_scalars(v)) {
        out += pad + k + ":\n";
        render(out, v, indent + 1);
      } else if (v.is_array()) {
        std::string line;
        for (const auto& e : v) {
          line += (line.empty() ? "" : ", ") + scalar(e);
        }
        out += pad + k + ": [" + line + "]\n";
      } else if (v.is_object()) {
        out += pad + k + ": {}\n";
      } else {
        out += pad + k + ": " + scalar(v) + "\n";
      }
    }
  } else if (j.is_array()) {
    std::size_t i = 0;
    for (const auto& e : j) {
      out += pad + "- [" + std::to_string(i++) + "]\n";
      if (e.is_structured()) {
        render(out, e, indent + 1);
      } else {
        out += pad + "  " + scalar(e) + "\n";
      }
    }
  } else {
    out += pad + scalar(j) + "\n";
  }
}

}  // namespace

std::string render_tree(const nlohmann::ordered_json& j) {
  std::string out;
  render(out, j, 0);
  return out;
}

}  // namespace atls::tools
