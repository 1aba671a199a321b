// SPDX-License-Identifier: Apache-2.0
/* Connection lifecycle from sock:inet_sock_set_state. */
#include "nettopo.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void listener_up(const struct sock *sk, __u64 cookie)
{
	struct listener_key key = {};
	struct flow f = {};

	if (ignore_tgid && (bpf_get_current_pid_tgid() >> 32) == ignore_tgid)
		return;
	read_endpoints(&f.c, sk);
	read_current(&f.c);
	f.c.cookie = cookie;
	f.c.role = ROLE_LISTENER;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.flags = FLOW_F_LIVE_OPEN;
	key.netns = f.c.netns;
	key.port = f.c.sport;
	if (bpf_map_update_elem(&listeners, &key, &f.c, BPF_ANY))
		count(CNT_LISTENER_FULL);
	emit(EV_LISTEN, &f, TCP_CLOSE, TCP_LISTEN);
}

static __always_inline void listener_down(const struct sock *sk, __u64 cookie)
{
	struct listener_key key = {};
	struct flow f = {};

	read_endpoints(&f.c, sk);
	f.c.cookie = cookie;
	f.c.role = ROLE_LISTENER;
	f.closed_ns = bpf_ktime_get_boot_ns();
	f.flags = FLOW_F_CLOSED;
	key.netns = f.c.netns;
	key.port = f.c.sport;
	/* only listeners we know of (not the ignored process's) */
	if (!bpf_map_delete_elem(&listeners, &key))
		emit(EV_UNLISTEN, &f, TCP_LISTEN, TCP_CLOSE);
}

/* CLOSE -> SYN_SENT: runs in the connecting process. */
static __always_inline void active_open(const struct sock *sk, __u64 cookie)
{
	struct flow f = {};
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == ignore_tgid)
		return;
	read_endpoints(&f.c, sk);	/* local port not chosen yet: re-read later */
	read_current(&f.c);
	f.c.cookie = cookie;
	f.c.role = ROLE_CLIENT;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.flags = FLOW_F_LIVE_OPEN;
	if (bpf_map_update_elem(&flows, &cookie, &f, BPF_ANY)) {
		count(CNT_FLOW_UPDATE_FAILED);
		return;
	}
	count(CNT_FLOW_CREATED);
	announce(EV_CONNECT, &f);
}

/* SYN_RECV -> ESTABLISHED: softirq, the owning process is found at accept. */
static __always_inline void passive_open(const struct sock *sk, __u64 cookie)
{
	struct flow f = {};
	long err;

	read_endpoints(&f.c, sk);
	f.c.cookie = cookie;
	f.c.role = ROLE_SERVER;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.flags = FLOW_F_LIVE_OPEN | FLOW_F_ESTABLISHED;
	err = bpf_map_update_elem(&flows, &cookie, &f, BPF_NOEXIST);
	if (!err)
		count(CNT_FLOW_CREATED);
	else if (err != -17 /* EEXIST */)
		count(CNT_FLOW_UPDATE_FAILED);
}

static __always_inline void connected(const struct sock *sk, __u64 cookie)
{
	struct flow *f = bpf_map_lookup_elem(&flows, &cookie);

	if (!f)
		return;
	read_endpoints(&f->c, sk);
	f->connect_us = (bpf_ktime_get_boot_ns() - f->opened_ns) / 1000;
	f->srtt_us = read_srtt_us(sk);
	f->flags |= FLOW_F_ESTABLISHED;
}

/*
 * -> CLOSE: the connection is over, but the application may still read what
 * is queued (an active closer reaches CLOSE through TIME_WAIT as soon as the
 * peer's FIN arrives, often before its last read). The entry stays until the
 * socket is destroyed (handle_destroy) and user space has read it.
 */
static __always_inline void closed(const struct sock *sk, __u64 cookie, int oldstate)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct flow *f = bpf_map_lookup_elem(&flows, &cookie);
	__u32 total_retrans;

	if (!f) {
		if (oldstate != TCP_SYN_RECV)
			count(CNT_CLOSE_UNKNOWN);
		return;
	}
	/* by now a time-wait socket may have taken over the local port: keep what we had */
	if (!f->c.sport)
		read_endpoints(&f->c, sk);
	f->c.state = TCP_CLOSE;
	f->closed_ns = bpf_ktime_get_boot_ns();
	f->srtt_us = read_srtt_us(sk);	/* a cast sock is not a BTF tcp_sock: probe reads */
	/* the kernel's own count covers the whole life of flows opened live */
	total_retrans = BPF_CORE_READ(tp, total_retrans);
	if ((f->flags & FLOW_F_LIVE_OPEN) && total_retrans > f->retransmits)
		f->retransmits = total_retrans;
	if (oldstate == TCP_SYN_SENT)
		f->flags |= FLOW_F_FAILED;
	f->flags |= FLOW_F_CLOSED;
	if (oldstate == TCP_SYN_SENT)
		emit(EV_CONNECT_FAILED, f, oldstate, TCP_CLOSE);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 cookie;

	/* only these transitions matter: leave the others before any work */
	if (newstate != TCP_LISTEN && newstate != TCP_CLOSE && newstate != TCP_SYN_SENT &&
	    newstate != TCP_ESTABLISHED)
		return 0;
	if (sk->__sk_common.skc_family != AF_INET && sk->__sk_common.skc_family != AF_INET6)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	cookie = bpf_get_socket_cookie((void *)sk);

	if (newstate == TCP_LISTEN)
		listener_up(sk, cookie);
	else if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE)
		listener_down(sk, cookie);
	else if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
		active_open(sk, cookie);
	else if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED)
		connected(sk, cookie);
	else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED)
		passive_open(sk, cookie);
	else if (newstate == TCP_CLOSE)
		closed(sk, cookie, oldstate);
	return 0;
}

/*
 * The socket is freed: the application closed it and TCP is done with it, so
 * no read or write can follow. User space deletes the entry once it has read it.
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(handle_destroy, struct sock *sk)
{
	struct flow *f;
	__u64 cookie;

	if (sk->__sk_common.skc_family != AF_INET && sk->__sk_common.skc_family != AF_INET6)
		return 0;
	cookie = bpf_get_socket_cookie((void *)sk);
	f = bpf_map_lookup_elem(&flows, &cookie);
	if (!f)
		return 0;
	if (!(f->flags & FLOW_F_CLOSED)) {
		f->c.state = TCP_CLOSE;
		f->closed_ns = bpf_ktime_get_boot_ns();
		f->flags |= FLOW_F_CLOSED;
	}
	f->flags |= FLOW_F_DESTROYED;
	return 0;
}
