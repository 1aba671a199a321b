// SPDX-License-Identifier: Apache-2.0
/* Retransmissions and smoothed RTT from tcp:tcp_retransmit_skb. */
#include "nettopo.bpf.h"

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(handle_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie((void *)sk);
	struct flow *f = bpf_map_lookup_elem(&flows, &cookie);

	if (!f)
		return 0;
	__sync_fetch_and_add(&f->retransmits, 1);
	f->srtt_us = read_srtt_us(sk);
	return 0;
}
