// SPDX-License-Identifier: GPL-2.0
#include <cstring>

#include <fcntl.h>
#include <sys/ioctl.h>

#include "vapicvm/system.hpp"

#include "flex_buffer.hpp"
#include "ioctl.hpp"

namespace vapicvm
{

std::string_view capability_name(Capability c) noexcept
{
	switch (c) {
	case Capability::UserMemory:
		return "USER_MEMORY";
	case Capability::ReadonlyMem:
		return "READONLY_MEM";
	case Capability::NrMemslots:
		return "NR_MEMSLOTS";
	case Capability::MaxVcpus:
		return "MAX_VCPUS";
	case Capability::MaxVcpuId:
		return "MAX_VCPU_ID";
	case Capability::ImmediateExit:
		return "IMMEDIATE_EXIT";
	case Capability::Xsave:
		return "XSAVE";
	case Capability::Irqchip:
		return "IRQCHIP";
	case Capability::Apicv:
		return "APICV";
	case Capability::TscDeadline:
		return "TSC_DEADLINE";
	case Capability::X2apic:
		return "X2APIC";
	case Capability::SignalMsi:
		return "SIGNAL_MSI";
	case Capability::Ept:
		return "EPT";
	case Capability::Vpid:
		return "VPID";
	case Capability::UnrestrictedGuest:
		return "UNRESTRICTED_GUEST";
	case Capability::Stats:
		return "STATS";
	case Capability::TscKhz:
		return "TSC_KHZ";
	case Capability::VmStats:
		return "VM_STATS";
	case Capability::PreemptionTimer:
		return "PREEMPTION_TIMER";
	case Capability::MemPrefault:
		return "MEM_PREFAULT";
	case Capability::IoapicEoi:
		return "IOAPIC_EOI";
	case Capability::Ioeventfd:
		return "IOEVENTFD";
	case Capability::MsrIndexList:
		return "MSR_INDEX_LIST";
	case Capability::Debugregs:
		return "DEBUGREGS";
	case Capability::Xcrs:
		return "XCRS";
	case Capability::GetCpuid:
		return "GET_CPUID";
	case Capability::GsiRouting:
		return "GSI_ROUTING";
	case Capability::Irqfd:
		return "IRQFD";
	case Capability::DirtyLog:
		return "DIRTY_LOG";
	case Capability::UserMsr:
		return "USER_MSR";
	case Capability::MsrFilter:
		return "MSR_FILTER";
	case Capability::ExitHypercall:
		return "EXIT_HYPERCALL";
	case Capability::VcpuEvents:
		return "VCPU_EVENTS";
	case Capability::SetGuestDebug:
		return "SET_GUEST_DEBUG";
	case Capability::TscControl:
		return "TSC_CONTROL";
	case Capability::Translate:
		return "TRANSLATE";
	case Capability::Genl:
		return "GENL";
	}
	return "?";
}

// ../VERSION is the one place the versions are set; the UAPI header repeats one.
static_assert(VAPICVM_API_VERSION == VAPICVM_VERSION_API,
	      "uapi/linux/vapicvm.h and VERSION disagree on the API version");

Result<System> System::open(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return Error::last("open", path);
	System sys{UniqueFd(fd)};
	auto v = sys.api_version();
	if (!v)
		return std::move(v).error();
	if (*v != VAPICVM_API_VERSION)
		return Error::from_errno(EPROTONOSUPPORT, "VAPICVM_GET_API_VERSION",
					 "kernel API " + std::to_string(*v) + ", library " +
						 std::to_string(VAPICVM_API_VERSION));
	return sys;
}

Result<int> System::api_version() const
{
	int r = ::ioctl(fd_.get(), VAPICVM_GET_API_VERSION, 0);
	if (r < 0)
		return Error::last("VAPICVM_GET_API_VERSION");
	return r;
}

Result<int> System::check_extension(Capability cap) const
{
	return detail::check_extension(fd_.get(), cap, "VAPICVM_CHECK_EXTENSION");
}

Result<ApicvFlags> System::supported_apicv() const
{
	return check_extension(Capability::Apicv).transform([](int v) {
		return ApicvFlags::from_raw(static_cast<std::uint32_t>(v));
	});
}

Result<std::size_t> System::vcpu_mmap_size() const
{
	int r = ::ioctl(fd_.get(), VAPICVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		return Error::last("VAPICVM_GET_VCPU_MMAP_SIZE");
	return static_cast<std::size_t>(r);
}

Result<std::vector<vapicvm_cpuid_entry>> System::supported_cpuid() const
{
	vapicvm_cpuid hdr{};
	hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	detail::FlexBuffer<vapicvm_cpuid, vapicvm_cpuid_entry> buf(hdr, {},
								   VAPICVM_MAX_CPUID_ENTRIES);
	if (::ioctl(fd_.get(), VAPICVM_GET_SUPPORTED_CPUID, buf.data()) < 0)
		return Error::last("VAPICVM_GET_SUPPORTED_CPUID");
	return buf.entries(buf.header().nent, "VAPICVM_GET_SUPPORTED_CPUID");
}

Result<std::vector<std::uint32_t>> System::msr_index_list() const
{
	constexpr std::size_t room = 256;
	vapicvm_msr_list hdr{};
	hdr.nmsrs = room;
	detail::FlexBuffer<vapicvm_msr_list, std::uint32_t> buf(hdr, {}, room);
	if (::ioctl(fd_.get(), VAPICVM_GET_MSR_INDEX_LIST, buf.data()) < 0)
		return Error::last("VAPICVM_GET_MSR_INDEX_LIST");
	return buf.entries(buf.header().nmsrs, "VAPICVM_GET_MSR_INDEX_LIST");
}

Result<Vm> System::create_vm(const VmOptions &opts) const
{
	auto size = vcpu_mmap_size();
	if (!size)
		return std::move(size).error();
	vapicvm_create_vm p{};
	if (opts.apicv) {
		p.flags = VAPICVM_VM_APICV_MASK;
		p.apicv = opts.apicv->raw();
	}
	int fd = ::ioctl(fd_.get(), VAPICVM_CREATE_VM, &p);
	if (fd < 0)
		return Error::last("VAPICVM_CREATE_VM",
				   opts.apicv ? "apicv " + opts.apicv->to_string() : std::string());
	return Vm(UniqueFd(fd), *size);
}

} // namespace vapicvm
