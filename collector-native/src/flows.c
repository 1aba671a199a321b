// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: the `flows` map, read in batches into mmap'd
 * arrays and handed to JavaScript without a copy, and the drop counters
 * (per-CPU, summed) behind stats().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nettopo.h"
#include "nettopo.skel.h"
#include "collector.h"

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
napi_value js_read_flows(napi_env env, napi_callback_info info)
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

napi_value js_stats(napi_env env, napi_callback_info info)
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
