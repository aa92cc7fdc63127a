// SPDX-License-Identifier: GPL-2.0
/* Internal: the ioctl patterns the System, Vm and Vcpu wrappers share. */
#ifndef VAPICVM_LIB_IOCTL_HPP
#define VAPICVM_LIB_IOCTL_HPP

#include <string>

#include <sys/ioctl.h>

#include "vapicvm/capability.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm::detail
{

/* VAPICVM_CHECK_EXTENSION on a system or VM fd; op names which. */
inline Result<int> check_extension(int fd, Capability cap, const char *op)
{
	int r = ::ioctl(fd, VAPICVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
	if (r < 0)
		return Error::last(op, std::string(capability_name(cap)));
	return r;
}

/* An ioctl that fills a T. */
template <typename T>
Result<T> ioctl_get(int fd, unsigned long req, const char *op)
{
	T v{};
	if (::ioctl(fd, req, &v) < 0)
		return Error::last(op);
	return v;
}

/* An ioctl that takes a T. */
template <typename T>
Result<void> ioctl_set(int fd, unsigned long req, const T &v, const char *op)
{
	if (::ioctl(fd, req, &v) < 0)
		return Error::last(op);
	return ok();
}

} // namespace vapicvm::detail

#endif
