// SPDX-License-Identifier: Apache-2.0
/*
 * Owner of passive sockets: at accept()/accept4() exit, fd -> current task's
 * file table -> struct file -> socket -> sock. Syscall tracepoints are classic
 * tracepoints (no BTF args), so everything is read with CO-RE probe reads, and
 * the cookie is read from the sock (inet_sock_set_state generated it already).
 */
#include "nettopo.bpf.h"

static __always_inline int attribute_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds, *file;
	struct socket *sock;
	struct sock *sk;
	struct flow *f;
	__u64 cookie;

	if (fd < 0)
		return 0;
	if (fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!cookie)
		return 0;
	f = bpf_map_lookup_elem(&flows, &cookie);
	if (!f || f->c.pid)
		return 0;
	if (ignore_tgid && (bpf_get_current_pid_tgid() >> 32) == ignore_tgid) {
		/* created in softirq before its owner was known: hide it now */
		if (!bpf_map_delete_elem(&flows, &cookie))
			count(CNT_FLOW_HIDDEN);
		return 0;
	}
	read_current(&f->c);
	announce(EV_ATTRIBUTED, f);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return attribute_fd(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int handle_accept(struct trace_event_raw_sys_exit *ctx)
{
	return attribute_fd(ctx->ret);
}
