// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdbstub.hpp"

namespace vrun
{

using vapicvm::Error;
using vapicvm::Result;
using vapicvm::Vcpu;

/* gdb's view of the vCPUs: every call is made while all of them are parked. */
class GdbStub::VcpuTarget : public gdb::Target
{
public:
	explicit VcpuTarget(GdbStub &s) : s_(s) {}

	unsigned vcpu_count() const override { return static_cast<unsigned>(s_.runners_.size()); }

	Result<gdb::CpuState> read_state(unsigned i) override
	{
		gdb::CpuState st;
		auto r = vcpu(i).regs();
		if (!r)
			return std::move(r).error();
		auto sr = vcpu(i).sregs();
		if (!sr)
			return std::move(sr).error();
		st.regs = *r;
		st.sregs = *sr;
		/* No FPU state (no XSAVE support) reads as zeros. */
		if (auto x = vcpu(i).xsave())
			st.xsave = *x;
		return st;
	}

	Result<void> write_state(unsigned i, const gdb::CpuState &st) override
	{
		auto old = read_state(i);
		if (!old)
			return std::move(old).error();
		auto r = vcpu(i).set_regs(st.regs);
		if (r && (old->sregs.fs.base != st.sregs.fs.base ||
			  old->sregs.gs.base != st.sregs.gs.base))
			r = vcpu(i).set_sregs(st.sregs);
		/* The legacy area (x87, SSE) is the part gdb writes. */
		if (r && std::memcmp(old->xsave.region, st.xsave.region, 512) != 0)
			r = vcpu(i).set_xsave(st.xsave);
		return r;
	}

	Result<void> read_memory(unsigned i, std::uint64_t addr,
				 std::span<std::uint8_t> out) override
	{
		return each_page(i, addr, out.size(),
				 [&](std::uint64_t gpa, std::size_t off, std::size_t n) {
					 return s_.mem_->read(gpa, out.subspan(off, n));
				 });
	}

	Result<void> write_memory(unsigned i, std::uint64_t addr,
				  std::span<const std::uint8_t> bytes) override
	{
		return each_page(i, addr, bytes.size(),
				 [&](std::uint64_t gpa, std::size_t off, std::size_t n) {
					 return s_.mem_->write(gpa, bytes.subspan(off, n));
				 });
	}

	Result<void> set_debug(unsigned i, const vapicvm::GuestDebug &d) override
	{
		return vcpu(i).set_guest_debug(d);
	}

private:
	Vcpu &vcpu(unsigned i) { return s_.runners_.at(i)->vcpu(); }

	/* [addr, addr + len) page by page through vCPU i's paging: fn(gpa, offset, bytes). */
	template <typename Fn>
	Result<void> each_page(unsigned i, std::uint64_t addr, std::size_t len, Fn fn)
	{
		for (std::size_t off = 0; off < len;) {
			std::uint64_t la = addr + off;
			std::size_t n = std::min<std::size_t>(len - off, 4096 - (la & 4095));
			auto t = vcpu(i).translate(la);
			if (!t)
				return std::move(t).error();
			if (!t->valid)
				return Error::from_errno(EFAULT, "VAPICVM_TRANSLATE", "not mapped");
			auto r = fn(t->physical, off, n);
			if (!r)
				return r;
			off += n;
		}
		return vapicvm::ok();
	}

	GdbStub &s_;
};

Result<std::unique_ptr<GdbStub>> GdbStub::listen(std::uint16_t port)
{
	int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return Error::last("socket");
	int one = 1;
	::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) < 0 || ::listen(fd, 1) < 0 ||
	    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &alen) < 0) {
		auto e = Error::last("--gdb", "127.0.0.1:" + std::to_string(port));
		::close(fd);
		return e;
	}
	int p[2];
	if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		auto e = Error::last("pipe2");
		::close(fd);
		return e;
	}
	return std::unique_ptr<GdbStub>(new GdbStub(fd, ntohs(a.sin_port), p[0], p[1]));
}

GdbStub::GdbStub(int listen_fd, std::uint16_t port, int wake_rd, int wake_wr)
    : listen_fd_(listen_fd), wake_rd_(wake_rd), wake_wr_(wake_wr), port_(port)
{
}

GdbStub::~GdbStub()
{
	shutdown();
	for (int fd : {listen_fd_, conn_, wake_rd_, wake_wr_})
		if (fd >= 0)
			::close(fd);
}

Result<void> GdbStub::accept()
{
	for (;;) {
		int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			return Error::last("--gdb", "accept");
		int one = 1;
		::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_ = c;
		/* One debugger: nobody else may connect. */
		::close(listen_fd_);
		listen_fd_ = -1;
		return vapicvm::ok();
	}
}

void GdbStub::attach(std::vector<vapicvm::vmm::VcpuRunner *> runners,
		     const vapicvm::vmm::GuestMemory &mem, std::function<void()> kill)
{
	runners_ = std::move(runners);
	mem_ = &mem;
	kill_ = std::move(kill);
	parked_.assign(runners_.size(), false);
	/* Stopped at the first instruction: the work runs before the first RUN. */
	for (unsigned i = 0; i < runners_.size(); i++)
		runners_[i]->post([this, i](Vcpu &) { park(i, 1); });
}

Result<void> GdbStub::start()
{
	try {
		thread_ = std::thread([this] { serve(); });
	} catch (const std::system_error &e) {
		return Error(e.code(), "--gdb", "thread creation");
	}
	return vapicvm::ok();
}

void GdbStub::wake()
{
	char c = 0;
	(void)!::write(wake_wr_, &c, 1);
}

bool GdbStub::send(std::string_view payload)
{
	std::string p = gdb::packet(payload);
	for (std::size_t off = 0; off < p.size();) {
		ssize_t n = ::send(conn_, p.data() + off, p.size() - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += static_cast<std::size_t>(n);
	}
	return true;
}

bool GdbStub::request_stop(const gdb::StopEvent &ev, const Vcpu *caller)
{
	std::uint64_t gen;
	{
		std::lock_guard<std::mutex> g(mu_);
		if (released_ || halted_)
			return false;
		halted_ = true;
		gen = ++gen_;
		pending_ = ev;
	}
	for (unsigned i = 0; i < runners_.size(); i++)
		if (&runners_[i]->vcpu() != caller)
			runners_[i]->post([this, i, gen](Vcpu &) { park(i, gen); });
	wake();
	return true;
}

void GdbStub::park(unsigned vcpu, std::uint64_t gen)
{
	std::unique_lock<std::mutex> g(mu_);
	auto over = [&] { return released_ || !halted_ || gen_ != gen; };
	if (over())
		return;
	parked_[vcpu] = true;
	cv_.notify_all();
	cv_.wait(g, over);
	parked_[vcpu] = false;
}

void GdbStub::wait_parked()
{
	std::unique_lock<std::mutex> g(mu_);
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < runners_.size(); i++)
			all &= parked_[i] || runners_[i]->finished();
		if (all || released_)
			return;
		/* A runner that ends does not notify: look again now and then. */
		cv_.wait_for(g, std::chrono::milliseconds(20));
	}
}

void GdbStub::resume_all()
{
	{
		std::lock_guard<std::mutex> g(mu_);
		halted_ = false;
		pending_.reset();
	}
	cv_.notify_all();
}

void GdbStub::on_debug_exit(Vcpu &vcpu, const vapicvm::DebugExit &d)
{
	gdb::StopEvent ev;
	ev.vcpu = vcpu.id();
	if (auto hits = d.hw_hits())
		ev.watchpoint = static_cast<unsigned>(std::countr_zero(hits));
	/*
	 * If another vCPU stopped the machine first, this event is dropped:
	 * an INT3 or instruction breakpoint is hit again when the vCPU goes
	 * on, as its RIP has not moved.
	 */
	request_stop(ev, &vcpu);
	std::uint64_t gen;
	{
		std::lock_guard<std::mutex> g(mu_);
		gen = gen_;
	}
	unsigned i = 0;
	while (i < runners_.size() && &runners_[i]->vcpu() != &vcpu)
		i++;
	if (i < runners_.size())
		park(i, gen);
}

void GdbStub::machine_stopped(int status)
{
	{
		std::lock_guard<std::mutex> g(mu_);
		released_ = true;
		if (!exit_status_)
			exit_status_ = status;
	}
	cv_.notify_all();
	wake();
}

void GdbStub::shutdown()
{
	{
		std::lock_guard<std::mutex> g(mu_);
		closing_ = true;
		released_ = true;
	}
	cv_.notify_all();
	if (wake_wr_ >= 0)
		wake();
	if (thread_.joinable())
		thread_.join();
}

void GdbStub::serve()
{
	VcpuTarget target(*this);
	gdb::PacketReader reader;
	bool running = false;
	wait_parked();
	/* The register set follows vCPU 0's mode now: see gdb::Arch. */
	auto arch = gdb::Arch::X86_64;
	if (auto sr = runners_.at(0)->vcpu().sregs())
		arch = gdb::arch_of(*sr);
	gdb::Session session(target, arch);

	/* Take our breakpoints out and let the guest run without us. */
	auto detach = [&] {
		if (running && request_stop({gdb::StopEvent::Kind::Interrupt}, nullptr))
			wait_parked();
		session.remove_all();
		{
			std::lock_guard<std::mutex> g(mu_);
			released_ = true;
		}
		resume_all();
	};

	for (;;) {
		pollfd p[2] = {{conn_, POLLIN, 0}, {wake_rd_, POLLIN, 0}};
		if (::poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			char buf[64];
			while (::read(wake_rd_, buf, sizeof(buf)) > 0) {
			}
			std::unique_lock<std::mutex> g(mu_);
			/* The guest's end first: shutdown() may follow at once. */
			if (exit_status_) {
				int st = *exit_status_;
				g.unlock();
				gdb::StopEvent ev{gdb::StopEvent::Kind::Exited};
				ev.exit_code = st;
				send(session.stop_reply(ev));
				/* Let gdb's ack arrive: closing with it unread would reset. */
				pollfd a = {conn_, POLLIN, 0};
				if (::poll(&a, 1, 1000) > 0)
					(void)!::recv(conn_, buf, sizeof(buf), MSG_DONTWAIT);
				break;
			}
			if (closing_)
				break;
			if (running && pending_) {
				auto ev = *pending_;
				g.unlock();
				wait_parked();
				running = false;
				send(session.stop_reply(ev));
			}
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		std::uint8_t buf[4096];
		ssize_t n = ::recv(conn_, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* gdb went away: as a detach */
			detach();
			break;
		}
		bool done = false;
		for (ssize_t i = 0; i < n && !done; i++) {
			switch (reader.feed(buf[i])) {
			case gdb::PacketReader::Event::Interrupt:
				if (running)
					request_stop({gdb::StopEvent::Kind::Interrupt}, nullptr);
				break;
			case gdb::PacketReader::Event::BadPacket:
				(void)!::send(conn_, "-", 1, MSG_NOSIGNAL);
				break;
			case gdb::PacketReader::Event::Packet: {
				(void)!::send(conn_, "+", 1, MSG_NOSIGNAL);
				if (running)
					break; /* all-stop: nothing but ^C while it runs */
				auto out = session.handle(reader.payload());
				switch (out.action) {
				case gdb::Session::Action::Reply:
					send(out.reply);
					break;
				case gdb::Session::Action::Resume:
					running = true;
					resume_all();
					break;
				case gdb::Session::Action::Kill:
					if (kill_)
						kill_();
					done = true;
					break;
				case gdb::Session::Action::Detach:
					send(out.reply);
					detach();
					done = true;
					break;
				}
				break;
			}
			default:
				break;
			}
		}
		if (done)
			break;
	}
	::shutdown(conn_, SHUT_RDWR);
}

} // namespace vrun
