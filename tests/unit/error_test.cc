#include <atls/error.h>
#include <atls/result.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace atls {
namespace {

std::vector<ErrorCode> all_codes() {
  return {
#define ATLS_X_LIST(name, category, alert, message) ErrorCode::name,
      ATLS_ERROR_CODES(ATLS_X_LIST)
#undef ATLS_X_LIST
  };
}

TEST(Error, EveryCodeHasADistinctNameAndAMessage) {
  const std::vector<ErrorCode> codes = all_codes();
  ASSERT_GT(codes.size(), 10u);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const ErrorCode c = codes[i];
    EXPECT_EQ(static_cast<std::size_t>(c), i) << "codes are numbered in list order";
    EXPECT_FALSE(error_name(c).empty());
    EXPECT_FALSE(error_message(c).empty()) << error_name(c);
    EXPECT_TRUE(names.insert(error_name(c)).second) << "duplicate name " << error_name(c);
    EXPECT_FALSE(category_name(error_category(c)).empty());
  }
}

TEST(Error, NamesMatchEnumerators) {
  EXPECT_EQ(error_name(ErrorCode::Ok), "Ok");
  EXPECT_EQ(error_name(ErrorCode::CborTooDeep), "CborTooDeep");
  EXPECT_EQ(error_name(ErrorCode::EatBadClaim), "EatBadClaim");
}

TEST(Error, Categories) {
  EXPECT_EQ(error_category(ErrorCode::Internal), ErrorCategory::Internal);
  EXPECT_EQ(error_category(ErrorCode::InvalidArgument), ErrorCategory::Usage);
  EXPECT_EQ(error_category(ErrorCode::FileNotFound), ErrorCategory::Io);
  EXPECT_EQ(error_category(ErrorCode::Truncated), ErrorCategory::Protocol);
  EXPECT_EQ(error_category(ErrorCode::SignatureInvalid), ErrorCategory::BadEvidence);
  EXPECT_EQ(error_category(ErrorCode::CertExpired), ErrorCategory::BadEvidence);
  EXPECT_EQ(error_category(ErrorCode::EatMalformed), ErrorCategory::BadEvidence);
  EXPECT_EQ(category_name(ErrorCategory::BadEvidence), "bad-evidence");
  EXPECT_EQ(category_name(ErrorCategory::PolicyRejected), "policy-rejected");
  EXPECT_EQ(category_name(ErrorCategory::WouldBlock), "would-block");
}

TEST(Error, Alerts) {
  EXPECT_EQ(error_tls_alert(ErrorCode::Internal), 80);          // internal_error
  EXPECT_EQ(error_tls_alert(ErrorCode::Truncated), 50);         // decode_error
  EXPECT_EQ(error_tls_alert(ErrorCode::SignatureInvalid), 51);  // decrypt_error
  EXPECT_EQ(error_tls_alert(ErrorCode::CertExpired), 45);       // certificate_expired
  EXPECT_EQ(error_tls_alert(ErrorCode::CertUntrusted), 48);     // unknown_ca
}

TEST(Error, OutOfRangeCodeIsInternal) {
  const auto bogus = static_cast<ErrorCode>(0xffff);
  EXPECT_EQ(error_name(bogus), "Internal");
  EXPECT_EQ(error_category(bogus), ErrorCategory::Internal);
}

TEST(Error, ToString) {
  EXPECT_EQ((Error{ErrorCode::Truncated, ""}).to_string(), "input truncated");
  EXPECT_EQ((Error{ErrorCode::Truncated, "at 3"}).to_string(), "input truncated: at 3");
  const Error e{ErrorCode::CborMalformed, "x"};
  EXPECT_EQ(e.name(), "CborMalformed");
  EXPECT_EQ(e.category(), ErrorCategory::BadEvidence);
}

Result<int> half(int v) {
  if (v % 2 != 0) {
    return Error{ErrorCode::InvalidArgument, "odd"};
  }
  return v / 2;
}

Result<int> quarter(int v) {
  ATLS_ASSIGN_OR_RETURN(const int h, half(v));
  return half(h);
}

Result<void> check_even(int v) {
  ATLS_TRY(half(v));
  return ok();
}

TEST(Result, MacrosPropagate) {
  EXPECT_EQ(quarter(8).value(), 2);
  EXPECT_EQ(quarter(6).error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(check_even(2));
  EXPECT_EQ(check_even(3).error().detail, "odd");
  const Result<int> r = ErrorCode::Truncated;
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.value_or(7), 7);
  EXPECT_EQ(half(4).value_or(7), 2);
}

}  // namespace
}  // namespace atls
