#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "timeout.h"
#include "valid.h"
#include "wire.h"
#include "xmalloc.h"

/* The accept model. Every worker thread waits on one shared epoll instance that holds the
 * listening socket, every connection from nginx and the stop eventfd. Each socket is armed
 * EPOLLONESHOT, so one thread at a time owns it: the thread that is woken for the listening socket
 * accepts what is pending and re-arms it; the thread woken for a connection reads what arrived,
 * and when a whole request is in, serves it right there (Redis calls included) and writes the
 * answer, then re-arms the connection for nginx's next request. A kept connection that is idle
 * costs a place in epoll, never a thread: this is what lets nginx keep its connections
 * (fastcgi_keep_conn), which libfcgi's thread per connection could not. Requests wait for a free
 * thread in epoll's ready list (first come, first served), as they waited in the listen backlog
 * before; nginx's max_conns still bounds how many. */
struct http_conn {
    int fd;
    /* Has part of a request, or is being answered (http_busy counts these). Set by the thread
     * that owns the connection, read by http_stop. */
    atomic_int busy;
    /* http_stop shut it down while it was not busy (under http_conns_lock, as is the busy mark
     * a thread sets before reading): a request a thread reads is one http_stop did not cut
     * off, so it is answered. */
    int ended;
    struct wire_in in;
    struct buf out; /* records to write */
    struct http_conn *prev, *next;
};

#define HTTP_READ_CHUNK 4096
#define HTTP_ACCEPT_BATCH 64        /* connections one wake-up accepts before re-arming */
#define HTTP_WRITE_TIMEOUT_MS 10000 /* nginx's fastcgi_read_timeout is longer */
#define HTTP_STOP_POLL_MS 10        /* while stopping: how often a thread looks again */

static int http_ep = -1; /* the shared epoll instance */
static int http_listen_fd = -1;
static int http_wake_fd = -1; /* http_stop makes it readable */
static int http_listen_owned; /* our own socket (shut down at a stop), not an inherited one */
static char http_listen_tag, http_wake_tag; /* epoll data for the two non-connections */

static pthread_mutex_t http_conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_conn *http_conns; /* every open connection, for the last thread out */
static int http_threads;             /* threads in http_serve, under http_conns_lock */
static atomic_int http_busy;         /* connections with a request in progress */
static atomic_int http_stopped;      /* http_stop was called (and our own socket shut down) */
static atomic_int http_listen_done;  /* stopped, and no connection will be accepted any more */

/* The epoll instance with fd and the stop eventfd in it; fd made non-blocking. Returns 0, or -1
 * after logging. */
static int http_poll_setup(int fd)
{
    struct epoll_event on_listen = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = &http_listen_tag};
    struct epoll_event on_wake = {.events = EPOLLIN, .data.ptr = &http_wake_tag};
    int flags;

    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        (http_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        (http_ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        epoll_ctl(http_ep, EPOLL_CTL_ADD, fd, &on_listen) != 0 ||
        epoll_ctl(http_ep, EPOLL_CTL_ADD, http_wake_fd, &on_wake) != 0) {
        char why[LOG_ERRNO_LEN];
        log_error("http: cannot set up polling on the socket (fd %d): %s", fd,
                  log_errno(errno, why));
        return -1;
    }
    http_listen_fd = fd;
    return 0;
}

int http_listen(const char *socket_path, gid_t group)
{
    char fresh[PATH_MAX];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    /* Bound under a private name, given its mode and group, then renamed over the real path:
     * nginx connects to whatever socket the path names, and a socket it may not use yet (the
     * moments between bind and chmod) would answer EACCES, which nginx reports as 502. The old
     * worker's socket, if any, keeps answering until the rename. */
    if ((size_t)snprintf(fresh, sizeof(fresh), "%s.%ld", socket_path, (long)getpid()) >=
            sizeof(fresh) ||
        strlen(fresh) >= sizeof(sa.sun_path)) {
        log_error("http: socket path too long: %s", socket_path);
        return -1;
    }
    memcpy(sa.sun_path, fresh, strlen(fresh) + 1);
    unlink(fresh);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
        char why[LOG_ERRNO_LEN];
        log_error("http: cannot listen on %s: %s", fresh, log_errno(errno, why));
        if (fd >= 0)
            close(fd);
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
    if (http_poll_setup(fd) != 0) {
        close(fd);
        return -1;
    }
    http_listen_owned = 1;
    return fd;
}

/* systemd passes its sockets from this descriptor on (SD_LISTEN_FDS_START). */
#define HTTP_LISTEN_FDS_START 3

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
    int found = http_systemd_socket();

    if (found == -2)
        return -1;
    if (found < 0 && http_is_listener(0, 1))
        found = 0; /* spawn-fcgi's convention (FCGI_LISTENSOCK_FILENO) */
    if (found < 0)
        return 0;
    if (http_poll_setup(found) != 0)
        return -1;
    *fd = found;
    return 1;
}

void http_stop(int fd)
{
    char why[LOG_ERRNO_LEN];
    uint64_t one = 1;

    /* shutdown(2), not close(2), of a socket of our own: accept(2) still hands out the
     * connections already in the backlog, then answers EAGAIN, and the socket file stays, so
     * nginx's new connects are refused at once (503 to the client) instead of queueing until the
     * next wnc-fcgi listens. An inherited socket is left as it is, backlog and all, for the next
     * worker. */
    if (http_listen_owned && shutdown(fd, SHUT_RDWR) != 0)
        log_warn("http: shutdown of the listening socket: %s", log_errno(errno, why));
    atomic_store(&http_stopped, 1);
    /* The connections nginx keeps idle are ended now, so that it stops sending on them (it drops
     * a kept connection from its cache when it sees the end) and connects instead, which the
     * stopped socket refuses: 503. Ending them only when the threads leave would cut requests
     * sent meanwhile (nginx: "recv() failed ... reset by peer"). shutdown(2), not close(2): a
     * thread may be taking one at this very moment, and its descriptor must stay valid. */
    pthread_mutex_lock(&http_conns_lock);
    for (struct http_conn *c = http_conns; c != NULL; c = c->next)
        if (!atomic_load(&c->busy)) {
            shutdown(c->fd, SHUT_RDWR);
            c->ended = 1;
        }
    pthread_mutex_unlock(&http_conns_lock);
    if (write(http_wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        log_error("http: cannot wake the worker threads: %s", log_errno(errno, why));
}

static const char *http_param(const struct wire_in *in, const char *name)
{
    const char *v = wire_param(in, name);
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
    const struct wire_in *in = req->params;
    enum wnc_err e;
    size_t len;

    if (req->body != NULL)
        return E_OK;
    if ((e = http_content_length(http_param(in, "CONTENT_LENGTH"), HTTP_MAX_BODY, &len)) != E_OK)
        return e;
    if (len == 0)
        return E_OK;
    if (in->body.len < len)
        return E_INVALID_JSON; /* the client sent less than it announced */
    req->body = xmemdup0(in->body.data, len);
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
    if (req->replied)
        return;
    req->replied = 1;
    req->status = status;
    buf_printf(&req->text, "Status: %d\r\nCache-Control: no-store\r\n", status);
    buf_append(&req->text, req->headers, req->headers_len);
    if (status == 204 || len == 0) {
        buf_puts(&req->text, "\r\n");
        return;
    }
    buf_printf(&req->text, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", len);
    buf_append(&req->text, body, len);
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

/* Closes c (which takes it out of epoll) and frees it; the caller took it off the list. */
static void http_conn_free(struct http_conn *c)
{
    if (atomic_load(&c->busy))
        atomic_fetch_sub(&http_busy, 1);
    close(c->fd);
    wire_in_free(&c->in);
    buf_free(&c->out);
    free(c);
}

/* Forgets c: off the list, closed and freed. */
static void http_conn_close(struct http_conn *c)
{
    pthread_mutex_lock(&http_conns_lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        http_conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&http_conns_lock);
    http_conn_free(c);
}

static void http_conn_set_busy(struct http_conn *c, int busy)
{
    if (atomic_exchange(&c->busy, busy) != busy)
        atomic_fetch_add(&http_busy, busy ? 1 : -1);
}

/* Hands fd back to epoll for its next event (EPOLLONESHOT). Returns 0 or -1. */
static int http_rearm(int fd, void *ptr)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = ptr};
    return epoll_ctl(http_ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Accepts up to HTTP_ACCEPT_BATCH pending connections into epoll, then re-arms the listening
 * socket, unless no more connections will come: after http_stop, an inherited socket is left to
 * the next worker, and our own, shut down, is done once its backlog is empty. */
static void http_accept_pending(void)
{
    static _Thread_local time_t logged;
    static _Thread_local unsigned failures;

    if (atomic_load(&http_stopped) && !http_listen_owned) {
        atomic_store(&http_listen_done, 1);
        return;
    }
    for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
        /* accept(2), not accept4, which needs _GNU_SOURCE: the flags are set after (once per
         * connection, which nginx now keeps). */
        int fd = accept(http_listen_fd, NULL, NULL);
        if (fd >= 0 &&
            (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* A shut-down socket refuses new connects; non-blocking, it answers EAGAIN (not
             * EINVAL) once the connections queued before were taken. */
            if (atomic_load(&http_stopped) &&
                (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINVAL)) {
                atomic_store(&http_listen_done, 1);
                return;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            /* EMFILE, ENFILE, ENOMEM, ENOBUFS...: pass. The pause keeps this thread from
             * spinning on a socket that stays readable; the others go on serving. */
            failures++;
            if (time(NULL) - logged >= 1) {
                char why[LOG_ERRNO_LEN];
                log_error("http: accept failed: %s (%u time(s)); retrying", log_errno(errno, why),
                          failures);
                logged = time(NULL);
                failures = 0;
            }
            struct timespec pause = timeout_timespec(HTTP_STOP_POLL_MS);
            nanosleep(&pause, NULL);
            break;
        }
        struct http_conn *c = xcalloc(1, sizeof(*c));
        struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
        c->fd = fd;
        http_conn_set_busy(c, 1); /* nginx sends its request right after connecting */
        pthread_mutex_lock(&http_conns_lock);
        c->next = http_conns;
        if (http_conns != NULL)
            http_conns->prev = c;
        http_conns = c;
        pthread_mutex_unlock(&http_conns_lock);
        if (epoll_ctl(http_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            char why[LOG_ERRNO_LEN];
            log_error("http: cannot poll a new connection: %s", log_errno(errno, why));
            http_conn_close(c);
        }
    }
    if (http_rearm(http_listen_fd, &http_listen_tag) != 0) {
        char why[LOG_ERRNO_LEN];
        log_error("http: cannot re-arm the listening socket: %s", log_errno(errno, why));
    }
}

/* Writes c->out whole (waiting for room at most HTTP_WRITE_TIMEOUT_MS at a time) and empties
 * it. Returns 0, or -1 when the connection failed. */
static int http_write_out(struct http_conn *c)
{
    size_t off = 0;
    int ok = 1;

    while (ok && off < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + off, c->out.len - off);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = c->fd, .events = POLLOUT};
            ok = poll(&p, 1, HTTP_WRITE_TIMEOUT_MS) > 0;
        } else {
            ok = n < 0 && errno == EINTR;
        }
    }
    buf_reset(&c->out);
    return ok ? 0 : -1;
}

/* Serves the request complete in c->in: the handler's answer goes to c->out as records. */
static void http_serve_one(struct http_conn *c, http_handler handle, void *arg)
{
    struct http_request req;
    const struct wire_in *in = &c->in;

    memset(&req, 0, sizeof(req));
    req.params = in;
    req.method = http_param(in, "REQUEST_METHOD");
    req.path = http_param(in, "SCRIPT_NAME");
    req.query = http_param(in, "QUERY_STRING");
    req.content_type = http_param(in, "CONTENT_TYPE");
    addr_client(&config.trusted_proxy_cidrs, http_param(in, "REMOTE_ADDR"),
                http_param(in, "HTTP_X_FORWARDED_FOR"), req.remote_addr);
    addr_limit_key(req.remote_addr, req.limit_key);
    req.authorization = http_param(in, "HTTP_AUTHORIZATION");
    req.upgrade = http_param(in, "HTTP_UPGRADE");
    req.accept = http_param(in, "HTTP_ACCEPT");
    /* Only nginx sets REQUEST_ID (a client's Request-Id header arrives as HTTP_REQUEST_ID):
     * anything but its form is dropped, so nothing a client sends reaches a log this way. */
    if (log_request_id_valid(http_param(in, "REQUEST_ID")))
        strcpy(req.request_id, http_param(in, "REQUEST_ID"));
    log_set_request(req.request_id);
    handle(&req, arg);
    if (!req.replied)
        http_reply_error(&req, E_INTERNAL, NULL, NULL);
    wire_put_answer(&c->out, in->id, req.text.data, req.text.len);
    buf_free(&req.text);
    free(req.body);
    log_clear_request();
}

/* The event on connection c: reads what arrived, serves every request complete in it, and
 * re-arms c, or closes it (nginx closed it, a protocol error, no KEEP_CONN, or stopped). */
static void http_conn_event(struct http_conn *c, http_handler handle, void *arg)
{
    /* Busy before anything is read: a connection http_stop ended is closed unread (nginx
     * then retries on a new connection, which the stopped socket refuses: 503), so a request
     * is either never read or answered, never carried out and cut off (seen in CI: a chat
     * posted whose client got 503). The loop below sets the mark back to what is left. */
    pthread_mutex_lock(&http_conns_lock);
    int ended = c->ended;
    if (!ended)
        http_conn_set_busy(c, 1);
    pthread_mutex_unlock(&http_conns_lock);
    if (ended) {
        http_conn_close(c);
        return;
    }
    for (;;) {
        size_t room;
        unsigned char *to = wire_in_space(&c->in, HTTP_READ_CHUNK, &room);
        ssize_t n = read(c->fd, to, room);
        if (n > 0) {
            wire_in_commit(&c->in, (size_t)n);
            http_conn_set_busy(c, 1);
            if ((size_t)n < room)
                break;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else { /* closed by nginx, or failed */
            http_conn_close(c);
            return;
        }
    }
    for (;;) {
        enum wire_status st = wire_in_parse(&c->in, HTTP_MAX_BODY);
        int keep = c->in.keep_conn && !atomic_load(&http_stopped);
        if (c->in.reply.len > 0) { /* answers to management records, refusals */
            buf_append(&c->out, c->in.reply.data, c->in.reply.len);
            buf_reset(&c->in.reply);
        }
        if (st == WIRE_READY)
            http_serve_one(c, handle, arg);
        if ((c->out.len > 0 && http_write_out(c) != 0) || st == WIRE_CLOSE ||
            (st == WIRE_READY && !keep)) {
            http_conn_close(c);
            return;
        }
        if (st == WIRE_READY)
            wire_in_next(&c->in);
        http_conn_set_busy(c, c->in.id != 0 || c->in.raw_len > 0);
        if (st == WIRE_MORE)
            break;
    }
    /* Stopped meanwhile and idle: http_stop may have passed it over (busy), so it ends here
     * rather than wait, kept, for a request nginx should send elsewhere. */
    if ((atomic_load(&http_stopped) && !atomic_load(&c->busy)) || http_rearm(c->fd, c) != 0)
        http_conn_close(c);
}

void http_serve(int fd, http_handler handle, void *arg, volatile sig_atomic_t *stop)
{
    (void)fd; /* the socket http_listen or http_inherited set up */
    pthread_mutex_lock(&http_conns_lock);
    http_threads++;
    pthread_mutex_unlock(&http_conns_lock);
    for (;;) {
        struct epoll_event ev;
        int stopping = *stop;

        /* Stopped once nothing more can come in and no request is in progress. http_stop
         * ended the connections nginx kept idle; what is left is closed by the last thread
         * out. */
        if (stopping && atomic_load(&http_listen_done) && atomic_load(&http_busy) == 0)
            break;
        int n = epoll_wait(http_ep, &ev, 1, stopping ? HTTP_STOP_POLL_MS : -1);
        if (n < 0 && errno != EINTR) {
            char why[LOG_ERRNO_LEN];
            log_error("http: epoll_wait: %s; worker thread leaving", log_errno(errno, why));
            break;
        }
        if (n <= 0)
            continue;
        if (ev.data.ptr == &http_wake_tag) {
            /* Level-triggered, so every thread sees it, and keeps seeing it: look again in a
             * moment rather than spin. */
            if (!atomic_load(&http_listen_done))
                http_accept_pending();
            struct timespec pause = timeout_timespec(HTTP_STOP_POLL_MS);
            nanosleep(&pause, NULL);
        } else if (ev.data.ptr == &http_listen_tag) {
            http_accept_pending();
        } else {
            http_conn_event(ev.data.ptr, handle, arg);
        }
    }
    pthread_mutex_lock(&http_conns_lock);
    if (--http_threads == 0) {
        while (http_conns != NULL) {
            struct http_conn *c = http_conns;
            http_conns = c->next;
            http_conn_free(c);
        }
    }
    pthread_mutex_unlock(&http_conns_lock);
}

const char *http_header(const struct http_request *req, const char *param)
{
    return http_param(req->params, param);
}
