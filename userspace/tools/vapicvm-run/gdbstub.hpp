// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm-run --gdb PORT: a gdb remote stub on 127.0.0.1:PORT over the
 * machine's vCPU runners.  All-stop: when one vCPU stops (a breakpoint, a
 * single step, a watchpoint, gdb's Ctrl-C), every other vCPU is parked on
 * its own thread (VcpuRunner::post()) before gdb is told, and gdb's reads
 * and writes of registers and memory are made while all are parked.
 * The protocol itself is gdb_protocol.hpp's.
 */
#ifndef VAPICVM_RUN_GDBSTUB_HPP
#define VAPICVM_RUN_GDBSTUB_HPP

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <vapicvm/vmm/vmm.hpp>

#include "gdb_protocol.hpp"

namespace vrun
{

class GdbStub
{
public:
	/* Listen on 127.0.0.1:port (port 0: any; port() says which). */
	static vapicvm::Result<std::unique_ptr<GdbStub>> listen(std::uint16_t port);
	~GdbStub();
	GdbStub(const GdbStub &) = delete;
	GdbStub &operator=(const GdbStub &) = delete;

	std::uint16_t port() const noexcept { return port_; }
	/* Wait for gdb to connect. */
	vapicvm::Result<void> accept();

	/*
	 * Take the machine's runners, before they start: each is parked at
	 * its first instruction until gdb resumes the guest.  kill is called
	 * when gdb kills the guest.
	 */
	void attach(std::vector<vapicvm::vmm::VcpuRunner *> runners,
		    const vapicvm::vmm::GuestMemory &mem, std::function<void()> kill);
	/* Serve gdb on a thread of its own (after the runners have started). */
	vapicvm::Result<void> start();

	/* A vCPU thread's DebugExit: stop the machine and wait for gdb. */
	void on_debug_exit(vapicvm::Vcpu &vcpu, const vapicvm::DebugExit &d);
	/*
	 * The machine has ended (status: vapicvm-run's exit status): gdb
	 * hears that the inferior exited, and nothing is parked any more.
	 * Any thread, once or more; does not block.
	 */
	void machine_stopped(int status);
	/* Close the connection and join the thread. */
	void shutdown();

private:
	class VcpuTarget;

	GdbStub(int listen_fd, std::uint16_t port, int wake_rd, int wake_wr);
	void serve();
	bool send(std::string_view payload);
	void wake();
	/* Stop the guest for ev; false if it was stopped already. */
	bool request_stop(const gdb::StopEvent &ev, const vapicvm::Vcpu *caller);
	void park(unsigned vcpu, std::uint64_t gen);
	void wait_parked();
	void resume_all();

	int listen_fd_ = -1, conn_ = -1;
	int wake_rd_ = -1, wake_wr_ = -1;
	std::uint16_t port_ = 0;
	std::vector<vapicvm::vmm::VcpuRunner *> runners_;
	const vapicvm::vmm::GuestMemory *mem_ = nullptr;
	std::function<void()> kill_;
	std::thread thread_;

	std::mutex mu_;
	std::condition_variable cv_;
	bool halted_ = true;       /* the guest is (being) stopped */
	std::uint64_t gen_ = 1;    /* which stop: park work of an older one is stale */
	std::vector<bool> parked_; /* per vCPU */
	std::optional<gdb::StopEvent> pending_{}; /* a stop gdb has not heard of */
	bool released_ = false; /* the machine ended, or gdb detached: never park */
	std::optional<int> exit_status_{};
	bool closing_ = false;
};

} // namespace vrun

#endif
