// SPDX-License-Identifier: GPL-2.0
/* /dev/vapicvm: capability probing and VM creation. */
#ifndef VAPICVM_SYSTEM_HPP
#define VAPICVM_SYSTEM_HPP

#include <optional>
#include <string>
#include <vector>

#include <linux/vapicvm.h>

#include "vapicvm/apicv.hpp"
#include "vapicvm/capability.hpp"
#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/vm.hpp"

namespace vapicvm
{

struct VmOptions {
	/*
	 * The APIC-virtualization features the VM uses.  Unset: the best the
	 * host offers.  Set: exactly these (EOPNOTSUPP if the host lacks one,
	 * EINVAL if the set breaks a dependency; see ApicvFlags::valid()).
	 */
	std::optional<ApicvFlags> apicv;
};

class System
{
public:
	static constexpr const char *default_path = "/dev/vapicvm";

	/* Opens the device and checks the API version (EPROTONOSUPPORT on a mismatch). */
	static Result<System> open(const std::string &path = default_path);

	System(const System &) = delete;
	System &operator=(const System &) = delete;
	System(System &&) noexcept = default;
	System &operator=(System &&) noexcept = default;
	~System() = default;

	int fd() const noexcept { return fd_.get(); }

	Result<int> api_version() const;
	/* 0: not supported; otherwise the capability's value. */
	Result<int> check_extension(Capability cap) const;
	/* The APIC-virtualization features the host CPU offers. */
	Result<ApicvFlags> supported_apicv() const;
	Result<std::size_t> vcpu_mmap_size() const;
	/* VAPICVM_GET_SUPPORTED_CPUID: the entries a VMM starts its guest's CPUID from. */
	Result<std::vector<vapicvm_cpuid_entry>> supported_cpuid() const;
	/* The MSRs to save and restore a vCPU with (VAPICVM_GET_MSR_INDEX_LIST). */
	Result<std::vector<std::uint32_t>> msr_index_list() const;

	Result<Vm> create_vm(const VmOptions &opts = {}) const;

private:
	explicit System(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
	UniqueFd fd_;
};

} // namespace vapicvm

#endif
