#include "scrape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "exec.h"
#include "log.h"
#include "nchan.h"
#include "store.h"
#include "timeout.h"
#include "valid.h"

#define SCRAPE_CONN_MAX 8        /* connections read at once; more wait in the backlog */
#define SCRAPE_BACKLOG 16        /* and past that, connects are refused */
#define SCRAPE_READ_MS 2000      /* a request head must arrive within this after the accept */
#define SCRAPE_WRITE_MS 5000     /* the answer must be taken within this */
#define SCRAPE_NCHAN_MS 1000     /* nchan's stub status must answer within this */
#define SCRAPE_ROOMS_MAX 100000  /* rooms read for the members online, at most */
#define SCRAPE_SCAN_COUNT "500"  /* SSCAN's COUNT hint for active-rooms */
#define SCRAPE_SCAN_BATCH 1024   /* rooms of one SSCAN reply read (a reply may exceed COUNT) */
#define SCRAPE_DISCARD_MAX 65536 /* bytes read and dropped after an answer, before the close */

struct scrape_conn {
    int fd; /* -1: a free slot */
    size_t len;
    long long deadline_ms; /* monotonic */
    char head[METRICS_REQUEST_MAX];
};

static struct {
    int started;
    int listen_fd, wake_fd;
    char unix_path[METRICS_LISTEN_PATH_MAX]; /* removed at the stop; "" for TCP */
    pthread_t thread;
    struct store *store; /* the thread's own Redis connection */
    int worker_threads;
    double start_time_s;
    struct scrape_conn conn[SCRAPE_CONN_MAX];
} scrape = {.listen_fd = -1, .wake_fd = -1};

/* ---- what a scrape reads -------------------------------------------------------------------- */

/* One integer reply (SCARD, ZCARD) into *out. */
static enum wnc_err scrape_count(int argc, const char **argv, long long *out)
{
    struct store_reply r;
    enum wnc_err e = store_command(scrape.store, argc, argv, NULL, &r);

    if (e == E_OK)
        *out = r.n == 1 && r.items[0] != NULL ? atoll(r.items[0]) : 0;
    store_reply_free(&r);
    return e;
}

/* pushd's report (METRICS_PUSHD_KEY) into s. */
static enum wnc_err scrape_pushd(struct metrics_scrape *s)
{
    const char *argv[] = {"HGETALL", METRICS_PUSHD_KEY};
    struct store_reply r;
    enum wnc_err e = store_command(scrape.store, 2, argv, NULL, &r);

    if (e != E_OK)
        return e;
    s->pushd_seen = r.n >= 2;
    for (size_t i = 0; i + 1 < r.n; i += 2) {
        const char *field = r.items[i], *value = r.items[i + 1];
        unsigned long long v;
        if (field == NULL || value == NULL)
            continue;
        v = strtoull(value, NULL, 10);
        if (strncmp(field, "fired:", 6) == 0) {
            for (size_t k = 0; k < METRICS_TIMER_KINDS; k++)
                if (strcmp(field + 6, metrics_timer_kinds[k]) == 0)
                    s->pushd_fired[k] = v;
        } else if (strncmp(field, "events:", 7) == 0) {
            size_t t = metrics_event_type_index(field + 7);
            if (t < METRICS_EVENT_TYPES)
                s->pushd_events[t] = v;
        } else if (strcmp(field, "loop_lag_ms") == 0) {
            s->pushd_loop_lag_s = (double)v / 1000;
        } else if (strcmp(field, "tick_ms") == 0) {
            s->pushd_tick_s = (double)v / 1000;
        } else if (strcmp(field, "reported_ms") == 0) {
            s->pushd_reported_s = (double)v / 1000;
        }
    }
    store_reply_free(&r);
    return E_OK;
}

/* Members online: each active room's `online` count (sql/lib.lua keeps it), added up, one
 * pipelined round of HGETs per SSCAN batch, on this thread's own connection; up to
 * SCRAPE_ROOMS_MAX rooms, past that the figure is left out (-1) rather than costing Redis more
 * on every scrape. */
static enum wnc_err scrape_members_online(struct metrics_scrape *s)
{
    char keys[SCRAPE_SCAN_BATCH][EXEC_KEY_SIZE];
    const char *argv[SCRAPE_SCAN_BATCH][3];
    const char **cmds[SCRAPE_SCAN_BATCH];
    char cursor[STORE_NUMBER_LEN] = "0";
    long long rooms = 0;
    enum wnc_err e = E_OK;

    s->members_online = s->rooms_active > SCRAPE_ROOMS_MAX ? -1 : 0;
    do {
        const char *scan[] = {"SSCAN", "active-rooms", cursor, "COUNT", SCRAPE_SCAN_COUNT};
        struct store_reply r, counts;
        size_t n = 0;

        if (s->members_online < 0 || (e = store_command(scrape.store, 5, scan, NULL, &r)) != E_OK)
            break;
        snprintf(cursor, sizeof(cursor), "%s", r.n >= 1 && r.items[0] ? r.items[0] : "0");
        for (size_t i = 1; i < r.n && n < SCRAPE_SCAN_BATCH; i++) {
            char room[ROOM_ID_LEN + 1];
            if (r.items[i] == NULL || valid_room_id(r.items[i], room) != E_OK)
                continue;
            snprintf(keys[n], sizeof(keys[n]), "%s:{%s}", script_room_key_prefix(ROOM_KEY_ROOM),
                     room);
            argv[n][0] = "HGET";
            argv[n][1] = keys[n];
            argv[n][2] = "online";
            cmds[n] = argv[n];
            n++;
        }
        store_reply_free(&r);
        if (n > 0 && (e = store_pipeline(scrape.store, n, 3, cmds, &counts)) != E_OK)
            break;
        for (size_t i = 0; i < n && i < counts.n; i++)
            if (counts.items[i] != NULL && atoll(counts.items[i]) > 0)
                s->members_online += atoll(counts.items[i]);
        if (n > 0)
            store_reply_free(&counts);
        if ((rooms += (long long)n) > SCRAPE_ROOMS_MAX)
            s->members_online = -1;
    } while (strcmp(cursor, "0") != 0);
    return e;
}

/* The Redis figures: ten cheap commands (O(1), or O(log n) for the oldest timer entry), and one
 * read per active room for the members online. */
static enum wnc_err scrape_redis(struct metrics_scrape *s)
{
    const char *rooms[] = {"SCARD", "active-rooms"};
    long long now = exec_now_ms();
    enum wnc_err e;

    if ((e = scrape_count(2, rooms, &s->rooms_active)) != E_OK ||
        (e = scrape_members_online(s)) != E_OK)
        return e;
    for (size_t k = 0; k < METRICS_TIMER_KINDS; k++) {
        char key[32];
        const char *card[] = {"ZCARD", key};
        const char *oldest[] = {"ZRANGE", key, "0", "0", "WITHSCORES"};
        struct store_reply r;

        snprintf(key, sizeof(key), "timers:%s", metrics_timer_kinds[k]);
        if ((e = scrape_count(2, card, &s->timers_pending[k])) != E_OK ||
            (e = store_command(scrape.store, 5, oldest, NULL, &r)) != E_OK)
            return e;
        if (r.n == 2 && r.items[1] != NULL) {
            double due = strtod(r.items[1], NULL);
            s->timer_lag_s[k] = due < (double)now ? ((double)now - due) / 1000 : 0;
        }
        store_reply_free(&r);
    }
    return scrape_pushd(s);
}

static void scrape_render(struct buf *b)
{
    struct metrics_scrape s;
    struct nchan_status nchan;
    uint64_t start = metrics_now_ns();

    memset(&s, 0, sizeof(s));
    s.worker_threads = scrape.worker_threads;
    s.start_time_s = scrape.start_time_s;
    s.redis_up = scrape_redis(&s) == E_OK;
    if (!s.redis_up) {
        /* What was read before the failure is not shown. */
        memset(&s, 0, sizeof(s));
        s.worker_threads = scrape.worker_threads;
        s.start_time_s = scrape.start_time_s;
    }
    if (nchan_status_fetch(config.publish_socket, SCRAPE_NCHAN_MS, &nchan) == 0)
        s.nchan = &nchan;
    else
        log_warn("metrics: nchan's status on %s: %s", config.publish_socket, nchan.error);
    s.scrape_duration_s = (double)(metrics_now_ns() - start) / 1e9;
    metrics_render(b, &s);
}

/* ---- the connections ------------------------------------------------------------------------ */

/* Writes all of data before deadline_ms (monotonic); -1 when the peer does not take it. */
static int scrape_write_all(int fd, const char *data, size_t len, long long deadline_ms)
{
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            long long left = deadline_ms - timeout_mono_ms();
            if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static void scrape_close(struct scrape_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* Answers status on c and closes it. */
static void scrape_answer(struct scrape_conn *c, int status)
{
    static const struct {
        int status;
        const char *head;
    } refusals[] = {
        {400, "400 Bad Request"},
        {404, "404 Not Found"},
        {405, "405 Method Not Allowed\r\nAllow: GET"},
        {431, "431 Request Header Fields Too Large"},
    };
    struct buf body = {0}, out = {0};
    char sink[4096];
    size_t discarded = 0;

    if (status == 200) {
        scrape_render(&body);
        buf_printf(&out,
                   "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                   body.len);
        buf_append(&out, body.data, body.len);
    } else {
        const char *head = "400 Bad Request";
        for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
            if (refusals[i].status == status)
                head = refusals[i].head;
        int text = (int)strcspn(head, "\r"); /* the status line's, without extra headers */
        buf_printf(&out,
                   "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n%.*s\n",
                   head, text + 1, text, head);
    }
    scrape_write_all(c->fd, out.data, out.len, timeout_mono_ms() + SCRAPE_WRITE_MS);
    /* The answer is out; what the peer sent beyond the head is read and dropped (a bounded
     * amount, without waiting), so that the close does not reset the connection under it. */
    shutdown(c->fd, SHUT_WR);
    for (ssize_t r;
         discarded < SCRAPE_DISCARD_MAX && (r = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0;)
        discarded += (size_t)r;
    buf_free(&body);
    buf_free(&out);
    scrape_close(c);
}

static void scrape_accept(void)
{
    for (size_t i = 0; i < SCRAPE_CONN_MAX; i++) {
        struct scrape_conn *c = &scrape.conn[i];
        if (c->fd >= 0)
            continue;
        /* accept(2), not accept4, which needs _GNU_SOURCE: the flags are set after. */
        c->fd = accept(scrape.listen_fd, NULL, NULL);
        if (c->fd >= 0 &&
            (fcntl(c->fd, F_SETFL, O_NONBLOCK) != 0 || fcntl(c->fd, F_SETFD, FD_CLOEXEC) != 0)) {
            scrape_close(c);
            continue;
        }
        if (c->fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                char why[LOG_ERRNO_LEN];
                log_warn("metrics: accept: %s", log_errno(errno, why));
            }
            return;
        }
        c->len = 0;
        c->deadline_ms = timeout_mono_ms() + SCRAPE_READ_MS;
    }
}

static void scrape_read(struct scrape_conn *c)
{
    ssize_t r = recv(c->fd, c->head + c->len, sizeof(c->head) - c->len, 0);
    int status;

    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (r <= 0) { /* the peer left, or an error: nothing to answer */
        scrape_close(c);
        return;
    }
    c->len += (size_t)r;
    if ((status = metrics_http_check(c->head, c->len, sizeof(c->head))) != 0)
        scrape_answer(c, status);
}

static void *scrape_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2 + SCRAPE_CONN_MAX];
        size_t open = 0;
        long long now = timeout_mono_ms(), wait = -1;

        p[0] = (struct pollfd){.fd = scrape.wake_fd, .events = POLLIN};
        for (size_t i = 0; i < SCRAPE_CONN_MAX; i++) {
            struct scrape_conn *c = &scrape.conn[i];
            p[2 + i] = (struct pollfd){.fd = c->fd, .events = POLLIN};
            if (c->fd < 0)
                continue;
            open++;
            if (c->deadline_ms <= now) { /* too slow: closed without an answer */
                scrape_close(c);
                p[2 + i].fd = -1;
                open--;
                continue;
            }
            if (wait < 0 || c->deadline_ms - now < wait)
                wait = c->deadline_ms - now;
        }
        /* Full: new connections wait in the backlog until a slot frees. */
        p[1] =
            (struct pollfd){.fd = open < SCRAPE_CONN_MAX ? scrape.listen_fd : -1, .events = POLLIN};
        if (poll(p, 2 + SCRAPE_CONN_MAX, (int)wait) < 0) {
            if (errno != EINTR) {
                char why[LOG_ERRNO_LEN];
                log_error("metrics: poll: %s; the listener stops", log_errno(errno, why));
                break;
            }
            continue;
        }
        if (p[0].revents != 0)
            break;
        for (size_t i = 0; i < SCRAPE_CONN_MAX; i++)
            if (p[2 + i].fd >= 0 && p[2 + i].revents != 0 && scrape.conn[i].fd >= 0)
                scrape_read(&scrape.conn[i]);
        if (p[1].fd >= 0 && p[1].revents != 0)
            scrape_accept();
    }
    for (size_t i = 0; i < SCRAPE_CONN_MAX; i++)
        scrape_close(&scrape.conn[i]);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------- */

static int scrape_bind(const struct metrics_listen *at)
{
    char why[LOG_ERRNO_LEN];
    int fd, one = 1;

    if (at->kind == METRICS_LISTEN_UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", at->path);
        /* A socket left by a worker that did not stop cleanly; never any other file. */
        if (lstat(at->path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(at->path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
            bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(at->path, 0660) != 0 ||
            listen(fd, SCRAPE_BACKLOG) != 0) {
            log_error("metrics: cannot listen on %s: %s", at->path, log_errno(errno, why));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        snprintf(scrape.unix_path, sizeof(scrape.unix_path), "%s", at->path);
        return fd;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (at->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)at->port);
        memcpy(&s6->sin6_addr, at->addr, 16);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)at->port);
        memcpy(&s4->sin_addr, at->addr, 4);
        len = sizeof(*s4);
    }
    if ((fd = socket(at->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SCRAPE_BACKLOG) != 0) {
        log_error("metrics: cannot listen on %s: %s", config.metrics_listen, log_errno(errno, why));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int scrape_start(const struct metrics_listen *at, int worker_threads)
{
    if (at->kind == METRICS_LISTEN_OFF)
        return 0;
    for (size_t i = 0; i < SCRAPE_CONN_MAX; i++)
        scrape.conn[i].fd = -1;
    if ((scrape.listen_fd = scrape_bind(at)) < 0)
        return -1;
    if ((scrape.wake_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
        char why[LOG_ERRNO_LEN];
        log_error("metrics: eventfd: %s", log_errno(errno, why));
        scrape_stop();
        return -1;
    }
    scrape.worker_threads = worker_threads;
    scrape.start_time_s = (double)exec_now_ms() / 1000;
    scrape.store = store_open_config();
    if (pthread_create(&scrape.thread, NULL, scrape_thread, NULL) != 0) {
        log_error("metrics: cannot start the listener thread");
        scrape_stop();
        return -1;
    }
    scrape.started = 1;
    log_info("metrics on %s (GET /metrics)", config.metrics_listen);
    return 0;
}

void scrape_stop(void)
{
    if (scrape.started) {
        uint64_t one = 1;
        if (write(scrape.wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            log_error("metrics: cannot wake the listener thread");
        pthread_join(scrape.thread, NULL);
        scrape.started = 0;
    }
    if (scrape.listen_fd >= 0)
        close(scrape.listen_fd);
    if (scrape.wake_fd >= 0)
        close(scrape.wake_fd);
    scrape.listen_fd = scrape.wake_fd = -1;
    if (*scrape.unix_path != '\0')
        unlink(scrape.unix_path);
    *scrape.unix_path = '\0';
    store_close(scrape.store);
    scrape.store = NULL;
}
