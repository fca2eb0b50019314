// The remoteAttestation extension codec (draft-fossati-seat-early-attestation
// §4.1): exact bytes, round trips, and every way a peer's bytes can be wrong.

#include "src/tls/early/remote_attestation.h"

#include "src/core/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace atls::tls::early {
namespace {

const AttestationScheme kEat = AttestationScheme::evidence_media_type("application/eat+cwt");
const AttestationScheme kTpm = AttestationScheme::evidence_content_format(10572);
const AttestationScheme kEar = AttestationScheme::result(to_bytes("verifier.example"));

Bytes hex(const std::string& h) {
  auto b = from_hex(h);
  EXPECT_TRUE(b) << h;
  return b ? *b : Bytes{};
}

void expect_malformed(const Result<RemoteAttestationOffer>& r) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::EarlyAttestationMalformed) << r.error().to_string();
}

TEST(EarlyRemoteAttestation, OfferExactBytesAndRoundTrip) {
  RemoteAttestationOffer offer;
  offer.server_attester_schemes = {kTpm};
  offer.client_attester_schemes = {kEar};
  auto enc = encode_offer(offer);
  ASSERT_TRUE(enc);
  // server_attester_schemes<4>: evidence(0) CONTENT_FORMAT(0) 10572;
  // client_attester_schemes<19>: result(1) verifier_identity<16>.
  EXPECT_EQ(to_hex(*enc),
            "0004"
            "0000294c"
            "0013"
            "01"
            "0010" +
                to_hex(to_bytes("verifier.example")));
  auto dec = parse_offer(*enc);
  ASSERT_TRUE(dec) << dec.error().to_string();
  EXPECT_EQ(*dec, offer);
}

TEST(EarlyRemoteAttestation, EmptyListsAreAllowed) {
  auto dec = parse_offer(hex("00000000"));
  ASSERT_TRUE(dec);
  EXPECT_TRUE(dec->server_attester_schemes.empty());
  EXPECT_TRUE(dec->client_attester_schemes.empty());
}

TEST(EarlyRemoteAttestation, OfferRejectsBadInput) {
  RemoteAttestationOffer offer;
  offer.server_attester_schemes = {kEat, kTpm};
  auto enc = encode_offer(offer);
  ASSERT_TRUE(enc);
  Bytes trailing = *enc;
  trailing.push_back(0);
  expect_malformed(parse_offer(trailing));
  for (std::size_t n = 0; n < enc->size(); ++n) {
    expect_malformed(parse_offer(ByteView(*enc).first(n)));
  }
  expect_malformed(
      parse_offer(hex("0003"
                      "000029"
                      "0000")));  // a partial scheme in the list
  expect_malformed(
      parse_offer(hex("0001"
                      "02"
                      "0000")));  // mechanism 2
  expect_malformed(
      parse_offer(hex("0004"
                      "0002294c"
                      "0000")));  // type_encoding 2
  expect_malformed(
      parse_offer(hex("0005"
                      "0000294c"
                      "0000")));  // length past the list
}

TEST(EarlyRemoteAttestation, ChosenSchemeIsOneSchemeWithoutPrefix) {
  auto enc = encode_chosen_scheme(kTpm);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc), "0000294c");
  auto dec = parse_chosen_scheme(*enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, kTpm);
  auto media = encode_chosen_scheme(kEat);
  ASSERT_TRUE(media);
  auto media_dec = parse_chosen_scheme(*media);
  ASSERT_TRUE(media_dec);
  EXPECT_EQ(*media_dec, kEat);

  for (const char* bad : {"", "00", "0000", "000029", "0000294c00", "02", "0002294c", "01000a"}) {
    auto r = parse_chosen_scheme(hex(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::EarlyAttestationMalformed) << bad;
  }
}

TEST(EarlyRemoteAttestation, CmwPayload) {
  const Bytes cmw = to_bytes(R"(["application/eat+jwt","ZXZpZGVuY2U"])");
  auto enc = encode_cmw_payload(cmw);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(ByteView(*enc).first(3)), "000025");
  auto dec = parse_cmw_payload(*enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(Bytes(dec->begin(), dec->end()), cmw);

  EXPECT_EQ(encode_cmw_payload({}).error().code, ErrorCode::InvalidArgument);
  for (const char* bad : {"", "00", "0000", "000000", "00000201", "0000010102"}) {
    auto r = parse_cmw_payload(hex(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::EarlyAttestationMalformed) << bad;
  }
}

}  // namespace
}  // namespace atls::tls::early
