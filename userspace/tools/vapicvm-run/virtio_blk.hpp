// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio block device (virtio 1.2, 5.2) over a disk image file: one
 * request queue; requests IN, OUT, FLUSH and GET_ID; features VERSION_1,
 * SEG_MAX, BLK_SIZE, FLUSH and, for a read-only image, RO.  The transport
 * (virtio_mmio.hpp) hands it chains the queue has checked; a request it
 * cannot serve (out of the disk, a bad length, a write to a read-only
 * image, a failed read or write of the image) completes with
 * VIRTIO_BLK_S_IOERR, an unknown type with VIRTIO_BLK_S_UNSUPP.
 */
#ifndef VAPICVM_RUN_VIRTIO_BLK_HPP
#define VAPICVM_RUN_VIRTIO_BLK_HPP

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <vapicvm/fd.hpp>
#include <vapicvm/result.hpp>

#include "virtio_queue.hpp"

namespace vrun
{

class VirtioBlk
{
public:
	static constexpr std::uint32_t device_id = 2;
	static constexpr std::uint32_t sector_size = 512;
	static constexpr std::uint32_t seg_max = 126;
	static constexpr std::size_t id_bytes = 20;

	/* Request types and status values (5.2.6). */
	enum : std::uint32_t { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };
	enum : std::uint8_t { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };

	/* Feature bits (5.2.3, 6). */
	static constexpr std::uint64_t f_seg_max = 1ull << 2;
	static constexpr std::uint64_t f_ro = 1ull << 5;
	static constexpr std::uint64_t f_blk_size = 1ull << 6;
	static constexpr std::uint64_t f_flush = 1ull << 9;
	static constexpr std::uint64_t f_version_1 = 1ull << 32;

	/* The image at path, opened read-write (or read-only). */
	static vapicvm::Result<std::unique_ptr<VirtioBlk>> open(const std::string &path,
								bool readonly);
	/* An open image of size bytes (its whole sectors are the disk). */
	VirtioBlk(vapicvm::UniqueFd fd, std::uint64_t size, bool readonly, std::string id);

	std::uint64_t features() const;
	std::uint64_t capacity() const { return sectors_; } /* in 512-byte sectors */
	bool readonly() const { return readonly_; }
	/* The configuration space (struct virtio_blk_config); past its end reads 0. */
	std::uint64_t config_read(std::uint64_t offset, std::uint8_t size) const;

	/*
	 * Serve one request: the bytes written to the chain's writable
	 * buffers (data and status) for the used ring, or nothing when the
	 * chain has no writable byte for the status (the device then needs a
	 * reset).
	 */
	std::optional<std::uint32_t> handle(const vapicvm::vmm::GuestMemory &mem,
					    const VirtqChain &chain);

	/* Requests served, and those that ended with a status other than S_OK. */
	std::uint64_t requests() const { return requests_.load(); }
	std::uint64_t errors() const { return errors_.load(); }

private:
	std::uint8_t serve(const ChainBytes &in, const ChainBytes &out, std::uint32_t *data_len);
	bool in_disk(std::uint64_t sector, std::uint64_t bytes) const;

	vapicvm::UniqueFd fd_;
	std::uint64_t sectors_;
	bool readonly_;
	std::string id_;
	std::atomic<std::uint64_t> requests_{0}, errors_{0};
};

} // namespace vrun

#endif
