#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Our flags (-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE, Debian 12's glibc) give the XSI
 * strerror_r, which returns an int and writes into the caller's buffer; _GNU_SOURCE would give
 * the GNU one, which returns a pointer that may not be buf. */
#ifdef _GNU_SOURCE
#error "log.c needs the XSI strerror_r: compile it without _GNU_SOURCE"
#endif

#define LOG_MSG_MAX 1024 /* bytes of one message, longer ones are cut */
/* A text line: the message and at most ~150 bytes around it (time, name, pid, level, id). */
#define LOG_TEXT_MAX (LOG_MSG_MAX + 256)
/* A JSON line: the message escaped (at most 6 bytes per byte) and the other fields. */
#define LOG_JSON_MAX (LOG_MSG_MAX * 6 + 512)
#define LOG_TIME_LEN 32 /* "2024-01-02T03:04:05.678Z" and its NUL, with room to spare */

static const char *log_process = "wnc";
static enum log_level log_min_level = LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

/* The request the calling thread serves: "" when none (log_set_request, log_set_room). */
static _Thread_local char log_req[LOG_REQUEST_ID_LEN + 1];
static _Thread_local char log_room[LOG_ROOM_MAX + 1];

int log_format_parse(const char *name, enum log_format *out)
{
    if (name != NULL && strcmp(name, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (name != NULL && strcmp(name, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return 0;
    return 1;
}

void log_init(const char *process_name)
{
    const char *level = getenv("WNC_LOG_LEVEL");

    log_process = process_name;
    log_min_level = LOG_INFO;
    log_fmt = LOG_FORMAT_TEXT;
    if (level != NULL)
        for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
            if (strcmp(level, log_level_names[i]) == 0)
                log_min_level = (enum log_level)i;
    if (!log_format_parse(getenv("WNC_LOG_FORMAT"), &log_fmt))
        log_fmt = LOG_FORMAT_TEXT;
}

int log_request_id_valid(const char *id)
{
    return id != NULL && strlen(id) == LOG_REQUEST_ID_LEN &&
           strspn(id, "0123456789abcdef") == LOG_REQUEST_ID_LEN;
}

void log_set_request(const char *id)
{
    if (log_request_id_valid(id))
        memcpy(log_req, id, LOG_REQUEST_ID_LEN + 1);
    else
        log_req[0] = '\0';
    log_room[0] = '\0';
}

void log_set_room(const char *room)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = room != NULL ? strlen(room) : 0;

    if (n >= 1 && n <= LOG_ROOM_MAX && strspn(room, alnum) == n)
        memcpy(log_room, room, n + 1);
    else
        log_room[0] = '\0';
}

void log_clear_request(void)
{
    log_req[0] = '\0';
    log_room[0] = '\0';
}

const char *log_request_id(void)
{
    return log_req;
}

/* The length of the valid UTF-8 sequence at s[0..len) (len >= 1): 1 to 4, or 0 when it is not
 * one, with *bad the bytes of its maximal subpart (at least 1) that one U+FFFD replaces. */
static size_t log_utf8_len(const unsigned char *s, size_t len, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        *bad = 1; /* a continuation byte, C0/C1 (overlong) or F5..FF */
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= len || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80, hi = 0xBF;
    }
    return need;
}

/* "\u" and four hexadecimal digits of cp (at most U+FFFF) into esc; returns 6. */
static size_t log_u_escape(char esc[6], unsigned cp)
{
    static const char hex[] = "0123456789abcdef";

    esc[0] = '\\', esc[1] = 'u';
    for (int k = 0; k < 4; k++)
        esc[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
    return 6;
}

size_t log_json_escape(char *out, size_t size, const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t used = 0, i = 0;

    if (size == 0)
        return 0;
    while (i < len) {
        char esc[6];
        const char *unit = esc;
        size_t n, bad = 0, seq = log_utf8_len(s + i, len - i, &bad);

        if (seq == 0) {
            unit = "\xEF\xBF\xBD", n = 3; /* U+FFFD for the whole maximal subpart */
        } else if (seq == 1) {
            static const char shorts[] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f',
                                          ['\r'] = 'r', ['"'] = '"',  ['\\'] = '\\'};
            unsigned char c = s[i];
            if (c < sizeof(shorts) && shorts[c] != 0)
                esc[0] = '\\', esc[1] = shorts[c], n = 2;
            else if (c < 0x20 || c == 0x7F)
                n = log_u_escape(esc, c);
            else
                unit = (const char *)s + i, n = 1;
        } else if (seq == 2 && s[i] == 0xC2 && s[i + 1] <= 0x9F) {
            n = log_u_escape(esc, s[i + 1]); /* C1 controls, U+0080..U+009F */
        } else if (seq == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            n = log_u_escape(esc, 0x2000u | 0x28u | (s[i + 2] & 1u)); /* U+2028, U+2029 */
        } else {
            unit = (const char *)s + i, n = seq;
        }
        i += seq != 0 ? seq : bad;
        if (n >= size - used) /* it and the NUL must fit */
            break;
        memcpy(out + used, unit, n);
        used += n;
    }
    out[used] = '\0';
    return used;
}

/* Appends the text s (s_len bytes; escaped as a JSON string's inside when json) to
 * line[*used..size), keeping reserve bytes free; cuts it when it does not fit. */
static void log_put(char *line, size_t size, size_t *used, size_t reserve, const char *s,
                    size_t s_len, int json)
{
    size_t room = size - *used > reserve ? size - *used - reserve : 0;

    if (room == 0)
        return;
    if (json) {
        *used += log_json_escape(line + *used, room, s, s_len);
        return;
    }
    if (s_len >= room)
        s_len = room - 1;
    memcpy(line + *used, s, s_len);
    *used += s_len;
    line[*used] = '\0';
}

#define LOG_PUTS(line, used, s) log_put(line, sizeof(line), &(used), 0, s, strlen(s), 0)

void log_msg(enum log_level level, const char *fmt, ...)
{
    char msg[LOG_MSG_MAX], stamp[LOG_TIME_LEN], pid[24];
    struct timespec now;
    struct tm tm;
    size_t msg_len, used = 0;
    va_list ap;
    int n;

    if (level < log_min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    msg_len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)n;
    msg[msg_len] = '\0';

    if (log_fmt == LOG_FORMAT_JSON) {
        char line[LOG_JSON_MAX];
        /* The closing "}\n stays whatever the message's length (the rest is bounded). */
        LOG_PUTS(line, used, "{\"time\":\"");
        LOG_PUTS(line, used, stamp);
        LOG_PUTS(line, used, "\",\"level\":\"");
        LOG_PUTS(line, used, log_level_names[level]);
        LOG_PUTS(line, used, "\",\"component\":\"");
        log_put(line, sizeof(line), &used, 0, log_process, strlen(log_process), 1);
        LOG_PUTS(line, used, "\",\"pid\":");
        LOG_PUTS(line, used, pid);
        if (*log_req != '\0') {
            LOG_PUTS(line, used, ",\"requestId\":\"");
            LOG_PUTS(line, used, log_req);
            LOG_PUTS(line, used, "\"");
        }
        if (*log_room != '\0') {
            LOG_PUTS(line, used, ",\"room\":\"");
            LOG_PUTS(line, used, log_room);
            LOG_PUTS(line, used, "\"");
        }
        LOG_PUTS(line, used, ",\"msg\":\"");
        log_put(line, sizeof(line), &used, 4, msg, msg_len, 1);
        LOG_PUTS(line, used, "\"}\n");
        fwrite(line, 1, used, stderr);
    } else {
        char line[LOG_TEXT_MAX];
        LOG_PUTS(line, used, stamp);
        LOG_PUTS(line, used, " ");
        LOG_PUTS(line, used, log_process);
        LOG_PUTS(line, used, "[");
        LOG_PUTS(line, used, pid);
        LOG_PUTS(line, used, "] ");
        LOG_PUTS(line, used, log_level_names[level]);
        LOG_PUTS(line, used, ": ");
        /* The request id stays whatever the message's length. */
        log_put(line, sizeof(line), &used, 2 + 5 + LOG_REQUEST_ID_LEN, msg, msg_len, 0);
        if (*log_req != '\0') {
            LOG_PUTS(line, used, " req=");
            LOG_PUTS(line, used, log_req);
        }
        LOG_PUTS(line, used, "\n");
        fwrite(line, 1, used, stderr);
    }
}

const char *log_errno(int errnum, char buf[LOG_ERRNO_LEN])
{
    /* XSI: 0, or an error number (EINVAL for an unknown errnum, ERANGE for a short buf). */
    if (strerror_r(errnum, buf, LOG_ERRNO_LEN) != 0)
        snprintf(buf, LOG_ERRNO_LEN, "error %d", errnum);
    return buf;
}
