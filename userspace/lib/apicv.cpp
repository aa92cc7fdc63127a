// SPDX-License-Identifier: GPL-2.0
#include <charconv>

#include "vapicvm/apicv.hpp"

namespace vapicvm
{

namespace
{
std::string hex(std::uint32_t v)
{
	char buf[16];
	auto r = std::to_chars(buf, buf + sizeof(buf), v, 16);
	return "0x" + std::string(buf, r.ptr);
}

/* The name of the lowest feature in mask. */
std::string_view first_name(std::uint32_t mask)
{
	for (const auto &f : apicv_features)
		if (mask & f.mask())
			return f.name;
	return "?";
}

std::optional<std::uint32_t> parse_number(std::string_view s)
{
	int base = 10;
	if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s.remove_prefix(2);
		base = 16;
	}
	std::uint32_t v = 0;
	auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
	if (r.ec != std::errc() || r.ptr != s.data() + s.size())
		return std::nullopt;
	return v;
}

std::optional<std::uint32_t> parse_name(std::string_view name)
{
	if (name == "x2apic") /* the library's name for x2apic-virt until the UAPI table */
		name = apicv_feature_info(ApicvFeature::X2APIC_VIRT).name;
	for (const auto &f : apicv_features)
		if (f.name == name)
			return f.mask();
	return std::nullopt;
}
} // namespace

std::string ApicvFlags::why_invalid() const
{
	if (bits_ & ~VAPICVM_APICV_ALL)
		return "unknown feature bits " + hex(bits_ & ~VAPICVM_APICV_ALL);
	for (const auto &f : apicv_features) {
		if (!(bits_ & f.mask()))
			continue;
		if (std::uint32_t missing = f.sdm_requires & ~bits_)
			return std::string(f.name) + " needs " + std::string(first_name(missing)) +
			       " (SDM VM-entry check)";
		if (std::uint32_t missing = f.policy_requires & ~bits_)
			return std::string(f.name) + " needs " + std::string(first_name(missing)) +
			       " (vapicvm policy)";
	}
	return {};
}

ApicvFlags ApicvFlags::closure_down() const noexcept
{
	/* Requirements come first in the table: one pass drops what lost one. */
	std::uint32_t b = bits_ & VAPICVM_APICV_ALL;
	for (const auto &f : apicv_features)
		if ((b & f.mask()) && (f.requires_mask() & ~b))
			b &= ~f.mask();
	return from_raw(b);
}

std::string ApicvFlags::to_string() const
{
	if (bits_ == 0)
		return "none";
	std::string s;
	auto add = [&s](std::string_view part) {
		if (!s.empty())
			s += '|';
		s += part;
	};
	for (const auto &f : apicv_features)
		if (bits_ & f.mask())
			add(f.name);
	if (bits_ & ~VAPICVM_APICV_ALL)
		add(hex(bits_ & ~VAPICVM_APICV_ALL));
	return s;
}

std::optional<ApicvFlags> ApicvFlags::parse(std::string_view s)
{
	if (s.empty())
		return std::nullopt;
	if (s == "none")
		return none();
	if (s[0] >= '0' && s[0] <= '9') {
		auto v = parse_number(s);
		return v ? std::optional(from_raw(*v)) : std::nullopt;
	}
	std::uint32_t b = 0;
	for (;;) {
		auto bar = s.find('|');
		auto bit = parse_name(s.substr(0, bar));
		if (!bit)
			return std::nullopt;
		b |= *bit;
		if (bar == std::string_view::npos)
			return from_raw(b);
		s.remove_prefix(bar + 1);
	}
}

} // namespace vapicvm
