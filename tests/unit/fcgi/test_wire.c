/* wire.c: the FastCGI record layer, fed byte strings as nginx (or a hostile peer) would send
 * them: a request in pieces, two on one kept connection, management records, a second request
 * while one is open, other roles, aborts, a wrong version, a body past the limit, and the
 * records of an answer byte for byte. */
#include <string.h>

#include "unit.h"
#include "wire.h"

/* Appends a record header. */
static void rec(struct buf *o, unsigned type, unsigned id, size_t len, unsigned pad)
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

static void begin(struct buf *o, unsigned id, unsigned role, int keep)
{
    unsigned char b[8] = {(unsigned char)(role >> 8), (unsigned char)role, keep ? 1 : 0};
    rec(o, 1, id, 8, 0);
    buf_append(o, (const char *)b, 8);
}

/* A whole request: BEGIN, one pair per PARAMS record (padding 3), the body as one STDIN. */
static void request(struct buf *o, unsigned id, int keep, const char *const *kv, size_t n,
                    const char *body)
{
    begin(o, id, 1, keep);
    for (size_t i = 0; i < n; i += 2) {
        size_t kl = strlen(kv[i]), vl = strlen(kv[i + 1]);
        rec(o, 4, id, 2 + kl + vl, 3);
        unsigned char lens[2] = {(unsigned char)kl, (unsigned char)vl};
        buf_append(o, (const char *)lens, 2);
        buf_puts(o, kv[i]);
        buf_puts(o, kv[i + 1]);
        buf_append(o, "\0\0\0", 3);
    }
    rec(o, 4, id, 0, 0);
    if (*body != '\0') {
        rec(o, 5, id, strlen(body), 0);
        buf_puts(o, body);
    }
    rec(o, 5, id, 0, 0);
}

static void feed(struct wire_in *in, const char *data, size_t n)
{
    size_t room;
    unsigned char *to = wire_in_space(in, n, &room);
    memcpy(to, data, n);
    wire_in_commit(in, n);
}

static void test_requests(void)
{
    static const char *const kv[] = {"REQUEST_METHOD", "POST",  "SCRIPT_NAME",
                                     "/api/rooms",     "EMPTY", ""};
    struct buf wire = {0};
    struct wire_in in = {0};

    request(&wire, 1, 1, kv, 6, "{\"a\":1}");
    size_t first = wire.len;
    request(&wire, 1, 0, kv, 2, "");
    /* Byte by byte: more until the last byte of the first request. */
    for (size_t i = 0; i + 1 < first; i++) {
        feed(&in, wire.data + i, 1);
        UNIT_CHECK(wire_in_parse(&in, 100) == WIRE_MORE, "byte %zu", i);
    }
    feed(&in, wire.data + first - 1, wire.len - first + 1);
    CU_ASSERT_EQUAL(wire_in_parse(&in, 100), WIRE_READY);
    CU_ASSERT_EQUAL(in.id, 1);
    CU_ASSERT_EQUAL(in.keep_conn, 1);
    CU_ASSERT_EQUAL(in.nparams, 3);
    CU_ASSERT_STRING_EQUAL(wire_param(&in, "REQUEST_METHOD"), "POST");
    CU_ASSERT_STRING_EQUAL(wire_param(&in, "SCRIPT_NAME"), "/api/rooms");
    CU_ASSERT_STRING_EQUAL(wire_param(&in, "EMPTY"), "");
    CU_ASSERT_PTR_NULL(wire_param(&in, "CONTENT_TYPE"));
    CU_ASSERT_EQUAL(in.body.len, 7);
    CU_ASSERT_EQUAL(memcmp(in.body.data, "{\"a\":1}", 7), 0);
    CU_ASSERT_EQUAL(in.reply.len, 0);
    /* The second request on the same connection, already read. */
    wire_in_next(&in);
    CU_ASSERT_EQUAL(wire_in_parse(&in, 100), WIRE_READY);
    CU_ASSERT_EQUAL(in.keep_conn, 0);
    CU_ASSERT_EQUAL(in.nparams, 1);
    CU_ASSERT_EQUAL(in.body.len, 0);
    wire_in_next(&in);
    CU_ASSERT_EQUAL(wire_in_parse(&in, 100), WIRE_MORE);
    CU_ASSERT_EQUAL(in.raw_len, 0);
    /* A body past the limit is cut and flagged. */
    buf_reset(&wire);
    request(&wire, 7, 1, kv, 2, "0123456789");
    feed(&in, wire.data, wire.len);
    CU_ASSERT_EQUAL(wire_in_parse(&in, 4), WIRE_READY);
    CU_ASSERT_EQUAL(in.body.len, 4);
    CU_ASSERT_EQUAL(in.body_over, 1);
    buf_free(&wire);
    wire_in_free(&in);
}

/* Runs bytes through a fresh parser: the status, and the reply records in *reply. */
static enum wire_status parse_fresh(const struct buf *wire, struct buf *reply)
{
    struct wire_in in = {0};
    enum wire_status st;

    feed(&in, wire->data, wire->len);
    st = wire_in_parse(&in, 100);
    buf_reset(reply);
    if (in.reply.len > 0)
        buf_append(reply, in.reply.data, in.reply.len);
    wire_in_free(&in);
    return st;
}

static void test_refusals(void)
{
    static const char *const kv[] = {"A", "b"};
    static const unsigned char end_cant_mpx[16] = {1, 3, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    static const unsigned char end_role[16] = {1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0};
    static const unsigned char unknown[16] = {1, 11, 0, 0, 0, 8, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char values[8] = {1, 10, 0, 0, 0, 0, 0, 0};
    static const unsigned char end_ok[16] = {1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    struct buf wire = {0}, reply = {0};

    /* A second request while one is open: refused, the first goes on. */
    begin(&wire, 1, 1, 1);
    begin(&wire, 2, 1, 1);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_MORE);
    CU_ASSERT(reply.len == 16 && memcmp(reply.data, end_cant_mpx, 16) == 0);
    /* Another role: refused; without KEEP_CONN the connection closes. */
    buf_reset(&wire);
    begin(&wire, 1, 2, 1);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_MORE);
    CU_ASSERT(reply.len == 16 && memcmp(reply.data, end_role, 16) == 0);
    buf_reset(&wire);
    begin(&wire, 1, 3, 0);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    /* Management records: an unknown type named back, GET_VALUES answered (empty). */
    buf_reset(&wire);
    rec(&wire, 42, 0, 0, 0);
    rec(&wire, 9, 0, 0, 0);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_MORE);
    CU_ASSERT(reply.len == 24 && memcmp(reply.data, unknown, 16) == 0 &&
              memcmp(reply.data + 16, values, 8) == 0);
    /* An abort ends the request (END_REQUEST); without KEEP_CONN, the connection too. */
    buf_reset(&wire);
    begin(&wire, 1, 1, 0);
    rec(&wire, 2, 1, 0, 0);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    CU_ASSERT(reply.len == 16 && memcmp(reply.data, end_ok, 16) == 0);
    /* Protocol errors close: a wrong version, a short BEGIN, PARAMS or STDIN after their end,
     * a malformed pair, parameters past the limit. */
    buf_reset(&wire);
    request(&wire, 1, 1, kv, 2, "");
    wire.data[0] = 2;
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    buf_reset(&wire);
    rec(&wire, 1, 1, 4, 0);
    buf_append(&wire, "\0\1\1\0", 4);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    buf_reset(&wire);
    begin(&wire, 1, 1, 1);
    rec(&wire, 4, 1, 0, 0);
    rec(&wire, 4, 1, 0, 0);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    buf_reset(&wire);
    begin(&wire, 1, 1, 1);
    rec(&wire, 4, 1, 3, 0);
    buf_append(&wire, "\5\1a", 3); /* a name of 5 bytes in 1 */
    rec(&wire, 4, 1, 0, 0);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    buf_reset(&wire);
    begin(&wire, 1, 1, 1);
    for (size_t i = 0; i <= WIRE_MAX_PARAM_BYTES / 1000; i++) {
        char chunk[1000];
        memset(chunk, 'x', sizeof(chunk));
        rec(&wire, 4, 1, sizeof(chunk), 0);
        buf_append(&wire, chunk, sizeof(chunk));
    }
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_CLOSE);
    /* Records of other request ids are ignored. */
    buf_reset(&wire);
    rec(&wire, 4, 9, 0, 0);
    rec(&wire, 5, 9, 0, 0);
    CU_ASSERT_EQUAL(parse_fresh(&wire, &reply), WIRE_MORE);
    CU_ASSERT_EQUAL(reply.len, 0);
    buf_free(&wire);
    buf_free(&reply);
}

static void test_answer(void)
{
    static const unsigned char want[] = {1, 6, 1, 2, 0, 3, 0, 0, 'a', 'b', 'c', 1, 6, 1, 2, 0, 0, 0,
                                         0, 1, 3, 1, 2, 0, 8, 0, 0,   0,   0,   0, 0, 0, 0, 0, 0};
    struct buf out = {0};
    static char big[70000];

    wire_put_answer(&out, 258, "abc", 3);
    CU_ASSERT(out.len == sizeof(want) && memcmp(out.data, want, sizeof(want)) == 0);
    /* Longer than a record holds: two STDOUT records, the first a multiple of 8. */
    buf_reset(&out);
    memset(big, 'z', sizeof(big));
    wire_put_answer(&out, 1, big, sizeof(big));
    CU_ASSERT_EQUAL(out.len, 8 + 65528 + 8 + (sizeof(big) - 65528) + 8 + 16);
    CU_ASSERT_EQUAL((unsigned char)out.data[4] << 8 | (unsigned char)out.data[5], 65528);
    CU_ASSERT_EQUAL((unsigned char)out.data[6], 0);
    buf_free(&out);
}

static const struct unit_test wire_tests[] = {
    {"requests: in pieces, two on a kept connection, the body limit", test_requests},
    {"refusals: multiplexing, roles, management, aborts, protocol errors", test_refusals},
    {"answers: STDOUT records, end of stream, END_REQUEST", test_answer},
    {NULL, NULL},
};

int test_wire_register(void)
{
    CU_pSuite s = CU_add_suite("wire", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, wire_tests);
}
