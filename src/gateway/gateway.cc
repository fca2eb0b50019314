// The public face of gateway tokens (<atls/gateway.h>): the token file, the
// key file, and issuing.

#include <atls/gateway.h>

#include "src/attestation/policy.h"
#include "src/core/encoding.h"
#include "src/gateway/token.h"
#include "src/ossl/crypto.h"

#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace atls {
namespace {

constexpr std::size_t kMaxTokenFile = 16 * 1024;

Error bad_file(std::string detail) {
  return Error{ErrorCode::GatewayTokenInvalid, "token file: " + std::move(detail)};
}

}  // namespace

GatewayToken::~GatewayToken() {
  if (!psk.empty()) {
    OPENSSL_cleanse(psk.data(), psk.size());
  }
}

GatewayToken& GatewayToken::operator=(const GatewayToken& other) {
  if (this != &other) {
    OPENSSL_cleanse(psk.data(), psk.size());
    identity = other.identity;
    psk = other.psk;
    expires_at = other.expires_at;
  }
  return *this;
}

GatewayToken& GatewayToken::operator=(GatewayToken&& other) noexcept {
  if (this != &other) {
    OPENSSL_cleanse(psk.data(), psk.size());
    identity = std::move(other.identity);
    psk = std::move(other.psk);
    expires_at = other.expires_at;
  }
  return *this;
}

std::string GatewayToken::to_json() const {
  nlohmann::json j = {{"atls_gateway_token", 1},
                      {"identity", base64url_encode(identity)},
                      {"psk", base64url_encode(psk)},
                      {"expires_at", expires_at}};
  return j.dump(2) + "\n";
}

Result<GatewayToken> GatewayToken::from_json(std::string_view text) {
  if (text.size() > kMaxTokenFile) {
    return bad_file("larger than " + std::to_string(kMaxTokenFile) + " bytes");
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return bad_file("not a JSON object");
  }
  const auto version = j.find("atls_gateway_token");
  if (version == j.end() || !version->is_number_integer() || version->get<int>() != 1) {
    return bad_file("\"atls_gateway_token\": 1 is missing");
  }
  const auto identity = j.find("identity");
  const auto psk = j.find("psk");
  const auto exp = j.find("expires_at");
  if (identity == j.end() || !identity->is_string() || psk == j.end() || !psk->is_string() ||
      exp == j.end() || !exp->is_number_integer()) {
    return bad_file("needs \"identity\" and \"psk\" (base64url) and \"expires_at\" (seconds)");
  }
  GatewayToken t;
  auto id = base64url_decode(identity->get<std::string>());
  auto key = base64url_decode(psk->get<std::string>());
  if (!id || !key) {
    return bad_file("\"identity\" or \"psk\" is not base64url");
  }
  if (!gateway::is_token_identity(*id) || id->size() > gateway::kMaxIdentitySize) {
    OPENSSL_cleanse(key->data(), key->size());
    return bad_file("\"identity\" is not an atls gateway token");
  }
  if (key->size() != gateway::kPskSize) {
    OPENSSL_cleanse(key->data(), key->size());
    return bad_file("\"psk\" is not 32 bytes");
  }
  t.identity = std::move(*id);
  t.psk = std::move(*key);
  t.expires_at = exp->get<std::int64_t>();
  return t;
}

Result<GatewayToken> GatewayToken::load(const std::string& path) {
  ATLS_ASSIGN_OR_RETURN(Bytes raw, read_file_bytes(path));
  auto t = from_json(as_string_view(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  return t;
}

Result<GatewayToken> issue_gateway_token(const AttestationResult& client, ByteView key,
                                         const GatewayTokenOptions& options) {
  if (key.size() != gateway::kGatewayKeySize) {
    return Error{ErrorCode::InvalidArgument, "a gateway key is 32 bytes"};
  }
  if (options.lifetime.count() <= 0) {
    return Error{ErrorCode::InvalidArgument, "a token lifetime must be positive"};
  }
  const std::shared_ptr<const Clock> clock =
      options.clock ? options.clock : std::make_shared<SystemClock>();
  const std::shared_ptr<Rng> rng = options.rng ? options.rng : std::make_shared<SystemRng>();
  gateway::TokenContents t;
  Bytes psk(gateway::kPskSize);
  rng->fill(psk);
  t.psk = ossl::SecretBytes(psk);
  t.iat = clock->now();
  //= docs/gateway.md: a token never outlives the appraisal it carries.
  t.exp = t.iat + std::min<std::int64_t>(options.lifetime.count(), client.valid_until() - t.iat);
  if (t.exp <= t.iat) {
    return Error{ErrorCode::InvalidArgument, "the client's appraisal is no longer valid"};
  }
  t.token_id.resize(gateway::kTokenIdSize);
  rng->fill(t.token_id);
  t.single_use = options.single_use;
  t.audience = options.audience;
  t.summary = internal::ResultParts::of(client);
  Bytes nonce(ossl::kAeadNonceSize);
  rng->fill(nonce);
  auto identity = gateway::seal_token(t, key, nonce);
  if (!identity) {
    OPENSSL_cleanse(psk.data(), psk.size());
    return std::move(identity).error();
  }
  GatewayToken out;
  out.identity = std::move(*identity);
  out.psk = std::move(psk);
  out.expires_at = t.exp;
  return out;
}

Result<Bytes> load_gateway_key(const std::string& path) {
  ATLS_ASSIGN_OR_RETURN(Bytes raw, read_file_bytes(path));
  std::string hex;
  for (const std::uint8_t c : raw) {
    if (!std::isspace(c)) {
      hex.push_back(static_cast<char>(c));
    }
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  auto key = from_hex(hex);
  OPENSSL_cleanse(hex.data(), hex.size());
  if (!key || key->size() != gateway::kGatewayKeySize) {
    return Error{ErrorCode::InvalidArgument,
                 path + ": a gateway key file holds 64 hexadecimal digits (32 bytes)"};
  }
  return std::move(*key);
}

std::string new_gateway_key() {
  Bytes key(gateway::kGatewayKeySize);
  SystemRng().fill(key);
  std::string hex = to_hex(key) + "\n";
  OPENSSL_cleanse(key.data(), key.size());
  return hex;
}

}  // namespace atls
