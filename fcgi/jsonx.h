/* Request-body JSON: the only module that touches json-c. A body is parsed once into a
 * struct jx_body, read through typed getters, and freed by the request's cleanup. Everything
 * the server sends is built elsewhere (Lua scripts and buf.c) from already-valid pieces. */
#ifndef WNC_JSONX_H
#define WNC_JSONX_H

#include <stddef.h>

#include "err.h"

#define JSON_MAX_DEPTH 4 /* request bodies are flat objects */

struct jx_body;

/* Parses buf[0..len) as one JSON object: strict syntax, valid UTF-8, nesting at most
 * JSON_MAX_DEPTH, nothing after it. On success *out is owned by the caller (jx_free). */
enum wnc_err jx_parse_object(const char *buf, size_t len, struct jx_body **out);

/* E_UNKNOWN_FIELD (and *field set to the offending name, owned by body) when the object has a
 * key not in allowed (a NULL-terminated list). */
enum wnc_err jx_only_fields(const struct jx_body *body, const char *const *allowed,
                            const char **field);

/* Typed getters: E_MISSING_FIELD when absent (or null), E_INVALID_FIELD when of another type.
 * Strings are owned by body and die with it; len excludes the terminating NUL (strings may hold
 * NUL bytes via \u0000, so callers use len). */
enum wnc_err jx_get_string(const struct jx_body *body, const char *name, const char **s,
                           size_t *len);
enum wnc_err jx_get_number(const struct jx_body *body, const char *name, double *out);
enum wnc_err jx_get_bool(const struct jx_body *body, const char *name, int *out);

/* Whether the object has the key name with the value null (the getters call that missing; a
 * route whose field may be null to mean "remove it" asks this first). */
int jx_is_null(const struct jx_body *body, const char *name);

/* Harmless no-op for NULL. */
void jx_free(struct jx_body *body);

#endif
