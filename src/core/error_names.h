#pragma once

// Reading error codes back from their names (as a remote Verifier reports
// them in problem details, docs/verifier-service.md).

#include <atls/error.h>

#include <optional>
#include <string_view>

namespace atls {

// error_code_from_name returns the code whose error_name() is |name|, or
// nullopt for an unknown name.
std::optional<ErrorCode> error_code_from_name(std::string_view name) noexcept;

}  // namespace atls
