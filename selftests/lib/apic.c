// SPDX-License-Identifier: GPL-2.0
/*
 * APIC-virtualization tiers for the selftests, all derived from the
 * feature table in the UAPI header, and the guest's APIC mode.
 */
#include "apic.h"

bool guest_x2apic;

/* What a feature requires directly: the SDM's requirements and ours. */
static uint32_t apicv_requires(uint32_t feature)
{
#define REQUIRES(id, bit, name, tier, sdm, policy, ctl)			\
	if (feature == VAPICVM_APICV_##id)					\
		return (sdm) | (policy);
	VAPICVM_APICV_FEATURES(REQUIRES)
#undef REQUIRES
	return 0;
}

uint32_t apicv_tier(uint32_t features)
{
	uint32_t tier = 0;

	/* Add what the features in the set require until nothing is added. */
	while (features != tier) {
		uint32_t f;

		tier = features;
		for (f = 1; f && f <= tier; f <<= 1) {
			if (tier & f)
				features |= apicv_requires(f);
		}
	}
	return tier;
}

const char *apicv_str(uint32_t mask, char *buf, size_t n)
{
	size_t len = 0;

	snprintf(buf, n, "none");
#define APPEND_NAME(id, bit, name, tier, sdm, policy, ctl)			\
	if ((mask & VAPICVM_APICV_##id) && len < n)				\
		len += snprintf(buf + len, n - len, "%s%s", len ? " " : "", name);
	VAPICVM_APICV_FEATURES(APPEND_NAME)
#undef APPEND_NAME
	return buf;
}

uint32_t host_apicv(void)
{
	int fd = open_dev();
	int m = __sys_ioctl(fd, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_APICV);

	close(fd);
	return m < 0 ? 0 : m;
}

struct vm *vm_create_apic_tier(uint32_t apicv)
{
	struct vm *vm = vm_create_apicv(apicv);
	char want[128], got[128];

	TEST_ASSERT(vm->apicv == apicv, "the VM uses %s, not the tier asked for: %s",
		    apicv_str(vm->apicv, got, sizeof(got)), apicv_str(apicv, want, sizeof(want)));
	return vm;
}

void vm_send_msi(struct vm *vm, uint8_t dest, uint32_t vector, bool level)
{
	struct vapicvm_msi msi = {
		.address_lo = 0xfee00000 | (dest << 12),
		.data = vector | (level ? (1 << 15) | (1 << 14) : 0),
	};

	TEST_ASSERT(vm_ioctl(vm, VAPICVM_SIGNAL_MSI, &msi) == 1,
		    "MSI to APIC ID %u, vector %#x: not delivered", dest, vector);
}

void vm_assert_lapic_consistent(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vapicvm_lapic_state s;
		const char *err;

		vcpu_ioctl(vm->vcpus[i], VAPICVM_GET_LAPIC, &s);
		err = lapic_state_inconsistency(&s, vm->apicv & VAPICVM_APICV_INTR_DELIVERY);
		TEST_ASSERT(!err, "vCPU %u: %s", i, err);
	}
}
