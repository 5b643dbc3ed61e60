/*
 * lg.h - the Watch N Chill load generator (wnc-loadgen): shared types.
 *
 * The generator is one single-threaded epoll loop driving two kinds of
 * client sockets: a small pool of HTTP/1.1 keep-alive connections for the
 * REST side (create, join, control, chat) and one minimal WebSocket client
 * per simulated viewer for the realtime side.  Everything here speaks only
 * the public API described in docs/api.md.
 *
 * Layout, in reading order:
 *   lg.h        this file: types and the few verbs each module exports
 *   main.c      command line, workloads, result reporting
 *   net.c       event loop, HTTP/1.1 client pool, WebSocket client
 *   stats.c     latency histogram, /proc sampling of the server, JSON out
 *   sha1.c      SHA-1 and base64, only for Sec-WebSocket-Accept
 *   selftest.c  an in-process fake server proving the client's frame rate
 *   summary.c   the table of issue 13: each figure against its floor
 *   echo.c      not part of the generator: wnc-fcgi-echo, the REST floor
 */
#ifndef WNC_LG_H
#define WNC_LG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits (all sizes in bytes) ---------------------------------------- */

/* One read() drains up to this much from a socket; shared by all sockets
 * because only one socket is being parsed at a time. */
#define LG_READ_BUF_SIZE (1u << 20)

/* A single WebSocket message larger than this is a protocol error for us:
 * room events are a few hundred bytes, full room state a few hundred KiB. */
#define LG_WS_MAX_MESSAGE (16u << 20)

/* An HTTP response (headers + body) larger than this is refused. */
#define LG_HTTP_MAX_RESPONSE (32u << 20)

/* ---- clock --------------------------------------------------------------- */

/* Nanoseconds on CLOCK_MONOTONIC: the one clock every latency is taken on. */
uint64_t lg_now_ns(void);

/* A fast non-cryptographic PRNG (xorshift64*); masks and keys only. */
uint64_t lg_rand(void);

/* ---- event loop ---------------------------------------------------------- */

enum lg_sock_kind { LG_SOCK_HTTP = 1, LG_SOCK_WS = 2 };

/* First member of every socket-owning struct, so epoll's data.ptr can be
 * dispatched on kind. */
struct lg_sock {
    int fd;
    uint8_t kind;
};

/* Creates the epoll instance. Returns 0, or -1 with errno set. */
int lg_loop_init(void);

/* Waits at most timeout_ms for socket activity and handles it. */
void lg_loop_once(int timeout_ms);

/* Source addresses: when count > 1, client sockets bind round-robin to
 * 127.0.0.first .. 127.0.0.(first+count-1) so that one box can exceed the
 * ephemeral port range of a single source address. */
void lg_set_source_addrs(int first, int count);

/* ---- HTTP/1.1 client pool ------------------------------------------------ */

/* Called once per request. status is the HTTP status, or 0 when the
 * request failed at the transport level. body is borrowed: it is valid only
 * during the call. t_submit is the lg_now_ns() of http_submit(). */
typedef void (*http_cb)(void *ctx, int status, const char *body, size_t len, uint64_t t_submit);

struct http_pool;

/* Creates a pool of nconns keep-alive connections to addr (connected
 * lazily). The pool lives until the process exits. */
struct http_pool *http_pool_new(const struct sockaddr_in *addr, int nconns);

/* Queues a request. token and body may be NULL. All strings are copied. */
void http_submit(struct http_pool *p, const char *method, const char *path, const char *token,
                 const char *body, http_cb cb, void *ctx);

/* Requests queued or in flight. */
size_t http_outstanding(const struct http_pool *p);

/* Transport failures and reconnects so far. */
uint64_t http_transport_errors(const struct http_pool *p);

/* ---- WebSocket client ----------------------------------------------------- */

enum ws_state { WS_IDLE = 0, WS_CONNECTING, WS_HANDSHAKE, WS_OPEN, WS_CLOSED };

/* One viewer's subscription. Buffers are NULL until a partial frame or a
 * fragmented message needs them, so an idle viewer costs sizeof(struct
 * ws_conn) in the generator. */
struct ws_conn {
    struct lg_sock s;
    uint8_t state;
    uint8_t frag_op;      /* opcode of the fragmented message in progress */
    uint8_t want_write;   /* EPOLLOUT is armed because out is not empty */
    uint16_t http_status; /* status of a refused handshake, else 0 */
    uint32_t room;        /* owner's index, opaque to net.c */
    uint32_t index;       /* owner's index, opaque to net.c */
    char key[28];         /* our Sec-WebSocket-Key (base64 of 16 bytes) */
    char *path;           /* request target; freed once the request is sent */
    char *headers;        /* extra request header lines ("Name: value\r\n"...), or NULL; ditto */
    unsigned char *in;    /* bytes of an incomplete frame or header */
    uint32_t in_len, in_cap;
    unsigned char *msg; /* fragments of an unfinished message */
    uint32_t msg_len, msg_cap;
    unsigned char *out; /* unsent output (handshake, pong, close) */
    uint32_t out_len, out_off;
    int64_t last_seq;  /* owner's bookkeeping */
    uint64_t messages; /* complete messages received */
};

/* What the owner of ws_conn structs is told. Every pointer passed is
 * borrowed for the duration of the call. */
struct ws_handlers {
    void (*on_open)(struct ws_conn *w);
    void (*on_message)(struct ws_conn *w, const char *data, size_t len, uint64_t t_recv);
    void (*on_close)(struct ws_conn *w);
};

/* Installs the handlers for every WebSocket connection. */
void ws_set_handlers(const struct ws_handlers *h);

/* Starts connecting w to addr and requesting path (copied) with the extra
 * header lines headers (copied; NULL for none, each line ending in CRLF).
 * w must be zeroed or closed. Returns 0, or -1 when no socket could be made. */
int ws_open(struct ws_conn *w, const struct sockaddr_in *addr, const char *path,
            const char *headers);

/* Sends one masked client frame (op = 1 text, 9 ping, 10 pong, 8 close). */
void ws_send(struct ws_conn *w, int op, const void *payload, size_t len);

/* Closes the socket without a closing handshake and frees its buffers. */
void ws_drop(struct ws_conn *w);

/* Counters over all WebSocket connections. */
struct ws_counters {
    uint64_t pings, pongs_sent, closes, protocol_errors, accept_mismatch;
    uint64_t frames, fragments, bytes;
};
extern struct ws_counters ws_counters;

/* ---- SHA-1 and base64 ------------------------------------------------------ */

void lg_sha1(const void *data, size_t len, unsigned char out[20]);

/* Writes base64 of in[0..len) plus a NUL to out, which must hold
 * 4 * ((len + 2) / 3) + 1 bytes. */
void lg_base64(const unsigned char *in, size_t len, char *out);

/* ---- latency histogram --------------------------------------------------- */

/* Microsecond latencies: exact below 2048 us, then 1024 sub-buckets per
 * power of two (0.1 % resolution), up to 2^31 us. */
#define HIST_LINEAR 2048u
#define HIST_SUB 1024u
#define HIST_MAX_EXP 31u
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - 11u) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t max_us;
    double sum_us;
    uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t us);
/* Value (us) at quantile q in [0, 1]; 0 for an empty histogram. */
double hist_quantile(const struct hist *h, double q);
void hist_merge(struct hist *into, const struct hist *from);

/* ---- server process sampling (/proc) ------------------------------------- */

enum proc_group { PG_NGINX, PG_FCGI, PG_PUSHD, PG_REDIS, PG_OTHER, PG__MAX };
extern const char *const proc_group_name[PG__MAX];

struct proc_sample {
    uint64_t t_ns;
    double cpu_s[PG__MAX];     /* utime + stime, seconds */
    double sys_s[PG__MAX];     /* stime alone: kernel work (TCP, syscalls) */
    uint64_t rss_kib[PG__MAX]; /* sum of VmRSS */
    uint64_t hwm_kib[PG__MAX]; /* sum of VmHWM (peak per process) */
    uint64_t pss_kib[PG__MAX]; /* sum of Pss: shared pages split fairly */
    int nprocs[PG__MAX];
};

/* The server is every descendant of stack_pid plus every process whose
 * pid is in a *.pid file in run_dir (and their descendants). Either may be
 * 0/NULL. */
void proc_set_targets(int stack_pid, const char *run_dir);

/* Takes a sample; with_pss also reads smaps_rollup (slower). */
void proc_sample(struct proc_sample *s, int with_pss);

/* Adds the per-group maximum of sampled RSS into peak (running maximum). */
void proc_peak_update(struct proc_sample *peak, const struct proc_sample *s);

/* ---- JSON of the server's answers and of our own results (main.c) -------- */

/* The first byte of "key"'s value in s[0..len), or NULL. Keys must not
 * appear inside strings (true of the server's output and of ours). */
const char *jfind(const char *s, size_t len, const char *key);

/* The number at "key"; 0, or -1 when absent or not a number. */
int jnum(const char *s, size_t len, const char *key, double *out);

/* ---- summary (summary.c) ----------------------------------------------------- */

/* `wnc-loadgen summary DIR [--prefix P] [--md FILE] [--strict]`; returns the
 * exit code. */
int summary_run(int argc, char **argv);

/* ---- self test ------------------------------------------------------------- */

/* Runs the fake-server frame-rate test; returns the process exit code. */
int selftest_run(int conns, double seconds, int frame_bytes,
                 void (*on_message)(struct ws_conn *, const char *, size_t, uint64_t));

#endif /* WNC_LG_H */
