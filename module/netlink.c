// SPDX-License-Identifier: GPL-2.0
/*
 * The "vapicvm" generic netlink family (Documentation/netlink.rst): a dump
 * of VMs and of a VM's vCPUs with their counters, and events on the
 * "events" multicast group.
 *
 * The family is in the initial network namespace only: a VM belongs to no
 * network namespace, and one family in one place keeps the rule of who
 * sees what to one line.  That rule: a caller sees the VMs created with
 * its effective uid; with CAP_PERFMON (the capability for observing what
 * others run, as perf's system-wide counters) or CAP_SYS_ADMIN, every VM.
 * Events cannot be filtered per listener, so joining the events group
 * takes CAP_SYS_ADMIN, which genetlink checks when the socket joins.
 *
 * Counters are added up here, at read time, from each vCPU's own copy.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "apicv.h"
#include "capabilities.h"
#include "compat.h"
#include "lapic.h"
#include "netlink.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

static struct genl_family vapicvm_genl_family;
static bool genl_registered;

/*
 * Room for the largest VM or vCPU message: every counter of the table and
 * every exit reason, APIC register and userspace exit counted (about 6 KiB).
 */
#define VAPICVM_GENL_MSG_SIZE	SZ_8K

/* Requests carry a VM and maybe a vCPU; everything else is output. */
static const struct nla_policy vapicvm_genl_policy[VAPICVM_A_MAX + 1] = {
	[VAPICVM_A_VM_ID]	= { .type = NLA_U64 },
	[VAPICVM_A_VCPU_ID]	= NLA_POLICY_MAX(NLA_U32, VAPICVM_MAX_VCPU_ID),
};

enum vapicvm_genl_mcgrp {
	VAPICVM_MCGRP_EVENTS,
};

static const struct genl_multicast_group vapicvm_genl_mcgrps[] = {
	[VAPICVM_MCGRP_EVENTS] = {
		.name = VAPICVM_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
	},
};

/* ------------------------------------------------------------------ */
/* Who sees what                                                       */
/* ------------------------------------------------------------------ */

static bool genl_sees_all(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_PERFMON) || netlink_capable(skb, CAP_SYS_ADMIN);
}

static bool genl_may_see(const struct sk_buff *skb, const struct vapicvm_vm *vm)
{
	return uid_eq(vm->owner_uid, current_euid()) || genl_sees_all(skb);
}

/* A visible VM by id, with vapicvm_vms_lock held; NULL if none. */
static struct vapicvm_vm *genl_find_vm(const struct sk_buff *skb, u64 id)
{
	struct vapicvm_vm *vm;

	lockdep_assert_held(&vapicvm_vms_lock);
	list_for_each_entry(vm, &vapicvm_vms, node)
		if (vm->id == id)
			return genl_may_see(skb, vm) ? vm : NULL;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static int put_u64(struct sk_buff *skb, int type, u64 value)
{
	return nla_put_u64_64bit(skb, type, value, VAPICVM_A_PAD);
}

/* A nest of u64s whose types are index + 1; with sparse, zeroes left out. */
static int put_counters(struct sk_buff *skb, int type, const u64 *counts, unsigned int n,
			bool sparse)
{
	struct nlattr *nest = nla_nest_start(skb, type);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		if (sparse && !counts[i])
			continue;
		if (put_u64(skb, i + 1, counts[i])) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_snapshot(struct sk_buff *skb, const struct stats_snapshot *s)
{
	return put_counters(skb, VAPICVM_A_STATS, s->stats, VAPICVM_STAT_NR, false) ?:
	       put_counters(skb, VAPICVM_A_EXIT_REASONS, s->c.exit_reasons,
			    STATS_NR_EXIT_REASONS, true) ?:
	       put_counters(skb, VAPICVM_A_APIC_ACCESS, s->c.apic_access,
			    STATS_NR_APIC_REGS, true) ?:
	       put_counters(skb, VAPICVM_A_APIC_WRITE, s->c.apic_write,
			    STATS_NR_APIC_REGS, true) ?:
	       put_counters(skb, VAPICVM_A_USER_EXITS, s->c.user_exits,
			    STATS_NR_USER_EXITS, true);
}

static u32 feature_state(const struct vapicvm_vm *vm, u32 bit, u32 requires, u32 *needs)
{
	*needs = 0;
	if (vm->apicv & bit)
		return VAPICVM_FEATURE_IN_USE;
	if (!(vm->apicv_requested & bit))
		return VAPICVM_FEATURE_NOT_ASKED;
	if (!(vmx_caps.apicv_supported & bit))
		return VAPICVM_FEATURE_NOT_OFFERED;
	*needs = requires & ~vm->apicv;
	return VAPICVM_FEATURE_NEEDS_FEATURE;
}

static int put_features(struct sk_buff *skb, const struct vapicvm_vm *vm)
{
	struct nlattr *features = nla_nest_start(skb, VAPICVM_A_APICV_FEATURES);
	unsigned int i;

	if (!features)
		return -EMSGSIZE;
	for (i = 0; i < apicv_nr_features(); i++) {
		u32 bit, requires, needs, state;
		const char *name = apicv_feature_name(i, &bit, &requires);
		struct nlattr *f = nla_nest_start(skb, VAPICVM_A_FEATURE);

		state = feature_state(vm, bit, requires, &needs);
		if (!f || nla_put_string(skb, VAPICVM_A_FEATURE_NAME, name) ||
		    nla_put_u32(skb, VAPICVM_A_FEATURE_STATE, state) ||
		    nla_put_u32(skb, VAPICVM_A_FEATURE_NEEDS, needs)) {
			nla_nest_cancel(skb, features);
			return -EMSGSIZE;
		}
		nla_nest_end(skb, f);
	}
	nla_nest_end(skb, features);
	return 0;
}

static unsigned int vm_vcpu_count(struct vapicvm_vm *vm)
{
	return READ_ONCE(vm->nr_vcpus);
}

static struct vapicvm_vcpu *vm_vcpu(struct vapicvm_vm *vm, unsigned int i)
{
	/* Pairs with the release that publishes a new vCPU. */
	return smp_load_acquire(&vm->vcpus[i]);
}

/* The VM's owner, as the reader's namespaces see it. */
static int put_owner(struct sk_buff *skb, const struct vapicvm_vm *vm)
{
	return nla_put_u32(skb, VAPICVM_A_PID,
			   pid_nr_ns(vm->owner_pid, task_active_pid_ns(current))) ?:
	       nla_put_u32(skb, VAPICVM_A_UID,
			   from_kuid_munged(current_user_ns(), vm->owner_uid));
}

static int put_tier(struct sk_buff *skb, u32 apicv)
{
	char tier[32];

	apicv_tier_name(tier, sizeof(tier), apicv);
	return nla_put_string(skb, VAPICVM_A_APICV_TIER, tier);
}

static int fill_vm(struct sk_buff *skb, struct vapicvm_vm *vm, u32 portid, u32 seq,
		   struct netlink_callback *cb, struct stats_snapshot *s)
{
	u64 vm_stats[VAPICVM_VM_STAT_NR];
	unsigned int i, n = vm_vcpu_count(vm);
	void *hdr;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++)
		stats_add_vcpu(s, vm_vcpu(vm, i));
	stats_read_vm(vm, vm_stats);

	hdr = genlmsg_put(skb, portid, seq, &vapicvm_genl_family, cb ? NLM_F_MULTI : 0,
			  VAPICVM_CMD_GET_VM);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (put_u64(skb, VAPICVM_A_VM_ID, vm->id) || put_owner(skb, vm) ||
	    nla_put_u32(skb, VAPICVM_A_NR_VCPUS, n) ||
	    put_u64(skb, VAPICVM_A_MEM_BYTES, READ_ONCE(vm->mem_pages) << PAGE_SHIFT) ||
	    put_u64(skb, VAPICVM_A_PINNED_BYTES,
		    (u64)atomic64_read(&vm->pinned_pages) << PAGE_SHIFT) ||
	    nla_put_u32(skb, VAPICVM_A_APICV, vm->apicv) ||
	    nla_put_u32(skb, VAPICVM_A_APICV_REQUESTED, vm->apicv_requested) ||
	    put_tier(skb, vm->apicv) || put_features(skb, vm) || put_snapshot(skb, s) ||
	    put_counters(skb, VAPICVM_A_VM_STATS, vm_stats, VAPICVM_VM_STAT_NR, false)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int fill_vcpu(struct sk_buff *skb, struct vapicvm_vcpu *vcpu,
		     struct netlink_callback *cb, struct stats_snapshot *s)
{
	int last_cpu = READ_ONCE(vcpu->last_entry_cpu);
	void *hdr;

	memset(s, 0, sizeof(*s));
	stats_add_vcpu(s, vcpu);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vapicvm_genl_family, NLM_F_MULTI, VAPICVM_CMD_GET_VCPU);
	if (!hdr)
		return -EMSGSIZE;
	genl_dump_check_consistent(cb, hdr);
	if (put_u64(skb, VAPICVM_A_VM_ID, vcpu->vm->id) ||
	    nla_put_u32(skb, VAPICVM_A_VCPU_ID, vcpu->id) ||
	    nla_put_u32(skb, VAPICVM_A_LAST_CPU, last_cpu < 0 ? ~0U : last_cpu) ||
	    nla_put_u32(skb, VAPICVM_A_APIC_MODE, lapic_mode_of(lapic_get_base(vcpu))) ||
	    nla_put_u32(skb, VAPICVM_A_MP_STATE, READ_ONCE(vcpu->mp_state)) ||
	    nla_put_u8(skb, VAPICVM_A_IN_GUEST, READ_ONCE(vcpu->mode) == IN_GUEST_MODE) ||
	    put_snapshot(skb, s)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static int genl_get_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct stats_snapshot *s;
	struct vapicvm_vm *vm;
	struct sk_buff *msg;
	int r;

	if (!info->attrs[VAPICVM_A_VM_ID]) {
		NL_SET_ERR_MSG(info->extack, "VAPICVM_A_VM_ID is required");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, VAPICVM_A_VM_ID);
		return -EINVAL;
	}
	s = kmalloc(sizeof(*s), GFP_KERNEL);
	msg = genlmsg_new(VAPICVM_GENL_MSG_SIZE, GFP_KERNEL);
	if (!s || !msg) {
		r = -ENOMEM;
		goto out;
	}
	mutex_lock(&vapicvm_vms_lock);
	vm = genl_find_vm(skb, nla_get_u64(info->attrs[VAPICVM_A_VM_ID]));
	if (!vm) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VAPICVM_A_VM_ID],
				    "no such VM, or not yours");
		r = -ENOENT;
	} else {
		r = fill_vm(msg, vm, info->snd_portid, info->snd_seq, NULL, s);
	}
	mutex_unlock(&vapicvm_vms_lock);
	if (!r) {
		r = genlmsg_reply(msg, info);
		msg = NULL;
	}
out:
	nlmsg_free(msg);
	kfree(s);
	return r;
}

/*
 * Dumps resume after the last VM (cb->args[0]: its id) or vCPU (args[1]:
 * its index + 1) that fitted.  The list's generation is the dump's
 * sequence: a VM created or freed between two parts marks the next one
 * NLM_F_DUMP_INTR.
 */
static int genl_get_vm_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct stats_snapshot *s = kmalloc(sizeof(*s), GFP_KERNEL);
	struct vapicvm_vm *vm;
	int r = 0;

	if (!s)
		return -ENOMEM;
	mutex_lock(&vapicvm_vms_lock);
	cb->seq = vapicvm_vms_gen;
	list_for_each_entry(vm, &vapicvm_vms, node) {
		if (vm->id <= cb->args[0] || !genl_may_see(cb->skb, vm))
			continue;
		r = fill_vm(skb, vm, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, cb, s);
		if (r)
			break;
		cb->args[0] = vm->id;
	}
	mutex_unlock(&vapicvm_vms_lock);
	kfree(s);
	/* A VM that does not fit an empty message is an error, not the end. */
	if (r == -EMSGSIZE && skb->len)
		r = 0;
	return r ?: skb->len;
}

static int genl_get_vcpu_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct nlattr **attrs = vapicvm_dumpit_attrs(info);
	struct stats_snapshot *s;
	struct vapicvm_vm *vm;
	unsigned int i, n;
	int r = 0;

	if (!attrs[VAPICVM_A_VM_ID]) {
		NL_SET_ERR_MSG(cb->extack, "VAPICVM_A_VM_ID is required");
		return -EINVAL;
	}
	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	mutex_lock(&vapicvm_vms_lock);
	cb->seq = vapicvm_vms_gen;
	vm = genl_find_vm(cb->skb, nla_get_u64(attrs[VAPICVM_A_VM_ID]));
	if (!vm) {
		NL_SET_ERR_MSG_ATTR(cb->extack, attrs[VAPICVM_A_VM_ID], "no such VM, or not yours");
		r = -ENOENT;
		goto out;
	}
	n = vm_vcpu_count(vm);
	for (i = cb->args[1]; i < n; i++) {
		struct vapicvm_vcpu *vcpu = vm_vcpu(vm, i);

		if (attrs[VAPICVM_A_VCPU_ID] && vcpu->id != nla_get_u32(attrs[VAPICVM_A_VCPU_ID]))
			continue;
		r = fill_vcpu(skb, vcpu, cb, s);
		if (r)
			break;
		cb->args[1] = i + 1;
	}
	if (r == -EMSGSIZE && skb->len)
		r = 0;
out:
	mutex_unlock(&vapicvm_vms_lock);
	kfree(s);
	return r ?: skb->len;
}

/* A dump's buffers hold at least one whole VM or vCPU message. */
static int genl_dump_start(struct netlink_callback *cb)
{
	cb->min_dump_alloc = max_t(u32, cb->min_dump_alloc, VAPICVM_GENL_MSG_SIZE);
	return 0;
}

static const struct genl_ops vapicvm_genl_ops[] = {
	{
		.cmd	= VAPICVM_CMD_GET_VM,
		.doit	= genl_get_vm_doit,
		.start	= genl_dump_start,
		.dumpit	= genl_get_vm_dumpit,
	},
	{
		.cmd	= VAPICVM_CMD_GET_VCPU,
		.start	= genl_dump_start,
		.dumpit	= genl_get_vcpu_dumpit,
	},
};

static struct genl_family vapicvm_genl_family = {
	.name		= VAPICVM_GENL_NAME,
	.version	= VAPICVM_GENL_VERSION,
	.maxattr	= VAPICVM_A_MAX,
	.policy		= vapicvm_genl_policy,
	.netnsok	= false,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= vapicvm_genl_ops,
	.n_ops		= ARRAY_SIZE(vapicvm_genl_ops),
	.mcgrps		= vapicvm_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(vapicvm_genl_mcgrps),
};

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static bool events_wanted(void)
{
	return genl_registered &&
	       genl_has_listeners(&vapicvm_genl_family, &init_net, VAPICVM_MCGRP_EVENTS);
}

static struct sk_buff *event_new(enum vapicvm_event event, u64 vm_id, void **hdr)
{
	/* The largest event, VM_CREATE, takes about 120 bytes. */
	struct sk_buff *msg = genlmsg_new(256, GFP_ATOMIC);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &vapicvm_genl_family, 0, VAPICVM_CMD_EVENT);
	if (!*hdr || nla_put_u32(msg, VAPICVM_A_EVENT, event) ||
	    put_u64(msg, VAPICVM_A_VM_ID, vm_id)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void event_send(struct sk_buff *msg, void *hdr)
{
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&vapicvm_genl_family, msg, 0, VAPICVM_MCGRP_EVENTS, GFP_ATOMIC);
}

void vapicvm_event_vm(struct vapicvm_vm *vm, enum vapicvm_event event)
{
	struct sk_buff *msg;
	void *hdr;

	if (!events_wanted())
		return;
	msg = event_new(event, vm->id, &hdr);
	if (!msg)
		return;
	if (event == VAPICVM_EVENT_VM_CREATE &&
	    (put_owner(msg, vm) || nla_put_u32(msg, VAPICVM_A_APICV, vm->apicv) ||
	     nla_put_u32(msg, VAPICVM_A_APICV_REQUESTED, vm->apicv_requested) ||
	     put_tier(msg, vm->apicv))) {
		nlmsg_free(msg);
		return;
	}
	event_send(msg, hdr);
}

static void event_vcpu(struct vapicvm_vcpu *vcpu, enum vapicvm_event event, bool old_new,
		       u32 old, u32 new, bool reason, u32 why, bool qual, u64 qualification)
{
	struct sk_buff *msg;
	void *hdr;

	if (!events_wanted())
		return;
	msg = event_new(event, vcpu->vm->id, &hdr);
	if (!msg)
		return;
	if (nla_put_u32(msg, VAPICVM_A_VCPU_ID, vcpu->id) ||
	    (old_new && (nla_put_u32(msg, VAPICVM_A_OLD, old) ||
			 nla_put_u32(msg, VAPICVM_A_NEW, new))) ||
	    (event == VAPICVM_EVENT_APICV && put_tier(msg, new)) ||
	    (reason && nla_put_u32(msg, VAPICVM_A_REASON, why)) ||
	    (qual && put_u64(msg, VAPICVM_A_QUALIFICATION, qualification))) {
		nlmsg_free(msg);
		return;
	}
	event_send(msg, hdr);
}

void vapicvm_event_vcpu(struct vapicvm_vcpu *vcpu, enum vapicvm_event event, u32 old, u32 new)
{
	switch (event) {
	case VAPICVM_EVENT_APIC_MODE:
	case VAPICVM_EVENT_APICV:
		event_vcpu(vcpu, event, true, old, new, false, 0, false, 0);
		break;
	case VAPICVM_EVENT_RATE_CLAMP:
		event_vcpu(vcpu, event, false, 0, 0, true, old, false, 0);
		break;
	default:
		event_vcpu(vcpu, event, false, 0, 0, false, 0, false, 0);
		break;
	}
}

void vapicvm_event_run_exit(struct vapicvm_vcpu *vcpu)
{
	const struct vapicvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case VAPICVM_EXIT_SHUTDOWN:
		event_vcpu(vcpu, VAPICVM_EVENT_SHUTDOWN, false, 0, 0, false, 0, false, 0);
		break;
	case VAPICVM_EXIT_FAIL_ENTRY:
		event_vcpu(vcpu, VAPICVM_EVENT_ENTRY_FAILED, false, 0, 0,
			   true, run->fail_entry.hardware_entry_failure_reason,
			   true, run->fail_entry.exit_qualification);
		break;
	case VAPICVM_EXIT_INTERNAL_ERROR:
		event_vcpu(vcpu, VAPICVM_EVENT_INTERNAL_ERROR, false, 0, 0,
			   true, run->internal.suberror, false, 0);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */
/* ------------------------------------------------------------------ */

bool vapicvm_genl_registered(void)
{
	return genl_registered;
}

int vapicvm_genl_init(void)
{
	int r = genl_register_family(&vapicvm_genl_family);

	if (r)
		return r;
	genl_registered = true;
	return 0;
}

void vapicvm_genl_exit(void)
{
	if (genl_registered)
		genl_unregister_family(&vapicvm_genl_family);
	genl_registered = false;
}
