#pragma once

#include <atls/error.h>

#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

namespace atls {

// Result<T> holds either a T or an Error. Its members follow std::expected
// (has_value, operator bool, value, error, operator*, operator->, value_or) so
// it can become an alias of std::expected<T, Error> in a C++23 build.
// Accessing value() of an error result, or error() of a value, aborts: it is a
// programming error, never a reaction to peer input.
template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& v) : m_v(std::in_place_index<0>, v) {}          // NOLINT(implicit)
  Result(T&& v) : m_v(std::in_place_index<0>, std::move(v)) {}    // NOLINT(implicit)
  Result(Error e) : m_v(std::in_place_index<1>, std::move(e)) {}  // NOLINT(implicit)
  Result(ErrorCode c, std::string detail = {})                    // NOLINT(implicit)
      : m_v(std::in_place_index<1>, Error{c, std::move(detail)}) {}
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, T> &&
                                              !std::is_same_v<std::decay_t<U>, Error> &&
                                              !std::is_same_v<std::decay_t<U>, ErrorCode>>>
  Result(U&& v) : m_v(std::in_place_index<0>, T(std::forward<U>(v))) {}  // NOLINT(implicit)

  bool has_value() const noexcept { return m_v.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check_value();
    return std::get<0>(m_v);
  }
  const T& value() const& {
    check_value();
    return std::get<0>(m_v);
  }
  T&& value() && {
    check_value();
    return std::get<0>(std::move(m_v));
  }

  const Error& error() const& {
    check_error();
    return std::get<1>(m_v);
  }
  Error&& error() && {
    check_error();
    return std::get<1>(std::move(m_v));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(m_v) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check_value() const {
    if (!has_value()) {
      std::abort();
    }
  }
  void check_error() const {
    if (has_value()) {
      std::abort();
    }
  }
  std::variant<T, Error> m_v;
};

// Result<void> carries only success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;
  Result(Error e) : m_err(std::move(e)), m_ok(false) {}  // NOLINT(implicit)
  Result(ErrorCode c, std::string detail = {})           // NOLINT(implicit)
      : m_err{c, std::move(detail)}, m_ok(false) {}

  bool has_value() const noexcept { return m_ok; }
  explicit operator bool() const noexcept { return m_ok; }
  void value() const {
    if (!m_ok) {
      std::abort();
    }
  }
  const Error& error() const& {
    if (m_ok) {
      std::abort();
    }
    return m_err;
  }
  Error&& error() && {
    if (m_ok) {
      std::abort();
    }
    return std::move(m_err);
  }

 private:
  Error m_err{};
  bool m_ok = true;
};

// ok() is the success value of Result<void>.
inline Result<void> ok() {
  return {};
}

}  // namespace atls

#define ATLS_CONCAT_IMPL_(a, b) a##b
#define ATLS_CONCAT_(a, b) ATLS_CONCAT_IMPL_(a, b)

// ATLS_TRY(expr) evaluates a Result-returning expression and returns its
// error from the enclosing function on failure.
#define ATLS_TRY(expr)                            \
  do {                                            \
    auto&& atls_try_result_ = (expr);             \
    if (!atls_try_result_) {                      \
      return std::move(atls_try_result_).error(); \
    }                                             \
  } while (0)

// ATLS_ASSIGN_OR_RETURN(decl, expr): `decl = *expr`, or return expr's error.
#define ATLS_ASSIGN_OR_RETURN(decl, expr) \
  ATLS_ASSIGN_OR_RETURN_IMPL_(ATLS_CONCAT_(atls_tmp_result_, __LINE__), decl, expr)
#define ATLS_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                 \
  if (!tmp) {                                        \
    return std::move(tmp).error();                   \
  }                                                  \
  decl = std::move(*tmp)
