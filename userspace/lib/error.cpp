// SPDX-License-Identifier: GPL-2.0
#include <cstdio>
#include <cstdlib>

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

const char *library_version() noexcept
{
	return "2.0.0";
}

} // namespace vapicvm
