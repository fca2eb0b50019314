#include "src/core/byte_reader.h"

#include <string>

namespace atls {

Result<std::uint64_t> ByteReader::be(std::size_t n) {
  if (remaining() < n) {
    return Error{ErrorCode::Truncated, "need " + std::to_string(n) + " bytes at offset " +
                                           std::to_string(m_pos) + ", have " +
                                           std::to_string(remaining())};
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v = (v << 8) | m_data[m_pos + i];
  }
  m_pos += n;
  return v;
}

Result<std::uint64_t> ByteReader::le(std::size_t n) {
  if (remaining() < n) {
    return Error{ErrorCode::Truncated, "need " + std::to_string(n) + " bytes at offset " +
                                           std::to_string(m_pos) + ", have " +
                                           std::to_string(remaining())};
  }
  std::uint64_t v = 0;
  for (std::size_t i = n; i > 0; --i) {
    v = (v << 8) | m_data[m_pos + i - 1];
  }
  m_pos += n;
  return v;
}

Result<std::uint8_t> ByteReader::u8() {
  ATLS_ASSIGN_OR_RETURN(const auto v, be(1));
  return static_cast<std::uint8_t>(v);
}
Result<std::uint16_t> ByteReader::u16() {
  ATLS_ASSIGN_OR_RETURN(const auto v, be(2));
  return static_cast<std::uint16_t>(v);
}
Result<std::uint32_t> ByteReader::u24() {
  ATLS_ASSIGN_OR_RETURN(const auto v, be(3));
  return static_cast<std::uint32_t>(v);
}
Result<std::uint32_t> ByteReader::u32() {
  ATLS_ASSIGN_OR_RETURN(const auto v, be(4));
  return static_cast<std::uint32_t>(v);
}
Result<std::uint64_t> ByteReader::u64() {
  return be(8);
}
Result<std::uint16_t> ByteReader::u16_le() {
  ATLS_ASSIGN_OR_RETURN(const auto v, le(2));
  return static_cast<std::uint16_t>(v);
}
Result<std::uint32_t> ByteReader::u32_le() {
  ATLS_ASSIGN_OR_RETURN(const auto v, le(4));
  return static_cast<std::uint32_t>(v);
}
Result<std::uint64_t> ByteReader::u64_le() {
  return le(8);
}

Result<ByteView> ByteReader::bytes(std::size_t n) {
  if (remaining() < n) {
    return Error{ErrorCode::Truncated, "need " + std::to_string(n) + " bytes at offset " +
                                           std::to_string(m_pos) + ", have " +
                                           std::to_string(remaining())};
  }
  const ByteView out = m_data.subspan(m_pos, n);
  m_pos += n;
  return out;
}

Result<void> ByteReader::skip(std::size_t n) {
  ATLS_TRY(bytes(n));
  return ok();
}

Result<ByteView> ByteReader::vec(std::size_t prefix, std::size_t min, std::size_t max) {
  const std::size_t start = m_pos;
  ATLS_ASSIGN_OR_RETURN(const std::uint64_t len, be(prefix));
  if (len < min || len > max) {
    m_pos = start;
    return Error{ErrorCode::LengthOverflow, "vector length " + std::to_string(len) + " outside [" +
                                                std::to_string(min) + ", " + std::to_string(max) +
                                                "]"};
  }
  auto body = bytes(static_cast<std::size_t>(len));
  if (!body) {
    m_pos = start;
  }
  return body;
}

Result<ByteView> ByteReader::vector8(std::size_t min, std::size_t max) {
  return vec(1, min, max);
}
Result<ByteView> ByteReader::vector16(std::size_t min, std::size_t max) {
  return vec(2, min, max);
}
Result<ByteView> ByteReader::vector24(std::size_t min, std::size_t max) {
  return vec(3, min, max);
}

ByteView ByteReader::rest() {
  const ByteView out = m_data.subspan(m_pos);
  m_pos = m_data.size();
  return out;
}

Result<void> ByteReader::expect_end() const {
  if (remaining() != 0) {
    return Error{ErrorCode::TrailingData, std::to_string(remaining()) + " bytes left"};
  }
  return ok();
}

void ByteWriter::u16(std::uint16_t v) {
  u8(static_cast<std::uint8_t>(v >> 8));
  u8(static_cast<std::uint8_t>(v));
}
void ByteWriter::u24(std::uint32_t v) {
  u8(static_cast<std::uint8_t>(v >> 16));
  u8(static_cast<std::uint8_t>(v >> 8));
  u8(static_cast<std::uint8_t>(v));
}
void ByteWriter::u32(std::uint32_t v) {
  u16(static_cast<std::uint16_t>(v >> 16));
  u16(static_cast<std::uint16_t>(v));
}
void ByteWriter::u64(std::uint64_t v) {
  u32(static_cast<std::uint32_t>(v >> 32));
  u32(static_cast<std::uint32_t>(v));
}

Result<void> ByteWriter::prefixed(std::size_t prefix, ByteView b) {
  const std::size_t max = (std::size_t{1} << (8 * prefix)) - 1;
  if (b.size() > max) {
    return Error{ErrorCode::LengthOverflow, "vector of " + std::to_string(b.size()) + " bytes"};
  }
  for (std::size_t i = prefix; i > 0; --i) {
    u8(static_cast<std::uint8_t>(b.size() >> (8 * (i - 1))));
  }
  bytes(b);
  return ok();
}

Result<void> ByteWriter::vector8(ByteView b) {
  return prefixed(1, b);
}
Result<void> ByteWriter::vector16(ByteView b) {
  return prefixed(2, b);
}
Result<void> ByteWriter::vector24(ByteView b) {
  return prefixed(3, b);
}

std::size_t ByteWriter::begin_vector(std::size_t prefix) {
  const std::size_t at = m_out.size();
  if (prefix < 1 || prefix > 3) {
    // Only 1..3 fit the handle's two bits; a handle with prefix 0 makes
    // end_vector fail instead of patching the wrong bytes.
    return at << 2;
  }
  m_out.insert(m_out.end(), prefix, 0);
  // The handle packs the offset and the prefix size.
  return (at << 2) | prefix;
}

Result<void> ByteWriter::end_vector(std::size_t handle) {
  const std::size_t prefix = handle & 3;
  const std::size_t at = handle >> 2;
  if (prefix == 0 || at + prefix > m_out.size()) {
    return Error{ErrorCode::Internal, "bad vector handle"};
  }
  const std::size_t len = m_out.size() - at - prefix;
  const std::size_t max = (std::size_t{1} << (8 * prefix)) - 1;
  if (len > max) {
    return Error{ErrorCode::LengthOverflow, "vector of " + std::to_string(len) + " bytes"};
  }
  for (std::size_t i = 0; i < prefix; ++i) {
    m_out[at + i] = static_cast<std::uint8_t>(len >> (8 * (prefix - 1 - i)));
  }
  return ok();
}

}  // namespace atls
