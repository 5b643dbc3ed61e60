#include "valid.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* Decodes one UTF-8 sequence at s (len bytes left). Returns its length and the code point, or
 * 0 when the sequence is malformed. */
static size_t valid_utf8_next(const unsigned char *s, size_t len, unsigned *cp)
{
    unsigned c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

int valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned cp;

    for (size_t i = 0; i < len;) {
        size_t n = valid_utf8_next(p + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

enum wnc_err valid_room_id(const char *in, char out[ROOM_ID_LEN + 1])
{
    char id[ROOM_ID_LEN + 1];

    if (in == NULL || strlen(in) != ROOM_ID_LEN)
        return E_INVALID_ROOM_ID;
    for (int i = 0; i < ROOM_ID_LEN; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return E_INVALID_ROOM_ID;
        id[i] = c;
    }
    id[ROOM_ID_LEN] = '\0';
    memcpy(out, id, sizeof(id));
    return E_OK;
}

enum wnc_err valid_user_id(const char *in, char out[USER_ID_LEN + 1])
{
    char id[USER_ID_LEN + 1];

    if (in == NULL || strlen(in) != USER_ID_LEN)
        return E_INVALID_USER_ID;
    for (int i = 0; i < USER_ID_LEN; i++) {
        char c = in[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash) {
            if (c != '-')
                return E_INVALID_USER_ID;
        } else if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return E_INVALID_USER_ID;
        }
        id[i] = c;
    }
    id[USER_ID_LEN] = '\0';
    memcpy(out, id, sizeof(id));
    return E_OK;
}

enum wnc_err valid_token(const char *token, const char *room_id)
{
    if (token == NULL || strlen(token) != TOKEN_LEN || token[ROOM_ID_LEN] != '.')
        return E_UNAUTHORIZED;
    for (int i = 0; i < TOKEN_LEN; i++) {
        char c = token[i];
        if (i == ROOM_ID_LEN)
            continue;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > ROOM_ID_LEN && (c == '-' || c == '_'))))
            return E_UNAUTHORIZED;
    }
    if (memcmp(token, room_id, ROOM_ID_LEN) != 0)
        return E_FORBIDDEN;
    return E_OK;
}

enum wnc_err valid_name(const char *in, size_t len, char *out, char *key, const char **cause)
{
    size_t start = 0, end = len;

    while (start < end && in[start] == ' ')
        start++;
    while (end > start && in[end - 1] == ' ')
        end--;
    if (end - start < NAME_MIN_CHARS || end - start > NAME_MAX_CHARS) {
        *cause = "names are 2 to 50 characters";
        return E_INVALID_FIELD;
    }
    for (size_t i = start; i < end; i++) {
        char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(" -_.!?", c) != NULL) ||
            c == '\0') {
            *cause = "names may use letters, digits, spaces and - _ . ! ?";
            return E_INVALID_FIELD;
        }
    }
    for (size_t i = start; i < end; i++) {
        out[i - start] = in[i];
        key[i - start] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
    }
    out[end - start] = key[end - start] = '\0';
    return E_OK;
}

/* The characters JavaScript's String.prototype.trim removes, so that what a browser would
 * consider blank is blank here too. */
static int valid_is_space(unsigned cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

/* Text as people type it: UTF-8, trimmed of Unicode white space, then 1 to max characters, no
 * control characters (C0, DEL, C1) but, when multiline, tab, newline and carriage return (pasted
 * text has them). what names the text in the causes ("messages", "labels"). On success *start
 * and *out_len delimit the trimmed text inside in. */
static enum wnc_err valid_text(const char *in, size_t len, size_t max, int multiline,
                               const char **start, size_t *out_len, const char **cause)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t first = len, last = 0, chars = 0;
    unsigned cp;

    if (!valid_utf8(in, len)) {
        *cause = "text must be UTF-8";
        return E_INVALID_FIELD;
    }
    /* One pass: find the first and last non-space characters and reject control characters. */
    for (size_t i = 0; i < len;) {
        size_t n = valid_utf8_next(p + i, len - i, &cp);
        int allowed = multiline && (cp == '\t' || cp == '\n' || cp == '\r');
        if ((cp < 0x20 && !allowed) || (cp >= 0x7f && cp <= 0x9f)) {
            *cause = "text may not contain control characters";
            return E_INVALID_FIELD;
        }
        if (!valid_is_space(cp)) {
            if (first == len)
                first = i;
            last = i + n;
        }
        i += n;
    }
    if (first == len) {
        *cause = "text cannot be empty";
        return E_INVALID_FIELD;
    }
    for (size_t i = first; i < last; chars++)
        i += valid_utf8_next(p + i, last - i, &cp);
    if (chars > max) {
        *cause = NULL; /* the caller names its limit */
        return E_INVALID_FIELD;
    }
    *start = in + first;
    *out_len = last - first;
    return E_OK;
}

enum wnc_err valid_chat_text(const char *in, size_t len, const char **start, size_t *out_len,
                             const char **cause)
{
    enum wnc_err e = valid_text(in, len, CHAT_MAX_CHARS, 1, start, out_len, cause);

    if (e != E_OK && *cause == NULL)
        *cause = "messages are at most 1000 characters";
    return e;
}

enum wnc_err valid_subtitle_label(const char *in, size_t len, const char **start, size_t *out_len,
                                  const char **cause)
{
    enum wnc_err e = valid_text(in, len, SUBTITLE_LABEL_MAX_CHARS, 0, start, out_len, cause);

    if (e != E_OK && *cause == NULL)
        *cause = "labels are at most 50 characters";
    return e;
}

static int valid_youtube_id(const char *s, size_t len, char out[YOUTUBE_ID_LEN + 1])
{
    size_t n = 0;

    while (n < len && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
                       (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_'))
        n++;
    /* The id must end at a delimiter, not run into other characters. */
    if (n != YOUTUBE_ID_LEN || (n < len && strchr("?&#/", s[n]) == NULL))
        return 0;
    memcpy(out, s, YOUTUBE_ID_LEN);
    out[YOUTUBE_ID_LEN] = '\0';
    return 1;
}

static int valid_host_is(const char *host, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len == n && strncasecmp(host, name, n) == 0;
}

/* An http(s) URL: at most 2048 bytes, no spaces or control characters, a host. Sets *host and
 * *host_len to the host name (without user info and port) and *path to what follows it. */
static enum wnc_err valid_http_url_parts(const char *in, size_t len, const char **host_out,
                                         size_t *host_len, const char **path_out,
                                         const char **cause)
{
    const char *host, *path, *p;

    if (len > VIDEO_URL_MAX_BYTES) {
        *cause = "URLs are at most 2048 bytes";
        return E_INVALID_FIELD;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c >= 0x7f) {
            *cause = "URLs may not contain spaces or non-ASCII characters";
            return E_INVALID_FIELD;
        }
    }
    if (len > 7 && strncasecmp(in, "http://", 7) == 0)
        host = in + 7;
    else if (len > 8 && strncasecmp(in, "https://", 8) == 0)
        host = in + 8;
    else {
        *cause = "URLs must start with http:// or https://";
        return E_INVALID_FIELD;
    }
    for (p = host; p < in + len && strchr("/?#", *p) == NULL; p++)
        ;
    path = p;
    /* Drop user info and port to compare the host name. */
    for (const char *q = host; q < path; q++)
        if (*q == '@')
            host = q + 1;
    for (p = host; p < path && *p != ':'; p++)
        ;
    if (p == host) {
        *cause = "URLs need a host";
        return E_INVALID_FIELD;
    }
    *host_out = host;
    *host_len = (size_t)(p - host);
    *path_out = path;
    return E_OK;
}

enum wnc_err valid_http_url(const char *in, size_t len, const char **cause)
{
    const char *host, *path;
    size_t host_len;

    return valid_http_url_parts(in, len, &host, &host_len, &path, cause);
}

/* valid_video_url's work; may write to out before failing. */
static enum wnc_err valid_video_url_parse(const char *in, size_t len, struct video_url *out,
                                          const char **cause)
{
    const char *host, *path, *end = in + len, *p;
    size_t host_len, path_len;
    enum wnc_err e = valid_http_url_parts(in, len, &host, &host_len, &path, cause);

    if (e != E_OK)
        return e;
    path_len = (size_t)(end - path);

    memset(out, 0, sizeof(*out));
    if (valid_host_is(host, host_len, "youtu.be")) {
        if (path_len > 1 && valid_youtube_id(path + 1, path_len - 1, out->youtube_id)) {
            out->kind = VIDEO_YOUTUBE;
            return E_OK;
        }
        *cause = "that YouTube link has no video id";
        return E_INVALID_FIELD;
    }
    if (valid_host_is(host, host_len, "youtube.com") ||
        valid_host_is(host, host_len, "www.youtube.com") ||
        valid_host_is(host, host_len, "m.youtube.com") ||
        valid_host_is(host, host_len, "music.youtube.com") ||
        valid_host_is(host, host_len, "www.youtube-nocookie.com") ||
        valid_host_is(host, host_len, "youtube-nocookie.com")) {
        static const char *const prefixes[] = {"/shorts/", "/embed/", "/live/", "/v/"};
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
            size_t n = strlen(prefixes[i]);
            if (path_len > n && strncmp(path, prefixes[i], n) == 0 &&
                valid_youtube_id(path + n, path_len - n, out->youtube_id)) {
                out->kind = VIDEO_YOUTUBE;
                return E_OK;
            }
        }
        if (path_len >= 7 && strncmp(path, "/watch?", 7) == 0) {
            /* Find the v= parameter among the query's parameters. */
            for (p = path + 6; p < end && *p != '#'; p++) {
                if ((*p == '?' || *p == '&') && end - p > 3 && p[1] == 'v' && p[2] == '=' &&
                    valid_youtube_id(p + 3, (size_t)(end - p - 3), out->youtube_id)) {
                    out->kind = VIDEO_YOUTUBE;
                    return E_OK;
                }
            }
        }
        *cause = "that YouTube link has no video id";
        return E_INVALID_FIELD;
    }
    /* HLS when the path (without query or fragment) ends in .m3u8. */
    for (p = path; p < end && *p != '?' && *p != '#'; p++)
        ;
    if (p - path >= 5 && strncasecmp(p - 5, ".m3u8", 5) == 0)
        out->kind = VIDEO_HLS;
    else
        out->kind = VIDEO_FILE;
    return E_OK;
}

enum wnc_err valid_video_url(const char *in, size_t len, struct video_url *out, const char **cause)
{
    struct video_url v;
    enum wnc_err e = valid_video_url_parse(in, len, &v, cause);

    if (e == E_OK)
        *out = v;
    return e;
}

enum wnc_err valid_position(double position, const char **cause)
{
    if (!isfinite(position) || position < 0 || position > POSITION_MAX_S) {
        *cause = "position must be a finite number of seconds, 0 or more";
        return E_INVALID_FIELD;
    }
    return E_OK;
}

enum wnc_err valid_rate(double rate, const char **cause)
{
    if (!isfinite(rate) || rate < RATE_MIN || rate > RATE_MAX) {
        *cause = "rate must be between 0.25 and 4";
        return E_INVALID_FIELD;
    }
    return E_OK;
}

int valid_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum wnc_err valid_lang(const char *in, size_t len, const char **cause)
{
    /* A BCP 47 tag's usual shape: a 2-3 letter language, then subtags of 1-8 letters or
     * digits ("en", "pt-BR", "zh-Hant-TW"). */
    size_t i = 0, n;

    *cause = "lang is a language tag such as en or pt-BR";
    if (len > LANG_MAX_BYTES)
        return E_INVALID_FIELD;
    for (n = 0; i < len && ((in[i] >= 'a' && in[i] <= 'z') || (in[i] >= 'A' && in[i] <= 'Z'));)
        i++, n++;
    if (n < 2 || n > 3)
        return E_INVALID_FIELD;
    while (i < len) {
        if (in[i++] != '-')
            return E_INVALID_FIELD;
        for (n = 0; i < len && ((in[i] >= 'a' && in[i] <= 'z') || (in[i] >= 'A' && in[i] <= 'Z') ||
                                (in[i] >= '0' && in[i] <= '9'));)
            i++, n++;
        if (n < 1 || n > 8)
            return E_INVALID_FIELD;
    }
    return E_OK;
}

const char *const valid_emojis[VALID_EMOJI_COUNT] = {
    "\xf0\x9f\x91\x8d",         /* thumbs up */
    "\xe2\x9d\xa4\xef\xb8\x8f", /* red heart (with VS16) */
    "\xf0\x9f\x98\x82",         /* face with tears of joy */
    "\xf0\x9f\x98\xae",         /* face with open mouth */
    "\xf0\x9f\x98\xa2",         /* crying face */
    "\xf0\x9f\x91\x8f",         /* clapping hands */
    "\xf0\x9f\x94\xa5",         /* fire */
    "\xf0\x9f\x8e\x89",         /* party popper */
};

enum wnc_err valid_emoji(const char *in, size_t len, const char **cause)
{
    for (size_t i = 0; i < VALID_EMOJI_COUNT; i++)
        if (strlen(valid_emojis[i]) == len && memcmp(valid_emojis[i], in, len) == 0)
            return E_OK;
    *cause = "emoji is one of the 8 reactions";
    return E_INVALID_FIELD;
}

enum wnc_err valid_queue_index(double index, const char **cause)
{
    if (!isfinite(index) || index < 0 || index >= QUEUE_MAX_ITEMS || index != floor(index)) {
        *cause = "index is a whole number from 0 to 99";
        return E_INVALID_FIELD;
    }
    return E_OK;
}

enum wnc_err valid_password(const char *in, size_t len, const char **cause)
{
    size_t chars = 0;

    if (!valid_utf8(in, len)) {
        *cause = "a password is text";
        return E_INVALID_FIELD;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f) {
            *cause = "a password has no control characters";
            return E_INVALID_FIELD;
        }
        chars += (c & 0xc0) != 0x80; /* lead bytes: one per character */
    }
    if (chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS) {
        *cause = "a password has 4 to 64 characters";
        return E_INVALID_FIELD;
    }
    return E_OK;
}

enum wnc_err valid_item_id(const char *in, char *out, const char **cause)
{
    size_t n = strspn(in, "0123456789");

    if (n == 0 || in[n] != '\0' || n > ITEM_ID_MAX_DIGITS || in[0] == '0') {
        *cause = "ids are positive whole numbers";
        return E_INVALID_FIELD;
    }
    memcpy(out, in, n + 1);
    return E_OK;
}

enum wnc_err valid_mute_minutes(double minutes, const char **cause)
{
    /* The range first: the cast is defined only for numbers an int holds. */
    if (!(minutes >= MUTE_MIN_MINUTES && minutes <= MUTE_MAX_MINUTES) ||
        minutes != (double)(int)minutes) {
        *cause = "minutes is a whole number from 1 to 1440";
        return E_INVALID_FIELD;
    }
    return E_OK;
}
