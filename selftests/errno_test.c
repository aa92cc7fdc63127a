// SPDX-License-Identifier: GPL-2.0
/*
 * Every VM and vCPU ioctl with bad arguments fails with its documented
 * errno and changes nothing: ENOTTY for numbers that are not ioctls of that
 * file, EINVAL for bad flags, reserved fields and values, EFAULT for
 * pointers the kernel cannot use, E2BIG for counts over the maximum,
 * EEXIST for duplicates, and EIO for any process but the VM's creator.
 * (System ioctls: device_test.c; memory slots: memslot_test.c.)
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define EXPECT_ERRNO(err, fd, cmd, arg) do {					\
	errno = 0;								\
	EXPECT_EQ(-1, ioctl(fd, cmd, arg)) TH_LOG("%s succeeded", #cmd);	\
	EXPECT_EQ(err, errno) TH_LOG("%s(%s): errno %d (%s)", #cmd, #arg, errno,	\
				     strerror(errno));				\
} while (0)

/* A read-only page, and an address where nothing is mapped. */
static void *ro_page, *no_page;

static void setup_pages(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	memset(p, 0, 8192);
	TEST_ASSERT(!mprotect(p, 4096, PROT_READ), "mprotect");
	TEST_ASSERT(!munmap(p + 4096, 4096), "munmap");
	ro_page = p;
	no_page = p + 4096;
}

/* A struct whose first 4 bytes are readable and the rest is not mapped. */
#define STRADDLING() ((void *)((char *)no_page - 4))

TEST(enotty_for_what_is_not_an_ioctl_of_this_file)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct { char x[7]; } odd;

	/* VM fd: free numbers, vCPU and system ioctls, another type byte. */
	EXPECT_ERRNO(ENOTTY, vm->fd, _IO(VAPICVMIO, 0x7f), 0);
	EXPECT_ERRNO(ENOTTY, vm->fd, _IO(VAPICVMIO, 0x44), 0);
	EXPECT_ERRNO(ENOTTY, vm->fd, VAPICVM_RUN, 0);
	EXPECT_ERRNO(ENOTTY, vm->fd, VAPICVM_GET_REGS, &odd);
	EXPECT_ERRNO(ENOTTY, vm->fd, VAPICVM_GET_API_VERSION, 0);
	EXPECT_ERRNO(ENOTTY, vm->fd, VAPICVM_GET_SUPPORTED_CPUID, &odd);
	EXPECT_ERRNO(ENOTTY, vm->fd, _IO(0xAE, 0x41), 0);
	/* vCPU fd. */
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IO(VAPICVMIO, 0xbf), 0);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IO(VAPICVMIO, 0x90), 0);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IO(VAPICVMIO, 0xc0), 0);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, VAPICVM_CREATE_VCPU, 1);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, VAPICVM_SET_USER_MEMORY_REGION, &odd);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_XSAVE);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, VAPICVM_CREATE_VM, &odd);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IO(0xAE, 0x80), 0);
	/* A known number with the wrong size or direction is another ioctl. */
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IOR(VAPICVMIO, 0x81, odd), &odd);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IOW(VAPICVMIO, 0x81, struct vapicvm_regs), &odd);
	EXPECT_ERRNO(ENOTTY, vcpu->fd, _IO(VAPICVMIO, 0x81), 0);
	EXPECT_ERRNO(ENOTTY, vm->fd, _IOR(VAPICVMIO, 0x40,
					  struct vapicvm_userspace_memory_region), &odd);
	vm_free(vm);
}

TEST(efault_for_unusable_pointers)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	void *pointers[3];
	int i;

	setup_pages();
	pointers[0] = NULL;
	pointers[1] = no_page;
	pointers[2] = STRADDLING();
	for (i = 0; i < 3; i++) {
		void *p = pointers[i];

		TH_LOG("pointer %p", p);
		EXPECT_ERRNO(EFAULT, vm->fd, VAPICVM_SET_USER_MEMORY_REGION, p);
		EXPECT_ERRNO(EFAULT, vm->fd, VAPICVM_GET_APICV, p);
		EXPECT_ERRNO(EFAULT, vm->fd, VAPICVM_SIGNAL_MSI, p);
		EXPECT_ERRNO(EFAULT, vm->fd, VAPICVM_GET_VM_ID, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_REGS, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_REGS, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_SREGS, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_SREGS, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_XSAVE, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_XSAVE, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_LAPIC, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_LAPIC, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_INTERRUPT, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_MP_STATE, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_MP_STATE, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_MSRS, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_MSRS, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_SET_CPUID, p);
		EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_STATS, p);
		EXPECT_ERRNO(EFAULT, vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, p);
		EXPECT_ERRNO(EFAULT, vm->dev_fd, VAPICVM_CREATE_VM, p);
	}
	vm_free(vm);
}

/* Ioctls that write to userspace: a read-only destination is EFAULT. */
TEST(efault_for_read_only_destinations)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_mp_state mp;
	char *ro;

	setup_pages();
	ro = ro_page;
	EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_REGS, ro);
	EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_SREGS, ro);
	EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_XSAVE, ro);
	EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_LAPIC, ro);
	EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_MP_STATE, ro);
	EXPECT_ERRNO(EFAULT, vm->fd, VAPICVM_GET_APICV, ro);
	EXPECT_ERRNO(EFAULT, vm->fd, VAPICVM_GET_VM_ID, ro);
	/* Headers that ask for something, in read-only memory. */
	EXPECT_ERRNO(EFAULT, vcpu->fd, VAPICVM_GET_STATS, ro);
	EXPECT_ERRNO(EFAULT, vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, ro);
	/* Reading from read-only memory is fine (zeroes: nothing to do). */
	EXPECT_EQ(0, ioctl(vcpu->fd, VAPICVM_GET_MSRS, ro));
	EXPECT_EQ(0, ioctl(vcpu->fd, VAPICVM_SET_MSRS, ro));
	EXPECT_EQ(0, ioctl(vcpu->fd, VAPICVM_SET_CPUID, ro));
	/* And the vCPU is unharmed. */
	EXPECT_EQ(0, ioctl(vcpu->fd, VAPICVM_GET_MP_STATE, &mp));
	vm_free(vm);
}

TEST(einval_for_bad_values_and_reserved_fields)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_sregs s, orig;
	struct vapicvm_mp_state mp;
	struct {
		struct vapicvm_stats hdr;
		uint64_t c[VAPICVM_STAT_NR];
	} st;
	struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e[2];
	} msrs;
	static struct vapicvm_lapic_state lapic;
	struct vapicvm_interrupt irq;
	struct vapicvm_msi msi;
	int i;

	/* RUN takes no argument. */
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_RUN, 1);

	/* SET_SREGS: reserved words, EFER/CR0/CR4/CR8 bits, APIC base. */
	vcpu_get_sregs(vcpu, &orig);
	for (i = 0; i < 4; i++) {
		s = orig;
		s.reserved[i] = 1;
		EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	}
	s = orig;
	s.efer = 1ULL << 20;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.cr0 |= 1ULL << 32;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.cr4 |= 1ULL << 31;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.cr4 |= 1ULL << 13;	/* VMXE: no nested VMX */
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.cr8 = 16;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.ss.padding = 1;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.ldt.padding = 0x80;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.idt.padding[2] = 1;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.apic_base |= 1;	/* reserved bit 0 */
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	s = orig;
	s.apic_base = (s.apic_base & ~(1ULL << 11)) | (1ULL << 10);	/* EXTD without EN */
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_SREGS, &s);
	/* None of that stuck. */
	vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(0, memcmp(&s, &orig, sizeof(s)));

	/* MP state. */
	mp = (struct vapicvm_mp_state){ .mp_state = VAPICVM_MP_STATE_HALTED + 1 };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_MP_STATE, &mp);
	mp = (struct vapicvm_mp_state){ .mp_state = ~0U };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_MP_STATE, &mp);
	mp = (struct vapicvm_mp_state){ .mp_state = VAPICVM_MP_STATE_HALTED, .pad = 1 };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_MP_STATE, &mp);
	vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
	EXPECT_EQ(VAPICVM_MP_STATE_RUNNABLE, mp.mp_state);

	/* Stats header padding. */
	memset(&st, 0, sizeof(st));
	st.hdr.n = VAPICVM_STAT_NR;
	st.hdr.pad = 1;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_GET_STATS, &st);

	/* MSR header padding and entry reserved words. */
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.hdr.pad = 1;
	msrs.e[0].index = 0xc0000081;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_GET_MSRS, &msrs);
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_MSRS, &msrs);
	msrs.hdr.pad = 0;
	msrs.e[0].reserved = 1;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_GET_MSRS, &msrs);
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_MSRS, &msrs);

	/* Local APIC state: flags and reserved words. */
	vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &lapic);
	lapic.flags = 1;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_LAPIC, &lapic);
	lapic.flags = 0;
	for (i = 0; i < 4; i++) {
		lapic.reserved[i] = 1;
		EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_LAPIC, &lapic);
		lapic.reserved[i] = 0;
	}
	lapic.apic_base |= 1;
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_SET_LAPIC, &lapic);

	/* LINT pulses. */
	irq = (struct vapicvm_interrupt){ .pin = VAPICVM_INTERRUPT_LINT1 + 1 };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_INTERRUPT, &irq);
	irq = (struct vapicvm_interrupt){ .vector = 256 };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_INTERRUPT, &irq);
	irq = (struct vapicvm_interrupt){ .flags = 1 };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_INTERRUPT, &irq);
	irq = (struct vapicvm_interrupt){ .pad = 1 };
	EXPECT_ERRNO(EINVAL, vcpu->fd, VAPICVM_INTERRUPT, &irq);

	/* MSIs: flags, reserved words, an address that is not the APIC's. */
	msi = (struct vapicvm_msi){ .address_lo = 0xfee00000, .data = 0x30, .flags = 1 };
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_SIGNAL_MSI, &msi);
	msi = (struct vapicvm_msi){ .address_lo = 0xfee00000, .data = 0x30, .reserved[1] = 1 };
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_SIGNAL_MSI, &msi);
	msi = (struct vapicvm_msi){ .address_lo = 0xfec00000, .data = 0x30 };
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_SIGNAL_MSI, &msi);
	msi = (struct vapicvm_msi){ .address_lo = 0xfee00000, .address_hi = 1, .data = 0x30 };
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_SIGNAL_MSI, &msi);
	vm_free(vm);
}

/* What the kernel fills in has its reserved and padding fields zeroed. */
TEST(kernel_zeroes_the_padding_it_writes)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_sregs s;
	struct vapicvm_mp_state mp;
	struct vapicvm_apicv_info info;
	static struct vapicvm_lapic_state lapic;
	struct vapicvm_segment *seg[] = { &s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr,
					  &s.ldt };
	unsigned int i;

	memset(&s, 0xff, sizeof(s));
	vcpu_get_sregs(vcpu, &s);
	for (i = 0; i < ARRAY_SIZE(seg); i++)
		EXPECT_EQ(0, seg[i]->padding) TH_LOG("segment %u", i);
	EXPECT_EQ(0, s.gdt.padding[0] | s.gdt.padding[1] | s.gdt.padding[2]);
	EXPECT_EQ(0, s.idt.padding[0] | s.idt.padding[1] | s.idt.padding[2]);
	EXPECT_EQ(0, s.reserved[0] | s.reserved[1] | s.reserved[2] | s.reserved[3]);
	/* And it goes straight back in. */
	vcpu_set_sregs(vcpu, &s);

	memset(&mp, 0xff, sizeof(mp));
	vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
	EXPECT_EQ(0, mp.pad);
	memset(&info, 0xff, sizeof(info));
	vm_ioctl(vm, VAPICVM_GET_APICV, &info);
	EXPECT_EQ(0, info.pad);
	EXPECT_EQ(0, info.reserved[0] | info.reserved[1] | info.reserved[2] | info.reserved[3]);
	memset(&lapic, 0xff, sizeof(lapic));
	vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &lapic);
	EXPECT_EQ(0, lapic.flags);
	EXPECT_EQ(0, lapic.reserved[0] | lapic.reserved[1] | lapic.reserved[2] |
		     lapic.reserved[3]);
	vcpu_ioctl(vcpu, VAPICVM_SET_LAPIC, &lapic);
	vm_free(vm);
}

TEST(e2big_for_counts_over_the_maximum)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	static struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e[VAPICVM_MAX_MSR_ENTRIES + 1];
	} msrs;
	static struct {
		struct vapicvm_cpuid hdr;
		struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES + 1];
	} cpuid;

	msrs.hdr.nmsrs = VAPICVM_MAX_MSR_ENTRIES + 1;
	EXPECT_ERRNO(E2BIG, vcpu->fd, VAPICVM_GET_MSRS, &msrs);
	EXPECT_ERRNO(E2BIG, vcpu->fd, VAPICVM_SET_MSRS, &msrs);
	msrs.hdr.nmsrs = 1U << 31;
	EXPECT_ERRNO(E2BIG, vcpu->fd, VAPICVM_SET_MSRS, &msrs);
	cpuid.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES + 1;
	EXPECT_ERRNO(E2BIG, vcpu->fd, VAPICVM_SET_CPUID, &cpuid);
	cpuid.hdr.nent = 0;
	EXPECT_ERRNO(E2BIG, vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, &cpuid);
	EXPECT_GT(cpuid.hdr.nent, 0) TH_LOG("E2BIG must say how many entries are needed");
	vm_free(vm);
}

TEST(create_vcpu_limits)
{
	struct vm *vm = vm_create_bare(0, 0);
	int max_vcpus = ioctl(vm->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_MAX_VCPUS);
	int max_id = ioctl(vm->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_MAX_VCPU_ID);
	int *fds, i, n = 0;

	ASSERT_GE(max_vcpus, 1);
	ASSERT_GE(max_id, max_vcpus);
	fds = calloc(max_vcpus, sizeof(*fds));
	ASSERT_NE(NULL, fds);

	/* Ids are below VAPICVM_CAP_MAX_VCPU_ID. */
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_CREATE_VCPU, max_id);
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_CREATE_VCPU, max_id + 1);
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_CREATE_VCPU, 1UL << 32);
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_CREATE_VCPU, -1UL);
	fds[n] = ioctl(vm->fd, VAPICVM_CREATE_VCPU, max_id - 1);
	ASSERT_GE(fds[n], 0) TH_LOG("the highest id: %s", strerror(errno));
	n++;
	EXPECT_ERRNO(EEXIST, vm->fd, VAPICVM_CREATE_VCPU, max_id - 1);
	fds[n] = ioctl(vm->fd, VAPICVM_CREATE_VCPU, 0);
	ASSERT_GE(fds[n], 0);
	n++;
	EXPECT_ERRNO(EEXIST, vm->fd, VAPICVM_CREATE_VCPU, 0);
	for (i = 1; n < max_vcpus; i++, n++) {
		fds[n] = ioctl(vm->fd, VAPICVM_CREATE_VCPU, i);
		ASSERT_GE(fds[n], 0) TH_LOG("vCPU %d of %d: %s", n + 1, max_vcpus,
					    strerror(errno));
	}
	/* One more than VAPICVM_CAP_MAX_VCPUS. */
	EXPECT_ERRNO(EINVAL, vm->fd, VAPICVM_CREATE_VCPU, max_id - 2);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	vm_free(vm);
}

TEST(vcpu_mmap_rules)
{
	struct vm *vm = vm_create_bare(0, 0);
	int fd = ioctl(vm->fd, VAPICVM_CREATE_VCPU, 0);
	long size = ioctl(vm->dev_fd, VAPICVM_GET_VCPU_MMAP_SIZE, 0);
	void *p;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(4096, size);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096));
	EXPECT_EQ(EINVAL, errno) TH_LOG("offset 4096");
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("two pages");
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a private mapping");
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, vm->fd, 0));
	EXPECT_EQ(ENODEV, errno) TH_LOG("the VM fd has no mmap");
	/* Offset 0, one page: yes, read-only too, and more than once. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, ((struct vapicvm_run *)p)->immediate_exit);
	munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, 4096);
	close(fd);
	vm_free(vm);
}

/*
 * The same rules for a mapping placed right after a run page, where the
 * kernel would rather extend the existing mapping than ask the file: the
 * run page stays one page, whatever mmap() or mremap() asks.
 */
TEST(vcpu_mmap_rules_next_to_a_run_page)
{
	struct vm *vm = vm_create_bare(0, 0);
	int fd = ioctl(vm->fd, VAPICVM_CREATE_VCPU, 0);
	char *area = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	ASSERT_GE(fd, 0);
	ASSERT_TRUE(area != MAP_FAILED);
	p = mmap(area + 4096, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_TRUE(p == area + 4096);
	ASSERT_EQ(0, munmap(area + 2 * 4096, 4096));
	errno = 0;
	EXPECT_TRUE(mmap(area + 2 * 4096, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 4096) == MAP_FAILED)
		TH_LOG("offset 4096 after the run page");
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(mremap(p, 4096, 2 * 4096, 0) == MAP_FAILED) TH_LOG("mremap() grew it");
	munmap(area, 3 * 4096);
	close(fd);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Another process                                                     */
/* ------------------------------------------------------------------ */

static int child_checks(struct vm *vm, struct vcpu *vcpu)
{
	struct vapicvm_userspace_memory_region mem = {
		.slot = 3, .guest_phys_addr = 0x80000000, .memory_size = 4096,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem,
	};
	struct vapicvm_regs regs = { 0 };
	struct vapicvm_sregs sregs;
	struct vapicvm_mp_state mp = { 0 };
	struct vapicvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	struct vapicvm_apicv_info info;
	struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e;
	} msrs = { .hdr.nmsrs = 1, .e.index = 0xc0000081 };
	int bad = 0, n = 0;

#define CHILD_EIO(fd, cmd, arg) do {						\
	n++;									\
	if (ioctl(fd, cmd, arg) != -1 || errno != EIO) {			\
		fprintf(stderr, "# child: %s: %s\n", #cmd, strerror(errno));	\
		bad++;								\
	}									\
} while (0)
	CHILD_EIO(vm->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_XSAVE);
	CHILD_EIO(vm->fd, VAPICVM_SET_USER_MEMORY_REGION, &mem);
	CHILD_EIO(vm->fd, VAPICVM_CREATE_VCPU, 1);
	CHILD_EIO(vm->fd, VAPICVM_GET_APICV, &info);
	CHILD_EIO(vm->fd, VAPICVM_SIGNAL_MSI, &msi);
	CHILD_EIO(vm->fd, _IO(VAPICVMIO, 0x7f), 0);
	CHILD_EIO(vcpu->fd, VAPICVM_RUN, 0);
	CHILD_EIO(vcpu->fd, VAPICVM_GET_REGS, &regs);
	CHILD_EIO(vcpu->fd, VAPICVM_SET_REGS, &regs);
	CHILD_EIO(vcpu->fd, VAPICVM_GET_SREGS, &sregs);
	CHILD_EIO(vcpu->fd, VAPICVM_GET_MSRS, &msrs);
	CHILD_EIO(vcpu->fd, VAPICVM_SET_MSRS, &msrs);
	CHILD_EIO(vcpu->fd, VAPICVM_SET_MP_STATE, &mp);
	CHILD_EIO(vcpu->fd, _IO(VAPICVMIO, 0xbf), 0);
#undef CHILD_EIO
	/* The system device is not the VM's: the child may make its own VM. */
	if (ioctl(vm->dev_fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_XSAVE) != 1)
		bad++;
	else
		close(create_vm_fd(vm->dev_fd, 0, 0));
	return bad ? 100 + bad : n > 0 ? 0 : 1;
}

static void guest_done(void)
{
	GUEST_DONE();
}

TEST(eio_from_another_process)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_done, 0);
	struct vapicvm_regs before, after;
	struct ucall uc;
	int status;
	pid_t pid;

	vcpu_get_regs(vcpu, &before);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(child_checks(vm, vcpu));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("%d ioctls did not fail with EIO",
						 WEXITSTATUS(status) - 100);
	/* Nothing the child tried happened. */
	vcpu_get_regs(vcpu, &after);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
	errno = 0;
	EXPECT_EQ(-1, __vm_set_memory_region(vm, 3, 0, 0x80000000, 0, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("the child created slot 3");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

TEST_HARNESS_MAIN
