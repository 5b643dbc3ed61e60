#include "publish.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ids.h"
#include "log.h"
#include "metrics.h"
#include "timeout.h"
#include "valid.h"
#include "xmalloc.h"

#define PUBLISH_TIMEOUT_MS 2000
#define PUBLISH_RESPONSE_MAX 4096
/* nchan answers 503 while its Redis storage cannot take a publish (a cluster node failing
 * over, nchan reconnecting): such a request goes back to the front of the queue and is sent
 * again after PUBLISH_RETRY_PAUSE_MS, until PUBLISH_RETRY_MS after it was queued. */
#define PUBLISH_RETRY_PAUSE_MS 100
#define PUBLISH_RETRY_MS 15000
/* Without a queue (pushd, wnc-admin) the caller waits: a few tries only, then it fails. */
#define PUBLISH_DIRECT_TRIES 5

/* One queued request. */
struct publish_item {
    struct publish_item *next;
    long long queued_ms; /* monotonic, when first queued */
    int is_delete;
    char channel[CHANNEL_MAX_LEN + 1];
    size_t len;
    char body[]; /* len bytes */
};

struct publisher {
    int fd; /* -1 while disconnected */
    char *path;
    char rbuf[PUBLISH_RESPONSE_MAX]; /* bytes read but not yet parsed (pipelined answers) */
    size_t rlen;

    /* Queued mode; lock guards the list and the fields up to lost. */
    int queued;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct publish_item *head, *tail;
    size_t count;
    int stopping;             /* publisher_drain was called: no new items, flush and leave */
    long long deadline_ms;    /* when stopping: the drain's end on the monotonic clock */
    size_t lost;              /* requests lost or dropped while stopping */
    long long io_deadline_ms; /* the thread's own: bound on its current batch's I/O (0: none) */
    int drained;              /* publisher_drain's own */
};

/* How long one wait for nchan may take: PUBLISH_TIMEOUT_MS, less when a drain's deadline
 * comes first (0 once it passed). */
static int publisher_wait_ms(const struct publisher *pub)
{
    long long left;

    if (pub->io_deadline_ms == 0)
        return PUBLISH_TIMEOUT_MS;
    left = pub->io_deadline_ms - timeout_mono_ms();
    return left <= 0 ? 0 : left < PUBLISH_TIMEOUT_MS ? (int)left : PUBLISH_TIMEOUT_MS;
}

struct publisher *publisher_open(const char *socket_path)
{
    struct publisher *pub = xcalloc(1, sizeof(*pub));

    pub->path = xstrdup(socket_path);
    pub->fd = -1;
    return pub;
}

static void publisher_disconnect(struct publisher *pub)
{
    if (pub->fd >= 0)
        close(pub->fd);
    pub->fd = -1;
    pub->rlen = 0;
}

static enum wnc_err publisher_connect(struct publisher *pub)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (pub->fd >= 0)
        return E_OK;
    if (strlen(pub->path) >= sizeof(addr.sun_path))
        return E_INTERNAL;
    strcpy(addr.sun_path, pub->path);
    pub->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pub->fd < 0 || connect(pub->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        char why[LOG_ERRNO_LEN];
        log_warn("publish: connect %s: %s", pub->path, log_errno(errno, why));
        publisher_disconnect(pub);
        return E_INTERNAL;
    }
    return E_OK;
}

static void publisher_append_request(struct buf *out, int is_delete, const char *channel,
                                     const char *body, size_t len)
{
    buf_printf(out,
               "%s /pub/%s HTTP/1.1\r\nHost: wnc\r\nContent-Type: application/json\r\n"
               "Content-Length: %zu\r\nAccept: text/plain\r\n\r\n",
               is_delete ? "DELETE" : "POST", channel, len);
    buf_append(out, body, len);
}

/* Writes all of data, or returns -1 on an error or when nchan stops reading for longer than
 * publisher_wait_ms: a stuck server must not hold a drain forever. */
static int publisher_write_all(struct publisher *pub, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = send(pub->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            struct pollfd p = {.fd = pub->fd, .events = POLLOUT};
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            int r = poll(&p, 1, publisher_wait_ms(pub));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            continue;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Finds the CRLF ending the line that starts at from. Returns 1 with *eol at its CR; 0 when
 * buf[from..len) has none yet and more bytes still fit in max; -1 once the buffer is full
 * without one, or at a LF without its CR (nginx never sends one, so waiting would only end in
 * the timeout). */
static int publish_line(const char *buf, size_t from, size_t len, size_t max, size_t *eol)
{
    for (size_t i = from; i < len; i++) {
        if (buf[i] == '\n')
            return -1;
        if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') {
            *eol = i;
            return 1;
        }
    }
    return len < max ? 0 : -1;
}

/* A byte of a field value or reason phrase: visible ASCII, obs-text, space or tab (RFC 9110
 * 5.5). Excludes NUL, CR, LF and the other control characters. */
static int publish_is_text(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A byte of a field name (RFC 9110 5.6.2). */
static int publish_is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parses the digits s[0..n) in base (10 or 16) as a length of at most max. Returns 1 and
 * writes *out, or 0 when s is empty, holds another character or the value is above max; the
 * comparison never overflows, however many digits there are. */
static int publish_length(const char *s, size_t n, unsigned base, size_t max, size_t *out)
{
    size_t v = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int d = valid_hex_digit(s[i]);
        if (d < 0 || (unsigned)d >= base || (size_t)d > max || v > (max - (size_t)d) / base)
            return 0;
        v = v * base + (size_t)d;
    }
    *out = v;
    return 1;
}

/* "HTTP/1.x NNN reason" (the reason may be absent): NNN, or -1. */
static int publish_status_line(const char *s, size_t n)
{
    int status = 0;

    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
        return -1;
    for (size_t i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        status = status * 10 + (s[i] - '0');
    }
    if (n > 12 && s[12] != ' ')
        return -1;
    for (size_t i = 13; i < n; i++)
        if (!publish_is_text((unsigned char)s[i]))
            return -1;
    return status;
}

/* The chunked body starting at pos, then its trailer section. Returns 1 with *end just past the
 * response, 0 (read more) or -1, as publish_parse_response. */
static int publish_chunked(const char *buf, size_t pos, size_t len, size_t max, size_t *end)
{
    for (;;) {
        size_t eol, digits = pos, size;
        int r = publish_line(buf, pos, len, max, &eol);

        if (r <= 0)
            return r;
        while (digits < eol && valid_hex_digit(buf[digits]) >= 0)
            digits++;
        /* chunk-size, then nothing or an extension (";name=value", maybe after white
         * space), which we ignore. */
        if (!publish_length(buf + pos, digits - pos, 16, max, &size) ||
            (digits < eol && buf[digits] != ';' && buf[digits] != ' ' && buf[digits] != '\t'))
            return -1;
        for (size_t i = digits; i < eol; i++)
            if (!publish_is_text((unsigned char)buf[i]))
                return -1;
        pos = eol + 2;
        if (size == 0)
            break;
        /* The data and the CRLF after it must fit in max: pos <= len <= max throughout. */
        if (size > max - pos || max - pos - size < 2)
            return -1;
        if (len - pos < size + 2)
            return 0;
        if (buf[pos + size] != '\r' || buf[pos + size + 1] != '\n')
            return -1;
        pos += size + 2;
    }
    /* Trailer fields, ignored, up to an empty line. */
    for (;;) {
        size_t eol;
        int r = publish_line(buf, pos, len, max, &eol);

        if (r <= 0)
            return r;
        if (eol == pos) {
            *end = pos + 2;
            return 1;
        }
        for (size_t i = pos; i < eol; i++)
            if (!publish_is_text((unsigned char)buf[i]))
                return -1;
        pos = eol + 2;
    }
}

int publish_parse_response(const char *buf, size_t len, size_t max, size_t *consumed)
{
    size_t eol, pos, body_len = 0, end;
    int r, status, chunked = 0, has_length = 0;

    if (len > max)
        len = max;
    /* Refuse at once what cannot become a response, rather than wait for more. */
    if (memcmp(buf, "HTTP/1.", len < 7 ? len : 7) != 0)
        return -1;
    if ((r = publish_line(buf, 0, len, max, &eol)) <= 0)
        return r;
    /* 1xx answers are interim ones, which we never ask for (no Expect). */
    if ((status = publish_status_line(buf, eol)) < 200 || status > 599)
        return -1;
    for (pos = eol + 2;; pos = eol + 2) {
        const char *line = buf + pos, *value, *value_end, *colon;

        if ((r = publish_line(buf, pos, len, max, &eol)) <= 0)
            return r;
        if (eol == pos)
            break; /* the empty line after the headers */
        colon = memchr(line, ':', eol - pos);
        if (colon == NULL || colon == line)
            return -1;
        /* A name of tchars only, which also refuses obsolete line folding. */
        for (const char *c = line; c < colon; c++)
            if (!publish_is_tchar((unsigned char)*c))
                return -1;
        for (const char *c = colon + 1; c < buf + eol; c++)
            if (!publish_is_text((unsigned char)*c))
                return -1;
        value = colon + 1;
        value_end = buf + eol;
        while (value < value_end && (*value == ' ' || *value == '\t'))
            value++;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
            value_end--;
        if (colon - line == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            size_t n;
            /* A repeated Content-Length must agree with the first. */
            if (!publish_length(value, (size_t)(value_end - value), 10, max, &n) ||
                (has_length && n != body_len))
                return -1;
            body_len = n;
            has_length = 1;
        } else if (colon - line == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            /* nginx chunks a body of unknown length and applies no other coding here. */
            if (chunked || value_end - value != 7 || strncasecmp(value, "chunked", 7) != 0)
                return -1;
            chunked = 1;
        }
    }
    pos = eol + 2;
    /* Both framings at once is how responses get split differently by two readers. */
    if (chunked && has_length)
        return -1;
    if (status == 204 || status == 304) {
        *consumed = pos; /* never a body, whatever the headers say (RFC 9112 6.3) */
        return status;
    }
    if (chunked) {
        if ((r = publish_chunked(buf, pos, len, max, &end)) <= 0)
            return r;
        *consumed = end;
        return status;
    }
    /* No length at all is taken as an empty body: nginx frames every body it sends on a
     * kept-alive connection. pos <= len <= max, so neither side overflows. */
    if (body_len > max - pos)
        return -1;
    if (body_len > len - pos)
        return 0;
    *consumed = pos + body_len;
    return status;
}

/* Reads one whole response (publish_parse_response) and returns its status, or -1. Bytes past
 * it stay in rbuf for the next call: answers to pipelined requests arrive together. */
static int publisher_read_response(struct publisher *pub)
{
    for (;;) {
        size_t consumed;
        int status = publish_parse_response(pub->rbuf, pub->rlen, sizeof(pub->rbuf), &consumed);

        if (status > 0) {
            pub->rlen -= consumed;
            memmove(pub->rbuf, pub->rbuf + consumed, pub->rlen);
            return status;
        }
        if (status < 0) {
            log_warn("publish: malformed or oversized answer from nchan");
            return -1;
        }
        /* status 0: more is needed. The parser asks for more only while the answer may still
         * fit, so rlen < sizeof(rbuf); a full buffer read as "more" would spin on read(..., 0). */
        if (pub->rlen >= sizeof(pub->rbuf))
            return -1;
        struct pollfd p = {.fd = pub->fd, .events = POLLIN};
        int ready = poll(&p, 1, publisher_wait_ms(pub));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return -1;
        ssize_t r = read(pub->fd, pub->rbuf + pub->rlen, sizeof(pub->rbuf) - pub->rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        pub->rlen += (size_t)r;
    }
}

/* Sends one request and returns the response status, or -1. A connection nginx closed while
 * idle fails on first use: one retry on a fresh connection. */
static int publisher_request(struct publisher *pub, int is_delete, const char *channel,
                             const char *body, size_t len)
{
    struct buf req = {0};
    int status = -1;

    publisher_append_request(&req, is_delete, channel, body, len);
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = pub->fd >= 0;
        if (publisher_connect(pub) != E_OK)
            break;
        if (publisher_write_all(pub, req.data, req.len) == 0 &&
            (status = publisher_read_response(pub)) > 0)
            break;
        status = -1;
        publisher_disconnect(pub);
        if (!reused)
            break;
    }
    buf_free(&req);
    return status;
}

static int publisher_accepted(int is_delete, int status)
{
    /* A DELETE of a channel nobody listens on answers 404: nothing to close. */
    return (status >= 200 && status < 300) || (is_delete && status == 404);
}

/* One request's end in the metrics: nchan's status, or -1 when the connection failed first. An
 * event nchan accepted is counted by its type. */
static void publisher_count(int is_delete, int status, const char *body, size_t len)
{
    int accepted = publisher_accepted(is_delete, status);

    metrics_publish(is_delete ? METRICS_PUBLISH_CLOSE : METRICS_PUBLISH_EVENT,
                    status < 0 ? METRICS_PUBLISH_LOST
                    : accepted ? METRICS_PUBLISH_SENT
                               : METRICS_PUBLISH_REJECTED,
                    1);
    if (accepted && !is_delete)
        metrics_event(body, len);
}

static void publisher_free_items(struct publish_item *it)
{
    while (it != NULL) {
        struct publish_item *next = it->next;
        free(it);
        it = next;
    }
}

/* While stopping: forgets everything still queued and counts it as lost. Called with the lock
 * held. */
static void publisher_drop_queue(struct publisher *pub, const char *why)
{
    if (pub->count > 0)
        log_warn("publish: stopping: %zu queued request(s) dropped (%s)", pub->count, why);
    pub->lost += pub->count;
    metrics_publish_queue(-(long)pub->count);
    for (struct publish_item *it = pub->head; it != NULL; it = it->next)
        metrics_publish(it->is_delete ? METRICS_PUBLISH_CLOSE : METRICS_PUBLISH_EVENT,
                        METRICS_PUBLISH_DROPPED, 1);
    publisher_free_items(pub->head);
    pub->head = pub->tail = NULL;
    pub->count = 0;
}

/* Whether a request nchan answered 503 goes back to the queue: until PUBLISH_RETRY_MS after it
 * was queued and, once a drain began, until the drain's deadline (a drain that gave up on a
 * refused request would lose an event the worker acknowledged). One not sent again during a
 * drain counts as lost. */
static int publisher_retry_503(struct publisher *pub, const struct publish_item *it)
{
    long long now = timeout_mono_ms();

    pthread_mutex_lock(&pub->lock);
    int may = now - it->queued_ms < PUBLISH_RETRY_MS && (!pub->stopping || now < pub->deadline_ms);
    if (!may)
        pub->lost += pub->stopping;
    pthread_mutex_unlock(&pub->lock);
    return may;
}

/* The queue thread: takes everything queued, writes it as one pipelined batch, then reads the
 * answers. While it waits for nchan, the workers go on queueing. Once stopping it flushes what
 * is queued, within the drain's deadline, and returns. */
static void *publisher_thread(void *arg)
{
    struct publisher *pub = arg;

    for (;;) {
        struct publish_item *batch, *it;
        struct buf out = {0};
        size_t n = 0;

        pthread_mutex_lock(&pub->lock);
        while (pub->head == NULL && !pub->stopping)
            pthread_cond_wait(&pub->wake, &pub->lock);
        if (pub->stopping && timeout_mono_ms() >= pub->deadline_ms)
            publisher_drop_queue(pub, "nchan did not take them in time");
        /* A batch begun before a drain keeps PUBLISH_TIMEOUT_MS per wait. */
        pub->io_deadline_ms = pub->stopping ? pub->deadline_ms : 0;
        /* Take up to PUBLISH_BATCH_MAX items off the front. */
        struct publish_item *last = NULL;
        batch = pub->head;
        for (it = batch; it != NULL && n < PUBLISH_BATCH_MAX; it = it->next, n++)
            last = it;
        if (last != NULL) {
            pub->head = last->next;
            last->next = NULL;
            if (pub->head == NULL)
                pub->tail = NULL;
        }
        pub->count -= n;
        metrics_publish_queue(-(long)n);
        int done = batch == NULL && pub->stopping;
        pthread_mutex_unlock(&pub->lock);
        if (done)
            break;

        for (it = batch; it != NULL; it = it->next)
            publisher_append_request(&out, it->is_delete, it->channel, it->body, it->len);
        int fresh = pub->fd < 0;
        int ok = publisher_connect(pub) == E_OK && publisher_write_all(pub, out.data, out.len) == 0;
        struct publish_item *again = NULL, *again_last = NULL, **at = &batch;
        for (it = batch; ok && it != NULL; it = *at) {
            int status = publisher_read_response(pub);
            if (status < 0) {
                ok = 0;
                break; /* it and the rest: lost */
            }
            if (status == 503 && publisher_retry_503(pub, it)) {
                *at = it->next; /* out of the batch, into the retry list, in order */
                it->next = NULL;
                *(again_last != NULL ? &again_last->next : &again) = it;
                again_last = it;
                continue;
            }
            at = &it->next;
            publisher_count(it->is_delete, status, it->body, it->len);
            if (!publisher_accepted(it->is_delete, status))
                log_warn("publish: %s for channel %s answered %d",
                         it->is_delete ? "close" : "event", it->channel, status);
        }
        if (!ok) {
            /* Not resent: nchan may have delivered some; clients repair gaps from seq. */
            for (; it != NULL; it = it->next)
                publisher_count(it->is_delete, -1, NULL, 0);
            log_warn("publish: connection to nchan failed; a batch of %zu may be lost", n);
            publisher_disconnect(pub);
            /* Stopping (maybe since this batch began): the batch counts as lost. A connection
             * that had been idle may just have been closed by nginx, so the rest gets a fresh
             * one; a fresh one failing means nchan is gone or stuck. */
            pthread_mutex_lock(&pub->lock);
            if (pub->stopping) {
                pub->lost += n;
                if (fresh)
                    publisher_drop_queue(pub, "nchan is unreachable");
            }
            pthread_mutex_unlock(&pub->lock);
        }
        buf_free(&out);
        publisher_free_items(batch);
        if (again != NULL) {
            size_t k = 0;
            for (it = again; it != NULL; it = it->next)
                k++;
            log_warn("publish: nchan answered 503 to %zu request(s); sending again", k);
            pthread_mutex_lock(&pub->lock);
            again_last->next = pub->head; /* back at the front: a room's events keep order */
            pub->head = again;
            if (pub->tail == NULL)
                pub->tail = again_last;
            pub->count += k;
            metrics_publish_queue((long)k);
            pthread_mutex_unlock(&pub->lock);
            nanosleep(&(struct timespec){0, PUBLISH_RETRY_PAUSE_MS * 1000000L}, NULL);
        }
    }
    return NULL;
}

enum wnc_err publisher_start_queue(struct publisher *pub)
{
    pthread_mutex_init(&pub->lock, NULL);
    pthread_cond_init(&pub->wake, NULL);
    if (pthread_create(&pub->thread, NULL, publisher_thread, pub) != 0) {
        log_error("publish: cannot start the publisher thread");
        return E_INTERNAL;
    }
    pub->queued = 1;
    return E_OK;
}

static enum wnc_err publisher_enqueue(struct publisher *pub, int is_delete, const char *channel,
                                      const char *body, size_t len)
{
    struct publish_item *it;

    if (strlen(channel) >= sizeof(it->channel) || len > SIZE_MAX - sizeof(*it))
        return E_INTERNAL;
    it = xmalloc(sizeof(*it) + len);
    it->next = NULL;
    it->queued_ms = timeout_mono_ms();
    it->is_delete = is_delete;
    strcpy(it->channel, channel);
    it->len = len;
    memcpy(it->body, body, len);
    pthread_mutex_lock(&pub->lock);
    if (pub->stopping) {
        pthread_mutex_unlock(&pub->lock);
        free(it);
        metrics_publish(is_delete ? METRICS_PUBLISH_CLOSE : METRICS_PUBLISH_EVENT,
                        METRICS_PUBLISH_DROPPED, 1);
        log_warn("publish: stopping, event for channel %s not sent", channel);
        return E_INTERNAL;
    }
    if (pub->count >= PUBLISH_QUEUE_MAX) {
        pthread_mutex_unlock(&pub->lock);
        free(it);
        metrics_publish(is_delete ? METRICS_PUBLISH_CLOSE : METRICS_PUBLISH_EVENT,
                        METRICS_PUBLISH_DROPPED, 1);
        log_warn("publish: queue full, event for channel %s dropped", channel);
        return E_INTERNAL;
    }
    if (pub->tail != NULL)
        pub->tail->next = it;
    else
        pub->head = it;
    pub->tail = it;
    pub->count++;
    metrics_publish_queue(1);
    pthread_cond_signal(&pub->wake);
    pthread_mutex_unlock(&pub->lock);
    return E_OK;
}

enum wnc_err publisher_drain(struct publisher *pub, int timeout_ms)
{
    if (!pub->queued)
        return E_OK;
    if (!pub->drained) {
        pthread_mutex_lock(&pub->lock);
        pub->stopping = 1;
        pub->deadline_ms = timeout_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
        pthread_cond_signal(&pub->wake);
        pthread_mutex_unlock(&pub->lock);
        pthread_join(pub->thread, NULL);
        pub->drained = 1;
    }
    return pub->lost == 0 ? E_OK : E_INTERNAL;
}

void publisher_close(struct publisher *pub)
{
    if (pub == NULL)
        return;
    if (pub->queued) {
        publisher_drain(pub, PUBLISH_DRAIN_MS);
        pthread_mutex_destroy(&pub->lock);
        pthread_cond_destroy(&pub->wake);
    }
    publisher_disconnect(pub);
    free(pub->path);
    free(pub);
}

/* publisher_request, tried again after PUBLISH_RETRY_PAUSE_MS while nchan answers 503, at most
 * PUBLISH_DIRECT_TRIES times in all. */
static int publisher_request_direct(struct publisher *pub, int is_delete, const char *channel,
                                    const char *body, size_t len)
{
    int status = publisher_request(pub, is_delete, channel, body, len);

    for (int tries = 1; status == 503 && tries < PUBLISH_DIRECT_TRIES; tries++) {
        nanosleep(&(struct timespec){0, PUBLISH_RETRY_PAUSE_MS * 1000000L}, NULL);
        status = publisher_request(pub, is_delete, channel, body, len);
    }
    return status;
}

enum wnc_err publisher_send(struct publisher *pub, const char *channel, const char *json,
                            size_t len)
{
    if (pub->queued)
        return publisher_enqueue(pub, 0, channel, json, len);
    int status = publisher_request_direct(pub, 0, channel, json, len);
    publisher_count(0, status, json, len);
    if (publisher_accepted(0, status))
        return E_OK;
    log_warn("publish: event for channel %s was not accepted (%d)", channel, status);
    return E_INTERNAL;
}

enum wnc_err publisher_close_channel(struct publisher *pub, const char *channel)
{
    if (pub->queued)
        return publisher_enqueue(pub, 1, channel, "", 0);
    int status = publisher_request_direct(pub, 1, channel, "", 0);
    publisher_count(1, status, NULL, 0);
    if (publisher_accepted(1, status))
        return E_OK;
    log_warn("publish: closing channel %s failed (%d)", channel, status);
    return E_INTERNAL;
}
