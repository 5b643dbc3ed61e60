#include "jsonx.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jx_body {
    json_object *root;
};

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

/* json-c turns a lone surrogate escape (\ud800) into U+FFFD without a word; such text is not
 * Unicode, so refuse it. Returns 1 when every \u escape pairs up. */
static int jx_surrogates_paired(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    unsigned v, low;

    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (p + 1 >= end)
            return 1;
        if (p[1] != 'u') {
            p += 2; /* any other escape, including an escaped backslash */
            continue;
        }
        if (!jx_hex4(p + 2, end, &v))
            return 1; /* malformed: the parser reports it */
        p += 6;
        if (v >= 0xdc00 && v <= 0xdfff)
            return 0;
        if (v >= 0xd800 && v <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !jx_hex4(p + 2, end, &low) ||
                low < 0xdc00 || low > 0xdfff)
                return 0;
            p += 6;
        }
    }
    return 1;
}

enum wnc_err jx_parse_object(const char *buf, size_t len, struct jx_body **out)
{
    json_tokener *tok;
    json_object *root;
    struct jx_body *body;
    enum json_tokener_error jerr;

    if (len == 0 || len > (size_t)INT32_MAX || !jx_surrogates_paired(buf, len))
        return E_INVALID_JSON;
    /* json-c counts the depth of the top-level value as 1. */
    tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1);
    if (tok == NULL)
        return E_INTERNAL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    jerr = json_tokener_get_error(tok);
    if (root != NULL && jerr == json_tokener_success) {
        /* Only white space may follow the object. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
            if (strchr(" \t\r\n", buf[i]) == NULL) {
                jerr = json_tokener_error_parse_unexpected;
                break;
            }
    }
    json_tokener_free(tok);
    if (root == NULL || jerr != json_tokener_success) {
        json_object_put(root);
        return E_INVALID_JSON;
    }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return E_INVALID_JSON;
    }
    body = malloc(sizeof(*body));
    if (body == NULL) {
        json_object_put(root);
        return E_INTERNAL;
    }
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

void jx_free(struct jx_body *body)
{
    if (body == NULL)
        return;
    json_object_put(body->root);
    free(body);
}
