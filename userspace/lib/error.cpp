// SPDX-License-Identifier: GPL-2.0
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <sys/mman.h>
#include <unistd.h>

#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/version.hpp"

namespace vapicvm
{

std::string Error::message() const
{
	std::string s = op_;
	if (!detail_.empty()) {
		s += ": ";
		s += detail_;
	}
	if (code_) {
		s += ": ";
		s += code_.message();
	}
	return s;
}

Error Error::context(std::string_view outer) const
{
	std::string op(outer);
	op += ": ";
	op += op_;
	return Error(code_, std::move(op), detail_);
}

namespace detail
{
void bad_result_access(const Error *e) noexcept
{
	if (e)
		std::fprintf(stderr, "vapicvm: value() of an error result: %s\n",
			     e->message().c_str());
	else
		std::fprintf(stderr, "vapicvm: error() of a successful result\n");
	std::abort();
}
} // namespace detail

void UniqueFd::reset(int fd) noexcept
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = fd;
}

void UniqueMapping::reset() noexcept
{
	if (addr_)
		::munmap(addr_, size_);
	addr_ = nullptr;
	size_ = 0;
}

#define VAPICVM_STR_(x) #x
#define VAPICVM_STR(x) VAPICVM_STR_(x)
static_assert(std::string_view(VAPICVM_STR(VAPICVM_LIB_VERSION_MAJOR) "." VAPICVM_STR(
		      VAPICVM_LIB_VERSION_MINOR) "." VAPICVM_STR(VAPICVM_LIB_VERSION_PATCH)) ==
		      VAPICVM_BUILD_VERSION,
	      "include/vapicvm/version.hpp and VERSION disagree on the library's version");

const char *library_version() noexcept
{
	return VAPICVM_BUILD_VERSION;
}

} // namespace vapicvm
