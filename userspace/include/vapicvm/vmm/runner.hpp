// SPDX-License-Identifier: GPL-2.0
/*
 * A thread per vCPU: VcpuRunner calls Vcpu::run() in a loop on its own
 * thread and hands every exit to a handler.  request_stop() ends the loop
 * from any thread, including a RUN blocked in the kernel (a halted vCPU, an
 * AP waiting for SIPI): it sets immediate_exit and sends the runner's
 * thread the kick signal, whose handler does nothing and is installed
 * without SA_RESTART, so RUN returns EINTR.
 */
#ifndef VAPICVM_VMM_RUNNER_HPP
#define VAPICVM_VMM_RUNNER_HPP

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "vapicvm/exit.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/vcpu.hpp"

namespace vapicvm::vmm
{

enum class RunAction { Continue, Stop };

class VcpuRunner
{
public:
	/* Called on the runner's thread for every exit but InterruptedExit. */
	using ExitHandler = std::function<RunAction(Vcpu &, const VcpuExit &)>;

	/* The real-time signal used to kick runners (SIGRTMIN). */
	static int kick_signal() noexcept;
	/*
	 * Install the no-op kick handler (no SA_RESTART).  Idempotent; start()
	 * calls it.  Replaces any handler the program had for that signal.
	 */
	static Result<void> install_kick_handler();

	/*
	 * The runner owns the vCPU (moved in) and is itself neither copyable
	 * nor movable: its thread holds this object, so neither can move away
	 * under it.  vcpu() reaches it; after join(), take() moves it out.
	 */
	VcpuRunner(Vcpu vcpu, ExitHandler handler);
	VcpuRunner(const VcpuRunner &) = delete;
	VcpuRunner &operator=(const VcpuRunner &) = delete;
	VcpuRunner(VcpuRunner &&) = delete;
	VcpuRunner &operator=(VcpuRunner &&) = delete;
	/* Stops and joins. */
	~VcpuRunner();

	Result<void> start();
	/* Ask the loop to end; returns at once.  Any thread, the runner's own included. */
	void request_stop() noexcept;
	/*
	 * Run work on the runner's thread before its next RUN, interrupting a
	 * RUN in progress (without stopping the loop).  This is how other
	 * threads reach the vCPU's locked ioctls (regs, MSRs, LAPIC state...),
	 * which the kernel serializes against RUN.  If the last exit was an IN
	 * or an MMIO read, the instruction is completed first, so work sees
	 * its result.  Work posted after the loop ended never runs.
	 */
	void post(std::function<void(Vcpu &)> work);
	/* Wait for the thread (no-op if never started or already joined). */
	void join() noexcept;
	/* Whether the loop has ended (handler said Stop, request_stop(), or an error). */
	bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
	bool stop_requested() const noexcept { return stop_.load(std::memory_order_acquire); }

	/* After join(): the RUN failure that ended the loop, if any. */
	const std::optional<Error> &error() const noexcept { return error_; }
	/* The vCPU; while the loop runs, only its thread-safe members (vcpu.hpp). */
	Vcpu &vcpu() noexcept { return vcpu_; }
	/* After join() (or before start()): the vCPU, moved out. */
	Vcpu take() &&;

private:
	void loop() noexcept;
	/* Hand an exit to the handler: whether the loop goes on. */
	bool dispatch(const VcpuExit &exit) noexcept;

	Vcpu vcpu_;
	/* The last exit was an IN or MMIO read: the next RUN completes it. */
	bool completion_due_ = false;
	ExitHandler handler_;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::atomic<bool> finished_{false};
	std::optional<Error> error_;
	std::mutex work_mu_;
	std::deque<std::function<void(Vcpu &)>> work_;
};

} // namespace vapicvm::vmm

#endif
