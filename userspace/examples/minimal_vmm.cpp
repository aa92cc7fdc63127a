// SPDX-License-Identifier: GPL-2.0
/*
 * minimal_vmm: the smallest complete VMM on libvapicvm.
 *
 * One vCPU in real mode runs a 30-byte program that writes a greeting to
 * port 0x3f8, one byte per OUT, and halts with interrupts disabled.  The
 * vCPU runs on its own thread (vmm::VcpuRunner, from the helper layer);
 * the exit handler prints what the guest writes and stops at the halt.
 * Every failure is a Result whose error names the operation.
 */
#include <cstdio>
#include <string>

#include <vapicvm/vmm/vmm.hpp>

using namespace vapicvm;
using namespace vapicvm::vmm;

namespace
{

constexpr std::uint64_t code_gpa = 0x1000;

/* mov $0x3f8,%dx; mov $0x1010,%si; 1: lodsb; test %al,%al; jz 2f; out %al,(%dx); jmp 1b; 2: hlt */
constexpr std::uint8_t guest_code[] = {0xba, 0xf8, 0x03, 0xbe, 0x10, 0x10, 0xac, 0x84,
				       0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4};
constexpr char greeting[] = "Hello from a vapicvm guest\n";

int fail(const Error &e)
{
	std::fprintf(stderr, "minimal_vmm: %s\n", e.message().c_str());
	return 1;
}

} // namespace

int main()
{
	/* The system: /dev/vapicvm, its API version and capabilities. */
	auto sys = System::open();
	if (!sys)
		return fail(sys.error());
	auto apicv = sys->supported_apicv();
	if (!apicv)
		return fail(apicv.error());
	std::printf("host APIC virtualization: %s\n", apicv->to_string().c_str());

	/* A VM using every APIC-virtualization feature the host has. */
	auto vm = sys->create_vm(VmOptions{*apicv});
	if (!vm)
		return fail(vm.error());

	/* 64 KiB of RAM at guest-physical 0, owned by the VM from here on. */
	auto ram = MemoryRegion::anonymous(0x10000);
	if (!ram)
		return fail(ram.error());
	if (auto r = vm->add_memory(0, 0, std::move(*ram)); !r)
		return fail(r.error());
	GuestMemory mem(vm->memory_slots());
	if (auto r = mem.write(code_gpa, guest_code); !r)
		return fail(r.error());
	if (auto r = mem.write(
		    code_gpa + 0x10,
		    std::span(reinterpret_cast<const std::uint8_t *>(greeting), sizeof(greeting)));
	    !r)
		return fail(r.error());

	/* vCPU 0 starts in real mode; point CS:IP at the program. */
	auto vcpu = vm->create_vcpu(0);
	if (!vcpu)
		return fail(vcpu.error());
	auto sregs = vcpu->sregs();
	if (!sregs)
		return fail(sregs.error());
	sregs->cs.selector = 0;
	sregs->cs.base = 0;
	if (auto r = vcpu->set_sregs(*sregs); !r)
		return fail(r.error());
	vapicvm_regs regs{};
	regs.rip = code_gpa;
	regs.rflags = 2; /* interrupts off: the final HLT comes back to us */
	if (auto r = vcpu->set_regs(regs); !r)
		return fail(r.error());

	/* Run it on its own thread until the handler says stop. */
	std::string output;
	bool halted = false;
	VcpuRunner runner(std::move(*vcpu), [&](Vcpu &, const VcpuExit &exit) {
		return std::visit(overloaded{
					  [&](const IoOut &out) {
						  if (out.port == 0x3f8)
							  output += static_cast<char>(out.value());
						  return RunAction::Continue;
					  },
					  [&](const IoIn &in) {
						  in.complete(0xffffffff); /* nothing there */
						  return RunAction::Continue;
					  },
					  [&](const HaltExit &) {
						  halted = true;
						  return RunAction::Stop;
					  },
					  [&](const auto &other) {
						  std::fprintf(
							  stderr, "unexpected exit: %s\n",
							  std::string(exit_name(other)).c_str());
						  return RunAction::Stop;
					  },
				  },
				  exit);
	});
	if (auto r = runner.start(); !r)
		return fail(r.error());
	runner.join();
	if (runner.error())
		return fail(*runner.error());

	std::printf("guest said: %s", output.c_str());
	if (auto stats = runner.vcpu().stats())
		std::printf("exits: %llu, to userspace: %llu\n",
			    static_cast<unsigned long long>((*stats)[VAPICVM_STAT_EXITS]),
			    static_cast<unsigned long long>((*stats)[VAPICVM_STAT_EXIT_USERSPACE]));
	return halted && output == greeting ? 0 : 1;
}
