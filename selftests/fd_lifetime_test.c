// SPDX-License-Identifier: GPL-2.0
/*
 * Object lifetimes: the VM, vCPU, run-page and guest-memory references may
 * go away in any order, also while vCPUs are in RUN, and once the last one
 * is gone the VM is freed (/sys/class/misc/vapicvm/vms back to 0; the bench
 * also checks that the module unloads after all tests).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

static long vms(void)
{
	return read_sysfs_long(VAPICVM_SYSFS "vms");
}

/* Wait (briefly) for the VM count to reach a value; returns the last seen. */
static long wait_vms(long want)
{
	long v = vms();
	int i;

	for (i = 0; i < 2000 && v != want; i++) {
		usleep(1000);
		v = vms();
	}
	return v;
}

static void on_signal(int sig)
{
}

static void guest_spin(void)
{
	for (;;)
		__asm__ volatile("pause" ::: "memory");
}

/* Runs RUN once, with nothing but the raw fd: the test takes the rest away. */
struct spinner {
	int fd;
	volatile bool in_run;
	int ret, err;
};

static void *spinner_fn(void *arg)
{
	struct spinner *s = arg;

	s->in_run = true;
	s->ret = ioctl(s->fd, VAPICVM_RUN, 0);
	s->err = errno;
	return NULL;
}

enum order {
	VM_FD_FIRST,
	VCPU_FDS_FIRST,
	RUN_PAGES_FIRST,
	GUEST_MEMORY_FIRST,
	DEV_FD_LAST,
	NR_ORDERS,
};

static const char *const order_names[] = {
	"VM fd first", "vCPU fds first", "run pages first", "guest memory first",
	"/dev/vapicvm last",
};

#define NR_SPINNERS	2

/*
 * Two vCPUs spin in RUN in their own threads while everything that refers
 * to the VM is dropped in the given order; then the threads are signalled
 * out of RUN, and the VM must be gone.
 */
static void drop_while_running(struct __test_metadata *_metadata, enum order order)
{
	struct spinner s[NR_SPINNERS];
	pthread_t t[NR_SPINNERS];
	struct sigaction sa = { .sa_handler = on_signal };
	struct vapicvm_run *runs[NR_SPINNERS];
	struct vm *vm;
	int i, vcpu_fds[NR_SPINNERS];

	ASSERT_EQ(0, wait_vms(0));
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	vm = vm_create();
	for (i = 0; i < NR_SPINNERS; i++) {
		struct vcpu *vcpu = vm_add_vcpu(vm, i, guest_spin, 0);

		s[i] = (struct spinner){ .fd = vcpu->fd };
		vcpu_fds[i] = vcpu->fd;
		runs[i] = vcpu->run;
	}
	for (i = 0; i < NR_SPINNERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, spinner_fn, &s[i]));
	for (i = 0; i < NR_SPINNERS; i++)
		while (!s[i].in_run)
			usleep(1000);
	usleep(20000);	/* well inside RUN by now */
	EXPECT_EQ(1, vms());

	switch (order) {
	case VM_FD_FIRST:
		close(vm->fd);
		for (i = 0; i < NR_SPINNERS; i++)
			close(vcpu_fds[i]);
		for (i = 0; i < NR_SPINNERS; i++)
			munmap(runs[i], 4096);
		munmap(vm->mem, vm->mem_size);
		close(vm->dev_fd);
		break;
	case VCPU_FDS_FIRST:
		for (i = 0; i < NR_SPINNERS; i++)
			close(vcpu_fds[i]);
		close(vm->fd);
		close(vm->dev_fd);
		munmap(vm->mem, vm->mem_size);
		for (i = 0; i < NR_SPINNERS; i++)
			munmap(runs[i], 4096);
		break;
	case RUN_PAGES_FIRST:
		for (i = 0; i < NR_SPINNERS; i++)
			munmap(runs[i], 4096);
		close(vm->fd);
		close(vm->dev_fd);
		for (i = 0; i < NR_SPINNERS; i++)
			close(vcpu_fds[i]);
		munmap(vm->mem, vm->mem_size);
		break;
	case GUEST_MEMORY_FIRST:
		munmap(vm->mem, vm->mem_size);
		close(vcpu_fds[1]);
		close(vm->fd);
		munmap(runs[0], 4096);
		close(vcpu_fds[0]);
		munmap(runs[1], 4096);
		close(vm->dev_fd);
		break;
	case DEV_FD_LAST:
		close(vcpu_fds[0]);
		munmap(runs[0], 4096);
		munmap(vm->mem, vm->mem_size);
		close(vm->fd);
		munmap(runs[1], 4096);
		close(vcpu_fds[1]);
		close(vm->dev_fd);
		break;
	default:
		break;
	}
	/* RUN still holds its vCPU, and so the VM. */
	EXPECT_EQ(1, vms());
	for (i = 0; i < NR_SPINNERS; i++) {
		/* Keep signalling until RUN is left (a signal may land before RUN). */
		int k;

		for (k = 0; k < 2000; k++) {
			pthread_kill(t[i], SIGUSR1);
			if (!pthread_tryjoin_np(t[i], NULL))
				break;
			usleep(1000);
		}
		ASSERT_LT(k, 2000) TH_LOG("vCPU thread %d never left RUN", i);
		EXPECT_EQ(-1, s[i].ret);
		EXPECT_EQ(EINTR, s[i].err);
	}
	EXPECT_EQ(0, wait_vms(0)) TH_LOG("%s: the VM was not freed", order_names[order]);
	free(vm->vcpus[0]);
	free(vm->vcpus[1]);
	free(vm);
}

TEST(drop_vm_fd_first)
{
	drop_while_running(_metadata, VM_FD_FIRST);
}

TEST(drop_vcpu_fds_first)
{
	drop_while_running(_metadata, VCPU_FDS_FIRST);
}

TEST(drop_run_pages_first)
{
	drop_while_running(_metadata, RUN_PAGES_FIRST);
}

TEST(drop_guest_memory_first)
{
	drop_while_running(_metadata, GUEST_MEMORY_FIRST);
}

TEST(drop_dev_fd_last)
{
	drop_while_running(_metadata, DEV_FD_LAST);
}

/* The run page mapping alone keeps the vCPU file, and so the VM. */
TEST(run_page_mapping_outlives_fds)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	struct vapicvm_run *run = vcpu->run;

	EXPECT_EQ(1, vms());
	close(vcpu->fd);
	close(vm->fd);
	close(vm->dev_fd);
	EXPECT_EQ(1, vms());
	run->immediate_exit = 1;	/* the page is still there and writable */
	EXPECT_EQ(1, run->immediate_exit);
	munmap(run, 4096);
	EXPECT_EQ(0, wait_vms(0));
	munmap(vm->mem, vm->mem_size);
	free(vcpu);
	free(vm);
}

/* A closed vCPU fd does not free the vCPU: its id stays taken. */
static void guest_done(void)
{
	GUEST_DONE();
}

TEST(closed_vcpu_keeps_its_id)
{
	struct vm *vm = vm_create();
	struct vcpu *a = vm_add_vcpu(vm, 0, guest_done, 0);
	struct vcpu *b = vm_add_vcpu(vm, 1, guest_done, 0);
	struct ucall uc;

	munmap(a->run, 4096);
	close(a->fd);
	errno = 0;
	EXPECT_EQ(-1, ioctl(vm->fd, VAPICVM_CREATE_VCPU, 0));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(b, &uc));
	/* vm_free must not touch the closed vCPU again. */
	vm->vcpus[0] = vm->vcpus[1];
	vm->nr_vcpus = 1;
	free(a);
	vm_free(vm);
	EXPECT_EQ(0, wait_vms(0));
}

/* A process killed with vCPUs in RUN leaves nothing behind. */
static void child_spins(int ready_fd)
{
	struct spinner s[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		struct vm *vm = vm_create();
		struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);

		s[i] = (struct spinner){ .fd = vcpu->fd };
		TEST_ASSERT(!pthread_create(&t[i], NULL, spinner_fn, &s[i]), "pthread_create");
	}
	for (i = 0; i < 4; i++)
		while (!s[i].in_run)
			usleep(1000);
	usleep(20000);
	TEST_ASSERT(write(ready_fd, "r", 1) == 1, "write");
	for (;;)
		pause();
}

TEST(process_killed_while_running)
{
	int p[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, wait_vms(0));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		child_spins(p[1]);
		_exit(1);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	EXPECT_EQ(4, vms());
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(0, wait_vms(0));
	close(p[0]);
}

/*
 * A VMM killed while both vCPUs of its VM run in guest mode, with no VM
 * exit of their own (a PAUSE loop, or CR4.PGE toggles: whole-TLB flushes
 * the guest owns), is reaped and its VM freed within a bound: SIGKILL gets
 * each vCPU thread out of the guest.
 */
static volatile uint64_t guest_loops[2];
static uint64_t toggle_pge;

static void guest_loop(uint64_t id)
{
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	for (;;) {
		if (toggle_pge) {
			__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 7)) : "memory");
			__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
		} else {
			__asm__ volatile("pause" ::: "memory");
		}
		guest_loops[id]++;
	}
}

static void child_vcpus_in_guest(int ready_fd, bool pge)
{
	struct vm *vm = vm_create();
	volatile uint64_t *loops = addr_gpa2hva(vm, (uint64_t)(uintptr_t)guest_loops);
	struct spinner s[2];
	pthread_t t[2];
	int i, ms;

	toggle_pge = pge;
	sync_global_to_guest(vm, toggle_pge);
	for (i = 0; i < 2; i++) {
		s[i] = (struct spinner){ .fd = vm_add_vcpu(vm, i, guest_loop, i)->fd };
		TEST_ASSERT(!pthread_create(&t[i], NULL, spinner_fn, &s[i]), "pthread_create");
	}
	/* Both guests run: their counters move. */
	for (ms = 0; ms < 20000 && (loops[0] < 1000 || loops[1] < 1000); ms++)
		usleep(1000);
	TEST_ASSERT(loops[0] >= 1000 && loops[1] >= 1000, "the guests did not run: %lu %lu",
		    loops[0], loops[1]);
	TEST_ASSERT(write(ready_fd, "r", 1) == 1, "write");
	for (;;)
		pause();
}

#define KILL_REAP_MS	5000

static void killed_with_vcpus_in_guest(struct __test_metadata *_metadata, bool pge)
{
	struct timespec t0, t1;
	int p[2], status, ms;
	pid_t pid, r = 0;
	char c;

	ASSERT_EQ(0, wait_vms(0));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		child_vcpus_in_guest(p[1], pge);
		_exit(1);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the child's guests never ran");
	close(p[0]);
	EXPECT_EQ(1, vms());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	for (ms = 0; ms < KILL_REAP_MS; ms++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r)
			break;
		usleep(1000);
	}
	ASSERT_EQ(pid, r) TH_LOG("the killed VMM was not reaped within %d ms", KILL_REAP_MS);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_EQ(0, wait_vms(0)) TH_LOG("the VM outlived its process");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("reaped and freed %ld ms after SIGKILL",
	       (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
}

TEST(killed_with_two_vcpus_pausing_in_guest)
{
	killed_with_vcpus_in_guest(_metadata, false);
}

TEST(killed_with_two_vcpus_toggling_cr4_pge)
{
	killed_with_vcpus_in_guest(_metadata, true);
}

/* A process that exits normally with live VMs and vCPUs, fds never closed. */
TEST(process_exits_without_closing)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, wait_vms(0));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct vm *vm = vm_create();
		struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_done, 0);
		struct ucall uc;

		vm_add_vcpu(vm, 1, guest_done, 0);
		vcpu_run_ucall(vcpu, &uc);
		vm_create();
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(0, wait_vms(0));
}

TEST_HARNESS_MAIN
