// SPDX-License-Identifier: GPL-2.0
#include "vapicvm/vmm/ioapic.hpp"

namespace vapicvm::vmm
{

namespace
{
constexpr std::uint8_t reg_id = 0x00;
constexpr std::uint8_t reg_version = 0x01;
constexpr std::uint8_t reg_arbitration = 0x02;
constexpr std::uint8_t reg_table = 0x10; /* entry n: 0x10 + 2n (low), 0x11 + 2n (high) */

/* What the guest may write in an entry: all but delivery status and remote IRR. */
constexpr std::uint64_t writable =
	~(IoApic::delivery_status | IoApic::remote_irr) & (0xffull << IoApic::dest_shift | 0x1ffff);
} // namespace

IoApic::IoApic(Deliver deliver, std::uint8_t id) : deliver_(std::move(deliver)), id_(id & 0xf)
{
	/* Reset: every entry masked (82093AA, 3.2.4). */
	entries_.fill(masked);
}

Msi IoApic::message(std::uint64_t e) noexcept
{
	const std::uint32_t dm = (e & delivery_mode_mask) >> 8;
	Msi m;
	m.address_lo = 0xfee00000u | std::uint32_t(e >> dest_shift) << 12;
	if (e & dest_logical)
		m.address_lo |= 1u << 2;
	if (dm == 1) /* lowest priority: the redirection hint */
		m.address_lo |= 1u << 3;
	m.data = std::uint32_t(e & (vector_mask | delivery_mode_mask)) | 1u << 14;
	if (e & level_triggered)
		m.data |= 1u << 15;
	return m;
}

std::optional<Msi> IoApic::routable(std::uint64_t e) noexcept
{
	if (e & (masked | level_triggered))
		return std::nullopt;
	return message(e);
}

void IoApic::set_route(Route route)
{
	std::lock_guard lock(mu_);
	route_ = std::move(route);
	if (!route_)
		return;
	for (unsigned pin = 0; pin < pins; ++pin)
		route_(pin, routable(entries_[pin]));
}

void IoApic::set_resample(unsigned pin, std::function<void()> notify)
{
	if (pin >= pins)
		return;
	std::lock_guard lock(mu_);
	resample_[pin] = std::move(notify);
}

/* Deliver pin's interrupt if its line and entry call for one; lock held. */
void IoApic::service(unsigned pin)
{
	std::uint64_t &e = entries_[pin];

	if ((e & masked) || !lines_[pin])
		return;
	if (e & level_triggered) {
		if (e & remote_irr)
			return;
		e |= remote_irr;
	}
	++delivered_[pin];
	deliver_(message(e));
}

void IoApic::set_line(unsigned pin, bool asserted)
{
	if (pin >= pins)
		return;
	std::lock_guard lock(mu_);
	const bool was = lines_[pin];

	lines_[pin] = asserted;
	if (!asserted)
		return;
	if (entries_[pin] & level_triggered)
		service(pin);
	else if (!was)
		service(pin); /* a rising edge */
}

void IoApic::eoi(std::uint8_t vector)
{
	std::lock_guard lock(mu_);

	for (unsigned pin = 0; pin < pins; ++pin) {
		std::uint64_t &e = entries_[pin];

		if ((e & vector_mask) != vector || !(e & level_triggered) || !(e & remote_irr))
			continue;
		e &= ~remote_irr;
		if (resample_[pin]) {
			lines_[pin] = false;
			resample_[pin]();
		}
		service(pin); /* a line still asserted interrupts again */
	}
}

std::uint32_t IoApic::read_register(std::uint8_t index) const
{
	switch (index) {
	case reg_id:
		return std::uint32_t(id_) << 24;
	case reg_version:
		return (pins - 1) << 16 | version;
	case reg_arbitration:
		return std::uint32_t(id_) << 24;
	}
	if (index >= reg_table && index < reg_table + 2 * pins) {
		const std::uint64_t e = entries_[(index - reg_table) / 2];
		return (index & 1) ? std::uint32_t(e >> 32) : std::uint32_t(e);
	}
	return 0;
}

void IoApic::write_register(std::uint8_t index, std::uint32_t value)
{
	if (index == reg_id) {
		id_ = (value >> 24) & 0xf;
		return;
	}
	if (index < reg_table || index >= reg_table + 2 * pins)
		return; /* version and arbitration are read-only */

	const unsigned pin = (index - reg_table) / 2;
	std::uint64_t &e = entries_[pin];
	std::uint64_t v = (index & 1) ? (e & 0xffffffffull) | std::uint64_t(value) << 32
				      : (e & ~0xffffffffull) | value;

	v = (v & writable) | (e & (delivery_status | remote_irr));
	/* Remote IRR means nothing for an edge entry: a switch to edge drops it. */
	if (!(v & level_triggered))
		v &= ~remote_irr;
	const auto was = routable(e), now = routable(v);
	e = v;
	if (route_ && (was.has_value() != now.has_value() ||
		       (now && (was->address_lo != now->address_lo || was->data != now->data))))
		route_(pin, now);
	/* An unmasked level entry with its line asserted interrupts now. */
	if (e & level_triggered)
		service(pin);
}

std::uint32_t IoApic::mmio_read(std::uint64_t offset)
{
	std::lock_guard lock(mu_);

	switch (offset) {
	case reg_select:
		return select_;
	case reg_window:
		return read_register(select_);
	default:
		return 0;
	}
}

void IoApic::mmio_write(std::uint64_t offset, std::uint32_t value)
{
	switch (offset) {
	case reg_select: {
		std::lock_guard lock(mu_);
		select_ = static_cast<std::uint8_t>(value);
		return;
	}
	case reg_window: {
		std::lock_guard lock(mu_);
		write_register(select_, value);
		return;
	}
	case reg_eoi:
		eoi(static_cast<std::uint8_t>(value));
		return;
	default:
		return;
	}
}

std::uint64_t IoApic::entry(unsigned pin) const
{
	std::lock_guard lock(mu_);
	return pin < pins ? entries_[pin] : 0;
}

bool IoApic::line(unsigned pin) const
{
	std::lock_guard lock(mu_);
	return pin < pins && lines_[pin];
}

std::uint64_t IoApic::delivered(unsigned pin) const
{
	std::lock_guard lock(mu_);
	return pin < pins ? delivered_[pin] : 0;
}

} // namespace vapicvm::vmm
