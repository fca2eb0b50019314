#pragma once

#include <atls/bytes.h>
#include <atls/result.h>

#include <cstddef>
#include <cstdint>

namespace atls {

// ByteReader reads big-endian integers and TLS-style length-prefixed vectors
// (RFC 8446 §3.4) from a borrowed buffer. Every read is bounds-checked: a
// read past the end fails with Truncated and leaves the reader unchanged.
// The reader never allocates; returned views borrow the input buffer.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : m_data(data) {}

  std::size_t remaining() const { return m_data.size() - m_pos; }
  std::size_t position() const { return m_pos; }
  bool empty() const { return remaining() == 0; }

  Result<std::uint8_t> u8();
  Result<std::uint16_t> u16();
  Result<std::uint32_t> u24();
  Result<std::uint32_t> u32();
  Result<std::uint64_t> u64();
  // Little-endian variants, for hardware report formats.
  Result<std::uint16_t> u16_le();
  Result<std::uint32_t> u32_le();
  Result<std::uint64_t> u64_le();

  // bytes returns the next |n| bytes.
  Result<ByteView> bytes(std::size_t n);
  // skip advances |n| bytes.
  Result<void> skip(std::size_t n);

  // vector8/16/24 read an opaque vector with a 1-, 2- or 3-byte length
  // prefix. A length outside [min, max] fails with LengthOverflow; a length
  // beyond the buffer fails with Truncated.
  Result<ByteView> vector8(std::size_t min = 0, std::size_t max = 0xff);
  Result<ByteView> vector16(std::size_t min = 0, std::size_t max = 0xffff);
  Result<ByteView> vector24(std::size_t min = 0, std::size_t max = 0xffffff);

  // rest returns all remaining bytes.
  ByteView rest();

  // expect_end fails with TrailingData unless every byte was consumed.
  Result<void> expect_end() const;

 private:
  Result<std::uint64_t> be(std::size_t n);
  Result<std::uint64_t> le(std::size_t n);
  Result<ByteView> vec(std::size_t prefix, std::size_t min, std::size_t max);

  ByteView m_data;
  std::size_t m_pos = 0;
};

// ByteWriter appends big-endian integers and length-prefixed vectors.
// Length-prefixed scopes are opened with begin_vector and closed with
// end_vector, which back-patches the length and fails with LengthOverflow if
// the body exceeds the prefix's range.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { m_out.push_back(v); }
  void u16(std::uint16_t v);
  void u24(std::uint32_t v);
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void bytes(ByteView b) { m_out.insert(m_out.end(), b.begin(), b.end()); }

  // vector8/16/24 write |b| with a length prefix; fail with LengthOverflow.
  Result<void> vector8(ByteView b);
  Result<void> vector16(ByteView b);
  Result<void> vector24(ByteView b);

  // begin_vector opens a scope with a |prefix|-byte length (1, 2 or 3) and
  // returns its handle; end_vector closes the scope it names. Any other
  // |prefix| writes nothing and returns a handle end_vector rejects.
  std::size_t begin_vector(std::size_t prefix);
  Result<void> end_vector(std::size_t handle);

  const Bytes& data() const { return m_out; }
  Bytes take() { return std::move(m_out); }

 private:
  Result<void> prefixed(std::size_t prefix, ByteView b);
  Bytes m_out;
};

}  // namespace atls
