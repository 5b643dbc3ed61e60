/* metrics.c: the exposition text byte for byte (HELP and TYPE lines, label escaping, numbers),
 * histograms (cumulative buckets, +Inf, _sum, _count), the registry's families after known
 * observations, counts from several threads at once, event types, nchan's figures, the metrics
 * listener's request check (a table, every prefix, random bytes) and WNC_METRICS_LISTEN. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"
#include "nchan.h"
#include "unit.h"

/* The lines of family name in text (its HELP line up to the next family's), as a new string
 * ("" when absent). */
static char *family_block(const char *text, const char *name)
{
    char head[160];
    const char *start, *end;

    snprintf(head, sizeof(head), "# HELP %s ", name);
    if ((start = strstr(text, head)) == NULL)
        return strdup("");
    end = strstr(start + strlen(head), "# HELP ");
    if (end == NULL)
        end = start + strlen(start);
    return strndup(start, (size_t)(end - start));
}

static void check_block(const char *text, const char *name, const char *expect, unsigned line)
{
    char *got = family_block(text, name);

    unit_check(strcmp(got, expect) == 0, line, __FILE__, "family %s:\n--- got\n%s--- expected\n%s",
               name, got, expect);
    free(got);
}
#define CHECK_BLOCK(text, name, expect) check_block(text, name, expect, __LINE__)

static void test_text_pieces(void)
{
    struct buf b = {0};
    struct metrics_label l[2] = {{"path", "a\\b\"c\nd"}, {"empty", ""}};

    metrics_family(&b, "wnc_x_total", "counter",
                   "Help with a \\ backslash,\na newline and \"quotes\".");
    metrics_sample_u64(&b, "wnc_x_total", l, 2, 18446744073709551615ULL);
    metrics_sample_u64(&b, "wnc_x_total", NULL, 0, 0);
    CU_ASSERT_STRING_EQUAL(b.data,
                           "# HELP wnc_x_total Help with a \\\\ backslash,\\na newline and "
                           "\"quotes\".\n"
                           "# TYPE wnc_x_total counter\n"
                           "wnc_x_total{path=\"a\\\\b\\\"c\\nd\",empty=\"\"} 18446744073709551615\n"
                           "wnc_x_total 0\n");
    buf_free(&b);

    static const struct {
        double v;
        const char *text;
    } numbers[] = {
        {0, "0"},
        {1, "1"},
        {-2.5, "-2.5"},
        {0.25, "0.25"},
        {0.0001, "0.0001"},
        {12288, "12288"},
        {1796059877.468, "1796059877.468"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e300, "1e+300"},
        {1796059800, "1796059800"},
        {-0.0, "-0"},
        {1e-7, "1e-07"},
        {1.0 / 0.0, "+Inf"},
        {-1.0 / 0.0, "-Inf"},
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        metrics_double(&b, numbers[i].v);
        UNIT_CHECK(strcmp(b.data, numbers[i].text) == 0, "%.17g gave %s, expected %s", numbers[i].v,
                   b.data, numbers[i].text);
        buf_reset(&b);
    }
    metrics_double(&b, 0.0 / 0.0);
    CU_ASSERT_STRING_EQUAL(b.data, "NaN");
    buf_reset(&b);
    metrics_sample_double(&b, "wnc_y", NULL, 0, 1.5);
    CU_ASSERT_STRING_EQUAL(b.data, "wnc_y 1.5\n");
    buf_free(&b);
}

static void test_histogram(void)
{
    static struct metrics_histogram h; /* zeroed: empty */
    struct metrics_label l = {"route", "/x"};
    struct buf b = {0};

    /* A bound is inclusive (le): 100 us is in the first bucket, 100.001 us in the second. */
    metrics_histogram_observe(&h, 0);
    metrics_histogram_observe(&h, 100000);
    metrics_histogram_observe(&h, 100001);
    metrics_histogram_observe(&h, 3000000);     /* 3 ms: le 0.005 */
    metrics_histogram_observe(&h, 10000000000); /* 10 s: the last bound */
    metrics_histogram_observe(&h, 25000000000); /* 25 s: +Inf only */
    metrics_histogram_render(&b, "wnc_d_seconds", &l, 1, &h);
    CU_ASSERT_STRING_EQUAL(b.data, "wnc_d_seconds_bucket{route=\"/x\",le=\"0.0001\"} 2\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.00025\"} 3\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.0005\"} 3\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.001\"} 3\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.0025\"} 3\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.005\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.01\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.025\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.05\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.1\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.25\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"0.5\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"1\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"2.5\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"5\"} 4\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"10\"} 5\n"
                                   "wnc_d_seconds_bucket{route=\"/x\",le=\"+Inf\"} 6\n"
                                   "wnc_d_seconds_sum{route=\"/x\"} 35.003200001\n"
                                   "wnc_d_seconds_count{route=\"/x\"} 6\n");
    buf_reset(&b);
    /* Without labels, le alone; the bounds' text is what they are in ns. */
    static struct metrics_histogram empty;
    metrics_histogram_render(&b, "wnc_e_seconds", NULL, 0, &empty);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "wnc_e_seconds_bucket{le=\"0.0001\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "wnc_e_seconds_bucket{le=\"+Inf\"} 0\n"
                                          "wnc_e_seconds_sum 0\nwnc_e_seconds_count 0\n"));
    for (size_t i = 0; i < METRICS_BUCKETS; i++)
        UNIT_CHECK(strtod(metrics_bucket_le[i], NULL) * 1e9 == (double)metrics_bucket_ns[i] &&
                       (i == 0 || metrics_bucket_ns[i] > metrics_bucket_ns[i - 1]),
                   "bucket %zu: le %s, %llu ns", i, metrics_bucket_le[i],
                   (unsigned long long)metrics_bucket_ns[i]);
    buf_free(&b);
}

static void test_event_types(void)
{
    static const struct {
        const char *json;
        const char *type;
    } rows[] = {
        {"{\"type\":\"chat.message\",\"seq\":3,\"at\":1,\"data\":{}}", "chat.message"},
        {"{\"type\":\"video.sync\",\"seq\":1}", "video.sync"},
        {"{\"type\":\"heartbeat\"}", "heartbeat"},
        {"{\"seq\":1,\"type\":\"room.closed\"}", "room.closed"},
        {"{\"type\":\"user.hacked\",\"seq\":1}", "other"},
        {"{\"type\":\"chat.message", "other"},  /* unterminated */
        {"{\"type\":chat.message\"}", "other"}, /* not a string */
        {"{\"seq\":1}", "other"},               /* none */
        {"", "other"},
        {"{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
         "other"}, /* too long */
        /* Past the scan limit: not looked for. */
        {"{\"data\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"type\":"
         "\"typing\"}",
         "other"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t t = metrics_event_type(rows[i].json, strlen(rows[i].json));
        UNIT_CHECK(t < METRICS_EVENT_TYPES && strcmp(metrics_event_types[t], rows[i].type) == 0,
                   "row %zu: %s", i, t < METRICS_EVENT_TYPES ? metrics_event_types[t] : "?");
    }
    /* The length bounds the read: a type cut by len is not one. */
    const char *env = "{\"type\":\"typing\",\"seq\":1}";
    CU_ASSERT_STRING_EQUAL(metrics_event_types[metrics_event_type(env, 12)], "other");
    CU_ASSERT_STRING_EQUAL(metrics_event_types[metrics_event_type(env, 16)], "typing");
    CU_ASSERT_EQUAL(metrics_event_type_index("video.rate"), 10);
    CU_ASSERT_EQUAL(metrics_event_type_index("other"), METRICS_EVENT_TYPES);
    CU_ASSERT_EQUAL(metrics_event_type_index("nope"), METRICS_EVENT_TYPES);
}

static const char REQUESTS_EXPECTED[] =
    "# HELP wnc_http_requests_total Requests the workers answered, by route pattern and status.\n"
    "# TYPE wnc_http_requests_total counter\n"
    "wnc_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2\n"
    "wnc_http_requests_total{method=\"POST\",route=\"/api/rooms\",status=\"201\"} 1\n"
    "wnc_http_requests_total{method=\"POST\",route=\"/api/rooms\",status=\"400\"} 1\n"
    "wnc_http_requests_total{method=\"any\",route=\"unmatched\",status=\"404\"} 1\n"
    "wnc_http_requests_total{method=\"any\",route=\"unmatched\",status=\"405\"} 1\n";

/* A scrape with figures from everywhere, for the exact families. */
static void full_scrape(struct metrics_scrape *s, struct nchan_status *n)
{
    static const char stub[] = "total published messages: 7\nstored messages: 3\n"
                               "shared memory used: 16K\nshared memory limit: 65536K\n"
                               "channels: 2\nsubscribers: 5\nredis pending commands: 0\n"
                               "total interprocess send delay: 1.5\nodd field: 12X\n"
                               "nchan version: 1.3.6\n";

    memset(s, 0, sizeof(*s));
    memset(n, 0, sizeof(*n));
    n->status = 200;
    nchan_status_parse(stub, sizeof(stub) - 1, n);
    s->redis_up = 1;
    s->rooms_active = 3;
    s->timers_pending[0] = 4;
    s->timers_pending[2] = 1;
    s->timer_lag_s[0] = 0.25;
    s->pushd_seen = 1;
    s->pushd_fired[2] = 9;
    s->pushd_events[metrics_event_type_index("video.sync")] = 9;
    s->pushd_loop_lag_s = 0.003;
    s->pushd_tick_s = 0.012;
    s->pushd_reported_s = 1796059877.5;
    s->nchan = n;
    s->worker_threads = 4;
    s->start_time_s = 1796059800;
    s->scrape_duration_s = 0.002;
}

static void test_registry_render(void)
{
    struct metrics_scrape s;
    struct nchan_status n;
    struct buf b = {0};

    metrics_reset();
    /* Statuses taken in another order than their codes: rendered sorted. */
    metrics_request(METRICS_ROUTE_UNMATCHED, "DELETE", "/nope", 405, 1000);
    metrics_request(1, "POST", "/api/rooms", 400, 200000);
    metrics_request(0, "GET", "/health", 200, 50000);
    metrics_request(0, "GET", "/health", 200, 150000);
    metrics_request(1, "POST", "/api/rooms", 201, 2000000);
    metrics_request(METRICS_ROUTE_UNMATCHED, NULL, NULL, 404, 1000);
    metrics_redis_call(300000);
    metrics_redis_error(METRICS_REDIS_IO);
    metrics_redis_error(METRICS_REDIS_IO);
    metrics_publish_queue(3);
    metrics_publish_queue(-1);
    metrics_publish(METRICS_PUBLISH_EVENT, METRICS_PUBLISH_SENT, 5);
    metrics_publish(METRICS_PUBLISH_CLOSE, METRICS_PUBLISH_LOST, 1);
    const char *joined = "{\"type\":\"user.joined\"}", *weird = "{\"type\":\"weird\"}";
    metrics_event(joined, strlen(joined));
    metrics_event(weird, strlen(weird));
    metrics_subscription(0);
    metrics_subscription(2);
    metrics_subscription(2);
    metrics_subscription(7); /* out of range: ignored */
    full_scrape(&s, &n);
    metrics_render(&b, &s);

    CHECK_BLOCK(b.data, "wnc_http_requests_total", REQUESTS_EXPECTED);
    char *hist = family_block(b.data, "wnc_http_request_duration_seconds");
    CU_ASSERT_PTR_NOT_NULL(strstr(hist, "# TYPE wnc_http_request_duration_seconds histogram\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hist, "wnc_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\","
                     "le=\"0.0001\"} 1\n"
                     "wnc_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\","
                     "le=\"0.00025\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        hist, "wnc_http_request_duration_seconds_sum{method=\"GET\",route=\"/health\"} 0.0002\n"
              "wnc_http_request_duration_seconds_count{method=\"GET\",route=\"/health\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        hist, "wnc_http_request_duration_seconds_count{method=\"any\",route=\"unmatched\"} 2\n"));
    free(hist);
    CHECK_BLOCK(b.data, "wnc_redis_errors_total",
                "# HELP wnc_redis_errors_total Redis calls that failed, by kind (a script's own "
                "refusal is not one).\n"
                "# TYPE wnc_redis_errors_total counter\n"
                "wnc_redis_errors_total{error=\"connect\"} 0\n"
                "wnc_redis_errors_total{error=\"io\"} 2\n"
                "wnc_redis_errors_total{error=\"busy\"} 0\n"
                "wnc_redis_errors_total{error=\"noscript\"} 0\n"
                "wnc_redis_errors_total{error=\"reply\"} 0\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data,
                                  "wnc_redis_call_duration_seconds_bucket{le=\"0.0005\"} 1\n"
                                  "wnc_redis_call_duration_seconds_bucket{le=\"0.001\"} 1\n"));
    CHECK_BLOCK(b.data, "wnc_publish_queue_depth",
                "# HELP wnc_publish_queue_depth Requests queued for nchan's publisher socket, not "
                "yet written.\n"
                "# TYPE wnc_publish_queue_depth gauge\n"
                "wnc_publish_queue_depth 2\n");
    CHECK_BLOCK(b.data, "wnc_publish_requests_total",
                "# HELP wnc_publish_requests_total Requests to nchan's publisher (events, channel "
                "closes), by outcome.\n"
                "# TYPE wnc_publish_requests_total counter\n"
                "wnc_publish_requests_total{kind=\"event\",outcome=\"sent\"} 5\n"
                "wnc_publish_requests_total{kind=\"event\",outcome=\"rejected\"} 0\n"
                "wnc_publish_requests_total{kind=\"event\",outcome=\"dropped\"} 0\n"
                "wnc_publish_requests_total{kind=\"event\",outcome=\"lost\"} 0\n"
                "wnc_publish_requests_total{kind=\"close\",outcome=\"sent\"} 0\n"
                "wnc_publish_requests_total{kind=\"close\",outcome=\"rejected\"} 0\n"
                "wnc_publish_requests_total{kind=\"close\",outcome=\"dropped\"} 0\n"
                "wnc_publish_requests_total{kind=\"close\",outcome=\"lost\"} 1\n");
    char *events = family_block(b.data, "wnc_events_published_total");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(events, "wnc_events_published_total{source=\"worker\",type=\"user.joined\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(events, "wnc_events_published_total{source=\"worker\",type=\"other\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(events, "wnc_events_published_total{source=\"pushd\",type=\"video.sync\"} 9\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(events, "wnc_events_published_total{source=\"worker\",type=\"video.sync\"} 0\n"));
    free(events);
    CHECK_BLOCK(b.data, "wnc_subscriptions_total",
                "# HELP wnc_subscriptions_total Subscriptions authorized and handed to nchan, by "
                "transport.\n"
                "# TYPE wnc_subscriptions_total counter\n"
                "wnc_subscriptions_total{transport=\"websocket\"} 1\n"
                "wnc_subscriptions_total{transport=\"eventsource\"} 0\n"
                "wnc_subscriptions_total{transport=\"longpoll\"} 2\n");
    CHECK_BLOCK(b.data, "wnc_timers_pending",
                "# HELP wnc_timers_pending Entries waiting in a timer set, by kind.\n"
                "# TYPE wnc_timers_pending gauge\n"
                "wnc_timers_pending{kind=\"presence\"} 4\n"
                "wnc_timers_pending{kind=\"typing\"} 0\n"
                "wnc_timers_pending{kind=\"sync\"} 1\n"
                "wnc_timers_pending{kind=\"linger\"} 0\n"
                "wnc_timers_pending{kind=\"wait\"} 0\n"
                "wnc_timers_pending{kind=\"unmute\"} 0\n"
                "wnc_timers_pending{kind=\"pflush\"} 0\n"
                "wnc_timers_pending{kind=\"verify\"} 0\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "wnc_timer_lag_seconds{kind=\"presence\"} 0.25\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "wnc_pushd_timers_fired_total{kind=\"sync\"} 9\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_pushd_loop_lag_seconds 0.003\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_pushd_tick_seconds 0.012\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "\nwnc_pushd_last_report_timestamp_seconds 1796059877.5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_rooms_active 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_worker_threads 4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_process_start_time_seconds 1796059800\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_scrape_duration_seconds 0.002\n"));
    /* nchan's figures: K is KiB, a field nchan does not have is left out, an odd one too. */
    CHECK_BLOCK(b.data, "wnc_nchan_shared_memory_used_bytes",
                "# HELP wnc_nchan_shared_memory_used_bytes nchan's shared memory in use.\n"
                "# TYPE wnc_nchan_shared_memory_used_bytes gauge\n"
                "wnc_nchan_shared_memory_used_bytes 16384\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_nchan_shared_memory_limit_bytes 67108864\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_nchan_messages_published_total 7\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "# TYPE wnc_nchan_messages_published_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_nchan_subscribers 5\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "\nwnc_nchan_interprocess_send_delay_seconds_total 1.5\n"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "wnc_nchan_redis_connected_servers"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "odd"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_nchan_up 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_nchan_info{version=\"1.3.6\"} 1\n"));
    buf_free(&b);

    /* Nothing from Redis or nchan: their up gauges say 0 and their figures are left out. */
    memset(&s, 0, sizeof(s));
    metrics_render(&b, &s);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_redis_up 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_nchan_up 0\n"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "wnc_rooms_active"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "wnc_timers_pending"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "source=\"pushd\""));
    CU_ASSERT_PTR_NULL(strstr(b.data, "wnc_nchan_channels"));
    buf_free(&b);
    metrics_reset();
}

/* Every line of an exposition is a HELP, a TYPE, or a sample of the family last typed, and no
 * family comes twice (the format's grouping rule). */
static void test_exposition_shape(void)
{
    struct metrics_scrape s;
    struct nchan_status n;
    struct buf b = {0};
    char family[128] = "", type[16] = "", seen[8192] = " ";
    int lines = 0;

    metrics_reset();
    metrics_request(2, "GET", "/api/rooms/{room}", 404, 1);
    full_scrape(&s, &n);
    metrics_render(&b, &s);
    CU_ASSERT_EQUAL_FATAL(b.data[b.len - 1], '\n');
    for (char *line = b.data, *eol; *line != '\0'; line = eol + 1) {
        eol = strchr(line, '\n');
        *eol = '\0';
        lines++;
        if (strncmp(line, "# HELP ", 7) == 0) {
            char name[128], key[132];
            UNIT_CHECK(sscanf(line + 7, "%127s", name) == 1, "%s", line);
            snprintf(key, sizeof(key), " %s ", name);
            UNIT_CHECK(strstr(seen, key) == NULL, "family %s twice", name);
            if (strlen(seen) + strlen(key) < sizeof(seen))
                strcat(seen, key + 1);
            snprintf(family, sizeof(family), "%s", name);
            *type = '\0';
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128];
            UNIT_CHECK(sscanf(line + 7, "%127s %15s", name, type) == 2 && strcmp(name, family) == 0,
                       "%s", line);
            UNIT_CHECK(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                           strcmp(type, "histogram") == 0,
                       "%s", line);
        } else {
            const char *suffix = line + strlen(family);
            const char *value = strrchr(line, ' ');
            char *end;
            UNIT_CHECK(*type != '\0' && strncmp(line, family, strlen(family)) == 0, "%s", line);
            if (strcmp(type, "histogram") == 0)
                UNIT_CHECK(strncmp(suffix, "_bucket{", 8) == 0 || strncmp(suffix, "_sum", 4) == 0 ||
                               strncmp(suffix, "_count", 6) == 0,
                           "%s", line);
            else
                UNIT_CHECK(*suffix == '{' || *suffix == ' ', "%s", line);
            UNIT_CHECK(value != NULL && (strtod(value + 1, &end), *end == '\0'), "%s", line);
            UNIT_CHECK(strcmp(type, "counter") != 0 || strstr(family, "_total") != NULL, "%s",
                       line);
        }
        *eol = '\n';
    }
    CU_ASSERT_TRUE(lines > 100);
    buf_free(&b);
    metrics_reset();
}

/* Counts from several threads add up exactly (the workers share one registry). */
#define THREADS 8
#define PER_THREAD 20000
static void *hammer(void *arg)
{
    size_t id = (size_t)(uintptr_t)arg;

    for (int i = 0; i < PER_THREAD; i++) {
        metrics_request(id % 2, "GET", id % 2 ? "/b" : "/a", 200 + (i % 3), (uint64_t)i * 1000);
        metrics_redis_call(5000);
        metrics_publish_queue(1);
        metrics_publish_queue(-1);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[THREADS];
    struct metrics_scrape s;
    struct buf b = {0};
    char line[160];

    metrics_reset();
    for (size_t i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)i), 0);
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    memset(&s, 0, sizeof(s));
    metrics_render(&b, &s);
    /* Per route: THREADS/2 threads, a third of their requests at each status. */
    for (int status = 200; status <= 202; status++) {
        int n = THREADS / 2 * (PER_THREAD / 3 + (status - 200 < PER_THREAD % 3));
        snprintf(line, sizeof(line),
                 "wnc_http_requests_total{method=\"GET\",route=\"/a\",status=\"%d\"} %d\n", status,
                 n);
        UNIT_CHECK(strstr(b.data, line) != NULL, "missing %s", line);
    }
    snprintf(line, sizeof(line),
             "wnc_http_request_duration_seconds_count{method=\"GET\",route=\"/b\"} %d\n",
             THREADS / 2 * PER_THREAD);
    UNIT_CHECK(strstr(b.data, line) != NULL, "missing %s", line);
    snprintf(line, sizeof(line), "wnc_redis_call_duration_seconds_count %d\n",
             THREADS * PER_THREAD);
    UNIT_CHECK(strstr(b.data, line) != NULL, "missing %s", line);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nwnc_publish_queue_depth 0\n"));
    buf_free(&b);
    metrics_reset();
}

/* More distinct statuses than slots: the rest count as status="other". */
static void test_status_overflow(void)
{
    struct metrics_scrape s;
    struct buf b = {0};
    char line[128];

    metrics_reset();
    for (int i = 0; i < METRICS_STATUSES_MAX + 5; i++)
        metrics_request(0, "GET", "/health", 500 + i, 1);
    memset(&s, 0, sizeof(s));
    metrics_render(&b, &s);
    for (int i = 0; i < METRICS_STATUSES_MAX - 1; i++) {
        snprintf(line, sizeof(line), "status=\"%d\"} 1\n", 500 + i);
        UNIT_CHECK(strstr(b.data, line) != NULL, "missing %s", line);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "route=\"/health\",status=\"other\"} 6\n"));
    buf_free(&b);
    metrics_reset();
}

static void test_nchan_parse(void)
{
    static const char text[] = "total published messages: 12\r\nchannels:3\nBad-Line: x\n"
                               "no colon here\nnchan version: 1.3.6 \n: empty name\n";
    struct nchan_status n;

    memset(&n, 0, sizeof(n));
    nchan_status_parse(text, sizeof(text) - 1, &n);
    CU_ASSERT_EQUAL(n.n, 3);
    CU_ASSERT_STRING_EQUAL(nchan_status_field(&n, "total_published_messages"), "12");
    CU_ASSERT_STRING_EQUAL(nchan_status_field(&n, "channels"), "3");
    CU_ASSERT_STRING_EQUAL(nchan_status_field(&n, "nchan_version"), "1.3.6");
    CU_ASSERT_PTR_NULL(nchan_status_field(&n, "bad-line"));
}

static void test_http_check(void)
{
    static const struct {
        const char *head;
        int status;
    } rows[] = {
        {"GET /metrics HTTP/1.0\r\n\r\n", 200},
        {"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nAccept: */*\r\n\r\n", 200},
        {"GET /metrics?name[]=x HTTP/1.1\r\nHost: a\r\n\r\n", 200},
        {"GET /metrics HTTP/1.0\n\n", 200},
        {"GET /metrics HTTP/1.0\r\nX:\r\n\r\n", 200},
        {"GET /metricsx HTTP/1.0\r\n\r\n", 404},
        {"GET / HTTP/1.0\r\n\r\n", 404},
        {"GET /metrics/ HTTP/1.0\r\n\r\n", 404},
        {"GET /status HTTP/1.1\r\nHost: a\r\n\r\n", 404},
        {"POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 405},
        {"HEAD /metrics HTTP/1.0\r\n\r\n", 405},
        {"DELETE /x HTTP/1.1\r\n\r\n", 405},
        {"get /metrics HTTP/1.0\r\n\r\n", 400},
        {"GET /metrics HTTP/2.0\r\n\r\n", 400},
        {"GET /metrics HTTP/1.0 \r\n\r\n", 400},
        {"GET metrics HTTP/1.0\r\n\r\n", 400},
        {"GET  /metrics HTTP/1.0\r\n\r\n", 400},
        {"GET /metrics\r\n\r\n", 400},
        {"\r\nGET /metrics HTTP/1.0\r\n\r\n", 400},
        {"GET /metrics HTTP/1.0\r\nno colon\r\n\r\n", 400},
        {"GET /metrics HTTP/1.0\r\n: no name\r\n\r\n", 400},
        {"GET /metrics HTTP/1.0\r\nA: b\r\n folded\r\n\r\n", 400},
        {"GET /metrics HTTP/1.0\r\nA: \x01\r\n\r\n", 400},
        {"GET /met\x80rics HTTP/1.0\r\n\r\n", 400},
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400}, /* a TLS hello */
        {"GET /metrics HTTP/1.0\r\n", 0},
        {"GET /metrics HTTP/1.0\r\nHost: a\r\n", 0},
        {"GET /metr", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int got = metrics_http_check(rows[i].head, strlen(rows[i].head), METRICS_REQUEST_MAX);
        UNIT_CHECK(got == rows[i].status, "row %zu: %d, expected %d", i, got, rows[i].status);
        /* A whole head that is not refused at once: each prefix short of its end asks for
         * more. */
        const char *end = strstr(rows[i].head, "\r\n\r\n");
        size_t head_len = end != NULL ? (size_t)(end - rows[i].head) + 4 : 0;
        if (end == NULL && (end = strstr(rows[i].head, "\n\n")) != NULL)
            head_len = (size_t)(end - rows[i].head) + 2;
        for (size_t n = 0; rows[i].status != 400 && n < head_len; n++) {
            int p = metrics_http_check(rows[i].head, n, METRICS_REQUEST_MAX);
            UNIT_CHECK(p == 0, "row %zu, prefix %zu: %d", i, n, p);
        }
    }

    /* No end of head within max bytes: 431, whatever the max; one byte less asks for more. */
    char big[METRICS_REQUEST_MAX + 100];
    memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
    memset(big + 26, 'a', sizeof(big) - 26);
    CU_ASSERT_EQUAL(metrics_http_check(big, sizeof(big), METRICS_REQUEST_MAX), 431);
    CU_ASSERT_EQUAL(metrics_http_check(big, METRICS_REQUEST_MAX, METRICS_REQUEST_MAX), 431);
    CU_ASSERT_EQUAL(metrics_http_check(big, METRICS_REQUEST_MAX - 1, METRICS_REQUEST_MAX), 0);
    CU_ASSERT_EQUAL(metrics_http_check(big, 64, 64), 431);

    /* Random bytes: one of the answers, the same each time. */
    srand(1234);
    for (int round = 0; round < 20000; round++) {
        char buf[96];
        size_t len = (size_t)rand() % sizeof(buf);
        const char *alphabet = "GET /metrics HTTP/1.0\r\n:aX\x01\xff";
        for (size_t i = 0; i < len; i++)
            buf[i] = round % 2 ? (char)rand() : alphabet[(size_t)rand() % 27];
        int r = metrics_http_check(buf, len, 64);
        UNIT_CHECK(r == 0 || r == 200 || r == 400 || r == 404 || r == 405 || r == 431,
                   "round %d: %d", round, r);
        UNIT_CHECK(r == metrics_http_check(buf, len, 64), "round %d: not the same", round);
        UNIT_CHECK(r != 0 || len < 64, "round %d: more asked for at max", round);
    }
}

static void test_listen_parse(void)
{
    static const struct {
        const char *spec;
        int ok;
        enum metrics_listen_kind kind;
        int family, port;
    } rows[] = {
        {"", 1, METRICS_LISTEN_OFF, 0, 0},
        {"/run/wnc/metrics.sock", 1, METRICS_LISTEN_UNIX, 0, 0},
        {"var/8080/metrics.sock", 1, METRICS_LISTEN_UNIX, 0, 0},
        {"127.0.0.1:9464", 1, METRICS_LISTEN_TCP, AF_INET, 9464},
        {"127.3.2.1:1", 1, METRICS_LISTEN_TCP, AF_INET, 1},
        {"[::1]:65535", 1, METRICS_LISTEN_TCP, AF_INET6, 65535},
        {"0.0.0.0:9464", 0, 0, 0, 0},
        {"10.1.2.3:9464", 0, 0, 0, 0},
        {"[::]:9464", 0, 0, 0, 0},
        {"[2001:db8::1]:9464", 0, 0, 0, 0},
        {"[::ffff:127.0.0.1]:9464", 0, 0, 0, 0},
        {"127.0.0.1", 0, 0, 0, 0},
        {"127.0.0.1:", 0, 0, 0, 0},
        {"127.0.0.1:0", 0, 0, 0, 0},
        {"127.0.0.1:65536", 0, 0, 0, 0},
        {"127.0.0.1:123456", 0, 0, 0, 0},
        {"127.0.0.1:-1", 0, 0, 0, 0},
        {"127.0.0.1:80x", 0, 0, 0, 0},
        {"127.0.0.1: 80", 0, 0, 0, 0},
        {"localhost:9464", 0, 0, 0, 0},
        {"[::1]9464", 0, 0, 0, 0},
        {"[::1", 0, 0, 0, 0},
        {"metrics.sock", 0, 0, 0, 0},
        {":9464", 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct metrics_listen l;
        char cause[160] = "";
        int r = metrics_listen_parse(rows[i].spec, &l, cause, sizeof(cause));
        UNIT_CHECK((r == 0) == rows[i].ok, "%s: %d (%s)", rows[i].spec, r, cause);
        if (r == 0) {
            UNIT_CHECK(l.kind == rows[i].kind && l.family == rows[i].family &&
                           l.port == rows[i].port,
                       "%s: kind %d family %d port %d", rows[i].spec, l.kind, l.family, l.port);
            UNIT_CHECK(l.kind != METRICS_LISTEN_UNIX || strcmp(l.path, rows[i].spec) == 0, "%s",
                       rows[i].spec);
        } else {
            UNIT_CHECK(*cause != '\0', "%s: no cause", rows[i].spec);
        }
    }
    struct metrics_listen l;
    CU_ASSERT_EQUAL(metrics_listen_parse("127.0.0.1:80", &l, NULL, 0), 0);
    CU_ASSERT_EQUAL(l.addr[0], 127);
    CU_ASSERT_EQUAL(l.addr[3], 1);
    CU_ASSERT_EQUAL(metrics_listen_parse("0.0.0.0:80", &l, NULL, 0), -1); /* no cause wanted */
    char path[METRICS_LISTEN_PATH_MAX + 1];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    CU_ASSERT_EQUAL(metrics_listen_parse(path, &l, NULL, 0), -1);
    path[METRICS_LISTEN_PATH_MAX - 1] = '\0'; /* 107 bytes: fits sun_path */
    CU_ASSERT_EQUAL(metrics_listen_parse(path, &l, NULL, 0), 0);
}

int test_metrics_register(void)
{
    static const struct unit_test tests[] = {
        {"exposition text: HELP, TYPE, samples, escaping, numbers", test_text_pieces},
        {"histogram: cumulative buckets, +Inf, _sum, _count", test_histogram},
        {"event types from envelopes, bounded", test_event_types},
        {"registry: every family after known observations", test_registry_render},
        {"exposition: one group per family, well-formed lines", test_exposition_shape},
        {"counts from several threads add up", test_threads},
        {"more statuses than slots: status=\"other\"", test_status_overflow},
        {"nchan_stub_status text", test_nchan_parse},
        {"listener: request heads (table, prefixes, random bytes)", test_http_check},
        {"WNC_METRICS_LISTEN", test_listen_parse},
        {NULL, NULL},
    };
    CU_pSuite suite = CU_add_suite("metrics", NULL, NULL);

    return suite == NULL ? -1 : unit_add_tests(suite, tests);
}
