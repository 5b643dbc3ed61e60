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

static int nchan_fail(struct nchan_status *out, int fd, const char *what, int errnum)
{
    char why[LOG_ERRNO_LEN];

    if (errnum != 0)
        snprintf(out->error, sizeof(out->error), "%s: %s", what, log_errno(errnum, why));
    else
        snprintf(out->error, sizeof(out->error), "%s", what);
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

int nchan_status_fetch(const char *socket_path, int timeout_ms, struct nchan_status *out)
{
    static const char request[] = "GET " NCHAN_STATUS_PATH " HTTP/1.0\r\nHost: wnc\r\n\r\n";
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char buf[NCHAN_RESPONSE_MAX];
    long long deadline = timeout_mono_ms() + timeout_ms;
    size_t len = 0, sent = 0, consumed = 0, body = 0;
    int fd;

    memset(out, 0, sizeof(*out));
    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return nchan_fail(out, -1, "socket path too long", 0);
    strcpy(addr.sun_path, socket_path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return nchan_fail(out, -1, "socket", errno);
    /* A unix socket connects at once or fails at once (EAGAIN: nginx's backlog is full). */
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        return nchan_fail(out, fd, "connect", errno);
    while (sent < sizeof(request) - 1) {
        ssize_t w = send(fd, request + sent, sizeof(request) - 1 - sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (nchan_wait(fd, POLLOUT, deadline) <= 0)
                return nchan_fail(out, fd, "no answer in time", 0);
            continue;
        }
        if (w < 0)
            return nchan_fail(out, fd, "send", errno);
        sent += (size_t)w;
    }
    for (;;) {
        ssize_t r;
        if (len == sizeof(buf) - 1)
            return nchan_fail(out, fd, "answer too long", 0);
        r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (nchan_wait(fd, POLLIN, deadline) <= 0)
                return nchan_fail(out, fd, "no answer in time", 0);
            continue;
        }
        if (r < 0)
            return nchan_fail(out, fd, "recv", errno);
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
