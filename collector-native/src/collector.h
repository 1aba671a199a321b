/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nettopo collector, native side: what the files of the addon share.
 * One collector is one loaded BPF object, wrapped in a JS `Collector`.
 */
#ifndef NETTOPO_COLLECTOR_H
#define NETTOPO_COLLECTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

#define MAX_PROGS	16
#define ERR_LEN		512

struct nettopo_bpf;
struct bpf_link;
struct ring_buffer;

struct cap {
	char name[64];
	char section[96];
	bool disabled;		/* left out on request (option disablePrograms) */
	bool loaded;
	bool attached;
	char error[ERR_LEN];
};

struct batch {
	size_t len;
	unsigned char data[];
};

/* What is set on the BPF object before load. */
struct config {
	uint32_t ignore_tgid;
	uint32_t wakeup_bytes;
	uint32_t ringbuf_bytes;	/* 0: RINGBUF_BYTES */
	uint32_t max_flows;	/* 0: MAX_FLOWS */
};

struct collector {
	struct nettopo_bpf *skel;
	struct config cfg;
	struct bpf_link *links[MAX_PROGS];
	struct cap caps[MAX_PROGS];
	int ncaps;
	struct ring_buffer *rb;
	pthread_t thread;
	volatile bool running;
	bool started;
	napi_threadsafe_function tsfn;
	int poll_ms;
	unsigned char *pending;
	size_t pending_len, pending_cap;
	bool pending_oom;
	unsigned long long events_delivered;
	unsigned long long batch_oom;
	unsigned long long flows_deleted;
	unsigned long long flows_evicted;
	unsigned long long flows_present;
};

/* napi-util.c: errors thrown to JS, options read from JS */
void throw_code(napi_env env, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void throw_status(napi_env env, napi_status status, const char *call);
napi_status set_named_u64(napi_env env, napi_value obj, const char *key, unsigned long long v);
bool get_opt_u32(napi_env env, napi_value opts, const char *key, uint32_t *out);
bool get_opt_names(napi_env env, napi_value opts, const char *key, char names[][64], uint32_t *n);

/* Returns NULL from the calling function (a napi_value one) once a failed call has thrown. */
#define CHECK(env, call)                                   \
	do {                                               \
		napi_status s_ = (call);                   \
		if (s_ != napi_ok) {                       \
			throw_status((env), s_, #call);    \
			return NULL;                       \
		}                                          \
	} while (0)

/* addon.c: the JS-facing object */
struct collector *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv);
void collector_free(struct collector *c);

/* loader.c: open, load and attach; NULL once thrown */
struct collector *collector_load(napi_env env, const struct config *cfg,
				 char disabled[][64], uint32_t ndisabled);
int find_cap(struct collector *c, const char *name);
napi_value js_capabilities(napi_env env, napi_callback_info info);

/* ringbuf.c: the events ring buffer, drained on its own thread */
int ringbuf_open(struct collector *c);
void ringbuf_stop(struct collector *c);
napi_value js_start(napi_env env, napi_callback_info info);
napi_value js_stop(napi_env env, napi_callback_info info);

/* flows.c: the flow map and the counters */
napi_value js_read_flows(napi_env env, napi_callback_info info);
napi_value js_stats(napi_env env, napi_callback_info info);

/* snapshot.c: the start-up snapshot iterators */
napi_value js_snapshot(napi_env env, napi_callback_info info);

#endif
