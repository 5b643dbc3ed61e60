/*
 * main.c - wnc-loadgen: command line, workloads and reports.
 *
 * Workloads (see docs/performance.md for the method):
 *   fanout     R rooms x V subscribed viewers; each room's host posts
 *              play/seek/pause/seek at F actions/s; every viewer should
 *              receive every event.
 *   chat       same shape, but members post chat messages at F/s per room.
 *   idle       R x V viewers connect and stay silent; memory per viewer.
 *   joinstorm  R rooms, then R x V joins all at once; verify with the host's
 *              token that no member was lost.
 *   ops        closed-loop REST throughput (seek + chat alternating).
 *   selftest   fake local server blasting frames: the client's own limit.
 *   summary    reads a results directory and prints the table of issue 13:
 *              each figure against its floor and its goal (summary.c).
 *
 * --bare runs fanout, idle and ops against the floor (tests/bench/floor.sh)
 * instead of the stack: rooms are channel names, viewers subscribe to
 * /sub/ID without authorisation, actions are published to /pub/ID, and ops
 * sends our request shapes to a FastCGI echo. --subscribe makes joinstorm
 * open each member's WebSocket as soon as its join is answered.
 *
 * Latency: every action carries a number k (the seek position, or the chat
 * text "b <k>"). The send time of k is kept in a ring; a viewer receiving
 * the event looks it up. Both ends read the same CLOCK_MONOTONIC.
 */

/* MAP_ANONYMOUS (shared memory with forked generators) is not POSIX. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg.h"

/* Sent actions remembered for latency matching. A slot is reused after
 * this many actions, far longer than any plausible delivery delay. */
#define SENT_RING (1u << 20)

/* The room must be quiet this long before we consider setup finished. */
#define SETTLE_QUIET_NS (500ull * 1000000ull)
#define SETTLE_MAX_NS (30ull * 1000000000ull)

/* After the last action, wait at most this long for stragglers. */
#define DRAIN_MAX_NS (5ull * 1000000000ull)

/* Open-loop sender: actions queued beyond this are skipped (and counted),
 * because an unbounded queue would only measure our own backlog. */
#define MAX_BACKLOG 100000u

/* Headroom kept below RLIMIT_NOFILE for REST connections and stdio. */
#define FD_HEADROOM 16

#define NS_PER_S 1000000000ull

/* ---- configuration -------------------------------------------------------- */

enum workload { WL_FANOUT, WL_CHAT, WL_IDLE, WL_JOINSTORM, WL_OPS, WL_SELFTEST };

struct config {
    enum workload wl;
    const char *wl_name;
    struct sockaddr_in addr;
    int rooms, viewers;
    double rate;     /* actions per second per room */
    double duration; /* measured seconds */
    double warmup;   /* unmeasured seconds before */
    double idle_wait;
    int conns;      /* REST connections */
    int handshakes; /* concurrent WebSocket handshakes */
    int inflight;   /* ops: requests in flight */
    int src_addrs;
    int stack_pid;
    const char *run_dir;
    const char *json_path;
    const char *label;
    int frame_bytes; /* selftest */
    int procs;       /* generator processes (fanout, chat, idle) */
    int bare;        /* against the floor: no API setup, /sub/ and /pub/ */
    int subscribe;   /* joinstorm: subscribe each member once joined */
    int xaccel;      /* subscribe through GET /api/rooms/{id}/events (X-Accel-Redirect) */
};

static struct config cfg = {
    .wl = WL_FANOUT,
    .rooms = 10,
    .viewers = 10,
    .rate = 1,
    .duration = 10,
    .warmup = 2,
    .idle_wait = 5,
    .conns = 64,
    .handshakes = 256,
    .inflight = 0,
    .src_addrs = 1,
    .procs = 1,
    .label = "",
    .frame_bytes = 200,
};

/* ---- state ------------------------------------------------------------------ */

struct room {
    char id[8];
    char *host_token; /* owned, from the create response */
    uint32_t first;   /* index of the room's first member */
    uint32_t n_joined, n_open;
    uint64_t actions;
    int verified; /* joinstorm: 1 ok, -1 failed */
};

struct member {
    char *token; /* owned, from the join response */
    char user_id[40];
    char channel[24]; /* the room's event channel, from the join response */
    uint32_t room;
    int join_status;
};

struct sent {
    uint64_t k;
    uint64_t t;
    uint32_t expected;
    uint32_t got;  /* deliveries seen */
    uint16_t room; /* low bits of the room index, for the loss report */
    uint8_t measured;
    uint8_t ok; /* answered 2xx */
};

static struct http_pool *pool;
static struct room *rooms;
static struct member *members;
static struct ws_conn *viewers;
static struct sent *ring;
static uint64_t next_k;
static size_t n_members;

/* Counters (measured window unless said otherwise). */
/* Every field is a uint64_t so that children's counters can be summed as
 * an array (see merge_children). */
struct counters {
    uint64_t created, create_fail;
    uint64_t joined, join_fail;
    uint64_t opened, open_fail, dropped;
    uint64_t status_fail[6]; /* by status class; [0] = transport */
    uint64_t actions_sent, actions_ok, actions_fail, skipped;
    uint64_t expected, delivered;
    uint64_t msgs_total, msgs_window, gaps, reordered, gaps_window, reordered_window;
    uint64_t last_msg_ns;
    uint64_t verify_pending, verify_lost, verify_extra, verify_fail;
    uint64_t ops_done, unanswered;
    uint64_t pending; /* setup requests not yet answered */
    uint64_t measuring;
};
static struct counters ctr;

static void open_enqueue(uint32_t i);

static struct hist *lat;      /* event send -> viewer receive */
static struct hist *rest_lat; /* REST request -> response */

/* ---- small JSON field extraction ------------------------------------------ */

static const char *lg_memmem(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0 || hl < nl)
        return NULL;
    const char *end = h + hl - nl + 1;
    for (const char *p = h; p < end; p++) {
        p = memchr(p, n[0], (size_t)(end - p));
        if (p == NULL)
            return NULL;
        if (memcmp(p, n, nl) == 0)
            return p;
    }
    return NULL;
}

/* Finds "key" : and returns the first byte of its value, or NULL. Only for
 * the server's own output, where keys do not appear inside strings. */
const char *jfind(const char *s, size_t len, const char *key)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *end = s + len;
    const char *p = lg_memmem(s, len, pat, (size_t)pl);
    while (p != NULL) {
        const char *v = p + pl;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            v++;
        if (v < end && *v == ':') {
            v++;
            while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
                v++;
            return v < end ? v : NULL;
        }
        p = lg_memmem(p + 1, (size_t)(end - p - 1), pat, (size_t)pl);
    }
    return NULL;
}

/* Copies a string value (no escapes expected) into out. Returns its
 * length or -1. */
static int jstr(const char *s, size_t len, const char *key, char *out, size_t cap)
{
    const char *v = jfind(s, len, key);
    if (v == NULL || *v != '"')
        return -1;
    v++;
    const char *end = s + len;
    const char *q = memchr(v, '"', (size_t)(end - v));
    if (q == NULL || (size_t)(q - v) >= cap)
        return -1;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    return (int)(q - v);
}

int jnum(const char *s, size_t len, const char *key, double *out)
{
    const char *v = jfind(s, len, key);
    if (v == NULL)
        return -1;
    char tmp[40];
    size_t n = 0, left = (size_t)(s + len - v);
    while (n < left && n < sizeof tmp - 1 &&
           (v[n] == '-' || v[n] == '+' || v[n] == '.' || v[n] == 'e' || v[n] == 'E' ||
            (v[n] >= '0' && v[n] <= '9'))) {
        tmp[n] = v[n];
        n++;
    }
    tmp[n] = '\0';
    char *endp;
    double d = strtod(tmp, &endp);
    if (n == 0 || *endp != '\0')
        return -1;
    *out = d;
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* Counts a failure by status class (0 = transport) and returns how many
 * failures that class has seen, so callers can log only the first few. */
static uint64_t count_status(int status)
{
    int cls = status / 100;
    if (cls < 0 || cls > 5)
        cls = 0;
    return ++ctr.status_fail[cls];
}

/* Failures logged per status class before going quiet. */
#define LOG_FIRST_FAILURES 3

static void die(const char *msg)
{
    fprintf(stderr, "wnc-loadgen: %s\n", msg);
    exit(2);
}

/* Runs the loop until done() is true or timeout_ns passes; returns 1 if
 * done. */
static int run_until(int (*done)(void), uint64_t timeout_ns)
{
    uint64_t end = lg_now_ns() + timeout_ns;
    while (!done()) {
        if (lg_now_ns() > end)
            return 0;
        lg_loop_once(10);
    }
    return 1;
}

static int no_pending(void)
{
    return ctr.pending == 0;
}

/* ---- setup: create rooms, join members -------------------------------------- */

static void create_done(void *ctx, int status, const char *body, size_t len, uint64_t t)
{
    (void)t;
    struct room *r = ctx;
    ctr.pending--;
    char tok[128];
    if (status == 201 && jstr(body, len, "roomId", r->id, sizeof r->id) == 6 &&
        jstr(body, len, "token", tok, sizeof tok) > 0) {
        r->host_token = strdup(tok);
        ctr.created++;
        return;
    }
    ctr.create_fail++;
    count_status(status);
    if (ctr.create_fail == 1)
        fprintf(stderr, "create failed: status %d: %.*s\n", status, (int)(len > 300 ? 300 : len),
                body ? body : "");
}

static void join_done(void *ctx, int status, const char *body, size_t len, uint64_t t)
{
    (void)t;
    struct member *m = ctx;
    ctr.pending--;
    m->join_status = status;
    char tok[128];
    if (status == 201 && jstr(body, len, "token", tok, sizeof tok) > 0 &&
        jstr(body, len, "userId", m->user_id, sizeof m->user_id) > 0 &&
        jstr(body, len, "channel", m->channel, sizeof m->channel) > 0) {
        m->token = strdup(tok);
        rooms[m->room].n_joined++;
        ctr.joined++;
        if (cfg.wl == WL_JOINSTORM && cfg.subscribe)
            open_enqueue((uint32_t)(m - members));
        return;
    }
    ctr.join_fail++;
    count_status(status);
    if (ctr.join_fail <= 3)
        fprintf(stderr, "join failed: status %d: %.*s\n", status, (int)(len > 300 ? 300 : len),
                body ? body : "");
}

/* A token-shaped string (43 base64url characters, like ours) for --bare
 * requests: the echo reads it but checks nothing. */
static const char bare_token[] = "floorfloorfloorfloorfloorfloorfloorfloor123";

static void create_rooms(void)
{
    rooms = calloc((size_t)cfg.rooms, sizeof *rooms);
    if (rooms == NULL)
        abort();
    for (int i = 0; i < cfg.rooms; i++) {
        rooms[i].first = (uint32_t)i * (uint32_t)cfg.viewers;
        if (cfg.bare) {
            /* A channel name of the room id's length; nothing to create. */
            snprintf(rooms[i].id, sizeof rooms[i].id, "B%05d", i % 100000);
            rooms[i].host_token = strdup(bare_token);
            ctr.created++;
            continue;
        }
        ctr.pending++;
        http_submit(pool, "POST", "/api/rooms", NULL, "{\"hostName\":\"host\"}", create_done,
                    &rooms[i]);
    }
    run_until(no_pending, 120 * NS_PER_S);
    if (ctr.created != (uint64_t)cfg.rooms)
        die("could not create every room (is the stack up? rate limits raised?)");
}

/* Submits every join at once; the pool's connection count is the
 * concurrency. Returns the wall time taken in ns. */
static void members_alloc(void)
{
    if (members != NULL)
        return;
    n_members = (size_t)cfg.rooms * (size_t)cfg.viewers;
    members = calloc(n_members ? n_members : 1, sizeof *members);
    if (members == NULL)
        abort();
}

static uint64_t join_members(void)
{
    members_alloc();
    uint64_t t0 = lg_now_ns();
    if (cfg.bare) {
        for (size_t idx = 0; idx < n_members; idx++) {
            members[idx].room = (uint32_t)(idx / (size_t)cfg.viewers);
            members[idx].token = strdup(bare_token);
            members[idx].join_status = 201;
            rooms[members[idx].room].n_joined++;
            ctr.joined++;
        }
        return 0;
    }
    /* Interleave rooms so that every room sees concurrent joins. */
    for (int j = 0; j < cfg.viewers; j++)
        for (int i = 0; i < cfg.rooms; i++) {
            size_t idx = (size_t)i * (size_t)cfg.viewers + (size_t)j;
            struct member *m = &members[idx];
            m->room = (uint32_t)i;
            char path[64], body[64];
            snprintf(path, sizeof path, "/api/rooms/%s/join", rooms[i].id);
            snprintf(body, sizeof body, "{\"userName\":\"v%zu\"}", idx);
            ctr.pending++;
            http_submit(pool, "POST", path, NULL, body, join_done, m);
        }
    run_until(no_pending, 600 * NS_PER_S);
    return lg_now_ns() - t0;
}

static void video_done(void *ctx, int status, const char *body, size_t len, uint64_t t)
{
    (void)ctx;
    (void)t;
    ctr.pending--;
    if (status != 200) {
        if (count_status(status) <= LOG_FIRST_FAILURES)
            fprintf(stderr, "set video failed: status %d: %.*s\n", status,
                    (int)(len > 300 ? 300 : len), body ? body : "");
        die("could not set a video (video routes missing? use the chat workload)");
    }
}

static void set_videos(void)
{
    for (int i = 0; i < cfg.rooms; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/rooms/%s/video", rooms[i].id);
        ctr.pending++;
        http_submit(pool, "PUT", path, rooms[i].host_token,
                    "{\"url\":\"https://example.com/bench.mp4\"}", video_done, NULL);
    }
    run_until(no_pending, 60 * NS_PER_S);
}

/* ---- viewers --------------------------------------------------------------- */

/* Members whose subscription is to be opened, in order; at most
 * cfg.handshakes handshakes run at a time, the next starts as one ends. */
static uint32_t *open_q;
static size_t open_q_head, open_q_tail;
static uint32_t handshaking;
static uint8_t *viewer_open; /* per viewer: handshake completed, not closed */

static void open_kick(void);

static void on_open(struct ws_conn *w)
{
    viewer_open[w->index] = 1;
    handshaking--;
    ctr.opened++;
    rooms[w->room].n_open++;
    open_kick();
}

static void on_close(struct ws_conn *w)
{
    if (viewer_open[w->index]) {
        /* An open subscription went away: its room expects less now. */
        viewer_open[w->index] = 0;
        rooms[w->room].n_open--;
        ctr.dropped++;
        return;
    }
    handshaking--;
    ctr.open_fail++;
    count_status(w->http_status == 101 ? 0 : w->http_status);
    if (ctr.open_fail <= 3)
        fprintf(stderr, "subscribe failed: HTTP status %u%s\n", w->http_status,
                w->http_status == 101 ? " (bad Sec-WebSocket-Accept)" : "");
    open_kick();
}

/* Handles one event envelope. */
static void on_message(struct ws_conn *w, const char *data, size_t len, uint64_t t)
{
    ctr.msgs_total++;
    ctr.last_msg_ns = t;
    if (ctr.measuring)
        ctr.msgs_window++;
    double seq;
    if (jnum(data, len, "seq", &seq) == 0) {
        int64_t s = (int64_t)seq;
        /* A jump forward is a gap (a client would refetch); an older seq
         * after a newer one is a reordering (events published
         * concurrently reached nchan out of order). */
        if (w->last_seq > 0 && s > w->last_seq + 1) {
            ctr.gaps += (uint64_t)(s - w->last_seq - 1);
            if (ctr.measuring)
                ctr.gaps_window += (uint64_t)(s - w->last_seq - 1);
        } else if (s < w->last_seq) {
            ctr.reordered++;
            if (ctr.measuring)
                ctr.reordered_window++;
        }
        if (s > w->last_seq)
            w->last_seq = s;
    }
    char type[32];
    if (jstr(data, len, "type", type, sizeof type) < 0)
        return;
    uint64_t k = 0;
    if (strcmp(type, "video.play") == 0 || strcmp(type, "video.pause") == 0 ||
        strcmp(type, "video.seek") == 0) {
        double pos;
        if (jnum(data, len, "position", &pos) < 0)
            return;
        k = (uint64_t)llround(pos);
    } else if (strcmp(type, "chat.message") == 0) {
        char text[64];
        if (jstr(data, len, "text", text, sizeof text) < 0 || text[0] != 'b')
            return;
        k = strtoull(text + 2, NULL, 10);
    } else {
        return;
    }
    struct sent *s = &ring[k & (SENT_RING - 1)];
    if (k == 0 || s->k != k)
        return;
    s->got++;
    if (s->measured) {
        ctr.delivered++;
        hist_add(lat, (t - s->t) / 1000);
    }
}

static void viewers_alloc(void)
{
    if (viewers != NULL)
        return;
    viewers = calloc(n_members ? n_members : 1, sizeof *viewers);
    viewer_open = calloc(n_members ? n_members : 1, 1);
    open_q = calloc(n_members ? n_members : 1, sizeof *open_q);
    if (viewers == NULL || viewer_open == NULL || open_q == NULL)
        abort();
    static const struct ws_handlers h = {on_open, on_message, on_close};
    ws_set_handlers(&h);
}

/* Starts queued subscriptions while handshake slots are free. */
static void open_kick(void)
{
    while (open_q_head < open_q_tail && handshaking < (uint32_t)cfg.handshakes) {
        uint32_t i = open_q[open_q_head++];
        struct member *m = &members[i];
        struct ws_conn *w = &viewers[i];
        w->s.fd = -1;
        w->room = m->room;
        w->index = i;
        w->last_seq = 0;
        if (m->token == NULL)
            continue;
        char path[160], auth[160];
        int rc;
        if (cfg.bare) {
            /* The floor: a bare nchan subscriber, no authorisation. */
            snprintf(path, sizeof path, "/sub/%s", rooms[m->room].id);
            rc = ws_open(w, &cfg.addr, path, NULL);
        } else {
            /* A non-browser client sends its token as a header (never in the URL), to the
             * channel its join answer named (nchan_authorize_request), or with --xaccel to
             * the path that finds the channel itself (X-Accel-Redirect). */
            if (cfg.xaccel)
                snprintf(path, sizeof path, "/api/rooms/%s/events", rooms[m->room].id);
            else
                snprintf(path, sizeof path, "/api/rooms/%s/events/%s?user=%s", rooms[m->room].id,
                         m->channel, m->user_id);
            snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", m->token);
            rc = ws_open(w, &cfg.addr, path, auth);
        }
        if (rc < 0) {
            ctr.open_fail++;
            if (ctr.open_fail <= 3)
                fprintf(stderr, "socket: %s\n", strerror(errno));
            continue;
        }
        handshaking++;
    }
}

static void open_enqueue(uint32_t i)
{
    viewers_alloc();
    open_q[open_q_tail++] = i;
    open_kick();
}

static int subs_settled(void)
{
    return open_q_head >= open_q_tail && handshaking == 0;
}

/* Opens every viewer's subscription, at most cfg.handshakes at a time.
 * Returns the wall time in ns. */
static uint64_t open_viewers(void)
{
    viewers_alloc();
    uint64_t t0 = lg_now_ns();
    for (size_t i = 0; i < n_members; i++)
        open_q[open_q_tail++] = (uint32_t)i;
    open_kick();
    run_until(subs_settled, 600 * NS_PER_S);
    return lg_now_ns() - t0;
}

static int quiet(void)
{
    return lg_now_ns() - ctr.last_msg_ns > SETTLE_QUIET_NS;
}

/* ---- senders --------------------------------------------------------------- */

static void action_done(void *ctx, int status, const char *body, size_t len, uint64_t t_submit)
{
    uint64_t k = (uint64_t)(uintptr_t)ctx;
    struct sent *s = &ring[k & (SENT_RING - 1)];
    int measured = s->k == k && s->measured;
    if (status >= 200 && status < 300) {
        if (s->k == k)
            s->ok = 1;
        if (measured) {
            ctr.actions_ok++;
            hist_add(rest_lat, (lg_now_ns() - t_submit) / 1000);
        }
        return;
    }
    /* A refused action publishes nothing: nobody should expect it. */
    if (measured) {
        ctr.actions_fail++;
        ctr.expected -= s->expected;
    }
    if (count_status(status) <= LOG_FIRST_FAILURES)
        fprintf(stderr, "action failed: status %d: %.*s\n", status, (int)(len > 300 ? 300 : len),
                body ? body : "");
}

static const char *const video_cycle[4] = {"play", "seek", "pause", "seek"};

/* Sends room r's next action (video control for fanout/ops, chat for the
 * chat workload), keyed by a fresh k. */
static void send_action(uint32_t r, int measured, int chat)
{
    struct room *rm = &rooms[r];
    uint64_t k = ++next_k;
    struct sent *s = &ring[k & (SENT_RING - 1)];
    s->k = k;
    s->t = lg_now_ns();
    s->expected = rm->n_open;
    s->got = 0;
    s->ok = 0;
    s->room = (uint16_t)r;
    s->measured = (uint8_t)measured;
    char path[64], body[96];
    uint64_t a = rm->actions++;
    /* Expected deliveries are counted at send time, so that an action
     * still unanswered at the end counts as lost, not as nothing. */
    if (measured) {
        ctr.actions_sent++;
        ctr.expected += s->expected;
    }
    if (cfg.bare) {
        /* The floor: publish the event itself, as our workers do after the script. No seq:
         * a room's publishes travel over several keep-alive connections, so their order
         * is not kept (ours go through one ordered queue). */
        snprintf(path, sizeof path, "/pub/%s", rm->id);
        snprintf(body, sizeof body, "{\"type\":\"video.%s\",\"position\":%llu}", video_cycle[a % 4],
                 (unsigned long long)k);
        http_submit(pool, "POST", path, NULL, body, action_done, (void *)(uintptr_t)k);
        return;
    }
    if (chat && rm->n_joined > 0) {
        struct member *m = &members[rm->first + (uint32_t)(a % rm->n_joined)];
        if (m->token != NULL) {
            snprintf(path, sizeof path, "/api/rooms/%s/chat", rm->id);
            snprintf(body, sizeof body, "{\"text\":\"b %llu\"}", (unsigned long long)k);
            http_submit(pool, "POST", path, m->token, body, action_done, (void *)(uintptr_t)k);
            return;
        }
    }
    snprintf(path, sizeof path, "/api/rooms/%s/video/%s", rm->id, video_cycle[a % 4]);
    snprintf(body, sizeof body, "{\"position\":%llu}", (unsigned long long)k);
    http_submit(pool, "POST", path, rm->host_token, body, action_done, (void *)(uintptr_t)k);
}

/* ---- result ------------------------------------------------------------------ */

struct result {
    double wall_s;
    double events_in_s, deliveries_s, msgs_s;
    double p50, p95, p99, max; /* ms */
    double rest_p50, rest_p99;
    double srv_cpu_s[PG__MAX], srv_sys_s[PG__MAX], srv_cpu_total;
    double us_per_delivery;
    double lg_cpu_cores;
    double joins_s, subs_s, ops_s;
    double us_per_action, us_per_op, us_per_join, us_per_sub; /* server CPU per unit */
    double idle_kib_per_viewer, idle_pss_delta_kib[PG__MAX];
    struct proc_sample rest, peak, loaded;
    uint64_t lg_maxrss_kib;
};

static struct result res;
static struct proc_sample peak_sample;
static int child_index = -1; /* >= 0 in a --procs child */
static uint64_t next_proc_sample_ns;

/* Samples the server's memory at most once a second. Never inside a timed
 * window of a single generator process: a /proc scan with smaps_rollup
 * blocks the loop for tens of milliseconds with 10 000 connections in
 * nginx, which showed up as a once-a-second latency spike. VmHWM (the
 * kernel's per-process peak) still captures the peak of the window; the
 * --procs parent samples from its own process and is exempt. */
static void maybe_sample_peak(void)
{
    uint64_t now = lg_now_ns();
    if (now < next_proc_sample_ns || (ctr.measuring && child_index < 0 && cfg.procs <= 1))
        return;
    next_proc_sample_ns = now + NS_PER_S;
    struct proc_sample s;
    proc_sample(&s, 1);
    proc_peak_update(&peak_sample, &s);
}

static double cpu_self_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void json_groups_u64(FILE *f, const char *name, const uint64_t *v)
{
    fprintf(f, "  \"%s\": {", name);
    for (int g = 0; g < PG__MAX; g++)
        fprintf(f, "%s\"%s\": %llu", g ? ", " : "", proc_group_name[g], (unsigned long long)v[g]);
    fprintf(f, "},\n");
}

static void json_groups_dbl(FILE *f, const char *name, const double *v)
{
    fprintf(f, "  \"%s\": {", name);
    for (int g = 0; g < PG__MAX; g++)
        fprintf(f, "%s\"%s\": %.4f", g ? ", " : "", proc_group_name[g], v[g]);
    fprintf(f, "},\n");
}

static void write_json(void)
{
    if (cfg.json_path == NULL)
        return;
    FILE *f = fopen(cfg.json_path, "w");
    if (f == NULL) {
        fprintf(stderr, "cannot write %s: %s\n", cfg.json_path, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"label\": \"%s\",\n  \"workload\": \"%s\",\n", cfg.label, cfg.wl_name);
    fprintf(f, "  \"rooms\": %d,\n  \"viewersPerRoom\": %d,\n  \"ratePerRoom\": %.3f,\n", cfg.rooms,
            cfg.viewers, cfg.rate);
    fprintf(f, "  \"durationS\": %.3f,\n  \"restConns\": %d,\n", res.wall_s, cfg.conns);
    fprintf(f, "  \"created\": %llu,\n  \"joined\": %llu,\n  \"joinFail\": %llu,\n",
            (unsigned long long)ctr.created, (unsigned long long)ctr.joined,
            (unsigned long long)ctr.join_fail);
    fprintf(f, "  \"subscribed\": %llu,\n  \"subscribeFail\": %llu,\n  \"dropped\": %llu,\n",
            (unsigned long long)ctr.opened, (unsigned long long)ctr.open_fail,
            (unsigned long long)ctr.dropped);
    fprintf(f,
            "  \"actionsSent\": %llu,\n  \"actionsOk\": %llu,\n  \"actionsFail\": %llu,\n"
            "  \"skipped\": %llu,\n  \"unanswered\": %llu,\n",
            (unsigned long long)ctr.actions_sent, (unsigned long long)ctr.actions_ok,
            (unsigned long long)ctr.actions_fail, (unsigned long long)ctr.skipped,
            (unsigned long long)ctr.unanswered);
    fprintf(f,
            "  \"expected\": %llu,\n  \"delivered\": %llu,\n  \"lost\": %lld,\n"
            "  \"seqGaps\": %llu,\n  \"seqReordered\": %llu,\n"
            "  \"seqGapsInWindow\": %llu,\n  \"seqReorderedInWindow\": %llu,\n",
            (unsigned long long)ctr.expected, (unsigned long long)ctr.delivered,
            (long long)ctr.expected - (long long)ctr.delivered, (unsigned long long)ctr.gaps,
            (unsigned long long)ctr.reordered, (unsigned long long)ctr.gaps_window,
            (unsigned long long)ctr.reordered_window);
    fprintf(f,
            "  \"eventsInPerS\": %.1f,\n  \"deliveriesPerS\": %.1f,\n"
            "  \"messagesPerS\": %.1f,\n",
            res.events_in_s, res.deliveries_s, res.msgs_s);
    fprintf(f,
            "  \"latencyMs\": {\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"max\": %.3f,"
            " \"count\": %llu},\n",
            res.p50, res.p95, res.p99, res.max, (unsigned long long)lat->count);
    fprintf(f, "  \"restLatencyMs\": {\"p50\": %.3f, \"p99\": %.3f, \"count\": %llu},\n",
            res.rest_p50, res.rest_p99, (unsigned long long)rest_lat->count);
    json_groups_dbl(f, "serverCpuS", res.srv_cpu_s);
    json_groups_dbl(f, "serverSysCpuS", res.srv_sys_s);
    fprintf(f, "  \"serverCpuCores\": %.4f,\n  \"serverUsPerDelivery\": %.4f,\n",
            res.wall_s > 0 ? res.srv_cpu_total / res.wall_s : 0, res.us_per_delivery);
    json_groups_u64(f, "peakRssKiB", peak_sample.rss_kib);
    json_groups_u64(f, "peakHwmKiB", peak_sample.hwm_kib);
    json_groups_u64(f, "peakPssKiB", peak_sample.pss_kib);
    json_groups_u64(f, "restPssKiB", res.rest.pss_kib);
    json_groups_u64(f, "restRssKiB", res.rest.rss_kib);
    json_groups_u64(f, "loadedPssKiB", res.loaded.pss_kib);
    json_groups_u64(f, "loadedRssKiB", res.loaded.rss_kib);
    fprintf(f, "  \"idleKiBPerViewer\": %.3f,\n", res.idle_kib_per_viewer);
    fprintf(f,
            "  \"bare\": %d,\n  \"subscribe\": %d,\n"
            "  \"serverUsPerAction\": %.2f,\n  \"serverUsPerOp\": %.2f,\n"
            "  \"serverUsPerJoin\": %.2f,\n  \"serverUsPerSubscribe\": %.2f,\n",
            cfg.bare, cfg.subscribe, res.us_per_action, res.us_per_op, res.us_per_join,
            res.us_per_sub);
    fprintf(f, "  \"joinsPerS\": %.1f,\n  \"subscribesPerS\": %.1f,\n  \"opsPerS\": %.1f,\n",
            res.joins_s, res.subs_s, res.ops_s);
    fprintf(f, "  \"verifyLost\": %llu,\n  \"verifyExtra\": %llu,\n  \"verifyFail\": %llu,\n",
            (unsigned long long)ctr.verify_lost, (unsigned long long)ctr.verify_extra,
            (unsigned long long)ctr.verify_fail);
    fprintf(f,
            "  \"failuresByStatusClass\": {\"transport\": %llu, \"4xx\": %llu, \"5xx\": %llu},\n",
            (unsigned long long)ctr.status_fail[0], (unsigned long long)ctr.status_fail[4],
            (unsigned long long)ctr.status_fail[5]);
    fprintf(f,
            "  \"ws\": {\"frames\": %llu, \"fragments\": %llu, \"pings\": %llu, "
            "\"closes\": %llu, \"protocolErrors\": %llu, \"acceptMismatch\": %llu},\n",
            (unsigned long long)ws_counters.frames, (unsigned long long)ws_counters.fragments,
            (unsigned long long)ws_counters.pings, (unsigned long long)ws_counters.closes,
            (unsigned long long)ws_counters.protocol_errors,
            (unsigned long long)ws_counters.accept_mismatch);
    fprintf(f, "  \"loadgenCpuCores\": %.4f,\n  \"loadgenMaxRssKiB\": %llu\n}\n", res.lg_cpu_cores,
            (unsigned long long)res.lg_maxrss_kib);
    fclose(f);
}

static void print_header(void)
{
    printf("%-22s %9s %6s %9s %10s %7s %8s %8s %8s %8s %8s %6s %7s %7s %9s\n", "run", "viewers",
           "ev/s", "deliv/s", "lost", "gaps", "p50ms", "p95ms", "p99ms", "maxms", "srvcores",
           "us/dl", "lgcores", "errors", "extra");
}

static void print_row(void)
{
    char name[64], extra[128] = "";
    snprintf(name, sizeof name, "%s%s%s", cfg.wl_name, cfg.label[0] ? ":" : "", cfg.label);
    uint64_t errors = ctr.actions_fail + ctr.skipped + ctr.unanswered + ctr.open_fail +
                      ctr.dropped + ctr.join_fail + ctr.create_fail;
    if (cfg.wl == WL_JOINSTORM)
        snprintf(extra, sizeof extra, "joins/s=%.0f lost=%llu us/join=%.0f", res.joins_s,
                 (unsigned long long)(ctr.verify_lost + ctr.verify_fail), res.us_per_join);
    else if (cfg.wl == WL_OPS)
        snprintf(extra, sizeof extra, "ops/s=%.0f us/op=%.1f", res.ops_s, res.us_per_op);
    else if (cfg.wl == WL_IDLE)
        snprintf(extra, sizeof extra, "KiB/viewer=%.2f us/sub=%.1f", res.idle_kib_per_viewer,
                 res.us_per_sub);
    else
        snprintf(extra, sizeof extra, "us/action=%.0f 5xx=%llu", res.us_per_action,
                 (unsigned long long)ctr.status_fail[5]);
    printf(
        "%-22s %9llu %6.0f %9.0f %10lld %7llu %8.2f %8.2f %8.2f %8.2f %8.3f %6.2f %7.2f %7llu %s\n",
        name, (unsigned long long)ctr.opened, res.events_in_s, res.deliveries_s,
        (long long)ctr.expected - (long long)ctr.delivered, (unsigned long long)ctr.gaps_window,
        res.p50, res.p95, res.p99, res.max, res.wall_s > 0 ? res.srv_cpu_total / res.wall_s : 0,
        res.us_per_delivery, res.lg_cpu_cores, (unsigned long long)errors, extra);
    printf("    cpu(cores, sys part):");
    for (int g = 0; g < PG__MAX; g++)
        printf(" %s=%.3f(%.3f)", proc_group_name[g],
               res.wall_s > 0 ? res.srv_cpu_s[g] / res.wall_s : 0,
               res.wall_s > 0 ? res.srv_sys_s[g] / res.wall_s : 0);
    printf("  peakRSS(MiB):");
    for (int g = 0; g < PG__MAX; g++)
        printf(" %s=%.1f", proc_group_name[g], (double)peak_sample.rss_kib[g] / 1024.0);
    printf("\n");
    fflush(stdout);
}

/* ---- workloads ------------------------------------------------------------- */

/* Measures the window [start, start + duration): CPU of server groups and
 * of the generator, and peaks; shared by the timed workloads. */
struct window {
    struct proc_sample a, b;
    double lg_a, lg_b;
    uint64_t t_a, t_b;
};

static void window_begin(struct window *w)
{
    proc_sample(&w->a, 0);
    w->lg_a = cpu_self_s();
    w->t_a = lg_now_ns();
    ctr.measuring = 1;
}

static void window_end(struct window *w)
{
    ctr.measuring = 0;
    w->t_b = lg_now_ns();
    w->lg_b = cpu_self_s();
    proc_sample(&w->b, 0);
    res.wall_s = secs(w->t_b - w->t_a);
    res.srv_cpu_total = 0;
    for (int g = 0; g < PG__MAX; g++) {
        if (g == PG_OTHER)
            continue; /* the launcher script, not the server */
        res.srv_cpu_s[g] = w->b.cpu_s[g] - w->a.cpu_s[g];
        res.srv_sys_s[g] = w->b.sys_s[g] - w->a.sys_s[g];
        res.srv_cpu_total += res.srv_cpu_s[g];
    }
    res.srv_cpu_s[PG_OTHER] = w->b.cpu_s[PG_OTHER] - w->a.cpu_s[PG_OTHER];
    res.lg_cpu_cores = res.wall_s > 0 ? (w->lg_b - w->lg_a) / res.wall_s : 0;
}

static int drain_done(void)
{
    return http_outstanding(pool) == 0 && ctr.delivered >= ctr.expected;
}

/* Explains a non-zero loss on stderr: which answered actions were not
 * delivered to everybody, and when they were sent relative to the end of
 * the window (losses only at the very end point at a flush problem, not
 * at a drop). */
static void report_losses(uint64_t t_end)
{
    uint64_t n = 0, partial = 0, none = 0;
    for (uint64_t k = next_k; k > 0 && next_k - k < SENT_RING; k--) {
        const struct sent *s = &ring[k & (SENT_RING - 1)];
        if (s->k != k || !s->measured || !s->ok || s->got >= s->expected)
            continue;
        n++;
        if (s->got == 0)
            none++;
        else
            partial++;
        if (n <= 5)
            fprintf(stderr,
                    "lost: action k=%llu room %u got %u of %u deliveries, sent %.1f ms "
                    "before the end of the window\n",
                    (unsigned long long)k, (unsigned)s->room, s->got, s->expected,
                    t_end > s->t ? (double)(t_end - s->t) / 1e6 : 0.0);
    }
    if (n > 0)
        fprintf(stderr,
                "lost: %llu answered actions short of deliveries (%llu got none, "
                "%llu partial)\n",
                (unsigned long long)n, (unsigned long long)none, (unsigned long long)partial);
}

/* Requests still unanswered after the drain: a saturated server. */
static void count_unanswered(void)
{
    ctr.unanswered = http_outstanding(pool);
}

/* fanout and chat: open-loop senders at cfg.rate per room. */
static void run_events(int chat, uint64_t t0)
{
    double total_rate = cfg.rate * cfg.rooms;
    if (total_rate <= 0)
        die("--rate must be > 0");
    uint64_t step = (uint64_t)(1e9 / total_rate);
    uint64_t t_meas = t0 + (uint64_t)(cfg.warmup * 1e9);
    uint64_t t_end = t_meas + (uint64_t)(cfg.duration * 1e9);
    uint64_t j = 0;
    struct window win;
    int in_window = 0;
    for (;;) {
        uint64_t now = lg_now_ns();
        if (!in_window && now >= t_meas) {
            window_begin(&win);
            in_window = 1;
        }
        if (now >= t_end)
            break;
        while (t0 + j * step <= now) {
            uint64_t due = t0 + j * step;
            int measured = due >= t_meas && due < t_end;
            if (http_outstanding(pool) > MAX_BACKLOG) {
                if (measured)
                    ctr.skipped++;
            } else {
                send_action((uint32_t)(j % (uint64_t)cfg.rooms), measured, chat);
            }
            j++;
        }
        maybe_sample_peak();
        uint64_t next = t0 + j * step;
        uint64_t wait_ns = next > now ? next - now : 0;
        /* epoll's timeout is in ms; sub-ms schedules spin with timeout 0
         * after each batch, which is fine since the loop is the client. */
        lg_loop_once(wait_ns >= 1000000 ? (int)(wait_ns / 1000000) : 0);
    }
    window_end(&win);
    run_until(drain_done, DRAIN_MAX_NS);
    count_unanswered();
    report_losses(t_end);
    proc_sample(&res.loaded, 1);
    res.events_in_s = (double)ctr.actions_ok / res.wall_s;
    res.deliveries_s = (double)ctr.delivered / res.wall_s;
    res.msgs_s = (double)ctr.msgs_window / res.wall_s;
    /* CPU per delivery counts every message the viewers got in the
     * window (including presence and sync beacons): all of it is work. */
    res.us_per_delivery = ctr.msgs_window ? res.srv_cpu_total * 1e6 / (double)ctr.msgs_window : 0;
    res.us_per_action = ctr.actions_ok ? res.srv_cpu_total * 1e6 / (double)ctr.actions_ok : 0;
}

static void ops_done(void *ctx, int status, const char *body, size_t len, uint64_t t_submit);

static uint64_t ops_end_ns, ops_meas_ns;
static uint64_t ops_i;

static void ops_submit(void)
{
    uint64_t i = ops_i++;
    uint32_t r = (uint32_t)(i % (uint64_t)cfg.rooms);
    struct room *rm = &rooms[r];
    char path[64], body[96];
    if ((i / (uint64_t)cfg.rooms) % 2 == 1 && rm->n_joined > 0) {
        struct member *m =
            &members[rm->first + (uint32_t)((i / (uint64_t)cfg.rooms / 2) % rm->n_joined)];
        snprintf(path, sizeof path, "/api/rooms/%s/chat", rm->id);
        snprintf(body, sizeof body, "{\"text\":\"ops %llu\"}", (unsigned long long)i);
        http_submit(pool, "POST", path, m->token, body, ops_done, NULL);
    } else {
        snprintf(path, sizeof path, "/api/rooms/%s/video/seek", rm->id);
        snprintf(body, sizeof body, "{\"position\":%llu}", (unsigned long long)i);
        http_submit(pool, "POST", path, rm->host_token, body, ops_done, NULL);
    }
}

static void ops_done(void *ctx, int status, const char *body, size_t len, uint64_t t_submit)
{
    (void)ctx;
    uint64_t now = lg_now_ns();
    int measured = t_submit >= ops_meas_ns && t_submit < ops_end_ns;
    if (status >= 200 && status < 300) {
        if (measured) {
            ctr.ops_done++;
            hist_add(rest_lat, (now - t_submit) / 1000);
        }
    } else {
        if (measured)
            ctr.actions_fail++;
        if (count_status(status) <= LOG_FIRST_FAILURES)
            fprintf(stderr, "op failed: status %d: %.*s\n", status, (int)(len > 300 ? 300 : len),
                    body ? body : "");
    }
    if (now < ops_end_ns)
        ops_submit();
}

static void run_ops(void)
{
    uint64_t t0 = lg_now_ns();
    ops_meas_ns = t0 + (uint64_t)(cfg.warmup * 1e9);
    ops_end_ns = ops_meas_ns + (uint64_t)(cfg.duration * 1e9);
    int inflight = cfg.inflight > 0 ? cfg.inflight : cfg.conns;
    for (int i = 0; i < inflight; i++)
        ops_submit();
    struct window win;
    int in_window = 0;
    while (lg_now_ns() < ops_end_ns) {
        if (!in_window && lg_now_ns() >= ops_meas_ns) {
            window_begin(&win);
            in_window = 1;
        }
        maybe_sample_peak();
        lg_loop_once(10);
    }
    window_end(&win);
    run_until(drain_done, DRAIN_MAX_NS);
    res.ops_s = (double)ctr.ops_done / res.wall_s;
    res.us_per_op = ctr.ops_done ? res.srv_cpu_total * 1e6 / (double)ctr.ops_done : 0;
    res.events_in_s = res.ops_s;
    res.us_per_delivery = 0;
}

/* joinstorm verification: the host's full view of the room must list every
 * member whose join returned 201, and nobody else. */
static void verify_done(void *ctx, int status, const char *body, size_t len, uint64_t t)
{
    (void)t;
    struct room *rm = ctx;
    ctr.pending--;
    if (status != 200) {
        ctr.verify_fail++;
        count_status(status);
        return;
    }
    const char *u = jfind(body, len, "users");
    if (u == NULL || *u != '[') {
        ctr.verify_fail++;
        return;
    }
    const char *uend = memchr(u, ']', (size_t)(body + len - u));
    if (uend == NULL) {
        ctr.verify_fail++;
        return;
    }
    size_t ulen = (size_t)(uend - u);
    uint64_t listed = 0;
    for (const char *p = u; (p = lg_memmem(p, (size_t)(uend - p), "\"isHost\"", 8)) != NULL; p += 8)
        listed++;
    uint64_t ok = 0;
    for (uint32_t i = 0; i < (uint32_t)cfg.viewers; i++) {
        struct member *m = &members[rm->first + i];
        if (m->token == NULL)
            continue;
        if (lg_memmem(u, ulen, m->user_id, strlen(m->user_id)) != NULL)
            ok++;
        else
            ctr.verify_lost++;
    }
    /* listed includes the host. */
    if (listed > ok + 1)
        ctr.verify_extra += listed - ok - 1;
    rm->verified = ok == rm->n_joined ? 1 : -1;
}

/* All joins at once over cfg.conns connections. With --subscribe each
 * member opens its WebSocket as soon as its join is answered (as a client
 * does), and the storm ends when every subscription is settled: joins/s is
 * then join + subscription, and the CPU window runs on until the presence
 * events the subscriptions caused have all arrived. */
static void run_joinstorm(void)
{
    struct window win;
    members_alloc();
    if (cfg.subscribe)
        viewers_alloc();
    window_begin(&win);
    uint64_t t0 = lg_now_ns();
    join_members();
    if (cfg.subscribe)
        run_until(subs_settled, 600 * NS_PER_S);
    uint64_t ns = lg_now_ns() - t0;
    if (cfg.subscribe) {
        ctr.last_msg_ns = lg_now_ns();
        run_until(quiet, SETTLE_MAX_NS);
    }
    window_end(&win);
    res.us_per_join = ctr.joined ? res.srv_cpu_total * 1e6 / (double)ctr.joined : 0;
    res.wall_s = secs(ns);
    res.joins_s = (double)ctr.joined / secs(ns);
    res.subs_s = cfg.subscribe ? (double)ctr.opened / secs(ns) : 0;
    res.events_in_s = res.joins_s;
    for (int i = 0; i < cfg.rooms; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/rooms/%s", rooms[i].id);
        ctr.pending++;
        http_submit(pool, "GET", path, rooms[i].host_token, NULL, verify_done, &rooms[i]);
    }
    run_until(no_pending, 120 * NS_PER_S);
}

/* ---- several generator processes ------------------------------------------ */

/* One process cannot hold more descriptors than RLIMIT_NOFILE's hard limit
 * (20 000 on some boxes), so --procs N splits the rooms over N forked
 * generators. Each runs setup alone, reports ready, and starts its sender
 * at the common instant the parent sets; the parent alone samples the
 * server over the window. Results come back through shared memory. */
struct child_slot {
    volatile int ready;
    struct counters ctr;
    struct hist lat, rest_lat;
    double joins_s, subs_s;
    double lg_cpu_cores; /* the child's own CPU over its timed window */
};

struct shared {
    volatile uint64_t go_ns; /* start of the timed phase, set by the parent */
    volatile int stop;       /* idle: the parent has sampled */
    struct child_slot slot[];
};

static struct shared *shm;

static void child_wait_go(void)
{
    shm->slot[child_index].ready = 1;
    while (shm->go_ns == 0 || lg_now_ns() < shm->go_ns)
        lg_loop_once(1);
}

static void child_finish(void)
{
    struct child_slot *sl = &shm->slot[child_index];
    sl->ctr = ctr;
    sl->lat = *lat;
    sl->rest_lat = *rest_lat;
    sl->joins_s = res.joins_s;
    sl->subs_s = res.subs_s;
    sl->lg_cpu_cores = res.lg_cpu_cores;
    exit(0);
}

static void merge_children(void)
{
    memset(&ctr, 0, sizeof ctr);
    memset(lat, 0, sizeof *lat);
    memset(rest_lat, 0, sizeof *rest_lat);
    res.joins_s = res.subs_s = res.lg_cpu_cores = 0;
    for (int i = 0; i < cfg.procs; i++) {
        struct child_slot *sl = &shm->slot[i];
        uint64_t *into = (uint64_t *)&ctr;
        const uint64_t *from = (const uint64_t *)&sl->ctr;
        for (size_t k = 0; k < sizeof ctr / sizeof(uint64_t); k++)
            into[k] += from[k];
        hist_merge(lat, &sl->lat);
        hist_merge(rest_lat, &sl->rest_lat);
        /* The children ran concurrently: rates add up. */
        res.joins_s += sl->joins_s;
        res.subs_s += sl->subs_s;
        res.lg_cpu_cores += sl->lg_cpu_cores;
    }
}

static const struct timespec sample_pause = {0, 20 * 1000 * 1000};

static void sleep_sampling(uint64_t until)
{
    while (lg_now_ns() < until) {
        maybe_sample_peak();
        nanosleep(&sample_pause, NULL);
    }
}

/* The parent of --procs: forks, synchronises, measures, merges. Returns
 * 0 when every child exited cleanly. */
static int run_parent(void)
{
    size_t size = sizeof(struct shared) + (size_t)cfg.procs * sizeof(struct child_slot);
    shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        die("mmap failed");
    memset(shm, 0, size);
    proc_sample(&res.rest, 1);
    peak_sample = res.rest;
    int total_rooms = cfg.rooms;
    pid_t *kids = calloc((size_t)cfg.procs, sizeof *kids);
    if (kids == NULL)
        abort();
    fflush(stdout);
    for (int i = 0; i < cfg.procs; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork failed");
        if (pid == 0) {
            child_index = i;
            cfg.rooms = total_rooms / cfg.procs + (i < total_rooms % cfg.procs);
            return -1; /* the caller runs the child's workload */
        }
        kids[i] = pid;
    }
    /* Setup can take a while for 20 000 viewers; a child that dies is a
     * failure, not a hang. */
    for (;;) {
        int ready = 0;
        for (int i = 0; i < cfg.procs; i++) {
            ready += shm->slot[i].ready;
            int st;
            if (kids[i] > 0 && waitpid(kids[i], &st, WNOHANG) == kids[i]) {
                kids[i] = 0;
                if (!shm->slot[i].ready)
                    die("a generator process failed during setup");
            }
        }
        if (ready == cfg.procs)
            break;
        maybe_sample_peak();
        nanosleep(&sample_pause, NULL);
    }
    uint64_t go = lg_now_ns() + 200ull * 1000000ull;
    shm->go_ns = go;
    struct window win;
    if (cfg.wl == WL_IDLE) {
        /* The joins' own tail (pushd's lease checks a few seconds after the streams open,
         * presence batches) is not the members' idle cost: it passes before the window. */
        uint64_t settled = go + (uint64_t)(cfg.warmup * 1e9);
        sleep_sampling(settled);
        window_begin(&win);
        sleep_sampling(settled + (uint64_t)(cfg.idle_wait * 1e9));
        window_end(&win);
        proc_sample(&res.loaded, 1);
        shm->stop = 1;
    } else {
        uint64_t t_meas = go + (uint64_t)(cfg.warmup * 1e9);
        sleep_sampling(t_meas);
        window_begin(&win);
        sleep_sampling(t_meas + (uint64_t)(cfg.duration * 1e9));
        window_end(&win);
    }
    int bad = 0;
    for (int i = 0; i < cfg.procs; i++) {
        int st = 0;
        if (kids[i] > 0 &&
            (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
            bad = 1;
    }
    if (cfg.wl != WL_IDLE)
        proc_sample(&res.loaded, 1);
    cfg.rooms = total_rooms;
    merge_children();
    if (cfg.wl == WL_IDLE) {
        uint64_t d = 0;
        for (int g = 0; g < PG__MAX; g++)
            if (g != PG_OTHER && res.loaded.pss_kib[g] > res.rest.pss_kib[g])
                d += res.loaded.pss_kib[g] - res.rest.pss_kib[g];
        res.idle_kib_per_viewer = ctr.opened ? (double)d / (double)ctr.opened : 0;
    } else {
        res.events_in_s = (double)ctr.actions_ok / res.wall_s;
        res.deliveries_s = (double)ctr.delivered / res.wall_s;
        res.msgs_s = (double)ctr.msgs_window / res.wall_s;
        res.us_per_delivery =
            ctr.msgs_window ? res.srv_cpu_total * 1e6 / (double)ctr.msgs_window : 0;
        res.us_per_action = ctr.actions_ok ? res.srv_cpu_total * 1e6 / (double)ctr.actions_ok : 0;
    }
    /* Peak RSS of the largest generator process. */
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    res.lg_maxrss_kib = (uint64_t)ru.ru_maxrss;
    return bad;
}

/* ---- main -------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: wnc-loadgen fanout|chat|idle|joinstorm|ops|selftest [options]\n"
                    "       wnc-loadgen summary DIR [--prefix P] [--md FILE] [--strict]\n"
                    "  --url http://127.0.0.1:PORT   the stack (required but for selftest)\n"
                    "  --rooms R --viewers V         rooms and subscribed viewers per room\n"
                    "  --rate F                      actions per second per room (fanout, chat)\n"
                    "  --duration S --warmup S       measured and unmeasured seconds\n"
                    "  --conns K                     REST keep-alive connections (64)\n"
                    "  --inflight N                  ops: requests in flight (= conns)\n"
                    "  --handshakes H                concurrent WebSocket handshakes (256)\n"
                    "  --idle-wait S                 idle: seconds sampled, after --warmup (5)\n"
                    "  --src-addrs N                 spread sockets over 127.0.0.1..N\n"
                    "  --stack-pid PID --run-dir DIR server processes to sample\n"
                    "  --json FILE --label TEXT      result file and run name\n"
                    "  --procs N                     split rooms over N generator processes\n"
                    "                                (fanout, chat, idle; beats RLIMIT_NOFILE)\n"
                    "  --frame-bytes N               selftest frame payload size (200)\n"
                    "  --bare                        fanout, idle, ops against the floor\n"
                    "                                (tests/bench/floor.sh): /sub/ID, /pub/ID\n"
                    "  --subscribe                   joinstorm: each member subscribes once\n"
                    "                                joined (join + subscription)\n"
                    "  --xaccel                      subscribe through /api/rooms/ID/events\n"
                    "                                (X-Accel-Redirect) instead of\n"
                    "                                /api/rooms/ID/events/CHANNEL (authorize)\n"
                    "  --header                      print the table header and exit\n");
    exit(2);
}

static void parse_url(const char *url)
{
    char host[64];
    int port;
    if (sscanf(url, "http://%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535)
        die("--url must look like http://127.0.0.1:PORT");
    memset(&cfg.addr, 0, sizeof cfg.addr);
    cfg.addr.sin_family = AF_INET;
    cfg.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &cfg.addr.sin_addr) != 1)
        die("--url host must be an IPv4 address");
}

static void raise_nofile(size_t need)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (need + FD_HEADROOM > rl.rlim_cur) {
        fprintf(stderr,
                "wnc-loadgen: need %zu descriptors but RLIMIT_NOFILE hard limit is %llu;"
                " run as root or raise the hard limit\n",
                need + FD_HEADROOM, (unsigned long long)rl.rlim_cur);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "--header") == 0) {
        print_header();
        return 0;
    }
    if (strcmp(argv[1], "summary") == 0)
        return summary_run(argc, argv);
    static const char *const names[] = {"fanout", "chat", "idle", "joinstorm", "ops", "selftest"};
    cfg.wl_name = NULL;
    for (int i = 0; i < 6; i++)
        if (strcmp(argv[1], names[i]) == 0) {
            cfg.wl = (enum workload)i;
            cfg.wl_name = names[i];
        }
    if (cfg.wl_name == NULL)
        usage();
    const char *url = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v != NULL && ++i)
        if (OPT("--url"))
            url = v;
        else if (OPT("--rooms"))
            cfg.rooms = atoi(v);
        else if (OPT("--viewers"))
            cfg.viewers = atoi(v);
        else if (OPT("--rate"))
            cfg.rate = atof(v);
        else if (OPT("--duration"))
            cfg.duration = atof(v);
        else if (OPT("--warmup"))
            cfg.warmup = atof(v);
        else if (OPT("--idle-wait"))
            cfg.idle_wait = atof(v);
        else if (OPT("--conns"))
            cfg.conns = atoi(v);
        else if (OPT("--inflight"))
            cfg.inflight = atoi(v);
        else if (OPT("--handshakes"))
            cfg.handshakes = atoi(v);
        else if (OPT("--src-addrs"))
            cfg.src_addrs = atoi(v);
        else if (OPT("--stack-pid"))
            cfg.stack_pid = atoi(v);
        else if (OPT("--run-dir"))
            cfg.run_dir = v;
        else if (OPT("--json"))
            cfg.json_path = v;
        else if (OPT("--label"))
            cfg.label = v;
        else if (OPT("--procs"))
            cfg.procs = atoi(v);
        else if (OPT("--frame-bytes"))
            cfg.frame_bytes = atoi(v);
        else if (strcmp(a, "--bare") == 0)
            cfg.bare = 1;
        else if (strcmp(a, "--subscribe") == 0)
            cfg.subscribe = 1;
        else if (strcmp(a, "--xaccel") == 0)
            cfg.xaccel = 1;
        else
            usage();
#undef OPT
    }
    signal(SIGPIPE, SIG_IGN);
    if (cfg.wl == WL_SELFTEST) {
        /* Both ends of every connection live in this process group. */
        raise_nofile((size_t)cfg.rooms);
        ring = calloc(SENT_RING, sizeof *ring);
        lat = calloc(1, sizeof *lat);
        if (ring == NULL || lat == NULL)
            abort();
        return selftest_run(cfg.rooms, cfg.duration, cfg.frame_bytes, on_message);
    }
    if (url == NULL)
        usage();
    if (cfg.bare && cfg.wl != WL_FANOUT && cfg.wl != WL_IDLE && cfg.wl != WL_OPS)
        die("--bare applies to fanout, idle and ops");
    if (cfg.subscribe && cfg.wl != WL_JOINSTORM)
        die("--subscribe applies to joinstorm");
    parse_url(url);
    if (cfg.rooms < 1 || cfg.viewers < 0 || cfg.conns < 1 || cfg.handshakes < 1)
        die("rooms, conns and handshakes must be >= 1, viewers >= 0");
    int multi = cfg.procs > 1 && (cfg.wl == WL_FANOUT || cfg.wl == WL_CHAT || cfg.wl == WL_IDLE);
    int parent_bad = 0;
    lat = calloc(1, sizeof *lat);
    rest_lat = calloc(1, sizeof *rest_lat);
    if (lat == NULL || rest_lat == NULL)
        abort();
    proc_set_targets(cfg.stack_pid, cfg.run_dir);
    if (multi) {
        parent_bad = run_parent();
        if (parent_bad < 0) {
            /* A child: only the parent samples the server. */
            proc_set_targets(0, NULL);
            parent_bad = 0;
        } else {
            goto summary;
        }
    }
    size_t subs = cfg.wl == WL_FANOUT || cfg.wl == WL_CHAT || cfg.wl == WL_IDLE
                      ? (size_t)cfg.rooms * (size_t)cfg.viewers
                      : 0;
    size_t storm_subs =
        cfg.wl == WL_JOINSTORM && cfg.subscribe ? (size_t)cfg.rooms * (size_t)cfg.viewers : 0;
    raise_nofile(subs + storm_subs + (size_t)cfg.conns);
    if (lg_loop_init() < 0)
        die("epoll_create1 failed");
    lg_set_source_addrs(1, cfg.src_addrs);
    ring = calloc(SENT_RING, sizeof *ring);
    if (ring == NULL)
        abort();
    pool = http_pool_new(&cfg.addr, cfg.conns);

    if (child_index < 0) {
        proc_sample(&res.rest, 1);
        peak_sample = res.rest;
    }

    create_rooms();
    if (cfg.wl == WL_JOINSTORM) {
        run_joinstorm();
    } else {
        uint64_t join_ns = join_members();
        res.joins_s = join_ns > 0 ? (double)ctr.joined / secs(join_ns) : 0;
        if ((cfg.wl == WL_FANOUT || cfg.wl == WL_OPS) && !cfg.bare)
            set_videos();
        if (subs > 0) {
            /* Server CPU of the subscriptions, until the events they caused (presence) have
             * arrived: the floor's cost per subscriber, in the join figure's floor. */
            struct proc_sample sa, sb;
            proc_sample(&sa, 0);
            uint64_t sub_ns = open_viewers();
            res.subs_s = (double)ctr.opened / secs(sub_ns);
            ctr.last_msg_ns = lg_now_ns();
            run_until(quiet, SETTLE_MAX_NS);
            proc_sample(&sb, 0);
            double cpu = 0;
            for (int g = 0; g < PG__MAX; g++)
                if (g != PG_OTHER)
                    cpu += sb.cpu_s[g] - sa.cpu_s[g];
            res.us_per_sub = ctr.opened ? cpu * 1e6 / (double)ctr.opened : 0;
        }
        if (child_index >= 0) {
            child_wait_go();
            if (cfg.wl == WL_IDLE) {
                while (!shm->stop)
                    lg_loop_once(20);
            } else {
                run_events(cfg.wl == WL_CHAT, shm->go_ns);
            }
            child_finish();
        }
        if (cfg.wl == WL_IDLE) {
            struct window win;
            uint64_t settled = lg_now_ns() + (uint64_t)(cfg.warmup * 1e9);
            while (lg_now_ns() < settled) {
                maybe_sample_peak();
                lg_loop_once(100);
            }
            window_begin(&win);
            uint64_t end = lg_now_ns() + (uint64_t)(cfg.idle_wait * 1e9);
            while (lg_now_ns() < end) {
                maybe_sample_peak();
                lg_loop_once(100);
            }
            window_end(&win);
            proc_sample(&res.loaded, 1);
            uint64_t d = 0;
            for (int g = 0; g < PG__MAX; g++) {
                if (g == PG_OTHER)
                    continue;
                if (res.loaded.pss_kib[g] > res.rest.pss_kib[g])
                    d += res.loaded.pss_kib[g] - res.rest.pss_kib[g];
            }
            res.idle_kib_per_viewer = ctr.opened ? (double)d / (double)ctr.opened : 0;
        } else if (cfg.wl == WL_OPS) {
            run_ops();
        } else {
            run_events(cfg.wl == WL_CHAT, lg_now_ns());
        }
    }
summary:
    /* One last sample: VmHWM holds each process's peak of the window. */
    next_proc_sample_ns = 0;
    maybe_sample_peak();
    res.p50 = hist_quantile(lat, 0.50) / 1000.0;
    res.p95 = hist_quantile(lat, 0.95) / 1000.0;
    res.p99 = hist_quantile(lat, 0.99) / 1000.0;
    res.max = hist_quantile(lat, 1.0) / 1000.0;
    if (cfg.wl == WL_OPS) {
        res.p50 = hist_quantile(rest_lat, 0.50) / 1000.0;
        res.p95 = hist_quantile(rest_lat, 0.95) / 1000.0;
        res.p99 = hist_quantile(rest_lat, 0.99) / 1000.0;
        res.max = hist_quantile(rest_lat, 1.0) / 1000.0;
    }
    res.rest_p50 = hist_quantile(rest_lat, 0.50) / 1000.0;
    res.rest_p99 = hist_quantile(rest_lat, 0.99) / 1000.0;
    if (!multi) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        res.lg_maxrss_kib = (uint64_t)ru.ru_maxrss;
    }
    print_row();
    write_json();

    /* Exit status: only breakage, never timing. */
    int bad = parent_bad;
    if (cfg.wl == WL_JOINSTORM) {
        bad = ctr.verify_lost + ctr.verify_fail + ctr.join_fail > 0 || ctr.joined == 0 ||
              (cfg.subscribe && (ctr.opened == 0 || ctr.open_fail > 0));
    } else if (cfg.wl == WL_FANOUT || cfg.wl == WL_CHAT) {
        bad = ctr.delivered == 0 || ctr.opened == 0;
    } else if (cfg.wl == WL_IDLE) {
        bad = ctr.opened == 0 || ctr.open_fail > 0;
    } else if (cfg.wl == WL_OPS) {
        bad = ctr.ops_done == 0;
    }
    return bad ? 1 : 0;
}
