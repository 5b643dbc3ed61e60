/* valid.c: every validator, chosen by the first byte. Beyond not crashing: what a validator
 * accepts it accepts again unchanged (a validated name, room id or user id re-validates to
 * itself; trimmed chat text trims to itself), outputs stay inside their exact-size buffers and
 * are NUL-terminated, failures leave the outputs untouched, and valid_utf8 agrees with a
 * table-driven reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "valid.h"

static int lower_alnum_or(char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c != '\0' && strchr(extra, c));
}

static void fuzz_name(const char *in, size_t len)
{
    char *out = malloc(NAME_MAX_CHARS + 1), *key = malloc(NAME_MAX_CHARS + 1);
    char out2[NAME_MAX_CHARS + 1], key2[NAME_MAX_CHARS + 1];
    const char *cause = NULL;

    memset(out, '#', NAME_MAX_CHARS + 1);
    memset(key, '#', NAME_MAX_CHARS + 1);
    if (valid_name(in, len, out, key, &cause) == E_OK) {
        size_t n = strlen(out);
        FUZZ_CHECK(n >= NAME_MIN_CHARS && n <= NAME_MAX_CHARS && strlen(key) == n);
        FUZZ_CHECK(out[0] != ' ' && out[n - 1] != ' ');
        FUZZ_CHECK(fuzz_contains(in, len, out, n));
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(lower_alnum_or(key[i], " -_.!?") && (out[i] | 0x20) == (key[i] | 0x20));
        FUZZ_CHECK(valid_name(out, n, out2, key2, &cause) == E_OK);
        FUZZ_CHECK(strcmp(out, out2) == 0 && strcmp(key, key2) == 0);
    } else {
        FUZZ_CHECK(cause != NULL);
        for (size_t i = 0; i <= NAME_MAX_CHARS; i++)
            FUZZ_CHECK(out[i] == '#' && key[i] == '#');
    }
    free(out);
    free(key);
}

static void fuzz_chat(const char *in, size_t len)
{
    const char *start = NULL, *start2 = NULL, *cause = NULL;
    size_t n = 12345, n2 = 0;

    if (valid_chat_text(in, len, &start, &n, &cause) == E_OK) {
        FUZZ_CHECK(start >= in && n >= 1 && n <= len && (size_t)(start - in) <= len - n);
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)start, n));
        FUZZ_CHECK(valid_chat_text(start, n, &start2, &n2, &cause) == E_OK);
        FUZZ_CHECK(start2 == start && n2 == n);
    } else {
        FUZZ_CHECK(cause != NULL && start == NULL && n == 12345);
    }
}

static void fuzz_video_url(const char *in, size_t len)
{
    struct video_url *v = malloc(sizeof(*v)), v2;
    const char *cause = NULL;

    memset(v, 0x5a, sizeof(*v));
    if (valid_video_url(in, len, v, &cause) == E_OK) {
        FUZZ_CHECK(len <= VIDEO_URL_MAX_BYTES);
        FUZZ_CHECK(strncasecmp(in, "http://", 7) == 0 || strncasecmp(in, "https://", 8) == 0);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK((unsigned char)in[i] > 0x20 && (unsigned char)in[i] < 0x7f);
        if (v->kind == VIDEO_YOUTUBE) {
            FUZZ_CHECK(strlen(v->youtube_id) == YOUTUBE_ID_LEN);
            for (size_t i = 0; i < YOUTUBE_ID_LEN; i++)
                FUZZ_CHECK(lower_alnum_or(v->youtube_id[i], "-_") ||
                           (v->youtube_id[i] >= 'A' && v->youtube_id[i] <= 'Z'));
            FUZZ_CHECK(fuzz_contains(in, len, v->youtube_id, YOUTUBE_ID_LEN));
        } else {
            FUZZ_CHECK(v->kind == VIDEO_FILE || v->kind == VIDEO_HLS);
            FUZZ_CHECK(v->youtube_id[0] == '\0');
        }
        FUZZ_CHECK(valid_video_url(in, len, &v2, &cause) == E_OK);
        FUZZ_CHECK(v2.kind == v->kind && strcmp(v2.youtube_id, v->youtube_id) == 0);
    } else {
        const unsigned char *p = (const unsigned char *)v;
        FUZZ_CHECK(cause != NULL);
        for (size_t i = 0; i < sizeof(*v); i++)
            FUZZ_CHECK(p[i] == 0x5a);
    }
    free(v);
}

static void fuzz_room_id(const char *in)
{
    char *out = malloc(ROOM_ID_LEN + 1), again[ROOM_ID_LEN + 1];

    memset(out, '#', ROOM_ID_LEN + 1);
    if (valid_room_id(in, out) == E_OK) {
        FUZZ_CHECK(strlen(out) == ROOM_ID_LEN && strcasecmp(in, out) == 0);
        for (size_t i = 0; i < ROOM_ID_LEN; i++)
            FUZZ_CHECK((out[i] >= 'A' && out[i] <= 'Z') || (out[i] >= '0' && out[i] <= '9'));
        FUZZ_CHECK(valid_room_id(out, again) == E_OK && strcmp(out, again) == 0);
    } else {
        for (size_t i = 0; i <= ROOM_ID_LEN; i++)
            FUZZ_CHECK(out[i] == '#');
    }
    free(out);
}

static void fuzz_user_id(const char *in)
{
    char *out = malloc(USER_ID_LEN + 1), again[USER_ID_LEN + 1];

    memset(out, '#', USER_ID_LEN + 1);
    if (valid_user_id(in, out) == E_OK) {
        FUZZ_CHECK(strlen(out) == USER_ID_LEN && strcasecmp(in, out) == 0);
        for (size_t i = 0; i < USER_ID_LEN; i++)
            FUZZ_CHECK(i == 8 || i == 13 || i == 18 || i == 23
                           ? out[i] == '-'
                           : lower_alnum_or(out[i], "") && out[i] <= 'f');
        FUZZ_CHECK(valid_user_id(out, again) == E_OK && strcmp(out, again) == 0);
    } else {
        for (size_t i = 0; i <= USER_ID_LEN; i++)
            FUZZ_CHECK(out[i] == '#');
    }
    free(out);
}

/* The token is the first part; the room id, the second part when it is one, else ABC123 (the
 * dispatcher only ever passes a validated room id). */
static void fuzz_token(const uint8_t *data, size_t size)
{
    char *parts[2], room[ROOM_ID_LEN + 1];

    fuzz_split(data, size, parts, 2);
    if (valid_room_id(parts[1], room) != E_OK)
        strcpy(room, "ABC123");
    enum wnc_err e = valid_token(parts[0], room);
    FUZZ_CHECK(e == E_OK || e == E_UNAUTHORIZED || e == E_FORBIDDEN);
    if (e != E_UNAUTHORIZED) {
        /* Well-formed: the room part, a dot, 43 base64url characters. */
        FUZZ_CHECK(strlen(parts[0]) == TOKEN_LEN && parts[0][ROOM_ID_LEN] == '.');
        FUZZ_CHECK((memcmp(parts[0], room, ROOM_ID_LEN) == 0) == (e == E_OK));
    }
    free(parts[0]);
    free(parts[1]);
}

static void fuzz_numbers(const uint8_t *data, size_t size)
{
    double d = 0;
    const char *cause = NULL;

    memcpy(&d, data, size < sizeof(d) ? size : sizeof(d));
    if (valid_position(d, &cause) == E_OK)
        FUZZ_CHECK(isfinite(d) && d >= 0 && d <= POSITION_MAX_S);
    else
        FUZZ_CHECK(cause != NULL && !(d >= 0 && d <= POSITION_MAX_S));
    cause = NULL;
    if (valid_rate(d, &cause) == E_OK)
        FUZZ_CHECK(isfinite(d) && d >= RATE_MIN && d <= RATE_MAX);
    else
        FUZZ_CHECK(cause != NULL && !(d >= RATE_MIN && d <= RATE_MAX));
}

/* Watching together: a subtitle label trims to itself like chat text and stays on one line; an
 * http URL is what a video URL is without the YouTube rules (each video URL is one); a language
 * tag has its shape; an emoji is one of the set. */
static void fuzz_watch(const char *in, size_t len)
{
    const char *start = NULL, *start2 = NULL, *cause = NULL;
    size_t n = 12345, n2 = 0;
    struct video_url v;

    if (valid_subtitle_label(in, len, &start, &n, &cause) == E_OK) {
        FUZZ_CHECK(start >= in && n >= 1 && n <= len && (size_t)(start - in) <= len - n);
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)start, n));
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK((unsigned char)start[i] >= 0x20 && start[i] != 0x7f);
        FUZZ_CHECK(valid_subtitle_label(start, n, &start2, &n2, &cause) == E_OK);
        FUZZ_CHECK(start2 == start && n2 == n);
        FUZZ_CHECK(valid_chat_text(in, len, &start2, &n2, &cause) == E_OK && n2 == n);
    } else {
        FUZZ_CHECK(cause != NULL && start == NULL && n == 12345);
    }
    cause = NULL;
    if (valid_video_url(in, len, &v, &cause) == E_OK)
        FUZZ_CHECK(valid_http_url(in, len, &cause) == E_OK);
    if (valid_http_url(in, len, &cause) == E_OK)
        FUZZ_CHECK(len <= VIDEO_URL_MAX_BYTES &&
                   (strncasecmp(in, "http://", 7) == 0 || strncasecmp(in, "https://", 8) == 0));
    if (valid_lang(in, len, &cause) == E_OK) {
        FUZZ_CHECK(len >= 2 && len <= LANG_MAX_BYTES);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(lower_alnum_or(in[i] | 0x20, "-") && (i > 0 || in[0] != '-'));
    }
    if (valid_emoji(in, len, &cause) == E_OK) {
        int found = 0;
        for (size_t i = 0; i < VALID_EMOJI_COUNT; i++)
            found |= strlen(valid_emojis[i]) == len && memcmp(valid_emojis[i], in, len) == 0;
        FUZZ_CHECK(found);
    }
}

/* Access (issue 16): a password's characters and bytes, an item id's digits. */
static void fuzz_access(const char *in, size_t len, const char *str)
{
    const char *cause = NULL;
    char *out = malloc(ITEM_ID_MAX_DIGITS + 1);

    if (valid_password(in, len, &cause) == E_OK) {
        size_t chars = 0;
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)in, len));
        for (size_t i = 0; i < len; i++) {
            FUZZ_CHECK((unsigned char)in[i] >= 0x20 && in[i] != 0x7f);
            chars += ((unsigned char)in[i] & 0xc0) != 0x80;
        }
        FUZZ_CHECK(chars >= PASSWORD_MIN_CHARS && chars <= PASSWORD_MAX_CHARS);
    }
    memset(out, '#', ITEM_ID_MAX_DIGITS + 1);
    if (valid_item_id(str, out, &cause) == E_OK) {
        size_t n = strlen(out);
        FUZZ_CHECK(strcmp(out, str) == 0 && n >= 1 && n <= ITEM_ID_MAX_DIGITS && out[0] != '0');
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(out[i] >= '0' && out[i] <= '9');
    } else {
        FUZZ_CHECK(out[0] == '#');
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *bytes, *str;

    if (size == 0)
        return 0;
    data++, size--;
    bytes = fuzz_bytes(data, size);
    str = fuzz_string(data, size);
    switch (data[-1] % 10) {
    case 0:
        FUZZ_CHECK(!valid_utf8(bytes, size) == !fuzz_utf8_ok(data, size));
        break;
    case 1:
        fuzz_name(bytes, size);
        break;
    case 2:
        fuzz_chat(bytes, size);
        break;
    case 3:
        fuzz_video_url(bytes, size);
        break;
    case 4:
        fuzz_room_id(str);
        break;
    case 5:
        fuzz_user_id(str);
        break;
    case 6:
        fuzz_token(data, size);
        break;
    case 7:
        fuzz_watch(bytes, size);
        break;
    case 8:
        fuzz_access(bytes, size, str);
        break;
    default:
        fuzz_numbers(data, size);
        break;
    }
    free(bytes);
    free(str);
    return 0;
}
