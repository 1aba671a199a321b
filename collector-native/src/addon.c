// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: loads the BPF skeleton, attaches every
 * program on its own (a failure is a reported degradation), drains the
 * `events` ring buffer on its own thread and hands batches to JavaScript
 * through a thread-safe function, reads `flows` in batches, runs the start-up
 * snapshot iterators and sums the drop counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nettopo.h"
#include "nettopo.skel.h"

#define MAX_PROGS	16
#define ERR_LEN		512
#define LOG_LEN		4096

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

/* ---------- libbpf log capture (only while loading, on the JS thread) ---------- */

static char load_log[LOG_LEN];
static size_t load_log_len;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, args);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (load_log_len + n >= LOG_LEN) {	/* keep the tail: the verifier's verdict is at the end */
		size_t drop = load_log_len + n - LOG_LEN + 1;

		if (drop > load_log_len)
			drop = load_log_len;
		memmove(load_log, load_log + drop, load_log_len - drop);
		load_log_len -= drop;
	}
	memcpy(load_log + load_log_len, line, n);
	load_log_len += n;
	load_log[load_log_len] = '\0';
	return 0;
}

static void log_reset(void)
{
	load_log_len = 0;
	load_log[0] = '\0';
}

/* Last lines of the libbpf log, for an error message. */
static const char *log_tail(size_t max)
{
	return load_log_len > max ? load_log + load_log_len - max : load_log;
}

/* ---------- napi helpers ---------- */

static void throw_code(napi_env env, const char *code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	napi_throw_error(env, code, msg);
}

static void throw_status(napi_env env, napi_status status, const char *call)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;

	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return;
	napi_get_last_error_info(env, &info);
	throw_code(env, "ENAPI", "%s failed: %s (status %d)", call,
		   info && info->error_message ? info->error_message : "unknown", (int)status);
}

#define CHECK(env, call)                                   \
	do {                                               \
		napi_status s_ = (call);                   \
		if (s_ != napi_ok) {                       \
			throw_status((env), s_, #call);    \
			return NULL;                       \
		}                                          \
	} while (0)

static napi_status set_named_u64(napi_env env, napi_value obj, const char *key, unsigned long long v)
{
	napi_value n;
	napi_status s = napi_create_double(env, (double)v, &n);

	if (s != napi_ok)
		return s;
	return napi_set_named_property(env, obj, key, n);
}

static bool get_opt_u32(napi_env env, napi_value opts, const char *key, uint32_t *out)
{
	bool has = false;
	napi_value v;
	napi_valuetype t;

	if (napi_has_named_property(env, opts, key, &has) != napi_ok || !has)
		return true;
	if (napi_get_named_property(env, opts, key, &v) != napi_ok ||
	    napi_typeof(env, v, &t) != napi_ok)
		return false;
	if (t == napi_undefined)
		return true;
	if (t != napi_number) {
		throw_code(env, "EINVAL", "option %s must be a number", key);
		return false;
	}
	return napi_get_value_uint32(env, v, out) == napi_ok;
}

/* ---------- loading ---------- */

static int preflight(napi_env env)
{
	int r;

	if (geteuid() != 0) {
		throw_code(env, "ENOTROOT",
			   "nettopo collector: not root (euid %u); loading BPF tracing programs needs root",
			   (unsigned)geteuid());
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		throw_code(env, "ENOBTF",
			   "nettopo collector: no kernel BTF: /sys/kernel/btf/vmlinux: %s (needs CONFIG_DEBUG_INFO_BTF=y)",
			   strerror(errno));
		return -1;
	}
	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	if (r <= 0) {
		throw_code(env, "ENOBPF",
			   "nettopo collector: the bpf() syscall does not load tracepoint programs: %s",
			   r < 0 ? strerror(-r) : "program type not supported");
		return -1;
	}
	/* classic tracepoints (syscalls:*) need tracefs for their ids */
	if (access("/sys/kernel/tracing/events", F_OK) != 0 &&
	    access("/sys/kernel/debug/tracing/events", F_OK) != 0)
		mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);	/* failure: accept degrades */
	return 0;
}

static struct nettopo_bpf *open_skel(const struct config *cfg)
{
	struct nettopo_bpf *skel = nettopo_bpf__open();

	if (!skel)
		return NULL;
	skel->rodata->ignore_tgid = cfg->ignore_tgid;
	skel->rodata->wakeup_bytes = cfg->wakeup_bytes;
	if ((cfg->ringbuf_bytes && bpf_map__set_max_entries(skel->maps.events, cfg->ringbuf_bytes)) ||
	    (cfg->max_flows && bpf_map__set_max_entries(skel->maps.flows, cfg->max_flows))) {
		nettopo_bpf__destroy(skel);
		errno = EINVAL;
		return NULL;
	}
	return skel;
}

/* Programs are loaded unless disabled, and (after a failed load) unless they failed alone. */
static void set_autoload(struct collector *c, bool only_loaded)
{
	struct bpf_program *prog;
	int i = 0;

	bpf_object__for_each_program(prog, c->skel->obj) {
		bpf_program__set_autoload(prog, !c->caps[i].disabled && (!only_loaded || c->caps[i].loaded));
		i++;
	}
}

/*
 * Load every program that loads. Fast path: all at once. If that fails, each
 * program is tried alone to find the culprits, which are then left out.
 */
static int load_optional(struct collector *c)
{
	struct bpf_program *prog;
	int i, err;

	log_reset();
	set_autoload(c, false);
	err = nettopo_bpf__load(c->skel);
	if (!err) {
		for (i = 0; i < c->ncaps; i++)
			c->caps[i].loaded = !c->caps[i].disabled;
		return 0;
	}
	for (i = 0; i < c->ncaps; i++) {
		struct nettopo_bpf *probe;
		int j = 0;

		if (c->caps[i].disabled)
			continue;
		probe = open_skel(&c->cfg);
		if (!probe)
			return -errno;
		bpf_object__for_each_program(prog, probe->obj)
			bpf_program__set_autoload(prog, j++ == i);
		log_reset();
		err = nettopo_bpf__load(probe);
		if (err)
			snprintf(c->caps[i].error, ERR_LEN, "load: %s: %s", strerror(-err), log_tail(1500));
		else
			c->caps[i].loaded = true;
		nettopo_bpf__destroy(probe);
	}
	nettopo_bpf__destroy(c->skel);	/* a failed load cannot be retried on the same object */
	c->skel = open_skel(&c->cfg);
	if (!c->skel)
		return -errno;
	set_autoload(c, true);
	log_reset();
	return nettopo_bpf__load(c->skel);
}

static void attach_each(struct collector *c)
{
	struct bpf_program *prog;
	int i = 0;

	bpf_object__for_each_program(prog, c->skel->obj) {
		struct cap *cap = &c->caps[i];
		struct bpf_link *link;

		if (cap->loaded) {
			if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
			    bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER)
				link = bpf_program__attach_iter(prog, NULL);
			else
				link = bpf_program__attach(prog);
			if (link) {
				c->links[i] = link;
				cap->attached = true;
			} else {
				snprintf(cap->error, ERR_LEN, "attach: %s", strerror(errno));
			}
		}
		i++;
	}
}

static void collector_free(struct collector *c);

static int on_event(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;

	if (c->pending_len + size > c->pending_cap) {
		size_t cap = c->pending_cap ? c->pending_cap * 2 : 64 * 1024;
		unsigned char *p;

		while (cap < c->pending_len + size)
			cap *= 2;
		p = realloc(c->pending, cap);
		if (!p) {
			c->batch_oom++;
			return 0;
		}
		c->pending = p;
		c->pending_cap = cap;
	}
	memcpy(c->pending + c->pending_len, data, size);
	c->pending_len += size;
	return 0;
}

/* Runs on the JS thread; env is NULL at teardown: then only free. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	struct batch *b = data;
	napi_value buf, undef;

	(void)context;
	if (env && js_cb && napi_create_buffer_copy(env, b->len, b->data, NULL, &buf) == napi_ok &&
	    napi_get_undefined(env, &undef) == napi_ok)
		napi_call_function(env, undef, js_cb, 1, &buf, NULL);	/* a throw surfaces as uncaught */
	free(b);
}

static void flush(struct collector *c)
{
	struct batch *b;

	if (!c->pending_len)
		return;
	b = malloc(sizeof(*b) + c->pending_len);
	if (!b) {
		c->batch_oom++;
	} else {
		b->len = c->pending_len;
		memcpy(b->data, c->pending, c->pending_len);
		if (napi_call_threadsafe_function(c->tsfn, b, napi_tsfn_blocking) != napi_ok)
			free(b);
		else
			c->events_delivered += c->pending_len / sizeof(struct event);
	}
	c->pending_len = 0;
}

static void *poll_thread(void *arg)
{
	struct collector *c = arg;

	while (c->running) {
		/* returns early only on a forced wake-up; otherwise the timer drains */
		ring_buffer__poll(c->rb, c->poll_ms);
		ring_buffer__consume(c->rb);
		flush(c);
	}
	ring_buffer__consume(c->rb);
	flush(c);
	return NULL;
}

static void stop(struct collector *c)
{
	if (!c->started)
		return;
	c->running = false;
	pthread_join(c->thread, NULL);
	napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
	c->started = false;
}

static void collector_free(struct collector *c)
{
	int i;

	if (!c)
		return;
	stop(c);
	ring_buffer__free(c->rb);
	c->rb = NULL;
	for (i = 0; i < MAX_PROGS; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
	nettopo_bpf__destroy(c->skel);
	c->skel = NULL;
	free(c->pending);
	c->pending = NULL;
}

static void finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	collector_free(data);
	free(data);
}

static struct collector *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
	napi_value self;
	struct collector *c = NULL;

	if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok ||
	    napi_unwrap(env, self, (void **)&c) != napi_ok || !c) {
		throw_code(env, "EINVAL", "not a nettopo collector");
		return NULL;
	}
	if (!c->skel) {
		throw_code(env, "ECLOSED", "nettopo collector is closed");
		return NULL;
	}
	return c;
}

/* ---------- JS methods ---------- */

static int find_cap(struct collector *c, const char *name)
{
	int i;

	for (i = 0; i < c->ncaps; i++)
		if (!strcmp(c->caps[i].name, name))
			return i;
	return -1;
}

/* An optional array of program names (at most MAX_PROGS, each shorter than 64 bytes). */
static bool get_opt_names(napi_env env, napi_value opts, const char *key, char names[][64], uint32_t *n)
{
	bool has = false, is_array = false;
	napi_value v, item;
	napi_valuetype t;
	uint32_t len, i;
	size_t copied;

	*n = 0;
	if (napi_has_named_property(env, opts, key, &has) != napi_ok || !has)
		return true;
	if (napi_get_named_property(env, opts, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
		return false;
	if (t == napi_undefined)
		return true;
	if (napi_is_array(env, v, &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, v, &len) != napi_ok || len > MAX_PROGS) {
		throw_code(env, "EINVAL", "option %s must be an array of at most %d program names", key, MAX_PROGS);
		return false;
	}
	for (i = 0; i < len; i++) {
		if (napi_get_element(env, v, i, &item) != napi_ok ||
		    napi_get_value_string_utf8(env, item, names[i], 64, &copied) != napi_ok) {
			throw_code(env, "EINVAL", "option %s: element %u is not a string", key, i);
			return false;
		}
	}
	*n = len;
	return true;
}

static napi_value js_construct(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], self;
	napi_valuetype t = napi_undefined;
	struct config cfg = { .ignore_tgid = getpid(), .wakeup_bytes = 256 * 1024 };
	char disabled[MAX_PROGS][64];
	uint32_t poll_ms = 100, ndisabled = 0, i;
	struct bpf_program *prog;
	struct collector *c;
	int err;

	CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	if (argc >= 1)
		CHECK(env, napi_typeof(env, argv[0], &t));
	if (t == napi_object) {
		if (!get_opt_u32(env, argv[0], "ignorePid", &cfg.ignore_tgid) ||
		    !get_opt_u32(env, argv[0], "wakeupBytes", &cfg.wakeup_bytes) ||
		    !get_opt_u32(env, argv[0], "ringbufBytes", &cfg.ringbuf_bytes) ||
		    !get_opt_u32(env, argv[0], "maxFlows", &cfg.max_flows) ||
		    !get_opt_u32(env, argv[0], "pollIntervalMs", &poll_ms) ||
		    !get_opt_names(env, argv[0], "disablePrograms", disabled, &ndisabled))
			return NULL;
	}
	if (cfg.ringbuf_bytes &&
	    (cfg.ringbuf_bytes < 4096 || (cfg.ringbuf_bytes & (cfg.ringbuf_bytes - 1)))) {
		throw_code(env, "EINVAL", "option ringbufBytes must be a power of 2, at least 4096");
		return NULL;
	}
	if (cfg.max_flows && (cfg.max_flows < 1024 || cfg.max_flows > (1U << 24))) {
		throw_code(env, "EINVAL", "option maxFlows must be between 1024 and 16777216");
		return NULL;
	}
	if (preflight(env))
		return NULL;
	libbpf_set_print(print_fn);

	c = calloc(1, sizeof(*c));
	if (!c) {
		throw_code(env, "ENOMEM", "out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->poll_ms = poll_ms ? (int)poll_ms : 100;
	log_reset();
	c->skel = open_skel(&c->cfg);
	if (!c->skel) {
		throw_code(env, "ELOAD", "nettopo collector: opening the BPF object failed: %s: %s",
			   strerror(errno), log_tail(1000));
		free(c);
		return NULL;
	}
	bpf_object__for_each_program(prog, c->skel->obj) {
		if (c->ncaps >= MAX_PROGS)
			break;
		snprintf(c->caps[c->ncaps].name, sizeof(c->caps[0].name), "%s", bpf_program__name(prog));
		snprintf(c->caps[c->ncaps].section, sizeof(c->caps[0].section), "%s",
			 bpf_program__section_name(prog));
		c->ncaps++;
	}
	for (i = 0; i < ndisabled; i++) {
		int idx = find_cap(c, disabled[i]);

		if (idx < 0) {
			throw_code(env, "EINVAL", "option disablePrograms: no program named %s", disabled[i]);
			collector_free(c);
			free(c);
			return NULL;
		}
		c->caps[idx].disabled = true;
		snprintf(c->caps[idx].error, ERR_LEN, "disabled (option disablePrograms)");
	}
	err = load_optional(c);
	if (err) {
		throw_code(env, "ELOAD", "nettopo collector: loading the BPF object failed: %s: %s",
			   strerror(-err), log_tail(1500));
		collector_free(c);
		free(c);
		return NULL;
	}
	attach_each(c);
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_event, c, NULL);
	if (!c->rb) {
		throw_code(env, "ELOAD", "nettopo collector: ring buffer: %s", strerror(errno));
		collector_free(c);
		free(c);
		return NULL;
	}
	if (napi_wrap(env, self, c, finalize, NULL, NULL) != napi_ok) {
		collector_free(c);
		free(c);
		throw_code(env, "ENAPI", "napi_wrap failed");
		return NULL;
	}
	return self;
}

static napi_value js_capabilities(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct collector *c = unwrap(env, info, &argc, NULL);
	napi_value arr, obj, v;
	int i;

	if (!c)
		return NULL;
	CHECK(env, napi_create_array_with_length(env, c->ncaps, &arr));
	for (i = 0; i < c->ncaps; i++) {
		CHECK(env, napi_create_object(env, &obj));
		CHECK(env, napi_create_string_utf8(env, c->caps[i].name, NAPI_AUTO_LENGTH, &v));
		CHECK(env, napi_set_named_property(env, obj, "name", v));
		CHECK(env, napi_create_string_utf8(env, c->caps[i].section, NAPI_AUTO_LENGTH, &v));
		CHECK(env, napi_set_named_property(env, obj, "section", v));
		CHECK(env, napi_get_boolean(env, c->caps[i].attached, &v));
		CHECK(env, napi_set_named_property(env, obj, "attached", v));
		CHECK(env, napi_get_boolean(env, c->caps[i].disabled, &v));
		CHECK(env, napi_set_named_property(env, obj, "disabled", v));
		if (!c->caps[i].attached) {
			CHECK(env, napi_create_string_utf8(env, c->caps[i].error, NAPI_AUTO_LENGTH, &v));
			CHECK(env, napi_set_named_property(env, obj, "error", v));
		}
		CHECK(env, napi_set_element(env, arr, i, obj));
	}
	return arr;
}

static napi_value js_start(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], name;
	napi_valuetype t = napi_undefined;
	struct collector *c = unwrap(env, info, &argc, argv);

	if (!c)
		return NULL;
	if (argc >= 1)
		CHECK(env, napi_typeof(env, argv[0], &t));
	if (t != napi_function) {
		throw_code(env, "EINVAL", "start(onEvents): onEvents must be a function");
		return NULL;
	}
	if (c->started) {
		throw_code(env, "EBUSY", "nettopo collector already started");
		return NULL;
	}
	CHECK(env, napi_create_string_utf8(env, "nettopo-events", NAPI_AUTO_LENGTH, &name));
	CHECK(env, napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, c,
						  call_js, &c->tsfn));
	c->running = true;
	if (pthread_create(&c->thread, NULL, poll_thread, c)) {
		c->running = false;
		napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
		throw_code(env, "ETHREAD", "cannot start the ring buffer thread");
		return NULL;
	}
	c->started = true;
	return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct collector *c = unwrap(env, info, &argc, NULL);

	if (c)
		stop(c);
	return NULL;
}

/* Read an iterator to its end, appending to *buf. */
static int read_iter(struct bpf_link *link, unsigned char **buf, size_t *len, size_t *cap)
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	ssize_t n;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (*cap - *len < 64 * 1024) {
			size_t ncap = *cap ? *cap * 2 : 256 * 1024;
			unsigned char *p = realloc(*buf, ncap);

			if (!p) {
				close(fd);
				return -ENOMEM;
			}
			*buf = p;
			*cap = ncap;
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		*len += n;
	}
	close(fd);
	return 0;
}

static int cmp_cookie(const void *a, const void *b)
{
	__u64 x = ((const struct flow *)a)->c.cookie, y = ((const struct flow *)b)->c.cookie;

	return x < y ? -1 : x > y;
}

static napi_value js_snapshot(napi_env env, napi_callback_info info)
{
	size_t argc = 0, len = 0, cap = 0, n, i, out = 0;
	struct collector *c = unwrap(env, info, &argc, NULL);
	const char *names[] = { "snap_listeners", "snap_sockets" };
	unsigned char *buf = NULL;
	struct flow *f;
	napi_value result;
	int k, idx, err;

	if (!c)
		return NULL;
	for (k = 0; k < 2; k++) {
		idx = find_cap(c, names[k]);
		if (idx < 0 || !c->links[idx]) {
			free(buf);
			throw_code(env, "ENOSNAPSHOT", "nettopo collector: snapshot program %s is not attached: %s",
				   names[k], idx < 0 ? "absent" : c->caps[idx].error);
			return NULL;
		}
		err = read_iter(c->links[idx], &buf, &len, &cap);
		if (err) {
			free(buf);
			throw_code(env, "ESNAPSHOT", "nettopo collector: reading %s: %s", names[k], strerror(-err));
			return NULL;
		}
	}
	/* a socket shared by several processes (fork, prefork servers) is reported once */
	n = len / sizeof(struct flow);
	f = (struct flow *)buf;
	if (n)
		qsort(f, n, sizeof(*f), cmp_cookie);
	for (i = 0; i < n; i++)
		if (!out || f[out - 1].c.cookie != f[i].c.cookie)
			f[out++] = f[i];
	if (napi_create_buffer_copy(env, out * sizeof(*f), buf ? buf : (void *)"", NULL, &result) != napi_ok) {
		free(buf);
		throw_code(env, "ENAPI", "napi_create_buffer_copy failed");
		return NULL;
	}
	free(buf);
	return result;
}

static unsigned long long sum_counter(struct collector *c, __u32 idx)
{
	int ncpus = libbpf_num_possible_cpus(), i;
	unsigned long long sum = 0;
	__u64 *vals;

	if (ncpus <= 0)
		return 0;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.drops), &idx, vals))
		for (i = 0; i < ncpus; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

/* Whether the program of that name is attached. */
static bool prog_attached(const struct collector *c, const char *name)
{
	for (int i = 0; i < c->ncaps; i++)
		if (!strcmp(c->caps[i].name, name))
			return c->caps[i].attached;
	return false;
}

/*
 * Large, short-lived arrays (a read of the whole flow map: ~20 MiB at 131,072 entries) come from
 * mmap, not malloc: unmapped when done, they leave nothing resident behind, where malloc'd ones
 * would stay in the main arena (glibc raises its mmap threshold after the first such free).
 */
static void *map_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void map_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

/* Finalizer of a Buffer over a mapping: the mapping's size is the hint. */
static void unmap_buffer(napi_env env, void *data, void *hint)
{
	int64_t ignored;

	munmap(data, (size_t)(uintptr_t)hint);
	napi_adjust_external_memory(env, -(int64_t)(uintptr_t)hint, &ignored);
}

/*
 * Every flow entry, in one Buffer of struct flow; finished entries (destroyed,
 * or closed where destruction is not traced) are deleted once read (their final
 * counters are in this result). Also the eviction estimate: an LRU map evicts
 * silently, so evicted = created - deleted - hidden - present.
 */
static napi_value js_read_flows(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct collector *c = unwrap(env, info, &argc, NULL);
	unsigned long long created, gone;
	__u64 *keys = NULL, in_batch = 0, out_batch = 0;
	struct flow *vals = NULL;
	size_t slots, keys_bytes, vals_bytes, total = 0, nclosed = 0, i;
	napi_value result;
	bool first = true;
	__u32 done_flag;
	int64_t ignored;
	int fd, err;

	if (!c)
		return NULL;
	/* the batch walk may see an entry twice when the map changes under it: some slack */
	slots = bpf_map__max_entries(c->skel->maps.flows) + 4096;
	keys_bytes = slots * sizeof(*keys);
	vals_bytes = slots * sizeof(*vals);
	fd = bpf_map__fd(c->skel->maps.flows);
	created = sum_counter(c, CNT_FLOW_CREATED);
	keys = map_alloc(keys_bytes);
	vals = map_alloc(vals_bytes);
	if (!keys || !vals) {
		throw_code(env, "ENOMEM", "out of memory");
		goto fail;
	}
	while (total < slots) {
		__u32 count = slots - total;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys + total,
					   vals + total, &count, NULL);
		total += count;
		if (err) {
			if (errno == ENOENT)
				break;
			throw_code(env, "EMAP", "reading flows: %s", strerror(errno));
			goto fail;
		}
		in_batch = out_batch;
		first = false;
	}
	/*
	 * An entry is finished once its socket is destroyed; where that program is
	 * not attached, once it reached TCP_CLOSE (bytes read after that are lost).
	 * Their keys are collected at the front of `keys` (already read) and deleted.
	 */
	done_flag = prog_attached(c, "handle_destroy") ? FLOW_F_DESTROYED : FLOW_F_CLOSED;
	for (i = 0; i < total; i++)
		if (vals[i].flags & done_flag)
			keys[nclosed++] = keys[i];
	for (i = 0; i < nclosed; i++)
		if (!bpf_map_delete_elem(fd, &keys[i]))
			c->flows_deleted++;
	c->flows_present = total - nclosed;
	gone = c->flows_deleted + sum_counter(c, CNT_FLOW_HIDDEN) + total;
	if (created > gone && created - gone > c->flows_evicted)
		c->flows_evicted = created - gone;
	map_free(keys, keys_bytes);
	keys = NULL;
	/*
	 * Once per read (every report interval): give the free pages of malloc's arenas back to the
	 * kernel. Node's many short-lived Buffers (encoding, Kafka batches) fragment the heap, and glibc
	 * only returns its top on its own: with 100,000 flows that left ~100 MiB resident for nothing.
	 */
	malloc_trim(0);
	if (total == 0) {
		map_free(vals, vals_bytes);
		CHECK(env, napi_create_buffer(env, 0, NULL, &result));
		return result;
	}
	/* the values are handed over as they are: no copy; unmapped when the Buffer is collected */
	if (napi_create_external_buffer(env, total * sizeof(*vals), vals, unmap_buffer,
					(void *)(uintptr_t)vals_bytes, &result) != napi_ok) {
		throw_code(env, "ENAPI", "napi_create_external_buffer failed");
		goto fail;
	}
	napi_adjust_external_memory(env, (int64_t)vals_bytes, &ignored);
	return result;
fail:
	map_free(keys, keys_bytes);
	map_free(vals, vals_bytes);
	return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct collector *c = unwrap(env, info, &argc, NULL);
	napi_value obj;

	if (!c)
		return NULL;
	CHECK(env, napi_create_object(env, &obj));
	CHECK(env, set_named_u64(env, obj, "ringbufFull", sum_counter(c, CNT_RINGBUF_FULL)));
	CHECK(env, set_named_u64(env, obj, "flowsCreated", sum_counter(c, CNT_FLOW_CREATED)));
	CHECK(env, set_named_u64(env, obj, "flowUpdateFailed", sum_counter(c, CNT_FLOW_UPDATE_FAILED)));
	CHECK(env, set_named_u64(env, obj, "listenersFull", sum_counter(c, CNT_LISTENER_FULL)));
	CHECK(env, set_named_u64(env, obj, "closeUnknown", sum_counter(c, CNT_CLOSE_UNKNOWN)));
	CHECK(env, set_named_u64(env, obj, "flowsDeleted", c->flows_deleted));
	CHECK(env, set_named_u64(env, obj, "flowsPresent", c->flows_present));
	CHECK(env, set_named_u64(env, obj, "flowsEvicted", c->flows_evicted));
	CHECK(env, set_named_u64(env, obj, "eventsDelivered", c->events_delivered));
	CHECK(env, set_named_u64(env, obj, "batchOutOfMemory", c->batch_oom));
	CHECK(env, set_named_u64(env, obj, "flowsCapacity", bpf_map__max_entries(c->skel->maps.flows)));
	return obj;
}

/* CLOCK_REALTIME - CLOCK_BOOTTIME in ms: epoch ms = offset + boot ns / 1e6. */
static napi_value js_boot_offset(napi_env env, napi_callback_info info)
{
	struct timespec rt, bt;
	napi_value v;

	(void)info;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	CHECK(env, napi_create_double(env,
				      (rt.tv_sec - bt.tv_sec) * 1e3 + (rt.tv_nsec - bt.tv_nsec) / 1e6, &v));
	return v;
}

static napi_value js_close(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	napi_value self;
	struct collector *c = NULL;

	CHECK(env, napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
	CHECK(env, napi_unwrap(env, self, (void **)&c));
	if (c)
		collector_free(c);	/* the wrapper's finalizer frees c itself */
	return NULL;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor methods[] = {
		{ "capabilities", NULL, js_capabilities, NULL, NULL, NULL, napi_default, NULL },
		{ "start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL },
		{ "stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL },
		{ "snapshot", NULL, js_snapshot, NULL, NULL, NULL, napi_default, NULL },
		{ "readFlows", NULL, js_read_flows, NULL, NULL, NULL, napi_default, NULL },
		{ "stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL },
		{ "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_value cls, fn, sizes;

	CHECK(env, napi_define_class(env, "Collector", NAPI_AUTO_LENGTH, js_construct, NULL,
				     sizeof(methods) / sizeof(methods[0]), methods, &cls));
	CHECK(env, napi_set_named_property(env, exports, "Collector", cls));
	CHECK(env, napi_create_function(env, "bootTimeOffsetMs", NAPI_AUTO_LENGTH, js_boot_offset, NULL, &fn));
	CHECK(env, napi_set_named_property(env, exports, "bootTimeOffsetMs", fn));
	CHECK(env, napi_create_object(env, &sizes));
	CHECK(env, set_named_u64(env, sizes, "flow", sizeof(struct flow)));
	CHECK(env, set_named_u64(env, sizes, "event", sizeof(struct event)));
	CHECK(env, napi_set_named_property(env, exports, "recordSizes", sizes));
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
