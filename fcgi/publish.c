#include "publish.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define PUBLISH_TIMEOUT_MS 2000
#define PUBLISH_RESPONSE_MAX 4096

struct publisher {
    int fd; /* -1 while disconnected */
    char *path;
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
}

void publisher_close(struct publisher *pub)
{
    if (pub == NULL)
        return;
    publisher_disconnect(pub);
    free(pub->path);
    free(pub);
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

static int publisher_write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++, n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads one whole response (headers and Content-Length body) and returns its status, or -1. */
static int publisher_read_response(int fd)
{
    char resp[PUBLISH_RESPONSE_MAX + 1];
    size_t got = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char *end;

        if (poll(&p, 1, PUBLISH_TIMEOUT_MS) <= 0)
            return -1;
        ssize_t r = read(fd, resp + got, PUBLISH_RESPONSE_MAX - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
        resp[got] = '\0';
        if ((end = strstr(resp, "\r\n\r\n")) == NULL) {
            if (got == PUBLISH_RESPONSE_MAX)
                return -1;
            continue;
        }
        size_t header_len = (size_t)(end + 4 - resp), body_len = 0;
        for (char *h = strstr(resp, "\r\n"); h != NULL && h < end; h = strstr(h + 2, "\r\n"))
            if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                body_len = strtoul(h + 17, NULL, 10);
        if (header_len + body_len > PUBLISH_RESPONSE_MAX)
            return -1;
        if (got < header_len + body_len)
            continue;
        int status = 0;
        if (sscanf(resp, "HTTP/1.%*c %d", &status) != 1)
            return -1;
        return status;
    }
}

/* Sends one request on the persistent connection (reconnecting once if nginx had closed an
 * idle one) and returns the response status, or -1. */
static int publisher_request(struct publisher *pub, const char *method, const char *channel,
                             const char *body, size_t len)
{
    char head[256];

    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = pub->fd >= 0, status = -1;
        if (publisher_connect(pub) != E_OK)
            return -1;
        int n = snprintf(head, sizeof(head),
                         "%s /pub/%s HTTP/1.1\r\nHost: wnc\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                         "Accept: text/plain\r\n\r\n",
                         method, channel, len);
        struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, len}};
        if (publisher_write_all(pub->fd, iov, len ? 2 : 1) == 0 &&
            (status = publisher_read_response(pub->fd)) > 0)
            return status;
        publisher_disconnect(pub);
        if (!reused)
            break;
    }
    return -1;
}

enum wnc_err publisher_send(struct publisher *pub, const char *channel, const char *json,
                            size_t len)
{
    int status = publisher_request(pub, "POST", channel, json, len);

    if (status >= 200 && status < 300)
        return E_OK;
    log_warn("publish: event for channel %s was not accepted (%d)", channel, status);
    return E_INTERNAL;
}

enum wnc_err publisher_close_channel(struct publisher *pub, const char *channel)
{
    int status = publisher_request(pub, "DELETE", channel, "", 0);

    /* 404: nobody was subscribed, nothing to close. */
    if ((status >= 200 && status < 300) || status == 404)
        return E_OK;
    log_warn("publish: closing channel %s failed (%d)", channel, status);
    return E_INTERNAL;
}
