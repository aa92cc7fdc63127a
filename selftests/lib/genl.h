/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small generic netlink client for the selftests (genl.c), on raw
 * sockets: resolving a family through nlctrl, building requests, reading
 * replies with their extended acks, and the "vapicvm" family's VM and
 * vCPU messages parsed into one flat record.
 */
#ifndef SELFTEST_GENL_H
#define SELFTEST_GENL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/vapicvm.h>

struct genl {
	int fd;
	uint16_t family;	/* 0 until resolved */
	uint32_t events_group;	/* 0 if the family has none */
	uint32_t seq;
	size_t bufsize;		/* what each recv() asks for */
	uint8_t *buf;
	size_t pend_off, pend_len;	/* events not yet returned, in buf */
};

/*
 * A generic netlink socket with NETLINK_EXT_ACK (and NETLINK_CAP_ACK) on,
 * receiving at most bufsize bytes per recv() (0: 32 KiB).  NULL with errno
 * if the socket cannot be had (no CONFIG_NET).
 */
struct genl *genl_open(size_t bufsize);
void genl_close(struct genl *g);
/* Resolve a family (and its "events" group) by name: 0 or -errno. */
int genl_resolve(struct genl *g, const char *name);
/* Resolve VAPICVM_GENL_NAME. */
static inline int genl_resolve_vapicvm(struct genl *g)
{
	return genl_resolve(g, VAPICVM_GENL_NAME);
}
/* Join the events group: 0 or -errno. */
int genl_join_events(struct genl *g);

/* A request being built. */
struct genl_msg {
	union {
		struct nlmsghdr nlh;
		uint8_t raw[1024];
	};
};

void genl_msg_init(struct genl *g, struct genl_msg *m, uint8_t cmd, uint16_t flags);
/* Append an attribute (any length, any type) to the message. */
void genl_put(struct genl_msg *m, uint16_t type, const void *data, uint16_t len);
static inline void genl_put_u32(struct genl_msg *m, uint16_t type, uint32_t v)
{
	genl_put(m, type, &v, sizeof(v));
}

static inline void genl_put_u64(struct genl_msg *m, uint16_t type, uint64_t v)
{
	genl_put(m, type, &v, sizeof(v));
}

/* Send len bytes of the message (its nlmsg_len as it is): 0 or -errno. */
int genl_send_raw(struct genl *g, const void *msg, size_t len);
int genl_send(struct genl *g, struct genl_msg *m);

/*
 * Receive one datagram into g->buf: its length, 0 on timeout, or -errno
 * (-EMSGSIZE: it did not fit).
 */
int genl_recv(struct genl *g, int timeout_ms);

/* What a request ended with: the error (0 for an ack or a dump's DONE) and its extack. */
struct genl_status {
	int error;		/* 0 or -errno */
	bool done;		/* an ack, an error or a DONE was seen */
	char msg[256];		/* NLMSGERR_ATTR_MSG, "" if none */
	uint32_t offset;	/* NLMSGERR_ATTR_OFFS, if has_offset */
	bool has_offset;
	uint32_t miss_type;	/* NLMSGERR_ATTR_MISS_TYPE: a required attribute missing */
	bool has_miss_type;
};

/* The attributes of one vapicvm message, parsed. */
#define GENL_NEST_MAX		128
#define GENL_MAX_FEATURES	8

struct genl_obj {
	uint8_t cmd;
	uint16_t nlmsg_flags;
	bool has[VAPICVM_A_MAX + 1];	/* which top-level attributes came */
	uint64_t vm_id;
	uint32_t vcpu_id, pid, uid, nr_vcpus;
	uint64_t mem_bytes, pinned_bytes;
	uint32_t apicv, apicv_requested;
	char tier[64];
	unsigned int nr_features;
	struct {
		char name[32];
		uint32_t state, needs;
		bool has_state, has_needs;
	} features[GENL_MAX_FEATURES];
	uint32_t last_cpu, apic_mode, mp_state;
	uint8_t in_guest;
	uint32_t event, old, new_, reason;
	uint64_t qualification;
	/* Nests: [type - 1] = value; present[] says which types came. */
	uint64_t stats[GENL_NEST_MAX], vm_stats[GENL_NEST_MAX], exit_reasons[GENL_NEST_MAX],
		apic_access[GENL_NEST_MAX], apic_write[GENL_NEST_MAX], user_exits[GENL_NEST_MAX];
	bool stats_present[GENL_NEST_MAX], vm_stats_present[GENL_NEST_MAX],
		exit_reasons_present[GENL_NEST_MAX], apic_access_present[GENL_NEST_MAX],
		apic_write_present[GENL_NEST_MAX], user_exits_present[GENL_NEST_MAX];
	const char *bad;	/* NULL, or what was malformed in the message */
};

/* Parse a vapicvm message (nlmsghdr and all) into *o. */
void genl_parse_obj(const struct nlmsghdr *nlh, struct genl_obj *o);

/*
 * Send m (with NLM_F_ACK unless it is a dump) and read replies until the
 * ack, the error or the dump's end:
 * each vapicvm message goes into objs (up to max; *n counts all, may be
 * NULL).  Returns the status's error; st (may be NULL) gets the rest.
 * A reply that never comes (2 s) is -ETIMEDOUT.
 */
int genl_transact(struct genl *g, struct genl_msg *m, struct genl_obj *objs, int max, int *n,
		  struct genl_status *st);
/* Same, for a request already sent. */
int genl_collect(struct genl *g, struct genl_obj *objs, int max, int *n, struct genl_status *st);

/* GET_VM of one VM: 0 or -errno. */
int genl_get_vm(struct genl *g, uint64_t vm_id, struct genl_obj *o);
/* Dump of the VMs: their number (all, even past max) or -errno. */
int genl_dump_vms(struct genl *g, struct genl_obj *objs, int max);
/* Dump of a VM's vCPUs (vcpu_id < 0: all): their number or -errno. */
int genl_dump_vcpus(struct genl *g, uint64_t vm_id, int64_t vcpu_id, struct genl_obj *objs,
		    int max);
/* The next event (any VM) within timeout_ms: 1, 0 on timeout, or -errno. */
int genl_next_event(struct genl *g, struct genl_obj *ev, int timeout_ms);

/* VAPICVM_GET_VM_ID on a VM fd: the id; the test fails if the ioctl does. */
uint64_t vm_fd_id(int vm_fd);

#endif /* SELFTEST_GENL_H */
