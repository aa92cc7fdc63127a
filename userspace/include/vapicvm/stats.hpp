// SPDX-License-Identifier: GPL-2.0
/*
 * The "vapicvm" generic netlink family: the VMs a caller may see, their
 * vCPUs, their counters (Stats), and the events group (Events).  The
 * family lives in the initial network namespace; a caller sees the VMs
 * created with its effective uid, or all of them with CAP_PERFMON or
 * CAP_SYS_ADMIN, and needs CAP_SYS_ADMIN to follow the events.
 */
#ifndef VAPICVM_STATS_HPP
#define VAPICVM_STATS_HPP

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <linux/vapicvm.h>

#include "vapicvm/result.hpp"

struct nl_sock;

namespace vapicvm
{

/* "exits", ...: the UAPI table's name of per-vCPU counter i; "" past VAPICVM_STAT_NR. */
std::string_view stat_name(std::size_t i) noexcept;
std::string_view stat_description(std::size_t i) noexcept;
/* "ept_tables", ...: the per-VM table's; "" past VAPICVM_VM_STAT_NR. */
std::string_view vm_stat_name(std::size_t i) noexcept;
std::string_view vm_stat_description(std::size_t i) noexcept;
/* "CPUID", "HLT", ...: a VMX basic exit reason (SDM Vol. 3D, Appendix C); "" if unknown. */
std::string_view vmx_exit_reason_name(std::uint32_t reason) noexcept;
/* "TPR", "EOI", "ICR_LO", ...: the local APIC register at offset (16-byte aligned); "" if none. */
std::string_view apic_register_name(std::uint32_t offset) noexcept;
/* "disabled", "xapic", "x2apic"; "?" otherwise. */
std::string_view apic_mode_name(std::uint32_t mode) noexcept;
/* "in-use", "not-asked", "not-offered", "needs-feature"; "?" otherwise. */
std::string_view feature_state_name(std::uint32_t state) noexcept;

/*
 * The counters of a vCPU, or of a VM (the sum over its vCPUs).  Counters
 * a newer module adds past this library's table are kept in extra.
 */
struct Counters {
	std::array<std::uint64_t, VAPICVM_STAT_NR> stats{};
	std::map<std::uint32_t, std::uint64_t> extra;        /* stat index -> value */
	std::map<std::uint32_t, std::uint64_t> exit_reasons; /* VMX basic reason -> count */
	std::map<std::uint32_t, std::uint64_t> apic_access;  /* APIC register offset -> count */
	std::map<std::uint32_t, std::uint64_t> apic_write;   /* APIC register offset -> count */
	std::map<std::uint32_t, std::uint64_t> user_exits;   /* VAPICVM_EXIT_* -> count */

	std::uint64_t operator[](vapicvm_stat s) const noexcept
	{
		return std::size_t(s) < stats.size() ? stats[s] : 0;
	}
};

/* One APIC-virtualization feature of a VM: whether it is in use, and why not. */
struct FeatureInfo {
	std::string name;        /* "tpr-shadow", ... */
	std::uint32_t state = 0; /* enum vapicvm_feature_state */
	std::uint32_t needs = 0; /* VAPICVM_APICV_* it lacks (state NEEDS_FEATURE) */
};

struct VmInfo {
	std::uint64_t id = 0;
	std::uint32_t pid = 0; /* the creator's thread group */
	std::uint32_t uid = 0; /* the creator's effective uid */
	std::uint32_t nr_vcpus = 0;
	std::uint64_t mem_bytes = 0;
	std::uint64_t pinned_bytes = 0;
	std::uint32_t apicv = 0;           /* VAPICVM_APICV_* in use */
	std::uint32_t apicv_requested = 0; /* asked for */
	std::string tier;                  /* "posted", "vid", "tpr", "none", ... */
	std::vector<FeatureInfo> features;
	Counters counters;
	std::array<std::uint64_t, VAPICVM_VM_STAT_NR> vm_stats{};
	std::map<std::uint32_t, std::uint64_t> vm_stats_extra; /* past VAPICVM_VM_STAT_NR */

	/* A whole VAPICVM_CMD_GET_VM message (nlmsghdr, genlmsghdr, attributes). */
	static Result<VmInfo> parse(std::span<const std::uint8_t> msg);
};

struct VcpuInfo {
	std::uint64_t vm_id = 0;
	std::uint32_t vcpu_id = 0;
	std::optional<std::uint32_t> last_cpu; /* none: never ran */
	std::uint32_t apic_mode = 0;           /* enum vapicvm_apic_mode */
	std::uint32_t mp_state = 0;            /* VAPICVM_MP_STATE_* */
	bool in_guest = false;
	Counters counters;

	/* A whole VAPICVM_CMD_GET_VCPU message. */
	static Result<VcpuInfo> parse(std::span<const std::uint8_t> msg);
};

enum class EventKind : std::uint32_t {
	VmCreate = VAPICVM_EVENT_VM_CREATE,
	VmDestroy = VAPICVM_EVENT_VM_DESTROY,
	VcpuCreate = VAPICVM_EVENT_VCPU_CREATE,
	ApicMode = VAPICVM_EVENT_APIC_MODE,
	Apicv = VAPICVM_EVENT_APICV,
	EntryFailed = VAPICVM_EVENT_ENTRY_FAILED,
	Shutdown = VAPICVM_EVENT_SHUTDOWN,
	InternalError = VAPICVM_EVENT_INTERNAL_ERROR,
	RateClamp = VAPICVM_EVENT_RATE_CLAMP,
};

/* "vm-create", "vm-destroy", ...; "?" for a kind this library does not know. */
std::string_view event_kind_name(EventKind k) noexcept;

/* A VAPICVM_CMD_EVENT; the fields its kind does not carry stay unset. */
struct Event {
	EventKind kind = EventKind::VmCreate;
	std::uint64_t vm_id = 0;
	std::optional<std::uint32_t> vcpu_id;
	std::optional<std::uint32_t> old_value; /* APIC_MODE, APICV */
	std::optional<std::uint32_t> new_value;
	std::optional<std::uint32_t> reason;        /* ENTRY_FAILED, INTERNAL_ERROR, RATE_CLAMP */
	std::optional<std::uint64_t> qualification; /* ENTRY_FAILED */
	std::optional<std::uint32_t> pid;           /* VM_CREATE */
	std::optional<std::uint32_t> uid;
	std::optional<std::uint32_t> apicv;
	std::optional<std::string> tier;

	/* A whole VAPICVM_CMD_EVENT message. */
	static Result<Event> parse(std::span<const std::uint8_t> msg);
};

namespace detail
{
struct NlSockDeleter {
	void operator()(nl_sock *s) const noexcept;
};
using NlSock = std::unique_ptr<nl_sock, NlSockDeleter>;
} // namespace detail

/*
 * A generic netlink socket bound to the family.  open() fails with ENOENT
 * when the family is not registered (the module is not loaded, or was
 * built without networking: VAPICVM_CAP_GENL is 0), the detail saying
 * which; the queries fail with EPERM/EACCES when denied, ENOENT for a VM
 * the caller cannot see, EINVAL (detail: the kernel's message) for a
 * malformed request.
 */
class Stats
{
public:
	static Result<Stats> open();

	Stats(const Stats &) = delete;
	Stats &operator=(const Stats &) = delete;
	Stats(Stats &&) noexcept = default;
	Stats &operator=(Stats &&) noexcept = default;
	~Stats() = default;

	int fd() const noexcept;
	int family() const noexcept { return family_; }

	/* Every VM the caller may see, by id. */
	Result<std::vector<VmInfo>> vms();
	/* One VM (ENOENT: none the caller may see); the id is Vm::id(). */
	Result<VmInfo> vm(std::uint64_t id);
	/* The VM's vCPUs, by id, or the one vcpu_id (empty if there is none). */
	Result<std::vector<VcpuInfo>> vcpus(std::uint64_t vm_id,
					    std::optional<std::uint32_t> vcpu_id = {});

private:
	Stats(detail::NlSock sock, int family) noexcept : sock_(std::move(sock)), family_(family) {}

	detail::NlSock sock_;
	int family_ = 0;
};

/*
 * A member of the family's events group (joining needs CAP_SYS_ADMIN:
 * EPERM otherwise).  The socket is non-blocking; poll fd() and call
 * next(0), or let next() wait.
 */
class Events
{
public:
	static Result<Events> open();

	Events(const Events &) = delete;
	Events &operator=(const Events &) = delete;
	Events(Events &&) noexcept = default;
	Events &operator=(Events &&) noexcept = default;
	~Events() = default;

	int fd() const noexcept;

	/*
	 * The next event, waiting up to timeout (negative: forever); none
	 * when the time ran out.  ENOBUFS when the socket overflowed and
	 * events were lost (the next call goes on with the later ones).
	 */
	Result<std::optional<Event>> next(std::chrono::milliseconds timeout);

private:
	explicit Events(detail::NlSock sock) noexcept : sock_(std::move(sock)) {}

	detail::NlSock sock_;
	std::vector<Event> pending_; /* parsed from one datagram, not yet returned */
};

} // namespace vapicvm

#endif
