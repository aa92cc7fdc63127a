// SPDX-License-Identifier: GPL-2.0
#include <sys/mman.h>

#include <iterator>

#include "vapicvm/vm.hpp"

#include "flex_buffer.hpp"
#include "ioctl.hpp"

namespace vapicvm
{

namespace
{
struct VmStatInfo {
	std::string_view name;
	std::string_view description;
};
constexpr VmStatInfo vm_stat_info[] = {
#define VAPICVM_LIB_VM_STAT(id, name, desc) {name, desc},
	VAPICVM_VM_STATS(VAPICVM_LIB_VM_STAT)
#undef VAPICVM_LIB_VM_STAT
};
static_assert(std::size(vm_stat_info) == VAPICVM_VM_STAT_NR);
} // namespace

std::string_view VmStats::name(std::size_t i) noexcept
{
	return i < std::size(vm_stat_info) ? vm_stat_info[i].name : std::string_view();
}

std::string_view VmStats::description(std::size_t i) noexcept
{
	return i < std::size(vm_stat_info) ? vm_stat_info[i].description : std::string_view();
}

Result<VmStats> Vm::stats() const
{
	vapicvm_stats hdr{};
	hdr.n = VAPICVM_VM_STAT_NR;
	detail::FlexBuffer<vapicvm_stats, std::uint64_t> buf(hdr, {}, VAPICVM_VM_STAT_NR);
	if (::ioctl(fd_.get(), VAPICVM_GET_VM_STATS, buf.data()) < 0)
		return Error::last("VAPICVM_GET_VM_STATS");
	return buf.entries(buf.header().n, "VAPICVM_GET_VM_STATS").transform([](auto &&v) {
		return VmStats{std::move(v)};
	});
}

Result<std::uint64_t> Vm::id() const
{
	return detail::ioctl_get<std::uint64_t>(fd_.get(), VAPICVM_GET_VM_ID, "VAPICVM_GET_VM_ID");
}

Result<int> Vm::check_extension(Capability cap) const
{
	return detail::check_extension(fd_.get(), cap, "VAPICVM_CHECK_EXTENSION (VM)");
}

Result<ApicvInfo> Vm::apicv_info() const
{
	return detail::ioctl_get<vapicvm_apicv_info>(fd_.get(), VAPICVM_GET_APICV,
						     "VAPICVM_GET_APICV")
		.transform([](const vapicvm_apicv_info &i) {
			return ApicvInfo{ApicvFlags::from_raw(i.supported),
					 ApicvFlags::from_raw(i.enabled), i.posted_intr_vector,
					 i.apic_access_gpa};
		});
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
	std::uint64_t end = gpa + mem.size();
	if (end < gpa)
		return Error::from_errno(EINVAL, "Vm::add_memory", "range wraps");
	/* Check the bookkeeping first: the kernel must not see a slot we cannot keep. */
	for (const auto &s : slots_) {
		if (s.slot == slot)
			return Error::from_errno(EEXIST, "Vm::add_memory",
						 "slot " + std::to_string(slot) + " in use");
		if (gpa < s.end() && s.gpa < end)
			return Error::from_errno(EEXIST, "Vm::add_memory",
						 "range overlaps slot " + std::to_string(s.slot));
	}
	vapicvm_userspace_memory_region r{};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = mem.size();
	r.userspace_addr = reinterpret_cast<std::uintptr_t>(mem.data());
	auto res = set_user_memory_region(r);
	if (!res)
		return res;
	slots_.push_back(MemorySlot{slot, gpa, flags, std::move(mem)});
	return ok();
}

namespace
{
vapicvm_userspace_memory_region to_uapi(const MemorySlot &s)
{
	vapicvm_userspace_memory_region r{};
	r.slot = s.slot;
	r.flags = s.flags;
	r.guest_phys_addr = s.gpa;
	r.memory_size = s.mem.size();
	r.userspace_addr = reinterpret_cast<std::uintptr_t>(s.mem.data());
	return r;
}
} // namespace

Result<void> Vm::set_memory_flags(std::uint32_t slot, std::uint32_t flags)
{
	for (auto &s : slots_) {
		if (s.slot != slot)
			continue;
		auto r = to_uapi(s);
		r.flags = flags;
		auto res = set_user_memory_region(r);
		if (res)
			s.flags = flags;
		return res;
	}
	return Error::from_errno(ENOENT, "Vm::set_memory_flags",
				 "slot " + std::to_string(slot) + " not added");
}

Result<MemoryRegion> Vm::remove_memory(std::uint32_t slot)
{
	for (auto it = slots_.begin(); it != slots_.end(); ++it) {
		if (it->slot != slot)
			continue;
		/* Size 0 deletes; the rest of the request is only checked. */
		auto r = to_uapi(*it);
		r.memory_size = 0;
		if (auto res = set_user_memory_region(r); !res)
			return std::move(res).error();
		MemoryRegion mem = std::move(it->mem);
		slots_.erase(it);
		return mem;
	}
	return Error::from_errno(ENOENT, "Vm::remove_memory",
				 "slot " + std::to_string(slot) + " not added");
}

Result<void> Vm::move_memory(std::uint32_t slot, std::uint64_t gpa)
{
	MemorySlot *moved = nullptr;
	for (auto &s : slots_)
		if (s.slot == slot)
			moved = &s;
	if (!moved)
		return Error::from_errno(ENOENT, "Vm::move_memory",
					 "slot " + std::to_string(slot) + " not added");
	std::uint64_t end = gpa + moved->mem.size();
	if (end < gpa)
		return Error::from_errno(EINVAL, "Vm::move_memory", "range wraps");
	for (const auto &s : slots_)
		if (&s != moved && gpa < s.end() && s.gpa < end)
			return Error::from_errno(EEXIST, "Vm::move_memory",
						 "range overlaps slot " + std::to_string(s.slot));
	auto r = to_uapi(*moved);
	r.guest_phys_addr = gpa;
	auto res = set_user_memory_region(r);
	if (res)
		moved->gpa = gpa;
	return res;
}

Result<std::vector<std::uint64_t>> Vm::dirty_log(std::uint32_t slot)
{
	for (const auto &s : slots_) {
		if (s.slot != slot)
			continue;
		std::vector<std::uint64_t> bitmap((s.mem.size() / 4096 + 63) / 64);
		vapicvm_dirty_log log{};
		log.slot = slot;
		log.dirty_bitmap = reinterpret_cast<std::uintptr_t>(bitmap.data());
		if (::ioctl(fd_.get(), VAPICVM_GET_DIRTY_LOG, &log) < 0)
			return Error::last("VAPICVM_GET_DIRTY_LOG", "slot " + std::to_string(slot));
		return bitmap;
	}
	return Error::from_errno(ENOENT, "Vm::dirty_log",
				 "slot " + std::to_string(slot) + " not added");
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

Result<std::uint32_t> Vm::signal_msi(const Msi &msi)
{
	vapicvm_msi m{};
	m.address_lo = msi.address_lo;
	m.address_hi = msi.address_hi;
	m.data = msi.data;
	int r = ::ioctl(fd_.get(), VAPICVM_SIGNAL_MSI, &m);
	if (r < 0)
		return Error::last("VAPICVM_SIGNAL_MSI");
	return static_cast<std::uint32_t>(r);
}

namespace
{
vapicvm_ioeventfd to_uapi(const IoEventFd &e, std::uint32_t extra_flags)
{
	vapicvm_ioeventfd u{};
	u.addr = e.addr;
	u.len = e.len;
	u.fd = e.fd;
	u.flags = extra_flags;
	if (e.space == IoEventFd::Space::Port)
		u.flags |= VAPICVM_IOEVENTFD_PIO;
	if (e.datamatch) {
		u.flags |= VAPICVM_IOEVENTFD_DATAMATCH;
		u.datamatch = *e.datamatch;
	}
	return u;
}
} // namespace

Result<void> Vm::add_ioeventfd(const IoEventFd &e)
{
	return detail::ioctl_set(fd_.get(), VAPICVM_IOEVENTFD, to_uapi(e, 0), "VAPICVM_IOEVENTFD");
}

Result<void> Vm::remove_ioeventfd(const IoEventFd &e)
{
	return detail::ioctl_set(fd_.get(), VAPICVM_IOEVENTFD,
				 to_uapi(e, VAPICVM_IOEVENTFD_DEASSIGN),
				 "VAPICVM_IOEVENTFD(DEASSIGN)");
}

Result<void> Vm::set_gsi_route(std::uint32_t gsi, std::optional<Msi> msi)
{
	vapicvm_gsi_route r{};
	r.gsi = gsi;
	if (msi) {
		r.flags = VAPICVM_GSI_ROUTE_MSI;
		r.msi.address_lo = msi->address_lo;
		r.msi.address_hi = msi->address_hi;
		r.msi.data = msi->data;
	}
	return detail::ioctl_set(fd_.get(), VAPICVM_SET_GSI_ROUTE, r, "VAPICVM_SET_GSI_ROUTE");
}

Result<void> Vm::add_irqfd(int eventfd, std::uint32_t gsi)
{
	vapicvm_irqfd a{};
	a.fd = eventfd;
	a.gsi = gsi;
	return detail::ioctl_set(fd_.get(), VAPICVM_IRQFD, a, "VAPICVM_IRQFD");
}

Result<void> Vm::remove_irqfd(int eventfd, std::uint32_t gsi)
{
	vapicvm_irqfd a{};
	a.fd = eventfd;
	a.gsi = gsi;
	a.flags = VAPICVM_IRQFD_DEASSIGN;
	return detail::ioctl_set(fd_.get(), VAPICVM_IRQFD, a, "VAPICVM_IRQFD(DEASSIGN)");
}

namespace
{
/* VAPICVM_ENABLE_CAP of a capability that takes args[0] alone. */
Result<void> enable_cap(int fd, std::uint32_t cap, std::uint64_t arg, const char *what)
{
	vapicvm_enable_cap c{};
	c.cap = cap;
	c.args[0] = arg;
	return detail::ioctl_set(fd, VAPICVM_ENABLE_CAP, c, what);
}
} // namespace

Result<void> Vm::set_user_msr_exits(std::uint32_t reasons)
{
	return enable_cap(fd_.get(), VAPICVM_CAP_USER_MSR, reasons, "VAPICVM_ENABLE_CAP(USER_MSR)");
}

Result<void> Vm::set_msr_filter(const MsrFilter &filter)
{
	vapicvm_msr_filter f{};
	if (filter.ranges.size() > VAPICVM_MSR_FILTER_MAX_RANGES)
		return Error::from_errno(EINVAL, "Vm::set_msr_filter", "too many ranges");
	f.flags = filter.default_deny ? VAPICVM_MSR_FILTER_DEFAULT_DENY : 0;
	for (std::size_t i = 0; i < filter.ranges.size(); i++) {
		const auto &r = filter.ranges[i];
		if (r.allowed.size() < (std::size_t(r.nmsrs) + 7) / 8)
			return Error::from_errno(EINVAL, "Vm::set_msr_filter",
						 "range " + std::to_string(i) +
							 ": bitmap too short");
		f.ranges[i].flags = r.kinds;
		f.ranges[i].base = r.base;
		f.ranges[i].nmsrs = r.nmsrs;
		f.ranges[i].bitmap = reinterpret_cast<std::uintptr_t>(r.allowed.data());
	}
	return detail::ioctl_set(fd_.get(), VAPICVM_SET_MSR_FILTER, f, "VAPICVM_SET_MSR_FILTER");
}

Result<void> Vm::set_hypercall_exits(bool on)
{
	return enable_cap(fd_.get(), VAPICVM_CAP_EXIT_HYPERCALL, on ? 1 : 0,
			  "VAPICVM_ENABLE_CAP(EXIT_HYPERCALL)");
}

Result<void> Vm::set_ioapic_eoi_exits(bool on)
{
	return enable_cap(fd_.get(), VAPICVM_CAP_IOAPIC_EOI, on ? 1 : 0,
			  "VAPICVM_ENABLE_CAP(IOAPIC_EOI)");
}

} // namespace vapicvm
