// SPDX-License-Identifier: GPL-2.0
/*
 * The "vapicvm" generic netlink family through libnl-genl-3: libnl opens
 * the socket, resolves the family and its group and builds the requests;
 * the replies are read and parsed here, so that the kernel's errno (and
 * its extended-ack message) reach the caller unchanged.
 */
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vapicvm/stats.hpp"

namespace vapicvm
{

/* ------------------------------------------------------------------ names */

namespace
{
struct StatRow {
	std::string_view name;
	std::string_view description;
};
constexpr StatRow stat_rows[] = {
#define VAPICVM_LIB_STAT_ROW(id, name, desc) {name, desc},
	VAPICVM_STATS(VAPICVM_LIB_STAT_ROW)};
constexpr StatRow vm_stat_rows[] = {VAPICVM_VM_STATS(VAPICVM_LIB_STAT_ROW)
#undef VAPICVM_LIB_STAT_ROW
};
static_assert(std::size(stat_rows) == VAPICVM_STAT_NR);
static_assert(std::size(vm_stat_rows) == VAPICVM_VM_STAT_NR);

struct NamedValue {
	std::uint32_t value;
	std::string_view name;
};

/* SDM Vol. 3D, Appendix C: VMX basic exit reasons. */
constexpr NamedValue vmx_exit_reasons[] = {
	{0, "EXCEPTION_NMI"},
	{1, "EXTERNAL_INTERRUPT"},
	{2, "TRIPLE_FAULT"},
	{3, "INIT_SIGNAL"},
	{4, "SIPI"},
	{5, "IO_SMI"},
	{6, "OTHER_SMI"},
	{7, "INTERRUPT_WINDOW"},
	{8, "NMI_WINDOW"},
	{9, "TASK_SWITCH"},
	{10, "CPUID"},
	{11, "GETSEC"},
	{12, "HLT"},
	{13, "INVD"},
	{14, "INVLPG"},
	{15, "RDPMC"},
	{16, "RDTSC"},
	{17, "RSM"},
	{18, "VMCALL"},
	{19, "VMCLEAR"},
	{20, "VMLAUNCH"},
	{21, "VMPTRLD"},
	{22, "VMPTRST"},
	{23, "VMREAD"},
	{24, "VMRESUME"},
	{25, "VMWRITE"},
	{26, "VMXOFF"},
	{27, "VMXON"},
	{28, "CR_ACCESS"},
	{29, "DR_ACCESS"},
	{30, "IO_INSTRUCTION"},
	{31, "MSR_READ"},
	{32, "MSR_WRITE"},
	{33, "INVALID_STATE"},
	{34, "MSR_LOAD_FAIL"},
	{36, "MWAIT_INSTRUCTION"},
	{37, "MONITOR_TRAP_FLAG"},
	{39, "MONITOR_INSTRUCTION"},
	{40, "PAUSE_INSTRUCTION"},
	{41, "MCE_DURING_VMENTRY"},
	{43, "TPR_BELOW_THRESHOLD"},
	{44, "APIC_ACCESS"},
	{45, "EOI_INDUCED"},
	{46, "GDTR_IDTR"},
	{47, "LDTR_TR"},
	{48, "EPT_VIOLATION"},
	{49, "EPT_MISCONFIG"},
	{50, "INVEPT"},
	{51, "RDTSCP"},
	{52, "PREEMPTION_TIMER"},
	{53, "INVVPID"},
	{54, "WBINVD"},
	{55, "XSETBV"},
	{56, "APIC_WRITE"},
	{57, "RDRAND"},
	{58, "INVPCID"},
	{59, "VMFUNC"},
	{60, "ENCLS"},
	{61, "RDSEED"},
	{62, "PML_FULL"},
	{63, "XSAVES"},
	{64, "XRSTORS"},
	{67, "UMWAIT"},
	{68, "TPAUSE"},
	{74, "BUS_LOCK"},
	{75, "NOTIFY"},
};

/* SDM Vol. 3A, Table 11-1: local APIC registers, by offset. */
constexpr NamedValue apic_registers[] = {
	{0x020, "ID"},      {0x030, "LVR"},       {0x080, "TPR"},       {0x090, "APR"},
	{0x0a0, "PPR"},     {0x0b0, "EOI"},       {0x0c0, "RRD"},       {0x0d0, "LDR"},
	{0x0e0, "DFR"},     {0x0f0, "SVR"},       {0x100, "ISR0"},      {0x110, "ISR1"},
	{0x120, "ISR2"},    {0x130, "ISR3"},      {0x140, "ISR4"},      {0x150, "ISR5"},
	{0x160, "ISR6"},    {0x170, "ISR7"},      {0x180, "TMR0"},      {0x190, "TMR1"},
	{0x1a0, "TMR2"},    {0x1b0, "TMR3"},      {0x1c0, "TMR4"},      {0x1d0, "TMR5"},
	{0x1e0, "TMR6"},    {0x1f0, "TMR7"},      {0x200, "IRR0"},      {0x210, "IRR1"},
	{0x220, "IRR2"},    {0x230, "IRR3"},      {0x240, "IRR4"},      {0x250, "IRR5"},
	{0x260, "IRR6"},    {0x270, "IRR7"},      {0x280, "ESR"},       {0x2f0, "LVT_CMCI"},
	{0x300, "ICR_LO"},  {0x310, "ICR_HI"},    {0x320, "LVT_TIMER"}, {0x330, "LVT_THERMAL"},
	{0x340, "LVT_PMC"}, {0x350, "LVT_LINT0"}, {0x360, "LVT_LINT1"}, {0x370, "LVT_ERROR"},
	{0x380, "TMICT"},   {0x390, "TMCCT"},     {0x3e0, "TDCR"},      {0x3f0, "SELF_IPI"},
};

std::string_view lookup(std::span<const NamedValue> table, std::uint32_t v) noexcept
{
	for (const auto &e : table)
		if (e.value == v)
			return e.name;
	return {};
}
} // namespace

std::string_view stat_name(std::size_t i) noexcept
{
	return i < std::size(stat_rows) ? stat_rows[i].name : std::string_view();
}

std::string_view stat_description(std::size_t i) noexcept
{
	return i < std::size(stat_rows) ? stat_rows[i].description : std::string_view();
}

std::string_view vm_stat_name(std::size_t i) noexcept
{
	return i < std::size(vm_stat_rows) ? vm_stat_rows[i].name : std::string_view();
}

std::string_view vm_stat_description(std::size_t i) noexcept
{
	return i < std::size(vm_stat_rows) ? vm_stat_rows[i].description : std::string_view();
}

std::string_view vmx_exit_reason_name(std::uint32_t reason) noexcept
{
	return lookup(vmx_exit_reasons, reason);
}

std::string_view apic_register_name(std::uint32_t offset) noexcept
{
	return lookup(apic_registers, offset);
}

std::string_view apic_mode_name(std::uint32_t mode) noexcept
{
	switch (mode) {
	case VAPICVM_APIC_MODE_DISABLED:
		return "disabled";
	case VAPICVM_APIC_MODE_XAPIC:
		return "xapic";
	case VAPICVM_APIC_MODE_X2APIC:
		return "x2apic";
	}
	return "?";
}

std::string_view feature_state_name(std::uint32_t state) noexcept
{
	switch (state) {
	case VAPICVM_FEATURE_IN_USE:
		return "in-use";
	case VAPICVM_FEATURE_NOT_ASKED:
		return "not-asked";
	case VAPICVM_FEATURE_NOT_OFFERED:
		return "not-offered";
	case VAPICVM_FEATURE_NEEDS_FEATURE:
		return "needs-feature";
	}
	return "?";
}

std::string_view event_kind_name(EventKind k) noexcept
{
	switch (k) {
	case EventKind::VmCreate:
		return "vm-create";
	case EventKind::VmDestroy:
		return "vm-destroy";
	case EventKind::VcpuCreate:
		return "vcpu-create";
	case EventKind::ApicMode:
		return "apic-mode";
	case EventKind::Apicv:
		return "apicv";
	case EventKind::EntryFailed:
		return "entry-failed";
	case EventKind::Shutdown:
		return "shutdown";
	case EventKind::InternalError:
		return "internal-error";
	case EventKind::RateClamp:
		return "rate-clamp";
	}
	return "?";
}

/* ------------------------------------------------------------------ parsing */

namespace
{
/* The attributes of a message or a nest, walked with bounds checks. */
class Attrs
{
public:
	struct Attr {
		std::uint16_t type;
		std::span<const std::uint8_t> data;
	};

	explicit Attrs(std::span<const std::uint8_t> buf) : buf_(buf) {}

	/* Calls f(attr) for each; false at a truncated attribute. */
	template <typename F>
	bool each(F &&f) const
	{
		std::size_t off = 0;
		while (off + NLA_HDRLEN <= buf_.size()) {
			nlattr a;
			std::memcpy(&a, buf_.data() + off, sizeof(a));
			if (a.nla_len < NLA_HDRLEN || off + a.nla_len > buf_.size())
				return false;
			f(Attr{std::uint16_t(a.nla_type & NLA_TYPE_MASK),
			       buf_.subspan(off + NLA_HDRLEN, a.nla_len - NLA_HDRLEN)});
			off += NLA_ALIGN(a.nla_len);
		}
		return true;
	}

private:
	std::span<const std::uint8_t> buf_;
};

/* A parse error: EBADMSG naming what was wrong. */
Error bad(const char *what, std::string detail)
{
	return Error::from_errno(EBADMSG, what, std::move(detail));
}

/* Decodes attributes into typed fields; records the first error. */
class Decoder
{
public:
	explicit Decoder(const char *what) : what_(what) {}

	template <typename T>
	void get(const Attrs::Attr &a, T &out)
	{
		if (a.data.size() < sizeof(T)) {
			fail("attribute " + std::to_string(a.type) + " is short");
			return;
		}
		std::memcpy(&out, a.data.data(), sizeof(T));
	}
	template <typename T>
	void get(const Attrs::Attr &a, std::optional<T> &out)
	{
		T v{};
		get(a, v);
		out = v;
	}
	void get(const Attrs::Attr &a, std::string &out)
	{
		auto d = a.data;
		std::size_t n = 0;
		while (n < d.size() && d[n])
			n++;
		out.assign(reinterpret_cast<const char *>(d.data()), n);
	}
	void get(const Attrs::Attr &a, std::optional<std::string> &out)
	{
		std::string s;
		get(a, s);
		out = std::move(s);
	}
	/* A nest of u64 counters keyed by type - 1, through key(index). */
	template <typename K>
	void counters(const Attrs::Attr &a, std::map<std::uint32_t, std::uint64_t> &out, K key)
	{
		walk(a.data, [&](const Attrs::Attr &c) {
			if (c.type == 0 || c.data.empty())
				return; /* VAPICVM_A_PAD, where u64s need it */
			std::uint64_t v = 0;
			get(c, v);
			out[key(std::uint32_t(c.type) - 1)] = v;
		});
	}
	/* A nest of u64 counters into a table, the rest into extra. */
	template <std::size_t N>
	void table(const Attrs::Attr &a, std::array<std::uint64_t, N> &out,
		   std::map<std::uint32_t, std::uint64_t> &extra)
	{
		walk(a.data, [&](const Attrs::Attr &c) {
			if (c.type == 0 || c.data.empty())
				return; /* VAPICVM_A_PAD, where u64s need it */
			std::uint64_t v = 0;
			get(c, v);
			std::uint32_t i = std::uint32_t(c.type) - 1;
			if (i < N)
				out[i] = v;
			else
				extra[i] = v;
		});
	}
	template <typename F>
	void walk(std::span<const std::uint8_t> buf, F &&f)
	{
		if (!Attrs(buf).each(f))
			fail("truncated attribute");
	}
	void fail(std::string detail)
	{
		if (!error_)
			error_ = bad(what_, std::move(detail));
	}
	const std::optional<Error> &error() const noexcept { return error_; }

private:
	const char *what_;
	std::optional<Error> error_;
};

/*
 * The attributes of a generic netlink message of command cmd, copied to
 * aligned storage.
 */
Result<std::vector<std::uint8_t>> payload(std::span<const std::uint8_t> msg, std::uint8_t cmd,
					  const char *what)
{
	if (msg.size() < NLMSG_HDRLEN + GENL_HDRLEN)
		return bad(what, "message too short");
	nlmsghdr h;
	std::memcpy(&h, msg.data(), sizeof(h));
	if (h.nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN || h.nlmsg_len > msg.size())
		return bad(what, "bad length " + std::to_string(h.nlmsg_len));
	genlmsghdr g;
	std::memcpy(&g, msg.data() + NLMSG_HDRLEN, sizeof(g));
	if (g.cmd != cmd)
		return bad(what, "command " + std::to_string(g.cmd) + ", expected " +
					 std::to_string(cmd));
	auto a = msg.subspan(NLMSG_HDRLEN + GENL_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
	return std::vector<std::uint8_t>(a.begin(), a.end());
}

std::uint32_t apic_offset(std::uint32_t index)
{
	return index * 16;
}

std::uint32_t same(std::uint32_t index)
{
	return index;
}

/* The counter nests a VM and a vCPU message share. */
bool counter_attr(Decoder &d, const Attrs::Attr &a, Counters &c)
{
	switch (a.type) {
	case VAPICVM_A_STATS:
		d.table(a, c.stats, c.extra);
		return true;
	case VAPICVM_A_EXIT_REASONS:
		d.counters(a, c.exit_reasons, same);
		return true;
	case VAPICVM_A_APIC_ACCESS:
		d.counters(a, c.apic_access, apic_offset);
		return true;
	case VAPICVM_A_APIC_WRITE:
		d.counters(a, c.apic_write, apic_offset);
		return true;
	case VAPICVM_A_USER_EXITS:
		d.counters(a, c.user_exits, same);
		return true;
	}
	return false;
}

void feature_list(Decoder &d, const Attrs::Attr &a, std::vector<FeatureInfo> &out)
{
	d.walk(a.data, [&](const Attrs::Attr &f) {
		if (f.type != VAPICVM_A_FEATURE)
			return;
		FeatureInfo fi;
		d.walk(f.data, [&](const Attrs::Attr &x) {
			switch (x.type) {
			case VAPICVM_A_FEATURE_NAME:
				d.get(x, fi.name);
				break;
			case VAPICVM_A_FEATURE_STATE:
				d.get(x, fi.state);
				break;
			case VAPICVM_A_FEATURE_NEEDS:
				d.get(x, fi.needs);
				break;
			}
		});
		out.push_back(std::move(fi));
	});
}
} // namespace

Result<VmInfo> VmInfo::parse(std::span<const std::uint8_t> msg)
{
	const char *what = "VAPICVM_CMD_GET_VM reply";
	auto p = payload(msg, VAPICVM_CMD_GET_VM, what);
	if (!p)
		return std::move(p).error();
	VmInfo vm;
	Decoder d(what);
	bool have_id = false;
	d.walk(*p, [&](const Attrs::Attr &a) {
		if (counter_attr(d, a, vm.counters))
			return;
		switch (a.type) {
		case VAPICVM_A_VM_ID:
			d.get(a, vm.id);
			have_id = true;
			break;
		case VAPICVM_A_PID:
			d.get(a, vm.pid);
			break;
		case VAPICVM_A_UID:
			d.get(a, vm.uid);
			break;
		case VAPICVM_A_NR_VCPUS:
			d.get(a, vm.nr_vcpus);
			break;
		case VAPICVM_A_MEM_BYTES:
			d.get(a, vm.mem_bytes);
			break;
		case VAPICVM_A_PINNED_BYTES:
			d.get(a, vm.pinned_bytes);
			break;
		case VAPICVM_A_APICV:
			d.get(a, vm.apicv);
			break;
		case VAPICVM_A_APICV_REQUESTED:
			d.get(a, vm.apicv_requested);
			break;
		case VAPICVM_A_APICV_TIER:
			d.get(a, vm.tier);
			break;
		case VAPICVM_A_APICV_FEATURES:
			feature_list(d, a, vm.features);
			break;
		case VAPICVM_A_VM_STATS:
			d.table(a, vm.vm_stats, vm.vm_stats_extra);
			break;
		}
	});
	if (!have_id)
		d.fail("no VAPICVM_A_VM_ID");
	if (d.error())
		return *d.error();
	return vm;
}

Result<VcpuInfo> VcpuInfo::parse(std::span<const std::uint8_t> msg)
{
	const char *what = "VAPICVM_CMD_GET_VCPU reply";
	auto p = payload(msg, VAPICVM_CMD_GET_VCPU, what);
	if (!p)
		return std::move(p).error();
	VcpuInfo v;
	Decoder d(what);
	bool have_id = false;
	d.walk(*p, [&](const Attrs::Attr &a) {
		if (counter_attr(d, a, v.counters))
			return;
		switch (a.type) {
		case VAPICVM_A_VM_ID:
			d.get(a, v.vm_id);
			break;
		case VAPICVM_A_VCPU_ID:
			d.get(a, v.vcpu_id);
			have_id = true;
			break;
		case VAPICVM_A_LAST_CPU: {
			std::uint32_t cpu = 0;
			d.get(a, cpu);
			if (cpu != 0xffffffffu)
				v.last_cpu = cpu;
			break;
		}
		case VAPICVM_A_APIC_MODE:
			d.get(a, v.apic_mode);
			break;
		case VAPICVM_A_MP_STATE:
			d.get(a, v.mp_state);
			break;
		case VAPICVM_A_IN_GUEST: {
			std::uint8_t in = 0;
			d.get(a, in);
			v.in_guest = in != 0;
			break;
		}
		}
	});
	if (!have_id)
		d.fail("no VAPICVM_A_VCPU_ID");
	if (d.error())
		return *d.error();
	return v;
}

Result<Event> Event::parse(std::span<const std::uint8_t> msg)
{
	const char *what = "VAPICVM_CMD_EVENT";
	auto p = payload(msg, VAPICVM_CMD_EVENT, what);
	if (!p)
		return std::move(p).error();
	Event e;
	Decoder d(what);
	bool have_kind = false;
	d.walk(*p, [&](const Attrs::Attr &a) {
		switch (a.type) {
		case VAPICVM_A_EVENT: {
			std::uint32_t k = 0;
			d.get(a, k);
			e.kind = EventKind(k);
			have_kind = true;
			break;
		}
		case VAPICVM_A_VM_ID:
			d.get(a, e.vm_id);
			break;
		case VAPICVM_A_VCPU_ID:
			d.get(a, e.vcpu_id);
			break;
		case VAPICVM_A_OLD:
			d.get(a, e.old_value);
			break;
		case VAPICVM_A_NEW:
			d.get(a, e.new_value);
			break;
		case VAPICVM_A_REASON:
			d.get(a, e.reason);
			break;
		case VAPICVM_A_QUALIFICATION:
			d.get(a, e.qualification);
			break;
		case VAPICVM_A_PID:
			d.get(a, e.pid);
			break;
		case VAPICVM_A_UID:
			d.get(a, e.uid);
			break;
		case VAPICVM_A_APICV:
			d.get(a, e.apicv);
			break;
		case VAPICVM_A_APICV_TIER:
			d.get(a, e.tier);
			break;
		}
	});
	if (!have_kind)
		d.fail("no VAPICVM_A_EVENT");
	if (d.error())
		return *d.error();
	return e;
}

/* ------------------------------------------------------------------ sockets */

void detail::NlSockDeleter::operator()(nl_sock *s) const noexcept
{
	nl_socket_free(s);
}

namespace
{
/* A libnl error code as an errno. */
int nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_INVAL:
		return EINVAL;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_INTR:
		return EINTR;
	case NLE_MSG_OVERFLOW:
		return ENOBUFS;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_BUSY:
		return EBUSY;
	case NLE_RANGE:
		return ERANGE;
	}
	return EIO;
}

Error nl_error(int nlerr, const char *op)
{
	return Error::from_errno(nl_errno(nlerr), op, nl_geterror(nlerr));
}

bool module_loaded()
{
	return ::access("/sys/module/vapicvm", F_OK) == 0;
}

Result<detail::NlSock> connect()
{
	detail::NlSock sock(nl_socket_alloc());
	if (!sock)
		return Error::from_errno(ENOMEM, "nl_socket_alloc");
	int r = genl_connect(sock.get());
	if (r < 0)
		return nl_error(r, "genl_connect");
	int one = 1;
	/* The kernel's reason for an EINVAL, when it gives one; best effort. */
	(void)::setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_EXT_ACK, &one,
			   sizeof(one));
	return sock;
}

Result<int> resolve_family(nl_sock *sk)
{
	int family = genl_ctrl_resolve(sk, VAPICVM_GENL_NAME);
	if (family >= 0)
		return family;
	if (nl_errno(family) == ENOENT)
		return Error::from_errno(
			ENOENT, "resolving the vapicvm netlink family",
			module_loaded() ? "the module is loaded without it (no networking?)"
					: "the vapicvm module is not loaded");
	return nl_error(family, "resolving the vapicvm netlink family");
}

/* NLMSGERR_ATTR_MSG among extended-ack attributes. */
std::string ack_text(std::span<const std::uint8_t> attrs)
{
	std::string text;
	Attrs(attrs).each([&](const Attrs::Attr &a) {
		if (a.type == NLMSGERR_ATTR_MSG) {
			std::size_t n = 0;
			while (n < a.data.size() && a.data[n])
				n++;
			text.assign(reinterpret_cast<const char *>(a.data.data()), n);
		}
	});
	return text;
}

/* The kernel's extended-ack message of an NLMSG_ERROR, if any. */
std::string ext_ack_message(std::span<const std::uint8_t> msg, const nlmsghdr &h)
{
	nlmsgerr e;
	std::memcpy(&e, msg.data() + NLMSG_HDRLEN, sizeof(e));
	if (!(h.nlmsg_flags & NLM_F_ACK_TLVS))
		return {};
	std::size_t off = NLMSG_HDRLEN + sizeof(e);
	if (!(h.nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e.msg.nlmsg_len - NLMSG_HDRLEN);
	if (off > h.nlmsg_len)
		return {};
	return ack_text(msg.subspan(off, h.nlmsg_len - off));
}

/* The extended-ack message of a dump's NLMSG_DONE that carries an error. */
std::string done_ack_message(std::span<const std::uint8_t> msg, const nlmsghdr &h)
{
	std::size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));
	if (!(h.nlmsg_flags & NLM_F_ACK_TLVS) || off > h.nlmsg_len)
		return {};
	return ack_text(msg.subspan(off, h.nlmsg_len - off));
}

/*
 * Send msg and read the replies to it, each to on_msg, until the end of a
 * dump (dump) or the one reply (!dump).  A kernel error ends it as that
 * errno.
 */
template <typename F>
Result<void> transact(nl_sock *sk, nl_msg *msg, bool dump, const char *op, F &&on_msg)
{
	int r = nl_send_auto(sk, msg);
	if (r < 0)
		return nl_error(r, op);
	std::uint32_t seq = nlmsg_hdr(msg)->nlmsg_seq;
	int fd = nl_socket_get_fd(sk);
	std::vector<std::uint8_t> buf(32768);
	for (;;) {
		ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return Error::last(op, "recv");
		}
		if (std::size_t(n) > buf.size())
			buf.resize(std::size_t(n));
		n = ::recv(fd, buf.data(), buf.size(), 0);
		if (n < 0)
			return Error::last(op, "recv");
		std::size_t off = 0;
		while (off + NLMSG_HDRLEN <= std::size_t(n)) {
			nlmsghdr h;
			std::memcpy(&h, buf.data() + off, sizeof(h));
			if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > std::size_t(n))
				return bad(op, "truncated netlink message");
			auto m = std::span<const std::uint8_t>(buf.data() + off, h.nlmsg_len);
			off += NLMSG_ALIGN(h.nlmsg_len);
			if (h.nlmsg_seq != seq)
				continue;
			if (h.nlmsg_type == NLMSG_ERROR) {
				nlmsgerr e{};
				if (h.nlmsg_len < NLMSG_HDRLEN + sizeof(e))
					return bad(op, "short NLMSG_ERROR");
				std::memcpy(&e, m.data() + NLMSG_HDRLEN, sizeof(e));
				if (e.error == 0)
					return ok(); /* an ACK */
				return Error::from_errno(-e.error, op, ext_ack_message(m, h));
			}
			if (h.nlmsg_type == NLMSG_DONE) {
				int err = 0;
				if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof(err))
					std::memcpy(&err, m.data() + NLMSG_HDRLEN, sizeof(err));
				if (err < 0)
					return Error::from_errno(-err, op, done_ack_message(m, h));
				return ok();
			}
			if (h.nlmsg_type == NLMSG_NOOP || h.nlmsg_type == NLMSG_OVERRUN)
				continue;
			auto res = on_msg(m);
			if (!res)
				return res;
			if (!dump)
				return ok();
		}
	}
}

struct MsgDeleter {
	void operator()(nl_msg *m) const noexcept { nlmsg_free(m); }
};
using Msg = std::unique_ptr<nl_msg, MsgDeleter>;

Result<Msg> request(int family, std::uint8_t cmd, bool dump, const char *op)
{
	Msg m(nlmsg_alloc());
	if (!m)
		return Error::from_errno(ENOMEM, op);
	if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			 NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0), cmd, VAPICVM_GENL_VERSION))
		return Error::from_errno(ENOMEM, op);
	return m;
}
} // namespace

Result<Stats> Stats::open()
{
	auto sock = connect();
	if (!sock)
		return std::move(sock).error();
	auto family = resolve_family(sock->get());
	if (!family)
		return std::move(family).error();
	nl_socket_disable_auto_ack(sock->get());
	return Stats(std::move(*sock), *family);
}

int Stats::fd() const noexcept
{
	return nl_socket_get_fd(sock_.get());
}

Result<std::vector<VmInfo>> Stats::vms()
{
	const char *op = "VAPICVM_CMD_GET_VM (dump)";
	auto m = request(family_, VAPICVM_CMD_GET_VM, true, op);
	if (!m)
		return std::move(m).error();
	std::vector<VmInfo> out;
	auto r = transact(sock_.get(), m->get(), true, op,
			  [&](std::span<const std::uint8_t> msg) -> Result<void> {
				  auto vm = VmInfo::parse(msg);
				  if (!vm)
					  return std::move(vm).error();
				  out.push_back(std::move(*vm));
				  return ok();
			  });
	if (!r)
		return std::move(r).error();
	std::sort(out.begin(), out.end(),
		  [](const VmInfo &a, const VmInfo &b) { return a.id < b.id; });
	return out;
}

Result<VmInfo> Stats::vm(std::uint64_t id)
{
	const char *op = "VAPICVM_CMD_GET_VM";
	auto m = request(family_, VAPICVM_CMD_GET_VM, false, op);
	if (!m)
		return std::move(m).error();
	if (nla_put_u64(m->get(), VAPICVM_A_VM_ID, id) < 0)
		return Error::from_errno(ENOMEM, op);
	std::optional<VmInfo> vm;
	auto r = transact(sock_.get(), m->get(), false, op,
			  [&](std::span<const std::uint8_t> msg) -> Result<void> {
				  auto v = VmInfo::parse(msg);
				  if (!v)
					  return std::move(v).error();
				  vm = std::move(*v);
				  return ok();
			  });
	if (!r)
		return std::move(r).error().context("VM " + std::to_string(id));
	if (!vm)
		return Error::from_errno(ENOENT, op, "VM " + std::to_string(id));
	return std::move(*vm);
}

Result<std::vector<VcpuInfo>> Stats::vcpus(std::uint64_t vm_id,
					   std::optional<std::uint32_t> vcpu_id)
{
	const char *op = "VAPICVM_CMD_GET_VCPU (dump)";
	auto m = request(family_, VAPICVM_CMD_GET_VCPU, true, op);
	if (!m)
		return std::move(m).error();
	if (nla_put_u64(m->get(), VAPICVM_A_VM_ID, vm_id) < 0 ||
	    (vcpu_id && nla_put_u32(m->get(), VAPICVM_A_VCPU_ID, *vcpu_id) < 0))
		return Error::from_errno(ENOMEM, op);
	std::vector<VcpuInfo> out;
	auto r = transact(sock_.get(), m->get(), true, op,
			  [&](std::span<const std::uint8_t> msg) -> Result<void> {
				  auto v = VcpuInfo::parse(msg);
				  if (!v)
					  return std::move(v).error();
				  out.push_back(std::move(*v));
				  return ok();
			  });
	if (!r)
		return std::move(r).error().context("VM " + std::to_string(vm_id));
	std::sort(out.begin(), out.end(),
		  [](const VcpuInfo &a, const VcpuInfo &b) { return a.vcpu_id < b.vcpu_id; });
	return out;
}

Result<Events> Events::open()
{
	auto sock = connect();
	if (!sock)
		return std::move(sock).error();
	auto family = resolve_family(sock->get());
	if (!family)
		return std::move(family).error();
	int grp = genl_ctrl_resolve_grp(sock->get(), VAPICVM_GENL_NAME, VAPICVM_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return nl_error(grp, "resolving the vapicvm events group");
	int fd = nl_socket_get_fd(sock->get());
	if (::setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		return Error::last("joining the vapicvm events group",
				   errno == EPERM ? "needs CAP_SYS_ADMIN" : "");
	nl_socket_disable_seq_check(sock->get());
	int r = nl_socket_set_nonblocking(sock->get());
	if (r < 0)
		return nl_error(r, "nl_socket_set_nonblocking");
	return Events(std::move(*sock));
}

int Events::fd() const noexcept
{
	return nl_socket_get_fd(sock_.get());
}

Result<std::optional<Event>> Events::next(std::chrono::milliseconds timeout)
{
	const char *op = "reading vapicvm events";
	int fd = nl_socket_get_fd(sock_.get());
	auto deadline = std::chrono::steady_clock::now() + timeout;
	while (pending_.empty()) {
		std::vector<std::uint8_t> buf(8192);
		ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_TRUNC);
		if (n >= 0) {
			if (std::size_t(n) > buf.size())
				buf.resize(std::size_t(n));
			n = ::recv(fd, buf.data(), buf.size(), 0);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return Error::last(op);
			int wait = -1;
			if (timeout.count() >= 0) {
				auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
					deadline - std::chrono::steady_clock::now());
				if (left.count() <= 0)
					return std::optional<Event>();
				wait = int(left.count());
			}
			pollfd p{fd, POLLIN, 0};
			if (::poll(&p, 1, wait) < 0 && errno != EINTR)
				return Error::last(op, "poll");
			continue;
		}
		std::size_t off = 0;
		while (off + NLMSG_HDRLEN <= std::size_t(n)) {
			nlmsghdr h;
			std::memcpy(&h, buf.data() + off, sizeof(h));
			if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > std::size_t(n))
				break;
			auto m = std::span<const std::uint8_t>(buf.data() + off, h.nlmsg_len);
			off += NLMSG_ALIGN(h.nlmsg_len);
			if (h.nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			auto e = Event::parse(m);
			if (e)
				pending_.push_back(std::move(*e));
		}
	}
	Event e = std::move(pending_.front());
	pending_.erase(pending_.begin());
	return std::optional<Event>(std::move(e));
}

} // namespace vapicvm
