/* http.c: the parts that do not need a FastCGI connection (query parameters, response
 * headers); the rest is covered by the integration tests. */
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
    {"response headers: appended, dropped whole when full", test_add_header},
    {NULL, NULL},
};

int test_http_register(void)
{
    CU_pSuite s = CU_add_suite("http", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, http_tests);
}
