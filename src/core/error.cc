#include <atls/error.h>

#include "src/core/error_names.h"

#include <array>
#include <string>

namespace atls {
namespace {

struct ErrorInfo {
  std::string_view name;
  ErrorCategory category;
  std::uint8_t alert;
  std::string_view message;
};

constexpr std::array kErrorTable = {
#define ATLS_X_ROW(name, category, alert, message) \
  ErrorInfo{#name, ErrorCategory::category, alert, message},
    ATLS_ERROR_CODES(ATLS_X_ROW)
#undef ATLS_X_ROW
};

const ErrorInfo& info(ErrorCode code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i < kErrorTable.size() ? kErrorTable[i] : kErrorTable[1];  // [1] = Internal
}

}  // namespace

ErrorCategory error_category(ErrorCode code) noexcept {
  return info(code).category;
}
std::string_view error_name(ErrorCode code) noexcept {
  return info(code).name;
}
std::string_view error_message(ErrorCode code) noexcept {
  return info(code).message;
}
std::uint8_t error_tls_alert(ErrorCode code) noexcept {
  return info(code).alert;
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kErrorTable.size(); ++i) {
    if (kErrorTable[i].name == name) {
      return static_cast<ErrorCode>(i);
    }
  }
  return std::nullopt;
}

std::string_view category_name(ErrorCategory category) noexcept {
  switch (category) {
    case ErrorCategory::Io:
      return "io";
    case ErrorCategory::WouldBlock:
      return "would-block";
    case ErrorCategory::Closed:
      return "closed";
    case ErrorCategory::Alert:
      return "alert";
    case ErrorCategory::Protocol:
      return "protocol";
    case ErrorCategory::BadEvidence:
      return "bad-evidence";
    case ErrorCategory::PolicyRejected:
      return "policy-rejected";
    case ErrorCategory::Usage:
      return "usage";
    case ErrorCategory::Internal:
      return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  std::string s(error_message(code));
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

}  // namespace atls
