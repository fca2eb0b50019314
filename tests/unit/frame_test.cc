#include "src/tls/frame.h"

#include "src/core/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atls::tls {
namespace {

Bytes preamble() {
  return Bytes(kPreamble.begin(), kPreamble.end());
}

Bytes frame(FrameType t, const Bytes& body) {
  auto f = encode_frame(t, body);
  EXPECT_TRUE(f);
  return f ? *f : Bytes{};
}

TEST(Frame, EncodeExactBytes) {
  EXPECT_EQ(to_hex(frame(FrameType::Data, {0xAB, 0xCD})), "03000002abcd");
  EXPECT_EQ(to_hex(frame(FrameType::AuthRequest, {})), "01000000");
  EXPECT_EQ(to_hex(preamble()), "41544c5301");
}

TEST(Frame, EncodeRejectsOversizeBody) {
  const Bytes big(kMaxFrameBody + 1, 0);
  EXPECT_EQ(encode_frame(FrameType::Data, big).error().code, ErrorCode::FrameTooLarge);
  const Bytes max(kMaxFrameBody, 0);
  auto ok_frame = encode_frame(FrameType::Data, max);
  ASSERT_TRUE(ok_frame);
  EXPECT_EQ(ok_frame->size(), kMaxFrameBody + 4);
}

TEST(Frame, RoundTripManyFrames) {
  const std::vector<std::pair<FrameType, Bytes>> frames = {
      {FrameType::AuthRequest, Bytes(40, 0x11)},
      {FrameType::Authenticator, Bytes(700, 0x22)},
      {FrameType::Data, {}},
      {FrameType::Data, Bytes(3000, 0x33)},
      {FrameType::Alert, encode_alert(AlertCode::Timeout, "late")},
  };
  Bytes stream = preamble();
  for (const auto& [t, b] : frames) {
    const Bytes f = frame(t, b);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  // All at once.
  FrameDecoder all;
  all.feed(stream);
  for (const auto& [t, b] : frames) {
    auto f = all.next();
    ASSERT_TRUE(f) << f.error().to_string();
    ASSERT_TRUE(f->has_value());
    EXPECT_EQ((*f)->type, t);
    EXPECT_EQ((*f)->body, b);
  }
  auto end = all.next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(all.buffered(), 0u);

  // One byte at a time.
  FrameDecoder dribble;
  std::size_t got = 0;
  for (const std::uint8_t byte : stream) {
    dribble.feed(ByteView(&byte, 1));
    auto f = dribble.next();
    ASSERT_TRUE(f) << f.error().to_string();
    if (f->has_value()) {
      ASSERT_LT(got, frames.size());
      EXPECT_EQ((*f)->type, frames[got].first);
      EXPECT_EQ((*f)->body, frames[got].second);
      ++got;
      // No second frame can be complete after one more byte.
      auto again = dribble.next();
      ASSERT_TRUE(again);
      EXPECT_FALSE(again->has_value());
    }
  }
  EXPECT_EQ(got, frames.size());
}

TEST(Frame, OversizeHeaderRejectedBeforeBody) {
  // A DATA frame header claiming 16 MiB - 1, with a 1 MiB limit: rejected
  // from the 4 header bytes alone; nothing of the claimed size is buffered.
  FrameDecoder d;
  d.feed(preamble());
  d.feed(Bytes{0x03, 0xFF, 0xFF, 0xFF});
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::FrameTooLarge);
  EXPECT_LE(d.buffered(), 4u);
  // The decoder stays failed, and ignores further input.
  d.feed(Bytes(100, 0));
  EXPECT_EQ(d.next().error().code, ErrorCode::FrameTooLarge);
  EXPECT_LE(d.buffered(), 4u);
}

TEST(Frame, LimitsPerType) {
  FrameLimits limits;
  limits.control = 10;
  limits.data = 20;
  for (const auto& [type, len, ok_expected] : std::vector<std::tuple<FrameType, std::size_t, bool>>{
           {FrameType::AuthRequest, 10, true},
           {FrameType::AuthRequest, 11, false},
           {FrameType::Authenticator, 11, false},
           {FrameType::Alert, 11, false},
           {FrameType::Data, 20, true},
           {FrameType::Data, 21, false},
       }) {
    FrameDecoder d(limits, false);
    d.feed(frame(type, Bytes(len, 0x5A)));
    auto r = d.next();
    if (ok_expected) {
      ASSERT_TRUE(r);
      EXPECT_TRUE(r->has_value());
    } else {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, ErrorCode::FrameTooLarge);
    }
  }
  // Default limits: 64 KiB control, 1 MiB data.
  FrameDecoder d({}, false);
  d.feed(Bytes{0x02, 0x01, 0x00, 0x01});
  EXPECT_EQ(d.next().error().code, ErrorCode::FrameTooLarge);
  FrameDecoder d2({}, false);
  d2.feed(Bytes{0x02, 0x01, 0x00, 0x00});
  auto pending = d2.next();
  ASSERT_TRUE(pending);
  EXPECT_FALSE(pending->has_value());
}

TEST(Frame, UnknownType) {
  for (const std::uint8_t t : std::vector<std::uint8_t>{0x00, 0x05, 0xFF}) {
    FrameDecoder d({}, false);
    d.feed(Bytes{t});  // the type byte alone is enough to reject
    auto r = d.next();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::FrameMalformed);
  }
}

TEST(Frame, PreambleDetection) {
  {
    FrameDecoder d;
    EXPECT_EQ(d.check_preamble().status, PreambleStatus::NeedMore);
    d.feed(Bytes{0x41, 0x54});
    EXPECT_EQ(d.check_preamble().status, PreambleStatus::NeedMore);
    d.feed(Bytes{0x4C, 0x53, 0x01, 0x03, 0x00});
    EXPECT_EQ(d.check_preamble().status, PreambleStatus::Ok);
    EXPECT_TRUE(d.preamble_seen());
    EXPECT_EQ(d.check_preamble().status, PreambleStatus::Ok);
    EXPECT_EQ(d.buffered(), 2u);
    d.feed(Bytes{0x00, 0x01, 0x7A});
    auto f = d.next();
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->has_value());
    EXPECT_EQ((*f)->body, Bytes{0x7A});
  }
  {
    // A plain-TLS client speaking first: the bytes come back untouched,
    // detected from the first differing byte.
    FrameDecoder d;
    const Bytes http = to_bytes("GET / HTTP/1.1\r\n");
    d.feed(ByteView(http).first(1));
    auto p = d.check_preamble();
    EXPECT_EQ(p.status, PreambleStatus::NotPreamble);
    EXPECT_EQ(p.bytes, Bytes{'G'});
  }
  {
    FrameDecoder d;
    const Bytes almost = {0x41, 0x54, 0x4C, 0x53, 0x02, 0x09};  // wrong version
    d.feed(almost);
    auto p = d.check_preamble();
    EXPECT_EQ(p.status, PreambleStatus::NotPreamble);
    EXPECT_EQ(p.bytes, almost);
    EXPECT_EQ(d.next().error().code, ErrorCode::FrameMalformed);
  }
  {
    // next() checks the preamble itself.
    FrameDecoder d;
    d.feed(Bytes{0x41, 0x54, 0x4C});
    auto r = d.next();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
    d.feed(Bytes{0x00});
    EXPECT_EQ(d.next().error().code, ErrorCode::FrameMalformed);
  }
  {
    FrameDecoder d({}, false);
    EXPECT_EQ(d.check_preamble().status, PreambleStatus::Ok);
    d.feed(preamble());  // without a preamble expected, 0x41 is an unknown type
    EXPECT_EQ(d.next().error().code, ErrorCode::FrameMalformed);
  }
}

TEST(Alert, RoundTrip) {
  const Bytes body = encode_alert(AlertCode::AttestationFailed, "binder mismatch");
  EXPECT_EQ(to_hex(body), "02000f" + to_hex(to_bytes("binder mismatch")));
  auto a = parse_alert(body);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, AlertCode::AttestationFailed);
  EXPECT_EQ(a->reason, "binder mismatch");
  auto empty = parse_alert(encode_alert(AlertCode::Timeout, ""));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->reason, "");
  const std::string utf8 = "d\xC3\xA9j\xC3\xA0 vu";
  auto u = parse_alert(encode_alert(AlertCode::DecodeError, utf8));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->reason, utf8);
  const Bytes f = alert_frame(AlertCode::InternalError, "x");
  EXPECT_EQ(to_hex(f),
            "04000004"
            "07000178");
  EXPECT_EQ(alert_name(AlertCode::UnsupportedAttestationSchemes),
            "unsupported_attestation_schemes");
  // Unknown codes are kept.
  auto unknown = parse_alert(Bytes{0x63, 0x00, 0x00});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(static_cast<int>(unknown->code), 0x63);
  EXPECT_EQ(alert_name(unknown->code), "unknown");
}

TEST(Alert, EncodeSanitizes) {
  auto bad = parse_alert(encode_alert(AlertCode::DecodeError,
                                      "a\xFF"
                                      "b"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->reason, "a?b");
  const std::string long_reason(70000, 'x');
  auto cut = parse_alert(encode_alert(AlertCode::DecodeError, long_reason));
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->reason.size(), 65535u);
  // Cut at a character boundary: 'é' is 2 bytes, 65535 is odd.
  std::string accents;
  while (accents.size() < 70000) {
    accents += "\xC3\xA9";
  }
  auto cut2 = parse_alert(encode_alert(AlertCode::DecodeError, accents));
  ASSERT_TRUE(cut2);
  EXPECT_EQ(cut2->reason.size(), 65534u);
  EXPECT_TRUE(is_valid_utf8(cut2->reason));
}

TEST(Alert, ParseRejects) {
  for (const std::string& h :
       {std::string(""), std::string("01"), std::string("0100"), std::string("010001"),
        std::string("01000141"
                    "00"),
        std::string("010001ff"), std::string("010002c0af")}) {
    auto b = from_hex(h);
    ASSERT_TRUE(b);
    auto r = parse_alert(*b);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::FrameMalformed) << h;
  }
}

TEST(Alert, AlertForErrors) {
  EXPECT_EQ(alert_for(ErrorCode::AttestationRequired), AlertCode::AttestationRequired);
  EXPECT_EQ(alert_for(ErrorCode::EaNoAttestation), AlertCode::AttestationRequired);
  EXPECT_EQ(alert_for(ErrorCode::EaEmptyAuthenticator), AlertCode::AttestationRequired);
  EXPECT_EQ(alert_for(ErrorCode::NoCommonScheme), AlertCode::UnsupportedAttestationSchemes);
  EXPECT_EQ(alert_for(ErrorCode::UnexpectedFrame), AlertCode::UnexpectedMessage);
  EXPECT_EQ(alert_for(ErrorCode::FrameTooLarge), AlertCode::DecodeError);
  EXPECT_EQ(alert_for(ErrorCode::FrameMalformed), AlertCode::DecodeError);
  EXPECT_EQ(alert_for(ErrorCode::EaMalformed), AlertCode::DecodeError);
  EXPECT_EQ(alert_for(ErrorCode::EaRequestMalformed), AlertCode::DecodeError);
  EXPECT_EQ(alert_for(ErrorCode::AttestationTimeout), AlertCode::Timeout);
  EXPECT_EQ(alert_for(ErrorCode::EaBadFinished), AlertCode::AttestationFailed);
  EXPECT_EQ(alert_for(ErrorCode::EaBadCertificateVerify), AlertCode::AttestationFailed);
  EXPECT_EQ(alert_for(ErrorCode::EaUnsupportedExtension), AlertCode::AttestationFailed);
  EXPECT_EQ(alert_for(ErrorCode::NonceMismatch), AlertCode::AttestationFailed);
  EXPECT_EQ(alert_for(ErrorCode::MeasurementMismatch), AlertCode::AttestationFailed);
  EXPECT_EQ(alert_for(ErrorCode::AttestationExpired), AlertCode::AttestationFailed);
  EXPECT_EQ(alert_for(ErrorCode::Internal), AlertCode::InternalError);
  EXPECT_EQ(alert_for(ErrorCode::CryptoFailure), AlertCode::InternalError);
  EXPECT_EQ(alert_for(ErrorCode::InvalidArgument), AlertCode::InternalError);
}

}  // namespace
}  // namespace atls::tls
