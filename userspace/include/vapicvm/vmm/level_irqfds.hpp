// SPDX-License-Identifier: GPL-2.0
/*
 * Level-triggered lines raised through eventfds, for a split irqchip: what
 * KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE does with KVM's in-kernel I/O
 * APIC, done in the VMM because the I/O APIC is the VMM's (as QEMU does
 * for KVM's split irqchip).  A device outside the VMM's threads (another
 * process, a device thread) writes its trigger eventfd: the pin's line is
 * asserted in the IoApic.  The guest's EOI (IoapicEoiExit -> IoApic::eoi())
 * clears the remote IRR, drops the line and writes 1 to the resample
 * eventfd; the device writes the trigger again if it still needs service.
 * Edge-triggered lines need none of this: Vm::add_irqfd() on a GSI whose
 * route follows the pin (IoApic::set_route()) delivers from the kernel.
 */
#ifndef VAPICVM_VMM_LEVEL_IRQFDS_HPP
#define VAPICVM_VMM_LEVEL_IRQFDS_HPP

#include <map>
#include <mutex>
#include <thread>

#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/vmm/ioapic.hpp"

namespace vapicvm::vmm
{

class LevelIrqfds
{
public:
	/* ioapic must outlive this object. */
	explicit LevelIrqfds(IoApic &ioapic) noexcept : ioapic_(ioapic) {}
	/* Stops the thread and turns every pin's resampling off. */
	~LevelIrqfds();
	LevelIrqfds(const LevelIrqfds &) = delete;
	LevelIrqfds &operator=(const LevelIrqfds &) = delete;

	/* Start the thread that reads the trigger eventfds. */
	Result<void> start();
	/*
	 * Drive pin from trigger, resampling through resample (both eventfds,
	 * kept open by the caller while registered).  EBUSY if pin has one.
	 */
	Result<void> add(unsigned pin, int trigger_fd, int resample_fd);
	/* Stop driving pin, and drop its line.  ENOENT if it had none. */
	Result<void> remove(unsigned pin);

private:
	void loop();
	void wake();

	IoApic &ioapic_;
	UniqueFd wake_fd_; /* an eventfd: the set changed, or stop */
	std::mutex mu_;
	std::map<unsigned, int> triggers_; /* pin -> trigger eventfd */
	bool stopping_ = false;
	std::thread thread_;
};

} // namespace vapicvm::vmm

#endif
