/* log.c: the JSON string escaping (a table: every escape, valid and invalid UTF-8, cutting at the
 * buffer's end; and random bytes against an independent check of the output), request ids
 * (which are taken, per thread), and whole lines in both formats, read back from a captured
 * stderr. The suite restores WNC_LOG_LEVEL, WNC_LOG_FORMAT and the configuration when it ends. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "unit.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"
#define FFFD "\xEF\xBF\xBD"

static const char *const touched[] = {"WNC_LOG_LEVEL", "WNC_LOG_FORMAT", NULL};
static char *saved[sizeof(touched) / sizeof(touched[0])];

static void restore_env(void)
{
    unit_env_restore(touched, saved);
}

static int log_suite_init(void)
{
    unit_env_save(touched, saved);
    return 0;
}

static int log_suite_clean(void)
{
    unit_env_forget(touched, saved);
    log_clear_request();
    log_init("wnc-unit");
    return config_load();
}

/* ---- log_json_escape ------------------------------------------------------------------------ */

/* s[0..len) for a failure message: printable ASCII as it is, other bytes as \xHH. */
static const char *shown(const char *s, size_t len, char *buf, size_t size)
{
    size_t used = 0;

    for (size_t i = 0; i < len && used + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        used +=
            (size_t)snprintf(buf + used, size - used, c >= 0x20 && c < 0x7F ? "%c" : "\\x%02x", c);
    }
    buf[used] = '\0';
    return buf;
}

static void test_json_escape_table(void)
{
    static const struct {
        const char *in;
        size_t len; /* 0: strlen(in) */
        size_t size;
        const char *want;
    } rows[] = {
        {"", 0, 64, ""},
        {"plain text 123", 0, 64, "plain text 123"},
        /* the two that JSON requires, and the short escapes */
        {"say \"hi\"", 0, 64, "say \\\"hi\\\""},
        {"C:\\dir\\", 0, 64, "C:\\\\dir\\\\"},
        {"\b\f\n\r\t", 0, 64, "\\b\\f\\n\\r\\t"},
        {"/", 0, 64, "/"},
        /* every other control character as \u00XX: C0, NUL inside, DEL, C1 */
        {"\x01", 0, 64, "\\u0001"},
        {"a\x1b[31mred", 0, 64, "a\\u001b[31mred"},
        {"\x1f", 0, 64, "\\u001f"},
        {"a\0b", 3, 64, "a\\u0000b"},
        {"\x7f", 0, 64, "\\u007f"},
        {"\xC2\x80", 0, 64, "\\u0080"},
        {"\xC2\x85", 0, 64, "\\u0085"}, /* NEL */
        {"\xC2\x9F", 0, 64, "\\u009f"},
        {"\xC2\xA0", 0, 64, "\xC2\xA0"}, /* no-break space: not a control */
        /* JavaScript's line terminators */
        {"\xE2\x80\xA8", 0, 64, "\\u2028"},
        {"\xE2\x80\xA9", 0, 64, "\\u2029"},
        {"\xE2\x80\xA7\xE2\x80\xAA", 0, 64, "\xE2\x80\xA7\xE2\x80\xAA"},
        /* valid UTF-8 of every length is copied, the extremes included */
        {"caf\xC3\xA9", 0, 64, "caf\xC3\xA9"},
        {"\xE2\x82\xAC 5", 0, 64, "\xE2\x82\xAC 5"},
        {"\xF0\x9F\x98\x80", 0, 64, "\xF0\x9F\x98\x80"},
        {"\xC2\xA1\xDF\xBF", 0, 64, "\xC2\xA1\xDF\xBF"},
        {"\xE0\xA0\x80\xEF\xBF\xBF", 0, 64, "\xE0\xA0\x80\xEF\xBF\xBF"},
        {"\xED\x9F\xBF\xEE\x80\x80", 0, 64, "\xED\x9F\xBF\xEE\x80\x80"}, /* around surrogates */
        {"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", 0, 64, "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"},
        /* invalid: one U+FFFD per maximal subpart */
        {"\x80", 0, 64, FFFD},
        {"\xBF", 0, 64, FFFD},
        {"a\xFFz", 0, 64, "a" FFFD "z"},
        {"\xF5\xF8\xFE", 0, 64, FFFD FFFD FFFD},
        {"\xC0\x80", 0, 64, FFFD FFFD},                   /* overlong NUL */
        {"\xC1\xBF", 0, 64, FFFD FFFD},                   /* overlong DEL */
        {"\xE0\x80\x80", 0, 64, FFFD FFFD FFFD},          /* overlong */
        {"\xE0\x9F\xBF", 0, 64, FFFD FFFD FFFD},          /* overlong */
        {"\xF0\x8F\xBF\xBF", 0, 64, FFFD FFFD FFFD FFFD}, /* overlong */
        {"\xED\xA0\x80", 0, 64, FFFD FFFD FFFD},          /* surrogate U+D800 */
        {"\xED\xBF\xBF", 0, 64, FFFD FFFD FFFD},          /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", 0, 64, FFFD FFFD FFFD FFFD}, /* above U+10FFFF */
        {"\xC3", 0, 64, FFFD},                            /* cut at the end */
        {"\xE2\x82", 0, 64, FFFD},
        {"\xF0\x9F\x98", 0, 64, FFFD},
        {"\xE2\x82z", 0, 64, FFFD "z"}, /* cut by another character */
        {"\xF0\x9F\x98\"", 0, 64, FFFD "\\\""},
        {"\xC3\xC3\xA9", 0, 64, FFFD "\xC3\xA9"},
        {"\xE2\x82\xAC\xAC", 0, 64, "\xE2\x82\xAC" FFFD},
        {"\xC3\xA9", 1, 64, FFFD}, /* len cuts the character */
        /* a buffer too small: cut before the first unit that does not fit, NUL-terminated */
        {"abc", 0, 1, ""},
        {"abc", 0, 3, "ab"},
        {"abc", 0, 4, "abc"},
        {"a\"", 0, 3, "a"},
        {"a\"", 0, 4, "a\\\""},
        {"\x01", 0, 6, ""},
        {"\x01", 0, 7, "\\u0001"},
        {"\xC3\xA9", 0, 2, ""},
        {"\xC3\xA9", 0, 3, "\xC3\xA9"},
        {"\xF0\x9F\x98\x80!", 0, 4, ""},
        {"\xF0\x9F\x98\x80!", 0, 5, "\xF0\x9F\x98\x80"},
        {"x\xFF", 0, 4, "x"},
        {"x\xFF", 0, 5, "x" FFFD},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[80], a[400], b[400];
        size_t len = rows[i].len ? rows[i].len : strlen(rows[i].in);
        size_t want = strlen(rows[i].want);

        memset(out, 'X', sizeof(out));
        size_t got = log_json_escape(out, rows[i].size, rows[i].in, len);
        UNIT_CHECK(got == want && strcmp(out, rows[i].want) == 0,
                   "row %zu: wrote %zu bytes \"%s\", want %zu \"%s\"", i, got,
                   shown(out, got, a, sizeof(a)), want, shown(rows[i].want, want, b, sizeof(b)));
        UNIT_CHECK(out[rows[i].size] == 'X', "row %zu: wrote past size %zu", i, rows[i].size);
    }
    /* No room at all: nothing written, not even a NUL. */
    char none = 'X';
    CU_ASSERT_EQUAL(log_json_escape(&none, 0, "abc", 3), 0);
    CU_ASSERT_EQUAL(none, 'X');
}

/* The length of a valid UTF-8 character at s (by its code point: the shortest form, no
 * surrogate, at most U+10FFFF), 0 when there is none. Written apart from log.c's decoder. */
static size_t check_utf8(const unsigned char *s, size_t len)
{
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    unsigned long cp = s[0] & (0x7Fu >> n);
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};

    if (n == 0 || s[0] >= 0xF8 || n > len)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3Fu);
    }
    if (cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

/* Whether out (NUL-terminated) is the inside of a JSON string, with only the escapes
 * log_json_escape writes and no raw control character. */
static int check_json_inside(const char *out, char *why, size_t why_len)
{
    const unsigned char *s = (const unsigned char *)out;
    size_t len = strlen(out);

    for (size_t i = 0; i < len;) {
        if (s[i] == '\\') {
            if (i + 1 < len && strchr("\"\\bfnrt", s[i + 1]) != NULL && s[i + 1] != '\0') {
                i += 2;
            } else if (i + 6 <= len && s[i + 1] == 'u' &&
                       strspn((const char *)s + i + 2, "0123456789abcdef") >= 4) {
                i += 6;
            } else {
                snprintf(why, why_len, "bad escape at %zu", i);
                return 0;
            }
        } else if (s[i] == '"' || s[i] < 0x20 || s[i] == 0x7F) {
            snprintf(why, why_len, "raw byte 0x%02x at %zu", s[i], i);
            return 0;
        } else if (s[i] < 0x80) {
            i++;
        } else {
            size_t n = check_utf8(s + i, len - i);
            if (n == 0 || (n == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0)) {
                snprintf(why, why_len, "invalid UTF-8 or a C1 control at %zu", i);
                return 0;
            }
            i += n;
        }
    }
    return 1;
}

static void test_json_escape_random(void)
{
    /* Bytes drawn mostly from the troublesome ranges, so invalid and valid sequences mix. */
    static const unsigned char pool[] = {0x00, 0x01, 0x08, 0x0a, 0x1f, '"',  '\\', 'a',
                                         0x7f, 0x80, 0x9f, 0xa0, 0xa8, 0xa9, 0xbf, 0xc0,
                                         0xc1, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef,
                                         0xf0, 0xf4, 0xf5, 0xff, 0x82, 0x8f, 0x90, 0x98};
    unsigned seed = 12345;
    char in[64], out[64 * 6 + 1], why[64], a[64 * 6 * 4 + 1];

    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in));
        for (size_t k = 0; k < len; k++)
            in[k] = (char)pool[rand_r(&seed) % (int)sizeof(pool)];
        size_t size = (size_t)(rand_r(&seed) % (int)sizeof(out)) + 1;
        size_t got = log_json_escape(out, size, in, len);
        if (!(got < size && out[got] == '\0' && strlen(out) == got)) {
            UNIT_CHECK(0, "round %d: returned %zu for size %zu", round, got, size);
            return;
        }
        if (!check_json_inside(out, why, sizeof(why))) {
            UNIT_CHECK(0, "round %d: %s in \"%s\"", round, why, shown(out, got, a, sizeof(a)));
            return;
        }
    }
    CU_PASS("20000 random inputs escaped into valid JSON string contents");
}

/* ---- request ids ---------------------------------------------------------------------------- */

static void test_request_id_valid(void)
{
    static const struct {
        const char *id;
        int ok;
    } rows[] = {
        {ID_A, 1},
        {"00000000000000000000000000000000", 1},
        {"ffffffffffffffffffffffffffffffff", 1},
        {"0123456789ABCDEF0123456789abcdef", 0}, /* nginx writes lower case */
        {"0123456789abcdef0123456789abcde", 0},
        {"0123456789abcdef0123456789abcdef0", 0},
        {"0123456789abcdef0123456789abcdeg", 0},
        {"0123456789abcdef 123456789abcdef", 0},
        {"0123456789abcdef\n123456789abcdef", 0},
        {"0123456789abcdef0123456789abcde\n", 0},
        {"", 0},
        {NULL, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        UNIT_CHECK(log_request_id_valid(rows[i].id) == rows[i].ok, "row %zu: \"%s\"", i,
                   rows[i].id ? rows[i].id : "(null)");
}

static void *other_thread(void *arg)
{
    (void)arg;
    static char seen[LOG_REQUEST_ID_LEN + 1];
    snprintf(seen, sizeof(seen), "%s", log_request_id()); /* not the main thread's */
    log_set_request(ID_B);
    return seen;
}

static void test_set_request(void)
{
    pthread_t t;
    void *seen = NULL;

    log_set_request(ID_A);
    CU_ASSERT_STRING_EQUAL(log_request_id(), ID_A);
    log_set_request("not an id\n req=" ID_B); /* refused: clears */
    CU_ASSERT_STRING_EQUAL(log_request_id(), "");
    log_set_request(ID_A);
    log_set_request(NULL);
    CU_ASSERT_STRING_EQUAL(log_request_id(), "");
    log_set_request(ID_A);
    log_clear_request();
    CU_ASSERT_STRING_EQUAL(log_request_id(), "");

    /* Per thread: another thread neither sees nor changes this one's. */
    log_set_request(ID_A);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, &seen);
    CU_ASSERT_STRING_EQUAL((const char *)seen, "");
    CU_ASSERT_STRING_EQUAL(log_request_id(), ID_A);
    log_clear_request();
}

/* ---- whole lines ---------------------------------------------------------------------------- */

/* Runs emit with stderr captured, format and level set (then restored); returns the captured
 * text (malloc'd, NUL-terminated), or NULL. */
static char *capture(const char *format, void (*emit)(void))
{
    FILE *tmp = tmpfile();
    int saved_fd;
    char *text = NULL;
    long size;

    if (tmp == NULL)
        return NULL;
    fflush(stderr);
    saved_fd = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    setenv("WNC_LOG_FORMAT", format, 1);
    setenv("WNC_LOG_LEVEL", "info", 1);
    log_init("wnc-unit");
    emit();
    fflush(stderr);
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    restore_env();
    log_init("wnc-unit");
    log_clear_request();
    if (fseek(tmp, 0, SEEK_END) == 0 && (size = ftell(tmp)) >= 0 && fseek(tmp, 0, SEEK_SET) == 0) {
        text = calloc(1, (size_t)size + 1);
        if (text != NULL && fread(text, 1, (size_t)size, tmp) != (size_t)size) {
            free(text);
            text = NULL;
        }
    }
    fclose(tmp);
    return text;
}

static void emit_lines(void)
{
    log_set_request(ID_A);
    log_set_room("ABC123");
    log_info("room %s said \"hi\"\\\n\x01 %s", "ABC123", "caf\xC3\xA9 \xFF");
    log_debug("below the level");
    log_set_request("0123456789abcdef0123456789abcdeX"); /* refused: no id, no room */
    log_warn("no request");
    log_set_request(ID_B);
    log_set_room("bad room!"); /* refused */
    log_error("request without a room");
    log_clear_request();
}

/* Whether line (up to its '\n') starts with an ISO 8601 UTC time with milliseconds, as
 * "2024-01-02T03:04:05.678Z". */
static int is_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    for (size_t i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
            return 0;
    return 1;
}

static void test_json_lines(void)
{
    char *text = capture("json", emit_lines), want[512];
    const char *line;
    int pid = (int)getpid();

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *prefix = "{\"time\":\"";
    /* Three lines, each {"time":"<24 characters>", then the rest exactly. */
    const char *rest[3];
    line = text;
    for (int i = 0; i < 3; i++) {
        UNIT_CHECK(strncmp(line, prefix, strlen(prefix)) == 0, "line %d: %.80s", i, line);
        UNIT_CHECK(is_time(line + strlen(prefix)), "line %d: time: %.40s", i, line);
        rest[i] = line + strlen(prefix) + 24;
        line = strchr(line, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(line);
        line++;
    }
    CU_ASSERT_STRING_EQUAL(line, "");
    snprintf(want, sizeof(want),
             "\",\"level\":\"info\",\"component\":\"wnc-unit\",\"pid\":%d,\"requestId\":\"" ID_A
             "\",\"room\":\"ABC123\",\"msg\":\"room ABC123 said \\\"hi\\\"\\\\\\n\\u0001 "
             "caf\xC3\xA9 " FFFD "\"}\n",
             pid);
    UNIT_CHECK(strncmp(rest[0], want, strlen(want)) == 0, "line 0: %.*s, want %s",
               (int)(strchr(rest[0], '\n') - rest[0] + 1), rest[0], want);
    snprintf(
        want, sizeof(want),
        "\",\"level\":\"warn\",\"component\":\"wnc-unit\",\"pid\":%d,\"msg\":\"no request\"}\n",
        pid);
    UNIT_CHECK(strncmp(rest[1], want, strlen(want)) == 0, "line 1: %.*s, want %s",
               (int)(strchr(rest[1], '\n') - rest[1] + 1), rest[1], want);
    snprintf(want, sizeof(want),
             "\",\"level\":\"error\",\"component\":\"wnc-unit\",\"pid\":%d,\"requestId\":\"" ID_B
             "\",\"msg\":\"request without a room\"}\n",
             pid);
    UNIT_CHECK(strncmp(rest[2], want, strlen(want)) == 0, "line 2: %.*s, want %s",
               (int)(strchr(rest[2], '\n') - rest[2] + 1), rest[2], want);
    free(text);
}

static void test_text_lines(void)
{
    char *text = capture("text", emit_lines), want[160];
    const char *line;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    line = text;
    UNIT_CHECK(is_time(line), "time: %.40s", line);
    snprintf(want, sizeof(want), " wnc-unit[%d] info: room ABC123 said \"hi\"\\\n", (int)getpid());
    UNIT_CHECK(strncmp(line + 24, want, strlen(want)) == 0, "%.*s", (int)strlen(want), line + 24);
    /* The message goes as it is; the id ends the line. */
    line = strstr(text, "\x01 caf\xC3\xA9 \xFF req=" ID_A "\n");
    CU_ASSERT_PTR_NOT_NULL(line);
    line = strstr(text, " warn: no request\n");
    CU_ASSERT_PTR_NOT_NULL(line);
    line = strstr(text, " error: request without a room req=" ID_B "\n");
    CU_ASSERT_PTR_NOT_NULL(line);
    CU_ASSERT_PTR_NULL(strstr(text, "below the level"));
    CU_ASSERT_PTR_NULL(strstr(text, "abcdeX"));
    free(text);
}

static void emit_long(void)
{
    static char big[5000];
    memset(big, '"', sizeof(big) - 1);
    log_set_request(ID_A);
    log_info("%s", big);
    log_clear_request();
}

static void test_long_lines(void)
{
    /* A message longer than a line is cut; the line stays whole: JSON closed, id kept. */
    char *json = capture("json", emit_long), *text = capture("text", emit_long);

    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t jl = strlen(json), tl = strlen(text);
    CU_ASSERT(jl > 2000 && strcmp(json + jl - 5, "\\\"\"}\n") == 0 &&
              strchr(json, '\n') == json + jl - 1);
    CU_ASSERT(strstr(json, "\"requestId\":\"" ID_A "\"") != NULL);
    CU_ASSERT(tl > 1000 && tl < 1400 && strcmp(text + tl - 38, " req=" ID_A "\n") == 0);
    free(json);
    free(text);
}

static void test_format_config(void)
{
    enum log_format f = LOG_FORMAT_JSON;

    CU_ASSERT(log_format_parse("text", &f) && f == LOG_FORMAT_TEXT);
    CU_ASSERT(log_format_parse("json", &f) && f == LOG_FORMAT_JSON);
    CU_ASSERT(!log_format_parse("JSON", &f) && !log_format_parse("", &f) &&
              !log_format_parse(NULL, &f) && !log_format_parse("jsonl", &f));
    /* config_load takes text and json only (empty: the default, text). */
    setenv("WNC_LOG_FORMAT", "json", 1);
    CU_ASSERT_EQUAL(config_load(), 0);
    CU_ASSERT_STRING_EQUAL(config.log_format, "json");
    setenv("WNC_LOG_FORMAT", "", 1);
    CU_ASSERT_EQUAL(config_load(), 0);
    CU_ASSERT_STRING_EQUAL(config.log_format, "text");
    setenv("WNC_LOG_FORMAT", "xml", 1);
    CU_ASSERT_EQUAL(config_load(), -1);
    restore_env();
    CU_ASSERT_EQUAL(config_load(), 0);
}

static const struct unit_test log_tests[] = {
    {"JSON escaping: a table", test_json_escape_table},
    {"JSON escaping: random bytes give valid JSON", test_json_escape_random},
    {"request ids: nginx's form only", test_request_id_valid},
    {"request ids: set, refused, cleared, per thread", test_set_request},
    {"JSON lines", test_json_lines},
    {"text lines", test_text_lines},
    {"long messages keep whole lines", test_long_lines},
    {"WNC_LOG_FORMAT", test_format_config},
    {NULL, NULL},
};

int test_log_register(void)
{
    CU_pSuite s = CU_add_suite("log", log_suite_init, log_suite_clean);
    return s == NULL ? -1 : unit_add_tests(s, log_tests);
}
