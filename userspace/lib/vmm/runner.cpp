// SPDX-License-Identifier: GPL-2.0
#include <csignal>
#include <mutex>
#include <system_error>

#include <pthread.h>

#include "vapicvm/vmm/runner.hpp"

namespace vapicvm::vmm
{

namespace
{
void kick_handler(int) {}
} // namespace

int VcpuRunner::kick_signal() noexcept
{
	return SIGRTMIN;
}

Result<void> VcpuRunner::install_kick_handler()
{
	static std::mutex m;
	static bool installed = false;
	std::lock_guard<std::mutex> g(m);
	if (installed)
		return ok();
	struct sigaction sa {
	};
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: RUN must return EINTR */
	if (::sigaction(kick_signal(), &sa, nullptr) < 0)
		return Error::last("sigaction", "vCPU kick signal");
	installed = true;
	return ok();
}

VcpuRunner::VcpuRunner(Vcpu vcpu, ExitHandler handler)
    : vcpu_(std::move(vcpu)), handler_(std::move(handler))
{
}

VcpuRunner::~VcpuRunner()
{
	request_stop();
	join();
}

Result<void> VcpuRunner::start()
{
	if (thread_.joinable())
		return Error::from_errno(EBUSY, "VcpuRunner::start", "already started");
	auto r = install_kick_handler();
	if (!r)
		return r;
	/* The kick signal must be deliverable on the new thread. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, &old);
	try {
		thread_ = std::thread([this] { loop(); });
	} catch (const std::system_error &e) {
		pthread_sigmask(SIG_SETMASK, &old, nullptr);
		return Error(e.code(), "VcpuRunner::start", "thread creation");
	}
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
	return ok();
}

void VcpuRunner::request_stop() noexcept
{
	stop_.store(true, std::memory_order_seq_cst);
	/* A RUN about to start sees immediate_exit; one in progress gets the signal. */
	vcpu_.set_immediate_exit(true);
	if (thread_.joinable() && !finished_.load(std::memory_order_acquire))
		pthread_kill(thread_.native_handle(), kick_signal());
}

void VcpuRunner::post(std::function<void(Vcpu &)> work)
{
	{
		std::lock_guard<std::mutex> g(work_mu_);
		work_.push_back(std::move(work));
	}
	/*
	 * After the work is queued: a RUN that starts from now on returns at
	 * once (the loop clears the flag before it looks at the queue), and
	 * one in progress is interrupted.
	 */
	vcpu_.set_immediate_exit(true);
	if (thread_.joinable() && !finished_.load(std::memory_order_acquire) &&
	    thread_.get_id() != std::this_thread::get_id())
		pthread_kill(thread_.native_handle(), kick_signal());
}

void VcpuRunner::join() noexcept
{
	if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
		thread_.join();
}

Vcpu VcpuRunner::take() &&
{
	join();
	return std::move(vcpu_);
}

bool VcpuRunner::dispatch(const VcpuExit &exit) noexcept
{
	if (std::holds_alternative<InterruptedExit>(exit))
		return true; /* the loop condition decides */
	completion_due_ =
		std::holds_alternative<IoIn>(exit) || std::holds_alternative<MmioRead>(exit);
	return handler_(vcpu_, exit) == RunAction::Continue;
}

void VcpuRunner::loop() noexcept
{
	for (;;) {
		vcpu_.set_immediate_exit(false);
		/* request_stop() sets stop_ before immediate_exit: this sees it. */
		if (stop_.load(std::memory_order_seq_cst))
			break;
		std::deque<std::function<void(Vcpu &)>> work;
		{
			std::lock_guard<std::mutex> g(work_mu_);
			work.swap(work_);
		}
		if (!work.empty() && completion_due_) {
			/*
			 * Work must see the IN or MMIO read done: a RUN with
			 * immediate_exit completes it and returns EINTR (or, for
			 * a read-modify-write, the write's exit).  The work goes
			 * back in the queue for the next round, so that a stop
			 * requested meanwhile is seen first.
			 */
			completion_due_ = false;
			{
				std::lock_guard<std::mutex> g(work_mu_);
				for (auto it = work.rbegin(); it != work.rend(); ++it)
					work_.push_front(std::move(*it));
			}
			vcpu_.set_immediate_exit(true);
		} else {
			for (auto &w : work)
				w(vcpu_);
		}
		auto r = vcpu_.run();
		if (!r) {
			error_ = std::move(r).error();
			break;
		}
		if (!dispatch(*r))
			break;
	}
	finished_.store(true, std::memory_order_release);
}

} // namespace vapicvm::vmm
