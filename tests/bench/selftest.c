/*
 * selftest.c - proves the generator's own ceiling: a forked fake server
 * accepts WebSocket connections, answers the handshake, then writes a
 * precomputed stream of real-looking event frames (with fragmented
 * messages and pings mixed in) as fast as the sockets take them. The
 * parent receives with exactly the code path used against the stack,
 * including the per-event JSON field extraction, and reports frames/s and
 * its own CPU time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg.h"

/* Size of the repeated server stream; a multiple of nothing in particular,
 * frames never straddle the wrap because the stream is the buffer
 * repeated. */
#define BLAST_FRAMES 256

struct fake_conn {
    int fd;
    int open;
    size_t off;
    char hs[4096];
    size_t hs_len;
};

static unsigned char *blast;
static size_t blast_len;

static void blast_frame(int fin, int op, const char *p, size_t n)
{
    unsigned char *o = blast + blast_len;
    size_t h = 0;
    o[h++] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        o[h++] = (unsigned char)n;
    } else if (n < 65536) {
        o[h++] = 126;
        o[h++] = (unsigned char)(n >> 8);
        o[h++] = (unsigned char)n;
    } else {
        o[h++] = 127;
        for (int i = 7; i >= 0; i--)
            o[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(o + h, p, n);
    blast_len += h + n;
}

static void build_blast(int frame_bytes)
{
    /* Up to 1 MiB payloads: exercises the 16- and 64-bit length forms and
     * frames larger than the shared read buffer. */
    if (frame_bytes > (1 << 20))
        frame_bytes = 1 << 20;
    blast = malloc((size_t)BLAST_FRAMES * (size_t)(frame_bytes + 600) + 4096);
    if (blast == NULL)
        abort();
    static char pad[1 << 20];
    int padn = frame_bytes > 190 ? frame_bytes - 190 : 0;
    if (padn > (int)sizeof pad - 1)
        padn = (int)sizeof pad - 1;
    memset(pad, 'x', (size_t)padn);
    pad[padn] = '\0';
    for (int i = 0; i < BLAST_FRAMES; i++) {
        static char ev[(1 << 20) + 600];
        int n = snprintf(ev, sizeof ev,
                         "{\"type\":\"video.seek\",\"seq\":%d,\"at\":1700000000000,"
                         "\"data\":{\"video\":{\"url\":\"https://example.com/%s.mp4\","
                         "\"kind\":\"file\",\"videoId\":null,\"playing\":true,"
                         "\"position\":%d,\"rate\":1,\"updatedAt\":1700000000000}}}",
                         i + 1, pad, 1000000 + i);
        if (i % 64 == 7) {
            /* A message in three fragments. */
            size_t a = (size_t)n / 3, b = 2 * (size_t)n / 3;
            blast_frame(0, 1, ev, a);
            blast_frame(0, 0, ev + a, b - a);
            blast_frame(1, 0, ev + b, (size_t)n - b);
        } else {
            blast_frame(1, 1, ev, (size_t)n);
        }
        if (i % 128 == 100)
            blast_frame(1, 9, "ping", 4);
    }
}

/* The fake server: never returns. */
static void fake_server(int lfd, int conns)
{
    int ep = epoll_create1(0);
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    struct fake_conn *fc = calloc((size_t)conns + 1, sizeof *fc);
    if (fc == NULL || ep < 0)
        _exit(1);
    int nfc = 0, nopen = 0;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char sink[65536];
    for (;;) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct fake_conn *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0)
                    continue;
                if (nfc >= conns) {
                    close(fd);
                    continue;
                }
                /* Come back to the listener first: more are queued. */
                i--;
                c = &fc[nfc++];
                c->fd = fd;
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                continue;
            }
            if (evs[i].events & EPOLLIN) {
                if (!c->open) {
                    ssize_t r = read(c->fd, c->hs + c->hs_len, sizeof c->hs - 1 - c->hs_len);
                    if (r <= 0)
                        continue;
                    c->hs_len += (size_t)r;
                    c->hs[c->hs_len] = '\0';
                    if (strstr(c->hs, "\r\n\r\n") == NULL)
                        continue;
                    const char *k = strstr(c->hs, "Sec-WebSocket-Key: ");
                    char key[64] = "", src[128], acc[32];
                    unsigned char dig[20];
                    if (k)
                        sscanf(k + 19, "%40s", key);
                    snprintf(src, sizeof src, "%s%s", key, guid);
                    lg_sha1(src, strlen(src), dig);
                    lg_base64(dig, 20, acc);
                    char resp[256];
                    int rn = snprintf(resp, sizeof resp,
                                      "HTTP/1.1 101 Switching Protocols\r\n"
                                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                      "Sec-WebSocket-Accept: %s\r\n\r\n",
                                      acc);
                    if (write(c->fd, resp, (size_t)rn) != rn)
                        continue;
                    c->open = 1;
                    /* Start the flood only when everyone is connected, so
                     * that the handshakes are not starved. */
                    if (++nopen == conns)
                        for (int j = 0; j < nfc; j++) {
                            ev.events = EPOLLIN | EPOLLOUT;
                            ev.data.ptr = &fc[j];
                            epoll_ctl(ep, EPOLL_CTL_MOD, fc[j].fd, &ev);
                        }
                } else {
                    /* Pongs: read and drop. */
                    if (read(c->fd, sink, sizeof sink) == 0) {
                        close(c->fd);
                        c->fd = -1;
                        c->open = 0;
                        continue;
                    }
                }
            }
            if ((evs[i].events & EPOLLOUT) && c->open) {
                for (int rounds = 0; rounds < 4; rounds++) {
                    ssize_t w = write(c->fd, blast + c->off, blast_len - c->off);
                    if (w <= 0)
                        break;
                    c->off = (c->off + (size_t)w) % blast_len;
                }
            }
        }
    }
}

/* The client side: counts opens, keeps the real per-message work. */
static void (*st_on_message)(struct ws_conn *, const char *, size_t, uint64_t);
static int st_open, st_closed;
static uint64_t st_messages;

static void st_open_cb(struct ws_conn *w)
{
    (void)w;
    st_open++;
}

static void st_close_cb(struct ws_conn *w)
{
    (void)w;
    st_closed++;
}

static void st_message_cb(struct ws_conn *w, const char *d, size_t n, uint64_t t)
{
    st_messages++;
    if (st_on_message)
        st_on_message(w, d, n, t);
}

static double st_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int selftest_run(int conns, double seconds, int frame_bytes,
                 void (*on_message)(struct ws_conn *, const char *, size_t, uint64_t))
{
    st_on_message = on_message;
    build_blast(frame_bytes);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        perror("selftest: listen");
        return 2;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("selftest: fork");
        return 2;
    }
    if (child == 0)
        fake_server(lfd, conns);
    close(lfd);

    if (lg_loop_init() < 0)
        return 2;
    static const struct ws_handlers h = {st_open_cb, st_message_cb, st_close_cb};
    ws_set_handlers(&h);
    struct ws_conn *ws = calloc((size_t)conns, sizeof *ws);
    if (ws == NULL)
        abort();
    int started = 0;
    uint64_t t_open0 = lg_now_ns();
    while (st_open + st_closed < conns && lg_now_ns() - t_open0 < 60ull * 1000000000ull) {
        while (started < conns && started - st_open - st_closed < 256) {
            if (ws_open(&ws[started], &a, "/selftest", NULL) < 0) {
                perror("selftest: socket");
                st_closed++;
            }
            started++;
        }
        lg_loop_once(5);
    }
    double open_s = (double)(lg_now_ns() - t_open0) / 1e9;
    uint64_t f0 = ws_counters.frames, m0 = st_messages, b0 = ws_counters.bytes;
    uint64_t p0 = ws_counters.pings;
    double c0 = st_cpu();
    uint64_t t0 = lg_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    while (lg_now_ns() < end)
        lg_loop_once(10);
    double dt = (double)(lg_now_ns() - t0) / 1e9;
    double cpu = st_cpu() - c0;
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    double fps = (double)(ws_counters.frames - f0) / dt;
    double mps = (double)(st_messages - m0) / dt;
    printf("selftest: %d/%d connections open in %.2f s; %.0f frames/s, %.0f messages/s, "
           "%.1f MB/s, %llu pings answered, %llu fragments, %llu protocol errors, "
           "%llu accept mismatches; client CPU %.2f cores (%.3f us/frame)\n",
           st_open, conns, open_s, fps, mps, (double)(ws_counters.bytes - b0) / dt / 1e6,
           (unsigned long long)(ws_counters.pings - p0), (unsigned long long)ws_counters.fragments,
           (unsigned long long)ws_counters.protocol_errors,
           (unsigned long long)ws_counters.accept_mismatch, cpu / dt,
           fps > 0 ? cpu / dt * 1e6 / fps : 0);
    int ok = st_open == conns && ws_counters.protocol_errors == 0 &&
             ws_counters.accept_mismatch == 0 && ws_counters.pongs_sent > 0 &&
             ws_counters.fragments > 0 && mps > 0;
    return ok ? 0 : 1;
}
