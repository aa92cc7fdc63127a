// SPDX-License-Identifier: GPL-2.0
/*
 * The selftest guest image under KVM: what vm_create() and
 * vcpu_setup_long_mode() do with vapicvm's ioctls, done with KVM's, so that
 * one guest function can be measured on both hypervisors.
 */
#include <sys/mman.h>

#include "kvm_guest.h"

#define KVM_DEV			"/dev/kvm"
#define KVM_TSS_GPA		0xfffbd000ULL	/* three pages KVM needs on Intel */
#define CPUID_ENTRIES_MAX	100

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .s = 1, .g = 1, .l = code64, .db = !code64,
	};
}

/*
 * KVM's supported CPUID, with the vCPU's APIC ID and the two APIC
 * features the guests use, which KVM emulates whatever the host has.
 */
static int set_cpuid(struct kvm_guest *g, int fd, uint32_t id)
{
	struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 entries[CPUID_ENTRIES_MAX];
	} cpuid = { .head.nent = CPUID_ENTRIES_MAX };
	unsigned int i;

	if (ioctl(g->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0)
		return -1;
	for (i = 0; i < cpuid.head.nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid.entries[i];

		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffff) | (id << 24);
			e->ecx |= (1U << 21) | (1U << 24);	/* x2APIC, TSC deadline */
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = id;
		}
	}
	return ioctl(fd, KVM_SET_CPUID2, &cpuid);
}

static int setup_long_mode(int fd, uint32_t id, void *guest_code, uint64_t arg)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.cs = flat_segment(GDT_CODE64, 11, true);
	s.ds = flat_segment(GDT_DATA, 3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .base = GUEST_TSS, .limit = GUEST_TSS_LIMIT,
				     .selector = GDT_TSS, .type = 11, .present = 1 };
	s.gdt.base = GUEST_GDT;
	s.gdt.limit = 0x3f;
	s.idt.base = GUEST_IDT;
	s.idt.limit = GUEST_IDT_LIMIT;
	s.cr0 = GUEST_LONG_MODE_CR0;
	s.cr3 = GUEST_PML4;
	s.cr4 = GUEST_LONG_MODE_CR4;
	s.efer = GUEST_LONG_MODE_EFER;
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.rip = (uint64_t)(uintptr_t)guest_code;
	r.rsp = guest_stack_top(id);
	r.rdi = arg;
	r.rflags = 2;
	return ioctl(fd, KVM_SET_REGS, &r);
}

int kvm_guest_add_vcpu(struct kvm_guest *g, void *guest_code, uint64_t arg)
{
	/* An AP would wait for INIT and SIPI; the guest code starts at once. */
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	uint32_t id = g->nr_vcpus;
	struct kvm_guest_vcpu *v = &g->vcpus[id];
	int size;

	if (id >= KVM_GUEST_MAX_VCPUS) {
		errno = ENOSPC;
		return -1;
	}
	v->fd = ioctl(g->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -1;
	g->nr_vcpus++;
	size = ioctl(g->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return -1;
	g->run_size = size;
	v->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -1;
	}
	if (set_cpuid(g, v->fd, id) < 0 || setup_long_mode(v->fd, id, guest_code, arg) < 0 ||
	    ioctl(v->fd, KVM_SET_MP_STATE, &runnable) < 0)
		return -1;
	return id;
}

struct kvm_guest *kvm_guest_create(void *guest_code, uint64_t arg)
{
	struct kvm_guest *g = calloc(1, sizeof(*g));
	struct kvm_userspace_memory_region region;
	int err;

	if (!g)
		return NULL;
	g->vm_fd = -1;
	g->kvm_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (g->kvm_fd < 0)
		goto fail;
	g->mem = mmap(NULL, VM_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g->mem == MAP_FAILED) {
		g->mem = NULL;
		goto fail;
	}
	guest_image_init(g->mem);
	g->vm_fd = ioctl(g->kvm_fd, KVM_CREATE_VM, 0);
	if (g->vm_fd < 0 || ioctl(g->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0 ||
	    ioctl(g->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = VM_MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)g->mem,
	};
	if (ioctl(g->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
	    kvm_guest_add_vcpu(g, guest_code, arg) < 0)
		goto fail;
	return g;
fail:
	err = errno;
	kvm_guest_free(g);
	errno = err;
	return NULL;
}

void kvm_guest_free(struct kvm_guest *g)
{
	unsigned int i;

	for (i = 0; i < g->nr_vcpus; i++) {
		if (g->vcpus[i].run)
			munmap(g->vcpus[i].run, g->run_size);
		close(g->vcpus[i].fd);
	}
	if (g->vm_fd >= 0)
		close(g->vm_fd);
	if (g->kvm_fd >= 0)
		close(g->kvm_fd);
	if (g->mem)
		munmap(g->mem, VM_MEM_SIZE);
	free(g);
}

int kvm_guest_run(struct kvm_guest *g, unsigned int i)
{
	int r;

	/* EINTR: a signal; EAGAIN: a vCPU woken from wait-for-SIPI. */
	do
		r = ioctl(g->vcpus[i].fd, KVM_RUN, 0);
	while (r < 0 && (errno == EINTR || errno == EAGAIN));
	return r < 0 ? -1 : 0;
}

uint64_t kvm_guest_get_ucall(struct kvm_guest *g, unsigned int i, struct ucall *uc)
{
	struct kvm_run *run = g->vcpus[i].run;
	struct kvm_regs regs;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT)
		return UCALL_NONE;
	if (ioctl(g->vcpus[i].fd, KVM_GET_REGS, &regs) < 0 ||
	    regs.rdi >= VM_MEM_SIZE - sizeof(*uc))
		return UCALL_NONE;
	memcpy(uc, g->mem + regs.rdi, sizeof(*uc));
	return uc->cmd;
}
