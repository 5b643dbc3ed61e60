#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* From the FastCGI 1.0 specification. */
enum {
    WIRE_VERSION = 1,
    WIRE_HEADER_LEN = 8,
    WIRE_BEGIN_REQUEST = 1,
    WIRE_ABORT_REQUEST = 2,
    WIRE_END_REQUEST = 3,
    WIRE_PARAMS = 4,
    WIRE_STDIN = 5,
    WIRE_STDOUT = 6,
    WIRE_GET_VALUES = 9,
    WIRE_GET_VALUES_RESULT = 10,
    WIRE_UNKNOWN_TYPE = 11,
    WIRE_RESPONDER = 1,
    WIRE_KEEP_CONN = 1,
    WIRE_REQUEST_COMPLETE = 0,
    WIRE_CANT_MPX_CONN = 1,
    WIRE_UNKNOWN_ROLE = 3,
};

/* The longest STDOUT content written at once: a multiple of 8 under 65535, so no padding. */
#define WIRE_STDOUT_CHUNK 65528

unsigned char *wire_in_space(struct wire_in *in, size_t want, size_t *room)
{
    if (in->raw == NULL || in->raw_cap - in->raw_len < want) {
        in->raw_cap = in->raw_len + (want > 0 ? want : 1);
        in->raw = xreallocarray(in->raw, in->raw_cap, 1);
    }
    *room = in->raw_cap - in->raw_len;
    return in->raw + in->raw_len;
}

void wire_in_commit(struct wire_in *in, size_t n)
{
    in->raw_len += n;
}

static void wire_put_header(struct buf *out, unsigned type, unsigned id, size_t len)
{
    unsigned char h[WIRE_HEADER_LEN] = {WIRE_VERSION,
                                        (unsigned char)type,
                                        (unsigned char)(id >> 8),
                                        (unsigned char)id,
                                        (unsigned char)(len >> 8),
                                        (unsigned char)len,
                                        0,
                                        0};
    buf_append(out, (const char *)h, sizeof(h));
}

static void wire_put_end(struct buf *out, unsigned id, unsigned protocol_status)
{
    unsigned char body[8] = {0, 0, 0, 0, (unsigned char)protocol_status, 0, 0, 0};

    wire_put_header(out, WIRE_END_REQUEST, id, sizeof(body));
    buf_append(out, (const char *)body, sizeof(body));
}

void wire_put_answer(struct buf *out, unsigned id, const char *data, size_t len)
{
    while (len > 0) {
        size_t n = len < WIRE_STDOUT_CHUNK ? len : WIRE_STDOUT_CHUNK;
        wire_put_header(out, WIRE_STDOUT, id, n);
        buf_append(out, data, n);
        data += n;
        len -= n;
    }
    wire_put_header(out, WIRE_STDOUT, id, 0);
    wire_put_end(out, id, WIRE_REQUEST_COMPLETE);
}

/* A name-value pair's length at *p (1 byte below 128, else 4 with the top bit set), within end.
 * Returns 0 and sets *len and advances *p, or -1 when it does not fit. */
static int wire_nv_len(const unsigned char **p, const unsigned char *end, size_t *len)
{
    const unsigned char *q = *p;

    if (q >= end)
        return -1;
    if (q[0] < 0x80) {
        *len = q[0];
        *p = q + 1;
        return 0;
    }
    if (end - q < 4)
        return -1;
    *len = ((size_t)(q[0] & 0x7f) << 24) | ((size_t)q[1] << 16) | ((size_t)q[2] << 8) | q[3];
    *p = q + 4;
    return 0;
}

/* Decodes the PARAMS stream into NUL-terminated strings and the param table. Returns 0, or -1
 * when the stream is malformed or has more than WIRE_MAX_PARAMS pairs. */
static int wire_decode_params(struct wire_in *in)
{
    const unsigned char *p = (const unsigned char *)in->params.data;
    const unsigned char *end;
    struct buf text = {0};
    size_t offsets[WIRE_MAX_PARAMS][2];

    in->nparams = 0;
    if (in->params.len == 0)
        return 0;
    end = p + in->params.len;
    while (p < end) {
        size_t name_len, value_len;
        if (wire_nv_len(&p, end, &name_len) != 0 || wire_nv_len(&p, end, &value_len) != 0 ||
            name_len > (size_t)(end - p) || value_len > (size_t)(end - p) - name_len ||
            in->nparams == WIRE_MAX_PARAMS) {
            buf_free(&text);
            return -1;
        }
        offsets[in->nparams][0] = text.len;
        buf_append(&text, (const char *)p, name_len);
        buf_append(&text, "", 1);
        offsets[in->nparams][1] = text.len;
        buf_append(&text, (const char *)p + name_len, value_len);
        buf_append(&text, "", 1);
        p += name_len + value_len;
        in->nparams++;
    }
    buf_free(&in->params);
    in->params = text;
    for (size_t i = 0; i < in->nparams; i++) {
        in->param[i].name = in->params.data + offsets[i][0];
        in->param[i].value = in->params.data + offsets[i][1];
    }
    return 0;
}

/* Forgets the open request (not the unparsed input nor reply). */
static void wire_in_forget(struct wire_in *in)
{
    in->id = 0;
    in->keep_conn = in->params_done = in->stdin_done = in->body_over = 0;
    in->nparams = 0;
    buf_reset(&in->params);
    buf_reset(&in->body);
}

/* Handles one record of the open request or a new one. Returns WIRE_MORE to go on. */
static enum wire_status wire_record(struct wire_in *in, unsigned type, unsigned id,
                                    const unsigned char *c, size_t len, size_t max_body)
{
    if (id == 0) { /* a management record */
        if (type == WIRE_GET_VALUES) {
            /* We name none of the variables asked for, which the spec allows; nginx never
             * asks. */
            wire_put_header(&in->reply, WIRE_GET_VALUES_RESULT, 0, 0);
        } else {
            unsigned char body[8] = {(unsigned char)type, 0, 0, 0, 0, 0, 0, 0};
            wire_put_header(&in->reply, WIRE_UNKNOWN_TYPE, 0, sizeof(body));
            buf_append(&in->reply, (const char *)body, sizeof(body));
        }
        return WIRE_MORE;
    }
    if (type == WIRE_BEGIN_REQUEST) {
        if (len != 8 || id == in->id)
            return WIRE_CLOSE;
        unsigned role = (unsigned)c[0] << 8 | c[1];
        int keep = (c[2] & WIRE_KEEP_CONN) != 0;
        if (in->id != 0 || role != WIRE_RESPONDER) {
            wire_put_end(&in->reply, id, in->id != 0 ? WIRE_CANT_MPX_CONN : WIRE_UNKNOWN_ROLE);
            return keep || in->id != 0 ? WIRE_MORE : WIRE_CLOSE;
        }
        wire_in_forget(in);
        in->id = id;
        in->keep_conn = keep;
        return WIRE_MORE;
    }
    if (id != in->id) /* the spec: records of requests that are not open are ignored */
        return WIRE_MORE;
    switch (type) {
    case WIRE_ABORT_REQUEST: {
        int keep = in->keep_conn;
        wire_put_end(&in->reply, id, WIRE_REQUEST_COMPLETE);
        wire_in_forget(in);
        return keep ? WIRE_MORE : WIRE_CLOSE;
    }
    case WIRE_PARAMS:
        if (in->params_done)
            return WIRE_CLOSE;
        if (len == 0) {
            in->params_done = 1;
            return wire_decode_params(in) == 0 ? WIRE_MORE : WIRE_CLOSE;
        }
        if (len > WIRE_MAX_PARAM_BYTES - in->params.len)
            return WIRE_CLOSE;
        buf_append(&in->params, (const char *)c, len);
        return WIRE_MORE;
    case WIRE_STDIN:
        if (in->stdin_done)
            return WIRE_CLOSE;
        if (len == 0) {
            in->stdin_done = 1;
            return WIRE_MORE;
        }
        if (len > max_body - in->body.len) {
            in->body_over = 1;
            len = max_body - in->body.len;
        }
        buf_append(&in->body, (const char *)c, len);
        return WIRE_MORE;
    default: /* DATA (a Filter's) and anything else a Responder does not read */
        return WIRE_MORE;
    }
}

enum wire_status wire_in_parse(struct wire_in *in, size_t max_body)
{
    size_t at = 0;
    enum wire_status st = WIRE_MORE;

    while (st == WIRE_MORE && !(in->id != 0 && in->params_done && in->stdin_done)) {
        const unsigned char *h = in->raw + at;
        if (in->raw_len - at < WIRE_HEADER_LEN)
            break;
        if (h[0] != WIRE_VERSION) {
            st = WIRE_CLOSE;
            break;
        }
        size_t len = (size_t)h[4] << 8 | h[5], total = WIRE_HEADER_LEN + len + h[6];
        if (in->raw_len - at < total)
            break;
        st = wire_record(in, h[1], (unsigned)h[2] << 8 | h[3], h + WIRE_HEADER_LEN, len, max_body);
        at += total;
    }
    if (at > 0) {
        memmove(in->raw, in->raw + at, in->raw_len - at);
        in->raw_len -= at;
    }
    if (st == WIRE_MORE && in->id != 0 && in->params_done && in->stdin_done)
        st = WIRE_READY;
    return st;
}

const char *wire_param(const struct wire_in *in, const char *name)
{
    for (size_t i = 0; i < in->nparams; i++)
        if (strcmp(in->param[i].name, name) == 0)
            return in->param[i].value;
    return NULL;
}

void wire_in_next(struct wire_in *in)
{
    wire_in_forget(in);
}

void wire_in_free(struct wire_in *in)
{
    free(in->raw);
    buf_free(&in->params);
    buf_free(&in->body);
    buf_free(&in->reply);
    memset(in, 0, sizeof(*in));
}
