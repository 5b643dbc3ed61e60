/* wire.c: the FastCGI record layer. Two properties, chosen by the first byte.
 *
 * Any bytes (even first byte): fed at once and fed in chunks (sizes from the second byte), the
 * parser ends in the same state and answers the same: the same requests (parameters and body),
 * the same reply records, the same close; every request holds at most WIRE_MAX_PARAMS
 * parameters, NUL-terminated, and at most the body limit.
 *
 * A request built from the input (odd first byte): the rest split at NULs into name, value,
 * name, value... and a body, encoded as nginx would (BEGIN_REQUEST with KEEP_CONN, PARAMS and
 * STDIN cut into records of sizes taken from the input, padding included, long lengths in the
 * four-byte form) parses back to exactly those parameters and that body, twice in a row on one
 * connection. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

#define FUZZ_WIRE_BODY_MAX 300 /* small, so that the limit is crossed often */

/* What a parse run saw: every ready request's parameters and body, and every reply byte,
 * serialised, and how it ended. */
struct wire_run {
    struct buf seen;
    enum wire_status end;
};

static void wire_run_note(struct wire_run *r, struct wire_in *in)
{
    if (in->reply.len > 0)
        buf_append(&r->seen, in->reply.data, in->reply.len);
    buf_reset(&in->reply);
}

/* Parses whatever is in in, serving every ready request, until it needs more or closes. */
static int wire_run_parse(struct wire_run *r, struct wire_in *in)
{
    for (;;) {
        enum wire_status st = wire_in_parse(in, FUZZ_WIRE_BODY_MAX);
        wire_run_note(r, in);
        if (st != WIRE_READY) {
            r->end = st;
            return st == WIRE_MORE;
        }
        FUZZ_CHECK(in->nparams <= WIRE_MAX_PARAMS);
        FUZZ_CHECK(in->body.len <= FUZZ_WIRE_BODY_MAX);
        buf_printf(&r->seen, "[req %u keep %d params %zu]", in->id, in->keep_conn, in->nparams);
        for (size_t i = 0; i < in->nparams; i++) {
            buf_append(&r->seen, in->param[i].name, strlen(in->param[i].name) + 1);
            buf_append(&r->seen, in->param[i].value, strlen(in->param[i].value) + 1);
            FUZZ_CHECK(wire_param(in, in->param[i].name) != NULL);
        }
        buf_printf(&r->seen, "[body %zu over %d]", in->body.len, in->body_over);
        if (in->body.len > 0)
            buf_append(&r->seen, in->body.data, in->body.len);
        wire_in_next(in);
    }
}

static void wire_feed(struct wire_in *in, const uint8_t *data, size_t n)
{
    size_t room;
    unsigned char *to = wire_in_space(in, n, &room);
    FUZZ_CHECK(room >= n);
    memcpy(to, data, n);
    wire_in_commit(in, n);
}

static void fuzz_any_bytes(unsigned char chunk_sel, const uint8_t *data, size_t size)
{
    struct wire_run whole = {0}, parts = {0};
    struct wire_in a = {0}, b = {0};
    size_t chunk = (size_t)chunk_sel % 37 + 1;

    wire_feed(&a, data, size);
    wire_run_parse(&whole, &a);
    for (size_t at = 0; at < size; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        wire_feed(&b, data + at, n);
        if (!wire_run_parse(&parts, &b))
            break;
    }
    FUZZ_CHECK(whole.end == parts.end);
    FUZZ_CHECK(whole.seen.len == parts.seen.len);
    FUZZ_CHECK(whole.seen.len == 0 ||
               memcmp(whole.seen.data, parts.seen.data, whole.seen.len) == 0);
    buf_free(&whole.seen);
    buf_free(&parts.seen);
    wire_in_free(&a);
    wire_in_free(&b);
}

static void put_header(struct buf *o, unsigned type, unsigned id, size_t len, unsigned pad)
{
    unsigned char h[8] = {1,
                          (unsigned char)type,
                          (unsigned char)(id >> 8),
                          (unsigned char)id,
                          (unsigned char)(len >> 8),
                          (unsigned char)len,
                          (unsigned char)pad,
                          0};
    buf_append(o, (const char *)h, 8);
}

/* data as records of type, sizes and padding picked by the bytes of sizes (cycled). */
static void put_stream(struct buf *o, unsigned type, unsigned id, const char *data, size_t len,
                       const uint8_t *sizes, size_t nsizes)
{
    static const char zeros[255];
    size_t k = 0;

    while (len > 0) {
        size_t n = nsizes > 0 ? (size_t)sizes[k % nsizes] * 37 % 700 + 1 : len;
        unsigned pad = nsizes > 0 ? sizes[(k + 1) % nsizes] % 9 : 0;
        n = n < len ? n : len;
        put_header(o, type, id, n, pad);
        buf_append(o, data, n);
        buf_append(o, zeros, pad);
        data += n;
        len -= n;
        k++;
    }
    put_header(o, type, id, 0, 0);
}

static void put_length(struct buf *o, size_t n, int long_form)
{
    if (n < 128 && !long_form) {
        unsigned char c = (unsigned char)n;
        buf_append(o, (const char *)&c, 1);
    } else {
        unsigned char c[4] = {(unsigned char)(n >> 24 | 0x80), (unsigned char)(n >> 16),
                              (unsigned char)(n >> 8), (unsigned char)n};
        buf_append(o, (const char *)c, 4);
    }
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
    enum { PARTS = 9 }; /* four pairs and a body */
    char *parts[PARTS];
    struct buf params = {0}, wire = {0};
    struct wire_in in = {0};
    const uint8_t *sizes = data;
    size_t nsizes = size < 8 ? size : 8;
    static const unsigned char begin[8] = {0, 1, 1, 0, 0, 0, 0, 0}; /* responder, KEEP_CONN */

    fuzz_split(data, size, parts, PARTS);
    for (size_t i = 0; i + 1 < PARTS; i += 2) {
        put_length(&params, strlen(parts[i]), (sizes[0] >> i) & 1);
        put_length(&params, strlen(parts[i + 1]), (sizes[0] >> (i + 1)) & 1);
        buf_puts(&params, parts[i]);
        buf_puts(&params, parts[i + 1]);
    }
    size_t body_len = strlen(parts[PARTS - 1]);
    for (unsigned id = 1; id <= 2; id++) {
        put_header(&wire, 1, id, 8, 0);
        buf_append(&wire, (const char *)begin, 8);
        put_stream(&wire, 4, id, params.data, params.len, sizes, nsizes);
        put_stream(&wire, 5, id, parts[PARTS - 1], body_len, sizes + nsizes / 2, nsizes / 2);
    }
    wire_feed(&in, (const uint8_t *)wire.data, wire.len);
    for (unsigned id = 1; id <= 2; id++) {
        FUZZ_CHECK(wire_in_parse(&in, FUZZ_WIRE_BODY_MAX) == WIRE_READY);
        FUZZ_CHECK(in.id == id && in.keep_conn == 1 && in.reply.len == 0);
        FUZZ_CHECK(in.nparams == (PARTS - 1) / 2);
        for (size_t i = 0; i + 1 < PARTS; i += 2) {
            FUZZ_CHECK(strcmp(in.param[i / 2].name, parts[i]) == 0);
            FUZZ_CHECK(strcmp(in.param[i / 2].value, parts[i + 1]) == 0);
        }
        size_t want = body_len < FUZZ_WIRE_BODY_MAX ? body_len : FUZZ_WIRE_BODY_MAX;
        FUZZ_CHECK(in.body.len == want && in.body_over == (body_len > FUZZ_WIRE_BODY_MAX));
        FUZZ_CHECK(want == 0 || memcmp(in.body.data, parts[PARTS - 1], want) == 0);
        wire_in_next(&in);
    }
    FUZZ_CHECK(wire_in_parse(&in, FUZZ_WIRE_BODY_MAX) == WIRE_MORE && in.raw_len == 0);
    for (size_t i = 0; i < PARTS; i++)
        free(parts[i]);
    buf_free(&params);
    buf_free(&wire);
    wire_in_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_any_bytes(data[1], data + 2, size - 2);
    else
        fuzz_round_trip(data + 1, size - 1);
    return 0;
}
