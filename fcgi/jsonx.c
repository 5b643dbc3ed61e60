#include "jsonx.h"

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "valid.h"
#include "xmalloc.h"

struct jx_body {
    json_object *root;
};

/* A strict RFC 8259 checker run before json-c, which is lenient in places: it lets NaN,
 * Infinity, single quotes, leading zeros, "1.", raw control characters in strings, overlong
 * UTF-8 and lone surrogate escapes through, and cuts keys at \u0000. json-c then only ever sees
 * text this checker accepted. */
struct jx_scan {
    const char *p, *end;
    int depth;
};

static void jx_ws(struct jx_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int jx_hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;

    if (end - p < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* A string; is_key refuses \u0000, which json-c would cut the key at. */
static int jx_string(struct jx_scan *s, int is_key)
{
    if (s->p >= s->end || *s->p != '"')
        return 0;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        unsigned v, low;
        if (c == '"') {
            s->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c != '\\') {
            s->p++;
            continue;
        }
        if (s->end - s->p < 2)
            return 0;
        c = (unsigned char)s->p[1];
        if (c != 'u') {
            if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
                return 0;
            s->p += 2;
            continue;
        }
        if (!jx_hex4(s->p + 2, s->end, &v) || (is_key && v == 0))
            return 0;
        s->p += 6;
        if (v >= 0xdc00 && v <= 0xdfff)
            return 0;
        if (v >= 0xd800 && v <= 0xdbff) {
            if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
                !jx_hex4(s->p + 2, s->end, &low) || low < 0xdc00 || low > 0xdfff)
                return 0;
            s->p += 6;
        }
    }
    return 0;
}

static int jx_digits(struct jx_scan *s)
{
    const char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int jx_number(struct jx_scan *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!jx_digits(s))
        return 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!jx_digits(s))
            return 0;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!jx_digits(s))
            return 0;
    }
    return 1;
}

static int jx_literal(struct jx_scan *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int jx_value(struct jx_scan *s)
{
    char close;

    jx_ws(s);
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '"':
        return jx_string(s, 0);
    case 't':
        return jx_literal(s, "true");
    case 'f':
        return jx_literal(s, "false");
    case 'n':
        return jx_literal(s, "null");
    case '{':
    case '[':
        break;
    default:
        return jx_number(s);
    }
    close = *s->p == '{' ? '}' : ']';
    if (++s->depth > JSON_MAX_DEPTH)
        return 0;
    s->p++;
    jx_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            jx_ws(s);
            if (!jx_string(s, 1))
                return 0;
            jx_ws(s);
            if (s->p >= s->end || *s->p++ != ':')
                return 0;
        }
        if (!jx_value(s))
            return 0;
        jx_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p++ != close)
            return 0;
        s->depth--;
        return 1;
    }
}

/* 1 when buf[0..len) is exactly one JSON object (with optional white space around it) in
 * well-formed UTF-8 (valid.c's check, which refuses overlongs and surrogates). */
static int jx_strict_object(const char *buf, size_t len)
{
    struct jx_scan s = {buf, buf + len, 0};

    if (!valid_utf8(buf, len))
        return 0;
    jx_ws(&s);
    if (s.p >= s.end || *s.p != '{' || !jx_value(&s))
        return 0;
    jx_ws(&s);
    return s.p == s.end;
}

enum wnc_err jx_parse_object(const char *buf, size_t len, struct jx_body **out)
{
    json_tokener *tok;
    json_object *root;
    struct jx_body *body;
    enum json_tokener_error jerr;

    if (len == 0 || len > (size_t)INT32_MAX || !jx_strict_object(buf, len))
        return E_INVALID_JSON;
    /* Strict json-c refuses even white space after the value; the checker allowed it. */
    while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL && buf[len - 1] != '\0')
        len--;
    /* json-c counts the depth of the top-level value as 1. */
    tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1);
    if (tok == NULL)
        return E_INTERNAL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (root == NULL || jerr != json_tokener_success) {
        json_object_put(root);
        return E_INVALID_JSON;
    }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return E_INVALID_JSON;
    }
    body = xmalloc(sizeof(*body));
    body->root = root;
    *out = body;
    return E_OK;
}

enum wnc_err jx_only_fields(const struct jx_body *body, const char *const *allowed,
                            const char **field)
{
    json_object_object_foreach(body->root, key, value)
    {
        int known = 0;
        (void)value;
        for (const char *const *a = allowed; *a != NULL; a++)
            if (strcmp(*a, key) == 0)
                known = 1;
        if (!known) {
            *field = key;
            return E_UNKNOWN_FIELD;
        }
    }
    return E_OK;
}

static json_object *jx_field(const struct jx_body *body, const char *name)
{
    json_object *value = NULL;

    if (!json_object_object_get_ex(body->root, name, &value))
        return NULL;
    return value; /* NULL for a JSON null too: both mean "missing" */
}

enum wnc_err jx_get_string(const struct jx_body *body, const char *name, const char **s,
                           size_t *len)
{
    json_object *value = jx_field(body, name);

    if (value == NULL)
        return E_MISSING_FIELD;
    if (!json_object_is_type(value, json_type_string))
        return E_INVALID_FIELD;
    *s = json_object_get_string(value);
    *len = (size_t)json_object_get_string_len(value);
    return E_OK;
}

enum wnc_err jx_get_number(const struct jx_body *body, const char *name, double *out)
{
    json_object *value = jx_field(body, name);
    double d;

    if (value == NULL)
        return E_MISSING_FIELD;
    if (!json_object_is_type(value, json_type_double) && !json_object_is_type(value, json_type_int))
        return E_INVALID_FIELD;
    /* json-c clamps integers outside int64 to its limits: refuse those rather than read a
     * different number than the client sent. */
    if (json_object_is_type(value, json_type_int)) {
        int64_t i = json_object_get_int64(value);
        if (i == INT64_MAX || i == INT64_MIN)
            return E_INVALID_FIELD;
    }
    d = json_object_get_double(value);
    if (!isfinite(d))
        return E_INVALID_FIELD;
    *out = d;
    return E_OK;
}

enum wnc_err jx_get_bool(const struct jx_body *body, const char *name, int *out)
{
    json_object *value = jx_field(body, name);

    if (value == NULL)
        return E_MISSING_FIELD;
    if (!json_object_is_type(value, json_type_boolean))
        return E_INVALID_FIELD;
    *out = json_object_get_boolean(value);
    return E_OK;
}

int jx_is_null(const struct jx_body *body, const char *name)
{
    json_object *value = NULL;

    return json_object_object_get_ex(body->root, name, &value) && value == NULL;
}

void jx_free(struct jx_body *body)
{
    if (body == NULL)
        return;
    json_object_put(body->root);
    free(body);
}
