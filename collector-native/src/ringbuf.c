// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: the `events` ring buffer. Drained on its own
 * thread into a pending batch; each poll's batch is handed to JavaScript
 * through a thread-safe function.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "nettopo.h"
#include "nettopo.skel.h"
#include "collector.h"

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

/* The ring buffer over the `events` map: 0, or -errno. */
int ringbuf_open(struct collector *c)
{
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_event, c, NULL);
	return c->rb ? 0 : -errno;
}

void ringbuf_stop(struct collector *c)
{
	if (!c->started)
		return;
	c->running = false;
	pthread_join(c->thread, NULL);
	napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
	c->started = false;
}

napi_value js_start(napi_env env, napi_callback_info info)
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

napi_value js_stop(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct collector *c = unwrap(env, info, &argc, NULL);

	if (c)
		ringbuf_stop(c);
	return NULL;
}
