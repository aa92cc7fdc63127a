// SPDX-License-Identifier: GPL-2.0
/*
 * Errors as values: Error carries an errno-style std::error_code and the
 * name of the operation that failed; Result<T> holds either a T or an Error.
 * Nothing here throws.
 */
#ifndef VAPICVM_RESULT_HPP
#define VAPICVM_RESULT_HPP

#include <cerrno>
#include <functional>
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

template <typename T>
class Result;

namespace detail
{
[[noreturn]] void bad_result_access(const Error *e) noexcept;

template <typename R>
inline constexpr bool is_result = false;
template <typename U>
inline constexpr bool is_result<Result<U>> = true;
} // namespace detail

/*
 * A value (none for Result<void>) or an Error, with the interface of C++23's
 * std::expected<T, Error>: has_value(), value(), *, ->, value_or(), error(),
 * and_then(), transform(), or_else(), transform_error().  It is not an alias
 * of std::expected even where the compiler has one: the library is built as
 * C++20, and its functions must return the same type to a C++20 and a C++23
 * program alike.
 *
 * Accessing value() of an error result (or error() of a value) is a
 * programming error: it prints the error and aborts.  On an rvalue Result,
 * value(), * and error() return by value, so `auto &&v = *f();` owns what it
 * refers to.
 */
template <typename T>
class [[nodiscard]] Result
{
	static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error>");
	static_assert(!std::is_reference_v<T>, "use std::reference_wrapper or a pointer");
	static_assert(!std::is_const_v<T>, "Result<const T>");

	static constexpr bool is_void = std::is_void_v<T>;
	using Stored = std::conditional_t<is_void, std::monostate, T>;
	using Ref = std::conditional_t<is_void, void, Stored &>;
	using ConstRef = std::conditional_t<is_void, void, const Stored &>;

public:
	using value_type = T;
	using error_type = Error;

	Result() requires is_void = default;
	Result(const Stored &v) : v_(std::in_place_index<0>, v) {}
	Result(Stored &&v) : v_(std::in_place_index<0>, std::move(v)) {}
	Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}
	template <typename... Args>
	explicit Result(std::in_place_t, Args &&...args)
	    : v_(std::in_place_index<0>, std::forward<Args>(args)...)
	{
	}

	bool has_value() const noexcept { return v_.index() == 0; }
	explicit operator bool() const noexcept { return has_value(); }

	Ref value() & { return check(), get(*this); }
	ConstRef value() const & { return check(), get(*this); }
	T value() && { return check(), get(std::move(*this)); }
	Ref operator*() & { return value(); }
	ConstRef operator*() const & { return value(); }
	T operator*() && { return std::move(*this).value(); }
	/* ->, value_or() and the value constructors are for Result<T> with a T. */
	Stored *operator->() { return &value(); }
	const Stored *operator->() const { return &value(); }

	const Error &error() const &
	{
		if (has_value())
			detail::bad_result_access(nullptr);
		return std::get<1>(v_);
	}
	Error error() &&
	{
		if (has_value())
			detail::bad_result_access(nullptr);
		return std::move(std::get<1>(v_));
	}

	template <typename U>
	Stored value_or(U &&fallback) const &
	{
		return has_value() ? std::get<0>(v_)
				   : static_cast<Stored>(std::forward<U>(fallback));
	}
	template <typename U>
	Stored value_or(U &&fallback) &&
	{
		return has_value() ? std::move(std::get<0>(v_))
				   : static_cast<Stored>(std::forward<U>(fallback));
	}

	/* f(value) -> Result<U>, or f() for Result<void>; errors pass through. */
	template <typename F>
	auto and_then(F &&f) const &
	{
		return and_then_(*this, std::forward<F>(f));
	}
	template <typename F>
	auto and_then(F &&f) &&
	{
		return and_then_(std::move(*this), std::forward<F>(f));
	}
	/* f(value) -> U (void included) gives Result<U>; errors pass through. */
	template <typename F>
	auto transform(F &&f) const &
	{
		return transform_(*this, std::forward<F>(f));
	}
	template <typename F>
	auto transform(F &&f) &&
	{
		return transform_(std::move(*this), std::forward<F>(f));
	}
	/* f(error) -> Result<T>: a chance to recover; values pass through. */
	template <typename F>
	Result or_else(F &&f) const &
	{
		return or_else_(*this, std::forward<F>(f));
	}
	template <typename F>
	Result or_else(F &&f) &&
	{
		return or_else_(std::move(*this), std::forward<F>(f));
	}
	/* f(error) -> Error, e.g. [](Error e) { return e.context("boot"); }. */
	template <typename F>
	Result transform_error(F &&f) const &
	{
		return transform_error_(*this, std::forward<F>(f));
	}
	template <typename F>
	Result transform_error(F &&f) &&
	{
		return transform_error_(std::move(*this), std::forward<F>(f));
	}

private:
	void check() const
	{
		if (!has_value())
			detail::bad_result_access(&std::get<1>(v_));
	}
	/* The value of self (Result & / const & / &&), or nothing for Result<void>. */
	template <typename Self>
	static decltype(auto) get(Self &&self)
	{
		if constexpr (!is_void)
			return std::get<0>(std::forward<Self>(self).v_);
	}
	/* The error of self, as an Error for a Result of another type. */
	template <typename Self>
	static Error take_error(Self &&self)
	{
		return std::get<1>(std::forward<Self>(self).v_);
	}
	/* f(value of self), or f() for Result<void>. */
	template <typename Self, typename F>
	static decltype(auto) call(Self &&self, F &&f)
	{
		if constexpr (is_void)
			return std::invoke(std::forward<F>(f));
		else
			return std::invoke(std::forward<F>(f), get(std::forward<Self>(self)));
	}
	template <typename Self, typename F>
	using CallResult = decltype(call(std::declval<Self>(), std::declval<F>()));

	template <typename Self, typename F>
	static auto and_then_(Self &&self, F &&f)
	{
		using R = std::remove_cvref_t<CallResult<Self, F>>;
		static_assert(detail::is_result<R>, "and_then: f must return a Result");
		if (!self.has_value())
			return R(take_error(std::forward<Self>(self)));
		return R(call(std::forward<Self>(self), std::forward<F>(f)));
	}
	template <typename Self, typename F>
	static auto transform_(Self &&self, F &&f)
	{
		using U = std::remove_cv_t<CallResult<Self, F>>;
		using R =
			Result<std::conditional_t<std::is_void_v<U>, void, std::remove_cvref_t<U>>>;
		if (!self.has_value())
			return R(take_error(std::forward<Self>(self)));
		if constexpr (std::is_void_v<U>) {
			call(std::forward<Self>(self), std::forward<F>(f));
			return R();
		} else {
			return R(call(std::forward<Self>(self), std::forward<F>(f)));
		}
	}
	template <typename Self, typename F>
	static Result or_else_(Self &&self, F &&f)
	{
		using R = std::remove_cvref_t<std::invoke_result_t<F, const Error &>>;
		static_assert(std::is_same_v<R, Result>, "or_else: f must return the same Result");
		if (self.has_value())
			return Result(std::forward<Self>(self));
		return std::invoke(std::forward<F>(f), take_error(std::forward<Self>(self)));
	}
	template <typename Self, typename F>
	static Result transform_error_(Self &&self, F &&f)
	{
		if (self.has_value())
			return Result(std::forward<Self>(self));
		return Result(Error(
			std::invoke(std::forward<F>(f), take_error(std::forward<Self>(self)))));
	}

	std::variant<Stored, Error> v_;
};

/* A successful Result<void>. */
inline Result<void> ok()
{
	return {};
}

} // namespace vapicvm

#endif
