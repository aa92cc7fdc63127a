// SPDX-License-Identifier: GPL-2.0
#ifndef VAPICVM_VERSION_HPP
#define VAPICVM_VERSION_HPP

/*
 * The library's version.  The project's VERSION file sets it; the library
 * does not build if these say anything else.
 */
#define VAPICVM_LIB_VERSION_MAJOR 2
#define VAPICVM_LIB_VERSION_MINOR 1
#define VAPICVM_LIB_VERSION_PATCH 0

namespace vapicvm
{
/* The library's version, "2.1.0"; the shared library's soname is libvapicvm.so.2. */
const char *library_version() noexcept;
} // namespace vapicvm

#endif
