// SPDX-License-Identifier: GPL-2.0
/*
 * Errors as values: Error carries an errno-style std::error_code and the
 * name of the operation that failed; Result<T> holds either a T or an Error
 * (C++20 has no std::expected).  Nothing here throws.
 */
#ifndef VAPICVM_RESULT_HPP
#define VAPICVM_RESULT_HPP

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace vapicvm
{

class Error
{
public:
	/* op should name the failed operation, e.g. "VAPICVM_CREATE_VM". */
	Error(std::error_code code, std::string op, std::string detail = {})
	    : code_(code), op_(std::move(op)), detail_(std::move(detail))
	{
	}

	/* From an errno value. */
	static Error from_errno(int err, std::string op, std::string detail = {})
	{
		return Error(std::error_code(err, std::generic_category()), std::move(op),
			     std::move(detail));
	}
	/* From the current errno (call right after the failing system call). */
	static Error last(std::string op, std::string detail = {})
	{
		return from_errno(errno, std::move(op), std::move(detail));
	}

	const std::error_code &code() const noexcept { return code_; }
	int errno_value() const noexcept { return code_.value(); }
	const std::string &operation() const noexcept { return op_; }
	const std::string &detail() const noexcept { return detail_; }

	/* "op: detail: strerror" (detail omitted when empty). */
	std::string message() const;

	/* The same error, named by an outer operation: "outer: inner ...". */
	Error context(std::string_view outer) const;

	bool operator==(std::errc e) const noexcept { return code_ == e; }

private:
	std::error_code code_;
	std::string op_;
	std::string detail_;
};

namespace detail
{
[[noreturn]] void bad_result_access(const Error *e) noexcept;
}

/*
 * A value or an Error.  Accessing value() of an error result (or error() of
 * a value) is a programming error: it prints the error and aborts.
 */
template <typename T>
class [[nodiscard]] Result
{
	static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error>");
	static_assert(!std::is_reference_v<T>, "use std::reference_wrapper or a pointer");

public:
	using value_type = T;

	Result(const T &v) : v_(std::in_place_index<0>, v) {}
	Result(T &&v) : v_(std::in_place_index<0>, std::move(v)) {}
	Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}
	template <typename... Args>
	explicit Result(std::in_place_t, Args &&...args)
	    : v_(std::in_place_index<0>, std::forward<Args>(args)...)
	{
	}

	bool has_value() const noexcept { return v_.index() == 0; }
	explicit operator bool() const noexcept { return has_value(); }

	T &value() & { return check(), std::get<0>(v_); }
	const T &value() const & { return check(), std::get<0>(v_); }
	T &&value() && { return check(), std::move(std::get<0>(v_)); }
	T &operator*() & { return value(); }
	const T &operator*() const & { return value(); }
	T &&operator*() && { return std::move(*this).value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }

	const Error &error() const &
	{
		if (has_value())
			detail::bad_result_access(nullptr);
		return std::get<1>(v_);
	}
	Error &&error() &&
	{
		if (has_value())
			detail::bad_result_access(nullptr);
		return std::move(std::get<1>(v_));
	}

	template <typename U>
	T value_or(U &&fallback) const &
	{
		return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
	}

	/* f(T) -> U gives Result<U>; errors pass through. */
	template <typename F>
	auto transform(F &&f) && -> Result<std::invoke_result_t<F, T &&>>
	{
		if (!has_value())
			return std::move(std::get<1>(v_));
		return std::forward<F>(f)(std::move(std::get<0>(v_)));
	}
	/* f(T) -> Result<U>. */
	template <typename F>
	auto and_then(F &&f) && -> std::invoke_result_t<F, T &&>
	{
		if (!has_value())
			return std::move(std::get<1>(v_));
		return std::forward<F>(f)(std::move(std::get<0>(v_)));
	}

private:
	void check() const
	{
		if (!has_value())
			detail::bad_result_access(&std::get<1>(v_));
	}

	std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void>
{
public:
	Result() = default;
	Result(Error e) : e_(std::move(e)) {}

	bool has_value() const noexcept { return !e_.has_value(); }
	explicit operator bool() const noexcept { return has_value(); }
	void value() const
	{
		if (e_)
			detail::bad_result_access(&*e_);
	}
	const Error &error() const &
	{
		if (!e_)
			detail::bad_result_access(nullptr);
		return *e_;
	}
	Error &&error() &&
	{
		if (!e_)
			detail::bad_result_access(nullptr);
		return std::move(*e_);
	}

private:
	std::optional<Error> e_;
};

/* A successful Result<void>. */
inline Result<void> ok()
{
	return {};
}

} // namespace vapicvm

#endif
