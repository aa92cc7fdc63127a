// SPDX-License-Identifier: GPL-2.0
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio_blk.hpp"

namespace vrun
{

using vapicvm::Error;
using vapicvm::UniqueFd;

namespace
{

/* The little-endian request header (struct virtio_blk_req's first fields). */
struct ReqHeader {
	std::uint32_t type;
	std::uint32_t reserved;
	std::uint64_t sector;
};
static_assert(sizeof(ReqHeader) == 16);

/* Whole transfers, retried on EINTR and short counts; false on an error or end of file. */
bool read_at(int fd, std::span<std::uint8_t> s, std::uint64_t off)
{
	while (!s.empty()) {
		ssize_t n = ::pread(fd, s.data(), s.size(), static_cast<off_t>(off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s = s.subspan(static_cast<std::size_t>(n));
		off += static_cast<std::uint64_t>(n);
	}
	return true;
}

bool write_at(int fd, std::span<const std::uint8_t> s, std::uint64_t off)
{
	while (!s.empty()) {
		ssize_t n = ::pwrite(fd, s.data(), s.size(), static_cast<off_t>(off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s = s.subspan(static_cast<std::size_t>(n));
		off += static_cast<std::uint64_t>(n);
	}
	return true;
}

} // namespace

vapicvm::Result<std::unique_ptr<VirtioBlk>> VirtioBlk::open(const std::string &path, bool readonly)
{
	UniqueFd fd(::open(path.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC));
	if (!fd)
		return Error::last("open", path);
	struct stat st;
	if (::fstat(fd.get(), &st) < 0)
		return Error::last("stat", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return Error::from_errno(EINVAL, "--disk", path + " is not a file");
	std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
	if (S_ISBLK(st.st_mode)) {
		off_t end = ::lseek(fd.get(), 0, SEEK_END);
		if (end < 0)
			return Error::last("lseek", path);
		size = static_cast<std::uint64_t>(end);
	}
	if (size < sector_size)
		return Error::from_errno(EINVAL, "--disk", path + " is smaller than one sector");
	/* The serial number: the image's name, at most 20 bytes. */
	auto slash = path.find_last_of('/');
	std::string id = slash == std::string::npos ? path : path.substr(slash + 1);
	return std::make_unique<VirtioBlk>(std::move(fd), size, readonly, id.substr(0, id_bytes));
}

VirtioBlk::VirtioBlk(UniqueFd fd, std::uint64_t size, bool readonly, std::string id)
    : fd_(std::move(fd)), sectors_(size / sector_size), readonly_(readonly), id_(std::move(id))
{
}

std::uint64_t VirtioBlk::features() const
{
	return f_version_1 | f_seg_max | f_blk_size | f_flush | (readonly_ ? f_ro : 0);
}

std::uint64_t VirtioBlk::config_read(std::uint64_t offset, std::uint8_t size) const
{
	/*
	 * struct virtio_blk_config: capacity (le64) at 0, size_max at 8,
	 * seg_max at 12, geometry at 16, blk_size at 20.
	 */
	std::uint8_t cfg[24] = {};
	std::uint32_t segs = seg_max, blk = sector_size;
	std::memcpy(cfg, &sectors_, 8);
	std::memcpy(cfg + 12, &segs, 4);
	std::memcpy(cfg + 20, &blk, 4);
	std::uint64_t v = 0;
	for (unsigned i = 0; i < size && i < 8; i++) {
		std::uint64_t at = offset + i;
		if (at < sizeof(cfg))
			v |= std::uint64_t(cfg[at]) << (8 * i);
	}
	return v;
}

bool VirtioBlk::in_disk(std::uint64_t sector, std::uint64_t bytes) const
{
	return bytes % sector_size == 0 && sector <= sectors_ &&
	       bytes / sector_size <= sectors_ - sector;
}

std::uint8_t VirtioBlk::serve(const ChainBytes &in, const ChainBytes &out, std::uint32_t *data_len)
{
	*data_len = 0;
	ReqHeader h;
	if (!in.read(0, std::span(reinterpret_cast<std::uint8_t *>(&h), sizeof(h))))
		return S_IOERR;
	/* The status is the last writable byte; the data are before it. */
	std::uint64_t room = out.size() - 1;
	switch (h.type) {
	case T_IN: {
		if (!in_disk(h.sector, room))
			return S_IOERR;
		std::uint64_t off = h.sector * sector_size;
		for (auto s : out.spans(0, room)) {
			if (!read_at(fd_.get(), s, off))
				return S_IOERR;
			off += s.size();
		}
		*data_len = static_cast<std::uint32_t>(room);
		return S_OK;
	}
	case T_OUT: {
		std::uint64_t len = in.size() - sizeof(h);
		if (readonly_ || !in_disk(h.sector, len))
			return S_IOERR;
		std::uint64_t off = h.sector * sector_size;
		for (auto s : in.spans(sizeof(h), len)) {
			if (!write_at(fd_.get(), s, off))
				return S_IOERR;
			off += s.size();
		}
		return S_OK;
	}
	case T_FLUSH:
		if (!readonly_ && ::fdatasync(fd_.get()) < 0)
			return S_IOERR;
		return S_OK;
	case T_GET_ID: {
		/* 20 bytes, NUL-padded when shorter (5.2.6). */
		std::uint8_t id[id_bytes] = {};
		std::memcpy(id, id_.data(), std::min(id_.size(), id_bytes));
		std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(room, id_bytes));
		if (!out.write(0, std::span<const std::uint8_t>(id, n)))
			return S_IOERR;
		*data_len = static_cast<std::uint32_t>(n);
		return S_OK;
	}
	default:
		return S_UNSUPP;
	}
}

std::optional<std::uint32_t> VirtioBlk::handle(const vapicvm::vmm::GuestMemory &mem,
					       const VirtqChain &chain)
{
	ChainBytes in(mem, chain, false), out(mem, chain, true);
	if (out.size() == 0 || out.size() > 0xffffffffull)
		return std::nullopt;
	requests_++;
	std::uint32_t data_len = 0;
	std::uint8_t status = serve(in, out, &data_len);
	if (status != S_OK)
		errors_++;
	if (!out.write(out.size() - 1, std::span<const std::uint8_t>(&status, 1)))
		return std::nullopt;
	return data_len + 1;
}

} // namespace vrun
