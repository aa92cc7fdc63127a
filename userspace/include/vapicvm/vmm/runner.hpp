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

	/* The runner borrows vcpu: it must outlive the runner. */
	VcpuRunner(Vcpu &vcpu, ExitHandler handler);
	VcpuRunner(const VcpuRunner &) = delete;
	VcpuRunner &operator=(const VcpuRunner &) = delete;
	/* Stops and joins. */
	~VcpuRunner();

	Result<void> start();
	/* Ask the loop to end; returns at once.  Any thread, the runner's own included. */
	void request_stop() noexcept;
	/*
	 * Run work on the runner's thread before its next RUN, interrupting a
	 * RUN in progress (without stopping the loop).  This is how other
	 * threads reach the vCPU's own ioctls (e.g. Vcpu::interrupt()), which
	 * the kernel serializes against RUN.  Work posted after the loop ended
	 * never runs.
	 */
	void post(std::function<void(Vcpu &)> work);
	/* Wait for the thread (no-op if never started or already joined). */
	void join() noexcept;
	/* Whether the loop has ended (handler said Stop, request_stop(), or an error). */
	bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
	bool stop_requested() const noexcept { return stop_.load(std::memory_order_acquire); }

	/* After join(): the RUN failure that ended the loop, if any. */
	const std::optional<Error> &error() const noexcept { return error_; }
	Vcpu &vcpu() noexcept { return vcpu_; }

private:
	void loop() noexcept;

	Vcpu &vcpu_;
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
