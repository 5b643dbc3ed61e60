/*
 * net.c - the event loop, the HTTP/1.1 keep-alive client pool and the
 * minimal WebSocket client (RFC 6455, client side).
 *
 * Speed matters more than generality here: the generator must not be the
 * bottleneck of the stack it measures. So one read() per readiness event
 * into one shared buffer, frames parsed in place, no copy for unfragmented
 * messages, and per-connection buffers only while something is incomplete.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lg.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Events handled per epoll_wait(); larger batches amortise the syscall. */
#define LG_MAX_EVENTS 1024

/* A handshake response header larger than this is refused. */
#define WS_MAX_HANDSHAKE 16384

/* Reads per readiness event on one WebSocket before moving on. */
#define WS_MAX_READS_PER_EVENT 4

/* Control frames carry at most 125 bytes of payload (RFC 6455 5.5). */
#define WS_MAX_CONTROL 125

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int g_epfd = -1;
static int g_src_first = 1, g_src_count = 1;
static unsigned g_src_next;
static struct ws_handlers g_ws;
struct ws_counters ws_counters;

/* The shared read buffer; grows only when a single frame does not fit. */
static unsigned char *g_rbuf;
static size_t g_rcap;

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

/* ---- clock, randomness, loop --------------------------------------------- */

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lg_rand(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ull;
}

int lg_loop_init(void)
{
    g_rng ^= lg_now_ns() ^ ((uint64_t)getpid() << 32);
    g_rcap = LG_READ_BUF_SIZE;
    g_rbuf = malloc(g_rcap);
    if (g_rbuf == NULL)
        return -1;
    g_epfd = epoll_create1(EPOLL_CLOEXEC);
    return g_epfd < 0 ? -1 : 0;
}

void lg_set_source_addrs(int first, int count)
{
    g_src_first = first;
    g_src_count = count < 1 ? 1 : count;
}

/* Makes a non-blocking socket and starts connecting it. Returns the fd or
 * -1 with errno set. */
static int lg_connect(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    /* Small requests and pongs must leave at once, not wait for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (g_src_count > 1) {
        /* Let connect() pick the port per 4-tuple instead of bind() picking
         * one unique across all destinations: the whole point is more
         * ports. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(
            0x7f000000u | (uint32_t)(g_src_first + (int)(g_src_next++ % (unsigned)g_src_count)));
        if (bind(fd, (const struct sockaddr *)&src, sizeof src) < 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int lg_watch(struct lg_sock *s, int op, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.ptr = s;
    return epoll_ctl(g_epfd, op, s->fd, &ev);
}

static void http_event(struct lg_sock *s, uint32_t events);
static void ws_event(struct ws_conn *w, uint32_t events);

void lg_loop_once(int timeout_ms)
{
    struct epoll_event evs[LG_MAX_EVENTS];
    int n = epoll_wait(g_epfd, evs, LG_MAX_EVENTS, timeout_ms);
    for (int i = 0; i < n; i++) {
        struct lg_sock *s = evs[i].data.ptr;
        /* A handler may have closed this socket earlier in the batch;
         * structs are never freed while the loop runs, so fd < 0 is a safe
         * test. */
        if (s->fd < 0)
            continue;
        if (s->kind == LG_SOCK_HTTP)
            http_event(s, evs[i].events);
        else
            ws_event((struct ws_conn *)s, evs[i].events);
    }
}

/* ---- HTTP/1.1 client pool ------------------------------------------------- */

/* One queued request: the full request bytes follow the struct. */
struct http_req {
    struct http_req *next;
    http_cb cb;
    void *ctx;
    uint64_t t_submit;
    size_t len;
    int retried;
    char data[];
};

enum http_conn_state { HC_DOWN, HC_CONNECTING, HC_IDLE, HC_BUSY };

struct http_conn {
    struct lg_sock s;
    struct http_pool *pool;
    int state;
    struct http_req *req; /* in flight, owned by the connection */
    size_t woff;          /* bytes of req written */
    char *rbuf;           /* response bytes so far */
    size_t rlen, rcap;
};

struct http_pool {
    struct sockaddr_in addr;
    int n;
    struct http_conn *conns;
    int *idle; /* indexes of DOWN or IDLE connections, used as a stack */
    int nidle;
    struct http_req *head, *tail;
    size_t queued, inflight;
    uint64_t transport_errors;
};

static void pool_kick(struct http_pool *p);

struct http_pool *http_pool_new(const struct sockaddr_in *addr, int nconns)
{
    struct http_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->addr = *addr;
    p->n = nconns;
    p->conns = calloc((size_t)nconns, sizeof *p->conns);
    p->idle = calloc((size_t)nconns, sizeof *p->idle);
    if (p->conns == NULL || p->idle == NULL)
        abort();
    for (int i = 0; i < nconns; i++) {
        p->conns[i].s.fd = -1;
        p->conns[i].s.kind = LG_SOCK_HTTP;
        p->conns[i].pool = p;
        p->idle[p->nidle++] = nconns - 1 - i;
    }
    return p;
}

void http_submit(struct http_pool *p, const char *method, const char *path, const char *token,
                 const char *body, http_cb cb, void *ctx)
{
    size_t blen = body ? strlen(body) : 0;
    size_t cap = strlen(method) + strlen(path) + (token ? strlen(token) : 0) + blen + 200;
    struct http_req *r = malloc(sizeof *r + cap);
    if (r == NULL)
        abort();
    int n;
    if (token != NULL && body != NULL)
        n = snprintf(r->data, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, token, blen, body);
    else if (body != NULL)
        n = snprintf(r->data, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, blen, body);
    else if (token != NULL)
        n = snprintf(r->data, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %s\r\n\r\n",
                     method, path, token);
    else
        n = snprintf(r->data, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    r->len = (size_t)n;
    r->next = NULL;
    r->cb = cb;
    r->ctx = ctx;
    r->retried = 0;
    r->t_submit = lg_now_ns();
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->queued++;
    pool_kick(p);
}

size_t http_outstanding(const struct http_pool *p)
{
    return p->queued + p->inflight;
}

uint64_t http_transport_errors(const struct http_pool *p)
{
    return p->transport_errors;
}

static void http_close(struct http_conn *c)
{
    if (c->s.fd >= 0)
        close(c->s.fd);
    c->s.fd = -1;
    c->state = HC_DOWN;
    c->rlen = 0;
}

/* Writes what is left of the current request; 0 on success or EAGAIN. */
static int http_flush(struct http_conn *c)
{
    while (c->req && c->woff < c->req->len) {
        ssize_t w = write(c->s.fd, c->req->data + c->woff, c->req->len - c->woff);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            return -1;
        }
        c->woff += (size_t)w;
    }
    return 0;
}

/* The connection failed: retry its request once on a fresh connection
 * (a keep-alive connection the server closed while idle is normal), or
 * report the failure. */
static void http_fail(struct http_conn *c)
{
    struct http_pool *p = c->pool;
    struct http_req *r = c->req;
    int had_response_bytes = c->rlen > 0;
    http_close(c);
    c->req = NULL;
    p->idle[p->nidle++] = (int)(c - p->conns);
    p->transport_errors++;
    if (r != NULL) {
        p->inflight--;
        if (!r->retried && !had_response_bytes) {
            r->retried = 1;
            r->next = p->head;
            p->head = r;
            if (p->tail == NULL)
                p->tail = r;
            p->queued++;
        } else {
            r->cb(r->ctx, 0, NULL, 0, r->t_submit);
            free(r);
        }
    }
    pool_kick(p);
}

static void http_start(struct http_conn *c, struct http_req *r)
{
    struct http_pool *p = c->pool;
    c->req = r;
    c->woff = 0;
    c->rlen = 0;
    p->inflight++;
    if (c->state == HC_DOWN) {
        c->s.fd = lg_connect(&p->addr);
        if (c->s.fd < 0) {
            http_fail(c);
            return;
        }
        /* Edge-triggered: a handful of busy connections, read until
         * EAGAIN; no epoll_ctl per request. */
        lg_watch(&c->s, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
        c->state = HC_CONNECTING;
        return;
    }
    c->state = HC_BUSY;
    if (http_flush(c) < 0)
        http_fail(c);
}

static void pool_kick(struct http_pool *p)
{
    while (p->head != NULL && p->nidle > 0) {
        struct http_conn *c = &p->conns[p->idle[--p->nidle]];
        struct http_req *r = p->head;
        p->head = r->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        r->next = NULL;
        http_start(c, r);
    }
}

/* Case-insensitive search for a header's value in [h, end); returns a
 * pointer to the value or NULL. */
static const char *http_header(const char *h, const char *end, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *line = h;
    while (line < end) {
        const char *eol = line;
        while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
            eol++;
        if (eol + 1 >= end)
            eol = end;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        line = eol + 2;
    }
    return NULL;
}

static const char *find_crlfcrlf(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == '\r' && s[i + 3] == '\n')
            return s + i;
    return NULL;
}

/* Decodes a chunked body in place into out. Returns the bytes consumed
 * from in (through the final CRLF), 0 if incomplete, -1 if malformed. */
static long http_unchunk(const char *in, size_t len, char *out, size_t *outlen)
{
    size_t pos = 0, o = 0;
    for (;;) {
        const char *crlf = NULL;
        for (size_t i = pos; i + 1 < len; i++)
            if (in[i] == '\r' && in[i + 1] == '\n') {
                crlf = in + i;
                break;
            }
        if (crlf == NULL)
            return 0;
        char *endp;
        unsigned long n = strtoul(in + pos, &endp, 16);
        if (endp == in + pos)
            return -1;
        pos = (size_t)(crlf - in) + 2;
        if (n == 0) {
            /* No trailers from nginx; expect the final CRLF. */
            if (len < pos + 2)
                return 0;
            *outlen = o;
            return (long)(pos + 2);
        }
        if (len < pos + n + 2)
            return 0;
        memcpy(out + o, in + pos, n);
        o += n;
        pos += n + 2;
    }
}

/* Parses one complete response from c->rbuf if present. Returns 1 when a
 * response was completed (and consumed), 0 if more bytes are needed, -1 on
 * a malformed response. */
static int http_try_response(struct http_conn *c)
{
    const char *hend = find_crlfcrlf(c->rbuf, c->rlen);
    if (hend == NULL)
        return c->rlen > 65536 ? -1 : 0;
    int status = 0;
    if (sscanf(c->rbuf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    const char *hfirst = memchr(c->rbuf, '\n', (size_t)(hend - c->rbuf));
    hfirst = hfirst ? hfirst + 1 : hend;
    size_t hdr_len = (size_t)(hend - c->rbuf) + 4;
    size_t vlen;
    const char *v;
    int close_after = 0;
    if ((v = http_header(hfirst, hend, "Connection", &vlen)) != NULL && vlen >= 5 &&
        strncasecmp(v, "close", 5) == 0)
        close_after = 1;

    const char *body = c->rbuf + hdr_len;
    size_t body_len = 0, consumed;
    char *decoded = NULL;
    if ((v = http_header(hfirst, hend, "Content-Length", &vlen)) != NULL) {
        body_len = strtoul(v, NULL, 10);
        if (c->rlen < hdr_len + body_len)
            return 0;
        consumed = hdr_len + body_len;
    } else if ((v = http_header(hfirst, hend, "Transfer-Encoding", &vlen)) != NULL && vlen >= 7 &&
               strncasecmp(v, "chunked", 7) == 0) {
        decoded = malloc(c->rlen - hdr_len + 1);
        if (decoded == NULL)
            abort();
        long used = http_unchunk(body, c->rlen - hdr_len, decoded, &body_len);
        if (used <= 0) {
            free(decoded);
            return (int)(used < 0 ? -1 : 0);
        }
        body = decoded;
        consumed = hdr_len + (size_t)used;
    } else if (status == 204 || status == 304 || status < 200) {
        consumed = hdr_len;
    } else {
        /* Body delimited by close: wait for EOF (handled by the caller). */
        return 0;
    }

    struct http_pool *p = c->pool;
    struct http_req *r = c->req;
    c->req = NULL;
    p->inflight--;
    if (close_after) {
        http_close(c);
    } else {
        c->state = HC_IDLE;
    }
    /* The callback may submit: make the connection available first. The
     * response bytes stay valid because rbuf is only touched by reads on
     * this connection, which cannot happen inside the callback. */
    p->idle[p->nidle++] = (int)(c - p->conns);
    if (r != NULL) {
        r->cb(r->ctx, status, body, body_len, r->t_submit);
        free(r);
    }
    free(decoded);
    if (c->s.fd >= 0 && c->req == NULL) {
        memmove(c->rbuf, c->rbuf + consumed, c->rlen - consumed);
        c->rlen -= consumed;
    } else if (c->req != NULL && c->s.fd >= 0) {
        /* A new request started inside the callback; keep any unparsed
         * bytes (there should be none: no pipelining). */
        c->rlen = 0;
    }
    pool_kick(p);
    return 1;
}

static void http_event(struct lg_sock *s, uint32_t events)
{
    struct http_conn *c = (struct http_conn *)s;
    if (c->state == HC_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t elen = sizeof err;
        getsockopt(c->s.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err != 0) {
            http_fail(c);
            return;
        }
        c->state = HC_BUSY;
        if (http_flush(c) < 0) {
            http_fail(c);
            return;
        }
    } else if (events & EPOLLOUT) {
        if (http_flush(c) < 0) {
            http_fail(c);
            return;
        }
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    for (;;) {
        if (c->rcap - c->rlen < 16384) {
            size_t ncap = c->rcap ? c->rcap * 2 : 65536;
            if (ncap > LG_HTTP_MAX_RESPONSE) {
                http_fail(c);
                return;
            }
            c->rbuf = realloc(c->rbuf, ncap);
            if (c->rbuf == NULL)
                abort();
            c->rcap = ncap;
        }
        ssize_t r = read(c->s.fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            http_fail(c);
            return;
        }
        if (r == 0) {
            /* EOF: a close-delimited body is complete now. */
            if (c->req != NULL && c->rlen > 0) {
                const char *hend = find_crlfcrlf(c->rbuf, c->rlen);
                int status = 0;
                if (hend && sscanf(c->rbuf, "HTTP/1.%*d %d", &status) == 1) {
                    struct http_pool *p = c->pool;
                    struct http_req *req = c->req;
                    size_t hl = (size_t)(hend - c->rbuf) + 4;
                    c->req = NULL;
                    p->inflight--;
                    req->cb(req->ctx, status, c->rbuf + hl, c->rlen - hl, req->t_submit);
                    free(req);
                    http_close(c);
                    p->idle[p->nidle++] = (int)(c - p->conns);
                    pool_kick(p);
                    return;
                }
            }
            if (c->req != NULL) {
                http_fail(c);
            } else {
                /* Idle keep-alive closed by the server: just forget it.
                 * The connection is already on the idle stack. */
                http_close(c);
            }
            return;
        }
        c->rlen += (size_t)r;
        int rc;
        while (c->req != NULL && c->s.fd >= 0 && (rc = http_try_response(c)) != 0) {
            if (rc < 0) {
                http_fail(c);
                return;
            }
        }
        if (c->s.fd < 0)
            return;
        if (c->req == NULL && c->rlen > 0) {
            /* Bytes nobody asked for. */
            http_fail(c);
            return;
        }
    }
}

/* ---- WebSocket client ------------------------------------------------------ */

void ws_set_handlers(const struct ws_handlers *h)
{
    g_ws = *h;
}

void ws_drop(struct ws_conn *w)
{
    if (w->s.fd >= 0)
        close(w->s.fd);
    w->s.fd = -1;
    w->state = WS_CLOSED;
    free(w->path);
    free(w->headers);
    free(w->in);
    free(w->msg);
    free(w->out);
    w->path = w->headers = NULL;
    w->in = w->msg = w->out = NULL;
    w->in_len = w->in_cap = w->msg_len = w->msg_cap = 0;
    w->out_len = w->out_off = 0;
    w->want_write = 0;
    w->frag_op = 0;
}

static void ws_fail(struct ws_conn *w)
{
    ws_drop(w);
    if (g_ws.on_close)
        g_ws.on_close(w);
}

int ws_open(struct ws_conn *w, const struct sockaddr_in *addr, const char *path,
            const char *headers)
{
    w->s.kind = LG_SOCK_WS;
    w->s.fd = lg_connect(addr);
    if (w->s.fd < 0) {
        w->state = WS_CLOSED;
        return -1;
    }
    w->path = strdup(path);
    w->headers = strdup(headers != NULL ? headers : "");
    if (w->path == NULL || w->headers == NULL)
        abort();
    unsigned char raw[16];
    uint64_t a = lg_rand(), b = lg_rand();
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    lg_base64(raw, sizeof raw, w->key);
    w->state = WS_CONNECTING;
    w->http_status = 0;
    w->want_write = 1;
    if (lg_watch(&w->s, EPOLL_CTL_ADD, EPOLLOUT) < 0) {
        ws_drop(w);
        return -1;
    }
    return 0;
}

/* Writes pending output; arms or disarms EPOLLOUT as needed. Returns -1
 * when the connection failed (already dropped and reported). */
static int ws_flush(struct ws_conn *w)
{
    while (w->out_off < w->out_len) {
        ssize_t n = write(w->s.fd, w->out + w->out_off, w->out_len - w->out_off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            ws_fail(w);
            return -1;
        }
        w->out_off += (uint32_t)n;
    }
    int pending = w->out_off < w->out_len;
    if (!pending) {
        free(w->out);
        w->out = NULL;
        w->out_len = w->out_off = 0;
    }
    if (pending != w->want_write && w->state != WS_CONNECTING) {
        w->want_write = (uint8_t)pending;
        lg_watch(&w->s, EPOLL_CTL_MOD, EPOLLIN | (pending ? EPOLLOUT : 0u));
    }
    return 0;
}

static void ws_queue(struct ws_conn *w, const void *data, size_t len)
{
    size_t left = w->out_len - w->out_off;
    unsigned char *nb = malloc(left + len);
    if (nb == NULL)
        abort();
    if (left)
        memcpy(nb, w->out + w->out_off, left);
    memcpy(nb + left, data, len);
    free(w->out);
    w->out = nb;
    w->out_len = (uint32_t)(left + len);
    w->out_off = 0;
}

void ws_send(struct ws_conn *w, int op, const void *payload, size_t len)
{
    if (w->s.fd < 0)
        return;
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | (op & 0x0f));
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    /* Clients must mask every frame (RFC 6455 5.3). */
    uint32_t mask = (uint32_t)lg_rand();
    memcpy(hdr + h, &mask, 4);
    const unsigned char *m = hdr + h;
    h += 4;
    unsigned char *frame = malloc(h + len);
    if (frame == NULL)
        abort();
    memcpy(frame, hdr, h);
    const unsigned char *p = payload;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = p[i] ^ m[i & 3];
    ws_queue(w, frame, h + len);
    free(frame);
    if (w->state != WS_CONNECTING)
        ws_flush(w);
}

/* Checks the 101 response; returns bytes consumed, 0 if incomplete, -1 if
 * the handshake failed (connection already dropped and reported). */
static long ws_handshake(struct ws_conn *w, const unsigned char *buf, size_t len)
{
    const char *hend = find_crlfcrlf((const char *)buf, len);
    if (hend == NULL) {
        if (len > WS_MAX_HANDSHAKE) {
            ws_counters.protocol_errors++;
            ws_fail(w);
            return -1;
        }
        return 0;
    }
    int status = 0;
    if (sscanf((const char *)buf, "HTTP/1.%*d %d", &status) != 1 || status != 101) {
        w->http_status = (uint16_t)(status > 0 ? status : 999);
        ws_fail(w);
        return -1;
    }
    char src[64];
    unsigned char digest[20];
    char expect[32];
    snprintf(src, sizeof src, "%s%s", w->key, ws_guid);
    lg_sha1(src, strlen(src), digest);
    lg_base64(digest, sizeof digest, expect);
    size_t vlen;
    const char *first = memchr(buf, '\n', (size_t)(hend - (const char *)buf));
    const char *v = http_header(first ? first + 1 : hend, hend, "Sec-WebSocket-Accept", &vlen);
    if (v == NULL || vlen != strlen(expect) || memcmp(v, expect, vlen) != 0) {
        ws_counters.accept_mismatch++;
        w->http_status = 101;
        ws_fail(w);
        return -1;
    }
    w->state = WS_OPEN;
    if (g_ws.on_open)
        g_ws.on_open(w);
    return (long)(hend - (const char *)buf) + 4;
}

static int ws_append_msg(struct ws_conn *w, const unsigned char *p, size_t n)
{
    if ((size_t)w->msg_len + n > LG_WS_MAX_MESSAGE)
        return -1;
    if (w->msg_len + n > w->msg_cap) {
        size_t ncap = w->msg_cap ? w->msg_cap : 1024;
        while (ncap < w->msg_len + n)
            ncap *= 2;
        w->msg = realloc(w->msg, ncap);
        if (w->msg == NULL)
            abort();
        w->msg_cap = (uint32_t)ncap;
    }
    memcpy(w->msg + w->msg_len, p, n);
    w->msg_len += (uint32_t)n;
    return 0;
}

/* Parses complete frames from buf. Returns bytes consumed, or -1 when the
 * connection was closed meanwhile. */
static long ws_parse(struct ws_conn *w, unsigned char *buf, size_t len, uint64_t t)
{
    size_t pos = 0;
    if (w->state == WS_HANDSHAKE) {
        long used = ws_handshake(w, buf, len);
        if (used <= 0)
            return used;
        pos = (size_t)used;
    }
    while (len - pos >= 2) {
        unsigned char *p = buf + pos;
        int fin = p[0] & 0x80, op = p[0] & 0x0f, masked = p[1] & 0x80;
        uint64_t plen = p[1] & 0x7f;
        size_t hdr = 2;
        if (plen == 126) {
            if (len - pos < 4)
                break;
            plen = (uint64_t)p[2] << 8 | p[3];
            hdr = 4;
        } else if (plen == 127) {
            if (len - pos < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | p[2 + i];
            hdr = 10;
        }
        if (plen > LG_WS_MAX_MESSAGE) {
            ws_counters.protocol_errors++;
            ws_fail(w);
            return -1;
        }
        if (masked)
            hdr += 4;
        if (len - pos < hdr + plen)
            break;
        unsigned char *pl = p + hdr;
        if (masked) {
            /* Servers must not mask; tolerate it rather than skew counts. */
            const unsigned char *m = p + hdr - 4;
            for (uint64_t i = 0; i < plen; i++)
                pl[i] ^= m[i & 3];
        }
        pos += hdr + (size_t)plen;
        ws_counters.frames++;
        switch (op) {
        case 1:
        case 2:
            if (w->frag_op != 0) {
                ws_counters.protocol_errors++;
                ws_fail(w);
                return -1;
            }
            if (fin) {
                w->messages++;
                g_ws.on_message(w, (const char *)pl, (size_t)plen, t);
            } else {
                ws_counters.fragments++;
                w->frag_op = (uint8_t)op;
                w->msg_len = 0;
                if (ws_append_msg(w, pl, (size_t)plen) < 0) {
                    ws_counters.protocol_errors++;
                    ws_fail(w);
                    return -1;
                }
            }
            break;
        case 0:
            ws_counters.fragments++;
            if (w->frag_op == 0 || ws_append_msg(w, pl, (size_t)plen) < 0) {
                ws_counters.protocol_errors++;
                ws_fail(w);
                return -1;
            }
            if (fin) {
                w->messages++;
                g_ws.on_message(w, (const char *)w->msg, w->msg_len, t);
                free(w->msg);
                w->msg = NULL;
                w->msg_len = w->msg_cap = 0;
                w->frag_op = 0;
            }
            break;
        case 8: {
            /* Echo the status code, then stop: the server is going away. */
            ws_counters.closes++;
            size_t echo = plen >= 2 ? 2 : 0;
            ws_send(w, 8, pl, echo);
            if (w->s.fd >= 0)
                ws_fail(w);
            return -1;
        }
        case 9:
            ws_counters.pings++;
            if (plen > WS_MAX_CONTROL) {
                ws_counters.protocol_errors++;
                ws_fail(w);
                return -1;
            }
            ws_counters.pongs_sent++;
            ws_send(w, 10, pl, (size_t)plen);
            if (w->s.fd < 0)
                return -1;
            break;
        case 10:
            break;
        default:
            ws_counters.protocol_errors++;
            ws_fail(w);
            return -1;
        }
    }
    return (long)pos;
}

static void ws_readable(struct ws_conn *w)
{
    size_t have = w->in_len;
    if (have > g_rcap) {
        g_rcap = have * 2;
        g_rbuf = realloc(g_rbuf, g_rcap);
        if (g_rbuf == NULL)
            abort();
    }
    if (have)
        memcpy(g_rbuf, w->in, have);
    /* Bounded so one fire-hose connection cannot starve the others;
     * level-triggered epoll brings us back for the rest. */
    for (int rounds = 0; rounds < WS_MAX_READS_PER_EVENT; rounds++) {
        size_t space = g_rcap - have;
        ssize_t r = read(w->s.fd, g_rbuf + have, space);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            ws_fail(w);
            return;
        }
        if (r == 0) {
            ws_fail(w);
            return;
        }
        uint64_t t = lg_now_ns();
        ws_counters.bytes += (uint64_t)r;
        have += (size_t)r;
        long used = ws_parse(w, g_rbuf, have, t);
        if (used < 0)
            return;
        if (used > 0) {
            memmove(g_rbuf, g_rbuf + used, have - (size_t)used);
            have -= (size_t)used;
        }
        if ((size_t)r < space)
            break; /* Level-triggered: the rest, if any, wakes us again. */
        if (have == g_rcap) {
            /* One frame bigger than the buffer: grow (bounded by
             * LG_WS_MAX_MESSAGE in ws_parse). */
            g_rcap *= 2;
            g_rbuf = realloc(g_rbuf, g_rcap);
            if (g_rbuf == NULL)
                abort();
        }
    }
    if (have == 0) {
        free(w->in);
        w->in = NULL;
        w->in_len = w->in_cap = 0;
        return;
    }
    if (have > w->in_cap) {
        w->in = realloc(w->in, have);
        if (w->in == NULL)
            abort();
        w->in_cap = (uint32_t)have;
    }
    memcpy(w->in, g_rbuf, have);
    w->in_len = (uint32_t)have;
}

static void ws_event(struct ws_conn *w, uint32_t events)
{
    if (w->state == WS_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof err;
        getsockopt(w->s.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            ws_fail(w);
            return;
        }
        char req[2048];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n%s\r\n",
                         w->path, w->key, w->headers);
        free(w->path);
        free(w->headers);
        w->path = NULL;
        w->headers = NULL;
        if (n < 0 || (size_t)n >= sizeof req) {
            ws_fail(w);
            return;
        }
        ws_queue(w, req, (size_t)n);
        w->state = WS_HANDSHAKE;
        /* Neither 0 nor 1: forces ws_flush to re-arm epoll for the new
         * state whatever is left to write. */
        w->want_write = 2;
        ws_flush(w);
        return;
    }
    if (events & EPOLLOUT) {
        if (ws_flush(w) < 0)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        ws_readable(w);
}
