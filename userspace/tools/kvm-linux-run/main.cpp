// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-linux-run: the Linux guest of the bench's main job booted on KVM
 * (kvm_intel) instead of vapicvm, for `make bench`'s side-by-side boot.
 *
 * The same machine as vapicvm-run builds (its loader, MP table, guest
 * CPUID, memory map and port devices), on KVM with the split irqchip: the
 * local APICs in KVM and no PIC, as on vapicvm, but no I/O APIC either (the
 * MP table lists none), so the guest's serial port has no interrupt: its
 * tty writes are lost and only the kernel log reaches the output, through
 * the polled printk console.  KVM's own paravirtual CPUID leaves are left
 * out so that both guests see the same CPU and take the same paths (TSC,
 * local APIC timer, no kvmclock).
 *
 * With the local APIC in the kernel, KVM keeps HLT to itself, so the end of
 * the boot is the guest kernel's last console line ("reboot: System
 * halted" or "reboot: Power down"), a reset, or a triple fault; vapicvm-run
 * ends a few thousand instructions later, at vCPU 0's HLT.  At the end it prints, on stderr, the
 * TSC ticks from the first entry to that point and KVM's exit counters summed over the vCPUs (its
 * binary statistics, KVM_GET_STATS_FD), in the form vapicvm-run --stats uses: kvm-linux-run: stats:
 * exits=N io_exits=N ... kvm-linux-run: <why>; exit status S after X s (N TSC ticks)
 *
 * Usage: kvm-linux-run -m MEM_MIB -c CPUS -k BZIMAGE -i INITRD -p CMDLINE
 */
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <vapicvm/vmm/guest_memory.hpp>

#include "boot.hpp"
#include "cpuid_setup.hpp"
#include "devices.hpp"
#include "machine.hpp"
#include "tables.hpp"

namespace
{

using namespace vrun;
using vapicvm::vmm::CpuidTable;
using vapicvm::vmm::GuestMemory;

/* The guest kernel's last console line on halt or power-off (kernel/reboot.c). */
constexpr const char *halted_lines[] = {"reboot: System halted", "reboot: Power down"};

/*
 * struct kvm_cpuid2 and struct kvm_stats_desc end in __DECLARE_FLEX_ARRAY,
 * which some UAPI headers expand to a member of size 4 in C++: their size,
 * the ioctl numbers built from it and the offsets after it would be wrong.
 * The layouts, as the kernel has them:
 */
struct CpuidHeader {
	std::uint32_t nent;
	std::uint32_t padding;
	/* struct kvm_cpuid_entry2 entries[nent] */
};
struct StatsDesc {
	std::uint32_t flags;
	std::int16_t exponent;
	std::uint16_t size;
	std::uint32_t offset;
	std::uint32_t bucket_size;
	/* char name[header.name_size] */
};
struct MsrsHeader {
	std::uint32_t nmsrs;
	std::uint32_t pad;
	/* struct kvm_msr_entry entries[nmsrs] */
};
static_assert(sizeof(CpuidHeader) == 8 && sizeof(StatsDesc) == 16 && sizeof(MsrsHeader) == 8);
constexpr unsigned long get_supported_cpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long set_cpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
constexpr unsigned long get_msrs = _IOWR(KVMIO, 0x88, MsrsHeader);
constexpr unsigned long set_msrs = _IOW(KVMIO, 0x89, MsrsHeader);

struct OneMsr {
	MsrsHeader header{1, 0};
	kvm_msr_entry entry{};
};
constexpr unsigned int max_cpuid_entries = 256;

/* A struct kvm_cpuid2 with room for max_cpuid_entries. */
struct CpuidBuffer {
	CpuidHeader header{max_cpuid_entries, 0};
	kvm_cpuid_entry2 entries[max_cpuid_entries]{};
};

static_assert(sizeof(vapicvm_cpuid_entry) == sizeof(kvm_cpuid_entry2));
static_assert(sizeof(vapicvm_segment) == sizeof(kvm_segment));

[[noreturn]] void die(const std::string &what)
{
	std::fprintf(stderr, "kvm-linux-run: %s: %s\n", what.c_str(), std::strerror(errno));
	std::exit(exit_host_failure);
}

void log(const std::string &s)
{
	std::fprintf(stderr, "kvm-linux-run: %s\n", s.c_str());
}

int xioctl(int fd, unsigned long req, unsigned long arg, const char *what)
{
	int r = ::ioctl(fd, req, arg);
	if (r < 0)
		die(what);
	return r;
}

std::vector<std::uint8_t> read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	if (!f)
		die("open " + path);
	return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

kvm_segment to_kvm(const vapicvm_segment &s)
{
	kvm_segment k{};
	std::memcpy(&k, &s, sizeof(k));
	return k;
}

struct KvmOptions {
	std::uint64_t mem_bytes = 256ull << 20;
	unsigned cpus = 1;
	std::string kernel, initrd, cmdline;
};

KvmOptions parse(int argc, char **argv)
{
	KvmOptions o;
	int c;
	while ((c = ::getopt(argc, argv, "m:c:k:i:p:")) != -1) {
		switch (c) {
		case 'm':
			o.mem_bytes = std::stoull(optarg) << 20;
			break;
		case 'c':
			o.cpus = static_cast<unsigned>(std::stoul(optarg));
			break;
		case 'k':
			o.kernel = optarg;
			break;
		case 'i':
			o.initrd = optarg;
			break;
		case 'p':
			o.cmdline = optarg;
			break;
		default:
			std::fprintf(stderr, "usage: kvm-linux-run -m MIB -c CPUS -k BZIMAGE "
					     "[-i INITRD] [-p CMDLINE]\n");
			std::exit(exit_usage);
		}
	}
	if (o.kernel.empty() || o.cpus < 1 || o.cpus > 64) {
		std::fprintf(stderr, "kvm-linux-run: -k and 1..64 CPUs wanted\n");
		std::exit(exit_usage);
	}
	return o;
}

/*
 * The vCPU's APIC ID in its CPUID (leaf 1 EBX[31:24], the x2APIC ID of
 * leaves 0xb and 0x1f): KVM leaves it to the VMM, vapicvm's kernel fills
 * it in.
 */
void set_apic_id(CpuidBuffer &cpuid, unsigned id)
{
	for (std::uint32_t i = 0; i < cpuid.header.nent; i++) {
		kvm_cpuid_entry2 &e = cpuid.entries[i];
		if (e.function == 1)
			e.ebx = (e.ebx & 0x00ffffffu) | (id << 24);
		else if (e.function == 0xb || e.function == 0x1f)
			e.edx = id;
	}
}

/*
 * IA32_MISC_ENABLE's fast-string bit, which KVM's reset value leaves clear
 * and vapicvm's sets: the guest kernel turns fast string operations off
 * without it.
 */
void enable_fast_strings(int vcpu_fd)
{
	constexpr std::uint32_t misc_enable = 0x1a0;
	OneMsr m;
	m.entry.index = misc_enable;
	if (::ioctl(vcpu_fd, get_msrs, &m) != 1)
		die("KVM_GET_MSRS IA32_MISC_ENABLE");
	m.entry.data |= 1; /* FAST_STRING */
	if (::ioctl(vcpu_fd, set_msrs, &m) != 1)
		die("KVM_SET_MSRS IA32_MISC_ENABLE");
}

class KvmMachine
{
public:
	explicit KvmMachine(const KvmOptions &o) : o_(o), bus_(log) {}
	int run();

private:
	void build();
	void vcpu_loop(unsigned i);
	void stop(int status, const std::string &why);
	void console_put(std::uint8_t b);
	std::map<std::string, std::uint64_t> stats() const;

	struct VcpuFd {
		int fd = -1;
		kvm_run *run = nullptr;
		pthread_t thread{};
	};

	const KvmOptions &o_;
	int kvm_ = -1, vm_ = -1;
	std::size_t run_size_ = 0;
	GuestMemory mem_;
	std::vector<VcpuFd> vcpus_;
	IoBus bus_;
	std::string line_;
	std::mutex out_mu_;
	std::mutex mu_;
	std::atomic<bool> stopping_{false};
	int status_ = exit_ok;
	std::string why_;
	std::uint64_t tsc_end_ = 0;
};

void KvmMachine::stop(int status, const std::string &why)
{
	std::lock_guard<std::mutex> g(mu_);
	if (stopping_.load())
		return;
	tsc_end_ = __rdtsc();
	status_ = status;
	why_ = why;
	stopping_.store(true);
	/* Every vCPU leaves KVM_RUN: immediate_exit for the next call, a signal for this one. */
	for (auto &v : vcpus_) {
		v.run->immediate_exit = 1;
		if (v.thread)
			pthread_kill(v.thread, SIGUSR1);
	}
}

void KvmMachine::console_put(std::uint8_t b)
{
	std::lock_guard<std::mutex> g(out_mu_);
	if (b != '\n') {
		if (b != '\r')
			line_ += static_cast<char>(b);
		return;
	}
	std::fprintf(stdout, "%s\n", line_.c_str());
	std::fflush(stdout);
	bool done = false;
	for (const char *end : halted_lines)
		done |= line_.find(end) != std::string::npos;
	line_.clear();
	if (done)
		stop(exit_ok, "the guest halted");
}

void KvmMachine::build()
{
	kvm_ = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_ < 0)
		die("/dev/kvm");
	vm_ = xioctl(kvm_, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
	run_size_ = static_cast<std::size_t>(
		xioctl(kvm_, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE"));
	xioctl(vm_, KVM_SET_TSS_ADDR, 0xfffbd000ul, "KVM_SET_TSS_ADDR");
	/* The local APICs in KVM, nothing else: vapicvm's irqchip. */
	kvm_enable_cap split{};
	split.cap = KVM_CAP_SPLIT_IRQCHIP;
	split.args[0] = 24;
	xioctl(vm_, KVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&split),
	       "KVM_CAP_SPLIT_IRQCHIP");

	auto map = MemoryMap::for_size(o_.mem_bytes);
	auto add_ram = [&](std::uint32_t slot, std::uint64_t gpa, std::uint64_t size) {
		void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			die("mmap guest memory");
		kvm_userspace_memory_region r{};
		r.slot = slot;
		r.guest_phys_addr = gpa;
		r.memory_size = size;
		r.userspace_addr = reinterpret_cast<std::uint64_t>(p);
		xioctl(vm_, KVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r),
		       "KVM_SET_USER_MEMORY_REGION");
		if (!mem_.add(gpa, {static_cast<std::uint8_t *>(p), size}))
			die("guest memory map");
	};
	add_ram(0, 0, map.lowmem_end);
	if (map.highmem_size)
		add_ram(1, layout::high_base, map.highmem_size);

	/* CPUID: KVM's, without its paravirtual leaves, set up as vapicvm-run does. */
	auto cpuid = std::make_unique<CpuidBuffer>();
	xioctl(kvm_, get_supported_cpuid, reinterpret_cast<unsigned long>(cpuid.get()),
	       "KVM_GET_SUPPORTED_CPUID");
	std::vector<vapicvm_cpuid_entry> entries;
	for (std::uint32_t i = 0; i < cpuid->header.nent; i++) {
		if ((cpuid->entries[i].function & 0xffff0000u) == 0x40000000u)
			continue;
		vapicvm_cpuid_entry e;
		std::memcpy(&e, &cpuid->entries[i], sizeof(e));
		entries.push_back(e);
	}
	std::uint32_t tsc_khz = 0;
	if (auto k = host_tsc_khz())
		tsc_khz = *k;
	auto table = build_guest_cpuid(CpuidTable(std::move(entries)), {o_.cpus, tsc_khz});
	if (!table) {
		log(table.error().message());
		std::exit(exit_host_failure);
	}
	if (table->size() > max_cpuid_entries)
		die("guest CPUID too large");
	cpuid->header.nent = static_cast<std::uint32_t>(table->size());
	std::memcpy(cpuid->entries, table->entries().data(),
		    table->size() * sizeof(kvm_cpuid_entry2));

	MpTableCpu mpcpu;
	if (const auto *l1 = table->find(1)) {
		mpcpu.signature = l1->eax;
		mpcpu.feature_flags = l1->edx;
	}
	if (!mem_.write(layout::mptable,
			build_mptable(layout::mptable, o_.cpus, mpcpu, std::nullopt)))
		die("MP table");

	auto image = read_file(o_.kernel);
	std::vector<std::uint8_t> initrd;
	if (!o_.initrd.empty())
		initrd = read_file(o_.initrd);
	auto entry = load_bzimage(mem_, map, image, initrd, o_.cmdline);
	if (!entry) {
		log(entry.error().message());
		std::exit(exit_host_failure);
	}

	/* vCPU 0 boots; KVM keeps the others in wait-for-SIPI. */
	for (unsigned i = 0; i < o_.cpus; i++) {
		VcpuFd v;
		v.fd = xioctl(vm_, KVM_CREATE_VCPU, i, "KVM_CREATE_VCPU");
		void *run = ::mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd, 0);
		if (run == MAP_FAILED)
			die("mmap kvm_run");
		v.run = static_cast<kvm_run *>(run);
		set_apic_id(*cpuid, i);
		xioctl(v.fd, set_cpuid2, reinterpret_cast<unsigned long>(cpuid.get()),
		       "KVM_SET_CPUID2");
		enable_fast_strings(v.fd);
		vcpus_.push_back(v);
	}
	vapicvm_sregs vs{};
	vapicvm_regs vr{};
	apply_entry(*entry, vs, vr);
	kvm_sregs s{};
	xioctl(vcpus_[0].fd, KVM_GET_SREGS, reinterpret_cast<unsigned long>(&s), "KVM_GET_SREGS");
	s.cs = to_kvm(vs.cs);
	s.ds = to_kvm(vs.ds);
	s.es = to_kvm(vs.es);
	s.fs = to_kvm(vs.fs);
	s.gs = to_kvm(vs.gs);
	s.ss = to_kvm(vs.ss);
	s.tr = to_kvm(vs.tr);
	s.ldt = to_kvm(vs.ldt);
	s.gdt.base = vs.gdt.base;
	s.gdt.limit = vs.gdt.limit;
	s.idt.base = vs.idt.base;
	s.idt.limit = vs.idt.limit;
	s.cr0 = vs.cr0;
	s.cr3 = vs.cr3;
	s.cr4 = vs.cr4;
	s.efer = vs.efer;
	xioctl(vcpus_[0].fd, KVM_SET_SREGS, reinterpret_cast<unsigned long>(&s), "KVM_SET_SREGS");
	kvm_regs r{};
	r.rip = vr.rip;
	r.rsp = vr.rsp;
	r.rsi = vr.rsi;
	r.rflags = vr.rflags;
	xioctl(vcpus_[0].fd, KVM_SET_REGS, reinterpret_cast<unsigned long>(&r), "KVM_SET_REGS");

	/* The same port devices as vapicvm-run. */
	bus_.add(0x3f8, 8,
		 std::make_shared<Uart16550>(0x3f8, [this](std::uint8_t b) { console_put(b); }));
	add_system_ports(bus_, [this](SystemControl::Event ev) {
		stop(exit_ok,
		     ev == SystemControl::Event::Reset ? "reset requested" : "power off requested");
	});
}

void KvmMachine::vcpu_loop(unsigned i)
{
	VcpuFd &v = vcpus_[i];
	kvm_run *run = v.run;
	auto *base = reinterpret_cast<std::uint8_t *>(run);

	while (!stopping_.load()) {
		if (::ioctl(v.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			stop(exit_host_failure, "KVM_RUN: " + std::string(std::strerror(errno)));
			return;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			std::size_t bytes = std::size_t(run->io.size) * run->io.count;
			std::span<std::uint8_t> data(base + run->io.data_offset, bytes);
			auto dispatch = [&](auto io) {
				io.port = run->io.port;
				io.size = run->io.size;
				io.count = run->io.count;
				io.data = data;
				bus_.handle_io(io);
			};
			if (run->io.direction == KVM_EXIT_IO_OUT)
				dispatch(vapicvm::IoOut{});
			else
				dispatch(vapicvm::IoIn{});
			break;
		}
		case KVM_EXIT_MMIO: {
			std::span<std::uint8_t> data(run->mmio.data,
						     run->mmio.len <= 8 ? run->mmio.len : 8);
			if (run->mmio.is_write) {
				vapicvm::MmioWrite m;
				m.gpa = run->mmio.phys_addr;
				m.data = data;
				bus_.handle_mmio(m);
			} else {
				vapicvm::MmioRead m;
				m.gpa = run->mmio.phys_addr;
				m.data = data;
				bus_.handle_mmio(m);
			}
			break;
		}
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			stop(exit_guest_crash, "triple fault");
			return;
		case KVM_EXIT_SYSTEM_EVENT:
			stop(exit_ok, "system event " + std::to_string(run->system_event.type));
			return;
		default:
			stop(exit_guest_crash, "vCPU " + std::to_string(i) + ": exit reason " +
						       std::to_string(run->exit_reason));
			return;
		}
	}
}

/* KVM's per-vCPU cumulative counters (binary statistics), summed over the vCPUs. */
std::map<std::string, std::uint64_t> KvmMachine::stats() const
{
	std::map<std::string, std::uint64_t> sum;
	for (const auto &v : vcpus_) {
		int fd = ::ioctl(v.fd, KVM_GET_STATS_FD, 0);
		if (fd < 0)
			continue;
		kvm_stats_header h{};
		if (::pread(fd, &h, sizeof(h), 0) != sizeof(h)) {
			::close(fd);
			continue;
		}
		std::size_t desc_size = sizeof(StatsDesc) + h.name_size;
		std::vector<std::uint8_t> descs(desc_size * h.num_desc);
		if (::pread(fd, descs.data(), descs.size(), h.desc_offset) !=
		    static_cast<ssize_t>(descs.size())) {
			::close(fd);
			continue;
		}
		for (std::uint32_t d = 0; d < h.num_desc; d++) {
			StatsDesc desc;
			const std::uint8_t *at = descs.data() + d * desc_size;
			const char *name_at = reinterpret_cast<const char *>(at + sizeof(desc));
			std::memcpy(&desc, at, sizeof(desc));
			std::string name(name_at, strnlen(name_at, h.name_size));
			if ((desc.flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE ||
			    desc.size != 1)
				continue;
			std::uint64_t val;
			if (::pread(fd, &val, sizeof(val), h.data_offset + desc.offset) ==
			    sizeof(val))
				sum[name] += val;
		}
		::close(fd);
	}
	return sum;
}

void on_sigusr1(int) {}

int KvmMachine::run()
{
	build();
	struct sigaction sa = {};
	sa.sa_handler = on_sigusr1; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigemptyset(&sa.sa_mask);
	::sigaction(SIGUSR1, &sa, nullptr);

	auto t0 = std::chrono::steady_clock::now();
	std::uint64_t tsc0 = __rdtsc();
	std::vector<std::thread> threads;
	{
		std::lock_guard<std::mutex> g(mu_);
		for (unsigned i = 0; i < vcpus_.size(); i++) {
			threads.emplace_back([this, i] { vcpu_loop(i); });
			vcpus_[i].thread = threads.back().native_handle();
		}
	}
	for (auto &t : threads)
		t.join();
	auto t1 = std::chrono::steady_clock::now();

	std::string s = "stats:";
	for (const auto &[name, value] : stats())
		if (value)
			s += " " + name + "=" + std::to_string(value);
	log(s);
	char buf[96];
	std::snprintf(buf, sizeof(buf), "%.3f s (%llu TSC ticks)",
		      std::chrono::duration<double>(t1 - t0).count(),
		      static_cast<unsigned long long>(tsc_end_ - tsc0));
	log(why_ + "; exit status " + std::to_string(status_) + " after " + buf);
	return status_;
}

} // namespace

int main(int argc, char **argv)
{
	KvmOptions o = parse(argc, argv);
	KvmMachine m(o);
	return m.run();
}
