/* wnc-pushd: the timers no request triggers. It claims the due entries of five Redis sorted
 * sets (presence grace, typing expiry, sync beacons, lingering leavers, waits for buffering
 * members) and runs the room script
 * for each, publishing what they return, then sleeps until the next entry is due (or, at most,
 * half the shortest delay a new entry can have); every heartbeat period it passes over every
 * room of active-rooms, sending its heartbeat or, when its state expired, deleting its
 * leftovers (sql/heartbeat.lua). Claims are atomic (sql/claim.lua), so several pushd
 * instances can run side by side without firing anything twice. Every couple of seconds it also
 * closes the event-stream leases of this instance's nginx workers that died (proc.h), so presence
 * and the per-address caps heal after a crash, a reload or a restart; and a couple of seconds
 * after a stream opens it checks the room's leases against the subscribers nchan answers for
 * (pushd_verify), closing those nchan forgot to report closed. It keeps no state of its own:
 * after a restart of itself or of Redis it picks up where the sets are.
 *
 * pushd has no listener: every PUSHD_METRICS_MS it adds what it counted (timers fired, events
 * published) to the Redis hash METRICS_PUSHD_KEY with HINCRBY, and sets its loop's lag there;
 * wnc-fcgi's metrics scrape reads it back (metrics.h, docs/metrics.md).
 *
 * `wnc-pushd --check-config` prints the effective configuration and exits 0, or 1 after naming
 * the variable that is invalid. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "exec.h"
#include "ids.h"
#include "log.h"
#include "metrics.h"
#include "nchan.h"
#include "proc.h"
#include "publish.h"
#include "script.h"
#include "store.h"
#include "timeout.h"
#include "valid.h"
#include "xmalloc.h"

#define PUSHD_CLAIM_BATCH 200
#define PUSHD_SCAN_BATCH "100" /* active-rooms ids per SSCAN of a sweep */
#define PUSHD_OWNER_SWEEP_MS 2000
#define PUSHD_METRICS_MS 2000
/* The shortest time between two ticks that claim timers. With timers due all the time (a sync
 * beacon every 2 s per playing room), waking for each entry costs a claim call and a wake-up of
 * pushd and Redis per entry; waiting up to this long claims what fell due together. Every
 * timer tolerates it: the shortest is the 100 ms presence window (lib.lua announce), and a
 * beacon's lateness does not move playback (it carries updatedAt). */
#define PUSHD_COALESCE_MS 50
#define PUSHD_OWNER_KEY_MAX (sizeof("owners:{}") + EXEC_OWNER_MAX) /* and "owner:{...}" */
/* How long a check of a room's leases waits for nchan's subscribers to answer. They answer in
 * milliseconds (500 subscribers on two nginx workers: 5-8 ms, docs/nchan-notes.md), and the
 * wait ends as soon as every lease asked about answered: only a lease whose stream is gone (what
 * the check is for) or slow makes pushd wait this long. */
#define PUSHD_VERIFY_WAIT_MS 500

struct pushd_timer {
    const char *key;
    enum script_id script;
    int has_user; /* members are "ROOM|userid" rather than "ROOM" */
};

static const struct pushd_timer pushd_timers[] = {
    {"timers:presence", SCRIPT_TIMEOUT, 1},
    {"timers:typing", SCRIPT_TYPING_EXPIRE, 1},
    {"timers:sync", SCRIPT_SYNC_BEACON, 0},
    {"timers:linger", SCRIPT_LINGER, 1},
    {"timers:wait", SCRIPT_WAIT, 0},
    {"timers:unmute", SCRIPT_UNMUTE_EXPIRE, 1},
    {"timers:pflush", SCRIPT_PRESENCE_FLUSH, 0},
    {"timers:verify", SCRIPT_VERIFY, 0}, /* runs pushd_verify, not just the script */
};
/* In the order of metrics_timer_kinds, which names them "presence" ... "verify". */
_Static_assert(sizeof(pushd_timers) / sizeof(pushd_timers[0]) == METRICS_TIMER_KINDS,
               "one metrics kind per timer set");

/* What pushd counted since its last report went through (pushd_report). */
static struct {
    unsigned long long fired[METRICS_TIMER_KINDS];
    uint64_t events_reported[METRICS_EVENT_TYPES]; /* metrics_event_count at the last report */
    long long lag_ms, tick_ms;                     /* the largest since the last report */
} pushd_metrics;

/* The leases one check asks nchan about ("cid cid ..." from verify.lua's list, split in
 * place), which of them answered, how many subscribers answered and how many nchan counted. */
struct pushd_verify_ids {
    char **cid;
    char *answered;
    size_t n, left;
    long long answers, subscribers;
};

/* nchan_subscriber_ids' callback: marks cid answered; 1 when every lease answered. The wait
 * does not end when as many subscribers answered as nchan counted: the count is taken before
 * asking, and a stream closing or opening meanwhile (the very streams these checks are for)
 * let that many answers arrive before a live stream's, which then looked missing; twice in a
 * row, and its lease was closed under a connected member (seen in CI). A room with a dead
 * lease now waits the whole PUSHD_VERIFY_WAIT_MS instead. */
static int pushd_verify_seen(const char *cid, void *arg)
{
    struct pushd_verify_ids *ids = arg;

    ids->answers++;
    for (size_t i = 0; i < ids->n; i++)
        if (!ids->answered[i] && strcmp(ids->cid[i], cid) == 0) {
            ids->answered[i] = 1;
            ids->left--;
            break;
        }
    return ids->left == 0;
}

/* How many subscribers nchan holds for channel (the publisher location's figures), or -1 when
 * it cannot say. A subscriber whose close nchan did not report is not among them. */
static long long pushd_channel_subscribers(const char *channel)
{
    struct nchan_status s;
    const char *n;

    if (nchan_channel_fetch(config.publish_socket, channel, PUSHD_VERIFY_WAIT_MS, &s) != 0)
        return -1;
    if (s.status == 404)
        return 0;
    n = nchan_status_field(&s, "active_subscribers");
    return s.status == 200 && n != NULL ? atoll(n) : -1;
}

/* Checks a room's leases against the subscribers nchan holds for its channel (sql/verify.lua:
 * nchan 1.3.6 can lose the unsubscribe hook of a stream closed while it opened): lists the
 * leases, asks nchan which of them answer, and reports the others, which verify.lua closes
 * when they stay missing for 6 s. When nchan cannot be asked, or counts subscribers of
 * which none answers, nothing is closed. */
static void pushd_verify(struct store *st, struct publisher *pub, const char *room)
{
    const char *list_args[] = {"list"};
    struct exec_result listed, res;
    struct pushd_verify_ids ids = {0};
    char error[NCHAN_ERROR_MAX], *channel, *save = NULL;
    struct buf missing = {0};

    if (exec_room(st, pub, SCRIPT_VERIFY, room, "", 1, list_args, NULL, &listed) != E_OK)
        return;
    channel = strtok_r(listed.body, " ", &save);
    if (channel == NULL) {
        exec_result_free(&listed);
        return;
    }
    ids.cid = xcalloc(listed.body_len / 2 + 1, sizeof(*ids.cid));
    for (char *cid; (cid = strtok_r(NULL, " ", &save)) != NULL;)
        ids.cid[ids.n++] = cid;
    ids.answered = xcalloc(ids.n + 1, 1);
    ids.left = ids.n;
    /* Counted before asking, only to know whether there is anyone to ask (none: nothing to
     * wait for) and whether nchan answers at all (below). */
    ids.subscribers = ids.n > 0 ? pushd_channel_subscribers(channel) : 0;
    if (ids.subscribers < 0)
        ids.subscribers = LLONG_MAX; /* unknown: wait for the leases, or the time */
    if (ids.n > 0 && ids.subscribers > 0 &&
        nchan_subscriber_ids(config.publish_socket, channel, PUSHD_VERIFY_WAIT_MS,
                             pushd_verify_seen, &ids, error) != 0) {
        log_warn("pushd: cannot ask nchan for the subscribers of %s: %s", channel, error);
    } else if (ids.n > 0 && ids.subscribers > 0 && ids.answers == 0) {
        /* nchan counts subscribers but none answered: its answers are not getting through
         * (seen on the Redis storage after a failover), which says nothing about the leases. */
        log_info("pushd: room %s: no subscriber of %s answered; leases left alone", room, channel);
    } else {
        for (size_t i = 0; i < ids.n; i++)
            if (!ids.answered[i])
                buf_printf(&missing, "%s%s", missing.len ? " " : "", ids.cid[i]);
        const char *close_args[] = {"close", channel, missing.len ? missing.data : ""};
        if (exec_room(st, pub, SCRIPT_VERIFY, room, "", 3, close_args, NULL, &res) == E_OK) {
            if (strcmp(res.body, "0") != 0)
                log_warn("pushd: room %s: closed %s stream(s) nchan no longer held (their "
                         "unsubscribe hook never came)",
                         room, res.body);
            exec_result_free(&res);
        }
    }
    buf_free(&missing);
    free(ids.answered);
    free(ids.cid);
    exec_result_free(&listed);
}

/* Runs the room script for one claimed entry. */
static void pushd_fire(struct store *st, struct publisher *pub, const struct pushd_timer *t,
                       const char *entry)
{
    char room[ROOM_ID_LEN + 1], user[USER_ID_LEN + 1];
    struct exec_result r;
    const char *args[] = {user};
    enum wnc_err e;

    if (strlen(entry) < ROOM_ID_LEN || (t->has_user && entry[ROOM_ID_LEN] != '|')) {
        log_warn("pushd: ignoring malformed entry in %s", t->key);
        return;
    }
    char id[ROOM_ID_LEN + 1];
    memcpy(id, entry, ROOM_ID_LEN);
    id[ROOM_ID_LEN] = '\0';
    if (valid_room_id(id, room) != E_OK ||
        (t->has_user && valid_user_id(entry + ROOM_ID_LEN + 1, user) != E_OK)) {
        log_warn("pushd: ignoring malformed entry in %s", t->key);
        return;
    }
    if (t->script == SCRIPT_VERIFY) {
        pushd_verify(st, pub, room);
        pushd_metrics.fired[t - pushd_timers]++;
        return;
    }
    e = exec_room(st, pub, t->script, room, "", t->has_user ? 1 : 0, args, NULL, &r);
    if (e != E_OK) {
        log_warn("pushd: %s for room %s failed: %s", script_name(t->script), room, err_code(e));
        return;
    }
    pushd_metrics.fired[t - pushd_timers]++;
    if (r.events > 0 && t->script != SCRIPT_SYNC_BEACON)
        log_info("pushd: %s in room %s published %d event(s)", script_name(t->script), room,
                 r.events);
    exec_result_free(&r);
}

/* Claims the due entries of the timer sets t[0..n) in one call (sql/claim.lua), fires them, and
 * lowers *wake to the time the next entry left is due. Returns -1 when Redis is unavailable. */
static int pushd_run_timers(struct store *st, struct publisher *pub, const struct pushd_timer *t,
                            size_t n, long long *wake)
{
    char now[STORE_NUMBER_LEN], batch[STORE_NUMBER_LEN];
    const char *keys[sizeof(pushd_timers) / sizeof(pushd_timers[0])], *args[] = {now, batch};
    struct store_reply due;
    size_t at = 0;

    for (size_t k = 0; k < n; k++)
        keys[k] = t[k].key;
    snprintf(now, sizeof(now), "%lld", exec_now_ms());
    snprintf(batch, sizeof(batch), "%d", PUSHD_CLAIM_BATCH);
    if (store_eval(st, SCRIPT_CLAIM, (int)n, keys, 2, args, NULL, &due) != E_OK)
        return -1;
    /* Per set: the earliest score left (or nil), the count claimed, the claimed members. */
    for (size_t k = 0; k < n && at + 2 <= due.n; k++) {
        size_t count = due.items[at + 1] != NULL ? strtoul(due.items[at + 1], NULL, 10) : 0;
        if (due.items[at] != NULL && atoll(due.items[at]) < *wake)
            *wake = atoll(due.items[at]);
        at += 2;
        for (size_t i = 0; i < count && at < due.n; i++, at++)
            if (due.items[at] != NULL)
                pushd_fire(st, pub, &t[k], due.items[at]);
    }
    store_reply_free(&due);
    return 0;
}

/* Claims and fires the due entries of every timer set: in one Redis call on a single Redis
 * (one wake-up of Redis per tick, not one per set), one call per set on a Cluster, where the
 * sets live in different slots. Returns -1 when Redis is unavailable. */
static int pushd_run_all_timers(struct store *st, struct publisher *pub, long long *wake)
{
    const size_t n = sizeof(pushd_timers) / sizeof(pushd_timers[0]);

    if (*config.redis_cluster == '\0')
        return pushd_run_timers(st, pub, pushd_timers, n, wake);
    for (size_t k = 0; k < n; k++)
        if (pushd_run_timers(st, pub, &pushd_timers[k], 1, wake) != 0)
            return -1;
    return 0;
}

/* Closes the leases of one dead owner (an nginx worker that crashed or stopped without
 * firing unsubscribe hooks), one room script each, then forgets the owner. The scripts'
 * follow-ups remove each lease from the owner's set, so a sweep cut short resumes next time. */
static void pushd_release_owner(struct store *st, struct publisher *pub, const char *owners_key,
                                const char *owner)
{
    char key[PUSHD_OWNER_KEY_MAX];
    const char *members[] = {"SMEMBERS", key}, *forget[] = {"SREM", owners_key, owner};
    struct store_reply r;
    size_t closed = 0;

    snprintf(key, sizeof(key), "owner:{%s}", owner);
    if (store_command(st, 2, members, NULL, &r) != E_OK)
        return;
    for (size_t i = 0; i < r.n; i++) {
        const char *entry = r.items[i], *bar = entry ? strchr(entry, '|') : NULL;
        char room[ROOM_ID_LEN + 1], id[ROOM_ID_LEN + 1];
        struct exec_result res;
        if (bar == NULL || bar - entry != ROOM_ID_LEN || !exec_is_conn_id(bar + 1))
            continue;
        memcpy(id, entry, ROOM_ID_LEN);
        id[ROOM_ID_LEN] = '\0';
        if (valid_room_id(id, room) != E_OK)
            continue;
        const char *args[] = {"", "close", "", bar + 1, "-", owner};
        if (exec_room(st, pub, SCRIPT_PRESENCE, room, "", 6, args, NULL, &res) == E_OK) {
            exec_result_free(&res);
            closed++;
        }
    }
    if (closed == r.n) {
        const char *drop[] = {"DEL", key};
        store_command(st, 2, drop, NULL, NULL);
        store_command(st, 3, forget, NULL, NULL);
    }
    log_info("pushd: nginx worker %s is gone; closed %zu of its %zu stream(s)", owner, closed, r.n);
    store_reply_free(&r);
}

/* Runs script (with nargs args) for every active room; returns how many it ran for. */
static size_t pushd_each_room(struct store *st, struct publisher *pub, enum script_id script,
                              int nargs, const char **args)
{
    char cursor[STORE_NUMBER_LEN] = "0";
    size_t rooms = 0;

    do {
        const char *argv[] = {"SSCAN", "active-rooms", cursor, "COUNT", PUSHD_SCAN_BATCH};
        struct store_reply r;
        if (store_command(st, 5, argv, NULL, &r) != E_OK)
            return rooms;
        snprintf(cursor, sizeof(cursor), "%s", r.n >= 1 && r.items[0] ? r.items[0] : "0");
        for (size_t i = 1; i < r.n; i++) {
            char room[ROOM_ID_LEN + 1];
            struct exec_result res;
            if (r.items[i] == NULL || valid_room_id(r.items[i], room) != E_OK)
                continue;
            if (exec_room(st, pub, script, room, "", nargs, args, NULL, &res) == E_OK) {
                exec_result_free(&res);
                rooms++;
            }
        }
        store_reply_free(&r);
    } while (strcmp(cursor, "0") != 0);
    return rooms;
}

/* Moves every active room to a new channel (sql/rotate.lua): after an nginx worker died,
 * the channels it owned stop delivering to subscribers in the other workers (nchan #477), and
 * which channels those are cannot be told from here. Everyone reconnects once; a subscriber
 * the close of its old channel cannot reach notices the missing heartbeats and reconnects. */
static void pushd_rotate_all(struct store *st, struct publisher *pub)
{
    size_t rooms = pushd_each_room(st, pub, SCRIPT_ROTATE, 0, NULL);
    log_warn("pushd: an nginx worker died: moved %zu room(s) to new channels (nchan #477)", rooms);
}

/* A heartbeat on every room's channel, and the leftovers of every room whose state expired
 * deleted (sql/heartbeat.lua). */
static void pushd_heartbeat(struct store *st, struct publisher *pub)
{
    char every[STORE_NUMBER_LEN];
    const char *args[] = {every};

    snprintf(every, sizeof(every), "%d", config.heartbeat_ms);
    pushd_each_room(st, pub, SCRIPT_HEARTBEAT, 1, args);
}

/* The nginx workers seen at the last sweep, with their start times (WNC_NGINX_PID). A worker
 * can die without holding a single stream, and its channels break all the same: the set of
 * workers itself is watched, not only the owners of leases. */
#define PUSHD_MAX_WORKERS 256
static long pushd_workers[PUSHD_MAX_WORKERS];
static unsigned long long pushd_worker_starts[PUSHD_MAX_WORKERS];
static int pushd_nworkers = -1; /* -1: not read yet */

/* Whether a worker seen before has died since (a crash, or the end of a reload). */
static int pushd_worker_died(void)
{
    long master = 0, now[PUSHD_MAX_WORKERS];
    int n, died = 0;
    FILE *f;

    if (*config.nginx_pid_file == '\0' || (f = fopen(config.nginx_pid_file, "r")) == NULL)
        return 0;
    if (fscanf(f, "%ld", &master) != 1)
        master = 0;
    fclose(f);
    if (master <= 0 || (n = proc_children(master, now, PUSHD_MAX_WORKERS)) < 0)
        return 0;
    for (int i = 0; i < pushd_nworkers; i++)
        if (proc_alive(pushd_workers[i], pushd_worker_starts[i]) == 0)
            died = 1;
    if (pushd_nworkers < 0)
        log_info("pushd: watching %d nginx worker(s) of master %ld", n, master);
    pushd_nworkers = 0;
    for (int i = 0; i < n; i++) {
        unsigned long long start;
        if (proc_start_time(now[i], &start) == 0) {
            pushd_workers[pushd_nworkers] = now[i];
            pushd_worker_starts[pushd_nworkers++] = start;
        }
    }
    return died;
}

/* Checks which nginx workers of this instance that hold streams still live (proc.h); closes
 * the streams of those that died, then renews every room's channel (also when a worker that
 * held none died). */
static void pushd_sweep_owners(struct store *st, struct publisher *pub)
{
    char key[PUSHD_OWNER_KEY_MAX];
    const char *argv[] = {"SMEMBERS", key};
    struct store_reply r;
    int died = 0;

    snprintf(key, sizeof(key), "owners:{%s}", config.instance);
    if (store_command(st, 2, argv, NULL, &r) != E_OK)
        return;
    for (size_t i = 0; i < r.n; i++) {
        const char *owner = r.items[i];
        const char *pid_at = owner && exec_is_owner(owner) ? strchr(owner, '/') + 1 : NULL;
        if (pid_at == NULL)
            continue;
        if (proc_alive(atol(pid_at), strtoull(strchr(pid_at, '/') + 1, NULL, 10)) == 0) {
            pushd_release_owner(st, pub, key, owner);
            died = 1;
        }
    }
    store_reply_free(&r);
    if (pushd_worker_died())
        died = 1;
    if (died)
        pushd_rotate_all(st, pub);
}

/* Adds what was counted since the last report to METRICS_PUSHD_KEY (HINCRBY, so that several
 * pushd instances add up) and sets the period's largest lag and tick (HSET). A few commands
 * every PUSHD_METRICS_MS, never one per timer; it stops at the first failure, and a figure
 * not written stays counted for the next report. */
static void pushd_report(struct store *st)
{
    char field[48], value[STORE_NUMBER_LEN], lag[STORE_NUMBER_LEN], tick[STORE_NUMBER_LEN];
    char now[STORE_NUMBER_LEN];
    const char *incr[] = {"HINCRBY", METRICS_PUSHD_KEY, field, value};
    const char *set[] = {
        "HSET", METRICS_PUSHD_KEY, "loop_lag_ms", lag, "tick_ms", tick, "reported_ms", now};

    for (size_t k = 0; k < METRICS_TIMER_KINDS; k++) {
        if (pushd_metrics.fired[k] == 0)
            continue;
        snprintf(field, sizeof(field), "fired:%s", metrics_timer_kinds[k]);
        snprintf(value, sizeof(value), "%llu", pushd_metrics.fired[k]);
        if (store_command(st, 4, incr, NULL, NULL) != E_OK)
            return;
        pushd_metrics.fired[k] = 0;
    }
    for (size_t t = 0; t < METRICS_EVENT_TYPES; t++) {
        uint64_t count = metrics_event_count(t);
        if (count == pushd_metrics.events_reported[t])
            continue;
        snprintf(field, sizeof(field), "events:%s", metrics_event_types[t]);
        snprintf(value, sizeof(value), "%llu",
                 (unsigned long long)(count - pushd_metrics.events_reported[t]));
        if (store_command(st, 4, incr, NULL, NULL) != E_OK)
            return;
        pushd_metrics.events_reported[t] = count;
    }
    snprintf(lag, sizeof(lag), "%lld", pushd_metrics.lag_ms);
    snprintf(tick, sizeof(tick), "%lld", pushd_metrics.tick_ms);
    snprintf(now, sizeof(now), "%lld", exec_now_ms());
    if (store_command(st, 8, set, NULL, NULL) == E_OK)
        pushd_metrics.lag_ms = pushd_metrics.tick_ms = 0;
}

/* The longest pushd may sleep without missing a timer: entries are added by the workers and
 * by the scripts pushd runs, never due sooner than the shortest of these delays after they are
 * added, so waking twice as often sees each one before it is due (and then sleeps until it
 * is). Nothing happening costs a few claims a second, not one per tick. */
static long long pushd_longest_sleep_ms(void)
{
    long long lead = config.grace_ms;

    if (config.typing_ttl_ms < lead)
        lead = config.typing_ttl_ms;
    if (config.sync_interval_ms < lead)
        lead = config.sync_interval_ms;
    if (SCRIPT_LINGER_MS < lead)
        lead = SCRIPT_LINGER_MS;
    return lead / 2 > config.pushd_tick_ms ? lead / 2 : config.pushd_tick_ms;
}

/* Sleeps nap_ms, or less when a worker adds a timer due soon (EXEC_PUSHD_WAKE_KEY: BLPOP,
 * at most PUSHD_WAKE_MAX_MS, below the store's command timeout); with Redis away, a plain
 * sleep. Returns the stop signal if one came (during the tick or the sleep), else -1. */
#define PUSHD_WAKE_MAX_MS 1500
static int pushd_sleep(struct store *st, const sigset_t *stop, long nap_ms, int redis_ok)
{
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(stop, NULL, &zero);

    if (sig >= 0 || nap_ms <= 0)
        return sig;
    if (redis_ok) {
        char secs[STORE_NUMBER_LEN];
        const char *argv[] = {"BLPOP", EXEC_PUSHD_WAKE_KEY, secs};
        long ms = nap_ms < PUSHD_WAKE_MAX_MS ? nap_ms : PUSHD_WAKE_MAX_MS;
        snprintf(secs, sizeof(secs), "%ld.%03ld", ms / 1000, ms % 1000);
        if (store_command(st, 3, argv, NULL, NULL) == E_OK)
            return sigtimedwait(stop, NULL, &zero);
    }
    struct timespec nap = timeout_timespec(nap_ms);
    /* The stop signal at once if it comes, else -1 after the sleep (EAGAIN) or on EINTR. */
    return sigtimedwait(stop, NULL, &nap);
}

int main(int argc, char **argv)
{
    sigset_t stop_signals;
    struct store *st;
    struct publisher *pub;
    long long next_sweep = 0, next_heartbeat = 0, next_report = 0, planned;
    int redis_ok = 1, sig = -1;

    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--check-config") != 0)) {
        fprintf(stderr, "usage: wnc-pushd [--check-config]\n"
                        "  configuration from WNC_* environment variables (see README);\n"
                        "  --check-config prints it and exits, non-zero if a value is invalid\n");
        return 2;
    }
    log_init("wnc-pushd");
    if (config_load() != 0)
        return 1;
    if (scripts_load(config.sql_dir) != 0) {
        log_error("config: WNC_SQL_DIR=\"%s\" does not hold the Lua library", config.sql_dir);
        return 1;
    }
    if (argc == 2) {
        config_print(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    /* SIGTERM and SIGINT stay blocked and are taken only by the sleep between ticks
     * (sigtimedwait): a stop never interrupts a tick half-way (a script run, a publish) and is
     * acted on as soon as the tick is done, however long the sleep would have been. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    st = store_open_config();
    /* Queued, as in wnc-fcgi: a sweep's publishes (a heartbeat per room) go to nchan in
     * pipelined batches while the sweep goes on, not one round trip each. The thread starts
     * with the stop signals blocked; publisher_close drains it. */
    pub = publisher_open(config.publish_socket);
    if (publisher_start_queue(pub) != E_OK)
        return 1;
    log_info("started: sleeps at most %lld ms, grace %d ms, typing %d ms, sync every %d ms",
             pushd_longest_sleep_ms(), config.grace_ms, config.typing_ttl_ms,
             config.sync_interval_ms);

    planned = exec_now_ms();
    while (sig < 0) {
        long long now = exec_now_ms(), wake = now + pushd_longest_sleep_ms();
        int ok = 1;

        /* The loop's lag: how late this tick began after the wake-up it planned. */
        if (now - planned > pushd_metrics.lag_ms)
            pushd_metrics.lag_ms = now - planned;

        ok = pushd_run_all_timers(st, pub, &wake) == 0;
        if (ok && exec_now_ms() >= next_heartbeat) {
            pushd_heartbeat(st, pub);
            next_heartbeat = exec_now_ms() + config.heartbeat_ms;
        }
        if (ok && exec_now_ms() >= next_sweep) {
            pushd_sweep_owners(st, pub);
            next_sweep = exec_now_ms() + PUSHD_OWNER_SWEEP_MS;
        }
        if (ok != redis_ok) {
            if (ok)
                log_info("pushd: redis is back; timers resume");
            else
                log_warn("pushd: redis unavailable; retrying every %d ms", config.pushd_tick_ms);
            redis_ok = ok;
        }
        /* Sleep until the earliest of: the next timer entry due, the next periodic job, the
         * longest safe sleep; or one tick while Redis is away. */
        if (next_heartbeat < wake)
            wake = next_heartbeat;
        if (next_sweep < wake)
            wake = next_sweep;
        if (ok && exec_now_ms() >= next_report) {
            pushd_report(st);
            next_report = exec_now_ms() + PUSHD_METRICS_MS;
        }
        if (next_report < wake)
            wake = next_report;
        if (wake < now + PUSHD_COALESCE_MS)
            wake = now + PUSHD_COALESCE_MS;
        if (exec_now_ms() - now > pushd_metrics.tick_ms)
            pushd_metrics.tick_ms = exec_now_ms() - now;
        now = exec_now_ms();
        long nap_ms = ok ? (long)(wake - now) : config.pushd_tick_ms;
        planned = now + (nap_ms > 0 ? nap_ms : 0);
        sig = pushd_sleep(st, &stop_signals, nap_ms, ok);
    }
    log_info("stopping on signal %d", sig);
    store_close(st);
    publisher_close(pub);
    return 0;
}
