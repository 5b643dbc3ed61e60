#include "publish.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define PUBLISH_TIMEOUT_MS 2000
#define PUBLISH_RESPONSE_MAX 4096
#define PUBLISH_QUEUE_MAX 100000 /* requests; beyond this nchan is stuck and we drop */
#define PUBLISH_BATCH_MAX 256    /* requests written before their answers are read */

/* One queued request. */
struct publish_item {
    struct publish_item *next;
    int is_delete;
    char channel[32];
    size_t len;
    char body[]; /* len bytes */
};

struct publisher {
    int fd; /* -1 while disconnected */
    char *path;
    char rbuf[PUBLISH_RESPONSE_MAX]; /* bytes read but not yet parsed (pipelined answers) */
    size_t rlen;

    /* Queued mode; lock guards the list and the flags. */
    int queued;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct publish_item *head, *tail;
    size_t count;
    int stopping;
};

struct publisher *publisher_open(const char *socket_path)
{
    struct publisher *pub = calloc(1, sizeof(*pub));

    if (pub == NULL || (pub->path = strdup(socket_path)) == NULL) {
        free(pub);
        return NULL;
    }
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
        log_warn("publish: connect %s: %s", pub->path, strerror(errno));
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

static int publisher_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads one whole response (headers and Content-Length body) and returns its status, or -1.
 * Bytes past it stay in rbuf for the next call: answers to pipelined requests arrive
 * together. */
static int publisher_read_response(struct publisher *pub)
{
    for (;;) {
        char *end = NULL;

        for (size_t i = 0; i + 4 <= pub->rlen && end == NULL; i++)
            if (memcmp(pub->rbuf + i, "\r\n\r\n", 4) == 0)
                end = pub->rbuf + i;

        if (end != NULL) {
            size_t header_len = (size_t)(end + 4 - pub->rbuf), body_len = 0;
            int status = 0;
            *end = '\0'; /* the headers as a string; the byte is consumed below */
            for (char *h = strstr(pub->rbuf, "\r\n"); h != NULL; h = strstr(h + 2, "\r\n"))
                if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                    body_len = strtoul(h + 17, NULL, 10);
            if (sscanf(pub->rbuf, "HTTP/1.%*c %d", &status) != 1 ||
                header_len + body_len > sizeof(pub->rbuf))
                return -1;
            if (pub->rlen >= header_len + body_len) {
                pub->rlen -= header_len + body_len;
                memmove(pub->rbuf, pub->rbuf + header_len + body_len, pub->rlen);
                return status;
            }
            *end = '\r'; /* body incomplete: restore and read more */
        } else if (pub->rlen == sizeof(pub->rbuf)) {
            return -1;
        }
        struct pollfd p = {.fd = pub->fd, .events = POLLIN};
        if (poll(&p, 1, PUBLISH_TIMEOUT_MS) <= 0)
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
        if (publisher_write_all(pub->fd, req.data, req.len) == 0 &&
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

/* The queue thread: takes everything queued, writes it as one pipelined batch, then reads the
 * answers. While it waits for nchan, the workers go on queueing. */
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
        int done = batch == NULL && pub->stopping;
        pthread_mutex_unlock(&pub->lock);
        if (done)
            break;

        for (it = batch; it != NULL; it = it->next)
            publisher_append_request(&out, it->is_delete, it->channel, it->body, it->len);
        int ok =
            publisher_connect(pub) == E_OK && publisher_write_all(pub->fd, out.data, out.len) == 0;
        for (it = batch; ok && it != NULL; it = it->next) {
            int status = publisher_read_response(pub);
            if (status < 0)
                ok = 0;
            else if (!publisher_accepted(it->is_delete, status))
                log_warn("publish: %s for channel %s answered %d",
                         it->is_delete ? "close" : "event", it->channel, status);
        }
        if (!ok) {
            /* Not resent: nchan may have delivered some; clients repair gaps from seq. */
            log_warn("publish: connection to nchan failed; a batch of %zu may be lost", n);
            publisher_disconnect(pub);
        }
        buf_free(&out);
        while (batch != NULL) {
            it = batch->next;
            free(batch);
            batch = it;
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

    if (strlen(channel) >= sizeof(it->channel) || (it = malloc(sizeof(*it) + len)) == NULL)
        return E_INTERNAL;
    it->next = NULL;
    it->is_delete = is_delete;
    strcpy(it->channel, channel);
    it->len = len;
    memcpy(it->body, body, len);
    pthread_mutex_lock(&pub->lock);
    if (pub->count >= PUBLISH_QUEUE_MAX) {
        pthread_mutex_unlock(&pub->lock);
        free(it);
        log_warn("publish: queue full, event for channel %s dropped", channel);
        return E_INTERNAL;
    }
    if (pub->tail != NULL)
        pub->tail->next = it;
    else
        pub->head = it;
    pub->tail = it;
    pub->count++;
    pthread_cond_signal(&pub->wake);
    pthread_mutex_unlock(&pub->lock);
    return E_OK;
}

void publisher_close(struct publisher *pub)
{
    if (pub == NULL)
        return;
    if (pub->queued) {
        pthread_mutex_lock(&pub->lock);
        pub->stopping = 1;
        pthread_cond_signal(&pub->wake);
        pthread_mutex_unlock(&pub->lock);
        pthread_join(pub->thread, NULL);
        pthread_mutex_destroy(&pub->lock);
        pthread_cond_destroy(&pub->wake);
    }
    publisher_disconnect(pub);
    free(pub->path);
    free(pub);
}

enum wnc_err publisher_send(struct publisher *pub, const char *channel, const char *json,
                            size_t len)
{
    if (pub->queued)
        return publisher_enqueue(pub, 0, channel, json, len);
    int status = publisher_request(pub, 0, channel, json, len);
    if (publisher_accepted(0, status))
        return E_OK;
    log_warn("publish: event for channel %s was not accepted (%d)", channel, status);
    return E_INTERNAL;
}

enum wnc_err publisher_close_channel(struct publisher *pub, const char *channel)
{
    if (pub->queued)
        return publisher_enqueue(pub, 1, channel, "", 0);
    int status = publisher_request(pub, 1, channel, "", 0);
    if (publisher_accepted(1, status))
        return E_OK;
    log_warn("publish: closing channel %s failed (%d)", channel, status);
    return E_INTERNAL;
}
