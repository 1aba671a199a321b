// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: the start-up snapshot. Reads the listener
 * and socket iterators (iter/tcp) to their end and reports each socket once,
 * sorted by cookie.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nettopo.h"
#include "collector.h"

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

napi_value js_snapshot(napi_env env, napi_callback_info info)
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
