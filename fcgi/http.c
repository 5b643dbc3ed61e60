#include "http.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "timeout.h"
#include "valid.h"
#include "xmalloc.h"

/* Bytes for the head http_reply formats itself: "Status: NNN" and Cache-Control, or
 * Content-Type and Content-Length with a size_t in decimal. */
#define HTTP_HEAD_MAX 128

int http_listen(const char *socket_path, gid_t group)
{
    char fresh[PATH_MAX];
    int fd;

    if (FCGX_Init() != 0) {
        log_error("http: FCGX_Init failed");
        return -1;
    }
    /* Bound under a private name, given its mode and group, then renamed over the real path:
     * nginx connects to whatever socket the path names, and a socket it may not use yet (the
     * moments between bind and chmod) would answer EACCES, which nginx reports as 502. The old
     * worker's socket, if any, keeps answering until the rename. */
    if ((size_t)snprintf(fresh, sizeof(fresh), "%s.%ld", socket_path, (long)getpid()) >=
        sizeof(fresh)) {
        log_error("http: socket path too long: %s", socket_path);
        return -1;
    }
    unlink(fresh);
    fd = FCGX_OpenSocket(fresh, 1024);
    if (fd < 0) {
        log_error("http: cannot listen on %s", fresh);
        return -1;
    }
    if (chmod(fresh, 0660) != 0 || (group != (gid_t)-1 && chown(fresh, (uid_t)-1, group) != 0) ||
        rename(fresh, socket_path) != 0) {
        char why[LOG_ERRNO_LEN];
        log_error("http: cannot set up %s: %s", socket_path, log_errno(errno, why));
        unlink(fresh);
        close(fd);
        return -1;
    }
    return fd;
}

/* systemd passes its sockets from this descriptor on (SD_LISTEN_FDS_START). */
#define HTTP_LISTEN_FDS_START 3

/* An inherited listening socket is shared: systemd holds it too and hands it, with whatever
 * connections wait in its backlog, to the next worker. So it is never shut down: it is made
 * non-blocking, each thread waits on it with epoll (EPOLLEXCLUSIVE: one idle thread is woken
 * per connection, not all of them) together with this eventfd, which http_stop makes readable
 * to wake them all. -1: the socket is our own (http_listen). */
static int http_wake_fd = -1;

/* Whether fd is a listening stream socket, of family AF_UNIX when unix_only. */
static int http_is_listener(int fd, int unix_only)
{
    int accepting = 0, type = 0;
    socklen_t len = sizeof(accepting);
    struct sockaddr_storage sa;
    socklen_t sa_len = sizeof(sa);

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
        return 0;
    len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return 0;
    if (unix_only &&
        (getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0 || sa.ss_family != AF_UNIX))
        return 0;
    return 1;
}

/* systemd's socket, if it is ours (sd_listen_fds(3)): returns the fd, -1 when there is none, or
 * -2 after logging. The LISTEN_* variables go either way (a child must not take them). */
static int http_systemd_socket(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int found = -1;

    if (pid == NULL || fds == NULL)
        return -1;
    char *end;
    errno = 0;
    long listen_pid = strtol(pid, &end, 10);
    if (errno == 0 && *end == '\0' && listen_pid == (long)getpid()) {
        if (strcmp(fds, "1") != 0) {
            log_error("http: systemd passed LISTEN_FDS=%s sockets; wnc-fcgi takes exactly one "
                      "(one ListenStream= in wnc-fcgi.socket)",
                      fds);
            found = -2;
        } else if (!http_is_listener(HTTP_LISTEN_FDS_START, 0)) {
            log_error("http: the socket systemd passed (fd %d) is not a listening stream socket",
                      HTTP_LISTEN_FDS_START);
            found = -2;
        } else {
            found = HTTP_LISTEN_FDS_START;
        }
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return found;
}

int http_inherited(int *fd)
{
    int found = http_systemd_socket(), flags;

    if (found == -2)
        return -1;
    if (found < 0 && http_is_listener(0, 1))
        found = 0; /* spawn-fcgi's convention (libfcgi's FCGI_LISTENSOCK_FILENO) */
    if (found < 0)
        return 0;
    if (FCGX_Init() != 0) {
        log_error("http: FCGX_Init failed");
        return -1;
    }
    if ((flags = fcntl(found, F_GETFL)) < 0 || fcntl(found, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(found, F_SETFD, FD_CLOEXEC) != 0 || (http_wake_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
        char why[LOG_ERRNO_LEN];
        log_error("http: cannot set up the inherited socket (fd %d): %s", found,
                  log_errno(errno, why));
        return -1;
    }
    *fd = found;
    return 1;
}

void http_stop(int fd)
{
    char why[LOG_ERRNO_LEN];

    if (http_wake_fd >= 0) {
        uint64_t one = 1;
        if (write(http_wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            log_error("http: cannot wake the worker threads: %s", log_errno(errno, why));
        return;
    }
    /* shutdown(2), not close(2): it wakes every thread blocked in accept (libfcgi's
     * FCGX_Accept_r then returns -EINVAL, once the connections already in the backlog have been
     * accepted and answered), and the socket file stays, so nginx's new connects are refused
     * at once (503 to the client) instead of queueing until the next wnc-fcgi listens. */
    if (shutdown(fd, SHUT_RDWR) != 0)
        log_warn("http: shutdown of the listening socket: %s", log_errno(errno, why));
}

/* An epoll instance for one thread on an inherited socket: fd (exclusive wake-ups) and the stop
 * eventfd. Returns it, or -1 after logging. */
static int http_poll_open(int fd)
{
    struct epoll_event on_listen = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = fd};
    struct epoll_event on_wake = {.events = EPOLLIN, .data.fd = http_wake_fd};
    int ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &on_listen) != 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, http_wake_fd, &on_wake) != 0) {
        char why[LOG_ERRNO_LEN];
        log_error("http: worker thread cannot poll the inherited socket: %s",
                  log_errno(errno, why));
        if (ep >= 0)
            close(ep);
        return -1;
    }
    return ep;
}

/* Waits on ep (http_poll_open) until a connection is pending: 1, or the process stops: 0. */
static int http_poll_wait(int ep, volatile sig_atomic_t *stop)
{
    struct epoll_event ev[2];

    while (!*stop) {
        int n = epoll_wait(ep, ev, 2, -1);
        if (n < 0 && errno != EINTR) {
            char why[LOG_ERRNO_LEN];
            log_error("http: epoll_wait: %s; worker thread leaving", log_errno(errno, why));
            return 0;
        }
        for (int i = 0; i < n; i++)
            if (ev[i].data.fd == http_wake_fd)
                return 0;
        if (n > 0)
            return 1;
    }
    return 0;
}

static const char *http_param(FCGX_Request *r, const char *name)
{
    const char *v = FCGX_GetParam(name, r->envp);
    return v != NULL ? v : "";
}

enum wnc_err http_content_length(const char *text, size_t max, size_t *out)
{
    size_t n = strspn(text, "0123456789"), v = 0;

    /* Only digits: strtoul would also take white space and a sign ("-1" reads as
     * ULONG_MAX). */
    if (text[n] != '\0')
        return E_INVALID_JSON;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(text[i] - '0');
        /* v * 10 + d > max, asked without overflowing. */
        if (d > max || v > (max - d) / 10)
            return E_BODY_TOO_LARGE;
        v = v * 10 + d;
    }
    *out = v;
    return E_OK;
}

enum wnc_err http_read_body(struct http_request *req)
{
    FCGX_Request *r = req->fcgx;
    enum wnc_err e;
    size_t len;

    if (req->body != NULL)
        return E_OK;
    if ((e = http_content_length(http_param(r, "CONTENT_LENGTH"), HTTP_MAX_BODY, &len)) != E_OK)
        return e;
    if (len == 0)
        return E_OK;
    req->body = xmalloc(len + 1);
    int got = FCGX_GetStr(req->body, (int)len, r->in);
    if (got < 0 || (size_t)got != len) {
        free(req->body);
        req->body = NULL;
        return E_INVALID_JSON; /* the client sent less than it announced */
    }
    req->body[len] = '\0';
    req->body_len = len;
    return E_OK;
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    size_t room = sizeof(req->headers) - req->headers_len;
    int n = snprintf(req->headers + req->headers_len, room, "%s: %s\r\n", name, value);

    if (n > 0 && (size_t)n < room)
        req->headers_len += (size_t)n;
    else
        log_error("http: response header %s dropped (no room)", name);
}

void http_reply(struct http_request *req, int status, const char *body, size_t len)
{
    FCGX_Request *r = req->fcgx;
    char head[HTTP_HEAD_MAX];
    int n;

    if (req->replied)
        return;
    req->replied = 1;
    req->status = status;
    /* libfcgi's own printf lacks %zu and friends: format with the C library instead. */
    n = snprintf(head, sizeof(head), "Status: %d\r\nCache-Control: no-store\r\n", status);
    FCGX_PutStr(head, n, r->out);
    if (req->headers_len > 0)
        FCGX_PutStr(req->headers, (int)req->headers_len, r->out);
    if (status == 204 || len == 0) {
        FCGX_PutS("\r\n", r->out);
        return;
    }
    n = snprintf(head, sizeof(head),
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", len);
    FCGX_PutStr(head, n, r->out);
    FCGX_PutStr(body, (int)len, r->out);
}

void http_reply_error(struct http_request *req, enum wnc_err e, const char *field,
                      const char *cause)
{
    struct buf b = {0};
    const char *message = cause ? cause : err_message(e);

    buf_puts(&b, "{\"error\":{\"code\":");
    buf_json_string(&b, err_code(e), strlen(err_code(e)));
    buf_puts(&b, ",\"message\":");
    buf_json_string(&b, message, strlen(message));
    buf_puts(&b, ",\"field\":");
    if (field != NULL)
        buf_json_string(&b, field, strlen(field));
    else
        buf_puts(&b, "null");
    buf_puts(&b, ",\"requestId\":");
    if (*req->request_id != '\0')
        buf_json_string(&b, req->request_id, strlen(req->request_id));
    else
        buf_puts(&b, "null");
    buf_puts(&b, "}}");
    if (err_status(e) == 401) /* RFC 9110: a 401 names the scheme it wants */
        http_add_header(req, "WWW-Authenticate", "Bearer");
    http_reply(req, err_status(e), b.data, b.len);
    buf_free(&b);
}

int http_query_param(const struct http_request *req, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);

    /* Not even an empty value fits in no bytes (its NUL would be written past out). */
    if (size == 0)
        return 0;
    for (const char *p = req->query; *p != '\0';) {
        const char *end = strchr(p, '&');
        if (end == NULL)
            end = p + strlen(p);
        if ((size_t)(end - p) > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t o = 0;
            for (const char *v = p + name_len + 1; v < end; v++) {
                char c = *v;
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = v + 2 < end ? valid_hex_digit(v[1]) : -1;
                    int lo = hi >= 0 ? valid_hex_digit(v[2]) : -1;
                    if (lo < 0)
                        return 0;
                    c = (char)(hi * 16 + lo);
                    v += 2;
                }
                if (c == '\0' || o + 1 >= size)
                    return 0;
                out[o++] = c;
            }
            out[o] = '\0';
            return 1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

void http_serve(int fd, http_handler handle, void *arg, volatile sig_atomic_t *stop)
{
    /* A failed accept is retried after a pause that doubles from 10 ms to 1 s, and logged at
     * most once a second per thread with the number of failures since the last line. */
    enum { HTTP_RETRY_MIN_MS = 10, HTTP_RETRY_MAX_MS = 1000, HTTP_LOG_EVERY_S = 1 };
    FCGX_Request fcgx;
    int retry_ms = HTTP_RETRY_MIN_MS;
    unsigned failures = 0;
    time_t logged = 0;
    int ep = -1; /* inherited sockets: this thread's epoll (http_wake_fd) */

    if (http_wake_fd >= 0 && (ep = http_poll_open(fd)) < 0)
        return;
    if (FCGX_InitRequest(&fcgx, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("http: FCGX_InitRequest failed");
        if (ep >= 0)
            close(ep);
        return;
    }
    for (;;) {
        struct http_request req;
        int rc;

        if (ep >= 0 && !http_poll_wait(ep, stop))
            break;
        /* accept(2) is thread-safe on Linux: no lock, so a thread waiting here never holds
         * up the others. */
        rc = FCGX_Accept_r(&fcgx);
        if (rc < 0) {
            /* The only way out: the stop flag, with http_stop: a shutdown(2) of our own fd
             * fails accept (EINVAL) once the connections already queued were served; an
             * inherited one wakes the epoll above. Any other failure (EMFILE, ENFILE, ENOMEM,
             * ENOBUFS...) passes: keep the thread. */
            if (*stop)
                break;
            /* Inherited (non-blocking) socket: another thread took the connection. */
            if (ep >= 0 && (rc == -EAGAIN || rc == -EWOULDBLOCK))
                continue;
            failures++;
            if (time(NULL) - logged >= HTTP_LOG_EVERY_S) {
                char why[LOG_ERRNO_LEN];
                log_error("http: accept failed: %s (%u time(s)); retrying", log_errno(-rc, why),
                          failures);
                logged = time(NULL);
                failures = 0;
            }
            struct timespec pause = timeout_timespec(retry_ms);
            nanosleep(&pause, NULL);
            retry_ms = retry_ms * 2 > HTTP_RETRY_MAX_MS ? HTTP_RETRY_MAX_MS : retry_ms * 2;
            continue;
        }
        retry_ms = HTTP_RETRY_MIN_MS;
        memset(&req, 0, sizeof(req));
        req.fcgx = &fcgx;
        req.method = http_param(&fcgx, "REQUEST_METHOD");
        req.path = http_param(&fcgx, "SCRIPT_NAME");
        req.query = http_param(&fcgx, "QUERY_STRING");
        req.content_type = http_param(&fcgx, "CONTENT_TYPE");
        addr_client(&config.trusted_proxy_cidrs, http_param(&fcgx, "REMOTE_ADDR"),
                    http_param(&fcgx, "HTTP_X_FORWARDED_FOR"), req.remote_addr);
        addr_limit_key(req.remote_addr, req.limit_key);
        req.authorization = http_param(&fcgx, "HTTP_AUTHORIZATION");
        req.upgrade = http_param(&fcgx, "HTTP_UPGRADE");
        req.accept = http_param(&fcgx, "HTTP_ACCEPT");
        /* Only nginx sets REQUEST_ID (a client's Request-Id header arrives as HTTP_REQUEST_ID):
         * anything but its form is dropped, so nothing a client sends reaches a log this way. */
        if (log_request_id_valid(http_param(&fcgx, "REQUEST_ID")))
            strcpy(req.request_id, http_param(&fcgx, "REQUEST_ID"));
        log_set_request(req.request_id);
        handle(&req, arg);
        if (!req.replied)
            http_reply_error(&req, E_INTERNAL, NULL, NULL);
        free(req.body);
        FCGX_Finish_r(&fcgx);
        log_clear_request();
    }
    FCGX_Free(&fcgx, 1);
    if (ep >= 0)
        close(ep);
}

const char *http_header(const struct http_request *req, const char *param)
{
    return http_param(req->fcgx, param);
}
