// SPDX-License-Identifier: GPL-2.0
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vapicvm/vm.hpp"

namespace vapicvm
{

Result<int> Vm::check_extension(Capability cap) const
{
	int r = ::ioctl(fd_.get(), VAPICVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
	if (r < 0)
		return Error::last("VAPICVM_CHECK_EXTENSION (VM)",
				   std::string(capability_name(cap)));
	return r;
}

Result<ApicvInfo> Vm::apicv_info() const
{
	vapicvm_apicv_info i{};
	if (::ioctl(fd_.get(), VAPICVM_GET_APICV, &i) < 0)
		return Error::last("VAPICVM_GET_APICV");
	return ApicvInfo{ApicvFlags::from_raw(i.supported), ApicvFlags::from_raw(i.enabled),
			 i.posted_intr_vector, i.apic_access_gpa};
}

Result<void> Vm::set_user_memory_region(const vapicvm_userspace_memory_region &r)
{
	if (::ioctl(fd_.get(), VAPICVM_SET_USER_MEMORY_REGION, &r) < 0)
		return Error::last("VAPICVM_SET_USER_MEMORY_REGION",
				   "slot " + std::to_string(r.slot));
	return ok();
}

Result<void> Vm::add_memory(std::uint32_t slot, std::uint64_t gpa, MemoryRegion mem,
			    std::uint32_t flags)
{
	vapicvm_userspace_memory_region r{};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = mem.size();
	r.userspace_addr = reinterpret_cast<std::uintptr_t>(mem.data());
	/* Check the bookkeeping first: the kernel must not see a slot we cannot keep. */
	for (const auto &g : memory_.regions())
		if (g.slot == slot || (gpa < g.end() && g.gpa < gpa + mem.size()))
			return Error::from_errno(EEXIST, "Vm::add_memory",
						 "slot or range already in use");
	auto res = set_user_memory_region(r);
	if (!res)
		return res;
	return memory_.add(slot, gpa, std::move(mem), flags);
}

Result<Vcpu> Vm::create_vcpu(std::uint32_t id)
{
	int fd = ::ioctl(fd_.get(), VAPICVM_CREATE_VCPU, static_cast<unsigned long>(id));
	if (fd < 0)
		return Error::last("VAPICVM_CREATE_VCPU", "id " + std::to_string(id));
	UniqueFd f(fd);
	void *p = ::mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return Error::last("mmap vCPU run page");
	return Vcpu(std::move(f), UniqueMapping(p, run_size_), id);
}

Result<void> Vm::signal_msi(const Msi &msi)
{
	vapicvm_msi m{};
	m.address_lo = msi.address_lo;
	m.address_hi = msi.address_hi;
	m.data = msi.data;
	if (::ioctl(fd_.get(), VAPICVM_SIGNAL_MSI, &m) < 0)
		return Error::last("VAPICVM_SIGNAL_MSI");
	return ok();
}

} // namespace vapicvm
