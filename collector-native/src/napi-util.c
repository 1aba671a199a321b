// SPDX-License-Identifier: Apache-2.0
/*
 * nettopo collector, native side: Node-API helpers. Errors thrown to
 * JavaScript (with a code) and options read from a JS object.
 */
#include <stdarg.h>
#include <stdio.h>

#include "collector.h"

void throw_code(napi_env env, const char *code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	napi_throw_error(env, code, msg);
}

void throw_status(napi_env env, napi_status status, const char *call)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;

	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return;
	napi_get_last_error_info(env, &info);
	throw_code(env, "ENAPI", "%s failed: %s (status %d)", call,
		   info && info->error_message ? info->error_message : "unknown", (int)status);
}

napi_status set_named_u64(napi_env env, napi_value obj, const char *key, unsigned long long v)
{
	napi_value n;
	napi_status s = napi_create_double(env, (double)v, &n);

	if (s != napi_ok)
		return s;
	return napi_set_named_property(env, obj, key, n);
}

bool get_opt_u32(napi_env env, napi_value opts, const char *key, uint32_t *out)
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

/* An optional array of program names (at most MAX_PROGS, each shorter than 64 bytes). */
bool get_opt_names(napi_env env, napi_value opts, const char *key, char names[][64], uint32_t *n)
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
