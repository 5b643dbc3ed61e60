/* valid.c: every validator fed a table of ordinary and hostile rows. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "unit.h"
#include "valid.h"

#define YT "dQw4w9WgXcQ"
#define LEN_STR (size_t) - 1 /* a row whose length is strlen(in) */

/* ---- UTF-8 ----------------------------------------------------------------------------- */

static const struct {
    const char *in;
    size_t len;
    int ok;
} utf8_rows[] = {
    {"", 0, 1},
    {"plain ascii", LEN_STR, 1},
    {"\xc3\xa9t\xc3\xa9", LEN_STR, 1},        /* été */
    {"\xe2\x82\xac", LEN_STR, 1},             /* € */
    {"\xf0\x9f\x98\x80", LEN_STR, 1},         /* U+1F600 */
    {"\xf4\x8f\xbf\xbf", LEN_STR, 1},         /* U+10FFFF, the last code point */
    {"\xed\x9f\xbf", LEN_STR, 1},             /* U+D7FF, just below the surrogates */
    {"\xee\x80\x80", LEN_STR, 1},             /* U+E000, just above them */
    {"a\0b", 3, 1},                           /* NUL is a valid code point */
    {"\xc0\xaf", LEN_STR, 0},                 /* overlong '/' */
    {"\xc1\xbf", LEN_STR, 0},                 /* overlong */
    {"\xe0\x80\xaf", LEN_STR, 0},             /* overlong, 3 bytes */
    {"\xe0\x9f\xbf", LEN_STR, 0},             /* overlong U+07FF */
    {"\xf0\x80\x80\xaf", LEN_STR, 0},         /* overlong, 4 bytes */
    {"\xf0\x8f\xbf\xbf", LEN_STR, 0},         /* overlong U+FFFF */
    {"\xed\xa0\x80", LEN_STR, 0},             /* U+D800, a surrogate */
    {"\xed\xbf\xbf", LEN_STR, 0},             /* U+DFFF */
    {"\xed\xa0\xbd\xed\xb8\x80", LEN_STR, 0}, /* CESU-8 pair */
    {"\xf4\x90\x80\x80", LEN_STR, 0},         /* U+110000 */
    {"\xf5\x80\x80\x80", LEN_STR, 0},         /* lead byte past U+10FFFF */
    {"\xf8\x88\x80\x80\x80", LEN_STR, 0},     /* 5-byte form */
    {"\xe2\x82", LEN_STR, 0},                 /* truncated */
    {"ok\xf0\x9f\x98", LEN_STR, 0},           /* truncated at the end */
    {"\xf0\x9f\x98\x80", 3, 0},               /* truncated by len */
    {"\x80", LEN_STR, 0},                     /* lone continuation */
    {"a\xbf", LEN_STR, 0},
    {"\xc3\x28", LEN_STR, 0}, /* bad continuation */
    {"\xe2\x28\xa1", LEN_STR, 0},
    {"\xfe", LEN_STR, 0},
    {"\xff", LEN_STR, 0},
};

static void test_utf8_table(void)
{
    for (size_t i = 0; i < sizeof(utf8_rows) / sizeof(utf8_rows[0]); i++) {
        size_t len = utf8_rows[i].len == LEN_STR ? strlen(utf8_rows[i].in) : utf8_rows[i].len;
        UNIT_CHECK(valid_utf8(utf8_rows[i].in, len) == utf8_rows[i].ok, "utf8 row %zu", i);
    }
}

/* ---- room ids ---------------------------------------------------------------------------- */

static const struct {
    const char *in;
    enum wnc_err err;
    const char *out;
} room_rows[] = {
    {"ABC123", E_OK, "ABC123"},
    {"abc123", E_OK, "ABC123"},
    {"aBz09Z", E_OK, "ABZ09Z"},
    {"000000", E_OK, "000000"},
    {"ZZZZZZ", E_OK, "ZZZZZZ"},
    {"ABC12", E_INVALID_ROOM_ID, NULL},
    {"ABC1234", E_INVALID_ROOM_ID, NULL},
    {"", E_INVALID_ROOM_ID, NULL},
    {"ABC 12", E_INVALID_ROOM_ID, NULL},
    {"ABC-12", E_INVALID_ROOM_ID, NULL},
    {"ABC_12", E_INVALID_ROOM_ID, NULL},
    {"ABC12\n", E_INVALID_ROOM_ID, NULL},
    {"../../", E_INVALID_ROOM_ID, NULL},
    {"%41BC12", E_INVALID_ROOM_ID, NULL},
    {"\xc3\x84"
     "BC12",
     E_INVALID_ROOM_ID, NULL}, /* ÄBC12: 6 bytes, 5 characters */
    {"\xc3\x84"
     "BC1",
     E_INVALID_ROOM_ID, NULL}, /* ÄBC1 */
    {"\xef\xbc\xa1"
     "BC",
     E_INVALID_ROOM_ID, NULL}, /* fullwidth A */
    {"ABC\0"
     "12",
     E_INVALID_ROOM_ID, NULL}, /* NUL inside */
    {"ABC12\x7f", E_INVALID_ROOM_ID, NULL},
    {NULL, E_INVALID_ROOM_ID, NULL},
};

static void test_room_id_table(void)
{
    for (size_t i = 0; i < sizeof(room_rows) / sizeof(room_rows[0]); i++) {
        char out[ROOM_ID_LEN + 1] = "";
        enum wnc_err e = valid_room_id(room_rows[i].in, out);
        UNIT_CHECK(e == room_rows[i].err, "room row %zu: got %s", i, err_code(e));
        if (room_rows[i].out != NULL && e == E_OK)
            UNIT_CHECK(strcmp(out, room_rows[i].out) == 0, "room row %zu: out %s", i, out);
    }
}

/* valid.h: "writes its normalised result through out-parameters only on success". */
static void test_bug_out_untouched_on_failure(void)
{
    char out[ROOM_ID_LEN + 1] = "SENTIN";

    char uid[USER_ID_LEN + 1] = "sentinel";
    struct video_url v;
    const char *cause;

    UNIT_CHECK(valid_room_id("abcde!", out) == E_INVALID_ROOM_ID && strcmp(out, "SENTIN") == 0,
               "valid_room_id(\"abcde!\") failed but wrote '%s'", out);
    UNIT_CHECK(valid_user_id("123e4567-e89b-42d3-a456-42661417400g", uid) == E_INVALID_USER_ID &&
                   strcmp(uid, "sentinel") == 0,
               "valid_user_id failed but wrote '%.36s'", uid);
    memset(&v, 0, sizeof(v));
    v.kind = VIDEO_HLS;
    strcpy(v.youtube_id, "sentinel");
    UNIT_CHECK(valid_video_url("https://youtu.be/abc", 20, &v, &cause) == E_INVALID_FIELD &&
                   v.kind == VIDEO_HLS && strcmp(v.youtube_id, "sentinel") == 0,
               "valid_video_url failed but wrote kind %d id '%s'", (int)v.kind, v.youtube_id);
}

/* ---- user ids ---------------------------------------------------------------------------- */

static const struct {
    const char *in;
    enum wnc_err err;
    const char *out;
} user_rows[] = {
    {"123e4567-e89b-42d3-a456-426614174000", E_OK, "123e4567-e89b-42d3-a456-426614174000"},
    {"123E4567-E89B-42D3-A456-426614174ABC", E_OK, "123e4567-e89b-42d3-a456-426614174abc"},
    {"00000000-0000-0000-0000-000000000000", E_OK, "00000000-0000-0000-0000-000000000000"},
    {"123e4567-e89b-42d3-a456-42661417400", E_INVALID_USER_ID, NULL},   /* 35 */
    {"123e4567-e89b-42d3-a456-4266141740000", E_INVALID_USER_ID, NULL}, /* 37 */
    {"123e4567e89b42d3a456426614174000", E_INVALID_USER_ID, NULL},      /* no dashes */
    {"123e4567-e89b-42d3-a456_426614174000", E_INVALID_USER_ID, NULL},
    {"123e456-7e89b-42d3-a456-426614174000", E_INVALID_USER_ID, NULL}, /* dash moved */
    {"123e4567-e89b-42d3-a456-42661417400g", E_INVALID_USER_ID, NULL},
    {"{23e4567-e89b-42d3-a456-426614174000", E_INVALID_USER_ID, NULL},
    {"123e4567-e89b-42d3-a456-4266141740\xc3\xa9", E_INVALID_USER_ID, NULL},
    {"123e4567-e89b-42d3-a456-42661417\0"
     "000",
     E_INVALID_USER_ID, NULL},
    {"------------------------------------", E_INVALID_USER_ID, NULL},
    {"", E_INVALID_USER_ID, NULL},
    {NULL, E_INVALID_USER_ID, NULL},
};

static void test_user_id_table(void)
{
    for (size_t i = 0; i < sizeof(user_rows) / sizeof(user_rows[0]); i++) {
        char out[USER_ID_LEN + 1] = "";
        enum wnc_err e = valid_user_id(user_rows[i].in, out);
        UNIT_CHECK(e == user_rows[i].err, "user row %zu: got %s", i, err_code(e));
        if (user_rows[i].out != NULL && e == E_OK)
            UNIT_CHECK(strcmp(out, user_rows[i].out) == 0, "user row %zu: out %s", i, out);
    }
}

static void test_user_id_accepts_generated(void)
{
    for (int i = 0; i < 100; i++) {
        char id[USER_ID_LEN + 1], out[USER_ID_LEN + 1];
        CU_ASSERT_EQUAL_FATAL(ids_user(id), E_OK);
        CU_ASSERT_EQUAL(valid_user_id(id, out), E_OK);
        CU_ASSERT_STRING_EQUAL(out, id);
    }
}

/* ---- tokens ------------------------------------------------------------------------------ */

static void test_token(void)
{
    char tok[TOKEN_LEN + 1], bad[TOKEN_LEN + 2];

    CU_ASSERT_EQUAL_FATAL(ids_token("ABC123", tok), E_OK);
    CU_ASSERT_EQUAL(valid_token(tok, "ABC123"), E_OK);
    CU_ASSERT_EQUAL(valid_token(tok, "XYZ789"), E_FORBIDDEN);
    CU_ASSERT_EQUAL(valid_token(tok, "ABC124"), E_FORBIDDEN);

    memcpy(bad, tok, TOKEN_LEN - 1); /* one short */
    bad[TOKEN_LEN - 1] = '\0';
    CU_ASSERT_EQUAL(valid_token(bad, "ABC123"), E_UNAUTHORIZED);
    memcpy(bad, tok, TOKEN_LEN + 1); /* one long */
    bad[TOKEN_LEN] = 'A';
    bad[TOKEN_LEN + 1] = '\0';
    CU_ASSERT_EQUAL(valid_token(bad, "ABC123"), E_UNAUTHORIZED);

    static const struct {
        size_t at;
        char c;
    } edits[] = {
        {ROOM_ID_LEN, '-'},
        {ROOM_ID_LEN, '_'},
        {ROOM_ID_LEN + 1, '+'},
        {ROOM_ID_LEN + 5, '/'},
        {TOKEN_LEN - 1, '='},
        {ROOM_ID_LEN + 3, ' '},
        {ROOM_ID_LEN + 3, '.'},
        {0, '-'},
        {2, '_'},
        {ROOM_ID_LEN + 2, '\x80'},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        memcpy(bad, tok, TOKEN_LEN + 1);
        bad[edits[i].at] = edits[i].c;
        UNIT_CHECK(valid_token(bad, "ABC123") == E_UNAUTHORIZED, "token edit %zu", i);
    }
    memcpy(bad, tok, TOKEN_LEN + 1);
    bad[ROOM_ID_LEN + 10] = '\0'; /* NUL inside */
    CU_ASSERT_EQUAL(valid_token(bad, "ABC123"), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(valid_token("", "ABC123"), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(valid_token(NULL, "ABC123"), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(valid_token("Bearer", "ABC123"), E_UNAUTHORIZED);
}

/* ---- names ------------------------------------------------------------------------------- */

static const struct {
    const char *in;
    size_t len;
    enum wnc_err err;
    const char *out, *key;
} name_rows[] = {
    {"Al", LEN_STR, E_OK, "Al", "al"},
    {"Alice", LEN_STR, E_OK, "Alice", "alice"},
    {"  Bob  ", LEN_STR, E_OK, "Bob", "bob"},
    {"Mixed Case 42", LEN_STR, E_OK, "Mixed Case 42", "mixed case 42"},
    {"a-b_c.d!e?f", LEN_STR, E_OK, "a-b_c.d!e?f", "a-b_c.d!e?f"},
    {"..", LEN_STR, E_OK, "..", ".."},
    {"A", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {" A ", LEN_STR, E_INVALID_FIELD, NULL, NULL}, /* 1 after trimming */
    {"", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"      ", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob\tX", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob\n", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"\tBob", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob<", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"<img src=x onerror=alert(1)>", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob\"", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bo'b", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob\\", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob/x", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Bob@x", LEN_STR, E_INVALID_FIELD, NULL, NULL},
    {"Zo\xc3\xab", LEN_STR, E_INVALID_FIELD, NULL, NULL}, /* Zoë */
    {"\xc2\xa0"
     "Bob",
     LEN_STR, E_INVALID_FIELD, NULL, NULL},     /* NBSP is not trimmed */
    {"Bob\0x", 5, E_INVALID_FIELD, NULL, NULL}, /* NUL inside */
    {"Bob\0", 4, E_INVALID_FIELD, NULL, NULL},  /* NUL at the end */
    {"\0Bob", 4, E_INVALID_FIELD, NULL, NULL},
    {"Bob\x7f", LEN_STR, E_INVALID_FIELD, NULL, NULL},
};

static void test_name_table(void)
{
    for (size_t i = 0; i < sizeof(name_rows) / sizeof(name_rows[0]); i++) {
        char out[NAME_MAX_CHARS + 1] = "", key[NAME_MAX_CHARS + 1] = "";
        const char *cause = NULL;
        size_t len = name_rows[i].len == LEN_STR ? strlen(name_rows[i].in) : name_rows[i].len;
        enum wnc_err e = valid_name(name_rows[i].in, len, out, key, &cause);
        UNIT_CHECK(e == name_rows[i].err, "name row %zu: got %s", i, err_code(e));
        if (e == E_OK && name_rows[i].out != NULL) {
            UNIT_CHECK(strcmp(out, name_rows[i].out) == 0, "name row %zu: out '%s'", i, out);
            UNIT_CHECK(strcmp(key, name_rows[i].key) == 0, "name row %zu: key '%s'", i, key);
        }
        if (name_rows[i].err != E_OK)
            UNIT_CHECK(cause != NULL, "name row %zu: no cause", i);
    }
}

static void test_name_lengths(void)
{
    char in[64], out[NAME_MAX_CHARS + 1], key[NAME_MAX_CHARS + 1];
    const char *cause = NULL;

    memset(in, 'X', sizeof(in));
    CU_ASSERT_EQUAL(valid_name(in, 2, out, key, &cause), E_OK);
    CU_ASSERT_EQUAL(valid_name(in, 50, out, key, &cause), E_OK);
    CU_ASSERT_EQUAL(strlen(out), 50);
    CU_ASSERT_EQUAL(strlen(key), 50);
    CU_ASSERT_EQUAL(key[0], 'x');
    CU_ASSERT_EQUAL(valid_name(in, 51, out, key, &cause), E_INVALID_FIELD);
    CU_ASSERT_EQUAL(valid_name(in, 1, out, key, &cause), E_INVALID_FIELD);
    /* 50 characters with spaces around them still fit: trimming comes first. */
    in[0] = in[1] = ' ';
    in[52] = in[53] = ' ';
    CU_ASSERT_EQUAL(valid_name(in, 54, out, key, &cause), E_OK);
    CU_ASSERT_EQUAL(strlen(out), 50);
    CU_ASSERT_EQUAL(out[0], 'X');
    /* Inner spaces count. */
    memset(in, 'X', sizeof(in));
    in[25] = ' ';
    CU_ASSERT_EQUAL(valid_name(in, 51, out, key, &cause), E_INVALID_FIELD);
}

/* ---- chat text --------------------------------------------------------------------------- */

static const struct {
    const char *in;
    size_t len;
    enum wnc_err err;
    size_t start, out_len; /* where the trimmed text is, on success */
} chat_rows[] = {
    {"hi", LEN_STR, E_OK, 0, 2},
    {"  hi  ", LEN_STR, E_OK, 2, 2},
    {"\t\nhi there\n", LEN_STR, E_OK, 2, 8},
    {"line1\nline2\ttab", LEN_STR, E_OK, 0, 15},
    {"<img src=x onerror=alert(1)>", LEN_STR, E_OK, 0, 28},
    {"\"quoted\" \\ back", LEN_STR, E_OK, 0, 15},
    {"\xc2\xa0 \xe3\x80\x80hi\xef\xbb\xbf", LEN_STR, E_OK, 6, 2}, /* Unicode spaces around */
    {"a\xe3\x80\x80"
     "b",
     LEN_STR, E_OK, 0, 5}, /* inner space kept */
    {"\xf0\x9f\x98\x80", LEN_STR, E_OK, 0, 4},
    {"", LEN_STR, E_INVALID_FIELD, 0, 0},
    {"   ", LEN_STR, E_INVALID_FIELD, 0, 0},
    {"\t\n \n", LEN_STR, E_INVALID_FIELD, 0, 0},
    {"\xc2\xa0", LEN_STR, E_INVALID_FIELD, 0, 0},     /* U+00A0 */
    {"\xe3\x80\x80", LEN_STR, E_INVALID_FIELD, 0, 0}, /* U+3000 */
    {"\xef\xbb\xbf", LEN_STR, E_INVALID_FIELD, 0, 0}, /* U+FEFF */
    {"\xe2\x80\x83\xe2\x80\xa8\xe2\x80\xaf\xe1\x9a\x80", LEN_STR, E_INVALID_FIELD, 0, 0},
    {" \xc2\xa0\xe3\x80\x80\xef\xbb\xbf ", LEN_STR, E_INVALID_FIELD, 0, 0},
    {"a\x01"
     "b",
     LEN_STR, E_INVALID_FIELD, 0, 0},
    {"a\x1b[31mred", LEN_STR, E_INVALID_FIELD, 0, 0},
    {"a\x7f", LEN_STR, E_INVALID_FIELD, 0, 0},
    {"a\x0b"
     "b",
     LEN_STR, E_INVALID_FIELD, 0, 0},
    {"a\0b", 3, E_INVALID_FIELD, 0, 0},
    {"ab\0", 3, E_INVALID_FIELD, 0, 0},
    {"\xc0\xaf", LEN_STR, E_INVALID_FIELD, 0, 0},         /* overlong */
    {"hi \xe0\x80\xaf", LEN_STR, E_INVALID_FIELD, 0, 0},  /* overlong */
    {"\xed\xa0\x80", LEN_STR, E_INVALID_FIELD, 0, 0},     /* surrogate */
    {"\xed\xb0\x80x", LEN_STR, E_INVALID_FIELD, 0, 0},    /* lone low surrogate */
    {"hi\xe2\x82", LEN_STR, E_INVALID_FIELD, 0, 0},       /* truncated */
    {"\xf4\x90\x80\x80", LEN_STR, E_INVALID_FIELD, 0, 0}, /* > U+10FFFF */
    {"\xff hi", LEN_STR, E_INVALID_FIELD, 0, 0},
};

static void test_chat_table(void)
{
    for (size_t i = 0; i < sizeof(chat_rows) / sizeof(chat_rows[0]); i++) {
        const char *in = chat_rows[i].in, *start = NULL, *cause = NULL;
        size_t len = chat_rows[i].len == LEN_STR ? strlen(in) : chat_rows[i].len, out_len = 0;
        enum wnc_err e = valid_chat_text(in, len, &start, &out_len, &cause);
        UNIT_CHECK(e == chat_rows[i].err, "chat row %zu: got %s", i, err_code(e));
        if (e == E_OK && chat_rows[i].err == E_OK) {
            UNIT_CHECK(start == in + chat_rows[i].start, "chat row %zu: start", i);
            UNIT_CHECK(out_len == chat_rows[i].out_len, "chat row %zu: len %zu", i, out_len);
        }
        if (chat_rows[i].err != E_OK)
            UNIT_CHECK(cause != NULL, "chat row %zu: no cause", i);
    }
}

/* Fills buf with n copies of the UTF-8 sequence unit and returns the byte length. */
static size_t repeat(char *buf, const char *unit, size_t n)
{
    size_t u = strlen(unit);

    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * u, unit, u);
    return n * u;
}

static void test_chat_length_in_code_points(void)
{
    char *buf = malloc(4 * 1002 + 16);
    const char *start, *cause;
    size_t out_len, len;

    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    len = repeat(buf, "a", 1000);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_OK);
    len = repeat(buf, "a", 1001);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_INVALID_FIELD);
    /* 1000 two-byte characters are 2000 bytes but 1000 characters. */
    len = repeat(buf, "\xc3\xa9", 1000);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_OK);
    CU_ASSERT_EQUAL(out_len, 2000);
    len = repeat(buf, "\xc3\xa9", 1001);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_INVALID_FIELD);
    len = repeat(buf, "\xe2\x82\xac", 1000);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_OK);
    len = repeat(buf, "\xf0\x9f\x98\x80", 1000);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_OK);
    CU_ASSERT_EQUAL(out_len, 4000);
    len = repeat(buf, "\xf0\x9f\x98\x80", 1001);
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_INVALID_FIELD);
    /* Trimming comes before counting: 1000 characters inside white space are fine. */
    buf[0] = ' ';
    len = 1 + repeat(buf + 1, "b", 1000);
    memcpy(buf + len, "\xe3\x80\x80", 3);
    len += 3;
    CU_ASSERT_EQUAL(valid_chat_text(buf, len, &start, &out_len, &cause), E_OK);
    CU_ASSERT_PTR_EQUAL(start, buf + 1);
    CU_ASSERT_EQUAL(out_len, 1000);
    free(buf);
}

/* valid.h: no control characters but tab, newline and carriage return. The C1 controls
 * (U+0080..U+009F, e.g. U+0085 NEL) are refused. */
static void test_bug_chat_rejects_cr_and_c1(void)
{
    const char *start, *cause;
    size_t out_len;

    CU_ASSERT_EQUAL(valid_chat_text("a\rb", 3, &start, &out_len, &cause), E_OK);
    CU_ASSERT_EQUAL(valid_chat_text("a\xc2\x85"
                                    "b",
                                    4, &start, &out_len, &cause),
                    E_INVALID_FIELD);
    CU_ASSERT_EQUAL(valid_chat_text("a\xc2\x9b"
                                    "31m",
                                    6, &start, &out_len, &cause),
                    E_INVALID_FIELD);
}

/* ---- video URLs -------------------------------------------------------------------------- */

static const struct {
    const char *url;
    enum wnc_err err;
    enum video_kind kind;
    const char *youtube_id;
} url_rows[] = {
    {"https://www.youtube.com/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://youtube.com/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"http://www.youtube.com/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com/watch?v=" YT "&t=42s", E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com/watch?feature=share&v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com/watch?list=PL1&index=2&v=" YT "#t=3", E_OK, VIDEO_YOUTUBE, YT},
    {"https://youtu.be/" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://youtu.be/" YT "?t=3", E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com/shorts/" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://youtube.com/shorts/" YT "?feature=share", E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com/embed/" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube-nocookie.com/embed/" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://music.youtube.com/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://m.youtube.com/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"HTTPS://WWW.YOUTUBE.COM/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com:443/watch?v=" YT, E_OK, VIDEO_YOUTUBE, YT},
    {"https://www.youtube.com/watch?v=a-_0123456Z", E_OK, VIDEO_YOUTUBE, "a-_0123456Z"},
    {"https://www.youtube.com/watch?v=short", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://www.youtube.com/watch?v=" YT "xx", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://www.youtube.com/watch?v=" YT "%20", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://www.youtube.com/watch?xv=" YT, E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://www.youtube.com/watch?list=PL1", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://www.youtube.com/", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://www.youtube.com/channel/UC123", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://youtu.be/", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://youtu.be/abc", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://youtube.com.evil.example/watch?v=" YT, E_OK, VIDEO_FILE, ""},
    {"https://youtube.com@evil.example/watch?v=" YT, E_OK, VIDEO_FILE, ""},
    {"https://cdn.example.com/live/stream.m3u8", E_OK, VIDEO_HLS, ""},
    {"https://cdn.example.com/a/master.m3u8?token=abc&x=1", E_OK, VIDEO_HLS, ""},
    {"https://cdn.example.com/a/MASTER.M3U8", E_OK, VIDEO_HLS, ""},
    {"https://cdn.example.com/a.m3u8#frag", E_OK, VIDEO_HLS, ""},
    {"http://127.0.0.1:8081/hls/index.m3u8", E_OK, VIDEO_HLS, ""},
    {"https://cdn.example.com/a.mp4?next=.m3u8", E_OK, VIDEO_FILE, ""},
    {"https://cdn.example.com/a.m3u8.mp4", E_OK, VIDEO_FILE, ""},
    {"https://example.com/video.mp4", E_OK, VIDEO_FILE, ""},
    {"https://example.com/video.webm", E_OK, VIDEO_FILE, ""},
    {"http://example.com/video.ogg?x=1", E_OK, VIDEO_FILE, ""},
    {"http://user:pw@example.com:8080/v", E_OK, VIDEO_FILE, ""},
    {"https://example.com", E_OK, VIDEO_FILE, ""},
    {"javascript:alert(1)", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"JavaScript://example.com/%0aalert(1)", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"data:video/mp4;base64,AAAA", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"ftp://example.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"file:///etc/passwd", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"//example.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"example.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https:example.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {" https://example.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://example.com/a b.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://exa mple.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://example.com/a.mp4\n", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://example.com/\ta.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://ex\xc3\xa4mple.com/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://example.com/a\x7f.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"http://", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https:///a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://?x=1", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://#x", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://user@/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"https://:8080/a.mp4", E_INVALID_FIELD, VIDEO_FILE, NULL},
    {"", E_INVALID_FIELD, VIDEO_FILE, NULL},
};

static void test_video_url_table(void)
{
    for (size_t i = 0; i < sizeof(url_rows) / sizeof(url_rows[0]); i++) {
        struct video_url v;
        const char *cause = NULL;
        enum wnc_err e = valid_video_url(url_rows[i].url, strlen(url_rows[i].url), &v, &cause);
        UNIT_CHECK(e == url_rows[i].err, "url row %zu %s: got %s", i, url_rows[i].url, err_code(e));
        if (e == E_OK && url_rows[i].err == E_OK) {
            UNIT_CHECK(v.kind == url_rows[i].kind, "url row %zu: kind %d", i, (int)v.kind);
            UNIT_CHECK(strcmp(v.youtube_id, url_rows[i].youtube_id) == 0, "url row %zu: id %s", i,
                       v.youtube_id);
        }
        if (url_rows[i].err != E_OK)
            UNIT_CHECK(cause != NULL, "url row %zu: no cause", i);
    }
}

static void test_video_url_limits(void)
{
    char url[VIDEO_URL_MAX_BYTES + 8];
    struct video_url v;
    const char *cause = NULL;
    static const char head[] = "https://example.com/";

    memcpy(url, head, sizeof(head) - 1);
    memset(url + sizeof(head) - 1, 'a', sizeof(url) - sizeof(head) + 1);
    memcpy(url + VIDEO_URL_MAX_BYTES - 4, ".mp4", 4);
    CU_ASSERT_EQUAL(valid_video_url(url, VIDEO_URL_MAX_BYTES, &v, &cause), E_OK);
    CU_ASSERT_EQUAL(v.kind, VIDEO_FILE);
    memcpy(url + VIDEO_URL_MAX_BYTES - 4, "a.mp4", 5);
    CU_ASSERT_EQUAL(valid_video_url(url, VIDEO_URL_MAX_BYTES + 1, &v, &cause), E_INVALID_FIELD);
    /* An embedded NUL: the length says there is more after it. */
    CU_ASSERT_EQUAL(valid_video_url("https://e.com/a\0.mp4", 20, &v, &cause), E_INVALID_FIELD);
}

/* ---- numbers ----------------------------------------------------------------------------- */

static void test_position(void)
{
    const char *cause = NULL;
    static const double ok[] = {0.0, 0.001, 1.5, 3600, POSITION_MAX_S};
    const double bad[] = {-1e-9, -1,   POSITION_MAX_S + 1, DBL_MAX,  -DBL_MAX,
                          NAN,   -NAN, INFINITY,           -INFINITY};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        UNIT_CHECK(valid_position(ok[i], &cause) == E_OK, "position %g", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cause = NULL;
        UNIT_CHECK(valid_position(bad[i], &cause) == E_INVALID_FIELD, "position %g", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(cause);
    }
}

static void test_rate(void)
{
    const char *cause = NULL;
    static const double ok[] = {RATE_MIN, 0.5, 1, 1.25, 2, RATE_MAX};
    const double bad[] = {0, -1, 0.2499, 4.0001, 100, NAN, INFINITY, -INFINITY};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        UNIT_CHECK(valid_rate(ok[i], &cause) == E_OK, "rate %g", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cause = NULL;
        UNIT_CHECK(valid_rate(bad[i], &cause) == E_INVALID_FIELD, "rate %g", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(cause);
    }
}

/* ---- watching together: subtitles, reactions, the queue ----------------------------------- */

static void test_http_url(void)
{
    const char *cause = NULL;
    static const char *const ok[] = {"https://example.com/a.vtt", "http://127.0.0.1:8081/s.srt?x=1",
                                     "https://www.youtube.com/watch?v=x"};
    static const char *const bad[] = {
        "javascript:alert(1)",         "file:///etc/passwd", "https://", "https://e.com/a b.vtt",
        "https://e\xc3\xa4.com/a.vtt", "//e.com/a.vtt",      ""};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        UNIT_CHECK(valid_http_url(ok[i], strlen(ok[i]), &cause) == E_OK, "url %s", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cause = NULL;
        UNIT_CHECK(valid_http_url(bad[i], strlen(bad[i]), &cause) == E_INVALID_FIELD, "url %s",
                   bad[i]);
        CU_ASSERT_PTR_NOT_NULL(cause);
    }
    CU_ASSERT_EQUAL(valid_http_url("https://e.com/a\0.vtt", 20, &cause), E_INVALID_FIELD);
}

static void test_subtitle_label(void)
{
    const char *cause = NULL, *start = NULL;
    size_t len = 0;
    char label[SUBTITLE_LABEL_MAX_CHARS * 2 + 3];

    CU_ASSERT_EQUAL(valid_subtitle_label("  English  ", 11, &start, &len, &cause), E_OK);
    CU_ASSERT_EQUAL(len, 7);
    CU_ASSERT_NSTRING_EQUAL(start, "English", 7);
    CU_ASSERT_EQUAL(valid_subtitle_label("Portugu\xc3\xaas", 10, &start, &len, &cause), E_OK);
    static const char *const bad[] = {"",     "   ",      "a\nb", "a\tb",
                                      "a\rb", "\xc2\x85", "\xff", "a\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cause = NULL;
        UNIT_CHECK(valid_subtitle_label(bad[i], strlen(bad[i]), &start, &len, &cause) ==
                       E_INVALID_FIELD,
                   "label row %zu", i);
        CU_ASSERT_PTR_NOT_NULL(cause);
    }
    /* 50 two-byte characters pass, 51 do not: the limit counts characters. */
    for (int i = 0; i < SUBTITLE_LABEL_MAX_CHARS + 1; i++)
        memcpy(label + 2 * i, "\xc3\xa9", 2);
    CU_ASSERT_EQUAL(valid_subtitle_label(label, 2 * SUBTITLE_LABEL_MAX_CHARS, &start, &len, &cause),
                    E_OK);
    CU_ASSERT_EQUAL(
        valid_subtitle_label(label, 2 * SUBTITLE_LABEL_MAX_CHARS + 2, &start, &len, &cause),
        E_INVALID_FIELD);
}

static void test_lang(void)
{
    const char *cause = NULL;
    static const char *const ok[] = {"en",     "EN",  "pt-BR",     "zh-Hant-TW",
                                     "es-419", "ast", "de-CH-1901"};
    static const char *const bad[] = {
        "",      "e",     "english", "en-",          "-en",         "en--US",
        "en_US", "en US", "e1",      "en-abcdefghi", "en-\xc3\xa9", "en-US\n"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        UNIT_CHECK(valid_lang(ok[i], strlen(ok[i]), &cause) == E_OK, "lang %s", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        UNIT_CHECK(valid_lang(bad[i], strlen(bad[i]), &cause) == E_INVALID_FIELD, "lang %s",
                   bad[i]);
    CU_ASSERT_EQUAL(valid_lang("en-aaaaaaaa-bbbbbbbb-cccccccc-ddd", 32, &cause), E_OK);
    CU_ASSERT_EQUAL(valid_lang("en-aaaaaaaa-bbbbbbbb-cccccccc-dddddd", 36, &cause),
                    E_INVALID_FIELD);
}

static void test_emoji(void)
{
    const char *cause = NULL;
    static const char *const bad[] = {"",
                                      "x",
                                      "\xe2\x9d\xa4",                     /* heart, no VS16 */
                                      "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", /* thumbs up, skin */
                                      "\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d",
                                      "\xf0\x9f\x91",
                                      "<img src=x>"};

    for (size_t i = 0; i < VALID_EMOJI_COUNT; i++)
        UNIT_CHECK(valid_emoji(valid_emojis[i], strlen(valid_emojis[i]), &cause) == E_OK,
                   "emoji %zu", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        UNIT_CHECK(valid_emoji(bad[i], strlen(bad[i]), &cause) == E_INVALID_FIELD, "bad %zu", i);
    /* The set's first emoji with a NUL after it: the length counts. */
    CU_ASSERT_EQUAL(valid_emoji("\xf0\x9f\x91\x8d", 5, &cause), E_INVALID_FIELD);
}

static void test_queue_index(void)
{
    const char *cause = NULL;
    const double bad[] = {-1, 0.5, QUEUE_MAX_ITEMS, 1e300, NAN, INFINITY, -INFINITY};

    CU_ASSERT_EQUAL(valid_queue_index(0, &cause), E_OK);
    CU_ASSERT_EQUAL(valid_queue_index(QUEUE_MAX_ITEMS - 1, &cause), E_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        UNIT_CHECK(valid_queue_index(bad[i], &cause) == E_INVALID_FIELD, "index %g", bad[i]);
}

static void test_password(void)
{
    const char *cause = NULL;
    const char *ok[] = {"abcd", "open sesame", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "    ",
                        "\xf0\x9f\x91\x8d!!!"};
    const char *bad[] = {"",
                         "abc",
                         "\xc3\xa9\xc3\xa9\xc3\xa9",
                         "tab\there",
                         "new\nline",
                         "del\x7f!",
                         "\xc3\x28"
                         "wxyz",
                         "\xed\xa0\x80"
                         "wxyz"};
    char long_ok[4 * PASSWORD_MAX_CHARS + 1] = "", long_bad[PASSWORD_MAX_CHARS + 2];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        UNIT_CHECK(valid_password(ok[i], strlen(ok[i]), &cause) == E_OK, "ok %zu", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        UNIT_CHECK(valid_password(bad[i], strlen(bad[i]), &cause) == E_INVALID_FIELD, "bad %zu", i);
    /* 64 characters of 4 bytes each is fine; 65 of one byte is not; a NUL is a control. */
    for (int i = 0; i < PASSWORD_MAX_CHARS; i++)
        strcat(long_ok, "\xf0\x9f\x91\x8d");
    CU_ASSERT_EQUAL(valid_password(long_ok, strlen(long_ok), &cause), E_OK);
    memset(long_bad, 'x', PASSWORD_MAX_CHARS + 1);
    long_bad[PASSWORD_MAX_CHARS + 1] = '\0';
    CU_ASSERT_EQUAL(valid_password(long_bad, PASSWORD_MAX_CHARS, &cause), E_OK);
    CU_ASSERT_EQUAL(valid_password(long_bad, PASSWORD_MAX_CHARS + 1, &cause), E_INVALID_FIELD);
    CU_ASSERT_EQUAL(valid_password("ab\0cd", 5, &cause), E_INVALID_FIELD);
}

static void test_item_id(void)
{
    const char *cause = NULL;
    const char *ok[] = {"1", "42", "999999999999999"};
    const char *bad[] = {
        "", "0", "01", "-1", "+1", "1.5", "1e3", " 1", "1 ", "abc", "1000000000000000"};
    char out[ITEM_ID_MAX_DIGITS + 1];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        UNIT_CHECK(valid_item_id(ok[i], out, &cause) == E_OK, "ok %s", ok[i]);
        CU_ASSERT_STRING_EQUAL(out, ok[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(out, '#', sizeof(out));
        UNIT_CHECK(valid_item_id(bad[i], out, &cause) == E_INVALID_FIELD, "bad '%s'", bad[i]);
        CU_ASSERT_EQUAL(out[0], '#');
    }
}

static void test_mute_minutes(void)
{
    const char *cause = NULL;
    const double ok[] = {1, 5, 1440};
    const double bad[] = {0, -1, 0.5, 1.5, 1441, 1e300, -1e300, NAN, INFINITY, -INFINITY};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        UNIT_CHECK(valid_mute_minutes(ok[i], &cause) == E_OK, "ok %g", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        UNIT_CHECK(valid_mute_minutes(bad[i], &cause) == E_INVALID_FIELD, "bad %g", bad[i]);
}

static const struct unit_test valid_tests[] = {
    {"utf8 table", test_utf8_table},
    {"room id table", test_room_id_table},
    {"user id table", test_user_id_table},
    {"user id accepts generated ids", test_user_id_accepts_generated},
    {"token right/wrong room and malformed", test_token},
    {"name table", test_name_table},
    {"name lengths 1/2/50/51 and trimming", test_name_lengths},
    {"chat text table", test_chat_table},
    {"chat length in code points 1000/1001", test_chat_length_in_code_points},
    {"video url table", test_video_url_table},
    {"video url 2048/2049 bytes and NUL", test_video_url_limits},
    {"position bounds", test_position},
    {"rate bounds", test_rate},
    {"http url (subtitle tracks)", test_http_url},
    {"subtitle label: trimmed, one line, 50 characters", test_subtitle_label},
    {"lang tags", test_lang},
    {"emoji: the 8 reactions exactly", test_emoji},
    {"queue index", test_queue_index},
    {"password: 4-64 characters, no controls", test_password},
    {"item ids (messages, bans): positive, no leading zero, 15 digits", test_item_id},
    {"mute minutes: whole, 1-1440", test_mute_minutes},
    {"valid_room_id/user_id/video_url write out only on success",
     test_bug_out_untouched_on_failure},
    {"valid_chat_text refuses C1 controls, keeps CR", test_bug_chat_rejects_cr_and_c1},
    {NULL, NULL},
};

int test_valid_register(void)
{
    CU_pSuite s = CU_add_suite("valid", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, valid_tests);
}
