/* jsonx.c: jx_parse_object and the getters. Beyond not crashing: an accepted body is one JSON
 * object by a reference grammar written here (RFC 8259, depth at most JSON_MAX_DEPTH,
 * well-formed UTF-8, no lone surrogate escapes, no \u0000 in keys); every getter answers one of
 * its documented errors or a value of its type (a NUL-terminated string of valid UTF-8 of the
 * length it reports, a finite number, 0 or 1); and for any key, at most one getter succeeds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jsonx.h"

struct ref {
    const unsigned char *p, *end;
};

static void ref_ws(struct ref *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int ref_hex4(struct ref *r, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++, r->p++) {
        if (r->p >= r->end)
            return 0;
        unsigned char c = *r->p;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

static int ref_string(struct ref *r, int is_key)
{
    unsigned v, low;

    if (r->p >= r->end || *r->p++ != '"')
        return 0;
    while (r->p < r->end) {
        unsigned char c = *r->p++;
        if (c == '"')
            return 1;
        if (c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        if (r->p >= r->end)
            return 0;
        c = *r->p++;
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
            c == 't')
            continue;
        if (c != 'u' || !ref_hex4(r, &v) || (is_key && v == 0))
            return 0;
        if (v >= 0xdc00 && v <= 0xdfff)
            return 0;
        if (v >= 0xd800 && v <= 0xdbff) {
            if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                return 0;
            r->p += 2;
            if (!ref_hex4(r, &low) || low < 0xdc00 || low > 0xdfff)
                return 0;
        }
    }
    return 0;
}

static int ref_number(struct ref *r)
{
    const unsigned char *start;

    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end)
        return 0;
    if (*r->p == '0') {
        r->p++;
    } else if (*r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    } else {
        return 0;
    }
    if (r->p < r->end && *r->p == '.') {
        start = ++r->p;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
        if (r->p == start)
            return 0;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        start = r->p;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
        if (r->p == start)
            return 0;
    }
    return 1;
}

static int ref_value(struct ref *r, int depth)
{
    static const char *const words[] = {"true", "false", "null"};

    ref_ws(r);
    if (r->p >= r->end)
        return 0;
    if (*r->p == '"')
        return ref_string(r, 0);
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i], n) == 0) {
            r->p += n;
            return 1;
        }
    }
    if (*r->p != '{' && *r->p != '[')
        return ref_number(r);
    if (depth + 1 > JSON_MAX_DEPTH)
        return 0;
    unsigned char close = *r->p++ == '{' ? '}' : ']';
    ref_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 1;
    }
    for (;;) {
        ref_ws(r);
        if (close == '}') {
            if (!ref_string(r, 1))
                return 0;
            ref_ws(r);
            if (r->p >= r->end || *r->p++ != ':')
                return 0;
        }
        if (!ref_value(r, depth + 1))
            return 0;
        ref_ws(r);
        if (r->p >= r->end)
            return 0;
        unsigned char c = *r->p++;
        if (c == close)
            return 1;
        if (c != ',')
            return 0;
    }
}

/* 1 when buf[0..len) is one JSON object with optional white space around it, in well-formed
 * UTF-8. */
static int ref_object(const char *buf, size_t len)
{
    struct ref r = {(const unsigned char *)buf, (const unsigned char *)buf + len};

    if (!fuzz_utf8_ok(r.p, len))
        return 0;
    ref_ws(&r);
    if (r.p >= r.end || *r.p != '{' || !ref_value(&r, 0))
        return 0;
    ref_ws(&r);
    return r.p == r.end;
}

/* Runs every getter on name and checks what they answer. */
static void check_getters(const struct jx_body *b, const char *name)
{
    const char *s = NULL;
    size_t len = 0;
    double d = 0;
    int flag = -1, ok = 0, missing = 0;
    enum wnc_err e;

    e = jx_get_string(b, name, &s, &len);
    FUZZ_CHECK(e == E_OK || e == E_MISSING_FIELD || e == E_INVALID_FIELD);
    if (e == E_OK) {
        FUZZ_CHECK(s != NULL && s[len] == '\0');
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)s, len));
        ok++;
    }
    missing += e == E_MISSING_FIELD;
    e = jx_get_number(b, name, &d);
    FUZZ_CHECK(e == E_OK || e == E_MISSING_FIELD || e == E_INVALID_FIELD);
    if (e == E_OK) {
        FUZZ_CHECK(isfinite(d));
        ok++;
    }
    missing += e == E_MISSING_FIELD;
    e = jx_get_bool(b, name, &flag);
    FUZZ_CHECK(e == E_OK || e == E_MISSING_FIELD || e == E_INVALID_FIELD);
    if (e == E_OK) {
        FUZZ_CHECK(flag == 0 || flag == 1);
        ok++;
    }
    missing += e == E_MISSING_FIELD;
    FUZZ_CHECK(ok <= 1);
    FUZZ_CHECK(missing == 0 || missing == 3); /* absent (or null) for one is absent for all */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"name",    "text", "url", "position", "rate",
                                        "playing", "a",    "",    "\xc3\xa9"};
    static const char *const none[] = {NULL};
    char *buf = fuzz_bytes(data, size);
    struct jx_body *b = NULL;
    enum wnc_err e = jx_parse_object(buf, size, &b);

    FUZZ_CHECK(e == E_OK || e == E_INVALID_JSON);
    /* Both ways: what the grammar takes, jx_parse_object takes too (json-c refuses nothing
     * the checker let through). */
    FUZZ_CHECK((e == E_OK) == ref_object(buf, size));
    if (e == E_OK) {
        const char *field = NULL;
        FUZZ_CHECK(b != NULL);
        /* The body owns its strings: the request buffer may go first. */
        memset(buf, 'x', size);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            check_getters(b, names[i]);
        e = jx_only_fields(b, none, &field);
        FUZZ_CHECK(e == E_OK || (e == E_UNKNOWN_FIELD && field != NULL));
        if (e == E_UNKNOWN_FIELD) {
            const char *only[] = {field, NULL}, *other = NULL;
            FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)field, strlen(field)));
            check_getters(b, field);
            /* Allowing the reported key moves the complaint to another key, or ends it. */
            e = jx_only_fields(b, only, &other);
            FUZZ_CHECK(e == E_OK || (e == E_UNKNOWN_FIELD && strcmp(other, field) != 0));
        }
    }
    jx_free(b);
    free(buf);
    return 0;
}
