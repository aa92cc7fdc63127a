// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio 1.x split virtqueue (virtio 1.2, 2.7), device side, over guest
 * memory the guest may change at any time: every index, address and length
 * the guest gives is checked before use, and each ring field is read once.
 *
 * Without VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC (the devices here
 * offer neither): the used ring's flags stay 0 (always notify), and an
 * indirect descriptor is an error.
 */
#ifndef VAPICVM_RUN_VIRTIO_QUEUE_HPP
#define VAPICVM_RUN_VIRTIO_QUEUE_HPP

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <vapicvm/vmm/guest_memory.hpp>

namespace vrun
{

/* Descriptor flags (2.7.5). */
constexpr std::uint16_t virtq_desc_f_next = 1;
constexpr std::uint16_t virtq_desc_f_write = 2;
constexpr std::uint16_t virtq_desc_f_indirect = 4;

/* One buffer of a chain: guest-physical, checked to lie inside guest RAM. */
struct VirtqBuffer {
	std::uint64_t gpa = 0;
	std::uint32_t len = 0;
	bool writable = false; /* device-writable */
};

/*
 * A descriptor chain taken from the available ring: the device-readable
 * buffers first, then the device-writable ones (2.7.4.2).
 */
struct VirtqChain {
	std::uint16_t head = 0;
	std::vector<VirtqBuffer> buffers;

	std::uint64_t readable_bytes() const;
	std::uint64_t writable_bytes() const;
};

class SplitQueue
{
public:
	static constexpr std::uint16_t max_size = 256;

	/* The driver's configuration, as the transport's registers hold it. */
	std::uint16_t num = 0;
	std::uint64_t desc_gpa = 0, avail_gpa = 0, used_gpa = 0;

	/*
	 * Check the configuration against guest RAM and start at index 0:
	 * empty when usable, else why not.  num must be a power of two, at
	 * most max_size; each ring aligned (16, 2, 4) and inside RAM.
	 */
	std::optional<std::string> enable(const vapicvm::vmm::GuestMemory &mem);
	void reset();
	bool enabled() const { return enabled_; }

	/*
	 * The next available chain, nothing when the ring is empty, or an
	 * error for a broken ring (the device then needs a reset): more
	 * entries than the queue holds, a head or next index out of range, a
	 * chain longer than the queue (a loop), an indirect descriptor, a
	 * readable buffer after a writable one, a zero-length buffer or one
	 * not in guest RAM.
	 */
	struct Error {
		std::string why;
	};
	struct Empty {
	};
	using PopResult = std::variant<VirtqChain, Empty, Error>;
	PopResult pop(const vapicvm::vmm::GuestMemory &mem);

	/* Return a chain with len bytes written to its writable buffers. */
	bool push(const vapicvm::vmm::GuestMemory &mem, std::uint16_t head, std::uint32_t len);

	/* Ring sizes for num entries (without the event fields). */
	static std::uint64_t desc_bytes(std::uint16_t n) { return 16ull * n; }
	static std::uint64_t avail_bytes(std::uint16_t n) { return 4ull + 2ull * n; }
	static std::uint64_t used_bytes(std::uint16_t n) { return 4ull + 8ull * n; }

private:
	bool enabled_ = false;
	std::uint16_t last_avail_ = 0;
	std::uint16_t used_idx_ = 0;
};

/*
 * Byte-wise access to a chain's readable or writable buffers as one
 * stream, with bounds checks: what a request's header, data and status
 * need when the driver frames them freely (2.6.4).
 */
class ChainBytes
{
public:
	ChainBytes(const vapicvm::vmm::GuestMemory &mem, const VirtqChain &chain, bool writable);
	std::uint64_t size() const { return size_; }
	/* Copy [off, off + out.size()) out of / into the stream; false when out of range. */
	bool read(std::uint64_t off, std::span<std::uint8_t> out) const;
	bool write(std::uint64_t off, std::span<const std::uint8_t> in) const;
	/* The host spans of [off, off + len), for I/O straight into guest memory. */
	std::vector<std::span<std::uint8_t>> spans(std::uint64_t off, std::uint64_t len) const;

private:
	std::vector<std::span<std::uint8_t>> parts_;
	std::uint64_t size_ = 0;
};

} // namespace vrun

#endif
