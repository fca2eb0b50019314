#include "src/gateway/psk_offer.h"

#include "src/core/byte_reader.h"

namespace atls::gateway {

Result<std::vector<ByteView>> parse_offered_psks(ByteView ext) {
  ByteReader r(ext);
  ATLS_ASSIGN_OR_RETURN(const ByteView ids, r.vector16(7, 0xffff));
  ATLS_ASSIGN_OR_RETURN(const ByteView binders, r.vector16(33, 0xffff));
  if (!r.empty()) {
    return Error{ErrorCode::TrailingData, "bytes after the PSK binders"};
  }
  std::vector<ByteView> out;
  ByteReader ir(ids);
  while (!ir.empty()) {
    ATLS_ASSIGN_OR_RETURN(const ByteView id, ir.vector16(1, 0xffff));
    ATLS_TRY(ir.skip(4));  // obfuscated_ticket_age
    out.push_back(id);
  }
  std::size_t n = 0;
  ByteReader br(binders);
  while (!br.empty()) {
    ATLS_TRY(br.vector8(32, 255));
    ++n;
  }
  if (n != out.size()) {
    return Error{
        ErrorCode::GatewayTokenInvalid,
        std::to_string(out.size()) + " PSK identities but " + std::to_string(n) + " binders"};
  }
  return out;
}

}  // namespace atls::gateway
