// SPDX-License-Identifier: Apache-2.0
/*
 * Start-up snapshot of sockets that existed before the collector: iter/task_file
 * walks every task's file table in every network namespace. User space runs
 * snap_listeners first (fills `listeners`), then snap_sockets (decides the
 * direction of each connected socket from the listeners of its namespace).
 * The live programs are attached before, so entries they created meanwhile
 * are merged here, never doubled. Each record written is a struct flow.
 */
#include "nettopo.bpf.h"

static __always_inline void read_task(struct conn *c, struct task_struct *task)
{
	c->pid = task->tgid;
	c->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&c->comm, task, group_leader, comm);
	c->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline struct sock *tcp_sock_of(struct file *file)
{
	struct socket *sock = bpf_sock_from_file(file);
	struct sock *sk;

	if (!sock)
		return NULL;
	sk = sock->sk;
	if (!sk || !is_inet_tcp(sk))
		return NULL;
	return sk;
}

SEC("iter/task_file")
int snap_listeners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct listener_key key = {};
	struct flow f = {};
	struct sock *sk;

	if (!task || !file)
		return 0;
	sk = tcp_sock_of(file);
	if (!sk || sk->__sk_common.skc_state != TCP_LISTEN)
		return 0;
	read_endpoints(&f.c, sk);
	read_task(&f.c, task);
	f.c.cookie = bpf_get_socket_cookie(sk);
	f.c.role = ROLE_LISTENER;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.flags = FLOW_F_PREEXISTING;
	key.netns = f.c.netns;
	key.port = f.c.sport;
	/* a listener seen live since attach is newer: keep it */
	if (bpf_map_update_elem(&listeners, &key, &f.c, BPF_NOEXIST) == -7 /* E2BIG */)
		count(CNT_LISTENER_FULL);
	bpf_seq_write(ctx->meta->seq, &f, sizeof(f));
	return 0;
}

SEC("iter/task_file")
int snap_sockets(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct flow f = {}, *fp;
	struct sock *sk;
	__u64 cookie;
	__u8 state;

	if (!task || !file)
		return 0;
	sk = tcp_sock_of(file);
	if (!sk)
		return 0;
	state = sk->__sk_common.skc_state;
	if (state == TCP_LISTEN || state == TCP_CLOSE)
		return 0;
	cookie = bpf_get_socket_cookie(sk);
	fp = bpf_map_lookup_elem(&flows, &cookie);
	if (fp) {
		/* opened live after attach: not pre-existing, events tell its story */
		if (fp->flags & FLOW_F_LIVE_OPEN)
			return 0;
		/* adopted by a send/recv since attach: it is the same connection */
		fp->flags |= FLOW_F_PREEXISTING;
		if (fp->c.role == ROLE_UNKNOWN)
			fp->c.role = has_listener(fp->c.netns, fp->c.sport) ?
				     ROLE_SERVER : ROLE_CLIENT;
		if (!fp->c.pid)
			read_task(&fp->c, task);
		bpf_seq_write(ctx->meta->seq, fp, sizeof(*fp));
		return 0;
	}
	read_endpoints(&f.c, sk);
	read_task(&f.c, task);
	f.c.cookie = cookie;
	f.c.role = has_listener(f.c.netns, f.c.sport) ? ROLE_SERVER : ROLE_CLIENT;
	f.opened_ns = bpf_ktime_get_boot_ns();
	f.srtt_us = read_srtt_us(sk);
	f.flags = FLOW_F_PREEXISTING;
	if (state != TCP_SYN_SENT)
		f.flags |= FLOW_F_ESTABLISHED;
	fp = insert_flow(cookie, &f);
	if (fp) {
		fp->flags |= FLOW_F_PREEXISTING;
		if (fp->c.role == ROLE_UNKNOWN)
			fp->c.role = f.c.role;
		/* closed while we looked: the close program may have missed it */
		if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE &&
		    !(fp->flags & FLOW_F_CLOSED)) {
			fp->flags |= FLOW_F_CLOSED;
			fp->closed_ns = bpf_ktime_get_boot_ns();
		}
	}
	bpf_seq_write(ctx->meta->seq, fp ? fp : &f, sizeof(f));
	return 0;
}
