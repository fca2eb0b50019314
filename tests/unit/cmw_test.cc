#include "src/formats/cmw/cmw.h"

#include "src/core/encoding.h"
#include "src/formats/cmw/cmw_x509.h"
#include "src/formats/json/json.h"
#include "src/ossl/x509.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atls {
namespace {

using test::hex;

Result<Cmw> parse_file(const std::string& rel, const CmwLimits& limits = {}) {
  return parse_cmw(test::read_data("cmw/" + rel), limits);
}

Cmw must_parse(const std::string& rel) {
  auto r = parse_file(rel);
  EXPECT_TRUE(r) << rel << ": " << (r ? "" : r.error().to_string());
  return r ? *r : Cmw{};
}

// ---------------------------------------------------------------------------
// veraison/cmw vectors

TEST(CmwVeraison, CborCollectionOk) {
  const Cmw c = must_parse("vectors/veraison_cmw_collection-cbor-ok.cbor");
  ASSERT_EQ(c.kind, Cmw::Kind::Collection);
  EXPECT_EQ(c.format, Cmw::Format::Cbor);
  EXPECT_FALSE(c.collection.ctype.has_value());
  ASSERT_EQ(c.collection.entries.size(), 3u);

  const Cmw* one = c.find(CmwLabel(std::int64_t{1}));
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->kind, Cmw::Kind::Record);
  EXPECT_EQ(one->record.media_type, "application/signed-corim+cbor");
  EXPECT_FALSE(one->record.content_format.has_value());
  EXPECT_EQ(one->record.value, hex("d28443a10126a1"));
  EXPECT_EQ(one->record.ind, 3u);

  const Cmw* two = c.find(CmwLabel(std::int64_t{2}));
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->kind, Cmw::Kind::Tag);
  EXPECT_EQ(two->tag, 1668576818u);
  EXPECT_EQ(two->record.content_format, 29884);  // TN^-1(1668576818)
  EXPECT_EQ(two->record.value, hex("2347da55"));

  const Cmw* s = c.find(CmwLabel(std::string("s")));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, Cmw::Kind::Record);
  EXPECT_EQ(s->record.content_format, 30001);
  EXPECT_TRUE(s->record.media_type.empty());
  EXPECT_EQ(s->record.value, hex("2347da55"));
  EXPECT_FALSE(s->record.ind.has_value());

  // Entry order and preferred serialisation are kept.
  auto enc = encode_cmw_cbor(c);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, test::read_data("cmw/vectors/veraison_cmw_collection-cbor-ok.cbor"));

  EXPECT_EQ(find_record(c, "application/signed-corim+cbor"), one);
  EXPECT_EQ(find_record(c, "application/other"), nullptr);
}

TEST(CmwVeraison, CborCollectionSerializeByteExact) {
  const Bytes file = test::read_data("cmw/vectors/veraison_cmw_collection-cbor-ok-2.cbor");
  const Cmw parsed = must_parse("vectors/veraison_cmw_collection-cbor-ok-2.cbor");
  auto reenc = encode_cmw_cbor(parsed);
  ASSERT_TRUE(reenc);
  EXPECT_EQ(*reenc, file);

  Cmw built = Cmw::make_collection();
  built.add(std::int64_t{1}, Cmw::make_record("application/vnd.1", hex("DEADBEEF")));
  auto enc = encode_cmw_cbor(built);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, file);
  EXPECT_EQ(built, parsed);
}

TEST(CmwVeraison, CborCollectionMixedKeys) {
  const Cmw c = must_parse("vectors/veraison_cmw_collection-cbor-mixed-keys.cbor");
  ASSERT_EQ(c.kind, Cmw::Kind::Collection);
  ASSERT_EQ(c.collection.entries.size(), 2u);
  EXPECT_EQ(c.collection.entries[0].first, CmwLabel(std::string("string")));
  EXPECT_EQ(c.collection.entries[1].first, CmwLabel(std::int64_t{1024}));

  const Cmw& rec = c.collection.entries[0].second;
  EXPECT_EQ(rec.kind, Cmw::Kind::Record);
  EXPECT_EQ(rec.record.content_format, 0);
  EXPECT_EQ(rec.record.value, hex("ff"));

  const Cmw& tag = c.collection.entries[1].second;
  EXPECT_EQ(tag.kind, Cmw::Kind::Tag);
  EXPECT_EQ(tag.tag, 1668546817u);
  EXPECT_EQ(tag.record.content_format, 0);
  EXPECT_EQ(tag.record.value, hex("aa"));

  auto enc = encode_cmw_cbor(c);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, test::read_data("cmw/vectors/veraison_cmw_collection-cbor-mixed-keys.cbor"));
}

TEST(CmwVeraison, JsonCollection) {
  const std::string text = test::read_text("cmw/vectors/veraison_cmw_collection-ok.json");
  const Cmw c = must_parse("vectors/veraison_cmw_collection-ok.json");
  ASSERT_EQ(c.kind, Cmw::Kind::Collection);
  EXPECT_EQ(c.format, Cmw::Format::Json);
  ASSERT_EQ(c.collection.entries.size(), 2u);
  const Cmw* a = c.find(CmwLabel(std::string("a")));
  const Cmw* b = c.find(CmwLabel(std::string("b")));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->record.media_type, "application/vnd.a");
  EXPECT_EQ(a->record.value, to_bytes("a"));
  EXPECT_EQ(b->record.media_type, "application/vnd.b");
  EXPECT_EQ(b->record.value, to_bytes("b"));
  EXPECT_EQ(a->format, Cmw::Format::Json);

  // Re-encoding is JSON-equivalent to the source.
  auto enc = encode_cmw_json(c);
  ASSERT_TRUE(enc);
  auto lhs = parse_json(*enc);
  auto rhs = parse_json(text);
  ASSERT_TRUE(lhs);
  ASSERT_TRUE(rhs);
  EXPECT_EQ(*lhs, *rhs);

  // JSON CMWs cannot be parsed as CBOR and vice versa.
  EXPECT_FALSE(parse_cmw_cbor(to_bytes(text)));
}

TEST(CmwVeraison, CertificateWithCborCmw) {
  auto cert =
      ossl::parse_certificate(test::read_data("cmw/vectors/veraison_cmw_x509-cert+cbor-cmw.der"));
  ASSERT_TRUE(cert);
  auto c = cmw_from_certificate(cert->get());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->format, Cmw::Format::Cbor);
  const Cmw* rim = find_record(*c, "application/rim+cose");
  ASSERT_NE(rim, nullptr);
  EXPECT_EQ(rim->record.value, hex("d28443a10126a1"));
  EXPECT_EQ(rim->record.ind, 3u);

  // The extension value is reproduced byte for byte.
  auto ext = ossl::find_extension(cert->get(), kOidPeCmw);
  ASSERT_TRUE(ext);
  ASSERT_TRUE(ext->has_value());
  EXPECT_FALSE((*ext)->critical);
  auto value = cmw_extension_value(*c);
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, (*ext)->value);
}

TEST(CmwVeraison, CertificateWithJsonCmw) {
  auto cert =
      ossl::parse_certificate(test::read_data("cmw/vectors/veraison_cmw_x509-cert+json-cmw.der"));
  ASSERT_TRUE(cert);
  auto c = cmw_from_certificate(cert->get());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*c, must_parse("vectors/veraison_cmw_collection-ok.json"));
}

// ---------------------------------------------------------------------------
// TN() (RFC 9277 Appendix B)

TEST(CmwTag, TnExamples) {
  EXPECT_EQ(cmw_tag_from_content_format(64999), 1668612070u);
  EXPECT_EQ(cmw_tag_from_content_format(0), 1668546817u);
  EXPECT_EQ(cmw_tag_from_content_format(65024), 1668612095u);
  EXPECT_EQ(cmw_tag_from_content_format(30001), 1668576935u);
  EXPECT_EQ(cmw_tag_from_content_format(65025), 0u);
  EXPECT_EQ(cmw_tag_from_content_format(65535), 0u);

  EXPECT_EQ(cmw_content_format_from_tag(1668612070), 64999);
  EXPECT_EQ(cmw_content_format_from_tag(1668546817), 0);
  EXPECT_EQ(cmw_content_format_from_tag(1668612095), 65024);
  EXPECT_EQ(cmw_content_format_from_tag(1668546816), std::nullopt);
  EXPECT_EQ(cmw_content_format_from_tag(1668612096), std::nullopt);
  EXPECT_EQ(cmw_content_format_from_tag(1668546817 + 255), std::nullopt);  // not a TN() image
  EXPECT_EQ(cmw_content_format_from_tag(0), std::nullopt);
}

TEST(CmwTag, TnRoundTripsOverItsDomain) {
  std::uint64_t previous = 0;
  for (std::uint32_t cf = 0; cf <= kCmwTagMaxContentFormat; ++cf) {
    const std::uint64_t tag = cmw_tag_from_content_format(static_cast<std::uint16_t>(cf));
    ASSERT_GT(tag, previous);
    ASSERT_EQ(cmw_content_format_from_tag(tag), cf);
    previous = tag;
  }
}

// ---------------------------------------------------------------------------
// Draft examples (bytes from gen_cmw_vectors.py)

TEST(CmwDraft, JsonRecord) {
  const Cmw c = must_parse("draft/valid-json-record.json");
  EXPECT_EQ(c, Cmw::make_record("application/vnd.example.rats-conceptual-msg", hex("2347da55"),
                                std::nullopt, Cmw::Format::Json));
  auto enc = encode_cmw_json(c);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, test::read_text("cmw/draft/valid-json-record.json"));
}

TEST(CmwDraft, CborRecords) {
  EXPECT_EQ(must_parse("draft/valid-cbor-record-cf.cbor"),
            Cmw::make_record_cf(64999, hex("2347da55")));
  EXPECT_EQ(must_parse("draft/valid-cbor-record-mt.cbor"),
            Cmw::make_record("application/vnd.example.rats-conceptual-msg", hex("2347da55")));
  EXPECT_EQ(must_parse("draft/valid-cbor-record-ar.cbor"),
            Cmw::make_record("application/eat+jwt", hex("4c693475"), kCmwIndAttestationResults));

  // The draft's wire representation of the record with indicator 3.
  const Bytes draft_bytes =
      hex("83781d6170706c69636174696f6e2f7369676e65642d636f72696d2b63626f7247d28443a10126a103");
  EXPECT_EQ(test::read_data("cmw/draft/valid-cbor-record-ind.cbor"), draft_bytes);
  const Cmw ind = must_parse("draft/valid-cbor-record-ind.cbor");
  EXPECT_EQ(ind.record.ind, kCmwIndReferenceValues | kCmwIndEndorsements);
  auto enc = encode_cmw_cbor(ind);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, draft_bytes);
}

TEST(CmwDraft, CborTag) {
  const Cmw c = must_parse("draft/valid-cbor-tag.cbor");
  EXPECT_EQ(c.kind, Cmw::Kind::Tag);
  EXPECT_EQ(c.tag, 1668612070u);
  EXPECT_EQ(c.record.content_format, 64999);
  EXPECT_EQ(c, Cmw::make_tag(64999, hex("2347da55")));
  EXPECT_EQ(test::read_data("cmw/draft/valid-cbor-tag.cbor")[0], 0xda);
}

TEST(CmwDraft, CborCollection) {
  const Cmw c = must_parse("draft/valid-cbor-collection.cbor");
  Cmw expected = Cmw::make_collection(Cmw::Format::Cbor, "tag:example.com,2024:composite-attester");
  expected.add(std::int64_t{0}, Cmw::make_record_cf(64999, hex("2347da55"), kCmwIndEvidence))
      .add(std::int64_t{1}, Cmw::make_tag(64999, hex("2347da55")))
      .add(std::int64_t{2},
           Cmw::make_record("application/eat+jwt", hex("4c693475"), kCmwIndAttestationResults));
  EXPECT_EQ(c, expected);
  auto enc = encode_cmw_cbor(expected);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, test::read_data("cmw/draft/valid-cbor-collection.cbor"));
  EXPECT_EQ(find_record(c, "application/eat+jwt"), c.find(CmwLabel(std::int64_t{2})));
}

TEST(CmwDraft, JsonCollection) {
  const Cmw c = must_parse("draft/valid-json-collection.json");
  Cmw expected = Cmw::make_collection(Cmw::Format::Json);
  expected
      .add(std::string("attester A"), Cmw::make_record("application/eat-ucs+json", to_bytes("{}\n"),
                                                       kCmwIndEvidence, Cmw::Format::Json))
      .add(std::string("attester B"), Cmw::make_record("application/eat-ucs+cbor", hex("a0"),
                                                       kCmwIndEvidence, Cmw::Format::Json));
  EXPECT_EQ(c, expected);
}

TEST(CmwDraft, EveryValidVectorRoundTrips) {
  const char* const files[] = {
      "valid-json-record.json",         "valid-cbor-record-cf.cbor",
      "valid-cbor-record-mt.cbor",      "valid-cbor-tag.cbor",
      "valid-cbor-record-ind.cbor",     "valid-cbor-record-ar.cbor",
      "valid-cbor-collection.cbor",     "valid-json-collection.json",
      "valid-cbor-collection-oid.cbor", "valid-json-collection-uri.json",
      "valid-cbor-cf-65535.cbor",       "valid-cbor-ind-max.cbor",
      "valid-cbor-tag-min.cbor",        "valid-cbor-tag-max.cbor",
      "valid-cbor-depth-8.cbor",        "valid-json-depth-8.json",
      "valid-cbor-nested.cbor",
  };
  for (const char* f : files) {
    SCOPED_TRACE(f);
    const Bytes data = test::read_data(std::string("cmw/draft/") + f);
    auto c = parse_cmw(data);
    ASSERT_TRUE(c) << c.error().to_string();
    auto enc = encode_cmw(*c);
    ASSERT_TRUE(enc) << enc.error().to_string();
    if (c->format == Cmw::Format::Cbor) {
      EXPECT_EQ(*enc, data);  // cbor2 writes preferred serialisation in insertion order
    } else {
      auto lhs = parse_json(as_string_view(*enc));
      auto rhs = parse_json(as_string_view(data));
      ASSERT_TRUE(lhs && rhs);
      EXPECT_EQ(*lhs, *rhs);
    }
    auto again = parse_cmw(*enc);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *c);
  }
}

TEST(CmwDraft, OtherValidDetails) {
  const Cmw oid = must_parse("draft/valid-cbor-collection-oid.cbor");
  EXPECT_EQ(oid.collection.ctype, "2.16.840.1.113741.1.16.1");
  EXPECT_NE(find_record(oid, "application/eat+cwt; eat_profile=2.16.840.1.113741.1.16.1"), nullptr);
  const Cmw uri = must_parse("draft/valid-json-collection-uri.json");
  EXPECT_EQ(uri.collection.ctype, "https://example.com/cmw/profile#v1");
  EXPECT_EQ(must_parse("draft/valid-cbor-cf-65535.cbor").record.content_format, 65535);
  EXPECT_EQ(must_parse("draft/valid-cbor-ind-max.cbor").record.ind, 0xffffffffu);
  const Cmw nested = must_parse("draft/valid-cbor-nested.cbor");
  const Cmw* inner = nested.find(CmwLabel(std::int64_t{-1}));
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->kind, Cmw::Kind::Collection);
  EXPECT_EQ(inner->find(CmwLabel(std::string("inner")))->tag, 1668576935u);
}

// ---------------------------------------------------------------------------
// Depth

TEST(CmwDepth, LimitIsNumberOfNestedCollections) {
  EXPECT_TRUE(parse_file("draft/valid-cbor-depth-8.cbor"));
  EXPECT_TRUE(parse_file("draft/valid-json-depth-8.json"));
  EXPECT_EQ(parse_file("bad/bad-depth-9.cbor").error().code, ErrorCode::CmwTooDeep);
  EXPECT_EQ(parse_file("bad/bad-json-depth-9.json").error().code, ErrorCode::CmwTooDeep);

  CmwLimits one;
  one.max_depth = 1;
  EXPECT_TRUE(parse_file("draft/valid-cbor-collection.cbor", one));
  EXPECT_EQ(parse_file("draft/valid-cbor-nested.cbor", one).error().code, ErrorCode::CmwTooDeep);
  EXPECT_EQ(parse_file("draft/valid-cbor-depth-8.cbor", one).error().code, ErrorCode::CmwTooDeep);
  CmwLimits zero;
  zero.max_depth = 0;
  EXPECT_TRUE(parse_file("draft/valid-cbor-record-cf.cbor", zero));
  EXPECT_EQ(parse_file("draft/valid-cbor-collection.cbor", zero).error().code,
            ErrorCode::CmwTooDeep);
}

TEST(CmwDepth, DeepCborBombIsCmwTooDeep) {
  Bytes bomb(10000, 0xa1);  // {0: {0: ... (truncated too, but depth is hit first)
  for (std::size_t i = 1; i < bomb.size(); i += 2) {
    bomb[i] = 0x00;
  }
  EXPECT_EQ(parse_cmw(bomb).error().code, ErrorCode::CmwTooDeep);
  const std::string json(5000, '[');
  EXPECT_EQ(parse_cmw(to_bytes(json)).error().code, ErrorCode::CmwTooDeep);
}

// ---------------------------------------------------------------------------
// Negatives

struct BadCase {
  const char* file;
  ErrorCode code;
};

TEST(CmwBad, EveryBadVectorFailsWithItsCode) {
  const BadCase cases[] = {
      {"bad-empty-array.cbor", ErrorCode::CmwMalformed},
      {"bad-one-element.cbor", ErrorCode::CmwMalformed},
      {"bad-four-elements.cbor", ErrorCode::CmwMalformed},
      {"bad-ind-zero.cbor", ErrorCode::CmwBadIndicator},
      {"bad-ind-2p32.cbor", ErrorCode::CmwBadIndicator},
      {"bad-ind-negative.cbor", ErrorCode::CmwBadIndicator},
      {"bad-ind-text.cbor", ErrorCode::CmwBadIndicator},
      {"bad-cf-70000.cbor", ErrorCode::CmwBadType},
      {"bad-type-negative.cbor", ErrorCode::CmwBadType},
      {"bad-type-bytes.cbor", ErrorCode::CmwBadType},
      {"bad-type-no-slash.cbor", ErrorCode::CmwBadType},
      {"bad-type-empty.cbor", ErrorCode::CmwBadType},
      {"bad-type-space.cbor", ErrorCode::CmwBadType},
      {"bad-value-text.cbor", ErrorCode::CmwMalformed},
      {"bad-tag-below-range.cbor", ErrorCode::CmwBadTag},
      {"bad-tag-above-range.cbor", ErrorCode::CmwBadTag},
      {"bad-tag-not-tn.cbor", ErrorCode::CmwBadTag},
      {"bad-tag-not-bstr.cbor", ErrorCode::CmwBadTag},
      {"bad-tag-cbor-date.cbor", ErrorCode::CmwBadTag},
      {"bad-empty-collection.cbor", ErrorCode::CmwEmptyCollection},
      {"bad-only-ctype.cbor", ErrorCode::CmwEmptyCollection},
      {"bad-ctype-int.cbor", ErrorCode::CmwBadCollectionType},
      {"bad-ctype-not-uri.cbor", ErrorCode::CmwBadCollectionType},
      {"bad-ctype-oid-leading-zero.cbor", ErrorCode::CmwBadCollectionType},
      {"bad-label-bytes.cbor", ErrorCode::CmwMalformed},
      {"bad-entry-int.cbor", ErrorCode::CmwMalformed},
      {"bad-depth-9.cbor", ErrorCode::CmwTooDeep},
      {"bad-not-cmw.cbor", ErrorCode::CmwMalformed},
      {"bad-dup-label.cbor", ErrorCode::CborDuplicateKey},
      {"bad-trailing.cbor", ErrorCode::CborTrailingData},
      {"bad-truncated.cbor", ErrorCode::CborMalformed},
      {"bad-json-padding.json", ErrorCode::CmwMalformed},
      {"bad-json-plus.json", ErrorCode::CmwMalformed},
      {"bad-json-empty-value.json", ErrorCode::CmwMalformed},
      {"bad-json-value-number.json", ErrorCode::CmwMalformed},
      {"bad-json-type-number.json", ErrorCode::CmwBadType},
      {"bad-json-type-invalid.json", ErrorCode::CmwBadType},
      {"bad-json-ind-zero.json", ErrorCode::CmwBadIndicator},
      {"bad-json-ind-2p32.json", ErrorCode::CmwBadIndicator},
      {"bad-json-ind-float.json", ErrorCode::CmwBadIndicator},
      {"bad-json-four-elements.json", ErrorCode::CmwMalformed},
      {"bad-json-empty-array.json", ErrorCode::CmwMalformed},
      {"bad-json-empty-collection.json", ErrorCode::CmwEmptyCollection},
      {"bad-json-only-ctype.json", ErrorCode::CmwEmptyCollection},
      {"bad-json-ctype-number.json", ErrorCode::CmwBadCollectionType},
      {"bad-json-entry-string.json", ErrorCode::CmwMalformed},
      {"bad-json-depth-9.json", ErrorCode::CmwTooDeep},
      {"bad-json-dup-label.json", ErrorCode::JsonDuplicateKey},
      {"bad-json-trailing.json", ErrorCode::JsonMalformed},
      {"bad-json-truncated.json", ErrorCode::JsonMalformed},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto r = parse_file(std::string("bad/") + c.file);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, c.code) << r.error().to_string();
  }
}

TEST(CmwBad, InlineInputs) {
  EXPECT_EQ(parse_cmw({}).error().code, ErrorCode::CmwMalformed);
  EXPECT_EQ(parse_cmw(hex("80")).error().code, ErrorCode::CmwMalformed);
  EXPECT_FALSE(parse_cmw(to_bytes("\"x\"")));  // a JSON string is no CMW
  EXPECT_EQ(parse_cmw(to_bytes("  [\"a/b\",\"YQ\"]")).value().record.media_type, "a/b");
  // An integer label below INT64_MIN.
  EXPECT_EQ(parse_cmw(hex("a13bffffffffffffffff8263612f624100")).error().code,
            ErrorCode::CmwMalformed);
  // Indefinite-length record and map are accepted.
  EXPECT_EQ(parse_cmw(hex("9f63612f624100ff")).value(), Cmw::make_record("a/b", hex("00")));
  EXPECT_TRUE(parse_cmw(hex("bf008263612f624100ff")));
}

TEST(CmwBad, SizeLimit) {
  CmwLimits small;
  small.max_size = 8;
  EXPECT_EQ(parse_file("draft/valid-cbor-collection.cbor", small).error().code,
            ErrorCode::CborTooLarge);
  EXPECT_EQ(parse_file("draft/valid-json-record.json", small).error().code,
            ErrorCode::JsonTooLarge);
}

TEST(CmwBad, FromCborValueChecksDuplicates) {
  const CborValue rec = CborValue::array({CborValue::text("a/b"), CborValue::bytes(hex("00"))});
  const CborValue dup = CborValue::map({{CborValue::uint(1), rec}, {CborValue::uint(1), rec}});
  EXPECT_EQ(cmw_from_cbor(dup).error().code, ErrorCode::CmwMalformed);
  const CborValue two_types = CborValue::map({{CborValue::text("__cmwc_t"), CborValue::text("a:b")},
                                              {CborValue::text("__cmwc_t"), CborValue::text("a:c")},
                                              {CborValue::uint(1), rec}});
  EXPECT_EQ(cmw_from_cbor(two_types).error().code, ErrorCode::CmwMalformed);
  EXPECT_TRUE(cmw_from_cbor(rec));
}

// ---------------------------------------------------------------------------
// Encoders

TEST(CmwEncode, JsonCannotCarryCborOnlyForms) {
  EXPECT_EQ(encode_cmw_json(Cmw::make_tag(64999, hex("00"))).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(encode_cmw_json(Cmw::make_record_cf(64999, hex("00"))).error().code,
            ErrorCode::InvalidArgument);
  Cmw int_label = Cmw::make_collection(Cmw::Format::Json);
  int_label.add(std::int64_t{1}, Cmw::make_record("a/b", hex("00")));
  EXPECT_EQ(encode_cmw_json(int_label).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(encode_cmw_json(Cmw::make_record("a/b", {})).error().code, ErrorCode::InvalidArgument);
  // CBOR carries all of them.
  EXPECT_TRUE(encode_cmw_cbor(int_label));
  EXPECT_TRUE(encode_cmw_cbor(Cmw::make_record("a/b", {})));
}

TEST(CmwEncode, RejectsWhatTheParserRejects) {
  EXPECT_EQ(encode_cmw_cbor(Cmw::make_collection()).error().code, ErrorCode::CmwEmptyCollection);
  EXPECT_EQ(encode_cmw_cbor(Cmw::make_record("nonsense", hex("00"))).error().code,
            ErrorCode::CmwBadType);
  EXPECT_EQ(encode_cmw_cbor(Cmw::make_record("", hex("00"))).error().code, ErrorCode::CmwBadType);
  EXPECT_EQ(encode_cmw_cbor(Cmw::make_record("a/b", hex("00"), 0)).error().code,
            ErrorCode::CmwBadIndicator);
  EXPECT_EQ(encode_cmw_cbor(Cmw::make_tag(65025, hex("00"))).error().code, ErrorCode::CmwBadTag);

  Cmw dup = Cmw::make_collection();
  dup.add(std::string("x"), Cmw::make_record("a/b", hex("00")))
      .add(std::string("x"), Cmw::make_record("a/b", hex("01")));
  EXPECT_EQ(encode_cmw_cbor(dup).error().code, ErrorCode::CmwMalformed);
  Cmw reserved = Cmw::make_collection();
  reserved.add(std::string("__cmwc_t"), Cmw::make_record("a/b", hex("00")));
  EXPECT_EQ(encode_cmw_cbor(reserved).error().code, ErrorCode::CmwMalformed);
  Cmw bad_ctype = Cmw::make_collection(Cmw::Format::Cbor, "no scheme");
  bad_ctype.add(std::int64_t{0}, Cmw::make_record("a/b", hex("00")));
  EXPECT_EQ(encode_cmw_cbor(bad_ctype).error().code, ErrorCode::CmwBadCollectionType);
}

TEST(CmwEncode, JsonCollectionWithType) {
  Cmw c = Cmw::make_collection(Cmw::Format::Json, "1.3.6.1.4.1.0");
  c.add(std::string("ev"), Cmw::make_record("application/eat+jwt", to_bytes("abc"), kCmwIndEvidence,
                                            Cmw::Format::Json));
  auto enc = encode_cmw_json(c);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, R"({"__cmwc_t":"1.3.6.1.4.1.0","ev":["application/eat+jwt","YWJj",4]})");
  auto back = parse_cmw(to_bytes(*enc));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

// ---------------------------------------------------------------------------
// Helpers

TEST(CmwMediaType, Grammar) {
  for (const char* ok : {"application/eat+cwt", "text/plain; charset=utf-8",
                         "application/eat+cwt; eat_profile=2.16.840.1.113741.1.16.1",
                         "application/cose; cose-type=\"cose-sign1\"", "a/b;c=d;e=\"f\\\"g\"",
                         "a/b;", "a/b ; ;c=d", "application/vnd.example.rats-conceptual-msg"}) {
    EXPECT_TRUE(is_valid_media_type(ok)) << ok;
  }
  for (const char* bad :
       {"", "application", "application/", "/json", "a/b/c", "a b/c", "a/b c", "a/b;c",
        "a/b;c=", "a/b;=d", "a/b;c=\"d", "a/b ", "#cmw-c2j-tunnel", "a/b;c=d e", "a/\xc3\xa9"}) {
    EXPECT_FALSE(is_valid_media_type(bad)) << bad;
  }
}

TEST(CmwIndicator, Names) {
  EXPECT_EQ(cmw_indicator_names(0), std::vector<std::string>{});
  EXPECT_EQ(cmw_indicator_names(4), std::vector<std::string>{"evidence"});
  EXPECT_EQ(cmw_indicator_names(3), (std::vector<std::string>{"reference-values", "endorsements"}));
  EXPECT_EQ(cmw_indicator_names(8 | 16 | 32),
            (std::vector<std::string>{"attestation-results", "appraisal-policy", "bit-5"}));
}

// ---------------------------------------------------------------------------
// X.509 (certificates from gen_cmw_certs.sh, made by the openssl CLI)

TEST(CmwX509, OpensslMadeCertificates) {
  auto cbor_cert = ossl::parse_certificate(test::read_data("cmw/cert/cert-cbor-cmw.der"));
  ASSERT_TRUE(cbor_cert);
  auto c = cmw_from_certificate(cbor_cert->get());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*c, must_parse("draft/valid-cbor-collection.cbor"));

  auto json_cert = ossl::parse_certificate(test::read_data("cmw/cert/cert-json-cmw.der"));
  ASSERT_TRUE(json_cert);
  auto j = cmw_from_certificate(json_cert->get());
  ASSERT_TRUE(j) << j.error().to_string();
  EXPECT_EQ(*j, must_parse("draft/valid-json-record.json"));
  // cmw_extension_value reproduces what openssl embedded.
  auto ext = ossl::find_extension(json_cert->get(), kOidPeCmw);
  ASSERT_TRUE(ext && ext->has_value());
  EXPECT_EQ(cmw_extension_value(*j).value(), (*ext)->value);

  auto none = ossl::parse_certificate(test::read_data("cmw/cert/cert-no-cmw.der"));
  ASSERT_TRUE(none);
  EXPECT_EQ(cmw_from_certificate(none->get()).error().code, ErrorCode::CertNoCmwExtension);

  auto bad = ossl::parse_certificate(test::read_data("cmw/cert/cert-bad-cmw.der"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(cmw_from_certificate(bad->get()).error().code, ErrorCode::CmwMalformed);
}

TEST(CmwX509, ExtensionValueDer) {
  const Cmw rec = Cmw::make_record_cf(64999, hex("2347da55"));
  auto der = cmw_extension_value(rec);
  ASSERT_TRUE(der);
  EXPECT_EQ(*der, hex("0409"
                      "8219fde7442347da55"));
  EXPECT_EQ(cmw_from_extension_value(*der).value(), rec);

  // Long-form length (>= 128 bytes of content).
  const Cmw big = Cmw::make_record("application/x", Bytes(300, 0x5a));
  auto big_der = cmw_extension_value(big);
  ASSERT_TRUE(big_der);
  EXPECT_EQ((*big_der)[0], 0x04);
  EXPECT_EQ((*big_der)[1], 0x82);
  EXPECT_EQ(cmw_from_extension_value(*big_der).value(), big);

  EXPECT_EQ(cmw_from_extension_value({}).error().code, ErrorCode::CmwMalformed);
  EXPECT_EQ(cmw_from_extension_value(hex("040a"
                                         "8219fde7442347da55"))
                .error()
                .code,
            ErrorCode::CmwMalformed);  // truncated
  EXPECT_EQ(cmw_from_extension_value(hex("0409"
                                         "8219fde7442347da5500"))
                .error()
                .code,
            ErrorCode::CmwMalformed);  // trailing byte
  EXPECT_EQ(cmw_from_extension_value(hex("048109"
                                         "8219fde7442347da55"))
                .error()
                .code,
            ErrorCode::CmwMalformed);  // non-minimal length
  EXPECT_EQ(cmw_from_extension_value(hex("0480"
                                         "8219fde7442347da550000"))
                .error()
                .code,
            ErrorCode::CmwMalformed);  // indefinite length
  EXPECT_EQ(cmw_from_extension_value(hex("2409"
                                         "8219fde7442347da55"))
                .error()
                .code,
            ErrorCode::CmwMalformed);  // constructed OCTET STRING
  EXPECT_EQ(cmw_from_extension_value(hex("0c02"
                                         "ff5b"))
                .error()
                .code,
            ErrorCode::CmwMalformed);  // invalid UTF-8
  // The CHOICE arm must match the serialisation inside.
  EXPECT_FALSE(
      cmw_from_extension_value(hex("0c09"
                                   "8219fde7442347da55")));
}

}  // namespace
}  // namespace atls
