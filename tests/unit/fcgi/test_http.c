/* http.c: the parts that do not need a FastCGI connection (query parameters, Content-Length,
 * response headers); the rest is covered by the integration tests. */
#include <stdint.h>
#include <string.h>

#include "http.h"
#include "unit.h"

static void test_query_param(void)
{
    static const struct {
        const char *query, *name;
        size_t size;
        int found;
        const char *value;
    } rows[] = {
        {"room=ABC123&user=u1&ip=127.0.0.1", "room", 16, 1, "ABC123"},
        {"room=ABC123&user=u1&ip=127.0.0.1", "user", 16, 1, "u1"},
        {"room=ABC123&user=u1&ip=127.0.0.1", "ip", 16, 1, "127.0.0.1"},
        {"ip=%3A%3Affff%3a1.2.3.4", "ip", 64, 1, "::ffff:1.2.3.4"},
        {"a=x+y%20z", "a", 16, 1, "x y z"},
        {"a=", "a", 16, 1, ""},
        {"xroom=1&room=2", "room", 16, 1, "2"},
        {"roomy=1", "room", 16, 0, NULL},
        {"room", "room", 16, 0, NULL},
        {"", "room", 16, 0, NULL},
        {"&&room=3&", "room", 16, 1, "3"},
        {"room=abcdef", "room", 7, 1, "abcdef"}, /* fits exactly with its NUL */
        {"room=abcdefg", "room", 7, 0, NULL},    /* does not fit */
        {"room=a%00b", "room", 16, 0, NULL},     /* NUL refused */
        {"room=a%4", "room", 16, 0, NULL},       /* truncated escape */
        {"room=a%", "room", 16, 0, NULL},
        {"room=a%zz", "room", 16, 0, NULL},
        {"room=a%4&x=1", "room", 16, 0, NULL}, /* escape cut by the next parameter */
        /* Found by the fuzzer (tests/fuzz, target http): an empty value with size 0 wrote its
         * NUL past out and answered 1. */
        {"room=", "room", 0, 0, NULL},
        {"user=&0r", "user", 0, 0, NULL},
        {"room=x", "room", 0, 0, NULL},
        {"room=", "room", 1, 1, ""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct http_request req;
        char out[64];
        memset(&req, 0, sizeof(req));
        req.query = rows[i].query;
        memset(out, '#', sizeof(out));
        int found = http_query_param(&req, rows[i].name, out, rows[i].size);
        UNIT_CHECK(found == rows[i].found, "row %zu (%s): found %d", i, rows[i].query, found);
        if (found && rows[i].found)
            UNIT_CHECK(strcmp(out, rows[i].value) == 0, "row %zu: value '%s'", i, out);
        /* Nothing is written past size bytes. */
        for (size_t k = rows[i].size; k < sizeof(out); k++)
            UNIT_CHECK(out[k] == '#', "row %zu: byte %zu written past size %zu", i, k,
                       rows[i].size);
    }
}

/* CONTENT_LENGTH as nginx passes it: the value, or why it is refused, never strtoul's
 * leniency (white space, signs, "-1" as ULONG_MAX) or a wrapped-around number. */
static void test_content_length(void)
{
    static const struct {
        const char *text;
        size_t max;
        enum wnc_err want;
        size_t value;
    } rows[] = {
        {"", HTTP_MAX_BODY, E_OK, 0}, /* no body */
        {"0", HTTP_MAX_BODY, E_OK, 0},
        {"00", HTTP_MAX_BODY, E_OK, 0},
        {"007", HTTP_MAX_BODY, E_OK, 7}, /* leading zeros are digits like any other */
        {"16384", HTTP_MAX_BODY, E_OK, 16384},
        {"000000000000000000000000000016384", HTTP_MAX_BODY, E_OK, 16384},
        {"16385", HTTP_MAX_BODY, E_BODY_TOO_LARGE, 0},
        {"99999999999999999999999999999", HTTP_MAX_BODY, E_BODY_TOO_LARGE, 0},
        /* Signs and white space: malformed. */
        {"-1", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"-0", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"+1", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {" 1", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"1 ", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"\t1", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"1\n", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {" ", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        /* Other number forms. */
        {"1x", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"0x10", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"1e3", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"1.0", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"1,1", HTTP_MAX_BODY, E_INVALID_JSON, 0},
        {"\xef\xbc\x91", HTTP_MAX_BODY, E_INVALID_JSON, 0},          /* a full-width digit one */
        {"12345678901234567890x", HTTP_MAX_BODY, E_INVALID_JSON, 0}, /* malformed wins */
        /* Overflow: past SIZE_MAX is too large, never a small number wrapped around. */
        {"18446744073709551615", SIZE_MAX, E_OK, SIZE_MAX},
        {"18446744073709551616", SIZE_MAX, E_BODY_TOO_LARGE, 0},
        {"18446744073709551620", SIZE_MAX, E_BODY_TOO_LARGE, 0},
        {"184467440737095516150", SIZE_MAX, E_BODY_TOO_LARGE, 0},
        {"18446744073709551615", SIZE_MAX - 1, E_BODY_TOO_LARGE, 0},
        {"1844674407370955161", SIZE_MAX / 10, E_OK, SIZE_MAX / 10},
        {"1844674407370955162", SIZE_MAX / 10, E_BODY_TOO_LARGE, 0},
        /* Limits at the edges. */
        {"0", 0, E_OK, 0},
        {"1", 0, E_BODY_TOO_LARGE, 0},
        {"9", 9, E_OK, 9},
        {"10", 9, E_BODY_TOO_LARGE, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t value = 12345;
        enum wnc_err e = http_content_length(rows[i].text, rows[i].max, &value);
        UNIT_CHECK(e == rows[i].want, "row %zu (\"%s\", max %zu): %s want %s", i, rows[i].text,
                   rows[i].max, err_code(e), err_code(rows[i].want));
        if (rows[i].want == E_OK)
            UNIT_CHECK(value == rows[i].value, "row %zu: value %zu want %zu", i, value,
                       rows[i].value);
        else
            UNIT_CHECK(value == 12345, "row %zu: *out written on failure", i);
    }
}

static void test_add_header(void)
{
    struct http_request req;
    char big[HTTP_MAX_EXTRA_HEADERS];

    memset(&req, 0, sizeof(req));
    http_add_header(&req, "X-Accel-Redirect", "/_wnc/sub/ROOM01-1");
    http_add_header(&req, "Retry-After", "7");
    CU_ASSERT_EQUAL(req.headers_len, strlen(req.headers));
    CU_ASSERT_STRING_EQUAL(req.headers,
                           "X-Accel-Redirect: /_wnc/sub/ROOM01-1\r\nRetry-After: 7\r\n");
    /* A header that does not fit is dropped whole, never cut (http_reply sends headers_len
     * bytes). */
    size_t before = req.headers_len;
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    http_add_header(&req, "X-Big", big);
    CU_ASSERT_EQUAL(req.headers_len, before);
    CU_ASSERT_EQUAL(
        memcmp(req.headers, "X-Accel-Redirect: /_wnc/sub/ROOM01-1\r\nRetry-After: 7\r\n", before),
        0);
}

static const struct unit_test http_tests[] = {
    {"query parameters: decoding, limits, hostile escapes", test_query_param},
    {"Content-Length: digits only, limits, overflow", test_content_length},
    {"response headers: appended, dropped whole when full", test_add_header},
    {NULL, NULL},
};

int test_http_register(void)
{
    CU_pSuite s = CU_add_suite("http", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, http_tests);
}
