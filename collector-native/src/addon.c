// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: the module. Defines the JS class
 * `Collector` (constructor, close, finalizer; the methods live with their
 * concern: loader.c, ringbuf.c, flows.c, snapshot.c), bootTimeOffsetMs()
 * and recordSizes.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "nettopo.h"
#include "nettopo.skel.h"
#include "collector.h"

void collector_free(struct collector *c)
{
	int i;

	if (!c)
		return;
	ringbuf_stop(c);
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

struct collector *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
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

static napi_value js_construct(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], self;
	napi_valuetype t = napi_undefined;
	struct config cfg = { .ignore_tgid = getpid(), .wakeup_bytes = 256 * 1024 };
	char disabled[MAX_PROGS][64];
	uint32_t poll_ms = 100, ndisabled = 0;
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
	c = collector_load(env, &cfg, disabled, ndisabled);
	if (!c)
		return NULL;
	c->poll_ms = poll_ms ? (int)poll_ms : 100;
	err = ringbuf_open(c);
	if (err) {
		throw_code(env, "ELOAD", "nettopo collector: ring buffer: %s", strerror(-err));
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
