/* wnc-admin: the operator's CLI over the same store as the workers and pushd, configured by the
 * same environment variables (config.h). It reads rooms through sql/admin_room.lua (no member
 * token), closes one through sql/admin_close.lua run by exec_room (so room.closed is published
 * and the channel closed like any room operation's events), sums the totals, and checks the
 * configuration and every connection. Links core/ and hiredis only.
 *
 *   wnc-admin [--json] rooms | room ID | close ID [REASON] | stats | check
 *
 * Text output is for people; --json prints one JSON document on stdout for scripts (errors
 * too: {"error":{"code","message"}}). Exit status: 0 ok, 1 a check or an operation failed
 * (Redis unavailable included), 2 usage error, 3 no such room. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "buf.h"
#include "config.h"
#include "exec.h"
#include "ids.h"
#include "log.h"
#include "publish.h"
#include "script.h"
#include "store.h"
#include "valid.h"
#include "xmalloc.h"

enum admin_exit { ADMIN_OK = 0, ADMIN_FAILED = 1, ADMIN_USAGE = 2, ADMIN_NOT_FOUND = 3 };

#define ADMIN_MAX_ARGS 2     /* positional arguments after the command */
#define ADMIN_REASON_MAX 200 /* bytes of a close reason */
#define ADMIN_DEFAULT_REASON "closed"
#define ADMIN_NCHAN_TIMEOUT_MS 2000
#define ADMIN_SCAN_COUNT "1000"
#define ADMIN_TIME_LEN 32 /* "2024-05-01 12:00:00Z" and its NUL, with room to spare */
#define ADMIN_MESSAGE_MAX 512
#define ADMIN_DETAIL_MAX 512
#define ADMIN_CHECKS 5

static const char admin_usage[] =
    "usage: wnc-admin [--json] COMMAND [ARGS]\n"
    "\n"
    "Watch N Chill's admin CLI. It reads and changes the rooms in Redis as the workers do and\n"
    "takes the same environment variables (WNC_REDIS_HOST, WNC_REDIS_PORT, WNC_SQL_DIR,\n"
    "WNC_PUBLISH_SOCKET, ...; see README).\n"
    "\n"
    "commands:\n"
    "  rooms              the active rooms with their member, online and stream counts\n"
    "  room ID            one room: members (name, host, online), video, seq, chat length\n"
    "  close ID [REASON]  closes a room for everyone: room.closed {\"reason\": REASON} (default\n"
    "                     \"" ADMIN_DEFAULT_REASON "\") goes to its channel, its streams end and "
    "its data is deleted\n"
    "  stats              totals: rooms, members, online members, subscriptions; nchan's\n"
    "                     figures from the publisher socket's /status\n"
    "  check              configuration, scripts, Redis (PING), the Functions library, nchan's\n"
    "                     publisher socket: one line each\n"
    "\n"
    "options:\n"
    "  --json             machine output: one JSON document on stdout\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 ok, 1 a check or operation failed, 2 usage error, 3 no such room\n";

static int admin_json; /* --json */

/* ---- output ------------------------------------------------------------------------------ */

static void admin_flush(struct buf *b)
{
    if (b->len > 0)
        fwrite(b->data, 1, b->len, stdout);
    buf_free(b);
}

/* Reports a failure on stderr (and as {"error":...} on stdout with --json); returns status. */
static int admin_error(int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int admin_error(int status, const char *code, const char *fmt, ...)
{
    char msg[ADMIN_MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (admin_json) {
        struct buf b = {0};
        buf_puts(&b, "{\"error\":{\"code\":");
        admin_json_str(&b, code);
        buf_puts(&b, ",\"message\":");
        admin_json_str(&b, msg);
        buf_puts(&b, "}}\n");
        admin_flush(&b);
    }
    fprintf(stderr, "wnc-admin: %s\n", msg);
    if (status == ADMIN_USAGE)
        fprintf(stderr, "try 'wnc-admin --help'\n");
    return status;
}

/* The exit status and message of a store or room operation's failure. */
static int admin_store_error(enum wnc_err e, const char *room)
{
    if (e == E_ROOM_NOT_FOUND)
        return admin_error(ADMIN_NOT_FOUND, err_code(e), "no room %s", room);
    if (e == E_REDIS_UNAVAILABLE)
        return admin_error(ADMIN_FAILED, err_code(e), "Redis at %s:%d is unavailable",
                           config.redis_host, config.redis_port);
    return admin_error(ADMIN_FAILED, err_code(e), "%s", err_message(e));
}

/* A time of day in UTC for people ("-" for none). */
static const char *admin_time(long long ms, char out[ADMIN_TIME_LEN])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(out, ADMIN_TIME_LEN, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
        snprintf(out, ADMIN_TIME_LEN, "-");
    return out;
}

/* Whether s is all decimal digits (nchan's counts, written as JSON numbers). */
static int admin_is_count(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 19 && strspn(s, "0123456789") == n;
}

static const char *admin_video_state(const struct admin_room *r)
{
    return !r->has_video ? NULL : r->video.playing ? "playing" : "paused";
}

/* ---- reading Redis ----------------------------------------------------------------------- */

struct admin_ids {
    size_t n;
    char (*id)[ROOM_ID_LEN + 1];
};

static int admin_id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The ids in active-rooms, sorted, each once (SSCAN may return one twice). */
static enum wnc_err admin_active_rooms(struct store *st, struct admin_ids *ids)
{
    char cursor[STORE_NUMBER_LEN] = "0";
    size_t kept = 0;

    memset(ids, 0, sizeof(*ids));
    do {
        const char *argv[] = {"SSCAN", "active-rooms", cursor, "COUNT", ADMIN_SCAN_COUNT};
        struct store_reply r;
        enum wnc_err e = store_command(st, 5, argv, NULL, &r);
        if (e != E_OK) {
            free(ids->id);
            memset(ids, 0, sizeof(*ids));
            return e;
        }
        snprintf(cursor, sizeof(cursor), "%s", r.n >= 1 && r.items[0] ? r.items[0] : "0");
        ids->id = xreallocarray(ids->id, ids->n + r.n, sizeof(*ids->id));
        for (size_t i = 1; i < r.n; i++) {
            char id[ROOM_ID_LEN + 1];
            if (r.items[i] != NULL && valid_room_id(r.items[i], id) == E_OK &&
                strcmp(id, r.items[i]) == 0)
                memcpy(ids->id[ids->n++], id, sizeof(id));
        }
        store_reply_free(&r);
    } while (strcmp(cursor, "0") != 0);
    if (ids->n > 0) {
        qsort(ids->id, ids->n, sizeof(*ids->id), admin_id_cmp);
        for (size_t i = 0; i < ids->n; i++)
            if (kept == 0 || strcmp(ids->id[i], ids->id[kept - 1]) != 0)
                memmove(ids->id[kept++], ids->id[i], sizeof(*ids->id));
        ids->n = kept;
    }
    return E_OK;
}

/* A number reply of one command. */
static enum wnc_err admin_count(struct store *st, int argc, const char **argv, long long *out)
{
    struct store_reply r;
    enum wnc_err e = store_command(st, argc, argv, NULL, &r);

    if (e != E_OK)
        return e;
    *out = r.n == 1 && r.items[0] != NULL ? atoll(r.items[0]) : 0;
    store_reply_free(&r);
    return E_OK;
}

/* Places held under the per-address subscription caps (subs:{KEY}, subs_reserve.lua): every
 * entry whose time has not run out. */
static enum wnc_err admin_places(struct store *st, long long *out)
{
    char cursor[STORE_NUMBER_LEN] = "0", now[STORE_NUMBER_LEN + 1];

    *out = 0;
    snprintf(now, sizeof(now), "(%lld", exec_now_ms());
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", "subs:{*", "COUNT", ADMIN_SCAN_COUNT};
        struct store_reply r;
        enum wnc_err e = store_command(st, 6, argv, NULL, &r);
        if (e != E_OK)
            return e;
        snprintf(cursor, sizeof(cursor), "%s", r.n >= 1 && r.items[0] ? r.items[0] : "0");
        for (size_t i = 1; i < r.n && e == E_OK; i++) {
            const char *count[] = {"ZCOUNT", r.items[i], now, "+inf"};
            long long n = 0;
            if (r.items[i] != NULL && (e = admin_count(st, 4, count, &n)) == E_OK)
                *out += n;
        }
        store_reply_free(&r);
        if (e != E_OK)
            return e;
    } while (strcmp(cursor, "0") != 0);
    return E_OK;
}

/* ---- rooms ------------------------------------------------------------------------------- */

static int admin_cmd_rooms(struct store *st, char **args)
{
    struct admin_ids ids;
    struct buf b = {0};
    size_t live = 0, stale = 0;
    enum wnc_err e;

    (void)args;
    if ((e = admin_active_rooms(st, &ids)) != E_OK)
        return admin_store_error(e, "");
    if (admin_json)
        buf_puts(&b, "{\"rooms\":[");
    for (size_t i = 0; i < ids.n; i++) {
        struct admin_room r;
        char when[ADMIN_TIME_LEN];
        if ((e = admin_room_read(st, ids.id[i], 0, &r)) == E_ROOM_NOT_FOUND) {
            stale++; /* expired; pushd's sweep takes it out of the index */
            continue;
        }
        if (e != E_OK) {
            free(ids.id);
            buf_free(&b);
            return admin_store_error(e, ids.id[i]);
        }
        if (admin_json) {
            buf_printf(&b,
                       "%s{\"id\":\"%s\",\"createdAt\":%lld,\"seq\":%lld,\"members\":%lld,"
                       "\"online\":%lld,\"subscriptions\":%lld,\"chatLength\":%lld,\"video\":",
                       live ? "," : "", r.id, r.created_at, r.seq, r.members, r.online, r.streams,
                       r.chat);
            admin_json_str(&b, admin_video_state(&r));
            buf_puts(&b, "}");
        } else {
            if (live == 0)
                buf_puts(&b, "ROOM    MEMBERS  ONLINE  STREAMS  VIDEO    CREATED\n");
            buf_printf(&b, "%-6s  %7lld  %6lld  %7lld  %-7s  %s\n", r.id, r.members, r.online,
                       r.streams, r.has_video ? admin_video_state(&r) : "-",
                       admin_time(r.created_at, when));
        }
        live++;
        admin_room_free(&r);
    }
    if (admin_json)
        buf_printf(&b, "],\"count\":%zu,\"stale\":%zu}\n", live, stale);
    else if (live == 0)
        buf_puts(&b, "no active rooms\n");
    free(ids.id);
    admin_flush(&b);
    return ADMIN_OK;
}

/* ---- room -------------------------------------------------------------------------------- */

static void admin_room_json(struct buf *b, const struct admin_room *r)
{
    buf_printf(b, "{\"id\":\"%s\",\"createdAt\":%lld,\"seq\":%lld,\"channel\":", r->id,
               r->created_at, r->seq);
    admin_json_str(b, r->channel);
    buf_printf(b,
               ",\"chatLength\":%lld,\"subscriptions\":%lld,\"memberCount\":%lld,"
               "\"onlineCount\":%lld,\"video\":",
               r->chat, r->streams, r->members, r->online);
    if (r->has_video) {
        const struct admin_video *v = &r->video;
        buf_puts(b, "{\"url\":");
        admin_json_str(b, v->url);
        buf_puts(b, ",\"kind\":");
        admin_json_str(b, v->kind);
        buf_puts(b, ",\"videoId\":");
        admin_json_str(b, *v->youtube_id != '\0' ? v->youtube_id : NULL);
        buf_printf(b, ",\"playing\":%s,\"position\":", v->playing ? "true" : "false");
        admin_json_num(b, v->position);
        buf_puts(b, ",\"rate\":");
        admin_json_num(b, v->rate);
        buf_printf(b, ",\"updatedAt\":%lld}", v->updated_at);
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"members\":[");
    for (size_t i = 0; i < r->nmembers; i++) {
        const struct admin_member *m = &r->member[i];
        buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        admin_json_str(b, m->id);
        buf_puts(b, ",\"name\":");
        admin_json_str(b, m->name);
        buf_printf(b, ",\"isHost\":%s,\"online\":%s,\"joinedAt\":%lld,\"subscriptions\":%lld}",
                   m->is_host ? "true" : "false", m->online ? "true" : "false", m->joined_at,
                   m->streams);
    }
    buf_puts(b, "]}\n");
}

static void admin_room_text(struct buf *b, const struct admin_room *r)
{
    char when[ADMIN_TIME_LEN];

    buf_printf(b, "room      %s\n", r->id);
    buf_printf(b, "created   %s\n", admin_time(r->created_at, when));
    buf_printf(b, "seq       %lld\n", r->seq);
    buf_printf(b, "channel   %s\n", r->channel);
    buf_printf(b, "chat      %lld message(s)\n", r->chat);
    buf_printf(b, "streams   %lld\n", r->streams);
    if (r->has_video) {
        const struct admin_video *v = &r->video;
        buf_printf(b, "video     %s at %g s, rate %g: %s (%s%s%s)\n",
                   v->playing ? "playing" : "paused", v->position, v->rate, v->url, v->kind,
                   *v->youtube_id ? " " : "", v->youtube_id);
    } else {
        buf_puts(b, "video     none\n");
    }
    buf_printf(b, "members   %lld, %lld online\n", r->members, r->online);
    if (r->nmembers > 0)
        buf_puts(b, "  ROLE    ONLINE  STREAMS  JOINED                ID                        "
                    "            NAME\n");
    for (size_t i = 0; i < r->nmembers; i++) {
        const struct admin_member *m = &r->member[i];
        buf_printf(b, "  %-6s  %-6s  %7lld  %-20s  %-36s  %s\n", m->is_host ? "host" : "member",
                   m->online ? "yes" : "no", m->streams, admin_time(m->joined_at, when), m->id,
                   m->name);
    }
}

static int admin_cmd_room(struct store *st, char **args)
{
    struct admin_room r;
    struct buf b = {0};
    enum wnc_err e;

    if ((e = admin_room_read(st, args[0], 1, &r)) != E_OK)
        return admin_store_error(e, args[0]);
    if (admin_json)
        admin_room_json(&b, &r);
    else
        admin_room_text(&b, &r);
    admin_room_free(&r);
    admin_flush(&b);
    return ADMIN_OK;
}

/* ---- close ------------------------------------------------------------------------------- */

/* A reason clients are shown: 1 to ADMIN_REASON_MAX bytes of UTF-8 text, no control
 * characters. */
static int admin_reason_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ADMIN_REASON_MAX || !valid_utf8(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int admin_cmd_close(struct store *st, char **args)
{
    const char *reason = args[1] != NULL ? args[1] : ADMIN_DEFAULT_REASON;
    const char *script_args[] = {reason};
    struct nchan_status nchan;
    struct exec_result res;
    struct publisher *pub;
    struct buf b = {0};
    enum wnc_err e;
    int notified;

    /* exec_room publishes best effort, as everywhere: whether nchan is there is asked first,
     * so that a close nobody connected could hear about is not reported as a clean one. */
    notified = nchan_status_fetch(config.publish_socket, ADMIN_NCHAN_TIMEOUT_MS, &nchan) == 0;
    pub = publisher_open(config.publish_socket);
    e = exec_room(st, pub, SCRIPT_ADMIN_CLOSE, args[0], "", 1, script_args, NULL, &res);
    publisher_close(pub);
    if (e != E_OK)
        return admin_store_error(e, args[0]);
    long long members = atoll(res.body);
    if (admin_json) {
        buf_printf(&b, "{\"id\":\"%s\",\"closed\":true,\"members\":%lld,\"reason\":", args[0],
                   members);
        admin_json_str(&b, reason);
        buf_puts(&b, ",\"channel\":");
        admin_json_str(&b, res.channel);
        buf_printf(&b, ",\"notified\":%s}\n", notified ? "true" : "false");
    } else if (notified) {
        buf_printf(&b,
                   "closed room %s (%lld member(s)): room.closed with reason \"%s\" published "
                   "on %s, then the channel closed\n",
                   args[0], members, reason, res.channel);
    } else {
        buf_printf(&b,
                   "closed room %s (%lld member(s)), but nchan's publisher socket %s was "
                   "unreachable (%s): connected clients were not told\n",
                   args[0], members, config.publish_socket, nchan.error);
    }
    exec_result_free(&res);
    admin_flush(&b);
    return notified ? ADMIN_OK : ADMIN_FAILED;
}

/* ---- stats ------------------------------------------------------------------------------- */

static const char *const admin_timer_kinds[] = {"presence", "typing", "sync",
                                                "linger",   "wait",   "unmute"};
#define ADMIN_TIMER_KINDS (sizeof(admin_timer_kinds) / sizeof(admin_timer_kinds[0]))

static void admin_nchan_json(struct buf *b, const struct nchan_status *n, int reachable)
{
    buf_puts(b, ",\"nchan\":");
    if (!reachable || n->status != 200) {
        buf_puts(b, "null,\"nchanError\":");
        if (!reachable) {
            admin_json_str(b, n->error);
        } else {
            char why[NCHAN_ERROR_MAX];
            snprintf(why, sizeof(why), "GET %s answered %d", NCHAN_STATUS_PATH, n->status);
            admin_json_str(b, why);
        }
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        buf_puts(b, i ? "," : "{");
        admin_json_str(b, n->field[i].name);
        buf_puts(b, ":");
        if (admin_is_count(n->field[i].value))
            buf_puts(b, n->field[i].value);
        else
            admin_json_str(b, n->field[i].value);
    }
    buf_puts(b, n->n ? "},\"nchanError\":null" : "{},\"nchanError\":null");
}

static int admin_cmd_stats(struct store *st, char **args)
{
    long long members = 0, online = 0, streams = 0, places = 0, timers[ADMIN_TIMER_KINDS];
    struct admin_ids ids;
    struct nchan_status nchan;
    struct buf b = {0};
    size_t live = 0, stale = 0;
    enum wnc_err e;
    int reachable;

    (void)args;
    if ((e = admin_active_rooms(st, &ids)) != E_OK)
        return admin_store_error(e, "");
    for (size_t i = 0; i < ids.n; i++) {
        struct admin_room r;
        if ((e = admin_room_read(st, ids.id[i], 0, &r)) == E_ROOM_NOT_FOUND) {
            stale++;
            continue;
        }
        if (e != E_OK) {
            free(ids.id);
            return admin_store_error(e, ids.id[i]);
        }
        live++;
        members += r.members;
        online += r.online;
        streams += r.streams;
        admin_room_free(&r);
    }
    free(ids.id);
    if ((e = admin_places(st, &places)) != E_OK)
        return admin_store_error(e, "");
    for (size_t k = 0; k < ADMIN_TIMER_KINDS; k++) {
        char key[32];
        const char *argv[] = {"ZCARD", key};
        snprintf(key, sizeof(key), "timers:%s", admin_timer_kinds[k]);
        if ((e = admin_count(st, 2, argv, &timers[k])) != E_OK)
            return admin_store_error(e, "");
    }
    reachable = nchan_status_fetch(config.publish_socket, ADMIN_NCHAN_TIMEOUT_MS, &nchan) == 0;

    if (admin_json) {
        buf_printf(&b,
                   "{\"rooms\":%zu,\"members\":%lld,\"online\":%lld,\"subscriptions\":%lld,"
                   "\"subscriptionPlaces\":%lld,\"staleIndexEntries\":%zu,\"timers\":{",
                   live, members, online, streams, places, stale);
        for (size_t k = 0; k < ADMIN_TIMER_KINDS; k++)
            buf_printf(&b, "%s\"%s\":%lld", k ? "," : "", admin_timer_kinds[k], timers[k]);
        buf_puts(&b, "}");
        admin_nchan_json(&b, &nchan, reachable);
        buf_puts(&b, "}\n");
        admin_flush(&b);
        return ADMIN_OK;
    }
    buf_printf(&b, "rooms                %zu\n", live);
    buf_printf(&b, "members              %lld\n", members);
    buf_printf(&b, "online members       %lld\n", online);
    buf_printf(&b, "subscriptions        %lld  (open WebSocket and EventSource streams)\n",
               streams);
    buf_printf(&b,
               "subscription places  %lld  (held under the per-address cap, long-polls "
               "included)\n",
               places);
    if (stale > 0)
        buf_printf(&b, "stale index entries  %zu  (expired rooms pushd has not swept yet)\n",
                   stale);
    buf_puts(&b, "timers              ");
    for (size_t k = 0; k < ADMIN_TIMER_KINDS; k++)
        buf_printf(&b, "%s %s %lld", k ? "," : "", admin_timer_kinds[k], timers[k]);
    buf_puts(&b, "\n");
    if (!reachable)
        buf_printf(&b, "nchan                unreachable at %s: %s\n", config.publish_socket,
                   nchan.error);
    else if (nchan.status != 200)
        buf_printf(&b, "nchan                no figures: GET %s on %s answered %d\n",
                   NCHAN_STATUS_PATH, config.publish_socket, nchan.status);
    else
        buf_printf(&b, "nchan                (GET %s on %s)\n", NCHAN_STATUS_PATH,
                   config.publish_socket);
    for (size_t i = 0; reachable && nchan.status == 200 && i < nchan.n; i++)
        buf_printf(&b, "  %-34s %s\n", nchan.field[i].name, nchan.field[i].value);
    admin_flush(&b);
    return ADMIN_OK;
}

/* ---- check ------------------------------------------------------------------------------- */

struct admin_check {
    const char *name;
    int ok;
    char detail[ADMIN_DETAIL_MAX];
};

static void admin_checked(struct admin_check *c, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void admin_checked(struct admin_check *c, const char *name, int ok, const char *fmt, ...)
{
    va_list ap;

    c->name = name;
    c->ok = ok;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
}

/* The library's name, "wnc_<version>", from its first line. */
static void admin_library_name(char *out, size_t size)
{
    const char *text = script_library(), *name = strstr(text, "name=");
    size_t n = name ? strcspn(name + 5, "\n ") : 0;

    snprintf(out, size, "%.*s", (int)n, name ? name + 5 : "");
}

/* Whether Redis has the library (FUNCTION LIST), then a harmless call of it (a read of a room
 * through admin_room.lua, which FUNCTION LOADs the library first when Redis lacks it). */
static void admin_check_functions(struct store *st, struct admin_check *c)
{
    char library[64];
    const char *list[] = {"FUNCTION", "LIST", "LIBRARYNAME", library};
    struct store_reply r;
    struct admin_room room;
    int loaded = 0;
    enum wnc_err e;

    admin_library_name(library, sizeof(library));
    if ((e = store_command(st, 4, list, NULL, &r)) != E_OK) {
        admin_checked(c, "functions", 0, "FUNCTION LIST failed (%s): Redis 7 or later is needed",
                      err_code(e));
        return;
    }
    for (size_t i = 0; i < r.n; i++)
        if (r.items[i] != NULL && strcmp(r.items[i], library) == 0)
            loaded = 1;
    store_reply_free(&r);
    e = admin_room_read(st, "AAAAAA", 0, &room);
    if (e != E_OK && e != E_ROOM_NOT_FOUND) {
        admin_checked(c, "functions", 0, "library %s %s, but a call of admin_room failed: %s",
                      library, loaded ? "loaded" : "not loaded", err_code(e));
        return;
    }
    admin_room_free(&room);
    if (loaded)
        admin_checked(c, "functions", 1, "library %s loaded (%d functions), a call answers",
                      library, SCRIPT__MAX);
    else
        admin_checked(c, "functions", 1, "library %s was not loaded: loaded it (FUNCTION LOAD)",
                      library);
}

static int admin_cmd_check(void)
{
    struct admin_check c[ADMIN_CHECKS];
    struct nchan_status nchan;
    struct buf b = {0};
    int config_ok, scripts_ok = 0, redis_ok = 0, failed = 0;
    char library[64];

    memset(c, 0, sizeof(c));
    config_ok = config_load() == 0;
    if (config_ok)
        admin_checked(&c[0], "config", 1, "redis %s:%d, publisher %s, scripts %s",
                      config.redis_host, config.redis_port, config.publish_socket, config.sql_dir);
    else
        admin_checked(&c[0], "config", 0, "a variable is invalid (named above on stderr)");
    if (!config_ok) {
        admin_checked(&c[1], "scripts", 0, "skipped: the configuration is invalid");
        admin_checked(&c[2], "redis", 0, "skipped: the configuration is invalid");
        admin_checked(&c[3], "functions", 0, "skipped: the configuration is invalid");
        admin_checked(&c[4], "nchan", 0, "skipped: the configuration is invalid");
    } else {
        struct store *st = store_open_config();
        scripts_ok = scripts_load(config.sql_dir) == 0;
        admin_library_name(library, sizeof(library));
        if (scripts_ok)
            admin_checked(&c[1], "scripts", 1, "lib.lua and %d operations from %s: library %s",
                          SCRIPT__MAX, config.sql_dir, library);
        else
            admin_checked(&c[1], "scripts", 0, "cannot read them from %s (named above on stderr)",
                          config.sql_dir);
        redis_ok = store_ping(st) == E_OK;
        admin_checked(&c[2], "redis", redis_ok, "%s:%d %s", config.redis_host, config.redis_port,
                      redis_ok ? "answers PING" : "is unavailable");
        if (redis_ok && scripts_ok)
            admin_check_functions(st, &c[3]);
        else
            admin_checked(&c[3], "functions", 0, "skipped: %s",
                          redis_ok ? "the scripts are missing" : "Redis is unavailable");
        store_close(st);
        if (nchan_status_fetch(config.publish_socket, ADMIN_NCHAN_TIMEOUT_MS, &nchan) != 0) {
            admin_checked(&c[4], "nchan", 0, "publisher socket %s: %s", config.publish_socket,
                          nchan.error);
        } else if (nchan.status == 200) {
            const char *channels = nchan_status_field(&nchan, "channels");
            const char *subscribers = nchan_status_field(&nchan, "subscribers");
            admin_checked(
                &c[4], "nchan", 1, "publisher socket %s answers: %s channel(s), %s subscriber(s)",
                config.publish_socket, channels ? channels : "?", subscribers ? subscribers : "?");
        } else {
            admin_checked(&c[4], "nchan", 1, "publisher socket %s answers (GET %s: %d)",
                          config.publish_socket, NCHAN_STATUS_PATH, nchan.status);
        }
    }
    for (int i = 0; i < ADMIN_CHECKS; i++)
        failed |= !c[i].ok;
    if (admin_json) {
        buf_printf(&b, "{\"ok\":%s,\"checks\":[", failed ? "false" : "true");
        for (int i = 0; i < ADMIN_CHECKS; i++) {
            buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
            admin_json_str(&b, c[i].name);
            buf_printf(&b, ",\"ok\":%s,\"detail\":", c[i].ok ? "true" : "false");
            admin_json_str(&b, c[i].detail);
            buf_puts(&b, "}");
        }
        buf_puts(&b, "]}\n");
    } else {
        for (int i = 0; i < ADMIN_CHECKS; i++)
            buf_printf(&b, "%-4s  %-9s  %s\n", c[i].ok ? "ok" : "FAIL", c[i].name, c[i].detail);
    }
    admin_flush(&b);
    return failed ? ADMIN_FAILED : ADMIN_OK;
}

/* ---- the command line -------------------------------------------------------------------- */

static const struct admin_command {
    const char *name;
    int min_args, max_args;
    int takes_room; /* the first argument is a room id */
    int (*run)(struct store *st, char **args);
} admin_commands[] = {
    {"rooms", 0, 0, 0, admin_cmd_rooms},
    {"room", 1, 1, 1, admin_cmd_room},
    {"close", 1, 2, 1, admin_cmd_close},
    {"stats", 0, 0, 0, admin_cmd_stats},
    {"check", 0, 0, 0, NULL}, /* admin_cmd_check: it loads the configuration itself */
};

int main(int argc, char **argv)
{
    char *words[ADMIN_MAX_ARGS + 2] = {0}, *bad_option = NULL, room[ROOM_ID_LEN + 1];
    const struct admin_command *cmd = NULL;
    int nwords = 0, help = 0, options_done = 0, too_many = 0, status;
    struct store *st;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0)
            options_done = 1;
        else if (!options_done && strcmp(a, "--json") == 0)
            admin_json = 1;
        else if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
            help = 1;
        else if (!options_done && a[0] == '-' && a[1] != '\0')
            bad_option = bad_option ? bad_option : argv[i];
        else if (nwords < ADMIN_MAX_ARGS + 1)
            words[nwords++] = argv[i];
        else
            too_many = 1;
    }
    if (help) {
        fputs(admin_usage, stdout);
        return ADMIN_OK;
    }
    if (bad_option != NULL)
        return admin_error(ADMIN_USAGE, "usage", "unknown option %s", bad_option);
    if (nwords == 0)
        return admin_error(ADMIN_USAGE, "usage", "no command given");
    for (size_t k = 0; k < sizeof(admin_commands) / sizeof(admin_commands[0]); k++)
        if (strcmp(words[0], admin_commands[k].name) == 0)
            cmd = &admin_commands[k];
    if (cmd == NULL)
        return admin_error(ADMIN_USAGE, "usage", "unknown command %s", words[0]);
    if (too_many || nwords - 1 < cmd->min_args || nwords - 1 > cmd->max_args)
        return admin_error(ADMIN_USAGE, "usage", "%s takes %s", cmd->name,
                           cmd->max_args == 0   ? "no arguments"
                           : cmd->max_args == 1 ? "a room id"
                                                : "a room id and an optional reason");
    if (cmd->takes_room) {
        if (valid_room_id(words[1], room) != E_OK)
            return admin_error(ADMIN_USAGE, "invalid_room_id",
                               "invalid room id (6 letters or digits)");
        words[1] = room;
    }
    if (strcmp(cmd->name, "close") == 0 && words[2] != NULL && !admin_reason_valid(words[2]))
        return admin_error(ADMIN_USAGE, "usage",
                           "the reason must be 1 to %d bytes of UTF-8 text without control "
                           "characters",
                           ADMIN_REASON_MAX);

    /* A CLI's stderr is for the operator: warnings and errors only, unless asked. */
    setenv("WNC_LOG_LEVEL", "warn", 0);
    log_init("wnc-admin");
    signal(SIGPIPE, SIG_IGN);
    if (cmd->run == NULL)
        return admin_cmd_check();
    if (config_load() != 0)
        return admin_error(ADMIN_FAILED, "invalid_config",
                           "invalid configuration (the variable is named above)");
    if (scripts_load(config.sql_dir) != 0)
        return admin_error(ADMIN_FAILED, "scripts_missing", "cannot read the scripts from %s",
                           config.sql_dir);
    st = store_open_config();
    status = cmd->run(st, words + 1);
    store_close(st);
    return status;
}
