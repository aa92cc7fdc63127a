// SPDX-License-Identifier: GPL-2.0
// The ABI header compiles as C++ with the same layouts as in C.
#include <cstddef>
#include <type_traits>

#include <linux/vapicvm.h>

static_assert(sizeof(vapicvm_create_vm) == 32);
static_assert(sizeof(vapicvm_userspace_memory_region) == 32);
static_assert(sizeof(vapicvm_regs) == 144);
static_assert(sizeof(vapicvm_sregs) == 312);
static_assert(sizeof(vapicvm_lapic_state) == 1088);
static_assert(sizeof(vapicvm_run) == 288);
static_assert(offsetof(vapicvm_run, exit_reason) == 8);
static_assert(std::is_standard_layout_v<vapicvm_run>);
static_assert(std::is_trivially_copyable_v<vapicvm_sregs>);

extern "C" int abi_check_cxx(void)
{
	return 1;
}
