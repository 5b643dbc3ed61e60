#include "metrics.h"

#include <arpa/inet.h>
#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nchan.h"

#define RELAXED memory_order_relaxed

const char *const metrics_timer_kinds[METRICS_TIMER_KINDS] = {
    "presence", "typing", "sync", "linger", "wait", "unmute", "pflush", "verify"};

/* The kinds of sql/lib.lua's envelope() (docs/api.md), then "other". */
const char *const metrics_event_types[METRICS_EVENT_TYPES] = {
    "user.joined",     "user.left",    "user.promoted", "user.presence", "chat.message",
    "typing",          "video.set",    "video.play",    "video.pause",   "video.seek",
    "video.rate",      "video.sync",   "room.closed",   "heartbeat",     "queue.updated",
    "video.subtitles", "room.waiting", "reaction",      "room.settings", "user.demoted",
    "user.muted",      "user.renamed", "chat.deleted",  "other",
};
#define METRICS_EVENT_OTHER (METRICS_EVENT_TYPES - 1)
#define METRICS_EVENT_TYPE_MAX 32 /* the longest type name looked up */

static const char *const metrics_transports[METRICS_TRANSPORTS] = {"websocket", "eventsource",
                                                                   "longpoll"};
static const char *const metrics_redis_errors[METRICS_REDIS__MAX] = {
    [METRICS_REDIS_CONNECT] = "connect", [METRICS_REDIS_IO] = "io",
    [METRICS_REDIS_BUSY] = "busy",       [METRICS_REDIS_NOSCRIPT] = "noscript",
    [METRICS_REDIS_REPLY] = "reply",
};
static const char *const metrics_publish_kinds[METRICS_PUBLISH_KIND__MAX] = {"event", "close"};
static const char *const metrics_publish_outcomes[METRICS_PUBLISH_OUTCOME__MAX] = {
    "sent", "rejected", "dropped", "lost"};

/* 0.1 ms to 10 s, in the 1-2.5-5 steps Prometheus' own defaults use. */
const uint64_t metrics_bucket_ns[METRICS_BUCKETS] = {
    100000,   250000,    500000,    1000000,   2500000,    5000000,    10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};
const char *const metrics_bucket_le[METRICS_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10",
};

/* One route row: its names (set by the first request it serves: static strings, the same
 * every time), its counts by status slot, its durations. */
struct metrics_route {
    _Atomic(const char *) method;
    _Atomic(const char *) pattern;
    _Atomic uint64_t by_status[METRICS_STATUSES_MAX];
    struct metrics_histogram duration;
};

static struct {
    /* The status of each slot, 0 while free; taken once, in the order statuses first occur.
     * The last slot stands for any status seen when the others are taken. */
    _Atomic int status[METRICS_STATUSES_MAX];
    struct metrics_route route[METRICS_ROUTES_MAX];
    struct metrics_histogram redis;
    _Atomic uint64_t redis_errors[METRICS_REDIS__MAX];
    _Atomic long publish_queue;
    _Atomic uint64_t publish[METRICS_PUBLISH_KIND__MAX][METRICS_PUBLISH_OUTCOME__MAX];
    _Atomic uint64_t events[METRICS_EVENT_TYPES];
    _Atomic uint64_t subscriptions[METRICS_TRANSPORTS];
} metrics;

#define METRICS_STATUS_OTHER (METRICS_STATUSES_MAX - 1)

/* ---- observing ----------------------------------------------------------------------------- */

void metrics_histogram_observe(struct metrics_histogram *h, uint64_t ns)
{
    size_t i = 0;

    while (i < METRICS_BUCKETS && ns > metrics_bucket_ns[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, RELAXED);
    atomic_fetch_add_explicit(&h->sum_ns, ns, RELAXED);
}

/* The slot counting status: the one that holds it, else the first free one (taken with a
 * compare-and-swap, so two threads never take one slot for two statuses), else "other". */
static size_t metrics_status_slot(int status)
{
    for (size_t i = 0; i < METRICS_STATUS_OTHER; i++) {
        int seen = atomic_load_explicit(&metrics.status[i], RELAXED);
        if (seen == status)
            return i;
        if (seen == 0) {
            int expected = 0;
            if (atomic_compare_exchange_strong_explicit(&metrics.status[i], &expected, status,
                                                        RELAXED, RELAXED) ||
                expected == status)
                return i;
        }
    }
    return METRICS_STATUS_OTHER;
}

void metrics_request(size_t route, const char *method, const char *pattern, int status, uint64_t ns)
{
    struct metrics_route *r;

    if (route >= METRICS_ROUTES_MAX)
        route = METRICS_ROUTE_UNMATCHED;
    r = &metrics.route[route];
    /* A read first: the names are written once, not by every request. */
    if (route != METRICS_ROUTE_UNMATCHED && atomic_load_explicit(&r->pattern, RELAXED) == NULL) {
        atomic_store_explicit(&r->method, method, RELAXED);
        atomic_store_explicit(&r->pattern, pattern, RELAXED);
    }
    atomic_fetch_add_explicit(&r->by_status[metrics_status_slot(status)], 1, RELAXED);
    metrics_histogram_observe(&r->duration, ns);
}

void metrics_redis_call(uint64_t ns)
{
    metrics_histogram_observe(&metrics.redis, ns);
}

void metrics_redis_error(enum metrics_redis_error e)
{
    if ((unsigned)e < METRICS_REDIS__MAX)
        atomic_fetch_add_explicit(&metrics.redis_errors[e], 1, RELAXED);
}

void metrics_publish_queue(long delta)
{
    atomic_fetch_add_explicit(&metrics.publish_queue, delta, RELAXED);
}

void metrics_publish(enum metrics_publish_kind kind, enum metrics_publish_outcome outcome, size_t n)
{
    if ((unsigned)kind < METRICS_PUBLISH_KIND__MAX &&
        (unsigned)outcome < METRICS_PUBLISH_OUTCOME__MAX && n > 0)
        atomic_fetch_add_explicit(&metrics.publish[kind][outcome], n, RELAXED);
}

size_t metrics_event_type_index(const char *name)
{
    for (size_t i = 0; i < METRICS_EVENT_OTHER; i++)
        if (strcmp(metrics_event_types[i], name) == 0)
            return i;
    return METRICS_EVENT_TYPES;
}

size_t metrics_event_type(const char *json, size_t len)
{
    static const char key[] = "\"type\":\"";
    const size_t klen = sizeof(key) - 1;
    size_t scan = len < METRICS_EVENT_SCAN ? len : METRICS_EVENT_SCAN;
    char name[METRICS_EVENT_TYPE_MAX + 1];

    for (size_t i = 0; i + klen <= scan; i++) {
        if (memcmp(json + i, key, klen) != 0)
            continue;
        size_t start = i + klen, n = 0;
        while (start + n < scan && json[start + n] != '"' && n < METRICS_EVENT_TYPE_MAX) {
            name[n] = json[start + n];
            n++;
        }
        if (start + n >= scan || json[start + n] != '"')
            return METRICS_EVENT_OTHER; /* unterminated or too long */
        name[n] = '\0';
        size_t t = metrics_event_type_index(name);
        return t < METRICS_EVENT_TYPES ? t : METRICS_EVENT_OTHER;
    }
    return METRICS_EVENT_OTHER;
}

void metrics_event(const char *json, size_t len)
{
    atomic_fetch_add_explicit(&metrics.events[metrics_event_type(json, len)], 1, RELAXED);
}

uint64_t metrics_event_count(size_t type)
{
    return type < METRICS_EVENT_TYPES ? atomic_load_explicit(&metrics.events[type], RELAXED) : 0;
}

void metrics_subscription(unsigned transport)
{
    if (transport < METRICS_TRANSPORTS)
        atomic_fetch_add_explicit(&metrics.subscriptions[transport], 1, RELAXED);
}

void metrics_reset(void)
{
    memset(&metrics, 0, sizeof(metrics));
}

/* ---- the text format ----------------------------------------------------------------------- */

static void metrics_escape(struct buf *b, const char *s, int quote)
{
    for (const char *run = s;; s++) {
        const char *esc = *s == '\\'           ? "\\\\"
                          : *s == '\n'         ? "\\n"
                          : *s == '"' && quote ? "\\\""
                                               : NULL;
        if (esc == NULL && *s != '\0')
            continue;
        buf_append(b, run, (size_t)(s - run));
        if (*s == '\0')
            return;
        buf_puts(b, esc);
        run = s + 1;
    }
}

void metrics_label_escape(struct buf *b, const char *s)
{
    metrics_escape(b, s, 1);
}

void metrics_family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s ", name);
    metrics_escape(b, help, 0);
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

void metrics_double(struct buf *b, double v)
{
    char text[32];

    if (isnan(v)) {
        buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* An integer as one (%g would write 1796059800 as 1.7960598e+09); anything else as the
     * shortest %g that reads back as v. */
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
        snprintf(text, sizeof(text), "%.0f", v);
        buf_puts(b, text);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof(text), "%.*g", precision, v);
        if (strtod(text, NULL) == v)
            break;
    }
    buf_puts(b, text);
}

static void metrics_labels(struct buf *b, const struct metrics_label *labels, size_t nlabels,
                           const char *le)
{
    if (nlabels == 0 && le == NULL)
        return;
    buf_puts(b, "{");
    for (size_t i = 0; i < nlabels; i++) {
        buf_printf(b, "%s%s=\"", i ? "," : "", labels[i].name);
        metrics_label_escape(b, labels[i].value);
        buf_puts(b, "\"");
    }
    if (le != NULL)
        buf_printf(b, "%sle=\"%s\"", nlabels ? "," : "", le);
    buf_puts(b, "}");
}

void metrics_sample_u64(struct buf *b, const char *name, const struct metrics_label *labels,
                        size_t nlabels, uint64_t value)
{
    buf_puts(b, name);
    metrics_labels(b, labels, nlabels, NULL);
    buf_printf(b, " %llu\n", (unsigned long long)value);
}

void metrics_sample_double(struct buf *b, const char *name, const struct metrics_label *labels,
                           size_t nlabels, double value)
{
    buf_puts(b, name);
    metrics_labels(b, labels, nlabels, NULL);
    buf_puts(b, " ");
    metrics_double(b, value);
    buf_puts(b, "\n");
}

void metrics_histogram_render(struct buf *b, const char *name, const struct metrics_label *labels,
                              size_t nlabels, const struct metrics_histogram *h)
{
    uint64_t total = 0;

    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        total += atomic_load_explicit(&h->bucket[i], RELAXED);
        buf_printf(b, "%s_bucket", name);
        metrics_labels(b, labels, nlabels, i < METRICS_BUCKETS ? metrics_bucket_le[i] : "+Inf");
        buf_printf(b, " %llu\n", (unsigned long long)total);
    }
    buf_printf(b, "%s_sum", name);
    metrics_labels(b, labels, nlabels, NULL);
    buf_puts(b, " ");
    metrics_double(b, (double)atomic_load_explicit(&h->sum_ns, RELAXED) / 1e9);
    buf_printf(b, "\n%s_count", name);
    metrics_labels(b, labels, nlabels, NULL);
    buf_printf(b, " %llu\n", (unsigned long long)total);
}

/* ---- the exposition ------------------------------------------------------------------------ */

static uint64_t metrics_route_total(const struct metrics_route *r)
{
    uint64_t n = 0;

    for (size_t i = 0; i < METRICS_STATUSES_MAX; i++)
        n += atomic_load_explicit(&r->by_status[i], RELAXED);
    return n;
}

/* A route's method and route labels. */
static void metrics_route_labels(size_t i, struct metrics_label out[2])
{
    const struct metrics_route *r = &metrics.route[i];
    const char *method = atomic_load_explicit(&r->method, RELAXED);
    const char *pattern = atomic_load_explicit(&r->pattern, RELAXED);

    out[0] =
        (struct metrics_label){"method", i == METRICS_ROUTE_UNMATCHED || !method ? "any" : method};
    out[1] = (struct metrics_label){"route", i == METRICS_ROUTE_UNMATCHED || !pattern ? "unmatched"
                                                                                      : pattern};
}

static void metrics_render_requests(struct buf *b)
{
    size_t order[METRICS_STATUSES_MAX], n = 0;

    /* The status slots in the order of their codes, "other" last. */
    for (size_t i = 0; i < METRICS_STATUS_OTHER; i++)
        if (atomic_load_explicit(&metrics.status[i], RELAXED) != 0)
            order[n++] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && atomic_load_explicit(&metrics.status[order[j - 1]], RELAXED) >
                                        atomic_load_explicit(&metrics.status[order[j]], RELAXED);
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    order[n++] = METRICS_STATUS_OTHER;

    metrics_family(b, "wnc_http_requests_total", "counter",
                   "Requests the workers answered, by route pattern and status.");
    for (size_t i = 0; i < METRICS_ROUTES_MAX; i++) {
        struct metrics_label l[3];
        metrics_route_labels(i, l);
        for (size_t k = 0; k < n; k++) {
            uint64_t v = atomic_load_explicit(&metrics.route[i].by_status[order[k]], RELAXED);
            char status[16];
            if (v == 0)
                continue;
            if (order[k] == METRICS_STATUS_OTHER)
                snprintf(status, sizeof(status), "other");
            else
                snprintf(status, sizeof(status), "%d",
                         atomic_load_explicit(&metrics.status[order[k]], RELAXED));
            l[2] = (struct metrics_label){"status", status};
            metrics_sample_u64(b, "wnc_http_requests_total", l, 3, v);
        }
    }
    metrics_family(b, "wnc_http_request_duration_seconds", "histogram",
                   "Time from the request's dispatch to its answer, by route pattern.");
    for (size_t i = 0; i < METRICS_ROUTES_MAX; i++) {
        struct metrics_label l[2];
        if (metrics_route_total(&metrics.route[i]) == 0)
            continue;
        metrics_route_labels(i, l);
        metrics_histogram_render(b, "wnc_http_request_duration_seconds", l, 2,
                                 &metrics.route[i].duration);
    }
}

static void metrics_render_process(struct buf *b, const struct metrics_scrape *s)
{
    metrics_family(b, "wnc_redis_errors_total", "counter",
                   "Redis calls that failed, by kind (a script's own refusal is not one).");
    for (size_t i = 0; i < METRICS_REDIS__MAX; i++) {
        struct metrics_label l = {"error", metrics_redis_errors[i]};
        metrics_sample_u64(b, "wnc_redis_errors_total", &l, 1,
                           atomic_load_explicit(&metrics.redis_errors[i], RELAXED));
    }
    metrics_family(b, "wnc_redis_call_duration_seconds", "histogram",
                   "Redis calls (FCALL or command, reconnect and retry included).");
    metrics_histogram_render(b, "wnc_redis_call_duration_seconds", NULL, 0, &metrics.redis);

    long depth = atomic_load_explicit(&metrics.publish_queue, RELAXED);
    metrics_family(b, "wnc_publish_queue_depth", "gauge",
                   "Requests queued for nchan's publisher socket, not yet written.");
    metrics_sample_u64(b, "wnc_publish_queue_depth", NULL, 0, depth > 0 ? (uint64_t)depth : 0);
    metrics_family(b, "wnc_publish_requests_total", "counter",
                   "Requests to nchan's publisher (events, channel closes), by outcome.");
    for (size_t k = 0; k < METRICS_PUBLISH_KIND__MAX; k++)
        for (size_t o = 0; o < METRICS_PUBLISH_OUTCOME__MAX; o++) {
            struct metrics_label l[2] = {{"kind", metrics_publish_kinds[k]},
                                         {"outcome", metrics_publish_outcomes[o]}};
            metrics_sample_u64(b, "wnc_publish_requests_total", l, 2,
                               atomic_load_explicit(&metrics.publish[k][o], RELAXED));
        }

    metrics_family(b, "wnc_events_published_total", "counter",
                   "Events handed to nchan, by type and by the daemon that published them.");
    for (size_t t = 0; t < METRICS_EVENT_TYPES; t++) {
        struct metrics_label l[2] = {{"source", "worker"}, {"type", metrics_event_types[t]}};
        metrics_sample_u64(b, "wnc_events_published_total", l, 2,
                           atomic_load_explicit(&metrics.events[t], RELAXED));
    }
    for (size_t t = 0; s->pushd_seen && t < METRICS_EVENT_TYPES; t++) {
        struct metrics_label l[2] = {{"source", "pushd"}, {"type", metrics_event_types[t]}};
        metrics_sample_u64(b, "wnc_events_published_total", l, 2, s->pushd_events[t]);
    }

    metrics_family(b, "wnc_subscriptions_total", "counter",
                   "Subscriptions authorized and handed to nchan, by transport.");
    for (size_t i = 0; i < METRICS_TRANSPORTS; i++) {
        struct metrics_label l = {"transport", metrics_transports[i]};
        metrics_sample_u64(b, "wnc_subscriptions_total", &l, 1,
                           atomic_load_explicit(&metrics.subscriptions[i], RELAXED));
    }
    metrics_family(b, "wnc_worker_threads", "gauge", "FastCGI worker threads (WNC_WORKERS).");
    metrics_sample_u64(b, "wnc_worker_threads", NULL, 0,
                       s->worker_threads > 0 ? (uint64_t)s->worker_threads : 0);
    metrics_family(b, "wnc_process_start_time_seconds", "gauge",
                   "When wnc-fcgi started, in seconds since the epoch.");
    metrics_sample_double(b, "wnc_process_start_time_seconds", NULL, 0, s->start_time_s);
}

static void metrics_render_redis(struct buf *b, const struct metrics_scrape *s)
{
    metrics_family(b, "wnc_redis_up", "gauge",
                   "1 when this scrape read its figures from Redis, 0 when Redis did not answer.");
    metrics_sample_u64(b, "wnc_redis_up", NULL, 0, s->redis_up ? 1 : 0);
    if (!s->redis_up)
        return;
    metrics_family(b, "wnc_rooms_active", "gauge", "Rooms in the active-rooms index.");
    metrics_sample_u64(b, "wnc_rooms_active", NULL, 0,
                       s->rooms_active > 0 ? (uint64_t)s->rooms_active : 0);
    if (s->members_online >= 0) {
        metrics_family(b, "wnc_members_online", "gauge",
                       "Members with an open stream or a recent poll, over all active rooms.");
        metrics_sample_u64(b, "wnc_members_online", NULL, 0, (uint64_t)s->members_online);
    }
    metrics_family(b, "wnc_timers_pending", "gauge", "Entries waiting in a timer set, by kind.");
    for (size_t k = 0; k < METRICS_TIMER_KINDS; k++) {
        struct metrics_label l = {"kind", metrics_timer_kinds[k]};
        metrics_sample_u64(b, "wnc_timers_pending", &l, 1,
                           s->timers_pending[k] > 0 ? (uint64_t)s->timers_pending[k] : 0);
    }
    metrics_family(b, "wnc_timer_lag_seconds", "gauge",
                   "How long the oldest due entry of a timer set has waited for pushd, by kind "
                   "(0 when none is due).");
    for (size_t k = 0; k < METRICS_TIMER_KINDS; k++) {
        struct metrics_label l = {"kind", metrics_timer_kinds[k]};
        metrics_sample_double(b, "wnc_timer_lag_seconds", &l, 1, s->timer_lag_s[k]);
    }
    if (!s->pushd_seen)
        return;
    metrics_family(b, "wnc_pushd_timers_fired_total", "counter",
                   "Timer entries pushd claimed and ran, by kind (all pushd instances).");
    for (size_t k = 0; k < METRICS_TIMER_KINDS; k++) {
        struct metrics_label l = {"kind", metrics_timer_kinds[k]};
        metrics_sample_u64(b, "wnc_pushd_timers_fired_total", &l, 1, s->pushd_fired[k]);
    }
    metrics_family(b, "wnc_pushd_loop_lag_seconds", "gauge",
                   "The latest pushd wake-up past its planned time, at most, over pushd's last "
                   "report period.");
    metrics_sample_double(b, "wnc_pushd_loop_lag_seconds", NULL, 0, s->pushd_loop_lag_s);
    metrics_family(b, "wnc_pushd_tick_seconds", "gauge",
                   "pushd's longest tick (timers, heartbeats, sweeps) over its last report "
                   "period.");
    metrics_sample_double(b, "wnc_pushd_tick_seconds", NULL, 0, s->pushd_tick_s);
    metrics_family(b, "wnc_pushd_last_report_timestamp_seconds", "gauge",
                   "When pushd last reported its figures, in seconds since the epoch.");
    metrics_sample_double(b, "wnc_pushd_last_report_timestamp_seconds", NULL, 0,
                          s->pushd_reported_s);
}

/* nchan_stub_status's fields as metrics: the field, the metric, its type and help. */
static const struct metrics_nchan_row {
    const char *field, *name, *type, *help;
} metrics_nchan_rows[] = {
    {"total_published_messages", "wnc_nchan_messages_published_total", "counter",
     "Messages nchan accepted from publishers."},
    {"stored_messages", "wnc_nchan_messages_stored", "gauge",
     "Messages held in nchan's message buffers."},
    {"shared_memory_used", "wnc_nchan_shared_memory_used_bytes", "gauge",
     "nchan's shared memory in use."},
    {"shared_memory_limit", "wnc_nchan_shared_memory_limit_bytes", "gauge",
     "nchan's shared memory limit (nchan_max_reserved_memory)."},
    {"channels", "wnc_nchan_channels", "gauge", "Channels nchan holds."},
    {"subscribers", "wnc_nchan_subscribers", "gauge",
     "Subscribers connected to nchan (WebSocket, EventSource, long-poll), all workers."},
    {"redis_pending_commands", "wnc_nchan_redis_pending_commands", "gauge",
     "Commands nchan's Redis storage awaits answers to."},
    {"redis_connected_servers", "wnc_nchan_redis_connected_servers", "gauge",
     "Redis servers nchan's storage is connected to."},
    {"redis_unhealthy_upstreams", "wnc_nchan_redis_unhealthy_upstreams", "gauge",
     "Redis upstreams nchan's storage finds unhealthy."},
    {"total_redis_commands_sent", "wnc_nchan_redis_commands_sent_total", "counter",
     "Commands nchan's Redis storage sent."},
    {"total_interprocess_alerts_received", "wnc_nchan_interprocess_alerts_received_total",
     "counter", "Alerts nchan's worker processes received from one another."},
    {"interprocess_alerts_in_transit", "wnc_nchan_interprocess_alerts_in_transit", "gauge",
     "Interprocess alerts sent and not yet received."},
    {"interprocess_queued_alerts", "wnc_nchan_interprocess_queued_alerts", "gauge",
     "Interprocess alerts queued to be sent."},
    {"total_interprocess_send_delay", "wnc_nchan_interprocess_send_delay_seconds_total", "counter",
     "Time interprocess alerts waited to be sent."},
    {"total_interprocess_receive_delay", "wnc_nchan_interprocess_receive_delay_seconds_total",
     "counter", "Time interprocess alerts waited to be received."},
};

/* nchan's number: digits with an optional K, M or G (memory, in KiB steps). Returns 0 with *out
 * set, -1 for anything else. */
static int metrics_nchan_number(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);

    if (end == text || *text == '-' || *text == '+' || *text == ' ' || !isfinite(v))
        return -1;
    if (*end == 'K' || *end == 'k')
        v *= 1024, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        v *= 1024.0 * 1024 * 1024, end++;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* nchan_status_field's lookup, here so that this file links with buf.c alone. */
static const char *metrics_nchan_field(const struct nchan_status *n, const char *name)
{
    for (size_t i = 0; i < n->n && i < NCHAN_FIELDS_MAX; i++)
        if (strcmp(n->field[i].name, name) == 0)
            return n->field[i].value;
    return NULL;
}

static void metrics_render_nchan(struct buf *b, const struct nchan_status *n)
{
    int up = n != NULL && n->status == 200;

    metrics_family(b, "wnc_nchan_up", "gauge",
                   "1 when this scrape read nchan_stub_status on the publisher socket.");
    metrics_sample_u64(b, "wnc_nchan_up", NULL, 0, up ? 1 : 0);
    if (!up)
        return;
    for (size_t i = 0; i < sizeof(metrics_nchan_rows) / sizeof(metrics_nchan_rows[0]); i++) {
        const struct metrics_nchan_row *row = &metrics_nchan_rows[i];
        const char *text = metrics_nchan_field(n, row->field);
        double v;
        if (text == NULL || metrics_nchan_number(text, &v) != 0)
            continue;
        metrics_family(b, row->name, row->type, row->help);
        metrics_sample_double(b, row->name, NULL, 0, v);
    }
    const char *version = metrics_nchan_field(n, "nchan_version");
    if (version != NULL) {
        struct metrics_label l = {"version", version};
        metrics_family(b, "wnc_nchan_info", "gauge", "nchan's version, as a label.");
        metrics_sample_u64(b, "wnc_nchan_info", &l, 1, 1);
    }
}

void metrics_render(struct buf *b, const struct metrics_scrape *s)
{
    metrics_render_requests(b);
    metrics_render_process(b, s);
    metrics_render_redis(b, s);
    metrics_render_nchan(b, s->nchan);
    metrics_family(b, "wnc_scrape_duration_seconds", "gauge",
                   "How long this scrape took to read Redis and nchan.");
    metrics_sample_double(b, "wnc_scrape_duration_seconds", NULL, 0, s->scrape_duration_s);
}

/* ---- the listener's request check ---------------------------------------------------------- */

/* A byte of a request head: visible ASCII, space, tab, CR, LF. */
static int metrics_head_byte(unsigned char c)
{
    return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n';
}

/* The request line buf[0..n) (without its line end): the status it earns once the head is
 * whole, or 400. */
static int metrics_request_line(const char *line, size_t n)
{
    const char *sp1 = memchr(line, ' ', n), *sp2, *target, *end = line + n;
    size_t tlen;

    if (sp1 == NULL || sp1 == line)
        return 400;
    for (const char *c = line; c < sp1; c++)
        if (*c < 'A' || *c > 'Z')
            return 400;
    target = sp1 + 1;
    sp2 = memchr(target, ' ', (size_t)(end - target));
    if (sp2 == NULL || sp2 == target || *target != '/')
        return 400;
    if (end - (sp2 + 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
        (sp2[8] != '0' && sp2[8] != '1'))
        return 400;
    tlen = (size_t)(sp2 - target);
    for (const char *c = target; c < sp2; c++)
        if (*c == '\t')
            return 400;
    if (sp1 - line != 3 || memcmp(line, "GET", 3) != 0)
        return 405;
    if ((tlen == 8 || (tlen > 8 && target[8] == '?')) && memcmp(target, "/metrics", 8) == 0)
        return 200;
    return 404;
}

int metrics_http_check(const char *buf, size_t len, size_t max)
{
    size_t line_start = 0, request_line = 0; /* request_line: its length, 0 until it ended */

    if (len > max)
        len = max;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (!metrics_head_byte(c))
            return 400;
        if (c != '\n')
            continue;
        size_t end = i > line_start && buf[i - 1] == '\r' ? i - 1 : i;
        if (request_line == 0) {
            /* The request line: refused at once when malformed. */
            if (metrics_request_line(buf, end) == 400)
                return 400;
            request_line = end;
        } else if (end == line_start) {
            /* An empty line: the end of the head. */
            return metrics_request_line(buf, request_line);
        } else {
            /* A header line: a name of at least one byte (no leading white space: no
             * obsolete folding), then a colon. */
            const char *colon = memchr(buf + line_start, ':', end - line_start);
            if (colon == NULL || colon == buf + line_start || buf[line_start] == ' ' ||
                buf[line_start] == '\t')
                return 400;
        }
        line_start = i + 1;
    }
    return len >= max ? 431 : 0;
}

/* ---- WNC_METRICS_LISTEN -------------------------------------------------------------------- */

static int metrics_listen_fail(char *cause, size_t size, const char *why)
{
    if (size > 0)
        snprintf(cause, size, "%s", why);
    return -1;
}

int metrics_listen_parse(const char *spec, struct metrics_listen *out, char *cause,
                         size_t cause_size)
{
    struct metrics_listen l;
    char host[64];
    const char *port_text;
    size_t host_len;

    memset(&l, 0, sizeof(l));
    if (*spec == '\0') {
        *out = l;
        return 0;
    }
    if (strchr(spec, '/') != NULL) {
        if (strlen(spec) >= sizeof(l.path))
            return metrics_listen_fail(cause, cause_size, "the socket path is too long");
        l.kind = METRICS_LISTEN_UNIX;
        strcpy(l.path, spec);
        *out = l;
        return 0;
    }
    if (*spec == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return metrics_listen_fail(cause, cause_size, "expected [::1]:PORT");
        host_len = (size_t)(close - spec - 1);
        if (host_len >= sizeof(host))
            return metrics_listen_fail(cause, cause_size, "not an address");
        memcpy(host, spec + 1, host_len);
        host[host_len] = '\0';
        port_text = close + 2;
        l.family = AF_INET6;
        if (inet_pton(AF_INET6, host, l.addr) != 1)
            return metrics_listen_fail(cause, cause_size, "not an IPv6 address");
        static const unsigned char loopback6[16] = {[15] = 1};
        if (memcmp(l.addr, loopback6, 16) != 0)
            return metrics_listen_fail(cause, cause_size,
                                       "only the loopback address ::1 is allowed (the endpoint "
                                       "is internal)");
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon == NULL)
            return metrics_listen_fail(cause, cause_size,
                                       "expected a unix socket path (with a '/'), 127.0.0.1:PORT "
                                       "or [::1]:PORT");
        host_len = (size_t)(colon - spec);
        if (host_len >= sizeof(host))
            return metrics_listen_fail(cause, cause_size, "not an address");
        memcpy(host, spec, host_len);
        host[host_len] = '\0';
        port_text = colon + 1;
        l.family = AF_INET;
        if (inet_pton(AF_INET, host, l.addr) != 1)
            return metrics_listen_fail(cause, cause_size,
                                       "expected a unix socket path (with a '/'), 127.0.0.1:PORT "
                                       "or [::1]:PORT");
        if (l.addr[0] != 127)
            return metrics_listen_fail(cause, cause_size,
                                       "only a loopback address (127.0.0.0/8) is allowed (the "
                                       "endpoint is internal)");
    }
    size_t digits = strspn(port_text, "0123456789");
    if (digits == 0 || digits > 5 || port_text[digits] != '\0' || atoi(port_text) < 1 ||
        atoi(port_text) > 65535)
        return metrics_listen_fail(cause, cause_size, "the port must be 1 to 65535");
    l.kind = METRICS_LISTEN_TCP;
    l.port = atoi(port_text);
    *out = l;
    return 0;
}
