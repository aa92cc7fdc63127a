// SPDX-License-Identifier: GPL-2.0
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"

using namespace vapicvm;

namespace
{
Result<int> half(int v)
{
	if (v % 2)
		return Error::from_errno(EINVAL, "half", "odd " + std::to_string(v));
	return v / 2;
}
} // namespace

TEST(Result, ValueAndError)
{
	auto a = half(8);
	ASSERT_TRUE(a);
	EXPECT_EQ(4, *a);
	EXPECT_EQ(4, a.value_or(-1));

	auto b = half(3);
	ASSERT_FALSE(b);
	EXPECT_EQ(-1, b.value_or(-1));
	EXPECT_EQ(EINVAL, b.error().errno_value());
	EXPECT_EQ("half", b.error().operation());
	EXPECT_EQ("odd 3", b.error().detail());
	EXPECT_TRUE(b.error() == std::errc::invalid_argument);
}

TEST(Result, MessageNamesOperationDetailAndErrno)
{
	auto e = Error::from_errno(ENOENT, "open", "/dev/vapicvm");
	EXPECT_EQ("open: /dev/vapicvm: " + std::generic_category().message(ENOENT), e.message());
	auto c = e.context("System::open");
	EXPECT_EQ("System::open: open", c.operation());
	EXPECT_EQ(e.code(), c.code());
}

TEST(Result, LastTakesErrno)
{
	errno = EBADF;
	auto e = Error::last("ioctl");
	EXPECT_EQ(EBADF, e.errno_value());
}

TEST(Result, TransformAndThen)
{
	auto r = half(8).transform([](int v) { return std::to_string(v); });
	ASSERT_TRUE(r);
	EXPECT_EQ("4", *r);
	auto chained = half(8).and_then(half).and_then(half);
	ASSERT_TRUE(chained);
	EXPECT_EQ(1, *chained);
	auto broken = half(8).and_then(half).and_then(half).and_then(half);
	ASSERT_FALSE(broken);
	EXPECT_EQ("odd 1", broken.error().detail());
	auto t = half(5).transform([](int v) { return v * 10; });
	EXPECT_FALSE(t);
}

TEST(Result, MoveOnlyValues)
{
	Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
	ASSERT_TRUE(r);
	std::unique_ptr<int> p = std::move(r).value();
	EXPECT_EQ(7, *p);
}

TEST(Result, Void)
{
	Result<void> good = ok();
	EXPECT_TRUE(good);
	good.value();
	Result<void> bad = Error::from_errno(EIO, "x");
	EXPECT_FALSE(bad);
	EXPECT_EQ(EIO, bad.error().errno_value());
}

/* Result<void> chains like any other: f() instead of f(value). */
TEST(Result, VoidAndThenTransform)
{
	int calls = 0;
	auto next = ok().and_then([&] {
		calls++;
		return half(8);
	});
	static_assert(std::is_same_v<decltype(next), Result<int>>);
	ASSERT_TRUE(next);
	EXPECT_EQ(4, *next);

	Result<void> bad = Error::from_errno(EIO, "step 1");
	auto skipped = bad.and_then([&] {
		calls++;
		return half(8);
	});
	ASSERT_FALSE(skipped);
	EXPECT_EQ("step 1", skipped.error().operation());
	EXPECT_EQ(1, calls) << "and_then skips f on an error";

	auto t = ok().transform([] { return std::string("done"); });
	static_assert(std::is_same_v<decltype(t), Result<std::string>>);
	EXPECT_EQ("done", *t);
	auto v = half(4).transform([&](int) { calls++; });
	static_assert(std::is_same_v<decltype(v), Result<void>>);
	EXPECT_TRUE(v);
	EXPECT_EQ(2, calls);
	EXPECT_FALSE(bad.transform([] { return 1; }));
}

TEST(Result, OrElseAndTransformError)
{
	auto recovered = half(3).or_else([](const Error &e) -> Result<int> {
		return e.errno_value() == EINVAL ? Result<int>(-1) : Result<int>(e);
	});
	ASSERT_TRUE(recovered);
	EXPECT_EQ(-1, *recovered);
	EXPECT_EQ(4, *half(8).or_else([](const Error &) -> Result<int> { return 0; }));

	auto named = half(3).transform_error([](Error e) { return e.context("boot"); });
	ASSERT_FALSE(named);
	EXPECT_EQ("boot: half", named.error().operation());
	Result<void> v = Error::from_errno(EIO, "write");
	EXPECT_EQ("load: write",
		  v.transform_error([](Error e) { return e.context("load"); }).error().operation());
	EXPECT_TRUE(ok().or_else([](const Error &e) -> Result<void> { return e; }));
}

namespace
{
/* Long enough to live on the heap, so that a dangling reference is ASan's to find. */
Result<std::string> long_string()
{
	return std::string(100, 'x');
}
} // namespace

/* An rvalue Result gives its value by value: auto && to it does not dangle. */
TEST(Result, RvalueAccessDoesNotDangle)
{
	static_assert(std::is_same_v<decltype(*long_string()), std::string>);
	static_assert(std::is_same_v<decltype(long_string().value()), std::string>);
	static_assert(std::is_same_v<decltype(long_string().error()), Error>);
	auto &&s = *long_string();
	EXPECT_EQ(100u, s.size());
	auto &&t = long_string().value();
	EXPECT_EQ('x', t[99]);
	Result<std::string> keep = long_string();
	static_assert(std::is_same_v<decltype(*keep), std::string &>);
	static_assert(std::is_same_v<decltype(*std::as_const(keep)), const std::string &>);
	EXPECT_EQ(100u, keep->size());
	EXPECT_EQ(std::string(100, 'x'), long_string().value_or("y"));
}

TEST(ResultDeathTest, ValueOfErrorAborts)
{
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	EXPECT_DEATH(
		{
			auto r = half(3);
			(void)r.value();
		},
		"value\\(\\) of an error result: half: odd 3");
}

TEST(UniqueFd, ClosesAndMoves)
{
	int p[2];
	ASSERT_EQ(0, pipe(p));
	{
		UniqueFd a(p[0]);
		UniqueFd b(std::move(a));
		EXPECT_FALSE(a.valid());
		EXPECT_EQ(p[0], b.get());
		UniqueFd c;
		c = std::move(b);
		EXPECT_EQ(p[0], c.get());
	}
	EXPECT_EQ(-1, fcntl(p[0], F_GETFD));
	EXPECT_EQ(EBADF, errno);
	close(p[1]);
	static_assert(!std::is_copy_constructible_v<UniqueFd>);
	static_assert(!std::is_copy_assignable_v<UniqueFd>);
}
