/* buf.c: growth across many reallocations, printf, and JSON string escaping. */
#include <string.h>

#include "buf.h"
#include "unit.h"

static void test_growth(void)
{
    struct buf b = {0};
    char expect[10];

    for (int i = 0; i < 10000; i++) {
        buf_append(&b, "0123456789", (size_t)(i % 10) + 1);
        CU_ASSERT_TRUE_FATAL(b.cap > b.len);
        CU_ASSERT_EQUAL_FATAL(b.data[b.len], '\0');
    }
    /* 10000 appends of 1..10 bytes: 1000 rounds of 55 bytes. */
    CU_ASSERT_EQUAL(b.len, 55000);
    for (size_t off = 0, i = 0; off < b.len; i++) {
        size_t n = i % 10 + 1;
        memcpy(expect, "0123456789", n);
        UNIT_CHECK(memcmp(b.data + off, expect, n) == 0, "chunk %zu differs", i);
        off += n;
    }
    buf_free(&b);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(b.cap, 0);
}

static void test_binary_and_large(void)
{
    struct buf b = {0};
    static char big[100000];

    memset(big, 'x', sizeof(big));
    big[500] = '\0';
    buf_append(&b, "a\0b", 3);
    buf_append(&b, big, sizeof(big));
    CU_ASSERT_EQUAL(b.len, 3 + sizeof(big));
    CU_ASSERT_EQUAL(memcmp(b.data, "a\0b", 3), 0);
    CU_ASSERT_EQUAL(memcmp(b.data + 3, big, sizeof(big)), 0);
    CU_ASSERT_EQUAL(b.data[b.len], '\0');
    buf_free(&b);
}

static void test_printf_puts_reset(void)
{
    struct buf b = {0};
    char long_arg[3000];

    buf_puts(&b, "x=");
    buf_printf(&b, "%d,%s,%.2f", 42, "y", 1.5);
    CU_ASSERT_STRING_EQUAL(b.data, "x=42,y,1.50");
    CU_ASSERT_EQUAL(b.len, strlen("x=42,y,1.50"));
    memset(long_arg, 'q', sizeof(long_arg) - 1);
    long_arg[sizeof(long_arg) - 1] = '\0';
    buf_printf(&b, "[%s]", long_arg);
    CU_ASSERT_EQUAL(b.len, 11 + 2 + sizeof(long_arg) - 1);
    CU_ASSERT_EQUAL(b.data[b.len - 1], ']');
    CU_ASSERT_EQUAL(b.data[b.len], '\0');
    buf_printf(&b, "%s", "");
    CU_ASSERT_EQUAL(b.len, 11 + 2 + sizeof(long_arg) - 1);
    buf_reset(&b);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_STRING_EQUAL(b.data, "");
    buf_puts(&b, "again");
    CU_ASSERT_STRING_EQUAL(b.data, "again");
    buf_free(&b);
}

static void test_zeroed_is_harmless(void)
{
    struct buf b = {0};

    buf_reset(&b);
    buf_free(&b);
    buf_free(&b);
    CU_ASSERT_PTR_NULL(b.data);
}

static void test_json_string(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } rows[] = {
        {"", 0, "\"\""},
        {"plain", 5, "\"plain\""},
        {"say \"hi\"", 8, "\"say \\\"hi\\\"\""},
        {"back\\slash", 10, "\"back\\\\slash\""},
        {"\\\"", 2, "\"\\\\\\\"\""},
        {"a\nb\tc\rd", 7, "\"a\\u000ab\\u0009c\\u000dd\""},
        {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"nul\0in", 6, "\"nul\\u0000in\""},
        {"\x7f", 1, "\"\x7f\""},
        {"</script>", 9, "\"</script>\""},
        {"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf b = {0};
        buf_json_string(&b, rows[i].in, rows[i].len);
        UNIT_CHECK(b.len == strlen(rows[i].out) && memcmp(b.data, rows[i].out, b.len) == 0,
                   "json row %zu: got %s want %s", i, b.data, rows[i].out);
        buf_free(&b);
    }
}

/* Appending a string to a buffer that already holds text keeps the text. */
static void test_json_string_appends(void)
{
    struct buf b = {0};

    buf_puts(&b, "{\"k\":");
    buf_json_string(&b, "v\"", 2);
    buf_puts(&b, "}");
    CU_ASSERT_STRING_EQUAL(b.data, "{\"k\":\"v\\\"\"}");
    buf_free(&b);
}

static const struct unit_test buf_tests[] = {
    {"growth over 10000 appends", test_growth},
    {"binary data and one large append", test_binary_and_large},
    {"printf, puts, reset", test_printf_puts_reset},
    {"zeroed buffer reset/free", test_zeroed_is_harmless},
    {"JSON string escaping", test_json_string},
    {"JSON string appends", test_json_string_appends},
    {NULL, NULL},
};

int test_buf_register(void)
{
    CU_pSuite s = CU_add_suite("buf", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, buf_tests);
}
