// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance of the virtual CPU to the Intel SDM, on every APIC tier:
 *
 * - PCID (Vol. 3A 4.10.1, 4.10.4.1, 2.5 and the MOV to CR / INVPCID pages of
 *   Vol. 2): a 64-bit guest sets CR4.PCIDE with CR3[11:0] = 0 and keeps
 *   running; it switches CR3 with a PCID, and with bit 63 (no flush), which
 *   CR3 does not keep; INVPCID types 0-3 work if CPUID offers INVPCID, type 4
 *   and a PCID above 4095 are #GP; setting PCIDE with CR3[11:0] != 0,
 *   setting it when CPUID does not offer PCID, and clearing CR0.PG while it
 *   is set are #GP.  SET_SREGS and SET_MSRS (EFER) refuse PCIDE outside
 *   IA-32e mode (a state VM entry would refuse, Vol. 3C 26.3.1.1).
 * - IA32_MISC_ENABLE (Vol. 4 Table 2-2): its read/write bits read back as
 *   written, the read-only ones (BTS and PEBS unavailable) do not change,
 *   reserved bits are #GP; "limit CPUID maxval" and "XD bit disable" act
 *   on CPUID as the table says.
 * - Machine-check architecture (Vol. 3B 17.3.1): with MCE and MCA in CPUID,
 *   IA32_MCG_CAP reads (0 banks, no MCG_CTL), IA32_MCG_STATUS reads 0 and
 *   takes 0, IA32_MCG_CTL is absent.
 * - IA32_TSC_ADJUST (Vol. 3B 17.17.3, CPUID.(7,0):EBX[1]): a write to it
 *   moves the TSC by the change; a write to IA32_TSC changes it by the
 *   TSC's change.
 * - RDTSCP, RDPID and IA32_TSC_AUX (Vol. 2 RDTSCP, RDPID; Vol. 3B 17.17.2):
 *   RDTSCP returns the TSC and IA32_TSC_AUX in ECX, RDPID returns
 *   IA32_TSC_AUX; bits 63:32 of IA32_TSC_AUX are reserved; the host's own
 *   IA32_TSC_AUX (the CPU number getcpu reads) is back once RUN returns.
 *   Without them in the guest's CPUID, RDTSCP and RDPID are #UD.
 */
#include <sched.h>
#include <string.h>
#include <x86intrin.h>

#include "kselftest_harness.h"
#include "apic.h"

#define NO_FAULT		0xff
#define GP			13
#define UD			6

#define CR0_PG			(1ULL << 31)
#define CR4_PCIDE		(1ULL << 17)
#define CR3_NOFLUSH		(1ULL << 63)

#define MSR_TSC			0x10
#define MSR_TSC_ADJUST		0x3b
#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MISC_ENABLE		0x1a0
#define MSR_TSC_AUX		0xc0000103

/* IA32_MISC_ENABLE bits (Vol. 4 Table 2-2) */
#define MISC_FAST_STRING	(1ULL << 0)
#define MISC_THERMAL		(1ULL << 3)
#define MISC_EMON		(1ULL << 7)
#define MISC_BTS_UNAVAIL	(1ULL << 11)
#define MISC_PEBS_UNAVAIL	(1ULL << 12)
#define MISC_EIST		(1ULL << 16)
#define MISC_LIMIT_CPUID	(1ULL << 22)
#define MISC_XTPR_DISABLE	(1ULL << 23)
#define MISC_XD_DISABLE		(1ULL << 34)

#define CPUID_1_ECX_PCID	(1U << 17)
#define CPUID_1_EDX_MCE		(1U << 7)
#define CPUID_1_EDX_MCA		(1U << 14)
#define CPUID_7_EBX_TSC_ADJUST	(1U << 1)
#define CPUID_7_EBX_INVPCID	(1U << 10)
#define CPUID_7_ECX_RDPID	(1U << 22)
#define CPUID_X1_EDX_NX		(1U << 20)
#define CPUID_X1_EDX_RDTSCP	(1U << 27)

/* ---------------------------------------------------------------- */
/* Guest: instructions that may fault                                */
/* ---------------------------------------------------------------- */

/* The last fault's vector (NO_FAULT if none); the handler resumes at fixup. */
static volatile uint64_t fault_vector, fault_fixup;

static void fault_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	regs->rip = fault_fixup;
}

static uint8_t wrmsr_safe(uint32_t msr, uint64_t v)
{
	fault_vector = NO_FAULT;
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, %[fx]\n\twrmsr\n1:"
			 : [fx] "=m"(fault_fixup)
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "r11", "memory");
	return fault_vector;
}

static uint8_t rdmsr_safe(uint32_t msr, uint64_t *v)
{
	uint32_t lo = 0, hi = 0;

	fault_vector = NO_FAULT;
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, %[fx]\n\trdmsr\n1:"
			 : [fx] "=m"(fault_fixup), "+a"(lo), "+d"(hi)
			 : "c"(msr)
			 : "r11", "memory");
	*v = lo | ((uint64_t)hi << 32);
	return fault_vector;
}

#define DEFINE_MOV_CR_SAFE(n)							\
static uint8_t write_cr##n##_safe(uint64_t v)					\
{										\
	fault_vector = NO_FAULT;						\
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, %[fx]\n\t"		\
			 "mov %[v], %%cr" #n "\n1:"				\
			 : [fx] "=m"(fault_fixup) : [v] "r"(v) : "r11", "memory"); \
	return fault_vector;							\
}
DEFINE_MOV_CR_SAFE(0)
DEFINE_MOV_CR_SAFE(3)
DEFINE_MOV_CR_SAFE(4)

static uint64_t read_cr3(void)
{
	uint64_t v = 0;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

struct invpcid_desc {
	uint64_t pcid;
	uint64_t addr;
};

static uint8_t invpcid_safe(uint64_t type, const struct invpcid_desc *d)
{
	fault_vector = NO_FAULT;
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, %[fx]\n\t"
			 "invpcid %[d], %[t]\n1:"
			 : [fx] "=m"(fault_fixup) : [d] "m"(*d), [t] "r"(type)
			 : "r11", "memory");
	return fault_vector;
}

static uint8_t rdtscp_safe(uint64_t *tsc, uint32_t *aux)
{
	uint32_t lo = 0, hi = 0, c = 0;

	fault_vector = NO_FAULT;
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, %[fx]\n\trdtscp\n1:"
			 : [fx] "=m"(fault_fixup), "+a"(lo), "+d"(hi), "+c"(c)
			 : : "r11", "memory");
	*tsc = lo | ((uint64_t)hi << 32);
	*aux = c;
	return fault_vector;
}

static uint8_t rdpid_safe(uint64_t *v)
{
	uint64_t r = 0;

	fault_vector = NO_FAULT;
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, %[fx]\n\trdpid %%rax\n1:"
			 : [fx] "=m"(fault_fixup), "+a"(r) : : "r11", "memory");
	*v = r;
	return fault_vector;
}

static uint32_t cpuid_reg(uint32_t leaf, uint32_t sub, int reg)
{
	uint32_t r[4];

	guest_cpuid(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
	return r[reg];
}

enum { EAX, EBX, ECX, EDX };

/* ---------------------------------------------------------------- */
/* Host helpers                                                      */
/* ---------------------------------------------------------------- */

struct cpuid_table {
	struct vapicvm_cpuid hdr;
	struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES];
};

static struct cpuid_table cpuid_tab;

static void get_supported(struct vm *vm, struct cpuid_table *t)
{
	memset(t, 0, sizeof(*t));
	t->hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	TEST_ASSERT(ioctl(vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, &t->hdr) == 0,
		    "GET_SUPPORTED_CPUID");
}

static struct vapicvm_cpuid_entry *find(struct cpuid_table *t, uint32_t fn, uint32_t idx)
{
	unsigned int i;

	for (i = 0; i < t->hdr.nent; i++)
		if (t->e[i].function == fn &&
		    (!(t->e[i].flags & VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) ||
		     t->e[i].index == idx))
			return &t->e[i];
	return NULL;
}

/* The supported table's register of a leaf (0 if the leaf is absent). */
static uint32_t supported_reg(struct vm *vm, uint32_t fn, uint32_t idx, int reg)
{
	struct vapicvm_cpuid_entry *e;

	get_supported(vm, &cpuid_tab);
	e = find(&cpuid_tab, fn, idx);
	if (!e)
		return 0;
	return reg == EAX ? e->eax : reg == EBX ? e->ebx : reg == ECX ? e->ecx : e->edx;
}

/* Whether the host CPU (as Linux reports it) has a feature flag. */
static bool host_has(const char *flag)
{
	char line[8192], word[64];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	snprintf(word, sizeof(word), " %s", flag);
	while (!found && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, word); p; p = strstr(p + 1, word))
			if (p[strlen(word)] == ' ' || p[strlen(word)] == '\n')
				found = true;
		break;
	}
	fclose(f);
	return found;
}

/* GET_MSRS or SET_MSRS of one MSR: whether it was done. */
static bool host_msr(struct vcpu *vcpu, bool set, uint32_t index, uint64_t *data)
{
	struct {
		struct vapicvm_msrs hdr;
		struct vapicvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = *data };
	int r = ioctl(vcpu->fd, set ? VAPICVM_SET_MSRS : VAPICVM_GET_MSRS, &m);

	*data = m.e.data;
	return r == 1;
}

static void run_to_done(struct __test_metadata *_metadata, struct vcpu *vcpu)
{
	struct ucall uc;
	uint64_t r;

	while ((r = vcpu_run_ucall(vcpu, &uc)) == UCALL_SYNC)
		;
	ASSERT_EQ(UCALL_DONE, r);
}

FIXTURE(cpu) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(cpu);

FIXTURE_SETUP(cpu)
{
	APIC_TIER_SETUP();
	vm_install_handler(self->vm, GP, fault_handler);
	vm_install_handler(self->vm, UD, fault_handler);
}

/* ---------------------------------------------------------------- */
/* PCID                                                              */
/* ---------------------------------------------------------------- */

static volatile uint64_t touched;

static void guest_pcid(void)
{
	uint64_t cr3 = read_cr3(), cr4 = guest_read_cr4();
	bool invpcid = cpuid_reg(7, 0, EBX) & CPUID_7_EBX_INVPCID;
	struct invpcid_desc d = { .pcid = 2, .addr = (uint64_t)&touched };
	uint64_t type;

	GUEST_ASSERT(cpuid_reg(1, 0, ECX) & CPUID_1_ECX_PCID);
	GUEST_ASSERT_EQ(cr3 & 0xfff, 0);
	GUEST_ASSERT(!(cr4 & CR4_PCIDE));

	/* Vol. 3A 4.10.1: PCIDE may be set in IA-32e mode with CR3[11:0] = 0. */
	GUEST_ASSERT_EQ(write_cr4_safe(cr4 | CR4_PCIDE), NO_FAULT);
	GUEST_ASSERT(guest_read_cr4() & CR4_PCIDE);
	GUEST_SYNC(1);		/* an exit and a VM entry with PCIDE set */
	touched++;

	/* CR3[11:0] is the PCID now. */
	GUEST_ASSERT_EQ(write_cr3_safe(cr3 | 1), NO_FAULT);
	GUEST_ASSERT_EQ(read_cr3(), cr3 | 1);
	touched++;
	GUEST_SYNC(2);
	/* Vol. 3A 4.10.4.1: bit 63 set means no flush, and is not stored in CR3. */
	GUEST_ASSERT_EQ(write_cr3_safe(cr3 | 2 | CR3_NOFLUSH), NO_FAULT);
	GUEST_ASSERT_EQ(read_cr3(), cr3 | 2);
	touched++;
	GUEST_SYNC(3);

	if (invpcid) {
		/* Vol. 2 INVPCID: types 0-3; type > 3 or PCID > 4095 is #GP. */
		for (type = 0; type < 4; type++)
			GUEST_ASSERT_EQ(invpcid_safe(type, &d), NO_FAULT);
		GUEST_ASSERT_EQ(invpcid_safe(4, &d), GP);
		d.pcid = 0x1000;
		GUEST_ASSERT_EQ(invpcid_safe(1, &d), GP);
		d.pcid = 2;
		d.addr = 1ULL << 62;	/* not canonical: #GP for type 0 */
		GUEST_ASSERT_EQ(invpcid_safe(0, &d), GP);
	} else {
		GUEST_ASSERT_EQ(invpcid_safe(0, &d), UD);
	}
	touched++;

	/* MOV to CR0: clearing PG while PCIDE is 1 is #GP. */
	GUEST_ASSERT_EQ(write_cr0_safe(guest_read_cr0() & ~CR0_PG), GP);
	GUEST_ASSERT(guest_read_cr0() & CR0_PG);

	/* Back to PCID 0; clearing PCIDE is always allowed. */
	GUEST_ASSERT_EQ(write_cr3_safe(cr3), NO_FAULT);
	GUEST_ASSERT_EQ(write_cr4_safe(cr4), NO_FAULT);
	GUEST_ASSERT(!(guest_read_cr4() & CR4_PCIDE));

	/* MOV to CR4: setting PCIDE while CR3[11:0] != 0 is #GP (PWT here). */
	GUEST_ASSERT_EQ(write_cr3_safe(cr3 | 0x8), NO_FAULT);
	GUEST_ASSERT_EQ(write_cr4_safe(cr4 | CR4_PCIDE), GP);
	GUEST_ASSERT(!(guest_read_cr4() & CR4_PCIDE));
	GUEST_ASSERT_EQ(write_cr3_safe(cr3), NO_FAULT);
	GUEST_DONE();
}

TEST_F(cpu, pcid)
{
	struct vcpu *vcpu;
	struct vapicvm_sregs s;
	struct ucall uc;
	uint64_t r, efer = 0;

	TEST_REQUIRE(host_has("pcid"), "the CPU has no PCID");
	ASSERT_TRUE(supported_reg(self->vm, 1, 0, ECX) & CPUID_1_ECX_PCID)
		TH_LOG("PCID not offered on a CPU that has it");
	vcpu = vm_add_vcpu(self->vm, 0, guest_pcid, 0);
	while ((r = vcpu_run_ucall(vcpu, &uc)) == UCALL_SYNC) {
		if (uc.args[0] != 1)
			continue;
		/*
		 * PCIDE is set: the host may not take the vCPU out of IA-32e
		 * mode under it either (VM entry would fail, Vol. 3C 26.3.1.1).
		 */
		ASSERT_TRUE(host_msr(vcpu, false, 0xc0000080, &efer));
		efer &= ~(1ULL << 8);	/* LME */
		EXPECT_FALSE(host_msr(vcpu, true, 0xc0000080, &efer));
		vcpu_get_sregs(vcpu, &s);
		EXPECT_TRUE(s.cr4 & CR4_PCIDE);
		s.efer &= ~(1ULL << 8);
		EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_SREGS, &s, EINVAL));
	}
	ASSERT_EQ(UCALL_DONE, r);
}

static void guest_pcid_not_offered(void)
{
	uint64_t cr4 = guest_read_cr4();
	struct invpcid_desc d = { 0 };

	GUEST_ASSERT(!(cpuid_reg(1, 0, ECX) & CPUID_1_ECX_PCID));
	GUEST_ASSERT(!(cpuid_reg(7, 0, EBX) & CPUID_7_EBX_INVPCID));
	/* MOV to CR4: setting a bit CPUID does not offer is #GP. */
	GUEST_ASSERT_EQ(write_cr4_safe(cr4 | CR4_PCIDE), GP);
	GUEST_ASSERT(!(guest_read_cr4() & CR4_PCIDE));
	/* INVPCID without CPUID.(7,0):EBX[10] is #UD. */
	GUEST_ASSERT_EQ(invpcid_safe(2, &d), UD);
	GUEST_DONE();
}

TEST_F(cpu, pcid_not_in_cpuid)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_pcid_not_offered, 0);
	struct vapicvm_cpuid_entry *e;

	get_supported(self->vm, &cpuid_tab);
	e = find(&cpuid_tab, 1, 0);
	ASSERT_NE(NULL, e);
	e->ecx &= ~CPUID_1_ECX_PCID;
	e = find(&cpuid_tab, 7, 0);
	if (e)
		e->ebx &= ~CPUID_7_EBX_INVPCID;
	vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &cpuid_tab.hdr);
	run_to_done(_metadata, vcpu);
}

/* SET_SREGS: PCIDE only in IA-32e mode, as VM entry requires. */
TEST_F(cpu, sregs_pcide_needs_long_mode)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_pcid_not_offered, 0);
	struct vapicvm_sregs s;

	vcpu_get_sregs(vcpu, &s);
	s.cr4 |= CR4_PCIDE;
	s.efer &= ~(1ULL << 8);		/* LME */
	s.efer &= ~(1ULL << 10);	/* LMA */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_SREGS, &s, EINVAL));
}

/* ---------------------------------------------------------------- */
/* IA32_MISC_ENABLE                                                  */
/* ---------------------------------------------------------------- */

static void guest_misc_enable(void)
{
	uint64_t v, orig, w;
	uint32_t max0 = cpuid_reg(0, 0, EAX);

	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MISC_ENABLE, &orig), NO_FAULT);
	/* No BTS, no PEBS, no performance monitoring (CPUID.0xa is 0). */
	GUEST_ASSERT(orig & MISC_BTS_UNAVAIL);
	GUEST_ASSERT(orig & MISC_PEBS_UNAVAIL);
	GUEST_ASSERT(!(orig & MISC_EMON));
	GUEST_ASSERT(orig & MISC_FAST_STRING);

	/* Read/write bits read back as written. */
	w = (orig & ~MISC_FAST_STRING) | MISC_THERMAL | MISC_EIST | MISC_XTPR_DISABLE;
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w), NO_FAULT);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MISC_ENABLE, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, w);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MISC_ENABLE, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, w);

	/* Limit CPUID maxval: CPUID.0:EAX reads 2 at most. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w | MISC_LIMIT_CPUID), NO_FAULT);
	GUEST_ASSERT_EQ(cpuid_reg(0, 0, EAX), max0 < 2 ? max0 : 2);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w), NO_FAULT);
	GUEST_ASSERT_EQ(cpuid_reg(0, 0, EAX), max0);

	/* XD bit disable: CPUID.80000001:EDX[20] reads 0. */
	if (cpuid_reg(0x80000001, 0, EDX) & CPUID_X1_EDX_NX) {
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w | MISC_XD_DISABLE), NO_FAULT);
		GUEST_ASSERT_EQ(rdmsr_safe(MSR_MISC_ENABLE, &v), NO_FAULT);
		GUEST_ASSERT_EQ(v, w | MISC_XD_DISABLE);
		GUEST_ASSERT(!(cpuid_reg(0x80000001, 0, EDX) & CPUID_X1_EDX_NX));
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w), NO_FAULT);
		GUEST_ASSERT(cpuid_reg(0x80000001, 0, EDX) & CPUID_X1_EDX_NX);
	}

	/* Reserved bits are #GP; read-only bits do not change (#GP). */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w | (1ULL << 1)), GP);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w | (1ULL << 63)), GP);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w & ~MISC_BTS_UNAVAIL), GP);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_ENABLE, w & ~MISC_PEBS_UNAVAIL), GP);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MISC_ENABLE, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, w);
	GUEST_DONE();
}

TEST_F(cpu, misc_enable)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_misc_enable, 0);
	uint64_t v = 0;

	run_to_done(_metadata, vcpu);
	/* The state save/restore sees (GET_MSRS) and restores (SET_MSRS). */
	ASSERT_TRUE(host_msr(vcpu, false, MSR_MISC_ENABLE, &v));
	EXPECT_EQ(MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL | MISC_THERMAL | MISC_EIST |
		  MISC_XTPR_DISABLE, v);
	v |= MISC_FAST_STRING;
	ASSERT_TRUE(host_msr(vcpu, true, MSR_MISC_ENABLE, &v));
	ASSERT_TRUE(host_msr(vcpu, false, MSR_MISC_ENABLE, &v));
	EXPECT_TRUE(v & MISC_FAST_STRING);
	v = 1ULL << 63;
	EXPECT_FALSE(host_msr(vcpu, true, MSR_MISC_ENABLE, &v));
}

/* ---------------------------------------------------------------- */
/* Machine-check MSRs                                                */
/* ---------------------------------------------------------------- */

static void guest_mcg(void)
{
	uint64_t v = 0;

	GUEST_ASSERT(cpuid_reg(1, 0, EDX) & CPUID_1_EDX_MCE);
	GUEST_ASSERT(cpuid_reg(1, 0, EDX) & CPUID_1_EDX_MCA);
	/* 17.3.1.1: bank count 0, no MCG_CTL_P (bit 8) nor other capability. */
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MCG_CAP, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, 0);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MCG_CAP, 0), GP);	/* read-only */
	/* 17.3.1.2: no machine check in progress; only 0 may be written. */
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MCG_STATUS, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, 0);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MCG_STATUS, 0), NO_FAULT);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MCG_STATUS, 1), GP);
	/* 17.3.1.3: IA32_MCG_CTL is present only if MCG_CTL_P is set. */
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_MCG_CTL, &v), GP);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MCG_CTL, ~0ULL), GP);
	/* No bank: IA32_MC0_CTL is absent. */
	GUEST_ASSERT_EQ(rdmsr_safe(0x400, &v), GP);
	GUEST_DONE();
}

TEST_F(cpu, mcg_msrs)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_mcg, 0);
	uint64_t v = ~0ULL;

	run_to_done(_metadata, vcpu);
	ASSERT_TRUE(host_msr(vcpu, false, MSR_MCG_CAP, &v));
	EXPECT_EQ(0, v);
	ASSERT_TRUE(host_msr(vcpu, false, MSR_MCG_STATUS, &v));
	EXPECT_EQ(0, v);
	ASSERT_TRUE(host_msr(vcpu, true, MSR_MCG_STATUS, &v));
}

/* ---------------------------------------------------------------- */
/* IA32_TSC_ADJUST                                                   */
/* ---------------------------------------------------------------- */

#define ADJ_DELTA	(1ULL << 44)
/* Guest TSC ticks a few exits may take in the emulator, with margin. */
#define SLACK		(1ULL << 36)

static void guest_tsc_adjust(void)
{
	uint64_t adj, adj2, t0, t1, target;

	GUEST_ASSERT(cpuid_reg(7, 0, EBX) & CPUID_7_EBX_TSC_ADJUST);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_ADJUST, &adj), NO_FAULT);
	GUEST_ASSERT_EQ(adj, 0);

	/* 17.17.3: a write of IA32_TSC_ADJUST adds the change to the TSC. */
	t0 = guest_rdtsc();
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC_ADJUST, ADJ_DELTA), NO_FAULT);
	t1 = guest_rdtsc();
	GUEST_ASSERT(t1 - t0 >= ADJ_DELTA && t1 - t0 < ADJ_DELTA + SLACK);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_ADJUST, &adj), NO_FAULT);
	GUEST_ASSERT_EQ(adj, ADJ_DELTA);

	/* A write of IA32_TSC changes IA32_TSC_ADJUST by the TSC's change. */
	t0 = guest_rdtsc();
	target = t0 + 3 * ADJ_DELTA;
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC, target), NO_FAULT);
	t1 = guest_rdtsc();
	GUEST_ASSERT(t1 >= target && t1 - target < SLACK);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_ADJUST, &adj2), NO_FAULT);
	/* The TSC moved by 3 * ADJ_DELTA less the ticks to the write. */
	GUEST_ASSERT(adj2 - adj <= 3 * ADJ_DELTA && adj2 - adj > 3 * ADJ_DELTA - SLACK);

	/* Back down: negative values are fine. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC_ADJUST, -ADJ_DELTA), NO_FAULT);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_ADJUST, &adj), NO_FAULT);
	GUEST_ASSERT_EQ(adj, -ADJ_DELTA);
	GUEST_DONE();
}

TEST_F(cpu, tsc_adjust)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tsc_adjust, 0);
	uint64_t v = 0;

	run_to_done(_metadata, vcpu);
	ASSERT_TRUE(host_msr(vcpu, false, MSR_TSC_ADJUST, &v));
	EXPECT_EQ(-ADJ_DELTA, v);
	/* The host restores it without moving the TSC (as KVM does). */
	v = 12345;
	ASSERT_TRUE(host_msr(vcpu, true, MSR_TSC_ADJUST, &v));
	ASSERT_TRUE(host_msr(vcpu, false, MSR_TSC_ADJUST, &v));
	EXPECT_EQ(12345, v);
}

/* ---------------------------------------------------------------- */
/* RDTSCP, RDPID, IA32_TSC_AUX                                       */
/* ---------------------------------------------------------------- */

#define AUX	0x9abcdef0ULL

static void guest_rdtscp(uint64_t aux)
{
	uint64_t t0, t1, tsc, v;
	uint32_t ecx;

	GUEST_ASSERT(cpuid_reg(0x80000001, 0, EDX) & CPUID_X1_EDX_RDTSCP);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_AUX, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, 0);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC_AUX, aux), NO_FAULT);
	/* Bits 63:32 are reserved. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC_AUX, 1ULL << 32), GP);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_AUX, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, aux);

	t0 = guest_rdtsc();
	GUEST_ASSERT_EQ(rdtscp_safe(&tsc, &ecx), NO_FAULT);
	t1 = guest_rdtsc();
	GUEST_ASSERT_EQ(ecx, aux);
	GUEST_ASSERT(tsc >= t0 && tsc <= t1);
	GUEST_SYNC(1);		/* through userspace and back */
	GUEST_ASSERT_EQ(rdtscp_safe(&tsc, &ecx), NO_FAULT);
	GUEST_ASSERT_EQ(ecx, aux);
	if (cpuid_reg(7, 0, ECX) & CPUID_7_ECX_RDPID) {
		GUEST_ASSERT_EQ(rdpid_safe(&v), NO_FAULT);
		GUEST_ASSERT_EQ(v, aux);
	}
	GUEST_DONE();
}

/* The CPU number in the host's IA32_TSC_AUX matches the scheduler's. */
static bool host_tsc_aux_is_cpu(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		unsigned int aux;
		int before = sched_getcpu();

		__rdtscp(&aux);
		if (before == sched_getcpu())
			return (int)(aux & 0xfff) == before;
	}
	return false;
}

TEST_F(cpu, rdtscp_tsc_aux)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_rdtscp, AUX);
	uint64_t v = 0;

	TEST_REQUIRE(host_has("rdtscp"), "the CPU has no RDTSCP");
	ASSERT_TRUE(supported_reg(self->vm, 0x80000001, 0, EDX) & CPUID_X1_EDX_RDTSCP)
		TH_LOG("RDTSCP not offered on a CPU that has it");
	if (host_has("rdpid"))
		EXPECT_TRUE(supported_reg(self->vm, 7, 0, ECX) & CPUID_7_ECX_RDPID);
	run_to_done(_metadata, vcpu);
	/* The host's own value is back (Linux's getcpu reads it). */
	EXPECT_TRUE(host_tsc_aux_is_cpu());
	ASSERT_TRUE(host_msr(vcpu, false, MSR_TSC_AUX, &v));
	EXPECT_EQ(AUX, v);
	v = 7;
	ASSERT_TRUE(host_msr(vcpu, true, MSR_TSC_AUX, &v));
	ASSERT_TRUE(host_msr(vcpu, false, MSR_TSC_AUX, &v));
	EXPECT_EQ(7, v);
	v = 1ULL << 32;
	EXPECT_FALSE(host_msr(vcpu, true, MSR_TSC_AUX, &v));
}

static void guest_no_rdtscp(void)
{
	uint64_t tsc, v;
	uint32_t aux;

	GUEST_ASSERT(!(cpuid_reg(0x80000001, 0, EDX) & CPUID_X1_EDX_RDTSCP));
	GUEST_ASSERT(!(cpuid_reg(7, 0, ECX) & CPUID_7_ECX_RDPID));
	GUEST_ASSERT_EQ(rdtscp_safe(&tsc, &aux), UD);
	GUEST_ASSERT_EQ(rdpid_safe(&v), UD);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_AUX, &v), GP);
	GUEST_DONE();
}

TEST_F(cpu, rdtscp_not_in_cpuid)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_no_rdtscp, 0);
	struct vapicvm_cpuid_entry *e;

	get_supported(self->vm, &cpuid_tab);
	e = find(&cpuid_tab, 0x80000001, 0);
	ASSERT_NE(NULL, e);
	e->edx &= ~CPUID_X1_EDX_RDTSCP;
	e = find(&cpuid_tab, 7, 0);
	if (e)
		e->ecx &= ~CPUID_7_ECX_RDPID;
	vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &cpuid_tab.hdr);
	run_to_done(_metadata, vcpu);
}

TEST_HARNESS_MAIN
