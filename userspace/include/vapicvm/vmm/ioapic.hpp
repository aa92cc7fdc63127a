// SPDX-License-Identifier: GPL-2.0
/*
 * An I/O APIC (the 82093AA's register interface, version 0x20) for a VMM
 * with a split irqchip: the local APICs are vapicvm's, in the kernel; the
 * I/O APIC is the VMM's.  Each redirection entry turns a device's line into
 * an MSI-shaped message (Vm::signal_msi()); a level-triggered entry then
 * holds its remote IRR until the guest's EOI reaches the VMM
 * (VAPICVM_CAP_IOAPIC_EOI, IoapicEoiExit), and delivers again if the line
 * is still asserted.
 */
#ifndef VAPICVM_VMM_IOAPIC_HPP
#define VAPICVM_VMM_IOAPIC_HPP

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "vapicvm/vm.hpp"

namespace vapicvm::vmm
{

class IoApic
{
public:
	static constexpr std::uint64_t default_base = 0xfec00000;
	static constexpr std::uint64_t mmio_size = 0x1000;
	static constexpr unsigned pins = 24;
	static constexpr std::uint8_t version = 0x20; /* has the EOI register */

	/* Redirection-entry fields (82093AA, 3.2.4). */
	static constexpr std::uint64_t vector_mask = 0xff;
	static constexpr std::uint64_t delivery_mode_mask = 7u << 8;
	static constexpr std::uint64_t dest_logical = 1u << 11;
	static constexpr std::uint64_t delivery_status = 1u << 12;
	static constexpr std::uint64_t polarity_low = 1u << 13;
	static constexpr std::uint64_t remote_irr = 1u << 14;
	static constexpr std::uint64_t level_triggered = 1u << 15;
	static constexpr std::uint64_t masked = 1u << 16;
	static constexpr unsigned dest_shift = 56;

	/* Register offsets in the MMIO window. */
	static constexpr std::uint64_t reg_select = 0x00;
	static constexpr std::uint64_t reg_window = 0x10;
	static constexpr std::uint64_t reg_eoi = 0x40;

	/*
	 * deliver sends one message; it is called with the I/O APIC's lock held,
	 * so it must not call back into this object.  Usually
	 * [&vm](const Msi &m) { (void)vm.signal_msi(m); }.
	 */
	using Deliver = std::function<void(const Msi &)>;
	explicit IoApic(Deliver deliver, std::uint8_t id = 0);

	/*
	 * The guest's 32-bit accesses to the window, offset from its base.
	 * Other offsets read as 0 and ignore writes, as the chip does.
	 */
	std::uint32_t mmio_read(std::uint64_t offset);
	void mmio_write(std::uint64_t offset, std::uint32_t value);

	/*
	 * A device's line, as the device sees it (asserted or not): polarity
	 * is the wiring's business, as in KVM's and QEMU's models.  Edge
	 * entries deliver on each assertion; level entries while asserted,
	 * once per EOI.
	 */
	void set_line(unsigned pin, bool asserted);
	/* An IoapicEoiExit: clear the remote IRR of level entries with vector. */
	void eoi(std::uint8_t vector);

	/*
	 * Kernel routes for irqfds (Vm::set_gsi_route): route(pin, msi) is
	 * called now for every pin, and again whenever what a signal on the
	 * pin may send without the I/O APIC changes: the entry's message when
	 * it is unmasked and edge-triggered, nothing otherwise.  A
	 * level-triggered pin needs the remote-IRR handshake, so its device
	 * drives set_line() instead.  Called with the I/O APIC's lock held.
	 */
	using Route = std::function<void(unsigned pin, std::optional<Msi> msi)>;
	void set_route(Route route);

	/*
	 * Resampling, for a level-triggered pin whose device signals through an
	 * eventfd (LevelIrqfds): when an EOI clears the pin's remote IRR, the
	 * line drops and notify runs (with the lock held), and the device
	 * asserts the line again if it still needs service.  An empty notify
	 * turns it off.
	 */
	void set_resample(unsigned pin, std::function<void()> notify);

	/* State, for tests and statistics. */
	std::uint64_t entry(unsigned pin) const;
	bool line(unsigned pin) const;
	/* Messages sent for this pin since creation. */
	std::uint64_t delivered(unsigned pin) const;
	/* The message an entry sends (ignoring its mask). */
	static Msi message(std::uint64_t entry) noexcept;

private:
	void write_register(std::uint8_t index, std::uint32_t value);
	std::uint32_t read_register(std::uint8_t index) const;
	void service(unsigned pin);
	static std::optional<Msi> routable(std::uint64_t entry) noexcept;

	mutable std::mutex mu_;
	Deliver deliver_;
	Route route_;
	std::array<std::function<void()>, pins> resample_{};
	std::uint8_t id_;
	std::uint8_t select_ = 0;
	std::array<std::uint64_t, pins> entries_{};
	std::array<bool, pins> lines_{};
	std::array<std::uint64_t, pins> delivered_{};
};

} // namespace vapicvm::vmm

#endif
