/* nchan's figures from the publisher socket (nchan.h). The request is HTTP/1.0: nginx then
 * closes the connection after the answer, which is read to its end. */
#include "nchan.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "publish.h"
#include "timeout.h"

#define NCHAN_RESPONSE_MAX 16384

static int nchan_fail(char error[NCHAN_ERROR_MAX], int fd, const char *what, int errnum)
{
    char why[LOG_ERRNO_LEN];

    if (errnum != 0)
        snprintf(error, NCHAN_ERROR_MAX, "%s: %s", what, log_errno(errnum, why));
    else
        snprintf(error, NCHAN_ERROR_MAX, "%s", what);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0 timeout, -1 error. */
static int nchan_wait(int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        long long left = deadline - timeout_mono_ms();
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -1 : r > 0;
    }
}

/* Connects to the publisher's socket and sends request whole before deadline. Returns the
 * connected non-blocking socket (the caller closes it), or -1 with error set. */
static int nchan_send(const char *socket_path, const char *request, long long deadline,
                      char error[NCHAN_ERROR_MAX])
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t sent = 0, len = strlen(request);
    int fd;

    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return nchan_fail(error, -1, "socket path too long", 0);
    strcpy(addr.sun_path, socket_path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return nchan_fail(error, -1, "socket", errno);
    /* A unix socket connects at once or fails at once (EAGAIN: nginx's backlog is full). */
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        return nchan_fail(error, fd, "connect", errno);
    while (sent < len) {
        ssize_t w = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (nchan_wait(fd, POLLOUT, deadline) <= 0)
                return nchan_fail(error, fd, "no answer in time", 0);
            continue;
        }
        if (w < 0)
            return nchan_fail(error, fd, "send", errno);
        sent += (size_t)w;
    }
    return fd;
}

/* GETs path (with Accept: text/plain) and parses a 200's "name: value" lines into out. */
static int nchan_fields_fetch(const char *socket_path, const char *path, int timeout_ms,
                              struct nchan_status *out)
{
    char request[sizeof("GET  HTTP/1.0\r\nHost: wnc\r\nAccept: text/plain\r\n\r\n") +
                 sizeof(NCHAN_PUB_PATH) + NCHAN_CHANNEL_MAX];
    char buf[NCHAN_RESPONSE_MAX];
    long long deadline = timeout_mono_ms() + timeout_ms;
    size_t len = 0, consumed = 0, body = 0;
    int fd;

    memset(out, 0, sizeof(*out));
    if (strlen(path) >= sizeof(NCHAN_PUB_PATH) + NCHAN_CHANNEL_MAX)
        return nchan_fail(out->error, -1, "path too long", 0);
    snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: wnc\r\nAccept: text/plain\r\n\r\n",
             path);
    if ((fd = nchan_send(socket_path, request, deadline, out->error)) < 0)
        return -1;
    for (;;) {
        ssize_t r;
        if (len == sizeof(buf) - 1)
            return nchan_fail(out->error, fd, "answer too long", 0);
        r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (nchan_wait(fd, POLLIN, deadline) <= 0)
                return nchan_fail(out->error, fd, "no answer in time", 0);
            continue;
        }
        if (r < 0)
            return nchan_fail(out->error, fd, "recv", errno);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    out->status = publish_parse_response(buf, len, sizeof(buf) - 1, &consumed);
    if (out->status <= 0) {
        out->status = 0;
        snprintf(out->error, sizeof(out->error), "not an HTTP answer");
        return -1;
    }
    /* The body follows the blank line; with a Content-Length it ends where the parser says,
     * without one at the close. */
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            body = i + 4;
            break;
        }
    if (out->status == 200 && body > 0)
        nchan_status_parse(buf + body, (consumed > body ? consumed : len) - body, out);
    return 0;
}

int nchan_status_fetch(const char *socket_path, int timeout_ms, struct nchan_status *out)
{
    return nchan_fields_fetch(socket_path, NCHAN_STATUS_PATH, timeout_ms, out);
}

int nchan_channel_fetch(const char *socket_path, const char *channel, int timeout_ms,
                        struct nchan_status *out)
{
    char path[sizeof(NCHAN_PUB_PATH) + NCHAN_CHANNEL_MAX + 1]; /* one more: too long, refused */

    snprintf(path, sizeof(path), NCHAN_PUB_PATH "%s", channel);
    return nchan_fields_fetch(socket_path, path, timeout_ms, out);
}

void nchan_status_parse(const char *text, size_t len, struct nchan_status *out)
{
    const char *end = text + len;

    for (const char *line = text; line < end && out->n < NCHAN_FIELDS_MAX;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line)), *colon, *v, *ve;
        struct nchan_field *f = &out->field[out->n];
        size_t k = 0, vlen;
        int ok = 1;

        if (eol == NULL)
            eol = end;
        colon = memchr(line, ':', (size_t)(eol - line));
        if (colon != NULL && colon > line) {
            for (const char *c = line; c < colon && ok; c++) {
                if (k + 1 >= sizeof(f->name) || !(isalnum((unsigned char)*c) || *c == ' '))
                    ok = 0;
                else
                    f->name[k++] = *c == ' ' ? '_' : (char)tolower((unsigned char)*c);
            }
            f->name[k] = '\0';
            for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
                ;
            for (ve = eol; ve > v && isspace((unsigned char)ve[-1]); ve--)
                ;
            vlen = (size_t)(ve - v);
            for (const char *c = v; c < ve && ok; c++)
                if (!isprint((unsigned char)*c))
                    ok = 0;
            if (ok && vlen > 0 && vlen < sizeof(f->value)) {
                memcpy(f->value, v, vlen);
                f->value[vlen] = '\0';
                out->n++;
            }
        }
        line = eol + 1;
    }
}

const char *nchan_status_field(const struct nchan_status *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->field[i].name, name) == 0)
            return s->field[i].value;
    return NULL;
}

int nchan_subscriber_ids(const char *socket_path, const char *channel, int timeout_ms,
                         int (*seen)(const char *id, void *arg), void *arg,
                         char error[NCHAN_ERROR_MAX])
{
    char request[sizeof("GET " NCHAN_INFO_PATH " HTTP/1.0\r\nHost: wnc\r\n\r\n") +
                 NCHAN_CHANNEL_MAX];
    char buf[NCHAN_INFO_LINE_MAX * 4];
    long long deadline = timeout_mono_ms() + timeout_ms;
    size_t len = 0;
    int fd, status = 0, done = 0, overlong = 0;

    if (strlen(channel) > NCHAN_CHANNEL_MAX)
        return nchan_fail(error, -1, "channel name too long", 0);
    snprintf(request, sizeof(request), "GET " NCHAN_INFO_PATH "%s HTTP/1.0\r\nHost: wnc\r\n\r\n",
             channel);
    if ((fd = nchan_send(socket_path, request, deadline, error)) < 0)
        return -1;
    /* nchan's answer never ends (the location is a stream, and how many subscribers there
     * are is not said): read until seen is satisfied or the time is up. The lines are taken
     * as they come; one longer than NCHAN_INFO_LINE_MAX is not a connection id and is
     * skipped. */
    while (!done) {
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        char *line, *eol;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = nchan_wait(fd, POLLIN, deadline);
            if (ready < 0)
                return nchan_fail(error, fd, "poll", errno);
            if (ready == 0)
                break;
            continue;
        }
        if (r < 0)
            return nchan_fail(error, fd, "recv", errno);
        if (r == 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        line = buf;
        if (status == 0) {
            char *head_end = strstr(buf, "\r\n\r\n");
            if (head_end == NULL) {
                if (len == sizeof(buf) - 1)
                    return nchan_fail(error, fd, "answer head too long", 0);
                continue;
            }
            if (sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1 || status != 200) {
                snprintf(error, NCHAN_ERROR_MAX, "nchan answered status %d", status);
                close(fd);
                return -1;
            }
            line = head_end + 4;
        }
        while (!done && (eol = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
            *eol = '\0';
            if (eol > line && eol[-1] == '\r')
                eol[-1] = '\0';
            if (*line != '\0' && strlen(line) < NCHAN_INFO_LINE_MAX && !overlong)
                done = seen(line, arg);
            overlong = 0;
            line = eol + 1;
        }
        len -= (size_t)(line - buf);
        memmove(buf, line, len);
        if (len == sizeof(buf) - 1)
            len = 0, overlong = 1; /* not an id: dropped up to its end */
    }
    close(fd);
    if (status != 200) {
        snprintf(error, NCHAN_ERROR_MAX, "no answer in time");
        return -1;
    }
    return 0;
}
