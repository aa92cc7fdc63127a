// SPDX-License-Identifier: GPL-2.0
/*
 * memory-backing-test: MemoryRegion's shared backings and GuestMemory's
 * slot removal and move, with a guest running on vapicvm.  It needs
 * /dev/vapicvm, so the bench's main job runs it in the emulated machine;
 * it prints TAP.
 *
 * The guest (real mode) loops: IN from port 0x500 gives it a segment, it
 * reads the dword at segment:0 and OUTs it to port 0x500.  The main thread
 * changes memory (through a memfd's second mapping, or by moving and
 * removing the slot) while the vCPU thread runs that loop, and waits for
 * the guest to report what it must now see.  A read from guest-physical
 * memory no slot covers is an MMIO exit, answered with 0xffffffff.
 *
 *   1 memfd-shared    a memfd slot: the guest reads what another mapping of
 *                     the fd wrote, while it runs
 *   2 hugetlb-shared  the same with a 2 MiB hugetlbfs memfd (skipped, with
 *                     the reason, when the host has no free huge page or
 *                     its kernel no hugetlbfs)
 *   3 move-slot       GuestMemory::move_slot(): the guest finds the bytes
 *                     at the new address, the old one is MMIO
 *   4 remove-slot     GuestMemory::remove_slot(): the range is MMIO
 */
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <sys/mman.h>
#include <unistd.h>

#include <vapicvm/vmm/vmm.hpp>

using namespace vapicvm;
using namespace vapicvm::vmm;

namespace
{

constexpr std::uint64_t code_gpa = 0x1000;
constexpr std::uint16_t port = 0x500;
constexpr std::uint32_t data_slot = 1;
constexpr std::uint64_t data_gpa = 0x10000;
constexpr std::uint64_t moved_gpa = 0x80000;
constexpr std::uint32_t unbacked = 0xffffffff;

/*
 * mov $0x500,%dx; 1: in (%dx),%ax; mov %ax,%ds; mov 0,%eax;
 * out %eax,(%dx); jmp 1b
 */
constexpr std::uint8_t guest_code[] = {0xba, 0x00, 0x05, 0xed, 0x8e, 0xd8, 0x66,
				       0xa1, 0x00, 0x00, 0x66, 0xef, 0xeb, 0xf5};

int test_number;
bool failed;

void report(bool ok, const char *name, const std::string &why = {})
{
	++test_number;
	if (!ok) {
		failed = true;
		std::printf("# %s: %s\n", name, why.c_str());
	}
	std::printf("%s %d %s\n", ok ? "ok" : "not ok", test_number, name);
	std::fflush(stdout);
}

void skip(const char *name, const std::string &why)
{
	std::printf("ok %d %s # SKIP %s\n", ++test_number, name, why.c_str());
	std::fflush(stdout);
}

/* A VM running the guest loop on its own thread. */
class Machine
{
public:
	static Result<std::unique_ptr<Machine>> start(MemoryRegion data)
	{
		auto sys = System::open();
		if (!sys)
			return std::move(sys).error();
		auto vm = sys->create_vm();
		if (!vm)
			return std::move(vm).error();
		auto code = MemoryRegion::anonymous(0x10000);
		if (!code)
			return std::move(code).error();
		if (auto r = vm->add_memory(0, 0, std::move(*code)); !r)
			return std::move(r).error();
		if (auto r = vm->add_memory(data_slot, data_gpa, std::move(data)); !r)
			return std::move(r).error();
		auto m = std::unique_ptr<Machine>(new Machine(std::move(*vm)));
		m->mem = GuestMemory(m->vm.memory_slots());
		if (auto r = m->mem.write(code_gpa, guest_code); !r)
			return std::move(r).error();
		auto vcpu = m->vm.create_vcpu(0);
		if (!vcpu)
			return std::move(vcpu).error();
		auto sregs = vcpu->sregs();
		if (!sregs)
			return std::move(sregs).error();
		sregs->cs.selector = 0;
		sregs->cs.base = 0;
		if (auto r = vcpu->set_sregs(*sregs); !r)
			return std::move(r).error();
		vapicvm_regs regs{};
		regs.rip = code_gpa;
		regs.rflags = 2;
		if (auto r = vcpu->set_regs(regs); !r)
			return std::move(r).error();
		m->runner.emplace(std::move(*vcpu),
				  [p = m.get()](Vcpu &, const VcpuExit &e) { return p->exit(e); });
		if (auto r = m->runner->start(); !r)
			return std::move(r).error();
		return m;
	}

	~Machine() { stop(); }

	/*
	 * Point the guest at segment seg, and wait for a read that began after
	 * every change made so far: its value.
	 */
	std::optional<std::uint32_t> read(std::uint16_t seg)
	{
		segment.store(seg);
		const auto n = reads.load();
		const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
		while (reads.load() < n + 2) {
			if (runner->finished() || std::chrono::steady_clock::now() > limit)
				return std::nullopt;
			std::this_thread::sleep_for(std::chrono::microseconds(200));
		}
		return last.load();
	}

	/* Stop the loop; the error that ended it early, if any. */
	std::string stop()
	{
		if (!runner)
			return {};
		stopping.store(true);
		runner->join();
		std::string why = unexpected;
		if (runner->error())
			why = runner->error()->message();
		runner.reset();
		return why;
	}

	std::uint64_t mmio_reads() const { return mmio.load(); }

	Vm vm;
	GuestMemory mem;

private:
	explicit Machine(Vm v) : vm(std::move(v)) {}

	RunAction exit(const VcpuExit &e)
	{
		return std::visit(overloaded{
					  [&](const IoIn &in) {
						  in.complete(segment.load());
						  return RunAction::Continue;
					  },
					  [&](const IoOut &out) {
						  if (out.port != port)
							  return fail("OUT to another port");
						  last.store(out.value());
						  reads.fetch_add(1);
						  return stopping.load() ? RunAction::Stop
									 : RunAction::Continue;
					  },
					  [&](const MmioRead &rd) {
						  mmio.fetch_add(1);
						  rd.complete(unbacked);
						  return RunAction::Continue;
					  },
					  [&](const auto &other) {
						  return fail("unexpected exit " +
							      std::string(exit_name(other)));
					  },
				  },
				  e);
	}

	RunAction fail(std::string why)
	{
		unexpected = std::move(why);
		return RunAction::Stop;
	}

	std::atomic<std::uint16_t> segment{data_gpa >> 4};
	std::atomic<std::uint64_t> reads{0};
	std::atomic<std::uint32_t> last{0};
	std::atomic<std::uint64_t> mmio{0};
	std::atomic<bool> stopping{false};
	std::string unexpected;
	std::optional<VcpuRunner> runner;
};

std::string hex(std::optional<std::uint32_t> v)
{
	if (!v)
		return "no read (guest stopped or timed out)";
	char buf[16];
	std::snprintf(buf, sizeof(buf), "%#x", *v);
	return buf;
}

/* The guest reads what a second MAP_SHARED mapping of the region's fd writes. */
void shared(const char *name, MemoryRegion data)
{
	const std::size_t size = data.size();
	void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, data.fd(), 0);
	if (p == MAP_FAILED)
		return report(false, name, "mmap of the region's fd failed");
	auto *other = static_cast<std::uint32_t *>(p);
	other[0] = 0x11111111;
	std::string why;
	auto m = Machine::start(std::move(data));
	if (!m) {
		why = m.error().message();
	} else {
		auto first = (*m)->read(data_gpa >> 4);
		/* Now the guest has the page mapped: the next write must reach it too. */
		other[0] = 0x22222222;
		auto second = (*m)->read(data_gpa >> 4);
		why = (*m)->stop();
		if (first != 0x11111111u)
			why = "first read " + hex(first) + ", expected 0x11111111";
		else if (second != 0x22222222u)
			why = "read after the other mapping's write " + hex(second) +
			      ", expected 0x22222222";
	}
	::munmap(p, size);
	report(why.empty(), name, why);
}

void move_and_remove()
{
	auto data = MemoryRegion::memfd(0x10000);
	if (!data) {
		report(false, "move-slot", data.error().message());
		return report(false, "remove-slot", "not run");
	}
	auto started = Machine::start(std::move(*data));
	if (!started) {
		report(false, "move-slot", started.error().message());
		return report(false, "remove-slot", "not run");
	}
	auto &m = **started;
	std::string why;
	(void)m.mem.write_obj<std::uint32_t>(data_gpa, 0x0badcafe);
	auto before = m.read(data_gpa >> 4);
	/* The guest keeps reading the old place while the slot moves under it. */
	auto moved = m.mem.move_slot(m.vm, data_slot, moved_gpa);
	const auto mmio_before = m.mmio_reads();
	auto old_place = m.read(data_gpa >> 4);
	auto new_place = m.read(moved_gpa >> 4);
	auto lookup = m.mem.read_obj<std::uint32_t>(moved_gpa);
	(void)m.mem.write_obj<std::uint32_t>(moved_gpa, 0x5eed5eed);
	auto written = m.read(moved_gpa >> 4);
	if (before != 0x0badcafeu)
		why = "before the move: " + hex(before);
	else if (!moved)
		why = "move_slot: " + moved.error().message();
	else if (old_place != unbacked || m.mmio_reads() == mmio_before)
		why = "the old place after the move: " + hex(old_place) + ", not MMIO";
	else if (new_place != 0x0badcafeu)
		why = "the new place: " + hex(new_place) + ", expected 0xbadcafe";
	else if (!lookup || *lookup != 0x0badcafeu || m.mem.contains(data_gpa))
		why = "GuestMemory lookups did not follow the move";
	else if (written != 0x5eed5eedu)
		why = "a write through GuestMemory at the new place: guest read " + hex(written);
	else if (m.vm.memory_slots().back().gpa != moved_gpa)
		why = "Vm's slot still names the old address";
	report(why.empty(), "move-slot", why);

	why.clear();
	auto removed = m.mem.remove_slot(m.vm, data_slot);
	auto gone = m.read(moved_gpa >> 4);
	auto again = m.mem.remove_slot(m.vm, data_slot);
	if (!removed)
		why = "remove_slot: " + removed.error().message();
	else if (gone != unbacked)
		why = "the removed range reads " + hex(gone) + ", not MMIO";
	else if (m.mem.contains(moved_gpa) || m.vm.memory_slots().size() != 1)
		why = "the slot is still listed";
	else if (again || again.error().errno_value() != ENOENT)
		why = "removing it twice did not fail with ENOENT";
	if (auto stop_why = m.stop(); !stop_why.empty() && why.empty())
		why = stop_why;
	report(why.empty(), "remove-slot", why);
}

} // namespace

int main()
{
	std::printf("TAP version 13\n1..4\n");
	std::fflush(stdout);

	auto memfd = MemoryRegion::memfd(0x10000);
	if (memfd)
		shared("memfd-shared", std::move(*memfd));
	else
		report(false, "memfd-shared", memfd.error().message());

	auto huge = MemoryRegion::hugetlb(std::size_t{2} << 20);
	if (access("/proc/sys/vm/nr_hugepages", F_OK) != 0)
		skip("hugetlb-shared", "this kernel has no hugetlbfs");
	else if (huge)
		shared("hugetlb-shared", std::move(*huge));
	else if (huge.error().errno_value() == ENOMEM || huge.error().errno_value() == ENOENT)
		skip("hugetlb-shared", huge.error().message());
	else
		report(false, "hugetlb-shared", huge.error().message());

	move_and_remove();
	return failed ? 1 : 0;
}
