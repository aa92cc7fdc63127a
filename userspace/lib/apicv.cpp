// SPDX-License-Identifier: GPL-2.0
#include <array>
#include <charconv>

#include "vapicvm/apicv.hpp"

namespace vapicvm
{

namespace
{
struct Named {
	std::uint32_t bit;
	std::string_view name;
};

constexpr std::array<Named, 6> names = {{
	{VAPICVM_APICV_TPR_SHADOW, "tpr-shadow"},
	{VAPICVM_APICV_APIC_ACCESS, "apic-access"},
	{VAPICVM_APICV_REGISTER_VIRT, "register-virt"},
	{VAPICVM_APICV_INTR_DELIVERY, "intr-delivery"},
	{VAPICVM_APICV_X2APIC_VIRT, "x2apic"},
	{VAPICVM_APICV_POSTED_INTR, "posted-intr"},
}};

/* What each feature needs (transitively closed). */
constexpr std::uint32_t needs(std::uint32_t bit)
{
	switch (bit) {
	case VAPICVM_APICV_APIC_ACCESS:
	case VAPICVM_APICV_X2APIC_VIRT:
		return VAPICVM_APICV_TPR_SHADOW;
	case VAPICVM_APICV_REGISTER_VIRT:
		return VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS;
	case VAPICVM_APICV_INTR_DELIVERY:
		return VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
		       VAPICVM_APICV_REGISTER_VIRT;
	case VAPICVM_APICV_POSTED_INTR:
		return VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
		       VAPICVM_APICV_REGISTER_VIRT | VAPICVM_APICV_INTR_DELIVERY;
	default:
		return 0;
	}
}

std::string_view name_of(std::uint32_t bit)
{
	for (const auto &n : names)
		if (n.bit == bit)
			return n.name;
	return "?";
}
} // namespace

std::string ApicvFlags::why_invalid() const
{
	if (bits_ & ~VAPICVM_APICV_ALL)
		return "unknown feature bits " + std::to_string(bits_ & ~VAPICVM_APICV_ALL);
	for (const auto &n : names) {
		if (!(bits_ & n.bit))
			continue;
		std::uint32_t missing = needs(n.bit) & ~bits_;
		if (missing) {
			std::uint32_t first = missing & -missing;
			return std::string(n.name) + " needs " + std::string(name_of(first));
		}
	}
	return {};
}

ApicvFlags ApicvFlags::closure_down() const noexcept
{
	std::uint32_t b = bits_ & VAPICVM_APICV_ALL;
	/* Dropping a feature can break those that need it: iterate to a fixed point. */
	for (bool changed = true; changed;) {
		changed = false;
		for (const auto &n : names) {
			if ((b & n.bit) && (needs(n.bit) & ~b)) {
				b &= ~n.bit;
				changed = true;
			}
		}
	}
	return from_raw(b);
}

std::string ApicvFlags::to_string() const
{
	if (bits_ == 0)
		return "none";
	std::string s;
	for (const auto &n : names) {
		if (bits_ & n.bit) {
			if (!s.empty())
				s += '|';
			s += n.name;
		}
	}
	if (bits_ & ~VAPICVM_APICV_ALL) {
		if (!s.empty())
			s += '|';
		s += "0x";
		char buf[16];
		auto r = std::to_chars(buf, buf + sizeof(buf), bits_ & ~VAPICVM_APICV_ALL, 16);
		s.append(buf, r.ptr);
	}
	return s;
}

std::optional<ApicvFlags> ApicvFlags::tier(std::string_view name)
{
	bool x2 = false;
	constexpr std::string_view suffix = "+x2apic";
	if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
		x2 = true;
		name.remove_suffix(suffix.size());
	}
	std::uint32_t b;
	if (name == "none")
		b = 0;
	else if (name == "tpr")
		b = VAPICVM_APICV_TPR_SHADOW;
	else if (name == "access")
		b = needs(VAPICVM_APICV_REGISTER_VIRT);
	else if (name == "regvirt")
		b = needs(VAPICVM_APICV_INTR_DELIVERY);
	else if (name == "vid")
		b = needs(VAPICVM_APICV_POSTED_INTR);
	else if (name == "posted")
		b = needs(VAPICVM_APICV_POSTED_INTR) | VAPICVM_APICV_POSTED_INTR;
	else
		return std::nullopt;
	if (x2) {
		if (b == 0)
			return std::nullopt;
		b |= VAPICVM_APICV_X2APIC_VIRT;
	}
	return from_raw(b);
}

std::optional<ApicvFlags> ApicvFlags::parse(std::string_view s)
{
	if (s.empty())
		return std::nullopt;
	if (auto t = tier(s))
		return t;
	if (s[0] >= '0' && s[0] <= '9') {
		int base = 10;
		if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			s.remove_prefix(2);
			base = 16;
		}
		std::uint32_t v = 0;
		auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
		if (r.ec != std::errc() || r.ptr != s.data() + s.size())
			return std::nullopt;
		return from_raw(v);
	}
	std::uint32_t b = 0;
	while (!s.empty()) {
		auto bar = s.find('|');
		auto tok = s.substr(0, bar);
		bool found = false;
		for (const auto &n : names) {
			if (n.name == tok) {
				b |= n.bit;
				found = true;
			}
		}
		if (!found)
			return std::nullopt;
		if (bar == std::string_view::npos)
			break;
		s.remove_prefix(bar + 1);
		if (s.empty())
			return std::nullopt;
	}
	return from_raw(b);
}

} // namespace vapicvm
