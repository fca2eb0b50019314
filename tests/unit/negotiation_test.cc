#include "src/tls/negotiation.h"

#include "src/core/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atls::tls {
namespace {

const AttestationScheme kEat = AttestationScheme::evidence_media_type("application/eat+cwt");
const AttestationScheme kTpm = AttestationScheme::evidence_content_format(10572);
const AttestationScheme kEar = AttestationScheme::result(to_bytes("verifier.example"));

TEST(Negotiation, OfferRoundTrip) {
  AtlsOffer offer;
  offer.modes = kModePostHandshake | kModeIntraHandshake;
  offer.server_attester_schemes = {kEat, kEar};
  offer.client_attester_schemes = {kTpm};
  auto enc = encode_offer(offer);
  ASSERT_TRUE(enc);
  auto dec = parse_offer(*enc);
  ASSERT_TRUE(dec) << dec.error().to_string();
  EXPECT_EQ(*dec, offer);
  EXPECT_EQ((*enc)[0], 0x03);
}

TEST(Negotiation, EmptyOfferExactBytes) {
  AtlsOffer offer;
  auto enc = encode_offer(offer);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc), "0100000000");
  auto dec = parse_offer(*enc);
  ASSERT_TRUE(dec);
  EXPECT_TRUE(dec->server_attester_schemes.empty());
  EXPECT_TRUE(dec->client_attester_schemes.empty());
}

TEST(Negotiation, AnswerRoundTripAndBytes) {
  AtlsAnswer a;
  a.mode = kModePostHandshake;
  a.server_scheme = kTpm;
  a.wants_client_attestation = true;
  auto enc = encode_answer(a);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc),
            "01"
            "0004"
            "0000294c"
            "01");
  auto dec = parse_answer(*enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, a);

  AtlsAnswer none;
  auto enc2 = encode_answer(none);
  ASSERT_TRUE(enc2);
  EXPECT_EQ(to_hex(*enc2), "01000000");
  auto dec2 = parse_answer(*enc2);
  ASSERT_TRUE(dec2);
  EXPECT_FALSE(dec2->server_scheme);
  EXPECT_FALSE(dec2->wants_client_attestation);
}

TEST(Negotiation, EncodeAnswerRejectsBadMode) {
  AtlsAnswer a;
  a.mode = 0;
  EXPECT_EQ(encode_answer(a).error().code, ErrorCode::InvalidArgument);
  a.mode = 3;
  EXPECT_EQ(encode_answer(a).error().code, ErrorCode::InvalidArgument);
}

// docs/wire-profile.md §1.9 and docs/protocol-choices.md: the answer holds
// one delivery mode plus the push (bit 2), client-push (bit 3) and label
// (bit 4) flags; any other bit is malformed.
TEST(Negotiation, AnswerFlags) {
  AtlsAnswer a;
  a.mode = kModePostHandshake | kModePush | kModeCmwLabel;
  a.server_scheme = kTpm;
  auto enc = encode_answer(a);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc).substr(0, 2), "15");
  auto dec = parse_answer(*enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(dec->mode, a.mode);
  for (const std::string& h : {std::string("21000000"),     // unknown bit 5
                               std::string("04000000"),     // push without a delivery mode
                               std::string("13000000")}) {  // both delivery modes
    auto r = parse_answer(from_hex(h).value());
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::NegotiationMalformed) << h;
  }
  a.mode = kModePostHandshake | 0x40;
  EXPECT_EQ(encode_answer(a).error().code, ErrorCode::InvalidArgument);
}

TEST(Negotiation, OfferMalformed) {
  for (const std::string& h : {
           std::string(""),        // empty
           std::string("01"),      // no lists
           std::string("0100"),    // partial length
           std::string("010000"),  // missing client list
           std::string("0100000000"
                       "00"),  // trailing
           std::string("01000100"
                       "0000"),  // partial scheme in server list
           std::string("0100020500"
                       "0000"),  // unknown mechanism
           std::string("010000"
                       "00040001ffff"),  // media type overruns
       }) {
    auto b = from_hex(h);
    ASSERT_TRUE(b) << h;
    auto r = parse_offer(*b);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::NegotiationMalformed) << h;
  }
}

TEST(Negotiation, AnswerMalformed) {
  for (const std::string& h : {
           std::string(""), std::string("01"),
           std::string("010000"),    // missing wants flag
           std::string("01000002"),  // wants = 2
           std::string("010000ff"),  // wants = 255
           std::string("00000000"),  // mode 0
           std::string("03000000"),  // two modes
           std::string("01000000"
                       "00"),  // trailing
           std::string("01"
                       "0008"
                       "0000294c"
                       "0000294d"
                       "00"),  // two schemes
           std::string("01"
                       "0003"
                       "000029"
                       "00"),  // partial scheme
       }) {
    auto b = from_hex(h);
    ASSERT_TRUE(b) << h;
    auto r = parse_answer(*b);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::NegotiationMalformed) << h;
  }
}

TEST(Negotiation, ChooseScheme) {
  const std::vector<AttestationScheme> ours = {kTpm, kEat};
  const std::vector<AttestationScheme> theirs = {kEar, kEat, kTpm};
  auto c = choose_scheme(ours, theirs);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, kEat);  // their first that we support
  EXPECT_FALSE(choose_scheme(ours, std::vector<AttestationScheme>{kEar}));
  EXPECT_FALSE(choose_scheme({}, theirs));
  // Different arms never match, even with equal payload bytes.
  const auto mt = AttestationScheme::evidence_media_type("x");
  const auto vi = AttestationScheme::result(to_bytes("x"));
  EXPECT_FALSE(
      choose_scheme(std::vector<AttestationScheme>{mt}, std::vector<AttestationScheme>{vi}));
}

}  // namespace
}  // namespace atls::tls
