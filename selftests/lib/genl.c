// SPDX-License-Identifier: GPL-2.0
/*
 * A small generic netlink client on raw sockets (genl.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "genl.h"
#include "vapicvm_util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

#define NLA_DATA(a)	((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_LEN(a)	((a)->nla_len - NLA_HDRLEN)
#define NLA_TYPE(a)	((a)->nla_type & NLA_TYPE_MASK)

struct genl *genl_open(size_t bufsize)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	struct genl *g;
	int one = 1, fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return NULL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	g = calloc(1, sizeof(*g));
	TEST_ASSERT(g, "calloc");
	g->fd = fd;
	g->bufsize = bufsize ? bufsize : 32768;
	g->buf = malloc(g->bufsize);
	TEST_ASSERT(g->buf, "malloc");
	g->seq = 1;
	return g;
}

void genl_close(struct genl *g)
{
	if (!g)
		return;
	close(g->fd);
	free(g->buf);
	free(g);
}

void genl_msg_init(struct genl *g, struct genl_msg *m, uint8_t cmd, uint16_t flags)
{
	struct genlmsghdr *gh;

	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nlh.nlmsg_type = g->family;
	m->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	m->nlh.nlmsg_seq = ++g->seq;
	gh = NLMSG_DATA(&m->nlh);
	gh->cmd = cmd;
	gh->version = VAPICVM_GENL_VERSION;
}

void genl_put(struct genl_msg *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(m->raw + NLMSG_ALIGN(m->nlh.nlmsg_len));

	TEST_ASSERT(NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + len) <= sizeof(m->raw),
		    "netlink request too long");
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(NLA_DATA(a), data, len);
	m->nlh.nlmsg_len = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

int genl_send_raw(struct genl *g, const void *msg, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(g->fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

int genl_send(struct genl *g, struct genl_msg *m)
{
	return genl_send_raw(g, m, m->nlh.nlmsg_len);
}

int genl_recv(struct genl *g, int timeout_ms)
{
	struct pollfd p = { .fd = g->fd, .events = POLLIN };
	ssize_t r;
	int pr;

	pr = poll(&p, 1, timeout_ms);
	if (pr < 0)
		return -errno;
	if (!pr)
		return 0;
	/* MSG_TRUNC: the datagram's whole length, to tell a truncated one. */
	r = recv(g->fd, g->buf, g->bufsize, MSG_TRUNC);
	if (r < 0)
		return -errno;
	if ((size_t)r > g->bufsize)
		return -EMSGSIZE;
	return r;
}

/* The extack TLVs of an error or a DONE message. */
static void parse_ext_ack(const struct nlattr *a, int len, struct genl_status *st)
{
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		if (NLA_TYPE(a) == NLMSGERR_ATTR_MSG) {
			snprintf(st->msg, sizeof(st->msg), "%.*s", (int)NLA_LEN(a),
				 (const char *)NLA_DATA(a));
		} else if (NLA_TYPE(a) == NLMSGERR_ATTR_OFFS && NLA_LEN(a) == 4) {
			memcpy(&st->offset, NLA_DATA(a), 4);
			st->has_offset = true;
		} else if (NLA_TYPE(a) == NLMSGERR_ATTR_MISS_TYPE && NLA_LEN(a) == 4) {
			memcpy(&st->miss_type, NLA_DATA(a), 4);
			st->has_miss_type = true;
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

/* An NLMSG_ERROR or NLMSG_DONE: fill st. */
static void parse_status(const struct nlmsghdr *nlh, struct genl_status *st)
{
	const char *p = NLMSG_DATA(nlh);
	int len = nlh->nlmsg_len - NLMSG_HDRLEN, off;

	st->done = true;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = (const void *)p;

		if (len < (int)sizeof(*e)) {
			st->error = -EBADMSG;
			return;
		}
		st->error = e->error;
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	} else {
		int err = 0;

		if (len >= 4)
			memcpy(&err, p, 4);
		st->error = err;
		off = 4;
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && len > off)
		parse_ext_ack((const void *)(p + NLMSG_ALIGN(off)), len - NLMSG_ALIGN(off), st);
}

static void parse_nest(struct genl_obj *o, const struct nlattr *nest, uint64_t *vals,
		       bool *present)
{
	const struct nlattr *a = NLA_DATA(nest);
	int len = NLA_LEN(nest);

	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		unsigned int t = NLA_TYPE(a);

		if (!NLA_LEN(a)) {
			/*
			 * Alignment padding: nla_put_u64_64bit() pads with a
			 * zero-length VAPICVM_A_PAD, whose type in a nest is
			 * also the first counter's: only its length tells.
			 */
		} else if (!t || t > GENL_NEST_MAX) {
			o->bad = "a counter type out of range in a nest";
		} else if (NLA_LEN(a) != 8) {
			o->bad = "a counter that is not a u64";
		} else {
			if (present[t - 1])
				o->bad = "a counter twice in a nest";
			memcpy(&vals[t - 1], NLA_DATA(a), 8);
			present[t - 1] = true;
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	if (len)
		o->bad = "bytes left over in a nest";
}

static void parse_feature(struct genl_obj *o, const struct nlattr *nest)
{
	const struct nlattr *a = NLA_DATA(nest);
	int len = NLA_LEN(nest);

	if (o->nr_features >= GENL_MAX_FEATURES) {
		o->bad = "too many features";
		return;
	}
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		switch (NLA_TYPE(a)) {
		case VAPICVM_A_FEATURE_NAME:
			snprintf(o->features[o->nr_features].name, 32, "%.*s", (int)NLA_LEN(a),
				 (const char *)NLA_DATA(a));
			break;
		case VAPICVM_A_FEATURE_STATE:
			memcpy(&o->features[o->nr_features].state, NLA_DATA(a), 4);
			o->features[o->nr_features].has_state = true;
			break;
		case VAPICVM_A_FEATURE_NEEDS:
			memcpy(&o->features[o->nr_features].needs, NLA_DATA(a), 4);
			o->features[o->nr_features].has_needs = true;
			break;
		default:
			o->bad = "an unexpected attribute in a feature";
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	o->nr_features++;
}

static void get_u32(struct genl_obj *o, const struct nlattr *a, uint32_t *v)
{
	if (NLA_LEN(a) != 4)
		o->bad = "a u32 attribute of another length";
	else
		memcpy(v, NLA_DATA(a), 4);
}

static void get_u64(struct genl_obj *o, const struct nlattr *a, uint64_t *v)
{
	if (NLA_LEN(a) != 8)
		o->bad = "a u64 attribute of another length";
	else
		memcpy(v, NLA_DATA(a), 8);
}

void genl_parse_obj(const struct nlmsghdr *nlh, struct genl_obj *o)
{
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);
	const struct nlattr *a = (const void *)((const char *)gh + GENL_HDRLEN);
	int len = nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	memset(o, 0, sizeof(*o));
	o->nlmsg_flags = nlh->nlmsg_flags;
	if (len < 0) {
		o->bad = "a message shorter than its genl header";
		return;
	}
	o->cmd = gh->cmd;
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		unsigned int t = NLA_TYPE(a);

		if (t > VAPICVM_A_MAX) {
			o->bad = "an attribute type beyond VAPICVM_A_MAX";
			goto next;
		}
		if (t != VAPICVM_A_PAD && t != VAPICVM_A_APICV_FEATURES && o->has[t])
			o->bad = "an attribute twice";
		o->has[t] = true;
		switch (t) {
		case VAPICVM_A_VM_ID:
			get_u64(o, a, &o->vm_id);
			break;
		case VAPICVM_A_VCPU_ID:
			get_u32(o, a, &o->vcpu_id);
			break;
		case VAPICVM_A_PID:
			get_u32(o, a, &o->pid);
			break;
		case VAPICVM_A_UID:
			get_u32(o, a, &o->uid);
			break;
		case VAPICVM_A_NR_VCPUS:
			get_u32(o, a, &o->nr_vcpus);
			break;
		case VAPICVM_A_MEM_BYTES:
			get_u64(o, a, &o->mem_bytes);
			break;
		case VAPICVM_A_PINNED_BYTES:
			get_u64(o, a, &o->pinned_bytes);
			break;
		case VAPICVM_A_APICV:
			get_u32(o, a, &o->apicv);
			break;
		case VAPICVM_A_APICV_REQUESTED:
			get_u32(o, a, &o->apicv_requested);
			break;
		case VAPICVM_A_APICV_TIER:
			snprintf(o->tier, sizeof(o->tier), "%.*s", (int)NLA_LEN(a),
				 (const char *)NLA_DATA(a));
			break;
		case VAPICVM_A_APICV_FEATURES: {
			const struct nlattr *f = NLA_DATA(a);
			int flen = NLA_LEN(a);

			while (flen >= (int)NLA_HDRLEN && f->nla_len >= NLA_HDRLEN &&
			       f->nla_len <= flen) {
				if (NLA_TYPE(f) == VAPICVM_A_FEATURE)
					parse_feature(o, f);
				else
					o->bad = "a non-FEATURE in APICV_FEATURES";
				flen -= NLA_ALIGN(f->nla_len);
				f = (const struct nlattr *)((const char *)f + NLA_ALIGN(f->nla_len));
			}
			break;
		}
		case VAPICVM_A_LAST_CPU:
			get_u32(o, a, &o->last_cpu);
			break;
		case VAPICVM_A_APIC_MODE:
			get_u32(o, a, &o->apic_mode);
			break;
		case VAPICVM_A_MP_STATE:
			get_u32(o, a, &o->mp_state);
			break;
		case VAPICVM_A_IN_GUEST:
			if (NLA_LEN(a) != 1)
				o->bad = "IN_GUEST not a u8";
			else
				o->in_guest = *(uint8_t *)NLA_DATA(a);
			break;
		case VAPICVM_A_STATS:
			parse_nest(o, a, o->stats, o->stats_present);
			break;
		case VAPICVM_A_VM_STATS:
			parse_nest(o, a, o->vm_stats, o->vm_stats_present);
			break;
		case VAPICVM_A_EXIT_REASONS:
			parse_nest(o, a, o->exit_reasons, o->exit_reasons_present);
			break;
		case VAPICVM_A_APIC_ACCESS:
			parse_nest(o, a, o->apic_access, o->apic_access_present);
			break;
		case VAPICVM_A_APIC_WRITE:
			parse_nest(o, a, o->apic_write, o->apic_write_present);
			break;
		case VAPICVM_A_USER_EXITS:
			parse_nest(o, a, o->user_exits, o->user_exits_present);
			break;
		case VAPICVM_A_EVENT:
			get_u32(o, a, &o->event);
			break;
		case VAPICVM_A_OLD:
			get_u32(o, a, &o->old);
			break;
		case VAPICVM_A_NEW:
			get_u32(o, a, &o->new_);
			break;
		case VAPICVM_A_REASON:
			get_u32(o, a, &o->reason);
			break;
		case VAPICVM_A_QUALIFICATION:
			get_u64(o, a, &o->qualification);
			break;
		default:
			break;
		}
next:
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	if (len > 0)
		o->bad = "bytes left over after the attributes";
}

int genl_collect(struct genl *g, struct genl_obj *objs, int max, int *n, struct genl_status *st)
{
	struct genl_status local;
	int count = 0;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	while (!st->done) {
		int len = genl_recv(g, 2000);
		struct nlmsghdr *nlh;

		if (len < 0) {
			st->error = len;
			break;
		}
		if (!len) {
			st->error = -ETIMEDOUT;
			break;
		}
		for (nlh = (void *)g->buf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			/* What an earlier request left (or an event) is not the answer. */
			if (nlh->nlmsg_seq != g->seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
				parse_status(nlh, st);
				break;
			}
			if (nlh->nlmsg_type == g->family && count < max)
				genl_parse_obj(nlh, &objs[count]);
			if (nlh->nlmsg_type == g->family)
				count++;
		}
	}
	if (n)
		*n = count;
	return st->error;
}

int genl_transact(struct genl *g, struct genl_msg *m, struct genl_obj *objs, int max, int *n,
		  struct genl_status *st)
{
	int r;

	/* A dump ends with its DONE; anything else is acked. */
	if (!(m->nlh.nlmsg_flags & NLM_F_DUMP))
		m->nlh.nlmsg_flags |= NLM_F_ACK;
	r = genl_send(g, m);
	if (r) {
		if (st) {
			memset(st, 0, sizeof(*st));
			st->error = r;
		}
		return r;
	}
	return genl_collect(g, objs, max, n, st);
}

/* nlctrl's GETFAMILY reply: the id and the events group. */
static int parse_family(struct genl *g, const struct nlmsghdr *nlh)
{
	const struct nlattr *a = (const void *)((const char *)NLMSG_DATA(nlh) + GENL_HDRLEN);
	int len = nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		if (NLA_TYPE(a) == CTRL_ATTR_FAMILY_ID) {
			memcpy(&g->family, NLA_DATA(a), 2);
		} else if (NLA_TYPE(a) == CTRL_ATTR_MCAST_GROUPS) {
			const struct nlattr *grp = NLA_DATA(a);
			int glen = NLA_LEN(a);

			while (glen >= (int)NLA_HDRLEN && grp->nla_len >= NLA_HDRLEN &&
			       grp->nla_len <= glen) {
				const struct nlattr *f = NLA_DATA(grp);
				int flen = NLA_LEN(grp);
				uint32_t id = 0;
				bool events = false;

				while (flen >= (int)NLA_HDRLEN && f->nla_len >= NLA_HDRLEN &&
				       f->nla_len <= flen) {
					if (NLA_TYPE(f) == CTRL_ATTR_MCAST_GRP_ID)
						memcpy(&id, NLA_DATA(f), 4);
					if (NLA_TYPE(f) == CTRL_ATTR_MCAST_GRP_NAME &&
					    !strcmp(NLA_DATA(f), VAPICVM_GENL_MCGRP_EVENTS))
						events = true;
					flen -= NLA_ALIGN(f->nla_len);
					f = (const void *)((const char *)f + NLA_ALIGN(f->nla_len));
				}
				if (events)
					g->events_group = id;
				glen -= NLA_ALIGN(grp->nla_len);
				grp = (const void *)((const char *)grp + NLA_ALIGN(grp->nla_len));
			}
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return g->family ? 0 : -EBADMSG;
}

int genl_resolve(struct genl *g, const char *name)
{
	struct genl_status st = { 0 };
	struct genl_msg m;
	int r;

	g->family = GENL_ID_CTRL;
	genl_msg_init(g, &m, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	((struct genlmsghdr *)NLMSG_DATA(&m.nlh))->version = 1;
	genl_put(&m, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	g->family = 0;
	g->events_group = 0;
	r = genl_send(g, &m);
	if (r)
		return r;
	while (!st.done) {
		int len = genl_recv(g, 2000);
		struct nlmsghdr *nlh;

		if (len <= 0)
			return len ? len : -ETIMEDOUT;
		for (nlh = (void *)g->buf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
				parse_status(nlh, &st);
				break;
			}
			if (nlh->nlmsg_type == GENL_ID_CTRL)
				parse_family(g, nlh);
		}
	}
	if (st.error) {
		g->family = 0;
		return st.error;
	}
	return g->family ? 0 : -EBADMSG;
}

int genl_join_events(struct genl *g)
{
	if (!g->events_group)
		return -ENOENT;
	if (setsockopt(g->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g->events_group,
		       sizeof(g->events_group)) < 0)
		return -errno;
	return 0;
}

int genl_get_vm(struct genl *g, uint64_t vm_id, struct genl_obj *o)
{
	struct genl_msg m;
	int n = 0, r;

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, vm_id);
	r = genl_transact(g, &m, o, 1, &n, NULL);
	if (r)
		return r;
	return n == 1 ? 0 : -EBADMSG;
}

int genl_dump_vms(struct genl *g, struct genl_obj *objs, int max)
{
	struct genl_msg m;
	int n = 0, r;

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, NLM_F_DUMP);
	r = genl_transact(g, &m, objs, max, &n, NULL);
	return r ? r : n;
}

int genl_dump_vcpus(struct genl *g, uint64_t vm_id, int64_t vcpu_id, struct genl_obj *objs,
		    int max)
{
	struct genl_msg m;
	int n = 0, r;

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VCPU, NLM_F_DUMP);
	genl_put_u64(&m, VAPICVM_A_VM_ID, vm_id);
	if (vcpu_id >= 0)
		genl_put_u32(&m, VAPICVM_A_VCPU_ID, vcpu_id);
	r = genl_transact(g, &m, objs, max, &n, NULL);
	return r ? r : n;
}

int genl_next_event(struct genl *g, struct genl_obj *ev, int timeout_ms)
{
	for (;;) {
		while (g->pend_len) {
			struct nlmsghdr *nlh = (void *)(g->buf + g->pend_off);
			int len = g->pend_len;

			if (!NLMSG_OK(nlh, len)) {
				g->pend_len = 0;
				break;
			}
			g->pend_off += NLMSG_ALIGN(nlh->nlmsg_len);
			g->pend_len = len > (int)NLMSG_ALIGN(nlh->nlmsg_len) ?
				      len - NLMSG_ALIGN(nlh->nlmsg_len) : 0;
			if (nlh->nlmsg_type == g->family) {
				genl_parse_obj(nlh, ev);
				if (ev->cmd == VAPICVM_CMD_EVENT)
					return 1;
			}
		}
		int len = genl_recv(g, timeout_ms);

		if (len <= 0)
			return len;
		g->pend_off = 0;
		g->pend_len = len;
	}
}

uint64_t vm_fd_id(int vm_fd)
{
	uint64_t id = 0;

	sys_ioctl(vm_fd, VAPICVM_GET_VM_ID, &id);
	return id;
}
