// SPDX-License-Identifier: GPL-2.0
#include <atomic>
#include <cstring>

#include "virtio_queue.hpp"

namespace vrun
{

using vapicvm::vmm::GuestMemory;

namespace
{

/* A little-endian field of guest memory, read or written once. */
template <typename T>
std::optional<T> load(const GuestMemory &mem, std::uint64_t gpa)
{
	auto s = mem.span(gpa, sizeof(T));
	if (s.empty())
		return std::nullopt;
	T v;
	std::memcpy(&v, s.data(), sizeof(T));
	return v;
}

template <typename T>
bool store(const GuestMemory &mem, std::uint64_t gpa, T v)
{
	auto s = mem.span(gpa, sizeof(T));
	if (s.empty())
		return false;
	std::memcpy(s.data(), &v, sizeof(T));
	return true;
}

struct Desc {
	std::uint64_t addr;
	std::uint32_t len;
	std::uint16_t flags;
	std::uint16_t next;
};
static_assert(sizeof(Desc) == 16);

} // namespace

std::uint64_t VirtqChain::readable_bytes() const
{
	std::uint64_t n = 0;
	for (const auto &b : buffers)
		n += b.writable ? 0 : b.len;
	return n;
}

std::uint64_t VirtqChain::writable_bytes() const
{
	std::uint64_t n = 0;
	for (const auto &b : buffers)
		n += b.writable ? b.len : 0;
	return n;
}

std::optional<std::string> SplitQueue::enable(const GuestMemory &mem)
{
	enabled_ = false;
	if (num == 0 || num > max_size || (num & (num - 1)))
		return "queue size " + std::to_string(num) + " is not a power of two up to " +
		       std::to_string(max_size);
	if ((desc_gpa & 15) || (avail_gpa & 1) || (used_gpa & 3))
		return std::string("misaligned ring");
	if (!mem.contains(desc_gpa, desc_bytes(num)) ||
	    !mem.contains(avail_gpa, avail_bytes(num)) || !mem.contains(used_gpa, used_bytes(num)))
		return std::string("ring outside guest RAM");
	last_avail_ = 0;
	used_idx_ = 0;
	enabled_ = true;
	return std::nullopt;
}

void SplitQueue::reset()
{
	enabled_ = false;
	num = 0;
	desc_gpa = avail_gpa = used_gpa = 0;
	last_avail_ = used_idx_ = 0;
}

SplitQueue::PopResult SplitQueue::pop(const GuestMemory &mem)
{
	if (!enabled_)
		return Empty{};
	auto avail_idx = load<std::uint16_t>(mem, avail_gpa + 2);
	if (!avail_idx)
		return Error{"available ring not in RAM"};
	std::uint16_t pending = static_cast<std::uint16_t>(*avail_idx - last_avail_);
	if (pending == 0)
		return Empty{};
	if (pending > num)
		return Error{"available index " + std::to_string(*avail_idx) + " is " +
			     std::to_string(pending) + " entries ahead in a queue of " +
			     std::to_string(num)};
	/* The entries the index covers were written before it (2.7.13). */
	std::atomic_thread_fence(std::memory_order_acquire);
	auto head = load<std::uint16_t>(mem, avail_gpa + 4 + 2ull * (last_avail_ % num));
	if (!head)
		return Error{"available ring not in RAM"};
	if (*head >= num)
		return Error{"head index " + std::to_string(*head) + " out of range"};

	VirtqChain chain;
	chain.head = *head;
	std::uint16_t i = *head;
	for (unsigned count = 0;; count++) {
		if (count >= num)
			return Error{"descriptor chain longer than the queue (a loop?)"};
		auto d = load<Desc>(mem, desc_gpa + 16ull * i);
		if (!d)
			return Error{"descriptor table not in RAM"};
		if (d->flags & virtq_desc_f_indirect)
			return Error{"indirect descriptor (not negotiated)"};
		if (d->len == 0)
			return Error{"zero-length buffer"};
		if (!mem.contains(d->addr, d->len))
			return Error{"buffer outside guest RAM"};
		bool w = d->flags & virtq_desc_f_write;
		if (!w && !chain.buffers.empty() && chain.buffers.back().writable)
			return Error{"device-readable buffer after a writable one"};
		chain.buffers.push_back(VirtqBuffer{d->addr, d->len, w});
		if (!(d->flags & virtq_desc_f_next))
			break;
		if (d->next >= num)
			return Error{"next index " + std::to_string(d->next) + " out of range"};
		i = d->next;
	}
	last_avail_++;
	return chain;
}

bool SplitQueue::push(const GuestMemory &mem, std::uint16_t head, std::uint32_t len)
{
	if (!enabled_)
		return false;
	std::uint64_t elem = used_gpa + 4 + 8ull * (used_idx_ % num);
	if (!store<std::uint32_t>(mem, elem, head) || !store<std::uint32_t>(mem, elem + 4, len))
		return false;
	used_idx_++;
	/* The element before the index that publishes it. */
	std::atomic_thread_fence(std::memory_order_release);
	return store<std::uint16_t>(mem, used_gpa + 2, used_idx_);
}

ChainBytes::ChainBytes(const GuestMemory &mem, const VirtqChain &chain, bool writable)
{
	for (const auto &b : chain.buffers) {
		if (b.writable != writable)
			continue;
		auto s = mem.span(b.gpa, b.len); /* checked by pop() */
		if (s.empty())
			continue;
		parts_.push_back(s);
		size_ += s.size();
	}
}

std::vector<std::span<std::uint8_t>> ChainBytes::spans(std::uint64_t off, std::uint64_t len) const
{
	std::vector<std::span<std::uint8_t>> out;
	if (off > size_ || len > size_ - off)
		return out;
	for (auto p : parts_) {
		if (!len)
			break;
		if (off >= p.size()) {
			off -= p.size();
			continue;
		}
		std::uint64_t n = std::min<std::uint64_t>(p.size() - off, len);
		out.push_back(p.subspan(off, n));
		len -= n;
		off = 0;
	}
	return out;
}

bool ChainBytes::read(std::uint64_t off, std::span<std::uint8_t> out) const
{
	if (off > size_ || out.size() > size_ - off)
		return false;
	std::size_t done = 0;
	for (auto s : spans(off, out.size())) {
		std::memcpy(out.data() + done, s.data(), s.size());
		done += s.size();
	}
	return true;
}

bool ChainBytes::write(std::uint64_t off, std::span<const std::uint8_t> in) const
{
	if (off > size_ || in.size() > size_ - off)
		return false;
	std::size_t done = 0;
	for (auto s : spans(off, in.size())) {
		std::memcpy(s.data(), in.data() + done, s.size());
		done += s.size();
	}
	return true;
}

} // namespace vrun
