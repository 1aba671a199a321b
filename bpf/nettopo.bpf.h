/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel-only pieces shared by every <concern>.bpf.c: maps, configuration,
 * and small helpers. Each .bpf.c is compiled on its own and the objects are
 * linked into one (bpftool gen object), so maps and globals are __weak here:
 * the linker merges the identical definitions.
 */
#ifndef __NETTOPO_BPF_H
#define __NETTOPO_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "nettopo.h"

#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define MSG_PEEK	2

/* Configuration, set through the skeleton's rodata before load. */
const volatile __u32 ignore_tgid __weak = 0;	/* the collector itself */
const volatile __u64 wakeup_bytes __weak = 256 * 1024;	/* wake the reader past this backlog */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u64);		/* socket cookie */
	__type(value, struct flow);
} flows SEC(".maps") __weak;

struct listener_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_LISTENERS);
	__type(key, struct listener_key);
	__type(value, struct conn);
} listeners SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps") __weak;

/* Processes already announced to user space: tgid -> what identified it then. */
struct owner {
	__u64 start_ns;
	__u64 cgroup_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_OWNERS);
	__type(key, __u32);		/* tgid */
	__type(value, struct owner);
} owners SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps") __weak;

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &idx);

	if (v)
		*v += 1;	/* per-CPU: no atomics needed */
}

static __always_inline bool is_inet_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family != AF_INET && family != AF_INET6)
		return false;
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

/*
 * Addresses, ports, netns and state of sk into c. sk is a BTF pointer (tp_btf
 * arguments, iterator context): direct loads, no probe-read helper calls.
 */
static __always_inline void read_endpoints(struct conn *c, const struct sock *sk)
{
	const struct sock_common *skc = &sk->__sk_common;
	__u32 *src = (__u32 *)c->saddr, *dst = (__u32 *)c->daddr;
	int i;

	c->family = skc->skc_family;
	c->sport = skc->skc_num;
	c->dport = bpf_ntohs(skc->skc_dport);
	c->netns = skc->skc_net.net->ns.inum;
	c->state = skc->skc_state;
	if (c->family == AF_INET) {
		src[0] = skc->skc_rcv_saddr;
		dst[0] = skc->skc_daddr;
		return;
	}
	for (i = 0; i < 4; i++) {
		src[i] = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
		dst[i] = skc->skc_v6_daddr.in6_u.u6_addr32[i];
	}
}

/* The current task as the owner of c, with its start time (pid reuse safe). */
static __always_inline void read_current(struct conn *c)
{
	struct task_struct *task = bpf_get_current_task_btf();

	c->pid = bpf_get_current_pid_tgid() >> 32;
	c->cgroup_id = bpf_get_current_cgroup_id();
	c->start_ns = task->group_leader->start_boottime;
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

static __always_inline __u32 read_srtt_us(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return BPF_CORE_READ(tp, srtt_us) >> 3;
}

static __always_inline bool has_listener(__u32 netns, __u16 port)
{
	struct listener_key key = { .netns = netns, .port = port };

	return bpf_map_lookup_elem(&listeners, &key) != NULL;
}

/* Insert f under cookie unless present; returns the entry in the map. */
static __always_inline struct flow *insert_flow(__u64 cookie, struct flow *f)
{
	long err = bpf_map_update_elem(&flows, &cookie, f, BPF_NOEXIST);

	if (!err)
		count(CNT_FLOW_CREATED);
	else if (err != -17 /* EEXIST: created meanwhile on another CPU */)
		count(CNT_FLOW_UPDATE_FAILED);
	return bpf_map_lookup_elem(&flows, &cookie);
}

/*
 * One event. The reader is woken only when the backlog passes wakeup_bytes;
 * otherwise it drains the ring on its timer (~90 ns a submit instead of ~2 us
 * with a wake-up each time). Returns false when the ring was full (counted).
 */
static __always_inline bool emit(__u32 type, const struct flow *f, int oldstate, int newstate)
{
	struct event *e;
	__u64 flags;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_RINGBUF_FULL);
		return false;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->type = type;
	e->old_state = oldstate;
	e->new_state = newstate;
	__builtin_memcpy(&e->flow, f, sizeof(*f));
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	return true;
}

/*
 * Tell user space about f's owner, once per process: it resolves the process
 * (container, pod) while it still lives. A process already announced with the
 * same start time and cgroup costs one lookup and no event; it is marked only
 * once its event is in the ring, so an event lost to a full ring is retried.
 */
static __always_inline void announce(__u32 type, const struct flow *f)
{
	struct owner *o = bpf_map_lookup_elem(&owners, &f->c.pid);
	struct owner now = { .start_ns = f->c.start_ns, .cgroup_id = f->c.cgroup_id };

	if (o && o->start_ns == now.start_ns && o->cgroup_id == now.cgroup_id)
		return;
	if (emit(type, f, 0, 0))
		bpf_map_update_elem(&owners, &f->c.pid, &now, BPF_ANY);
}

#endif /* __NETTOPO_BPF_H */
