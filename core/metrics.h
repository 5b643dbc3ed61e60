/* Metrics: the registry of the process's counters, gauges and histograms, and their rendering
 * in the Prometheus text exposition format 0.0.4 (docs/metrics.md lists every metric).
 *
 * The registry is a set of fixed arrays of C11 atomics, updated with relaxed operations from any
 * thread: an observation is one or two atomic additions, never a lock or an allocation, so the
 * points of measure (fcgi/route.c, core/store.c, core/publish.c, fcgi/events.c) cost next to
 * nothing. Counters aggregate over every thread of the process. A histogram keeps one counter
 * per bucket (not cumulative) and its sum in nanoseconds; the rendering adds the buckets up, so
 * its +Inf bucket and _count are one and the same figure.
 *
 * wnc-fcgi serves the rendering on WNC_METRICS_LISTEN (fcgi/scrape.c), with what it reads from
 * Redis and nchan at scrape time (struct metrics_scrape). wnc-pushd keeps the same registry and
 * reports its figures (and the timers it fired) into the Redis hash METRICS_PUSHD_KEY, which the
 * scrape reads back.
 *
 * Everything rendered here is pure (the registry, a snapshot, a buffer): tests/unit/core/
 * test_metrics.c checks the text byte for byte. The request-head check of the metrics listener
 * and the parsing of WNC_METRICS_LISTEN are here too, pure as well. */
#ifndef WNC_METRICS_H
#define WNC_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct nchan_status;

/* ---- the registry ------------------------------------------------------------------------- */

/* Request routes: the rows of fcgi/route.c's table by index, and one slot for the requests no
 * row matched (404, 405), rendered as route="unmatched", method="any". */
#define METRICS_ROUTES_MAX 64
#define METRICS_ROUTE_UNMATCHED (METRICS_ROUTES_MAX - 1)
/* Distinct HTTP statuses counted; a status past them counts as status="other". */
#define METRICS_STATUSES_MAX 24

/* Histogram buckets, in seconds: 0.1 ms to 10 s. */
#define METRICS_BUCKETS 16

/* Redis call failures, by kind (label error). A script's own refusal ("WNC <code>": a 404, a
 * 429...) is an answer, not a failure: it is not counted here. */
enum metrics_redis_error {
    METRICS_REDIS_CONNECT,  /* no connection could be made */
    METRICS_REDIS_IO,       /* the connection failed or timed out during a call */
    METRICS_REDIS_BUSY,     /* LOADING or BUSY: Redis cannot answer now */
    METRICS_REDIS_NOSCRIPT, /* the Functions library was missing (then loaded) */
    METRICS_REDIS_REPLY,    /* any other error reply */
    METRICS_REDIS__MAX
};

enum metrics_publish_kind {
    METRICS_PUBLISH_EVENT,
    METRICS_PUBLISH_CLOSE,
    METRICS_PUBLISH_KIND__MAX
};

enum metrics_publish_outcome {
    METRICS_PUBLISH_SENT,     /* nchan accepted it */
    METRICS_PUBLISH_REJECTED, /* nchan answered another status */
    METRICS_PUBLISH_DROPPED,  /* never sent: the queue was full, or the process was stopping */
    METRICS_PUBLISH_LOST,     /* sent, but the connection failed before nchan's answer */
    METRICS_PUBLISH_OUTCOME__MAX
};

/* Subscription transports, in the order of fcgi/api.h's enum events_transport. */
#define METRICS_TRANSPORTS 3

/* The timer sets pushd claims from, "timers:<kind>", in pushd's order. */
#define METRICS_TIMER_KINDS 8
extern const char *const metrics_timer_kinds[METRICS_TIMER_KINDS];

/* Event types (the envelope's "type"), known ones and "other" last. */
#define METRICS_EVENT_TYPES 24
extern const char *const metrics_event_types[METRICS_EVENT_TYPES];

/* Nanoseconds on the monotonic clock, for durations. */
static inline uint64_t metrics_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One request served: the route row's index (METRICS_ROUTE_UNMATCHED when none), its method and
 * pattern (static strings; ignored for the unmatched slot), the status answered and how long
 * it took. */
void metrics_request(size_t route, const char *method, const char *pattern, int status,
                     uint64_t ns);

/* One Redis call (a command or FCALL, with its reconnect and retry) and how long it took. */
void metrics_redis_call(uint64_t ns);
void metrics_redis_error(enum metrics_redis_error e);

/* The publisher's queue grew or shrank by delta requests. */
void metrics_publish_queue(long delta);
/* n publisher requests of kind ended with outcome. */
void metrics_publish(enum metrics_publish_kind kind, enum metrics_publish_outcome outcome,
                     size_t n);

/* One event handed to nchan: counted by the "type" of its envelope (metrics_event_type). */
void metrics_event(const char *json, size_t len);
/* The index in metrics_event_types of the type of the event json[0..len): the value of the
 * first "type":"..." within the first METRICS_EVENT_SCAN bytes (the envelope starts with it),
 * "other" when there is none or it is not a known type. Bounded: never reads past len or the
 * scan limit, no allocation. */
#define METRICS_EVENT_SCAN 64
size_t metrics_event_type(const char *json, size_t len);
/* The index of an event type's name, or METRICS_EVENT_TYPES when unknown. */
size_t metrics_event_type_index(const char *name);
/* How many events of type index this process handed over so far (pushd's report). */
uint64_t metrics_event_count(size_t type);

/* One subscription handed to nchan, by transport (0..METRICS_TRANSPORTS-1). */
void metrics_subscription(unsigned transport);

/* Forgets every figure (tests). Not safe while other threads observe. */
void metrics_reset(void);

/* ---- rendering ---------------------------------------------------------------------------- */

/* What wnc-pushd reports into the hash METRICS_PUSHD_KEY: fields fired:<kind>, events:<type>
 * (counters it raises with HINCRBY), and loop_lag_ms, tick_ms, reported_ms (the last report's
 * figures, HSET). */
#define METRICS_PUSHD_KEY "metrics:pushd"

/* What a scrape reads outside the process; the rendering leaves out what is marked missing. */
struct metrics_scrape {
    int redis_up;             /* the Redis figures below were read */
    long long rooms_active;   /* SCARD active-rooms */
    long long members_online; /* the rooms' `online` counts added up; -1: too many rooms to read */
    long long timers_pending[METRICS_TIMER_KINDS]; /* ZCARD timers:<kind> */
    double timer_lag_s[METRICS_TIMER_KINDS];       /* now - the oldest due entry, 0 if none due */
    int pushd_seen;                                /* METRICS_PUSHD_KEY exists */
    uint64_t pushd_fired[METRICS_TIMER_KINDS];
    uint64_t pushd_events[METRICS_EVENT_TYPES];
    double pushd_loop_lag_s, pushd_tick_s, pushd_reported_s;
    const struct nchan_status *nchan; /* NULL or not a 200: nchan was not read */
    int worker_threads;
    double start_time_s;      /* the process's start, seconds since the epoch */
    double scrape_duration_s; /* how long reading Redis and nchan took */
};

/* Renders the whole exposition: the registry's families, then the scrape's. */
void metrics_render(struct buf *b, const struct metrics_scrape *s);

/* The pieces, exported for the tests. A label list is name/value pairs. */
struct metrics_label {
    const char *name, *value;
};
/* "# HELP name help" (help escaped: backslash, newline) and "# TYPE name type". */
void metrics_family(struct buf *b, const char *name, const char *type, const char *help);
/* Appends s as a label value's text, escaped (backslash, double quote, newline). */
void metrics_label_escape(struct buf *b, const char *s);
/* "name{l1="v1",...} value" and a newline; no braces without labels. */
void metrics_sample_u64(struct buf *b, const char *name, const struct metrics_label *labels,
                        size_t nlabels, uint64_t value);
void metrics_sample_double(struct buf *b, const char *name, const struct metrics_label *labels,
                           size_t nlabels, double value);
/* Appends v as Prometheus reads it: the shortest text that reads back as v, +Inf, -Inf, NaN. */
void metrics_double(struct buf *b, double v);

/* A histogram of durations. Zeroed is empty. */
struct metrics_histogram {
    _Atomic uint64_t bucket[METRICS_BUCKETS + 1]; /* the last: above every bound */
    _Atomic uint64_t sum_ns;
};
extern const uint64_t metrics_bucket_ns[METRICS_BUCKETS];
extern const char *const metrics_bucket_le[METRICS_BUCKETS];
void metrics_histogram_observe(struct metrics_histogram *h, uint64_t ns);
/* name_bucket{labels...,le="..."} cumulative counts up to le="+Inf", then name_sum (seconds)
 * and name_count (the +Inf figure). */
void metrics_histogram_render(struct buf *b, const char *name, const struct metrics_label *labels,
                              size_t nlabels, const struct metrics_histogram *h);

/* ---- the metrics listener ----------------------------------------------------------------- */

/* The longest request head the listener reads; a longer one is answered 431. */
#define METRICS_REQUEST_MAX 4096

/* Checks the request head at the start of buf[0..len) (at most max bytes are looked at). Returns
 * 0 while it may still become a whole head within max bytes, or the status to answer: 200 for
 * "GET /metrics" (a query string allowed) in HTTP/1.0 or 1.1 with a well-formed head, 404 for
 * another path, 405 for another method, 431 when no end of head came within max bytes, 400 for
 * anything malformed (at once, without waiting for the rest: a bad byte, a request line of
 * another form). */
int metrics_http_check(const char *buf, size_t len, size_t max);

/* WNC_METRICS_LISTEN parsed: off, a unix socket path, or a loopback address and port. */
enum metrics_listen_kind { METRICS_LISTEN_OFF, METRICS_LISTEN_UNIX, METRICS_LISTEN_TCP };
#define METRICS_LISTEN_PATH_MAX 108 /* sun_path, with the NUL */
struct metrics_listen {
    enum metrics_listen_kind kind;
    char path[METRICS_LISTEN_PATH_MAX]; /* METRICS_LISTEN_UNIX */
    int family;                         /* METRICS_LISTEN_TCP: AF_INET or AF_INET6 */
    unsigned char addr[16];             /* network order */
    int port;
};

/* Parses spec: "" (off); a unix socket path (any text with a '/', shorter than
 * METRICS_LISTEN_PATH_MAX); or 127.x.y.z:PORT or [::1]:PORT (a loopback address only: the
 * endpoint is internal; PORT 1 to 65535). Returns 0 and fills *out, or -1 with cause (cause_size
 * bytes) saying what is wrong. */
int metrics_listen_parse(const char *spec, struct metrics_listen *out, char *cause,
                         size_t cause_size);

#endif
