#include "src/core/byte_reader.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

namespace atls {
namespace {

using test::hex;

TEST(ByteReader, ReadsBigEndianIntegers) {
  const Bytes in =
      hex("01"
          "0203"
          "040506"
          "0708090a"
          "0b0c0d0e0f101112");
  ByteReader r(in);
  EXPECT_EQ(r.u8().value(), 0x01);
  EXPECT_EQ(r.u16().value(), 0x0203);
  EXPECT_EQ(r.u24().value(), 0x040506u);
  EXPECT_EQ(r.u32().value(), 0x0708090au);
  EXPECT_EQ(r.u64().value(), 0x0b0c0d0e0f101112u);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.expect_end());
}

TEST(ByteReader, ReadsLittleEndianIntegers) {
  const Bytes in =
      hex("0102"
          "03040506"
          "0708090a0b0c0d0e");
  ByteReader r(in);
  EXPECT_EQ(r.u16_le().value(), 0x0201);
  EXPECT_EQ(r.u32_le().value(), 0x06050403u);
  EXPECT_EQ(r.u64_le().value(), 0x0e0d0c0b0a090807u);
  EXPECT_TRUE(r.expect_end());
}

TEST(ByteReader, TruncationLeavesPositionUnchanged) {
  const Bytes in = hex("aabbcc");
  ByteReader r(in);
  ASSERT_TRUE(r.u8());
  EXPECT_EQ(r.u32().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.position(), 1u);
  EXPECT_EQ(r.u24().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.u64().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.u32_le().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.u64_le().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.bytes(3).error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.skip(3).error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.position(), 1u);
  EXPECT_EQ(r.u16().value(), 0xbbcc);
  EXPECT_EQ(r.u8().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.u16_le().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.position(), 3u);
}

TEST(ByteReader, BytesSkipRest) {
  const Bytes in = hex("0102030405");
  ByteReader r2(in);
  auto b = r2.bytes(2);
  ASSERT_TRUE(b);
  EXPECT_EQ(Bytes(b->begin(), b->end()), hex("0102"));
  EXPECT_TRUE(r2.skip(1));
  EXPECT_EQ(r2.remaining(), 2u);
  EXPECT_EQ(r2.expect_end().error().code, ErrorCode::TrailingData);
  const ByteView rest = r2.rest();
  EXPECT_EQ(Bytes(rest.begin(), rest.end()), hex("0405"));
  EXPECT_TRUE(r2.empty());
  EXPECT_TRUE(r2.rest().empty());
  EXPECT_TRUE(r2.bytes(0));
  ByteReader empty(ByteView{});
  EXPECT_TRUE(empty.expect_end());
  EXPECT_EQ(empty.u8().error().code, ErrorCode::Truncated);
}

TEST(ByteReader, Vectors) {
  const Bytes in =
      hex("02aabb"
          "0003ccddee"
          "000001ff"
          "00");
  ByteReader r(in);
  auto v8 = r.vector8();
  ASSERT_TRUE(v8);
  EXPECT_EQ(Bytes(v8->begin(), v8->end()), hex("aabb"));
  auto v16 = r.vector16();
  ASSERT_TRUE(v16);
  EXPECT_EQ(Bytes(v16->begin(), v16->end()), hex("ccddee"));
  auto v24 = r.vector24();
  ASSERT_TRUE(v24);
  EXPECT_EQ(Bytes(v24->begin(), v24->end()), hex("ff"));
  auto empty = r.vector8();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(r.expect_end());
}

TEST(ByteReader, VectorBoundsAreInclusive) {
  const Bytes in = hex("03010203");
  {
    ByteReader r(in);
    EXPECT_TRUE(r.vector8(3, 3));
  }
  {
    ByteReader r(in);
    EXPECT_EQ(r.vector8(4, 10).error().code, ErrorCode::LengthOverflow);
    EXPECT_EQ(r.position(), 0u);
    EXPECT_EQ(r.vector8(0, 2).error().code, ErrorCode::LengthOverflow);
    EXPECT_EQ(r.position(), 0u);
  }
  const Bytes in16 = hex("0000");
  ByteReader r16(in16);
  EXPECT_EQ(r16.vector16(1).error().code, ErrorCode::LengthOverflow);  // <1..2^16-1>
  const Bytes in24 =
      hex("000002"
          "aa");
  ByteReader r24(in24);
  EXPECT_EQ(r24.vector24(0, 1).error().code, ErrorCode::LengthOverflow);
  EXPECT_EQ(r24.position(), 0u);
}

TEST(ByteReader, VectorTruncationLeavesPositionUnchanged) {
  const Bytes in =
      hex("00"
          "05aabb");  // a u8, then a vector8 claiming 5 bytes with 2 present
  ByteReader r(in);
  ASSERT_TRUE(r.u8());
  EXPECT_EQ(r.vector8().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r.position(), 1u);
  const Bytes short16 = hex("00");  // not even a full length prefix
  ByteReader r16(short16);
  EXPECT_EQ(r16.vector16().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r16.position(), 0u);
  const Bytes big24 = hex("ffffff00");
  ByteReader r24(big24);
  EXPECT_EQ(r24.vector24().error().code, ErrorCode::Truncated);
  EXPECT_EQ(r24.position(), 0u);
}

TEST(ByteWriter, IntegersAndVectors) {
  ByteWriter w;
  w.u8(0x01);
  w.u16(0x0203);
  w.u24(0x040506);
  w.u32(0x0708090a);
  w.u64(0x0b0c0d0e0f101112);
  w.bytes(hex("ff"));
  ASSERT_TRUE(w.vector8(hex("aa")));
  ASSERT_TRUE(w.vector16(hex("bbcc")));
  ASSERT_TRUE(w.vector24(Bytes{}));
  EXPECT_EQ(w.data(), hex("01"
                          "0203"
                          "040506"
                          "0708090a"
                          "0b0c0d0e0f101112"
                          "ff"
                          "01aa"
                          "0002bbcc"
                          "000000"));
}

TEST(ByteWriter, VectorOverflow) {
  ByteWriter w;
  EXPECT_EQ(w.vector8(Bytes(256, 0)).error().code, ErrorCode::LengthOverflow);
  EXPECT_TRUE(w.data().empty());  // nothing written on failure
  EXPECT_TRUE(w.vector8(Bytes(255, 0)));
  EXPECT_EQ(w.data().size(), 256u);
  ByteWriter w16;
  EXPECT_EQ(w16.vector16(Bytes(0x10000, 0)).error().code, ErrorCode::LengthOverflow);
  EXPECT_TRUE(w16.vector16(Bytes(0xffff, 0)));
  ByteWriter w24;
  EXPECT_EQ(w24.vector24(Bytes(0x1000000, 0)).error().code, ErrorCode::LengthOverflow);
}

TEST(ByteWriter, BackPatchesNestedVectors) {
  // struct { uint16 type; opaque data<0..2^16-1>; } inside a vector24.
  ByteWriter w;
  const std::size_t outer = w.begin_vector(3);
  w.u16(0x002b);
  const std::size_t inner = w.begin_vector(2);
  w.bytes(hex("0304"));
  ASSERT_TRUE(w.end_vector(inner));
  const std::size_t tiny = w.begin_vector(1);
  ASSERT_TRUE(w.end_vector(tiny));
  ASSERT_TRUE(w.end_vector(outer));
  EXPECT_EQ(w.data(), hex("000007"
                          "002b"
                          "0002"
                          "0304"
                          "00"));

  // And the reader takes it apart again.
  ByteReader r(w.data());
  auto body = r.vector24();
  ASSERT_TRUE(body);
  ByteReader b(*body);
  EXPECT_EQ(b.u16().value(), 0x002b);
  EXPECT_EQ(b.vector16()->size(), 2u);
  EXPECT_EQ(b.vector8()->size(), 0u);
  EXPECT_TRUE(b.expect_end());
  EXPECT_TRUE(r.expect_end());
}

TEST(ByteWriter, EndVectorOverflowAndBadHandles) {
  ByteWriter w;
  const std::size_t h = w.begin_vector(1);
  w.bytes(Bytes(256, 0));
  EXPECT_EQ(w.end_vector(h).error().code, ErrorCode::LengthOverflow);
  w.take();
  EXPECT_TRUE(w.data().empty());
  EXPECT_EQ(w.end_vector(0).error().code, ErrorCode::Internal);                // prefix 0
  EXPECT_EQ(w.end_vector((100u << 2) | 2).error().code, ErrorCode::Internal);  // beyond the data
  // An unsupported prefix size yields a handle that end_vector refuses, and
  // writes nothing.
  const std::size_t bad = w.begin_vector(4);
  EXPECT_TRUE(w.data().empty());
  EXPECT_EQ(w.end_vector(bad).error().code, ErrorCode::Internal);
  const std::size_t bad5 = w.begin_vector(5);
  EXPECT_EQ(w.end_vector(bad5).error().code, ErrorCode::Internal);
}

}  // namespace
}  // namespace atls
