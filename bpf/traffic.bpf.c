// SPDX-License-Identifier: Apache-2.0
/*
 * Application bytes each way from sock:sock_send_length / sock_recv_length.
 * They fire in the calling process for send*()/recv*() and plain write()/read(),
 * so the counts are exactly what the application wrote and read.
 */
#include "nettopo.bpf.h"

/* First send/recv of a socket that `flows` does not hold (pre-existing, or evicted). */
static __always_inline struct flow *adopt(struct sock *sk, __u64 cookie)
{
	struct flow f = {};
	__u8 state = sk->__sk_common.skc_state;

	if (state == TCP_CLOSE || state == TCP_LISTEN)
		return NULL;
	read_endpoints(&f.c, sk);
	read_current(&f.c);
	f.c.cookie = cookie;
	/* refined by the start-up snapshot, which knows every listener */
	f.c.role = has_listener(f.c.netns, f.c.sport) ? ROLE_SERVER : ROLE_UNKNOWN;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.flags = FLOW_F_MISSED | FLOW_F_ESTABLISHED;
	return insert_flow(cookie, &f);
}

static __always_inline int count_bytes(struct sock *sk, int ret, int flags, bool send)
{
	struct flow *f;
	__u64 cookie;

	if (ret <= 0 || (flags & MSG_PEEK))
		return 0;
	/* BTF pointer: direct loads, cheaper than probe reads on this hot path */
	if (sk->__sk_common.skc_family != AF_INET && sk->__sk_common.skc_family != AF_INET6)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (ignore_tgid && (bpf_get_current_pid_tgid() >> 32) == ignore_tgid)
		return 0;
	cookie = bpf_get_socket_cookie(sk);
	f = bpf_map_lookup_elem(&flows, &cookie);
	if (!f) {
		f = adopt(sk, cookie);
		if (!f)
			return 0;
	}
	if (!f->c.pid) {
		/* passive open: the first send/recv names the owner, unless accept did */
		read_current(&f->c);
		announce(EV_ATTRIBUTED, f);
	}
	/*
	 * Atomic: one socket is sent on and received on from different CPUs at
	 * once (and by several threads), so a plain += could lose bytes.
	 */
	if (send)
		__sync_fetch_and_add(&f->bytes_sent, ret);
	else
		__sync_fetch_and_add(&f->bytes_received, ret);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_send, struct sock *sk, int ret, int flags)
{
	return count_bytes(sk, ret, flags, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(handle_recv, struct sock *sk, int ret, int flags)
{
	return count_bytes(sk, ret, flags, false);
}
