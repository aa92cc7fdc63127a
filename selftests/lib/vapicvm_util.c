// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of the selftest library: VMs with the test binary loaded as
 * guest code, identity paging, long-mode vCPUs, ucall decoding.
 */
#include <elf.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <sys/syscall.h>

#include "vapicvm_util.h"

#define KSFT_SKIP	4	/* kselftest.h's exit status of a skipped program */

void test_assert_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "==== Test assertion failure ====\n  %s:%d: ", file, line);
	if (cond)
		fprintf(stderr, "%s: ", cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  errno=%d (%s)\n", err, strerror(err));
	fflush(stderr);
	exit(1);
}

void test_skip_program(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(KSFT_SKIP);
}

int open_dev(void)
{
	int fd = open(VAPICVM_DEV, O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open(%s)", VAPICVM_DEV);
	return fd;
}

int create_vm_fd(int dev_fd, uint32_t flags, uint32_t apicv)
{
	struct vapicvm_create_vm params = { .flags = flags, .apicv = apicv };

	return __sys_ioctl(dev_fd, VAPICVM_CREATE_VM, &params);
}

long read_sysfs_long(const char *path)
{
	char buf[64] = "";
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 0);
	close(fd);
	return v;
}

int host_vmx_flag(const char *flag)
{
	char line[8192];
	size_t len = strlen(flag);
	int r = -1;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		const char *p;

		if (strncmp(line, "vmx flags", 9))
			continue;
		r = 0;
		for (p = strstr(line, flag); p && !r; p = strstr(p + 1, flag))
			r = p > line && p[-1] == ' ' && (p[len] == ' ' || p[len] == '\n');
	}
	fclose(f);
	return r;
}

int pin_to_cpu(int cpu, cpu_set_t *saved)
{
	cpu_set_t one;

	if (sched_getaffinity(0, sizeof(*saved), saved))
		return -errno;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) ? -errno : 0;
}

int write_sysfs(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : -1;
	close(fd);
	return r;
}

bool kvm_modules_available(void)
{
	return !access(KVM_MODULE_DIR "/kvm-intel.ko", R_OK);
}

int load_kvm_module(const char *name, const char *params)
{
	char path[256];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s.ko", KVM_MODULE_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, params, 0);
	r = r && errno != EEXIST ? -errno : 0;
	close(fd);
	return r;
}

bool kvm_has_virt_at_load(void)
{
	static const char needle[] = "parmtype=enable_virt_at_load:";
	char path[256];
	bool found = false;
	struct stat st;
	void *image;
	int fd;

	snprintf(path, sizeof(path), "%s/kvm.ko", KVM_MODULE_DIR);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && st.st_size > 0) {
		image = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (image != MAP_FAILED) {
			found = memmem(image, st.st_size, needle, sizeof(needle) - 1);
			munmap(image, st.st_size);
		}
	}
	close(fd);
	return found;
}

int load_kvm_modules_with(const char *kvm_params)
{
	static const char *const names[] = { "irqbypass", "kvm", "kvm-intel" };
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		r = load_kvm_module(names[i], i == 1 ? kvm_params : "");
		if (r) {
			fprintf(stderr, "# %s did not load: %s\n", names[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

int load_kvm_modules(void)
{
	return load_kvm_modules_with(kvm_has_virt_at_load() ? "enable_virt_at_load=0" : "");
}

void unload_kvm_modules(void)
{
	syscall(SYS_delete_module, "kvm_intel", O_NONBLOCK);
	syscall(SYS_delete_module, "kvm", O_NONBLOCK);
	syscall(SYS_delete_module, "irqbypass", O_NONBLOCK);
}

const char *exit_reason_str(uint32_t reason)
{
	static const struct {
		uint32_t value;
		const char *name;
	} reasons[] = {
#define EXIT_REASON(id, value, name)	{ value, name },
		VAPICVM_EXIT_REASONS(EXIT_REASON)
#undef EXIT_REASON
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reasons); i++) {
		if (reasons[i].value == reason)
			return reasons[i].name;
	}
	return "?";
}

void *addr_gpa2hva(struct vm *vm, uint64_t gpa)
{
	TEST_ASSERT(gpa < vm->mem_size, "GPA %#lx outside guest RAM", (unsigned long)gpa);
	return vm->mem + gpa;
}

int __vm_set_memory_region(struct vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
			   uint64_t size, uint64_t hva)
{
	struct vapicvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = hva,
	};

	return __vm_ioctl(vm, VAPICVM_SET_USER_MEMORY_REGION, &r);
}

void vm_set_memory_region(struct vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
			  uint64_t size, void *hva)
{
	int r = __vm_set_memory_region(vm, slot, flags, gpa, size, (uint64_t)(uintptr_t)hva);

	TEST_ASSERT(!r, "SET_USER_MEMORY_REGION slot %u gpa %#lx size %#lx: %d", slot,
		    (unsigned long)gpa, (unsigned long)size, r);
}

/* Copy this program's loadable segments into guest memory, same addresses. */
static void load_self(uint8_t *mem)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	int i;

	TEST_ASSERT(fd >= 0, "open /proc/self/exe");
	TEST_ASSERT(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh), "ELF header");
	TEST_ASSERT(eh.e_type == ET_EXEC, "test binaries must be static, non-PIE");
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		TEST_ASSERT(pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) == sizeof(ph),
			    "program header");
		if (ph.p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph.p_vaddr + ph.p_memsz <= GUEST_FREE,
			    "test binary too large for guest memory");
		memset(mem + ph.p_vaddr, 0, ph.p_memsz);
		TEST_ASSERT(pread(fd, mem + ph.p_vaddr, ph.p_filesz, ph.p_offset) ==
			    (ssize_t)ph.p_filesz, "segment");
	}
	close(fd);
}

static void setup_paging_and_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + GUEST_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + GUEST_PML4 + 0x1000);
	uint64_t *gdt = (uint64_t *)(mem + GUEST_GDT);
	uint64_t tss = GUEST_TSS;
	int i;

	/* Identity map of 0..4 GiB with 2 MiB pages. */
	pml4[0] = (GUEST_PML4 + 0x1000) | 3;
	for (i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(mem + GUEST_PML4 + 0x2000 + i * 0x1000);
		int j;

		pdpt[i] = (GUEST_PML4 + 0x2000 + i * 0x1000) | 3;
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) | ((uint64_t)j << 21) | 0x83;
	}
	gdt[0] = 0;
	gdt[GDT_CODE64 / 8] = 0x00af9b000000ffffULL;
	gdt[GDT_DATA / 8] = 0x00cf93000000ffffULL;
	/* 64-bit TSS (16 bytes), busy. */
	gdt[GDT_TSS / 8] = 0x0000890000000067ULL | ((tss & 0xffffff) << 16) |
			   ((tss >> 24) & 0xff) << 56;
	gdt[GDT_TSS / 8 + 1] = tss >> 32;
	gdt[GDT_CODE32 / 8] = 0x00cf9b000000ffffULL;
	gdt[GDT_CODE16 / 8] = 0x00009b000000ffffULL;
	gdt[GDT_DATA16 / 8] = 0x000093000000ffffULL;
}

extern uint64_t guest_idt_stubs[256];

/* IDT gates to the stubs in handlers.S; handlers are looked up in the guest. */
static void setup_idt(uint8_t *mem)
{
	uint64_t *idt = (uint64_t *)(mem + GUEST_IDT);
	int v;

	for (v = 0; v < 256; v++) {
		uint64_t h = guest_idt_stubs[v];

		idt[v * 2] = (h & 0xffff) | ((uint64_t)GDT_CODE64 << 16) |
			     ((uint64_t)0x8e00 << 32) | ((h >> 16) & 0xffff) << 48;
		idt[v * 2 + 1] = h >> 32;
	}
}

void guest_image_init(uint8_t *mem)
{
	load_self(mem);
	setup_paging_and_tables(mem);
	setup_idt(mem);
}

struct vm *vm_create_bare(uint32_t flags, uint32_t apicv)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	TEST_ASSERT(vm, "calloc");
	vm->dev_fd = open_dev();
	vm->fd = create_vm_fd(vm->dev_fd, flags, apicv);
	TEST_ASSERT(vm->fd >= 0, "CREATE_VM (apicv %#x)", apicv);
	vm->apicv = vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_APICV);
	return vm;
}

static struct vm *vm_create_common(uint32_t flags, uint32_t apicv)
{
	struct vm *vm = vm_create_bare(flags, apicv);

	vm->mem_size = VM_MEM_SIZE;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(vm->mem != MAP_FAILED, "mmap guest memory");
	guest_image_init(vm->mem);
	vm_set_memory_region(vm, 0, 0, 0, vm->mem_size, vm->mem);
	return vm;
}

struct vm *vm_create(void)
{
	return vm_create_common(0, 0);
}

struct vm *vm_create_apicv(uint32_t apicv)
{
	return vm_create_common(VAPICVM_VM_APICV_MASK, apicv);
}

void vm_free(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		munmap(vm->vcpus[i]->run, 4096);
		close(vm->vcpus[i]->fd);
		free(vm->vcpus[i]);
	}
	close(vm->fd);
	close(vm->dev_fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	free(vm);
}

struct vcpu *vm_add_vcpu_bare(struct vm *vm, uint32_t id)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	TEST_ASSERT(vcpu && vm->nr_vcpus < VM_MAX_VCPUS, "too many vCPUs");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = vm_ioctl(vm, VAPICVM_CREATE_VCPU, (void *)(uintptr_t)id);
	vcpu->run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap run page");
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
}

/* A flat 4 GiB segment; code64: a 64-bit code segment (L=1, D=0), else D=1. */
static void flat_segment(struct vapicvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

/* Flat code and data segments from the GDT of setup_paging_and_tables(). */
static void flat_segments(struct vapicvm_sregs *s, uint16_t code_sel, bool code64)
{
	flat_segment(&s->cs, code_sel, 11, code64);
	flat_segment(&s->ds, GDT_DATA, 3, false);
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss = s->ds;
	s->gdt.base = GUEST_GDT;
	s->gdt.limit = 0x3f;
}

void vcpu_setup_long_mode(struct vcpu *vcpu, void *guest_code, uint64_t arg)
{
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	vcpu_get_sregs(vcpu, &s);
	flat_segments(&s, GDT_CODE64, true);
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = GDT_TSS;
	s.tr.base = GUEST_TSS;
	s.tr.limit = GUEST_TSS_LIMIT;
	s.tr.type = 11;
	s.tr.present = 1;
	s.idt.base = GUEST_IDT;
	s.idt.limit = GUEST_IDT_LIMIT;
	s.cr0 = GUEST_LONG_MODE_CR0;
	s.cr3 = GUEST_PML4;
	s.cr4 = GUEST_LONG_MODE_CR4;
	s.efer = GUEST_LONG_MODE_EFER;
	vcpu_set_sregs(vcpu, &s);

	memset(&r, 0, sizeof(r));
	r.rip = (uint64_t)(uintptr_t)guest_code;
	r.rsp = guest_stack_top(vcpu->id);
	r.rdi = arg;
	r.rflags = 2;
	vcpu_set_regs(vcpu, &r);
}

void vcpu_setup_protected_mode(struct vcpu *vcpu, uint32_t eip)
{
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	vcpu_get_sregs(vcpu, &s);
	flat_segments(&s, GDT_CODE32, false);
	s.cr0 = 0x11;		/* ET PE */
	s.cr4 = 0;
	s.efer = 0;
	vcpu_set_sregs(vcpu, &s);

	vcpu_get_regs(vcpu, &r);
	r.rip = eip;
	r.rflags = 2;
	vcpu_set_regs(vcpu, &r);
}

void vcpu_setup_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip)
{
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	vcpu_get_sregs(vcpu, &s);
	s.cs.selector = cs;
	s.cs.base = (uint64_t)cs << 4;
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_regs(vcpu, &r);
	r.rip = ip;
	vcpu_set_regs(vcpu, &r);
}

struct vcpu *vm_add_vcpu(struct vm *vm, uint32_t id, void *guest_code, uint64_t arg)
{
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, id);
	struct vapicvm_mp_state mp = { .mp_state = VAPICVM_MP_STATE_RUNNABLE };

	vcpu_setup_long_mode(vcpu, guest_code, arg);
	/* APs start waiting for SIPI; this one starts at guest_code instead. */
	vcpu_ioctl(vcpu, VAPICVM_SET_MP_STATE, &mp);
	return vcpu;
}

int __vcpu_run(struct vcpu *vcpu)
{
	return __vcpu_ioctl(vcpu, VAPICVM_RUN, NULL);
}

void vcpu_run(struct vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	TEST_ASSERT(!r, "RUN failed: %d, exit reason %s", r,
		    exit_reason_str(vcpu->run->exit_reason));
}

uint64_t vcpu_get_rip(struct vcpu *vcpu)
{
	struct vapicvm_regs r;

	vcpu_get_regs(vcpu, &r);
	return r.rip;
}

void vcpu_get_regs(struct vcpu *vcpu, struct vapicvm_regs *regs)
{
	vcpu_ioctl(vcpu, VAPICVM_GET_REGS, regs);
}

void vcpu_set_regs(struct vcpu *vcpu, const struct vapicvm_regs *regs)
{
	vcpu_ioctl(vcpu, VAPICVM_SET_REGS, regs);
}

void vcpu_get_sregs(struct vcpu *vcpu, struct vapicvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, VAPICVM_GET_SREGS, sregs);
}

void vcpu_set_sregs(struct vcpu *vcpu, const struct vapicvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, VAPICVM_SET_SREGS, sregs);
}

uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index)
{
	struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	TEST_ASSERT(vcpu_ioctl(vcpu, VAPICVM_GET_MSRS, &m.hdr) == 1, "GET_MSRS %#x", index);
	return m.e.data;
}

int __vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = value };

	return __vcpu_ioctl(vcpu, VAPICVM_SET_MSRS, &m.hdr);
}

void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	TEST_ASSERT(__vcpu_set_msr(vcpu, index, value) == 1, "SET_MSRS %#x", index);
}

void vcpu_stats(struct vcpu *vcpu, uint64_t c[VAPICVM_STAT_NR])
{
	struct {
		struct vapicvm_stats hdr;
		uint64_t c[VAPICVM_STAT_NR];
	} s = { .hdr.n = VAPICVM_STAT_NR };

	vcpu_ioctl(vcpu, VAPICVM_GET_STATS, &s.hdr);
	TEST_ASSERT(s.hdr.n == VAPICVM_STAT_NR, "GET_STATS filled %u counters", s.hdr.n);
	memcpy(c, s.c, sizeof(s.c));
}

uint64_t vcpu_stat(struct vcpu *vcpu, enum vapicvm_stat stat)
{
	uint64_t c[VAPICVM_STAT_NR];

	vcpu_stats(vcpu, c);
	return c[stat];
}

uint64_t vm_stat(struct vm *vm, enum vapicvm_vm_stat stat)
{
	struct {
		struct vapicvm_stats hdr;
		uint64_t c[VAPICVM_VM_STAT_NR];
	} s = { .hdr.n = VAPICVM_VM_STAT_NR };

	vm_ioctl(vm, VAPICVM_GET_VM_STATS, &s.hdr);
	TEST_ASSERT(s.hdr.n == VAPICVM_VM_STAT_NR, "GET_VM_STATS filled %u counters", s.hdr.n);
	return s.c[stat];
}

/* ------------------------------------------------------------------ */
/* ucalls                                                              */
/* ------------------------------------------------------------------ */

uint64_t get_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs regs;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != VAPICVM_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != VAPICVM_EXIT_IO_OUT)
		return UCALL_NONE;
	vcpu_get_regs(vcpu, &regs);
	memcpy(uc, addr_gpa2hva(vcpu->vm, regs.rdi), sizeof(*uc));
	return uc->cmd;
}

int __vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	for (;;) {
		if (__vcpu_run(vcpu) < 0)
			return -1;
		if (get_ucall(vcpu, uc) != UCALL_PRINT)
			return 0;
		printf("# guest: %s\n", uc->msg);
	}
}

void fail_guest_assert(const struct vcpu *vcpu, const struct ucall *uc)
{
	TEST_FAIL("vCPU %u: guest assertion failed at %s:%lu: %s %s", vcpu->id, uc->file,
		  (unsigned long)uc->line, uc->expr, uc->msg);
}

uint64_t vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	struct ucall local;

	if (!uc)
		uc = &local;
	TEST_ASSERT(!__vcpu_run_ucall(vcpu, uc), "RUN failed: %d, exit reason %s", -errno,
		    exit_reason_str(vcpu->run->exit_reason));
	if (uc->cmd == UCALL_ABORT)
		fail_guest_assert(vcpu, uc);
	if (uc->cmd == UCALL_NONE) {
		struct vapicvm_regs regs;

		vcpu_get_regs(vcpu, &regs);
		TEST_FAIL("unexpected exit %s (%u) at rip %#llx; port %#x; internal %u/%llx/%llx",
			  exit_reason_str(vcpu->run->exit_reason), vcpu->run->exit_reason,
			  (unsigned long long)regs.rip, vcpu->run->io.port,
			  vcpu->run->internal.suberror,
			  (unsigned long long)vcpu->run->internal.data[0],
			  (unsigned long long)vcpu->run->internal.data[1]);
	}
	return uc->cmd;
}

/* ------------------------------------------------------------------ */
/* Guest interrupts                                                    */
/* ------------------------------------------------------------------ */

void guest_image_install_handler(uint8_t *mem, int vector, guest_handler_t handler)
{
	memcpy(mem + (uintptr_t)&guest_handlers[vector], &handler, sizeof(handler));
}

void vm_install_handler(struct vm *vm, int vector, guest_handler_t handler)
{
	guest_image_install_handler(vm->mem, vector, handler);
}

static void vcpu_thread_signal(int sig)
{
}

static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *th = arg;

	for (;;) {
		if (__vcpu_run_ucall(th->vcpu, &th->uc) < 0) {
			if (errno == EINTR && !th->stop)
				continue;
			TEST_ASSERT(th->stop, "vCPU %u: RUN failed", th->vcpu->id);
			th->uc.cmd = UCALL_NONE;
			break;
		}
		if (th->uc.cmd != UCALL_SYNC)
			break;
		th->last_sync = th->uc;
		th->syncs++;
	}
	if (th->uc.cmd == UCALL_ABORT)
		fail_guest_assert(th->vcpu, &th->uc);
	TEST_ASSERT(th->stop || th->uc.cmd == UCALL_DONE, "vCPU %u: exit %s, ucall %lu",
		    th->vcpu->id, exit_reason_str(th->vcpu->run->exit_reason),
		    (unsigned long)th->uc.cmd);
	th->done = true;
	return NULL;
}

void vcpu_thread_start(struct vcpu_thread *th, struct vcpu *vcpu)
{
	/* No SA_RESTART: a signal ends a RUN blocked in the kernel (stop). */
	struct sigaction sa = { .sa_handler = vcpu_thread_signal };

	sigaction(SIGUSR1, &sa, NULL);
	memset(th, 0, sizeof(*th));
	th->vcpu = vcpu;
	TEST_ASSERT(!pthread_create(&th->thread, NULL, vcpu_thread_fn, th), "pthread_create");
}

void vcpu_thread_join(struct vcpu_thread *th)
{
	pthread_join(th->thread, NULL);
}

bool vcpu_thread_join_timeout(struct vcpu_thread *th, unsigned int seconds)
{
	unsigned int ms;

	for (ms = 0; !th->done && ms < seconds * 1000; ms++)
		usleep(1000);
	if (!th->done)
		return false;
	pthread_join(th->thread, NULL);
	return true;
}

void vcpu_thread_stop(struct vcpu_thread *th)
{
	th->stop = true;
	while (!th->done) {
		pthread_kill(th->thread, SIGUSR1);
		usleep(1000);
	}
	pthread_join(th->thread, NULL);
}

const char *stat_name(enum vapicvm_stat stat)
{
	/* A counter's index is its row in the table. */
	static const char *const names[] = {
#define STAT_NAME(id, name, desc)	name,
		VAPICVM_STATS(STAT_NAME)
#undef STAT_NAME
	};

	return stat < VAPICVM_STAT_NR ? names[stat] : "?";
}

void vcpu_print_stats(struct vcpu *vcpu, const char *prefix)
{
	struct {
		struct vapicvm_stats hdr;
		uint64_t c[VAPICVM_STAT_NR];
	} s = { .hdr.n = VAPICVM_STAT_NR };
	char line[1024];
	unsigned int i;
	int n;

	vcpu_ioctl(vcpu, VAPICVM_GET_STATS, &s.hdr);
	n = snprintf(line, sizeof(line), "# %svCPU %u:", prefix, vcpu->id);
	for (i = 0; i < s.hdr.n && n < (int)sizeof(line); i++) {
		if (s.c[i])
			n += snprintf(line + n, sizeof(line) - n, " %s %lu", stat_name(i),
				      (unsigned long)s.c[i]);
	}
	printf("%s\n", line);
	fflush(stdout);
}

/* Copy the pages of src that exist (dst is fresh: the others are zero there too). */
static void copy_resident(uint8_t *dst, const uint8_t *src, uint64_t size)
{
	uint64_t pages = size / 4096, i;
	unsigned char *res = malloc(pages);

	TEST_ASSERT(res, "malloc");
	if (mincore((void *)src, size, res)) {
		memcpy(dst, src, size);
	} else {
		for (i = 0; i < pages; i++)
			if (res[i] & 1)
				memcpy(dst + i * 4096, src + i * 4096, 4096);
	}
	free(res);
}

/* In the restore order the state ioctls need (see vapicvm_util.h). */
struct vcpu *vcpu_migrate(struct vcpu *src, struct vm *dst)
{
	struct vcpu *v = vm_add_vcpu_bare(dst, src->id);
	struct {
		struct vapicvm_cpuid hdr;
		struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES];
	} cpuid = { .hdr.nent = VAPICVM_MAX_CPUID_ENTRIES };
	struct {
		struct vapicvm_msr_list hdr;
		uint32_t idx[64];
	} list = { .hdr.nmsrs = 64 };
	struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e[64];
	} msrs = { 0 };
	struct vapicvm_xsave *xsave = calloc(1, sizeof(*xsave));
	struct vapicvm_sregs sregs;
	struct vapicvm_regs regs;
	struct vapicvm_debugregs dregs;
	struct vapicvm_lapic_state *lapic = calloc(1, sizeof(*lapic));
	struct vapicvm_vcpu_events ev;
	struct vapicvm_mp_state mp;
	unsigned int i;
	long khz;

	TEST_ASSERT(xsave && lapic, "calloc");
	TEST_ASSERT(dst->mem_size == src->vm->mem_size, "memory sizes differ");
	copy_resident(dst->mem, src->vm->mem, dst->mem_size);
	TEST_ASSERT(!ioctl(src->fd, VAPICVM_GET_CPUID, &cpuid.hdr), "GET_CPUID");
	TEST_ASSERT(!ioctl(v->fd, VAPICVM_SET_CPUID, &cpuid.hdr), "SET_CPUID");
	vcpu_get_sregs(src, &sregs);
	vcpu_set_sregs(v, &sregs);
	/* The TSC's rate before IA32_TSC and the TSC deadline, which count its ticks. */
	khz = ioctl(src->fd, VAPICVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(khz > 0, "GET_TSC_KHZ: %s", strerror(errno));
	TEST_ASSERT(!ioctl(v->fd, VAPICVM_SET_TSC_KHZ, (unsigned long)khz), "SET_TSC_KHZ %ld: %s",
		    khz, strerror(errno));
	TEST_ASSERT(!ioctl(dst->dev_fd, VAPICVM_GET_MSR_INDEX_LIST, &list.hdr), "MSR list");
	msrs.hdr.nmsrs = list.hdr.nmsrs;
	for (i = 0; i < list.hdr.nmsrs; i++)
		msrs.e[i].index = list.idx[i];
	TEST_ASSERT(ioctl(src->fd, VAPICVM_GET_MSRS, &msrs.hdr) == (int)list.hdr.nmsrs,
		    "GET_MSRS");
	TEST_ASSERT(ioctl(v->fd, VAPICVM_SET_MSRS, &msrs.hdr) == (int)list.hdr.nmsrs,
		    "SET_MSRS");
	vcpu_get_regs(src, &regs);
	vcpu_set_regs(v, &regs);
	vcpu_ioctl(src, VAPICVM_GET_XSAVE, xsave);
	vcpu_ioctl(v, VAPICVM_SET_XSAVE, xsave);
	if (__vm_ioctl(dst, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_XCRS)) {
		struct vapicvm_xcrs xcrs;

		vcpu_ioctl(src, VAPICVM_GET_XCRS, &xcrs);
		vcpu_ioctl(v, VAPICVM_SET_XCRS, &xcrs);
	}
	vcpu_ioctl(src, VAPICVM_GET_DEBUGREGS, &dregs);
	vcpu_ioctl(v, VAPICVM_SET_DEBUGREGS, &dregs);
	vcpu_ioctl(src, VAPICVM_GET_LAPIC, lapic);
	vcpu_ioctl(v, VAPICVM_SET_LAPIC, lapic);
	vcpu_ioctl(src, VAPICVM_GET_VCPU_EVENTS, &ev);
	TEST_ASSERT(!__vcpu_ioctl(v, VAPICVM_SET_VCPU_EVENTS, &ev),
		    "SET_VCPU_EVENTS of what GET gave: %s; injected %u type %u vector %#x "
		    "code %u/%#x len %u, exception %u %u, NMIs %u masked %u, shadow %u, "
		    "rflags %#llx, rip %#llx", strerror(errno), ev.injected.valid,
		    ev.injected.type, ev.injected.vector, ev.injected.has_error_code,
		    ev.injected.error_code, ev.injected.insn_len, ev.exception.pending,
		    ev.exception.vector, ev.nmi_pending, ev.nmi_masked, ev.shadow,
		    (unsigned long long)regs.rflags, (unsigned long long)regs.rip);
	vcpu_ioctl(src, VAPICVM_GET_MP_STATE, &mp);
	vcpu_ioctl(v, VAPICVM_SET_MP_STATE, &mp);
	free(xsave);
	free(lapic);
	return v;
}
