// SPDX-License-Identifier: GPL-2.0
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>
#include <x86intrin.h>

#include <vapicvm/vmm/vmm.hpp>

#include "cpuid_setup.hpp"
#include "devices.hpp"
#include "gdbstub.hpp"
#include "machine.hpp"
#include "tables.hpp"
#include "virtio_mmio.hpp"

namespace vrun
{

using namespace vapicvm;
using namespace vapicvm::vmm;

namespace
{

void seg(vapicvm_segment &s, std::uint16_t sel, std::uint8_t type, bool code64, bool db)
{
	std::memset(&s, 0, sizeof(s));
	s.selector = sel;
	s.base = 0;
	s.limit = 0xffffffff;
	s.type = type;
	s.present = 1;
	s.s = 1;
	s.g = 1;
	s.l = code64;
	s.db = db;
}

} // namespace

void apply_entry(const BootEntry &e, vapicvm_sregs &s, vapicvm_regs &r)
{
	std::memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = e.rip;
	r.rsp = e.rsp;
	r.rsi = e.rsi;
	r.rax = e.rax;
	r.rbx = e.rbx;
	switch (e.mode) {
	case CpuMode::Real16:
		for (auto *x : {&s.cs, &s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
			x->selector = e.real_cs;
			x->base = std::uint64_t(e.real_cs) << 4;
			x->limit = 0xffff;
		}
		r.rsp = 0xfff0;
		return;
	case CpuMode::Protected32:
		seg(s.cs, layout::sel_code32, 0xb, false, true);
		seg(s.ds, layout::sel_data, 0x3, false, true);
		s.cr0 = 0x11; /* PE, ET */
		s.cr4 = 0;
		s.efer = 0;
		break;
	case CpuMode::Long64:
		seg(s.cs, layout::sel_code64, 0xb, true, false);
		seg(s.ds, layout::sel_data, 0x3, false, true);
		s.cr0 = 0x80050033; /* PG WP NE ET MP PE */
		s.cr3 = layout::pml4;
		s.cr4 = 0x20;   /* PAE */
		s.efer = 0x500; /* LMA, LME */
		break;
	}
	s.es = s.ss = s.fs = s.gs = s.ds;
	std::memset(&s.tr, 0, sizeof(s.tr));
	s.tr.limit = 0x67;
	s.tr.type = 11; /* busy TSS */
	s.tr.present = 1;
	std::memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	s.gdt.base = layout::gdt;
	s.gdt.limit = 6 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
}

namespace
{

Result<std::vector<std::uint8_t>> read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	if (!f)
		return Error::last("open", path);
	std::vector<std::uint8_t> v((std::istreambuf_iterator<char>(f)),
				    std::istreambuf_iterator<char>());
	if (f.bad())
		return Error::last("read", path);
	return v;
}

std::string hex(std::uint64_t v)
{
	char buf[24];
	std::snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
	return buf;
}

void log(const std::string &s)
{
	std::fprintf(stderr, "vapicvm-run: %s\n", s.c_str());
}

static_assert(layout::ioapic_base == IoApic::default_base);

/* ISA IRQ 4, COM1's, on the I/O APIC pin of the same number (see tables.hpp). */
constexpr unsigned com1_pin = 4;

/*
 * The virtio block device (--disk): its registers at a fixed address in
 * the 32-bit hole, above any low RAM (at most 3 GiB) and below the I/O
 * APIC; its interrupt on ISA IRQ 5, the I/O APIC pin of the same number
 * (the MP table routes it, edge-triggered).
 */
constexpr std::uint64_t virtio_base = 0xd0000000ull;
constexpr unsigned virtio_pin = 5;
static_assert(virtio_base >= layout::max_lowmem &&
	      virtio_base + VirtioMmio::mmio_size <= layout::ioapic_base);
static_assert(mptable_isa_irq_routed(virtio_pin));

/* What drives an I/O APIC pin, for --stats. */
std::string pin_source(unsigned pin, bool disk)
{
	if (pin == com1_pin)
		return "ttyS0/16550";
	return pin == virtio_pin && disk ? "virtio-blk" : "";
}

/* What vapicvm-run adds to a Linux command line for the virtio device. */
std::string virtio_cmdline()
{
	char buf[64];
	std::snprintf(buf, sizeof(buf), " virtio_mmio.device=%llu@%#llx:%u",
		      static_cast<unsigned long long>(VirtioMmio::mmio_size),
		      static_cast<unsigned long long>(virtio_base), virtio_pin);
	return buf;
}

/*
 * The I/O APIC's ID: the first after the CPUs' (0..n-1), as the MP table
 * says.  Its ID register has 4 bits: with 16 vCPUs or more the register
 * wraps, which 64-bit Linux does not check.
 */
std::uint8_t ioapic_id(unsigned cpus)
{
	return static_cast<std::uint8_t>(cpus);
}

/* The terminal in raw mode while the guest owns it. */
class RawTerminal
{
public:
	RawTerminal()
	{
		if (isatty(0) && tcgetattr(0, &saved_) == 0) {
			termios t = saved_;
			cfmakeraw(&t);
			t.c_oflag |= OPOST; /* keep \n -> \r\n for the guest's output */
			active_ = tcsetattr(0, TCSANOW, &t) == 0;
		}
	}
	~RawTerminal()
	{
		if (active_)
			tcsetattr(0, TCSANOW, &saved_);
	}
	bool active() const { return active_; }

private:
	termios saved_{};
	bool active_ = false;
};

class Machine
{
public:
	explicit Machine(const Options &o) : o_(o), bus_(log) {}
	int run();

private:
	Result<void> build();
	Result<void> add_virtio_blk();
	void stop(int status, const std::string &why);
	RunAction on_exit(Vcpu &vcpu, const VcpuExit &e);
	RunAction handle_exit(Vcpu &vcpu, const VcpuExit &e);
	RunAction on_debug(Vcpu &vcpu, const vapicvm::DebugExit &d);
	Result<void> start_gdb();
	void dump_state(Vcpu &vcpu, const std::string &why);
	void input_loop(int wake_fd);

	const Options &o_;
	std::optional<System> sys_;
	std::optional<Vm> vm_;
	GuestMemory mem_; /* a view of vm_'s memory slots */
	std::vector<Vcpu> vcpus_;
	std::vector<std::unique_ptr<VcpuRunner>> runners_;
	std::unique_ptr<IoApic> ioapic_; /* before bus_, which reaches it */
	IoBus bus_;
	std::shared_ptr<Uart16550> uart_;
	std::shared_ptr<VirtioMmio> virtio_;
	UniqueFd virtio_irq_fd_;    /* the irqfd on virtio_pin */
	bool virtio_irqfd_ = false; /* interrupts through it, not through set_line() */
	std::atomic<bool> route_failed_{false};
	std::atomic<bool> msi_failed_{false}; /* a failed signal_msi, reported once */
	std::unique_ptr<GdbStub> gdb_;        /* --gdb; set before the vCPU threads start */

	/* Console output, flushed at newlines, when large, and by the main loop's tick. */
	void console_put(std::uint8_t b);
	void console_flush();
	std::mutex out_mu_;
	std::string out_;

	std::mutex mu_;
	std::condition_variable cv_;
	std::atomic<bool> stopping_{false}; /* read by the vCPU threads after each exit */
	bool stopped_ = false;
	int status_ = exit_ok;
	std::string why_;
};

void Machine::console_put(std::uint8_t b)
{
	std::lock_guard<std::mutex> g(out_mu_);
	out_ += static_cast<char>(b);
	if (b != '\n' && out_.size() < 4096)
		return;
	for (std::size_t off = 0; off < out_.size();) {
		ssize_t n = ::write(1, out_.data() + off, out_.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += static_cast<std::size_t>(n);
	}
	out_.clear();
}

void Machine::console_flush()
{
	std::lock_guard<std::mutex> g(out_mu_);
	for (std::size_t off = 0; off < out_.size();) {
		ssize_t n = ::write(1, out_.data() + off, out_.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += static_cast<std::size_t>(n);
	}
	out_.clear();
}

void Machine::stop(int status, const std::string &why)
{
	{
		std::lock_guard<std::mutex> g(mu_);
		if (stopped_)
			return;
		stopped_ = true;
		status_ = status;
		why_ = why;
	}
	stopping_.store(true);
	cv_.notify_all();
	if (gdb_)
		gdb_->machine_stopped(status);
}

Result<void> Machine::build()
{
	auto sys = System::open(o_.device);
	if (!sys)
		return std::move(sys).error();
	sys_.emplace(std::move(*sys));
	for (auto cap : {Capability::Irqchip, Capability::ImmediateExit, Capability::IoapicEoi}) {
		auto v = sys_->check_extension(cap);
		if (!v || !*v)
			return Error::from_errno(ENOTSUP, "capability",
						 std::string(capability_name(cap)) + " missing");
	}
	if (o_.gdb_port) {
		for (auto cap : {Capability::SetGuestDebug, Capability::Translate}) {
			auto v = sys_->check_extension(cap);
			if (!v || !*v)
				return Error::from_errno(ENOTSUP, "--gdb",
							 std::string(capability_name(cap)) +
								 " missing");
		}
	}
	auto maxv = sys_->check_extension(Capability::MaxVcpus);
	if (maxv && *maxv > 0 && o_.cpus > static_cast<unsigned>(*maxv))
		return Error::from_errno(EINVAL, "--cpus",
					 "the host allows " + std::to_string(*maxv) + " vCPUs");

	VmOptions vo;
	vo.apicv = o_.apicv;
	auto vm = sys_->create_vm(vo);
	if (!vm)
		return std::move(vm).error();
	vm_.emplace(std::move(*vm));
	if (o_.verbose) {
		if (auto info = vm_->apicv_info())
			log("APIC virtualization: " + info->enabled.to_string() + " (host offers " +
			    info->supported.to_string() + ")");
	}

	/* Memory. */
	auto map = MemoryMap::for_size(o_.mem_bytes);
	const std::uint32_t ram_flags = o_.prefault ? VAPICVM_MEM_PREFAULT : 0;
	auto low = MemoryRegion::anonymous(map.lowmem_end);
	if (!low)
		return std::move(low).error();
	auto r = vm_->add_memory(0, 0, std::move(*low), ram_flags);
	if (!r)
		return r;
	if (map.highmem_size) {
		auto high = MemoryRegion::anonymous(map.highmem_size);
		if (!high)
			return std::move(high).error();
		r = vm_->add_memory(1, layout::high_base, std::move(*high), ram_flags);
		if (!r)
			return r;
	}
	mem_ = GuestMemory(vm_->memory_slots());
	const GuestMemory &mem = mem_;

	/* CPUID and the MP table. */
	auto supported = sys_->supported_cpuid();
	if (!supported)
		return std::move(supported).error();
	std::uint32_t tsc_khz = o_.tsc_khz;
	if (!tsc_khz) {
		/* The kernel knows the guest TSC's rate; older kernels answer 0. */
		if (auto k = vm_->check_extension(Capability::TscKhz); k && *k > 0)
			tsc_khz = static_cast<std::uint32_t>(*k);
	}
	if (!tsc_khz) {
		auto k = host_tsc_khz();
		if (k)
			tsc_khz = *k;
		else
			log("cannot tell the guest its TSC frequency: " + k.error().message());
	}
	auto cpuid = build_guest_cpuid(CpuidTable(std::move(*supported)),
				       CpuidOptions{o_.cpus, tsc_khz});
	if (!cpuid)
		return std::move(cpuid).error();
	MpTableCpu mpcpu;
	if (const auto *l1 = cpuid->find(1)) {
		mpcpu.signature = l1->eax;
		mpcpu.feature_flags = l1->edx;
	}
	auto mpt = build_mptable(layout::mptable, o_.cpus, mpcpu,
				 MpTableIoApic{ioapic_id(o_.cpus), layout::ioapic_base});
	r = mem.write(layout::mptable, mpt);
	if (!r)
		return r;

	/* The kernel. */
	auto image = read_file(o_.kernel);
	if (!image)
		return std::move(image).error();
	std::vector<std::uint8_t> initrd;
	if (!o_.initrd.empty()) {
		auto i = read_file(o_.initrd);
		if (!i)
			return std::move(i).error();
		initrd = std::move(*i);
	}
	Result<BootEntry> entry = Error::from_errno(ENOEXEC, "kernel");
	auto fmt = detect_format(*image);
	if (o_.flat_addr) {
		entry = load_flat(mem, *image, *o_.flat_addr, o_.entry_mode);
	} else if (fmt == KernelFormat::BzImage) {
		LinuxBootInfo li;
		std::string cmdline = o_.cmdline.value_or(default_linux_cmdline);
		if (!o_.disk.empty())
			cmdline += virtio_cmdline();
		entry = load_bzimage(mem, map, *image, initrd, cmdline, 0, &li);
		if (entry && o_.verbose)
			log("kernel at 0x100000 (" + std::to_string(li.kernel_size) +
			    " bytes, init_size " + std::to_string(li.init_size) + ")" +
			    (li.initrd_size ? ", initrd at " + hex(li.initrd_addr) : ""));
	} else if (fmt == KernelFormat::Multiboot) {
		entry = load_multiboot(mem, map, *image, initrd, o_.cmdline.value_or(""));
	} else {
		return Error::from_errno(
			ENOEXEC, "kernel",
			o_.kernel + ": " + format_name(fmt) +
				" (want a bzImage or a multiboot kernel, or use --flat)");
	}
	if (!entry)
		return std::move(entry).error();
	if (o_.verbose)
		log(entry->description + ", " + std::to_string(o_.cpus) + " vCPU(s), " +
		    std::to_string(o_.mem_bytes >> 20) + " MiB, TSC " + std::to_string(tsc_khz) +
		    " kHz");

	/* vCPUs: 0 boots; the others wait for INIT/SIPI from the guest. */
	for (unsigned i = 0; i < o_.cpus; i++) {
		auto v = vm_->create_vcpu(i);
		if (!v)
			return std::move(v).error();
		r = v->set_cpuid(cpuid->entries());
		if (!r)
			return r;
		vcpus_.push_back(std::move(*v));
	}
	auto sregs = vcpus_[0].sregs();
	if (!sregs)
		return std::move(sregs).error();
	vapicvm_regs regs;
	apply_entry(*entry, *sregs, regs);
	r = vcpus_[0].set_sregs(*sregs);
	if (r)
		r = vcpus_[0].set_regs(regs);
	if (!r)
		return r;

	/*
	 * The I/O APIC: the local APICs are the kernel's, so its messages go
	 * through signal_msi(), and the EOIs of level-triggered vectors come
	 * back as IoapicEoiExits.
	 */
	r = vm_->set_ioapic_eoi_exits(true);
	if (!r)
		return r;
	ioapic_ = std::make_unique<IoApic>(
		[this](const Msi &m) {
			auto n = vm_->signal_msi(m);
			if (!n && !msi_failed_.exchange(true))
				log("I/O APIC: " + n.error().message() + " (reported once)");
		},
		ioapic_id(o_.cpus));
	bus_.add_mmio(layout::ioapic_base, IoApic::mmio_size,
		      std::make_shared<IoApicMmio>(*ioapic_));

	/* Devices. */
	uart_ = std::make_shared<Uart16550>(
		0x3f8, [this](std::uint8_t b) { console_put(b); },
		[this](bool level) { ioapic_->set_line(com1_pin, level); });
	bus_.add(0x3f8, 8, uart_);
	bus_.add(o_.debug_exit_port, 1, std::make_shared<DebugExit>([this](int status) {
			 stop(status, "debug exit, status " + std::to_string(status));
		 }));
	add_system_ports(bus_, [this](SystemControl::Event ev) {
		stop(exit_ok,
		     ev == SystemControl::Event::Reset ? "reset requested" : "power off requested");
	});
	if (!o_.disk.empty())
		return add_virtio_blk();
	return ok();
}

/*
 * The virtio block device: queue notifications through an ioeventfd on
 * QueueNotify, completions through an irqfd on GSI virtio_pin whose route
 * the I/O APIC keeps in step with the pin's redirection entry.  Where the
 * kernel refuses either, the device falls back to the exits it would
 * have avoided: QueueNotify writes reach it through the bus, and its
 * interrupts go through IoApic::set_line().
 */
Result<void> Machine::add_virtio_blk()
{
	auto blk = VirtioBlk::open(o_.disk, o_.disk_readonly);
	if (!blk)
		return std::move(blk).error();
	std::uint64_t sectors = (*blk)->capacity();
	virtio_irq_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
	if (!virtio_irq_fd_)
		return Error::last("eventfd", "virtio-blk interrupt");
	ioapic_->set_route([this](unsigned pin, std::optional<Msi> msi) {
		if (pin != virtio_pin)
			return;
		auto r = vm_->set_gsi_route(pin, msi);
		if (!r && !route_failed_.exchange(true))
			log("I/O APIC: GSI route: " + r.error().message() + " (reported once)");
	});
	auto r = vm_->add_irqfd(virtio_irq_fd_.get(), virtio_pin);
	virtio_irqfd_ = bool(r);
	if (!r)
		log("virtio-blk: no irqfd (" + r.error().message() +
		    "), interrupts go through the I/O APIC model");
	virtio_ = std::make_shared<VirtioMmio>(
		mem_, std::move(*blk),
		[this] {
			if (virtio_irqfd_) {
				std::uint64_t one = 1;
				(void)!::write(virtio_irq_fd_.get(), &one, sizeof(one));
			} else {
				ioapic_->set_line(virtio_pin, true);
				ioapic_->set_line(virtio_pin, false);
			}
		},
		log);
	bus_.add_mmio(virtio_base, VirtioMmio::mmio_size, virtio_);
	IoEventFd notify;
	notify.space = IoEventFd::Space::Mmio;
	notify.addr = virtio_base + VirtioMmio::R_QUEUE_NOTIFY;
	notify.len = 4;
	notify.fd = virtio_->notify_fd();
	r = vm_->add_ioeventfd(notify);
	if (!r)
		log("virtio-blk: no ioeventfd (" + r.error().message() +
		    "), queue notifications exit to the VMM");
	if (o_.verbose)
		log("virtio-blk at " + hex(virtio_base) + ", IRQ " + std::to_string(virtio_pin) +
		    ": " + o_.disk + ", " + std::to_string(sectors) + " sectors" +
		    (o_.disk_readonly ? ", read-only" : ""));
	return ok();
}

/*
 * Translate a guest virtual address the simple ways a stopped guest's
 * stack may be mapped: identity, Linux's kernel image map, its direct map.
 */
std::optional<std::uint64_t> guess_gpa(std::uint64_t va)
{
	if (va >= 0xffffffff80000000ull)
		return va - 0xffffffff80000000ull;
	if (va >= 0xffff888000000000ull && va < 0xffffc88000000000ull)
		return va - 0xffff888000000000ull;
	if (va < (1ull << 32))
		return va;
	return std::nullopt;
}

void Machine::dump_state(Vcpu &vcpu, const std::string &why)
{
	std::string s = "vCPU " + std::to_string(vcpu.id()) + ": " + why;
	auto r = vcpu.regs();
	auto sr = vcpu.sregs();
	if (!r || !sr) {
		log(s);
		return;
	}
	s += ": rip " + hex(r->rip) + " rsp " + hex(r->rsp) + " rflags " + hex(r->rflags) +
	     " cr0 " + hex(sr->cr0) + " cr2 " + hex(sr->cr2) + " cr3 " + hex(sr->cr3) + " cr4 " +
	     hex(sr->cr4) + " efer " + hex(sr->efer);
	log(s);
	auto gpa = guess_gpa(r->rsp);
	if (!gpa)
		return;
	for (int row = 0; row < 16; row++) {
		std::string line = "  stack " + hex(r->rsp + row * 32) + ":";
		for (int i = 0; i < 4; i++) {
			auto v = mem_.read_obj<std::uint64_t>(*gpa + row * 32 + i * 8);
			line += " " + (v ? hex(*v) : std::string("?"));
		}
		log(line);
	}
}

RunAction Machine::on_debug(Vcpu &vcpu, const vapicvm::DebugExit &d)
{
	if (!gdb_) {
		dump_state(vcpu, "debug exit without a debugger");
		stop(exit_guest_crash, "debug exit, exception " + std::to_string(d.exception));
		return RunAction::Stop;
	}
	/* Parks this vCPU until gdb lets the guest go on. */
	gdb_->on_debug_exit(vcpu, d);
	return RunAction::Continue;
}

/* --gdb: listen, and wait for gdb before the guest's first instruction. */
Result<void> Machine::start_gdb()
{
	auto g = GdbStub::listen(*o_.gdb_port);
	if (!g)
		return std::move(g).error();
	log("waiting for gdb on 127.0.0.1:" + std::to_string((*g)->port()));
	auto r = (*g)->accept();
	if (!r)
		return r;
	log("gdb connected; the guest is stopped at its first instruction");
	gdb_ = std::move(*g);
	return ok();
}

RunAction Machine::on_exit(Vcpu &vcpu, const VcpuExit &e)
{
	RunAction a = handle_exit(vcpu, e);
	/* A device may have ended the machine (debug exit, reset, power off). */
	return stopping_.load() ? RunAction::Stop : a;
}

RunAction Machine::handle_exit(Vcpu &vcpu, const VcpuExit &e)
{
	auto crash = [&](const std::string &what) {
		dump_state(vcpu, what);
		stop(exit_guest_crash, what);
		return RunAction::Stop;
	};
	return std::visit(
		overloaded{
			[&](const IoIn &io) {
				bus_.handle_io(io);
				return RunAction::Continue;
			},
			[&](const IoOut &io) {
				bus_.handle_io(io);
				return RunAction::Continue;
			},
			[&](const MmioRead &m) {
				bus_.handle_mmio(m);
				return RunAction::Continue;
			},
			[&](const MmioWrite &m) {
				bus_.handle_mmio(m);
				return RunAction::Continue;
			},
			[&](const HaltExit &) {
				/* HLT with IF=0 on the BSP: the machine is done (Linux's poweroff
				 * without ACPI). */
				if (vcpu.id() == 0) {
					if (o_.verbose)
						dump_state(vcpu, "HLT with IF=0");
					stop(exit_ok, "vCPU 0 halted with interrupts disabled");
					return RunAction::Stop;
				}
				return RunAction::Continue;
			},
			[&](const ShutdownExit &) { return crash("triple fault"); },
			[&](const FailEntryExit &f) {
				return crash("VM entry failed, reason " +
					     std::to_string(f.hardware_entry_failure_reason) +
					     ", qualification " +
					     std::to_string(f.exit_qualification));
			},
			[&](const InternalErrorExit &ie) {
				std::string d;
				for (auto x : ie.data)
					d += " " + std::to_string(x);
				return crash("internal error: " + std::string(ie.suberror_name()) +
					     ", data" + d);
			},
			[&](const SystemEventExit &se) {
				if (se.is_reset()) {
					stop(exit_ok, "reset requested");
					return RunAction::Stop;
				}
				return crash("system event " + std::to_string(se.type));
			},
			[&](const IoapicEoiExit &eoi) {
				ioapic_->eoi(eoi.vector);
				return RunAction::Continue;
			},
			/* Never asked for: this machine takes no MSRs nor hypercalls. */
			[&](const MsrRead &m) {
				return crash("RDMSR exit for MSR " + hex(m.index));
			},
			[&](const MsrWrite &m) {
				return crash("WRMSR exit for MSR " + hex(m.index));
			},
			[&](const HypercallExit &h) {
				return crash("hypercall exit, nr " + std::to_string(h.nr));
			},
			[&](const vapicvm::DebugExit &d) { return on_debug(vcpu, d); },
			[&](const InterruptedExit &) { return RunAction::Continue; },
			[&](const UnknownExit &u) {
				return crash("unknown exit reason " + std::to_string(u.reason));
			},
		},
		e);
}

void Machine::input_loop(int wake_fd)
{
	bool ctrl_a = false;
	for (;;) {
		pollfd p[2] = {{0, POLLIN, 0}, {wake_fd, POLLIN, 0}};
		if (::poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents)
			return;
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		std::uint8_t buf[256];
		ssize_t n = ::read(0, buf, sizeof(buf));
		if (n <= 0)
			return; /* EOF: no more input, the guest runs on */
		for (ssize_t i = 0; i < n; i++) {
			if (ctrl_a) {
				ctrl_a = false;
				if (buf[i] == 'x') {
					stop(exit_ok, "Ctrl-A x");
					return;
				}
				if (buf[i] != 1)
					uart_->receive(1);
			} else if (buf[i] == 1 && isatty(0)) {
				ctrl_a = true;
				continue;
			}
			uart_->receive(buf[i]);
		}
	}
}

/* SIGINT/SIGTERM: the main loop stops the machine at its next wake-up. */
volatile std::sig_atomic_t stop_signal = 0;

void on_stop_signal(int sig)
{
	stop_signal = sig;
}

void catch_stop_signals()
{
	struct sigaction sa = {};
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	::sigaction(SIGINT, &sa, nullptr);
	::sigaction(SIGTERM, &sa, nullptr);
}

int Machine::run()
{
	auto r = build();
	if (r && o_.gdb_port)
		r = start_gdb();
	if (!r) {
		log(r.error().message());
		return exit_host_failure;
	}
	auto t0 = std::chrono::steady_clock::now();
	std::uint64_t tsc0 = __rdtsc();
	catch_stop_signals();
	for (auto &v : vcpus_) {
		runners_.push_back(std::make_unique<VcpuRunner>(
			std::move(v),
			[this](Vcpu &vc, const VcpuExit &e) { return on_exit(vc, e); }));
	}
	vcpus_.clear();
	if (virtio_) {
		r = virtio_->start();
		if (!r) {
			log(r.error().message());
			return exit_host_failure;
		}
	}
	if (gdb_) {
		std::vector<VcpuRunner *> rs;
		for (auto &rn : runners_)
			rs.push_back(rn.get());
		gdb_->attach(std::move(rs), mem_,
			     [this] { stop(exit_signal, "gdb killed the guest"); });
	}
	for (auto &rn : runners_) {
		auto s = rn->start();
		if (!s) {
			log(s.error().message());
			stop(exit_host_failure, "cannot start a vCPU thread");
			break;
		}
	}
	if (gdb_) {
		auto s = gdb_->start();
		if (!s) {
			log(s.error().message());
			stop(exit_host_failure, "cannot start the gdb stub");
		}
	}

	std::optional<RawTerminal> term;
	int wake[2] = {-1, -1};
	std::thread input;
	if (o_.stdin_input && ::pipe2(wake, O_CLOEXEC) == 0) {
		term.emplace();
		input = std::thread([this, fd = wake[0]] { input_loop(fd); });
	}

	{
		std::unique_lock<std::mutex> g(mu_);
		for (;;) {
			cv_.wait_for(g, std::chrono::milliseconds(200));
			if (stopped_)
				break;
			if (int sig = stop_signal) {
				g.unlock();
				stop(exit_signal, sig == SIGINT ? "SIGINT" : "SIGTERM");
				g.lock();
				continue;
			}
			g.unlock();
			console_flush();
			g.lock();
			/* A runner that died on a RUN error ends the machine. */
			bool failed = false;
			for (auto &rn : runners_)
				failed |= rn->finished() && rn->error().has_value();
			if (failed) {
				g.unlock();
				stop(exit_host_failure, "VAPICVM_RUN failed");
				g.lock();
			}
		}
	}
	auto t1 = std::chrono::steady_clock::now();
	std::uint64_t tsc1 = __rdtsc();
	for (auto &rn : runners_)
		rn->request_stop();
	for (auto &rn : runners_) {
		rn->join();
		if (rn->error())
			log("vCPU " + std::to_string(rn->vcpu().id()) + ": " +
			    rn->error()->message());
	}
	if (virtio_)
		virtio_->stop();
	if (gdb_)
		gdb_->shutdown();
	if (input.joinable()) {
		char c = 0;
		(void)!::write(wake[1], &c, 1);
		input.join();
	}
	if (wake[0] >= 0) {
		::close(wake[0]);
		::close(wake[1]);
	}
	console_flush();
	term.reset();
	/* The runners have joined: their vCPUs are ours again. */
	if (status_ == exit_signal)
		for (auto &rn : runners_)
			dump_state(rn->vcpu(), "stopped by a signal");

	if (o_.stats) {
		for (auto &rn : runners_) {
			Vcpu &v = rn->vcpu();
			auto st = v.stats();
			if (!st)
				continue;
			std::string s = "vCPU " + std::to_string(v.id()) + " stats:";
			for (std::size_t i = 0; i < st->counters.size(); i++)
				if (st->counters[i])
					s += " " + std::string(VcpuStats::name(i)) + "=" +
					     std::to_string(st->counters[i]);
			log(s);
		}
		/* Interrupts per source: the I/O APIC's messages, by pin. */
		if (virtio_)
			log("virtio-blk: " + std::to_string(virtio_->blk().requests()) +
			    " requests, " + std::to_string(virtio_->blk().errors()) +
			    " failed, status " + hex(virtio_->status()));
		for (unsigned pin = 0; pin < IoApic::pins; pin++) {
			auto n = ioapic_ ? ioapic_->delivered(pin) : 0;
			/* The irqfd's messages leave from the kernel, not from the model. */
			if (pin == virtio_pin && virtio_ && virtio_irqfd_)
				n += virtio_->interrupts();
			if (!n)
				continue;
			std::string src = pin_source(pin, virtio_ != nullptr);
			log("I/O APIC: pin " + std::to_string(pin) +
			    (src.empty() ? "" : " (" + src + ")") +
			    " delivered=" + std::to_string(n));
		}
	}
	double secs = std::chrono::duration<double>(t1 - t0).count();
	char buf[96];
	// The TSC delta too: in an emulated machine it counts emulated
	// instructions, a measure that does not depend on the host's load.
	std::snprintf(buf, sizeof(buf), "%.3f s (%llu TSC ticks)", secs,
		      static_cast<unsigned long long>(tsc1 - tsc0));
	log(why_ + "; exit status " + std::to_string(status_) + " after " + buf);
	return status_;
}

} // namespace

int run_machine(const Options &o)
{
	Machine m(o);
	return m.run();
}

} // namespace vrun
