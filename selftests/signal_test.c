// SPDX-License-Identifier: GPL-2.0
/*
 * Leaving RUN early: a signal makes RUN return -1/EINTR with exit reason
 * INTR, whether the guest is running or halted, and the vCPU resumes where
 * it was; run->immediate_exit makes RUN return at once, after completing an
 * IN or MMIO read that userspace answered.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	signals_seen++;
}

static void install(int sig)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(sig, &sa, NULL), "sigaction");
}

/* A guest that counts in memory until told to stop. */
static volatile uint64_t spin_count, spin_stop;

static void guest_spin(void)
{
	uint64_t r12_before, r12_after;

	__asm__ volatile("mov $0x1212121212121212, %%r12\n\t"
			 "mov %%r12, %0" : "=r"(r12_before) : : "r12");
	while (!spin_stop)
		spin_count++;
	__asm__ volatile("mov %%r12, %0" : "=r"(r12_after));
	GUEST_ASSERT_EQ(r12_before, r12_after);
	GUEST_DONE();
}

static uint64_t guest_count(struct vm *vm)
{
	return *(volatile uint64_t *)addr_gpa2hva(vm, (uint64_t)(uintptr_t)&spin_count);
}

static void stop_guest(struct vm *vm)
{
	*(volatile uint64_t *)addr_gpa2hva(vm, (uint64_t)(uintptr_t)&spin_stop) = 1;
}

TEST(signal_interrupts_running_guest)
{
	struct itimerval it = { .it_interval = { 0, 20000 }, .it_value = { 0, 20000 } };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	uint64_t last = 0, intr_exits = 0;
	struct ucall uc;
	int i;

	install(SIGALRM);
	signals_seen = 0;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	for (i = 0; i < 5; i++) {
		int r = __vcpu_run(vcpu);

		ASSERT_EQ(-1, r) TH_LOG("RUN returned %d, exit %s", r,
					exit_reason_str(vcpu->run->exit_reason));
		ASSERT_EQ(EINTR, errno);
		ASSERT_EQ(VAPICVM_EXIT_INTR, vcpu->run->exit_reason);
		/* The guest made progress between the signals, and keeps it. */
		EXPECT_GT(guest_count(vm), last);
		last = guest_count(vm);
		intr_exits++;
	}
	memset(&it, 0, sizeof(it));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_GE(signals_seen, intr_exits);

	stop_guest(vm);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_GE(guest_count(vm), last);
	vm_free(vm);
}

/* A halted vCPU sleeps in RUN; a signal wakes it and RUN returns. */
static void guest_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
	GUEST_DONE();
}

TEST(signal_interrupts_halted_vcpu)
{
	struct itimerval it = { .it_value = { 0, 50000 } };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_sti_hlt, 0);
	struct vapicvm_mp_state mp;
	struct ucall uc;
	int r;

	install(SIGALRM);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	r = __vcpu_run(vcpu);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(VAPICVM_EXIT_INTR, vcpu->run->exit_reason);
	vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
	EXPECT_EQ(VAPICVM_MP_STATE_HALTED, mp.mp_state);
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_HLT));
	/* Still halted: another signal, another EINTR. */
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	/* Userspace wakes it: the guest goes on after its HLT. */
	mp.mp_state = VAPICVM_MP_STATE_RUNNABLE;
	vcpu_ioctl(vcpu, VAPICVM_SET_MP_STATE, &mp);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* A signal for another thread does not disturb RUN; a blocked one neither. */
TEST(blocked_signal_does_not_interrupt)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	sigset_t set, old;
	struct ucall uc;

	install(SIGUSR1);
	signals_seen = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, &old));
	ASSERT_EQ(0, raise(SIGUSR1));
	stop_guest(vm);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0, signals_seen);
	ASSERT_EQ(0, sigprocmask(SIG_SETMASK, &old, NULL));
	EXPECT_EQ(1, signals_seen);
	vm_free(vm);
}

/* The vCPU runs in its own thread; another thread signals it repeatedly. */
struct runner {
	struct vcpu *vcpu;
	volatile int eintr;
	volatile bool started, done;
	uint64_t last_cmd;
};

static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	struct ucall uc;

	r->started = true;
	for (;;) {
		int ret = __vcpu_run(r->vcpu);

		if (ret == -1 && errno == EINTR) {
			TEST_ASSERT(r->vcpu->run->exit_reason == VAPICVM_EXIT_INTR,
				    "EINTR with exit reason %u", r->vcpu->run->exit_reason);
			r->eintr++;
			continue;
		}
		TEST_ASSERT(ret == 0, "RUN: %d", ret);
		r->last_cmd = get_ucall(r->vcpu, &uc);
		break;
	}
	r->done = true;
	return NULL;
}

TEST(signal_from_another_thread)
{
	struct vm *vm = vm_create();
	struct runner r = { .vcpu = vm_add_vcpu(vm, 0, guest_spin, 0) };
	pthread_t t;
	int sent;

	install(SIGUSR1);
	ASSERT_EQ(0, pthread_create(&t, NULL, runner_fn, &r));
	while (!r.started)
		usleep(1000);
	for (sent = 0; sent < 20; sent++) {
		int before = r.eintr, i;

		/*
		 * A signal that lands while the thread is between two RUNs
		 * interrupts nothing: send until one ends a RUN.
		 */
		for (i = 0; i < 2000 && r.eintr == before; i++) {
			ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
			usleep(1000);
		}
		ASSERT_GT(r.eintr, before) TH_LOG("no signal ended RUN (round %d)", sent);
	}
	stop_guest(vm);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(UCALL_DONE, r.last_cmd);
	EXPECT_GE(r.eintr, 20);
	EXPECT_GT(guest_count(vm), 0);
	vm_free(vm);
}

/*
 * Two vCPUs of one VM in guest mode on their own threads (on both host CPUs
 * when there are two), with no VM exit of their own: one in guest_spin(),
 * the other toggling CR4.PGE, a whole-TLB flush the guest owns.  A signal
 * to either thread ends its RUN with EINTR, every round.
 */
static volatile uint64_t pge_flips;

static void guest_spin_pge(void)
{
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	while (!spin_stop) {
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 7)) : "memory");
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
		pge_flips++;
	}
	GUEST_DONE();
}

#define SIGNAL_ROUNDS	10

TEST(signal_reaches_each_of_two_spinning_vcpus)
{
	struct vm *vm = vm_create();
	struct runner r[2] = {
		{ .vcpu = vm_add_vcpu(vm, 0, guest_spin, 0) },
		{ .vcpu = vm_add_vcpu(vm, 1, guest_spin_pge, 0) },
	};
	unsigned int sent[2] = { 0, 0 };
	uint64_t flips;
	pthread_t t[2];
	int i, round;

	install(SIGUSR1);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, runner_fn, &r[i]));
	for (i = 0; i < 2; i++)
		while (!r[i].started)
			usleep(1000);
	for (round = 0; round < SIGNAL_ROUNDS; round++) {
		for (i = 0; i < 2; i++) {
			int before = r[i].eintr, n;

			/* One that lands between two RUNs ends none: send until one does. */
			for (n = 0; n < 2000 && r[i].eintr == before; n++) {
				ASSERT_EQ(0, pthread_kill(t[i], SIGUSR1));
				sent[i]++;
				usleep(1000);
			}
			ASSERT_GT(r[i].eintr, before)
				TH_LOG("vCPU %d: 2000 signals, none ended RUN (round %d)", i, round);
		}
	}
	stop_guest(vm);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(UCALL_DONE, r[i].last_cmd);
		EXPECT_GE(r[i].eintr, SIGNAL_ROUNDS);
	}
	flips = *(volatile uint64_t *)addr_gpa2hva(vm, (uint64_t)(uintptr_t)&pge_flips);
	EXPECT_GT(guest_count(vm), 0);
	EXPECT_GT(flips, 0);
	TH_LOG("EINTR %d and %d from %u and %u signals; %lu spins, %lu CR4.PGE toggle pairs",
	       r[0].eintr, r[1].eintr, sent[0], sent[1], guest_count(vm), flips);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* immediate_exit                                                      */
/* ------------------------------------------------------------------ */

TEST(immediate_exit_returns_at_once)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	struct vapicvm_regs before, after;
	struct ucall uc;
	int i;

	ASSERT_EQ(1, ioctl(vm->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_IMMEDIATE_EXIT));
	vcpu_get_regs(vcpu, &before);
	vcpu->run->immediate_exit = 1;
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(-1, __vcpu_run(vcpu));
		ASSERT_EQ(EINTR, errno);
		EXPECT_EQ(VAPICVM_EXIT_INTR, vcpu->run->exit_reason);
	}
	vcpu_get_regs(vcpu, &after);
	EXPECT_EQ(before.rip, after.rip) TH_LOG("the guest ran");
	EXPECT_EQ(0, guest_count(vm));
	EXPECT_EQ(0, vcpu_stat(vcpu, VAPICVM_STAT_EXITS));

	vcpu->run->immediate_exit = 0;
	stop_guest(vm);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

static void guest_in_then_mmio(void)
{
	uint64_t rax = 0xaaaaaaaaaaaaaaaaULL, v;

	__asm__ volatile("inw $0x71, %%ax" : "+a"(rax));
	v = *(volatile uint32_t *)0xc0000040ULL;
	GUEST_SYNC_ARGS(1, rax, v);
	GUEST_DONE();
}

TEST(immediate_exit_completes_pending_reads)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_in_then_mmio, 0);
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs r1, r2;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_IO, run->exit_reason);
	ASSERT_EQ(VAPICVM_EXIT_IO_IN, run->io.direction);
	ASSERT_EQ(0x71, run->io.port);
	vcpu_get_regs(vcpu, &r1);
	*(uint16_t *)((uint8_t *)run + run->io.data_offset) = 0x4242;
	run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	EXPECT_EQ(VAPICVM_EXIT_INTR, run->exit_reason);
	vcpu_get_regs(vcpu, &r2);
	EXPECT_EQ(r1.rip + 3, r2.rip) TH_LOG("the IN (66 e5 71) did not complete");
	EXPECT_EQ((r1.rax & ~0xffffULL) | 0x4242, r2.rax);
	/* Completed once only: another immediate exit changes nothing. */
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	vcpu_get_regs(vcpu, &r1);
	EXPECT_EQ(r2.rip, r1.rip);
	EXPECT_EQ(r2.rax, r1.rax);

	run->immediate_exit = 0;
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	ASSERT_EQ(0xc0000040ULL, run->mmio.phys_addr);
	ASSERT_FALSE(run->mmio.is_write);
	vcpu_get_regs(vcpu, &r1);
	memcpy(run->mmio.data, &(uint32_t){ 0x13572468 }, 4);
	run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	vcpu_get_regs(vcpu, &r2);
	EXPECT_NE(r1.rip, r2.rip) TH_LOG("the MMIO read did not complete");

	run->immediate_exit = 0;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0xaaaaaaaaaaaa4242ULL, uc.args[1]);
	EXPECT_EQ(0x13572468, uc.args[2]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

TEST_HARNESS_MAIN
