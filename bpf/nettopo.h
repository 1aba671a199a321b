/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records shared between the BPF programs and user space (collector-native/,
 * collector/kernel/native-records.ts mirrors this file byte for byte).
 *
 * Plain fixed-width types only; every padding byte is spelled out so that the
 * layout is the same for clang -target bpf, gcc x86_64 and the TS decoder.
 * Multi-byte fields are host byte order (little endian on our fleet) except
 * where noted; ports are host order, addresses are network order.
 */
#ifndef __NETTOPO_H
#define __NETTOPO_H

#define MAX_FLOWS	131072	/* default entries in `flows` (LRU); the maxFlows option sets it at load */
#define MAX_LISTENERS	8192	/* entries in `listeners` */
#define MAX_OWNERS	16384	/* entries in `owners` (LRU): processes already announced */
#define RINGBUF_BYTES	(1 << 20)	/* `events` ring buffer */
#define COMM_LEN	16

/* conn.role */
enum nettopo_role {
	ROLE_UNKNOWN = 0,
	ROLE_CLIENT = 1,	/* this end connected */
	ROLE_SERVER = 2,	/* this end accepted */
	ROLE_LISTENER = 3,	/* a listening socket */
};

/* flow.flags */
enum nettopo_flow_flags {
	FLOW_F_CLOSED = 1 << 0,		/* reached TCP_CLOSE (the app may still read what is queued) */
	FLOW_F_FAILED = 1 << 1,		/* active open that never reached ESTABLISHED */
	FLOW_F_PREEXISTING = 1 << 2,	/* existed before the collector started (snapshot) */
	FLOW_F_LIVE_OPEN = 1 << 3,	/* its open (connect or accept) was seen live */
	FLOW_F_MISSED = 1 << 4,		/* first seen by a send/recv, not by its open */
	FLOW_F_ESTABLISHED = 1 << 5,	/* reached ESTABLISHED at least once */
	FLOW_F_DESTROYED = 1 << 6,	/* socket freed (app closed it, TCP done): nothing can follow */
};

/*
 * event.type. `flows` is the source of truth for every connection (closed
 * entries stay until user space has read them), so the ring buffer carries
 * only what the map cannot tell: a process seen for the first time (so that
 * user space can resolve it while it still lives), failed connects, listeners.
 * A process is announced once per (tgid, start time, cgroup): its later
 * connections emit nothing. Types 2, 4 and 6 are no longer emitted.
 */
enum nettopo_event_type {
	EV_CONNECT = 1,		/* CLOSE -> SYN_SENT of a process not announced yet */
	EV_CONNECTED = 2,	/* (retired) SYN_SENT -> ESTABLISHED: see flow.connect_us */
	EV_CONNECT_FAILED = 3,	/* SYN_SENT -> CLOSE (refused, timed out, aborted) */
	EV_ACCEPTED = 4,	/* (retired) SYN_RECV -> ESTABLISHED: no pid in softirq */
	EV_ATTRIBUTED = 5,	/* a socket got its process (accept, first send/recv), not announced yet */
	EV_CLOSE = 6,		/* (retired) -> CLOSE: the closed entry stays in `flows` until read */
	EV_LISTEN = 7,		/* -> LISTEN */
	EV_UNLISTEN = 8,	/* LISTEN -> CLOSE */
};

/* Index of the per-CPU `drops` counters. */
enum nettopo_counter {
	CNT_RINGBUF_FULL = 0,	/* event lost: ring buffer reservation failed */
	CNT_FLOW_CREATED = 1,	/* entries created in `flows` (for eviction accounting) */
	CNT_FLOW_UPDATE_FAILED = 2,	/* bpf_map_update_elem on `flows` failed */
	CNT_LISTENER_FULL = 3,	/* `listeners` update failed */
	CNT_CLOSE_UNKNOWN = 4,	/* a TCP socket closed that `flows` did not hold */
	CNT_FLOW_HIDDEN = 5,	/* entries deleted in the kernel: accepted by the ignored process */
	CNT_MAX = 8,
};

/* Identity of one socket end: 88 bytes. */
struct conn {
	__u8 saddr[16];		/* local address; IPv4 in the first 4 bytes */
	__u8 daddr[16];		/* remote address */
	__u64 cookie;		/* socket cookie (bpf_get_socket_cookie) */
	__u64 cgroup_id;	/* cgroup v2 id of the owning process, 0 unknown */
	__u32 netns;		/* inode of the socket's network namespace */
	__u32 pid;		/* owning tgid, 0 unknown */
	__u16 family;		/* AF_INET (2) or AF_INET6 (10) */
	__u16 sport;		/* local port, host order */
	__u16 dport;		/* remote port, host order */
	__u8 role;		/* enum nettopo_role */
	__u8 state;		/* TCP state when last updated (TCP_ESTABLISHED = 1 …) */
	char comm[COMM_LEN];	/* owning process's comm */
	__u64 start_ns;		/* owner's start (group leader's start_boottime), CLOCK_BOOTTIME ns; 0 unknown */
};

/* Value of `flows`, and the record of readFlows()/snapshot(): 136 bytes. */
struct flow {
	struct conn c;
	__u64 bytes_sent;	/* application bytes written (send/write), since first seen */
	__u64 bytes_received;	/* application bytes read (recv/read), since first seen */
	__u64 opened_ns;	/* CLOCK_BOOTTIME ns: open seen live, or first seen */
	__u64 closed_ns;	/* CLOCK_BOOTTIME ns of -> CLOSE, 0 while open */
	__u32 retransmits;	/* tcp_retransmit_skb count (total_retrans at close) */
	__u32 srtt_us;		/* last smoothed RTT seen, us */
	__u32 connect_us;	/* SYN_SENT -> ESTABLISHED, us; 0 unknown */
	__u32 flags;		/* enum nettopo_flow_flags */
};

/* Record of the `events` ring buffer: 152 bytes. */
struct event {
	__u64 ts_ns;		/* CLOCK_BOOTTIME ns */
	__u32 type;		/* enum nettopo_event_type */
	__u16 old_state;	/* TCP state before the change */
	__u16 new_state;	/* TCP state after the change */
	struct flow flow;	/* the flow as it stood at the event */
};

#endif /* __NETTOPO_H */
