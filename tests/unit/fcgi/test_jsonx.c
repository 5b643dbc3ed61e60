/* jsonx.c: strict parsing of request bodies and the typed getters. */
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "unit.h"

/* Parses a string literal (its length from sizeof, so embedded NULs count) into a heap copy
 * without a terminator, so ASan sees any read past len. */
static enum wnc_err parse_n(const char *s, size_t len, struct jx_body **out)
{
    char *copy = malloc(len ? len : 1);
    enum wnc_err e;

    if (copy == NULL)
        return E_INTERNAL;
    memcpy(copy, s, len);
    *out = NULL;
    e = jx_parse_object(copy, len, out);
    free(copy); /* the body must not point into the request buffer */
    return e;
}

static enum wnc_err parse(const char *s, struct jx_body **out)
{
    return parse_n(s, strlen(s), out);
}

/* Returns the parse result and frees any body. */
static enum wnc_err parse_only(const char *s, size_t len)
{
    struct jx_body *b = NULL;
    enum wnc_err e = parse_n(s, len, &b);

    jx_free(b);
    return e;
}

#define ROW(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static const struct {
    const char *s;
    size_t len;
} good_rows[] = {
    ROW("{}"),
    ROW("{\"a\":1}"),
    ROW(" \t\r\n{ \"a\" : 1 , \"b\" : \"x\" }"),
    ROW("{\"a\":1} \n\t\r "),          /* trailing white space */
    ROW("{\"a\":{\"b\":{\"c\":{}}}}"), /* depth 4 */
    ROW("{\"a\":[[[1]]]}"),            /* depth 4 with arrays */
    ROW("{\"a\":null,\"b\":true,\"c\":false,\"d\":-1.5e-3,\"e\":\"\\u00e9\\n\"}"),
    ROW("{\"a\":\"\\ud83d\\ude00\"}"), /* a surrogate pair escape */
    ROW("{\"\":1}"),
    ROW("{\"a\":\"\\\\ud800\"}"), /* an escaped backslash, then the text "ud800" */
};

static const struct {
    const char *s;
    size_t len;
} bad_rows[] = {
    ROW(""),
    ROW(" "),
    ROW("{"),
    ROW("}"),
    ROW("{\"a\":1"),
    ROW("{\"a\":1} x"), /* trailing garbage */
    ROW("{\"a\":1}{}"),
    ROW("{\"a\":1},"),
    ROW("{}\x0b"), /* not JSON white space */
    ROW("{\"a\":1,}"),
    ROW("{,}"),
    ROW("{\"a\"}"),
    ROW("{\"a\" 1}"),
    ROW("{a:1}"),
    ROW("{\"a\":01}"),
    ROW("{\"a\":.5}"),
    ROW("{\"a\":+1}"),
    ROW("{\"a\":0x10}"),
    ROW("{\"a\":1e}"),
    ROW("{\"a\":-}"),
    ROW("{\"a\":tru}"),
    ROW("{\"a\":TRUE}"),
    ROW("{\"a\":undefined}"),
    ROW("{\"a\":\"\\x41\"}"),
    ROW("{\"a\":\"unterminated}"),
    ROW("{/*c*/}"),
    ROW("\xef\xbb\xbf{}"), /* BOM */
    ROW("[]"),             /* non-object roots */
    ROW("[{\"a\":1}]"),
    ROW("\"x\""),
    ROW("1"),
    ROW("true"),
    ROW("null"),
    ROW("{\"a\":[[[[1]]]]}"), /* depth 5 */
    ROW("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}"),
    ROW("{\"a\":[[[{\"x\":1}]]]}"),
    ROW("{\"a\":\"\xe2\x82\"}"), /* truncated UTF-8 */
    ROW("{\"a\":\"\xff\"}"),
    ROW("{}\0x"),
    ROW("{\"a\":\"\\ud800\"}"), /* lone surrogate escapes */
    ROW("{\"a\":\"\\udc00x\"}"),
    ROW("{\"a\":\"\\ud800\\u0041\"}"),
    ROW("{\"\\udbff\":1}"),
};

static void test_good(void)
{
    for (size_t i = 0; i < sizeof(good_rows) / sizeof(good_rows[0]); i++)
        UNIT_CHECK(parse_only(good_rows[i].s, good_rows[i].len) == E_OK, "good row %zu: %s", i,
                   good_rows[i].s);
}

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++)
        UNIT_CHECK(parse_only(bad_rows[i].s, bad_rows[i].len) == E_INVALID_JSON, "bad row %zu: %s",
                   i, bad_rows[i].s);
}

static void test_deep_nesting(void)
{
    enum { N = 100000 };
    char *s = malloc(2 * N + 16);
    size_t len = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memcpy(s, "{\"a\":", 5);
    len = 5;
    for (int i = 0; i < N; i++)
        s[len++] = '[';
    for (int i = 0; i < N; i++)
        s[len++] = ']';
    s[len++] = '}';
    CU_ASSERT_EQUAL(parse_only(s, len), E_INVALID_JSON);
    free(s);
}

static void test_duplicate_keys(void)
{
    struct jx_body *b = NULL;
    const char *s = NULL;
    size_t len = 0;

    CU_ASSERT_EQUAL_FATAL(parse("{\"a\":\"first\",\"a\":\"second\",\"a\":\"third\"}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_get_string(b, "a", &s, &len), E_OK);
    CU_ASSERT_PTR_NOT_NULL(s);
    jx_free(b);
    /* A duplicate of another type must not confuse the getters. */
    CU_ASSERT_EQUAL_FATAL(parse("{\"a\":\"x\",\"a\":{\"b\":1}}", &b), E_OK);
    enum wnc_err e = jx_get_string(b, "a", &s, &len);
    CU_ASSERT_TRUE(e == E_OK || e == E_INVALID_FIELD);
    jx_free(b);
}

static void test_nul_inside_string(void)
{
    struct jx_body *b = NULL;
    const char *s = NULL;
    size_t len = 0;

    CU_ASSERT_EQUAL_FATAL(parse("{\"text\":\"a\\u0000b\\u0000\"}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_get_string(b, "text", &s, &len), E_OK);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(memcmp(s, "a\0b\0", 4), 0);
    jx_free(b);
}

static void test_strings_utf8(void)
{
    struct jx_body *b = NULL;
    const char *s = NULL;
    size_t len = 0;

    CU_ASSERT_EQUAL_FATAL(parse("{\"t\":\"\xc3\xa9\\u00e9\\ud83d\\ude00\\\"\\\\\\/\"}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_get_string(b, "t", &s, &len), E_OK);
    CU_ASSERT_EQUAL(len, 11);
    CU_ASSERT_EQUAL(memcmp(s, "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80\"\\/", 11), 0);
    jx_free(b);
}

static void test_only_fields(void)
{
    static const char *const allowed[] = {"url", "position", NULL};
    static const char *const none[] = {NULL};
    struct jx_body *b = NULL;
    const char *field = NULL;

    CU_ASSERT_EQUAL_FATAL(parse("{\"url\":\"x\",\"position\":1}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_only_fields(b, allowed, &field), E_OK);
    jx_free(b);
    CU_ASSERT_EQUAL_FATAL(parse("{}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_only_fields(b, none, &field), E_OK);
    jx_free(b);
    CU_ASSERT_EQUAL_FATAL(parse("{\"url\":\"x\",\"isHost\":true}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_only_fields(b, allowed, &field), E_UNKNOWN_FIELD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(field);
    CU_ASSERT_STRING_EQUAL(field, "isHost");
    jx_free(b);
    /* Case matters, and a prefix is not the field. */
    CU_ASSERT_EQUAL_FATAL(parse("{\"URL\":\"x\"}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_only_fields(b, allowed, &field), E_UNKNOWN_FIELD);
    jx_free(b);
    CU_ASSERT_EQUAL_FATAL(parse("{\"pos\":1}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_only_fields(b, allowed, &field), E_UNKNOWN_FIELD);
    jx_free(b);
}

/* A key with a NUL inside ("url\u0000x") must not pass as the field "url" (json-c truncates
 * keys at the NUL): the strict checker refuses such keys outright. */
static void test_bug_nul_in_key(void)
{
    struct jx_body *b = NULL;

    CU_ASSERT_EQUAL(parse("{\"url\\u0000x\":1}", &b), E_INVALID_JSON);
    CU_ASSERT_PTR_NULL(b);
}

static void test_getters(void)
{
    struct jx_body *b = NULL;
    const char *s = NULL;
    size_t len = 0;
    double d = -1;
    int flag = -1;

    CU_ASSERT_EQUAL_FATAL(parse("{\"s\":\"str\",\"i\":42,\"f\":-2.5,\"t\":true,\"n\":null,"
                                "\"o\":{},\"a\":[],\"z\":0,\"big\":1e400,\"tiny\":1e-400,"
                                "\"neg\":-1e400,\"e\":\"\"}",
                                &b),
                          E_OK);
    CU_ASSERT_EQUAL(jx_get_string(b, "s", &s, &len), E_OK);
    CU_ASSERT_STRING_EQUAL(s, "str");
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_EQUAL(jx_get_string(b, "e", &s, &len), E_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(jx_get_number(b, "i", &d), E_OK);
    CU_ASSERT_EQUAL(d, 42.0);
    CU_ASSERT_EQUAL(jx_get_number(b, "f", &d), E_OK);
    CU_ASSERT_EQUAL(d, -2.5);
    CU_ASSERT_EQUAL(jx_get_number(b, "z", &d), E_OK);
    CU_ASSERT_EQUAL(d, 0.0);
    CU_ASSERT_EQUAL(jx_get_bool(b, "t", &flag), E_OK);
    CU_ASSERT_EQUAL(flag, 1);
    CU_ASSERT_EQUAL(jx_get_number(b, "tiny", &d), E_OK);
    CU_ASSERT_EQUAL(d, 0.0);

    /* Missing, or null: E_MISSING_FIELD. The out-parameters stay untouched. */
    s = "untouched", d = 7, flag = 7;
    CU_ASSERT_EQUAL(jx_get_string(b, "missing", &s, &len), E_MISSING_FIELD);
    CU_ASSERT_EQUAL(jx_get_string(b, "n", &s, &len), E_MISSING_FIELD);
    CU_ASSERT_EQUAL(jx_get_number(b, "n", &d), E_MISSING_FIELD);
    CU_ASSERT_EQUAL(jx_get_bool(b, "missing", &flag), E_MISSING_FIELD);
    CU_ASSERT_EQUAL(jx_get_bool(b, "n", &flag), E_MISSING_FIELD);
    CU_ASSERT_EQUAL(jx_get_string(b, "S", &s, &len), E_MISSING_FIELD);

    /* Wrong types: E_INVALID_FIELD, no coercion ("42" is not a number, 0 not false). */
    static const struct {
        const char *field;
        int kind; /* 0 string, 1 number, 2 bool */
    } wrong[] = {
        {"i", 0}, {"t", 0}, {"o", 0}, {"a", 0}, {"s", 1}, {"t", 1},   {"o", 1},
        {"a", 1}, {"s", 2}, {"i", 2}, {"z", 2}, {"o", 2}, {"big", 1}, {"neg", 1},
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        enum wnc_err e = wrong[i].kind == 0   ? jx_get_string(b, wrong[i].field, &s, &len)
                         : wrong[i].kind == 1 ? jx_get_number(b, wrong[i].field, &d)
                                              : jx_get_bool(b, wrong[i].field, &flag);
        UNIT_CHECK(e == E_INVALID_FIELD, "getter %d on field %s: got %s", wrong[i].kind,
                   wrong[i].field, err_code(e));
    }
    CU_ASSERT_STRING_EQUAL(s, "untouched");
    CU_ASSERT_EQUAL(d, 7);
    CU_ASSERT_EQUAL(flag, 7);
    jx_free(b);

    CU_ASSERT_EQUAL_FATAL(parse("{\"p\":\"12\"}", &b), E_OK);
    CU_ASSERT_EQUAL(jx_get_number(b, "p", &d), E_INVALID_FIELD);
    jx_free(b);
    jx_free(NULL);
}

/* jsonx.h: "strict syntax ... nothing after it". A NUL byte after the object is something. */
static void test_bug_trailing_nul(void)
{
    CU_ASSERT_EQUAL(parse_only("{}\0", 3), E_INVALID_JSON);
    CU_ASSERT_EQUAL(parse_only("{\"a\":1}\0\0\0", 10), E_INVALID_JSON);
}

/* NaN and Infinity are not JSON; json-c accepts them even in strict mode. */
static void test_bug_nan_infinity_literals(void)
{
    CU_ASSERT_EQUAL(parse_only("{\"a\":NaN}", 9), E_INVALID_JSON);
    CU_ASSERT_EQUAL(parse_only("{\"a\":Infinity}", 14), E_INVALID_JSON);
    CU_ASSERT_EQUAL(parse_only("{\"a\":-Infinity}", 15), E_INVALID_JSON);
}

/* jsonx.h: "valid UTF-8". json-c's JSON_TOKENER_VALIDATE_UTF8 checks only the byte pattern:
 * overlongs, surrogates and code points past U+10FFFF get through, in values and in keys (a
 * key then comes back in an unknown_field error's "field"). */
static void test_bug_bad_utf8_in_strings(void)
{
    CU_ASSERT_EQUAL(parse_only("{\"a\":\"\xc0\x80\"}", 10), E_INVALID_JSON);
    CU_ASSERT_EQUAL(parse_only("{\"a\":\"\xed\xa0\x80\"}", 11), E_INVALID_JSON);
    CU_ASSERT_EQUAL(parse_only("{\"a\":\"\xf4\x90\x80\x80\"}", 12), E_INVALID_JSON);
    CU_ASSERT_EQUAL(parse_only("{\"\xe0\x80\xaf\":1}", 9), E_INVALID_JSON);
}

/* json-c's strict mode still accepts these, which JSON (RFC 8259) does not. */
static void test_bug_non_json_syntax(void)
{
    UNIT_CHECK(parse_only("{'a':1}", 7) == E_INVALID_JSON, "single-quoted string accepted");
    UNIT_CHECK(parse_only("{\"a\":1.}", 8) == E_INVALID_JSON, "number '1.' accepted");
    UNIT_CHECK(parse_only("{\"a\":-01}", 9) == E_INVALID_JSON, "number '-01' accepted");
    UNIT_CHECK(parse_only("{\"a\":00}", 8) == E_INVALID_JSON, "number '00' accepted");
    UNIT_CHECK(parse_only("{\"a\":\"x\ny\"}", 11) == E_INVALID_JSON, "raw newline accepted");
    UNIT_CHECK(parse_only("{\"a\":\"x\x01y\"}", 11) == E_INVALID_JSON, "raw U+0001 accepted");
}

/* A valid JSON number past the 64-bit integer range must come back as its value (or be
 * refused); json-c clamps it to INT64_MIN / UINT64_MAX instead. */
static void test_bug_big_integers_clamped(void)
{
    struct jx_body *b = NULL;
    double d = 0;

    CU_ASSERT_EQUAL_FATAL(parse("{\"p\":123456789012345678901234567890}", &b), E_OK);
    enum wnc_err e = jx_get_number(b, "p", &d);
    UNIT_CHECK(e == E_INVALID_FIELD || (e == E_OK && d > 1.2e29 && d < 1.3e29),
               "1.23e29 read as %s %.17g", err_code(e), d);
    jx_free(b);
    CU_ASSERT_EQUAL_FATAL(parse("{\"p\":-123456789012345678901234567890}", &b), E_OK);
    e = jx_get_number(b, "p", &d);
    UNIT_CHECK(e == E_INVALID_FIELD || (e == E_OK && d < -1.2e29 && d > -1.3e29),
               "-1.23e29 read as %s %.17g", err_code(e), d);
    jx_free(b);
}

static const struct unit_test jsonx_tests[] = {
    {"accepts objects, trailing white space, depth 4", test_good},
    {"rejects garbage, non-objects, depth 5, bad UTF-8", test_bad},
    {"deep nesting 100000", test_deep_nesting},
    {"duplicate keys do not crash", test_duplicate_keys},
    {"\\u0000 inside a string keeps its length", test_nul_inside_string},
    {"UTF-8 and escapes in strings", test_strings_utf8},
    {"only_fields: unknown fields", test_only_fields},
    {"getters: values, missing, null, wrong types, 1e400", test_getters},
    {"jx_parse_object refuses trailing NUL bytes", test_bug_trailing_nul},
    {"jx_parse_object refuses NaN/Infinity literals", test_bug_nan_infinity_literals},
    {"jx_parse_object refuses overlong/surrogate UTF-8", test_bug_bad_utf8_in_strings},
    {"jx_parse_object refuses non-JSON syntax", test_bug_non_json_syntax},
    {"jx_get_number refuses integers past 64 bits", test_bug_big_integers_clamped},
    {"jx_parse_object refuses a NUL inside a key", test_bug_nul_in_key},
    {NULL, NULL},
};

int test_jsonx_register(void)
{
    CU_pSuite s = CU_add_suite("jsonx", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, jsonx_tests);
}
