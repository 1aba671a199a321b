// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: loading. Checks what the host offers, opens
 * the BPF skeleton, loads every program that loads (a failure is a reported
 * degradation, not an error), attaches each on its own and reports what
 * attached (capabilities).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nettopo.h"
#include "nettopo.skel.h"
#include "collector.h"

#define LOG_LEN		4096

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

int find_cap(struct collector *c, const char *name)
{
	int i;

	for (i = 0; i < c->ncaps; i++)
		if (!strcmp(c->caps[i].name, name))
			return i;
	return -1;
}

/*
 * A collector with its BPF object loaded and every loaded program attached
 * (no ring buffer yet). NULL once an error is thrown.
 */
struct collector *collector_load(napi_env env, const struct config *cfg,
				 char disabled[][64], uint32_t ndisabled)
{
	struct bpf_program *prog;
	struct collector *c;
	uint32_t i;
	int err;

	if (preflight(env))
		return NULL;
	libbpf_set_print(print_fn);

	c = calloc(1, sizeof(*c));
	if (!c) {
		throw_code(env, "ENOMEM", "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
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
	return c;
}

napi_value js_capabilities(napi_env env, napi_callback_info info)
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
