/* The room scripts of sql/ and exec.c, against the private Redis (flushed before each test).
 *
 * Most tests call a script the way exec_room does (same keys, same standard arguments from
 * config) but keep the whole reply, so the events the script would publish and its follow-ups
 * can be checked; the follow-ups are then run through exec_followup, as exec_room runs them,
 * and each must pass its checks (the typed forms of sql/lib.lua). The clock is an argument
 * there, so time-based scripts are tested at exact instants. exec_followup itself is fed a
 * table of accepted forms and one of hostile ones (other rooms, old free-form commands,
 * injected words, absurd lengths). The last tests go through exec_room itself with a NULL
 * publisher and the real clock (the grace period is shortened by main.c through
 * WNC_GRACE_MS). */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h> /* NAN only: the unit binary does not link libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "exec.h"
#include "ids.h"
#include "sha256.h"
#include "store.h"
#include "unit.h"
#include "valid.h"

#define ROOM "ROOM01"
#define YT "dQw4w9WgXcQ"
#define MAX_ITEMS 32

static struct store *st;

/* ---- calling a script ------------------------------------------------------------------- */

/* One script run: the flat reply of sql/lib.lua's result() taken apart. Zero it before the
 * first call; call() frees the previous reply, call_free the last one. */
struct call {
    enum wnc_err e;
    int status;
    const char *body, *channel;
    size_t nev, nfu;
    const char *ev[MAX_ITEMS], *fu[MAX_ITEMS];
    struct store_reply r;
};

static void call_free(struct call *c)
{
    store_reply_free(&c->r);
    memset(c, 0, sizeof(*c));
}

/* Runs script for room at time now (ms) with the token digest ("" for none) and the
 * NULL-terminated args (NULL for none), then runs the follow-ups. Returns the error. */
static enum wnc_err call(struct call *c, enum script_id script, const char *room,
                         const char *digest, long long now, const char *const *args)
{
    struct exec_call ec;
    const char *own[EXEC_MAX_ARGS];
    int nown = 0;
    size_t i;

    call_free(c);
    while (args != NULL && args[nown] != NULL && nown < EXEC_MAX_ARGS) {
        own[nown] = args[nown];
        nown++;
    }
    if ((c->e = exec_prepare(&ec, room, now, digest, nown, own, NULL)) != E_OK)
        return c->e;
    c->e = store_eval(st, script, EXEC_ROOM_KEYS, ec.keys, ec.argc, ec.argv, ec.lens, &c->r);
    if (c->e != E_OK) {
        memset(&c->r, 0, sizeof(c->r));
        return c->e;
    }
    if (c->r.n < 5 || c->r.items[0] == NULL || c->r.items[1] == NULL || c->r.items[2] == NULL) {
        CU_FAIL("malformed script reply");
        return c->e = E_INTERNAL;
    }
    c->status = atoi(c->r.items[0]);
    c->body = c->r.items[1];
    c->channel = c->r.items[2];
    i = 3;
    c->nev = (size_t)atoi(c->r.items[i++]);
    for (size_t k = 0; k < c->nev && k < MAX_ITEMS && i < c->r.n; k++)
        c->ev[k] = c->r.items[i++];
    c->nfu = i < c->r.n ? (size_t)atoi(c->r.items[i++]) : 0;
    for (size_t k = 0; k < c->nfu && k < MAX_ITEMS && i < c->r.n; k++)
        c->fu[k] = c->r.items[i++];
    UNIT_CHECK(i == c->r.n, "%s: reply has %zu items, counts say %zu", script_name(script), c->r.n,
               i);
    /* Every follow-up a script returns must pass exec_followup's checks. */
    for (size_t k = 0; k < c->nfu && k < MAX_ITEMS && c->fu[k] != NULL; k++) {
        enum wnc_err fe = exec_followup(st, NULL, room, c->fu[k]);
        UNIT_CHECK(fe == E_OK, "%s: follow-up \"%s\" refused: %s", script_name(script), c->fu[k],
                   err_code(fe));
    }
    return E_OK;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- Redis and JSON helpers --------------------------------------------------------------- */

/* Runs a command of NUL-terminated words; returns its first item as a number (nil: -1). */
static long long redis_num(const char *const *argv)
{
    struct store_reply r;
    long long v = LLONG_MIN;
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    if (store_command(st, argc, (const char **)argv, NULL, &r) != E_OK)
        return LLONG_MIN;
    if (r.n >= 1)
        v = r.items[0] ? atoll(r.items[0]) : -1;
    store_reply_free(&r);
    return v;
}

/* Runs a command of NUL-terminated words; copies its first item into buf and returns buf, or
 * NULL for nil or an error. */
static const char *redis_str(const char *const *argv, char *buf, size_t size)
{
    struct store_reply r;
    const char *v = NULL;
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    if (store_command(st, argc, (const char **)argv, NULL, &r) != E_OK)
        return NULL;
    if (r.n >= 1 && r.items[0] != NULL) {
        snprintf(buf, size, "%s", r.items[0]);
        v = buf;
    }
    store_reply_free(&r);
    return v;
}

/* Whether the first item of a command's reply is the string want (NULL: nil). */
static int redis_is(const char *const *argv, const char *want)
{
    char buf[512];
    const char *got = redis_str(argv, buf, sizeof(buf));

    if (got == NULL || want == NULL)
        return got == want;
    return strcmp(got, want) == 0;
}

static long long room_seq(const char *room)
{
    char key[32];

    snprintf(key, sizeof(key), "room:{%s}", room);
    return redis_num(ARGS("HGET", key, "seq"));
}

/* How many keys of the room exist (any key with the room's hash tag). */
static long long room_key_count(const char *room)
{
    char pattern[32];
    struct store_reply r;
    long long n = -1;

    snprintf(pattern, sizeof(pattern), "*{%s}*", room);
    const char *argv[] = {"KEYS", pattern};
    if (store_command(st, 2, argv, NULL, &r) == E_OK) {
        n = (long long)r.n;
        store_reply_free(&r);
    }
    return n;
}

static json_object *jparse(const char *s)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    if (s == NULL || tok == NULL) {
        json_tokener_free(tok);
        return NULL;
    }
    o = json_tokener_parse_ex(tok, s, (int)strlen(s));
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    UNIT_CHECK(o != NULL, "not JSON: %.200s", s);
    return o;
}

/* The value at a dotted path ("room.users.0.name"; numbers index arrays), or NULL. */
static json_object *jget(json_object *o, const char *path)
{
    char buf[128], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *part = strtok_r(buf, ".", &save); part != NULL && o != NULL;
         part = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(o, json_type_array)) {
            size_t idx = (size_t)atoi(part);
            o = idx < json_object_array_length(o) ? json_object_array_get_idx(o, idx) : NULL;
        } else if (!json_object_object_get_ex(o, part, &o)) {
            o = NULL;
        }
    }
    return o;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Rounds to the nearest integer without libm (the unit binary does not link it). */
static long long unit_round(double d)
{
    return (long long)(d < 0 ? d - 0.5 : d + 0.5);
}

static long long jint(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? unit_round(json_object_get_double(v))
               : LLONG_MIN;
}

static double jnum(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? json_object_get_double(v)
               : NAN;
}

/* 1 true, 0 false, -1 missing or not a boolean. */
static int jbool(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
}

static int jnull(json_object *o, const char *path)
{
    json_object *v = NULL;
    char parent[128];
    const char *dot = strrchr(path, '.');

    /* A JSON null is a present key whose value is NULL. */
    if (dot == NULL)
        return json_object_object_get_ex(o, path, &v) && v == NULL;
    snprintf(parent, sizeof(parent), "%.*s", (int)(dot - path), path);
    json_object *p = jget(o, parent);
    return p != NULL && json_object_object_get_ex(p, dot + 1, &v) && v == NULL;
}

static long long jlen(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_array) ? (long long)json_object_array_length(v)
                                                        : -1;
}

#define CHECK_STR(o, path, want)                                                                   \
    do {                                                                                           \
        const char *got_ = jstr((o), (path));                                                      \
        UNIT_CHECK(got_ != NULL && strcmp(got_, (want)) == 0, "%s: got %s want %s", (path),        \
                   got_ ? got_ : "(missing)", (want));                                             \
    } while (0)
#define CHECK_INT(o, path, want)                                                                   \
    do {                                                                                           \
        long long got_ = jint((o), (path)), want_ = (want);                                        \
        UNIT_CHECK(got_ == want_, "%s: got %lld want %lld", (path), got_, want_);                  \
    } while (0)
#define CHECK_NUM(o, path, want)                                                                   \
    do {                                                                                           \
        double got_ = jnum((o), (path)), want_ = (want);                                           \
        UNIT_CHECK(got_ - want_ < 1e-6 && want_ - got_ < 1e-6, "%s: got %.9g want %.9g", (path),   \
                   got_, want_);                                                                   \
    } while (0)
#define CHECK_BOOL(o, path, want)                                                                  \
    do {                                                                                           \
        int got_ = jbool((o), (path));                                                             \
        UNIT_CHECK(got_ == (want), "%s: got %d want %d", (path), got_, (want));                    \
    } while (0)

/* Parses event i of c and checks its type and seq; returns it (json_object_put it). */
static json_object *event(const struct call *c, size_t i, const char *type, long long seq)
{
    json_object *o;

    UNIT_CHECK(i < c->nev, "no event %zu (of %zu), wanted %s", i, c->nev, type);
    if (i >= c->nev)
        return NULL;
    o = jparse(c->ev[i]);
    CHECK_STR(o, "type", type);
    CHECK_INT(o, "seq", seq);
    return o;
}

static void check_followup(const struct call *c, size_t i, const char *want)
{
    UNIT_CHECK(i < c->nfu && strcmp(c->fu[i], want) == 0, "follow-up %zu: got %s want %s", i,
               i < c->nfu ? c->fu[i] : "(none)", want);
}

/* ---- members ------------------------------------------------------------------------------ */

struct member {
    char id[USER_ID_LEN + 1];
    char token[TOKEN_LEN + 1];
    char digest[SHA256_HEX_LEN + 1];
    char name[NAME_MAX_CHARS + 1];
    char key[NAME_MAX_CHARS + 1];
};

/* A fresh identity for room, with the name validated as rooms.c does. */
static int identity(struct member *m, const char *room, const char *name)
{
    const char *cause;

    memset(m, 0, sizeof(*m));
    if (ids_user(m->id) != E_OK || ids_token(room, m->token) != E_OK ||
        valid_name(name, strlen(name), m->name, m->key, &cause) != E_OK)
        return -1;
    sha256_hex(m->token, strlen(m->token), m->digest);
    return 0;
}

static enum wnc_err create(struct member *host, const char *room, const char *name, long long now)
{
    struct call c = {0};
    enum wnc_err e;

    if (identity(host, room, name) != 0)
        return E_INTERNAL;
    e = call(&c, SCRIPT_CREATE, room, host->digest, now, ARGS(host->id, host->name, host->key));
    if (e == E_OK)
        UNIT_CHECK(c.status == 201, "create: status %d", c.status);
    call_free(&c);
    return e;
}

static enum wnc_err join_limit(struct member *m, const char *room, const char *name, long long now,
                               const char *limit)
{
    struct call c = {0};
    enum wnc_err e;

    if (identity(m, room, name) != 0)
        return E_INTERNAL;
    e = call(&c, SCRIPT_JOIN, room, m->digest, now, ARGS(m->id, m->name, m->key, limit));
    if (e == E_OK)
        UNIT_CHECK(c.status == 201, "join: status %d", c.status);
    call_free(&c);
    return e;
}

static enum wnc_err join(struct member *m, const char *room, const char *name, long long now)
{
    return join_limit(m, room, name, now, "1000");
}

/* The room state as member m sees it (state.lua); NULL when refused. */
static json_object *state(const struct member *m, const char *room, enum wnc_err *err)
{
    struct call c = {0};
    json_object *o = NULL;
    enum wnc_err e = call(&c, SCRIPT_STATE, room, m ? m->digest : "", 0, NULL);

    if (err != NULL)
        *err = e;
    if (e == E_OK)
        o = jparse(c.body);
    call_free(&c);
    return o;
}

/* The member record as seen in the state: the index of uid in room.users, or -1. */
static int user_index(json_object *s, const char *uid)
{
    long long n = jlen(s, "room.users");
    char path[64];

    for (long long i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "room.users.%lld.id", i);
        const char *id = jstr(s, path);
        if (id != NULL && strcmp(id, uid) == 0)
            return (int)i;
    }
    return -1;
}

static int is_host(const struct member *viewer, const struct member *m)
{
    json_object *s = state(viewer, ROOM, NULL);
    char path[64];
    int i = user_index(s, m->id), host = -1;

    if (i >= 0) {
        snprintf(path, sizeof(path), "room.users.%d.isHost", i);
        host = jbool(s, path);
    }
    json_object_put(s);
    return host;
}

/* A field of the member record as stored (members:{ROOM}), as a number; LLONG_MIN when the
 * member or the field is missing. Tests read conns and offlineSince this way, which clients
 * never see. */
static long long member_num(const char *uid, const char *field)
{
    char buf[1024];
    const char *raw = redis_str(ARGS("HGET", "members:{" ROOM "}", uid), buf, sizeof(buf));
    json_object *o = raw ? jparse(raw) : NULL;
    long long v = o ? jint(o, field) : LLONG_MIN;

    json_object_put(o);
    return v;
}

/* ---- leases --------------------------------------------------------------------------------- */

/* What nchan's hooks pass (events.c): the client address's limit key and the worker owning the
 * connection. */
#define IP "127.0.0.1"
#define IP2 "2001:db8::7"
#define OWNER "wnc/4242/777"
#define OWNER2 "wnc/4343/888"
#define CID1 "00000000000000c1"
#define CID2 "00000000000000c2"
#define CID3 "00000000000000c3"

/* presence.lua for uid: op 'open', 'close' or 'poll' of connection cid on channel chan. */
static enum wnc_err presence(struct call *c, long long now, const char *uid, const char *op,
                             const char *chan, const char *cid)
{
    return call(c, SCRIPT_PRESENCE, ROOM, "", now, ARGS(uid, op, chan, cid, IP, OWNER));
}

/* The stored lease of cid into buf, or NULL. */
static const char *lease_of(const char *cid, char *buf, size_t size)
{
    return redis_str(ARGS("HGET", "leases:{" ROOM "}", cid), buf, size);
}

/* The channel members subscribe to now (subscribe.lua with m's token). */
static int channel_is(const struct member *m, const char *want)
{
    struct call c = {0};
    int ok = call(&c, SCRIPT_SUBSCRIBE, ROOM, m->digest, 0, ARGS("")) == E_OK &&
             strcmp(c.channel, want) == 0;

    UNIT_CHECK(ok, "channel: got %s want %s", c.channel ? c.channel : "(error)", want);
    call_free(&c);
    return ok;
}

/* ---- suite -------------------------------------------------------------------------------- */

static int scripts_suite_init(void)
{
    st = unit_redis_open();
    return st == NULL ? -1 : 0;
}

static int scripts_suite_clean(void)
{
    store_close(st);
    st = NULL;
    return 0;
}

static void scripts_setup(void)
{
    unit_redis_flush();
}

/* ---- create, state, summary ---------------------------------------------------------------- */

static void test_create_and_state(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};
    char want[128];
    json_object *o;
    enum wnc_err e;

    CU_ASSERT_EQUAL_FATAL(identity(&a, ROOM, "Alice"), 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CREATE, ROOM, a.digest, t, ARGS(a.id, a.name, a.key)),
                          E_OK);
    CU_ASSERT_EQUAL(c.status, 201);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nev, 0);
    /* The token (and its digest) never appear in what a script returns. */
    CU_ASSERT_PTR_NULL(strstr(c.body, a.digest));
    CU_ASSERT_PTR_NULL(strstr(c.body, "\"tok\""));
    CU_ASSERT_PTR_NULL(strstr(c.body, "\"key\""));
    o = jparse(c.body);
    CHECK_STR(o, "roomId", ROOM);
    CHECK_STR(o, "userId", a.id);
    CHECK_STR(o, "room.id", ROOM);
    CHECK_INT(o, "room.seq", 0);
    CHECK_INT(o, "room.createdAt", t);
    CU_ASSERT_EQUAL(jlen(o, "room.users"), 1);
    CHECK_STR(o, "room.users.0.id", a.id);
    CHECK_STR(o, "room.users.0.name", "Alice");
    CHECK_BOOL(o, "room.users.0.isHost", 1);
    CHECK_BOOL(o, "room.users.0.online", 0);
    CHECK_INT(o, "room.users.0.joinedAt", t);
    CU_ASSERT_TRUE(jnull(o, "room.video"));
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "index " ROOM);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + config.grace_ms, ROOM, a.id);
    check_followup(&c, 1, want);
    /* The follow-ups ran. */
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 1);
    snprintf(want, sizeof(want), "%s|%s", ROOM, a.id);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:presence", want)), t + config.grace_ms);
    /* Every key has the room's TTL. */
    long long ttl = redis_num(ARGS("TTL", "room:{" ROOM "}"));
    CU_ASSERT_TRUE(ttl > 0 && ttl <= config.room_ttl_s);
    ttl = redis_num(ARGS("TTL", "auth:{" ROOM "}"));
    CU_ASSERT_TRUE(ttl > 0 && ttl <= config.room_ttl_s);

    o = state(&a, ROOM, &e);
    CU_ASSERT_EQUAL(e, E_OK);
    CHECK_STR(o, "userId", a.id);
    CHECK_STR(o, "room.users.0.name", "Alice");
    CU_ASSERT_EQUAL(jlen(o, "chat"), 0);
    json_object_put(o);

    /* Without a token, with an unknown one, or for another room: refused. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, "", t, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, "00ff", t, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, "NOROOM", a.digest, t, NULL), E_ROOM_NOT_FOUND);

    /* The same id again: room_exists, and nothing changes. */
    struct member b;
    CU_ASSERT_EQUAL_FATAL(identity(&b, ROOM, "Bob"), 0);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CREATE, ROOM, b.digest, t + 5, ARGS(b.id, b.name, b.key)),
                    E_ROOM_EXISTS);
    o = state(&a, ROOM, NULL);
    CU_ASSERT_EQUAL(jlen(o, "room.users"), 1);
    CHECK_INT(o, "room.seq", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, b.digest, t, NULL), E_UNAUTHORIZED);
    call_free(&c);
}

static void test_summary_and_subscribe(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUMMARY, ROOM, "", t, NULL), E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SUMMARY, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    o = jparse(c.body);
    CHECK_STR(o, "id", ROOM);
    CHECK_BOOL(o, "exists", 1);
    CHECK_INT(o, "userCount", 2);
    CHECK_BOOL(o, "hasVideo", 0);
    CU_ASSERT_PTR_NULL(jget(o, "users"));
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 2,
                               ARGS("set", "https://e.com/a.mp4", "file", "")),
                          E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SUMMARY, ROOM, "", t, NULL), E_OK);
    o = jparse(c.body);
    CHECK_BOOL(o, "hasVideo", 1);
    json_object_put(o);

    /* Subscribing with the bearer token (no ticket): the member's id, nothing changes. */
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, b.digest, t, ARGS("")), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_STRING_EQUAL(c.body, b.id);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, "", t, ARGS("")), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, "00ff", t, ARGS("")), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, "NOROOM", b.digest, t, ARGS("")), E_ROOM_NOT_FOUND);
    call_free(&c);
}

/* ---- join ----------------------------------------------------------------------------------- */

static void test_join(void)
{
    long long t = 1700000000000LL;
    struct member a, b, x, carol;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(identity(&b, ROOM, "Bob"), 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_JOIN, ROOM, b.digest, t + 10, ARGS(b.id, b.name, b.key, "1000")), E_OK);
    CU_ASSERT_EQUAL(c.status, 201);
    CU_ASSERT_PTR_NULL(strstr(c.body, b.digest));
    o = jparse(c.body);
    CHECK_STR(o, "userId", b.id);
    CU_ASSERT_EQUAL(jlen(o, "room.users"), 2);
    CHECK_STR(o, "room.users.0.name", "Alice"); /* host first */
    CHECK_STR(o, "room.users.1.name", "Bob");
    CHECK_BOOL(o, "room.users.1.isHost", 0);
    CHECK_INT(o, "room.seq", 1);
    CU_ASSERT_EQUAL(jlen(o, "chat"), 0);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.joined", 1);
    CHECK_STR(o, "data.user.id", b.id);
    CHECK_STR(o, "data.user.name", "Bob");
    CHECK_BOOL(o, "data.user.isHost", 0);
    CHECK_BOOL(o, "data.user.online", 0);
    CHECK_INT(o, "at", t + 10);
    CU_ASSERT_PTR_NULL(jget(o, "data.user.tok"));
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + 10 + config.grace_ms, ROOM, b.id);
    check_followup(&c, 0, want);

    /* Names are unique case-insensitively (the key is the lower-case name). */
    CU_ASSERT_EQUAL(join(&x, ROOM, "ALICE", t + 20), E_NAME_TAKEN);
    CU_ASSERT_EQUAL(join(&x, ROOM, "  bob ", t + 20), E_NAME_TAKEN);
    CU_ASSERT_EQUAL(room_seq(ROOM), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "members:{" ROOM "}")), 2);
    /* The refused join left no token behind. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, x.digest, t, NULL), E_UNAUTHORIZED);

    /* The member limit. */
    CU_ASSERT_EQUAL(join_limit(&carol, ROOM, "Carol", t + 30, "2"), E_ROOM_FULL);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "members:{" ROOM "}")), 2);
    CU_ASSERT_EQUAL(join_limit(&carol, ROOM, "Carol", t + 30, "3"), E_OK);
    CU_ASSERT_EQUAL(join(&x, ROOM, "Dave", t + 40), E_OK);
    CU_ASSERT_EQUAL(room_seq(ROOM), 3);

    /* Join order after the host. */
    o = state(&carol, ROOM, NULL);
    CHECK_STR(o, "room.users.0.name", "Alice");
    CHECK_STR(o, "room.users.1.name", "Bob");
    CHECK_STR(o, "room.users.2.name", "Carol");
    CHECK_STR(o, "room.users.3.name", "Dave");
    json_object_put(o);

    CU_ASSERT_EQUAL(join(&x, "NOROOM", "Eve", t), E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

/* ---- leave, hand-off, deletion ----------------------------------------------------------- */

static void test_leave_hands_off_to_online_first(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm, d;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 3), E_OK);
    /* Carol and Dave are online, Bob (present longest) is not. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, cm.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, d.id, "open", ROOM "-1", CID2), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, a.digest, t + 5, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_STRING_EQUAL(c.body, "");
    /* A leave moves nobody: the room stays on its channel, and a linger check is due. */
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer linger %lld %s|%s", t + 5 + 5000, ROOM, a.id);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(c.nev, 2);
    o = event(&c, 0, "user.left", seq + 1);
    CHECK_STR(o, "data.userId", a.id);
    CHECK_STR(o, "data.reason", "left");
    json_object_put(o);
    o = event(&c, 1, "user.promoted", seq + 2);
    CHECK_STR(o, "data.userId", cm.id);
    json_object_put(o);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq + 2);

    CU_ASSERT_EQUAL(is_host(&b, &cm), 1);
    CU_ASSERT_EQUAL(is_host(&b, &b), 0);
    CU_ASSERT_EQUAL(is_host(&b, &d), 0);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, a.digest, t, NULL), E_UNAUTHORIZED);
    /* The others stay on the same channel; the name is free again. */
    channel_is(&b, ROOM "-1");
    o = state(&b, ROOM, NULL);
    CU_ASSERT_EQUAL(jlen(o, "room.users"), 3);
    CHECK_STR(o, "room.users.0.name", "Carol"); /* hosts first */
    json_object_put(o);
    CU_ASSERT_EQUAL(join(&a, ROOM, "alice", t + 7), E_OK);
    call_free(&c);
}

static void test_leave_hands_off_to_longest_present(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, a.digest, t + 5, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 2);
    o = event(&c, 1, "user.promoted", 4);
    CHECK_STR(o, "data.userId", b.id);
    json_object_put(o);
    CU_ASSERT_EQUAL(is_host(&cm, &b), 1);

    /* A member who is not host leaves: no hand-off. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, cm.digest, t + 6, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.left", 5);
    CHECK_STR(o, "data.userId", cm.id);
    json_object_put(o);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer linger %lld %s|%s", t + 6 + 5000, ROOM, cm.id);
    check_followup(&c, 0, want);

    /* Two hosts: one leaving hands nothing off. */
    struct member d;
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 7), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PROMOTE, ROOM, b.digest, t + 8, ARGS(d.id)), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 9), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, b.digest, t + 10, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL(is_host(&cm, &d), 1);
    CU_ASSERT_EQUAL(is_host(&cm, &cm), 0);
    call_free(&c);
}

static void test_last_member_leaving_deletes_the_room(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    /* Fill every per-room key: chat, limits, video, a lease and a ticket. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 2, ARGS("hello")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 3,
                               ARGS("set", "https://e.com/a.mp4", "file", "")),
                          E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, a.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TICKET, ROOM, a.digest, t + 3, ARGS("ab12", "30000")),
                          E_OK);
    CU_ASSERT_EQUAL(room_key_count(ROOM), EXEC_ROOM_KEYS);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, b.digest, t + 4, NULL), E_OK);
    CU_ASSERT_EQUAL(room_key_count(ROOM), EXEC_ROOM_KEYS);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, a.digest, t + 5, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    /* No rotation on a leave: the last events go out on the one channel, which then closes. */
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nev, 2);
    o = event(&c, 0, "user.left", seq + 1);
    CHECK_STR(o, "data.userId", a.id);
    CHECK_STR(o, "data.reason", "left");
    json_object_put(o);
    o = event(&c, 1, "room.closed", seq + 2);
    CHECK_STR(o, "data.reason", "empty");
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 2); /* no linger timer: nobody is left to hear anything */
    check_followup(&c, 0, "unindex " ROOM);
    check_followup(&c, 1, "close " ROOM "-1");
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:linger")), 1); /* Bob's only */
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, a.digest, t, NULL), E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_LEAVE, ROOM, a.digest, t, NULL), E_ROOM_NOT_FOUND);
    call_free(&c);
}

/* ---- kick and promote ---------------------------------------------------------------------- */

static void test_kick(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm, again;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL(call(&c, SCRIPT_KICK, ROOM, b.digest, t + 3, ARGS(cm.id)), E_NOT_HOST);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_KICK, ROOM, "", t + 3, ARGS(cm.id)), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(
        call(&c, SCRIPT_KICK, ROOM, a.digest, t + 3, ARGS("00000000-0000-4000-8000-000000000000")),
        E_USER_NOT_FOUND);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 4, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.left", seq + 1);
    CHECK_STR(o, "data.userId", b.id);
    CHECK_STR(o, "data.reason", "kicked");
    json_object_put(o);
    /* The kicked member hears its user.left on the old channel, which is then closed. */
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "close " ROOM "-1");

    /* The token is revoked: every member script refuses it. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, b.digest, t + 5, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, b.digest, t + 5, ARGS("")), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 5, ARGS("still here?")),
                    E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_LEAVE, ROOM, b.digest, t + 5, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "auth:{" ROOM "}")), 2);
    channel_is(&cm, ROOM "-2");
    /* Kicking again: the user is gone. The name is free. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 6, ARGS(b.id)), E_USER_NOT_FOUND);
    CU_ASSERT_EQUAL(join(&again, ROOM, "Bob", t + 7), E_OK);
    call_free(&c);
}

static void test_promote(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL(call(&c, SCRIPT_PROMOTE, ROOM, b.digest, t + 3, ARGS(cm.id)), E_NOT_HOST);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_PROMOTE, ROOM, b.digest, t + 3, ARGS(b.id)), E_NOT_HOST);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_PROMOTE, ROOM, a.digest, t + 3,
                         ARGS("00000000-0000-4000-8000-000000000000")),
                    E_USER_NOT_FOUND);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(is_host(&a, &b), 0);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PROMOTE, ROOM, a.digest, t + 4, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.promoted", seq + 1);
    CHECK_STR(o, "data.userId", b.id);
    json_object_put(o);
    CU_ASSERT_EQUAL(is_host(&a, &b), 1);
    CU_ASSERT_EQUAL(is_host(&a, &a), 1);

    /* Promoting a host again changes nothing. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PROMOTE, ROOM, a.digest, t + 5, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq + 1);
    /* The new host can do host things. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_KICK, ROOM, b.digest, t + 6, ARGS(cm.id)), E_OK);
    call_free(&c);
}

/* ---- chat ------------------------------------------------------------------------------------ */

static void test_chat_keeps_last_20_verbatim(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    static const char *const hostile[] = {
        "<img src=x onerror=alert(1)>",
        "  spaced  ",
        "quote \" backslash \\ slash / </script>",
        "\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8 unicode",
        "line\nbreak\ttab",
        "{\"json\":true}",
        "%s %n %d",
    };
    char texts[25][64];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    for (int i = 0; i < 25; i++) {
        const struct member *m = i % 2 ? &b : &a;
        long long seq = room_seq(ROOM);
        if (i >= 18)
            snprintf(texts[i], sizeof(texts[i]), "%s", hostile[i - 18]);
        else
            snprintf(texts[i], sizeof(texts[i]), "message %d", i);
        CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, m->digest, t + i, ARGS(texts[i])),
                              E_OK);
        CU_ASSERT_EQUAL(c.status, 201);
        o = jparse(c.body);
        CHECK_STR(o, "message.text", texts[i]);
        CHECK_STR(o, "message.userId", m->id);
        CHECK_STR(o, "message.userName", m->name);
        CHECK_INT(o, "message.id", seq + 1);
        CHECK_INT(o, "message.ts", t + i);
        json_object_put(o);
        CU_ASSERT_EQUAL(c.nev, 1);
        o = event(&c, 0, "chat.message", seq + 1);
        CHECK_STR(o, "data.message.text", texts[i]);
        json_object_put(o);
    }
    CU_ASSERT_EQUAL(redis_num(ARGS("LLEN", "chat:{" ROOM "}")), 20);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_GET, ROOM, b.digest, t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    o = jparse(c.body);
    CU_ASSERT_EQUAL(jlen(o, "messages"), 20);
    for (int i = 0; i < 20; i++) {
        char path[64];
        snprintf(path, sizeof(path), "messages.%d.text", i);
        CHECK_STR(o, path, texts[i + 5]); /* oldest first */
    }
    json_object_put(o);
    o = state(&a, ROOM, NULL);
    CU_ASSERT_EQUAL(jlen(o, "chat"), 20);
    CHECK_STR(o, "chat.19.text", texts[24]);
    json_object_put(o);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_GET, ROOM, "", t, NULL), E_UNAUTHORIZED);
    call_free(&c);
}

/* A NUL inside the text (the scripts are binary-safe) comes back as \u0000. */
static void test_chat_binary_safe(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct exec_call ec;
    const char *text[] = {"a\0b"};
    const size_t lens[] = {3};
    struct store_reply r;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(exec_prepare(&ec, ROOM, t, a.digest, 1, text, lens), E_OK);
    CU_ASSERT_EQUAL(ec.lens[EXEC_STD_ARGS], 3);
    CU_ASSERT_EQUAL_FATAL(
        store_eval(st, SCRIPT_CHAT_POST, EXEC_ROOM_KEYS, ec.keys, ec.argc, ec.argv, ec.lens, &r),
        E_OK);
    CU_ASSERT_TRUE(r.n >= 2 && r.items[1] != NULL && strstr(r.items[1], "a\\u0000b") != NULL);
    store_reply_free(&r);
}

static void test_chat_rate_limit(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    for (int i = 0; i < config.chat_rate; i++)
        CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + i, ARGS("x")), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 100, ARGS("x")), E_RATE_LIMITED);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Per member: Bob may still talk. A new window lets Alice talk again. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 100, ARGS("x")), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 10000, ARGS("x")), E_OK);
    call_free(&c);
}

/* ---- typing ---------------------------------------------------------------------------------- */

static void test_typing_events_only_on_change(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 10, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "typing", seq); /* typing does not advance seq */
    CHECK_STR(o, "data.userId", b.id);
    CHECK_STR(o, "data.userName", "Bob");
    CHECK_BOOL(o, "data.typing", 1);
    json_object_put(o);
    snprintf(want, sizeof(want), "timer typing %lld %s|%s", t + 10 + config.typing_ttl_ms, ROOM,
             b.id);
    check_followup(&c, 0, want);

    /* A refresh while typing: no event, the expiry moves. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 50, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer typing %lld %s|%s", t + 50 + config.typing_ttl_ms, ROOM,
             b.id);
    check_followup(&c, 0, want);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 60, ARGS("0")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "typing", seq);
    CHECK_BOOL(o, "data.typing", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 70, ARGS("0")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);

    /* After a stop, starting again is a change. An indicator past its time that pushd has not
     * expired yet still counts as typing (the others were never told otherwise), so a start
     * then is a refresh, not a change. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 100, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 100 + config.typing_ttl_ms, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_TYPING, ROOM, "", t, ARGS("1")), E_UNAUTHORIZED);
    call_free(&c);
}

static void test_typing_expire(void)
{
    long long t = 1700000000000LL, until = t + config.typing_ttl_ms;
    struct member a;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    long long seq = room_seq(ROOM);
    /* Not typing: nothing to expire. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", t, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, t, ARGS("1")), E_OK);
    /* Too early: the timer is set again for the real deadline. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until - 1, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer typing %lld %s|%s", until, ROOM, a.id);
    check_followup(&c, 0, want);
    /* Due: typing false, once. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "typing", seq);
    CHECK_STR(o, "data.userId", a.id);
    CHECK_BOOL(o, "data.typing", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until + 1, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);

    /* A chat message ends typing: nothing left to expire. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, t + 1000, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 1001, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", t + 1000 + config.typing_ttl_ms, ARGS(a.id)),
        E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    /* Gone users and rooms: nothing. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", t, ARGS("00000000-0000-4000-8000-000000000000")),
        E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, "NOROOM", "", t, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    call_free(&c);
}

/* Observers told "typing: true" must eventually be told "typing: false". A stop that arrives
 * once the indicator has run out but before pushd's typing_expire ran is not a change for
 * typing.lua (was = typingUntil > NOW is already false) and clears typingUntil, so
 * typing_expire finds nothing: no typing false is ever published. */
static void test_bug_typing_stop_at_expiry(void)
{
    long long t = 1700000000000LL, until = t + config.typing_ttl_ms;
    struct member a;
    struct call c = {0};
    size_t falses = 0;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, t, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(c.nev, 1);
    /* The stop lands at the deadline, pushd's tick a few ms later. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, until, ARGS("0")), E_OK);
    falses += c.nev;
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until + 5, ARGS(a.id)), E_OK);
    falses += c.nev;
    UNIT_CHECK(falses == 1, "typing false published %zu times after a typing true", falses);
    call_free(&c);
}

/* ---- video ----------------------------------------------------------------------------------- */

/* Runs a video op at time now and returns the video object of the reply (json_object_put the
 * returned root through *root). Checks the event matches the reply and seq moved by one. */
static json_object *video_op(struct call *c, const struct member *m, long long now, const char *op,
                             const char *value, json_object **root)
{
    long long seq = room_seq(ROOM);
    char type[32];
    json_object *ev;

    *root = NULL;
    if (call(c, SCRIPT_VIDEO, ROOM, m->digest, now, ARGS(op, value)) != E_OK) {
        UNIT_CHECK(0, "video %s %s: %s", op, value, err_code(c->e));
        return NULL;
    }
    CU_ASSERT_EQUAL(c->status, 200);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq + 1);
    snprintf(type, sizeof(type), "video.%s", op);
    ev = event(c, 0, type, seq + 1);
    *root = jparse(c->body);
    /* The event carries the same video as the reply. */
    UNIT_CHECK(ev != NULL && *root != NULL &&
                   json_object_equal(jget(ev, "data.video"), jget(*root, "video")),
               "video.%s event and reply differ", op);
    json_object_put(ev);
    return jget(*root, "video");
}

static void test_video_state_maths(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128];
    json_object *root, *v;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t, ARGS("play", "1")), E_NO_VIDEO);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, b.digest, t,
                         ARGS("set", "https://youtu.be/" YT, "youtube", YT)),
                    E_NOT_HOST);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, "", t, ARGS("pause", "1")), E_UNAUTHORIZED);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t,
                               ARGS("set", "https://youtu.be/" YT, "youtube", YT)),
                          E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nfu, 0); /* paused: no sync beacon */
    root = jparse(c.body);
    CHECK_STR(root, "video.url", "https://youtu.be/" YT);
    CHECK_STR(root, "video.kind", "youtube");
    CHECK_STR(root, "video.videoId", YT);
    CHECK_BOOL(root, "video.playing", 0);
    CHECK_NUM(root, "video.position", 0);
    CHECK_NUM(root, "video.rate", 1);
    CHECK_INT(root, "video.updatedAt", t);
    json_object_put(root);
    json_object_put(event(&c, 0, "video.set", seq + 1));

    v = video_op(&c, &a, t + 1000, "play", "10.000000", &root);
    CHECK_BOOL(v, "playing", 1);
    CHECK_NUM(v, "position", 10);
    CHECK_INT(v, "updatedAt", t + 1000);
    snprintf(want, sizeof(want), "timer sync %lld %s", t + 1000 + config.sync_interval_ms, ROOM);
    check_followup(&c, 0, want);
    json_object_put(root);

    /* Rate re-anchors: 4 s at 1x since the play at 10 s, so 14 s, then 2x. */
    v = video_op(&c, &a, t + 5000, "rate", "2.000000", &root);
    CHECK_NUM(v, "position", 14);
    CHECK_NUM(v, "rate", 2);
    CHECK_BOOL(v, "playing", 1);
    CHECK_INT(v, "updatedAt", t + 5000);
    json_object_put(root);
    /* 1.5 s at 2x: 17 s. */
    v = video_op(&c, &a, t + 6500, "rate", "0.500000", &root);
    CHECK_NUM(v, "position", 17);
    CHECK_NUM(v, "rate", 0.5);
    json_object_put(root);
    /* Seek keeps playing and the rate. */
    v = video_op(&c, &a, t + 7000, "seek", "20.250000", &root);
    CHECK_NUM(v, "position", 20.25);
    CHECK_BOOL(v, "playing", 1);
    CHECK_NUM(v, "rate", 0.5);
    CU_ASSERT_EQUAL(c.nfu, 1);
    json_object_put(root);
    v = video_op(&c, &a, t + 8000, "pause", "30.500000", &root);
    CHECK_BOOL(v, "playing", 0);
    CHECK_NUM(v, "position", 30.5);
    CU_ASSERT_EQUAL(c.nfu, 0);
    json_object_put(root);
    /* Paused: a rate change does not move the position. */
    v = video_op(&c, &a, t + 60000, "rate", "4.000000", &root);
    CHECK_NUM(v, "position", 30.5);
    CHECK_NUM(v, "rate", 4);
    CHECK_BOOL(v, "playing", 0);
    json_object_put(root);
    v = video_op(&c, &a, t + 61000, "seek", "5.000000", &root);
    CHECK_BOOL(v, "playing", 0);
    CHECK_NUM(v, "position", 5);
    json_object_put(root);

    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t, ARGS("stop", "1")), E_INVALID_FIELD);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, b.digest, t, ARGS("seek", "1")), E_NOT_HOST);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);

    /* A new video resets the state: paused at 0, rate 1, no YouTube id. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 70000,
                               ARGS("set", "https://cdn.e.com/x.m3u8?t=1", "hls", "")),
                          E_OK);
    root = jparse(c.body);
    CHECK_STR(root, "video.kind", "hls");
    CU_ASSERT_TRUE(jnull(root, "video.videoId"));
    CHECK_BOOL(root, "video.playing", 0);
    CHECK_NUM(root, "video.position", 0);
    CHECK_NUM(root, "video.rate", 1);
    json_object_put(root);
    root = state(&b, ROOM, NULL);
    CHECK_STR(root, "room.video.url", "https://cdn.e.com/x.m3u8?t=1");
    json_object_put(root);
    call_free(&c);
}

/* ---- presence and timeouts ------------------------------------------------------------------ */

static int online(const struct member *viewer, const struct member *m)
{
    json_object *s = state(viewer, ROOM, NULL);
    char path[64];
    int i = user_index(s, m->id), on = -1;

    if (i >= 0) {
        snprintf(path, sizeof(path), "room.users.%d.online", i);
        on = jbool(s, path);
    }
    json_object_put(s);
    return on;
}

/* The follow-ups of a lease opening (want_open) or closing for cid, held under IP by OWNER. */
static void check_lease_followups(const struct call *c, size_t from, int want_open, const char *cid)
{
    char want[160];

    snprintf(want, sizeof(want), "%s %s %s", want_open ? "subs_hold" : "subs_release", IP, cid);
    check_followup(c, from, want);
    snprintf(want, sizeof(want), "%s %s %s|%s", want_open ? "owner_add" : "owner_del", OWNER, ROOM,
             cid);
    check_followup(c, from + 1, want);
}

/* Whether cid holds a place under IP's cap and is in OWNER's set (the follow-ups ran). */
static int lease_indexed(const char *cid)
{
    char member[64];
    int held = redis_is(ARGS("ZSCORE", "subs:{" IP "}", cid), "inf");
    int owned;

    snprintf(member, sizeof(member), "%s|%s", ROOM, cid);
    owned = redis_num(ARGS("SISMEMBER", "owner:{" OWNER "}", member)) == 1;
    UNIT_CHECK(held == owned, "%s: held %d but owned %d", cid, held, owned);
    return held && owned;
}

/* Several tabs are one member online: only the first open and the last close announce. */
static void test_presence_transitions(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    long long seq = room_seq(ROOM);
    static const struct {
        const char *op, *cid;
        int event; /* -1 none, 0 offline, 1 online */
        int online;
        long long conns;
        size_t nfu;
    } steps[] = {
        {"open", CID1, 1, 1, 1, 2},   {"open", CID2, -1, 1, 2, 2}, {"open", CID1, -1, 1, 2, 0},
        {"close", CID1, -1, 1, 1, 2}, {"close", CID2, 0, 0, 0, 3}, {"open", CID3, 1, 1, 1, 2},
        {"open", CID3, -1, 1, 1, 0},  {"close", CID3, 0, 0, 0, 3},
    };

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        long long now = t + 100 * (long long)(i + 1);
        int open = strcmp(steps[i].op, "open") == 0;
        CU_ASSERT_EQUAL_FATAL(presence(&c, now, b.id, steps[i].op, ROOM "-1", steps[i].cid), E_OK);
        CU_ASSERT_EQUAL(c.status, 204);
        UNIT_CHECK(c.nev == (steps[i].event >= 0 ? 1u : 0u), "step %zu: %zu events", i, c.nev);
        if (steps[i].event >= 0 && c.nev == 1) {
            o = event(&c, 0, "user.presence", ++seq);
            CHECK_STR(o, "data.userId", b.id);
            CHECK_BOOL(o, "data.online", steps[i].event);
            json_object_put(o);
        }
        UNIT_CHECK(c.nfu == steps[i].nfu, "step %zu: %zu follow-ups, want %zu", i, c.nfu,
                   steps[i].nfu);
        if (steps[i].nfu >= 2)
            check_lease_followups(&c, 0, open, steps[i].cid);
        if (steps[i].event == 0) {
            /* Going offline starts the grace period. */
            snprintf(want, sizeof(want), "timer presence %lld %s|%s", now + config.grace_ms, ROOM,
                     b.id);
            check_followup(&c, 2, want);
            CU_ASSERT_EQUAL(member_num(b.id, "offlineSince"), now);
        }
        UNIT_CHECK(lease_indexed(steps[i].cid) == open, "step %zu: %s indexed is not %d", i,
                   steps[i].cid, open);
        UNIT_CHECK(online(&a, &b) == steps[i].online, "step %zu: online is not %d", i,
                   steps[i].online);
        UNIT_CHECK(member_num(b.id, "conns") == steps[i].conns, "step %zu: conns %lld want %lld", i,
                   member_num(b.id, "conns"), steps[i].conns);
        UNIT_CHECK(redis_num(ARGS("HLEN", "leases:{" ROOM "}")) == steps[i].conns,
                   "step %zu: %lld leases", i, redis_num(ARGS("HLEN", "leases:{" ROOM "}")));
        UNIT_CHECK(room_seq(ROOM) == seq, "step %zu: seq %lld want %lld", i, room_seq(ROOM), seq);
    }
    /* The owner stays in the instance's index (pushd forgets it once it is dead). */
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "owners:{wnc}", OWNER)), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "owner:{" OWNER "}")), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "subs:{" IP "}")), 0);
    call_free(&c);
}

/* The lease records who holds the connection; an open for a member or room that does not exist
 * only gives the place back. */
static void test_lease_open(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[256], buf[256];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", t + 1,
                               ARGS(b.id, "open", ROOM "-1", CID1, IP2, OWNER2)),
                          E_OK);
    snprintf(want, sizeof(want), "%s %s-1 %s %s", b.id, ROOM, IP2, OWNER2);
    UNIT_CHECK(lease_of(CID1, buf, sizeof(buf)) && strcmp(buf, want) == 0, "lease %s want %s",
               lease_of(CID1, buf, sizeof(buf)) ? buf : "(none)", want);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "subs_hold " IP2 " " CID1);
    check_followup(&c, 1, "owner_add " OWNER2 " " ROOM "|" CID1);
    CU_ASSERT_TRUE(redis_is(ARGS("ZSCORE", "subs:{" IP2 "}", CID1), "inf"));
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "owner:{" OWNER2 "}", ROOM "|" CID1)), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "owners:{wnc}", OWNER2)), 1);
    /* The lease key lives as long as the room. */
    long long ttl = redis_num(ARGS("TTL", "leases:{" ROOM "}"));
    CU_ASSERT_TRUE(ttl > 0 && ttl <= config.room_ttl_s);

    /* The same connection again (a hook retried): nothing changes, nothing is held twice. */
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + 2, ARGS(b.id, "open", ROOM "-1", CID1, IP, OWNER)),
        E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_TRUE(lease_of(CID1, buf, sizeof(buf)) && strcmp(buf, want) == 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 1);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "subs:{" IP "}")), 0);

    /* A member that is gone (or never was): no lease, only the place given back. */
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("ZADD", "subs:{" IP "}", "+inf", CID2)), 1);
    CU_ASSERT_EQUAL_FATAL(
        presence(&c, t + 3, "00000000-0000-4000-8000-000000000000", "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "subs_release " IP " " CID2);
    CU_ASSERT_PTR_NULL(lease_of(CID2, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "subs:{" IP "}")), 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* A room that does not exist: the same, and no key of it appears. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, "NOROOM", "", t + 3,
                               ARGS(b.id, "open", "NOROOM-1", CID3, IP, OWNER)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "subs_release " IP " " CID3);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

/* nchan's two hooks run on different threads, so a close can overtake its open: the close
 * leaves a tombstone and the late open is ignored, whatever the order. */
static void test_lease_close_before_open(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char buf[256];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    long long seq = room_seq(ROOM);
    /* The place the events handler reserved for the stream. */
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("ZADD", "subs:{" IP "}", "99999", CID1)), 1);

    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "subs_release " IP " " CID1);
    /* The owner's index is told too: a room deleted with its leases leaves no entry there. */
    check_followup(&c, 1, "owner_del " OWNER " " ROOM "|" CID1);
    CU_ASSERT_TRUE(lease_of(CID1, buf, sizeof(buf)) && strcmp(buf, "-") == 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "subs:{" IP "}")), 0);

    /* The late open: ignored (the connection is gone), the tombstone is cleared, and the place
     * its subscribe hook would hold is given back instead. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 2, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "subs_release " IP " " CID1);
    CU_ASSERT_PTR_NULL(lease_of(CID1, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(online(&a, &b), 0);
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);

    /* In order, the same connection counts once and goes offline once. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, b.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, b.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    /* A second close of it (a retried hook) counts nothing, announces nothing. */
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 5, b.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "subs_release " IP " " CID2);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Another tab still open is not closed by a stray close of an old connection. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 6, b.id, "open", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 7, b.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 1);
    CU_ASSERT_EQUAL(online(&a, &b), 1);
    call_free(&c);
}

/* pushd closes the leases of an nginx worker that died (no hook fires then): user id '',
 * channel '', limit key '-'; the lease itself says whose and where it was. */
static void test_lease_pushd_close(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128], buf[256];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_TRUE_FATAL(lease_indexed(CID1));
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + 2, ARGS("", "close", "", CID1, "-", OWNER)), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", seq + 1);
    CHECK_STR(o, "data.userId", b.id);
    CHECK_BOOL(o, "data.online", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 3);
    check_lease_followups(&c, 0, 0, CID1); /* from the lease's own limit key and owner */
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + 2 + config.grace_ms, ROOM, b.id);
    check_followup(&c, 2, want);
    CU_ASSERT_PTR_NULL(lease_of(CID1, buf, sizeof(buf)));
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);

    /* A lease already closed (by its hook, before pushd got there): only the owner's set
     * forgets it, and no tombstone is left (no open can follow a sweep). */
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("SADD", "owner:{" OWNER "}", ROOM "|" CID2)), 1);
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + 3, ARGS("", "close", "", CID2, "-", OWNER)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "owner_del " OWNER " " ROOM "|" CID2);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "owner:{" OWNER "}")), 0);
    CU_ASSERT_PTR_NULL(lease_of(CID2, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* The same for a tombstone, which stays for its late open. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, b.id, "close", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + 5, ARGS("", "close", "", CID3, "-", OWNER)), E_OK);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "owner_del " OWNER " " ROOM "|" CID3);
    CU_ASSERT_TRUE(lease_of(CID3, buf, sizeof(buf)) && strcmp(buf, "-") == 0);
    /* And in a room that is gone. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, "NOROOM", "", t + 6, ARGS("", "close", "", CID1, "-", OWNER)),
        E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "owner_del " OWNER " NOROOM|" CID1);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

/* A kick moves the room to a new channel and closes the old one, so every stream on it closes:
 * those closes announce nothing (the members are reconnecting), but still count. */
static void test_lease_retired_channel(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm;
    struct call c = {0};
    char want[128];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, cm.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 2, ARGS(cm.id)), E_OK);
    check_followup(&c, 0, "close " ROOM "-1");
    long long seq = room_seq(ROOM);

    /* Bob's stream on the closed channel ends: no offline event, but the count drops and the
     * grace period runs, in case he does not come back. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 3);
    check_lease_followups(&c, 0, 0, CID1);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + 3 + config.grace_ms, ROOM, b.id);
    check_followup(&c, 2, want);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(online(&a, &b), 1);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Carol's (she was kicked): the lease goes, nothing else happens. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, cm.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_lease_followups(&c, 0, 0, CID2);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "leases:{" ROOM "}")), 0);
    /* Bob reconnects onto the new channel: still online, so nothing to announce. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, b.id, "open", ROOM "-2", CID3), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 1);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Its close on the current channel does announce. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 5, b.id, "close", ROOM "-2", CID3), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    json_object_put(event(&c, 0, "user.presence", seq + 1));
    CU_ASSERT_EQUAL(online(&a, &b), 0);

    /* Had Bob not come back after another kick, the timer removes him after the grace period
     * (online all along as far as the others know, so user.left is what they hear). */
    struct member d;
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 6, b.id, "open", ROOM "-2", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 6), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 7, ARGS(d.id)), E_OK);
    check_followup(&c, 0, "close " ROOM "-2");
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 8, b.id, "close", ROOM "-2", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TIMEOUT, ROOM, "", t + 8 + config.grace_ms - 1, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", t + 8 + config.grace_ms, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    json_object_put(event(&c, 0, "user.left", room_seq(ROOM)));
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "members:{" ROOM "}", b.id)), 0);
    call_free(&c);
}

/* Long-poll fires no hooks: each poll keeps the member online for another grace period. */
static void test_presence_poll(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 100, b.id, "poll", ROOM "-1", "p1"), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    json_object_put(event(&c, 0, "user.presence", seq + 1));
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + 100 + config.grace_ms, ROOM,
             b.id);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(member_num(b.id, "pollSeen"), t + 100);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "leases:{" ROOM "}")), 0);
    CU_ASSERT_EQUAL(online(&a, &b), 1);
    /* The next poll: no event, the timer moves. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 200, b.id, "poll", ROOM "-1", "p1"), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + 200 + config.grace_ms, ROOM,
             b.id);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq + 1);
    /* The grace runs from the last poll. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TIMEOUT, ROOM, "", t + 200 + config.grace_ms - 1, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", t + 200 + config.grace_ms, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    /* Unknown members: a quiet 204. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 300, b.id, "poll", ROOM "-1", "p1"), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    call_free(&c);
}

static void test_timeout_grace(void)
{
    long long t = 1700000000000LL, off = t + 5000;
    struct member a, b, cm;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t), E_OK);
    /* Alice stays connected; Bob connects and drops at off; Carol never connects. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, a.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, b.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, off, b.id, "close", ROOM "-1", CID2), E_OK);

    /* Before the grace period is over: Bob stays, the timer is set for the real deadline. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", off + config.grace_ms - 1, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", off + config.grace_ms, ROOM, b.id);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(online(&a, &b), 0);

    /* A connected member is never timed out. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TIMEOUT, ROOM, "", off + 100 * (long long)config.grace_ms, ARGS(a.id)),
        E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);

    /* Carol never connected: her grace runs from her join. */
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", t + config.grace_ms, ARGS(cm.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.left", seq + 1);
    CHECK_STR(o, "data.userId", cm.id);
    CHECK_STR(o, "data.reason", "timeout");
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 0); /* a timeout moves nobody: no linger, no close */
    channel_is(&a, ROOM "-1");

    /* Bob at his deadline: removed. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", off + config.grace_ms, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.left", seq + 2);
    CHECK_STR(o, "data.userId", b.id);
    CHECK_STR(o, "data.reason", "timeout");
    json_object_put(o);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, b.digest, t, NULL), E_UNAUTHORIZED);
    /* Again: already gone, nothing happens. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TIMEOUT, ROOM, "", off + 2 * (long long)config.grace_ms, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    o = state(&a, ROOM, NULL);
    CU_ASSERT_EQUAL(jlen(o, "room.users"), 1);
    json_object_put(o);
    call_free(&c);
}

static void test_timeout_of_host_and_last_member(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", t + config.grace_ms, ARGS(a.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 2);
    json_object_put(event(&c, 0, "user.left", 2));
    o = event(&c, 1, "user.promoted", 3);
    CHECK_STR(o, "data.userId", b.id);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 0);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", t + 1 + config.grace_ms, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 2);
    json_object_put(event(&c, 1, "room.closed", 5));
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "unindex " ROOM);
    check_followup(&c, 1, "close " ROOM "-1");
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
    call_free(&c);
}

/* ---- pushd's scripts ---------------------------------------------------------------------- */

static void test_sync_beacon(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};
    char want[128];
    json_object *o, *s;

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0); /* no video */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VIDEO, ROOM, a.digest, t, ARGS("set", "https://e.com/a.mp4", "file", "")),
        E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0); /* paused */

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 10, ARGS("play", "3")), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t + 2000, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "video.sync", seq); /* sync does not advance seq */
    s = state(&a, ROOM, NULL);
    CU_ASSERT_TRUE(o != NULL && s != NULL &&
                   json_object_equal(jget(o, "data.video"), jget(s, "room.video")));
    CHECK_BOOL(o, "data.video.playing", 1);
    CHECK_INT(o, "at", t + 2000);
    json_object_put(o);
    json_object_put(s);
    snprintf(want, sizeof(want), "timer sync %lld %s", t + 2000 + config.sync_interval_ms, ROOM);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:sync", ROOM)),
                    t + 2000 + config.sync_interval_ms);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 3000, ARGS("pause", "4")),
                          E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t + 4000, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    call_free(&c);
}

/* Claims entries of a timer set at now, at most limit; appends them to got[*n]. */
static size_t claim(const char *key, const char *now, const char *limit, char got[][16], size_t *n)
{
    const char *keys[] = {key}, *args[] = {now, limit};
    struct store_reply r;
    size_t count = 0;

    if (store_eval(st, SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r) != E_OK) {
        CU_FAIL("claim failed");
        return 0;
    }
    for (size_t i = 0; i < r.n; i++, count++)
        if (*n < 32 && r.items[i] != NULL)
            snprintf(got[(*n)++], 16, "%s", r.items[i]);
    store_reply_free(&r);
    return count;
}

static void test_claim_never_twice(void)
{
    char got[32][16];
    size_t n = 0;
    struct store *other = unit_redis_open();

    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    for (int i = 1; i <= 10; i++) {
        char score[16], member[16];
        snprintf(score, sizeof(score), "%d", i * 10);
        snprintf(member, sizeof(member), "e%d", i);
        CU_ASSERT_EQUAL(redis_num(ARGS("ZADD", "timers:t", score, member)), 1);
    }
    CU_ASSERT_EQUAL(claim("timers:t", "5", "10", got, &n), 0); /* nothing due */
    CU_ASSERT_EQUAL(claim("timers:t", "50", "3", got, &n), 3);
    CU_ASSERT_EQUAL(claim("timers:t", "50", "10", got, &n), 2);
    CU_ASSERT_EQUAL(claim("timers:t", "50", "10", got, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    for (size_t i = 0; i < n; i++) {
        char want[24];
        snprintf(want, sizeof(want), "e%zu", i + 1); /* in due order */
        CU_ASSERT_STRING_EQUAL(got[i], want);
    }
    /* A second store (another pushd) and this one take turns: still each entry once. */
    struct store *mine = st;
    for (int round = 0; round < 10; round++) {
        st = round % 2 ? mine : other;
        claim("timers:t", "1000", "1", got, &n);
    }
    st = mine;
    CU_ASSERT_EQUAL(n, 10);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            UNIT_CHECK(strcmp(got[i], got[j]) != 0, "%s claimed twice", got[i]);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:t")), 0);
    store_close(other);
}

static void test_room_gc(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t, a.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TICKET, ROOM, a.digest, t, ARGS("ab12", "30000")), E_OK);
    long long keys = room_key_count(ROOM);
    CU_ASSERT_EQUAL(keys, EXEC_ROOM_KEYS);

    /* A live room is left alone. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ROOM_GC, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_EQUAL(room_key_count(ROOM), keys);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 1);

    /* The state expired (as its TTL would make it): the leftovers and the index entry go. */
    CU_ASSERT_EQUAL(redis_num(ARGS("DEL", "room:{" ROOM "}")), 1);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ROOM_GC, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "unindex " ROOM);
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
    /* Another room is untouched. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_ROOM_GC, "OTHER1", "", t, NULL), E_OK);
    call_free(&c);
}

static void test_ratelimit(void)
{
    const char *keys[] = {"rl:{127.0.0.1}"}, *args[] = {"0", "60"};
    struct store_reply r;

    for (int i = 1; i <= 3; i++) {
        CU_ASSERT_EQUAL_FATAL(store_eval(st, SCRIPT_RATELIMIT, 1, keys, 2, args, NULL, &r), E_OK);
        CU_ASSERT_EQUAL(r.n, 2);
        if (r.n == 2) {
            CU_ASSERT_EQUAL(atoi(r.items[0]), i);
            CU_ASSERT_TRUE(atoi(r.items[1]) > 0 && atoi(r.items[1]) <= 60);
        }
        store_reply_free(&r);
    }
    /* A counter that lost its TTL gets one again. */
    CU_ASSERT_EQUAL(redis_num(ARGS("PERSIST", "rl:{127.0.0.1}")), 1);
    CU_ASSERT_EQUAL_FATAL(store_eval(st, SCRIPT_RATELIMIT, 1, keys, 2, args, NULL, &r), E_OK);
    CU_ASSERT_TRUE(r.n == 2 && atoi(r.items[1]) == 60);
    store_reply_free(&r);
    CU_ASSERT_TRUE(redis_num(ARGS("TTL", "rl:{127.0.0.1}")) > 0);
}

/* After an nginx worker died, pushd moves rooms to new channels (rotate.lua): the old one is
 * closed, nothing is announced, seq does not move; a room that is gone is left alone. */
static void test_rotate(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ROTATE, ROOM, "", t + 1, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "close " ROOM "-1");
    channel_is(&a, ROOM "-2");
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ROTATE, ROOM, "", t + 2, NULL), E_OK);
    check_followup(&c, 0, "close " ROOM "-2");
    channel_is(&a, ROOM "-3");
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ROTATE, "NOROOM", "", t + 3, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

/* pushd's heartbeat: one non-advancing event carrying the period; nothing for a gone room. */
static void test_heartbeat(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, ROOM, "", t + 1, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_EQUAL_FATAL(c.nev, 1);
    o = event(&c, 0, "heartbeat", seq);
    CU_ASSERT_EQUAL(json_object_get_int64(jget(o, "data.every")), 15000);
    json_object_put(o);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, "NOROOM", "", t + 2, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    call_free(&c);
}

/* ---- leave without rotation, linger ------------------------------------------------------- */

/* A leave moves nobody else: the room keeps its channel, and linger.lua (a few seconds later)
 * retires it only if the leaver still holds a stream open. */
static void test_leave_then_linger(void)
{
    long long t = 1700000000000LL, at = t + 10 + 5000;
    struct member a, b, cm, d;
    struct call c = {0};
    char want[128], entry[64];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 3), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, cm.id, "open", ROOM "-1", CID2), E_OK);

    /* Bob leaves but his client keeps its stream open. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, b.digest, t + 10, NULL), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer linger %lld %s|%s", at, ROOM, b.id);
    check_followup(&c, 0, want);
    snprintf(entry, sizeof(entry), "%s|%s", ROOM, b.id);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:linger", entry)), at);
    channel_is(&a, ROOM "-1");
    long long seq = room_seq(ROOM);

    /* The check: his lease is still open, so the room moves on and the old channel closes
     * (which ends his stream). Nothing is announced. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, ROOM, "", at, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "close " ROOM "-1");
    channel_is(&a, ROOM "-2");
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* His stream's close hook then removes the lease; Carol's close on the retired channel does
     * not announce her offline (she reconnects). */
    CU_ASSERT_EQUAL_FATAL(presence(&c, at + 1, b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_lease_followups(&c, 0, 0, CID1);
    CU_ASSERT_EQUAL_FATAL(presence(&c, at + 1, cm.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "leases:{" ROOM "}")), 0);
    /* A check after that: nothing left open, nothing happens. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, ROOM, "", at + 2, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    channel_is(&a, ROOM "-2");

    /* Dave leaves and his client closes its streams (it had none): the check finds nothing. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, d.digest, t + 20, NULL), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, ROOM, "", t + 20 + 5000, ARGS(d.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    channel_is(&a, ROOM "-2");
    /* Another member's open lease does not count against the leaver. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 30, cm.id, "open", ROOM "-2", CID3), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, ROOM, "", t + 30, ARGS(d.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    /* A member still in the room (a stale or forged entry) is left alone, open lease or not. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, ROOM, "", t + 30, ARGS(cm.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    channel_is(&a, ROOM "-2");
    /* A room that is gone: nothing. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, "NOROOM", "", t + 30, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

/* ---- kick: the room moves to a new channel ------------------------------------------------- */

static void test_kick_rotates_the_channel(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm, d;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 3), E_OK);
    long long seq = room_seq(ROOM);

    /* The events of a kick go out on the channel the kicked member listens to. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 4, ARGS(b.id)), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nev, 1);
    json_object_put(event(&c, 0, "user.left", seq + 1));
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "close " ROOM "-1");
    CU_ASSERT_TRUE(redis_is(ARGS("HGET", "room:{" ROOM "}", "epoch"), "2"));
    /* Everything after goes out on the new one. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, cm.digest, t + 5, ARGS("hi")), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
    channel_is(&cm, ROOM "-2");

    /* A host kicked (by another host): hand-off events, still on the old channel. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PROMOTE, ROOM, a.digest, t + 6, ARGS(d.id)), E_OK);
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, d.digest, t + 7, ARGS(a.id)), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
    CU_ASSERT_EQUAL(c.nev, 1); /* Dave is still host: no promotion */
    check_followup(&c, 0, "close " ROOM "-2");
    channel_is(&cm, ROOM "-3");
    /* A refused kick moves nothing. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_KICK, ROOM, cm.digest, t + 8, ARGS(d.id)), E_NOT_HOST);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_KICK, ROOM, d.digest, t + 8, ARGS(b.id)), E_USER_NOT_FOUND);
    channel_is(&cm, ROOM "-3");
    CU_ASSERT_EQUAL(room_seq(ROOM), seq + 1);

    /* The last member kicking itself: the room is gone, leaves the index, its channel closes
     * (room.closed went out on it first). */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, d.digest, t + 9, ARGS(cm.id)), E_OK);
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, d.digest, t + 10, ARGS(d.id)), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-4");
    CU_ASSERT_EQUAL(c.nev, 2);
    o = event(&c, 0, "user.left", seq + 1);
    CHECK_STR(o, "data.reason", "kicked");
    json_object_put(o);
    json_object_put(event(&c, 1, "room.closed", seq + 2));
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "unindex " ROOM);
    check_followup(&c, 1, "close " ROOM "-4");
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
    call_free(&c);
}

/* ---- tickets ------------------------------------------------------------------------------- */

#define TICKET_MS "30000"

/* Issues ticket digest for m at now; returns the call's error and checks the reply. */
static enum wnc_err ticket(const struct member *m, const char *digest, long long now,
                           const char *lifetime)
{
    struct call c = {0};
    enum wnc_err e = call(&c, SCRIPT_TICKET, ROOM, m->digest, now, ARGS(digest, lifetime));

    if (e == E_OK) {
        UNIT_CHECK(c.status == 201 && atoll(c.body) == now + atoll(lifetime),
                   "ticket: status %d, expiresAt %s", c.status, c.body);
        UNIT_CHECK(c.nev + c.nfu == 0, "ticket: %zu events, %zu follow-ups", c.nev, c.nfu);
    }
    call_free(&c);
    return e;
}

/* Consumes ticket digest at now (no bearer token); on E_OK *uid_ok says the body was uid. */
static enum wnc_err consume(const char *digest, long long now, const char *uid)
{
    struct call c = {0};
    enum wnc_err e = call(&c, SCRIPT_SUBSCRIBE, ROOM, "", now, ARGS(digest));

    if (e == E_OK)
        UNIT_CHECK(c.status == 200 && uid != NULL && strcmp(c.body, uid) == 0 && c.nev == 0,
                   "subscribe by ticket: status %d, body %s, want %s", c.status, c.body,
                   uid ? uid : "(refusal)");
    call_free(&c);
    return e;
}

static void test_ticket_issue_and_consume(void)
{
    long long t = 1700000000000LL;
    struct member a, b, x;
    char want[128];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(identity(&x, ROOM, "Mallory"), 0); /* never joined */
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(ticket(&b, "t1", t + 10, TICKET_MS), E_OK);
    /* Only the digest is stored, with its member and expiry, for as long as the room. */
    snprintf(want, sizeof(want), "%s %lld", b.id, t + 10 + 30000);
    CU_ASSERT_TRUE(redis_is(ARGS("HGET", "tickets:{" ROOM "}", "t1"), want));
    long long pttl = redis_num(ARGS("PTTL", "tickets:{" ROOM "}"));
    CU_ASSERT_TRUE(pttl > 0 && pttl <= (long long)config.room_ttl_s * 1000);

    /* Consumed: Bob's id and the room's channel, whoever calls. */
    CU_ASSERT_EQUAL(consume("t1", t + 20, b.id), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "t1")), 0);
    /* Single use. */
    CU_ASSERT_EQUAL(consume("t1", t + 21, NULL), E_UNAUTHORIZED);
    /* A token is not a ticket, nor an unknown digest; neither is refused quietly. */
    CU_ASSERT_EQUAL(consume(b.digest, t + 21, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(consume("t404", t + 21, NULL), E_UNAUTHORIZED);
    /* A ticket is the credential when there is one: a bearer token does not rescue a bad one. */
    struct call c = {0};
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, b.digest, t + 21, ARGS("t404")),
                    E_UNAUTHORIZED);
    call_free(&c);

    /* Expiry: valid until the last millisecond before expiresAt, consumed even when expired. */
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "t2", t + 100, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "t3", t + 100, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL(consume("t2", t + 100 + 30000 - 1, b.id), E_OK);
    CU_ASSERT_EQUAL(consume("t3", t + 100 + 30000, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "t3")), 0);

    /* Only members get tickets. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_TICKET, ROOM, "", t, ARGS("t9", TICKET_MS)), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(ticket(&x, "t9", t, TICKET_MS), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_TICKET, "NOROOM", b.digest, t, ARGS("t9", TICKET_MS)),
                    E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, "NOROOM", "", t, ARGS("t9")), E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "t9")), 0);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    call_free(&c);
}

/* A ticket opens nothing once its member is gone; other members' removals do not touch it. */
static void test_ticket_of_removed_member(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm, d;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "tb", t + 1, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL_FATAL(ticket(&cm, "tc", t + 1, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL_FATAL(ticket(&d, "td", t + 1, TICKET_MS), E_OK);

    struct call c = {0};
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 2, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, d.digest, t + 3, NULL), E_OK);
    call_free(&c);
    CU_ASSERT_EQUAL(consume("tb", t + 4, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(consume("td", t + 4, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(consume("tc", t + 4, cm.id), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 0);
    /* The removed members' ticket rate counters went with them; Carol's stays. */
    char field[64];
    snprintf(field, sizeof(field), "%s|ticket", b.id);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "limits:{" ROOM "}", field)), 0);
    snprintf(field, sizeof(field), "%s|ticket", d.id);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "limits:{" ROOM "}", field)), 0);
    snprintf(field, sizeof(field), "%s|ticket", cm.id);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "limits:{" ROOM "}", field)), 1);
}

/* Expired tickets are swept once the hash has TICKETS_SWEEP_AT (64) fields, at most every 10 s;
 * live ones stay. */
static void test_ticket_sweep(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm;
    char d[16];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t), E_OK);
    /* 60 short-lived tickets and 3 long-lived ones: 63 fields, under the threshold. */
    for (int i = 0; i < 60; i++) {
        snprintf(d, sizeof(d), "s%d", i);
        CU_ASSERT_EQUAL_FATAL(ticket(&a, d, t + i, "1000"), E_OK);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(d, sizeof(d), "l%d", i);
        CU_ASSERT_EQUAL_FATAL(ticket(&b, d, t + i, "600000"), E_OK);
    }
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 63);
    /* Long after they expired, 63 fields: no sweep, the new one makes 64. */
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "n1", t + 5000, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 64);
    /* 64 fields: the next issue sweeps every expired one (and not n1, l0-l2). */
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "n2", t + 5001, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 5);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "l2")), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "n1")), 1);

    /* Refill past the threshold with tickets that expire at once, and one that expires exactly
     * at the next sweep: no sweep within 10 s of the last one... */
    for (int i = 0; i < 70; i++) {
        snprintf(d, sizeof(d), "r%d", i);
        CU_ASSERT_EQUAL_FATAL(ticket(&cm, d, t + 6000 + i, "1"), E_OK);
    }
    CU_ASSERT_EQUAL_FATAL(ticket(&cm, "edge", t + 6000, "9001"), E_OK); /* expires t + 15001 */
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 76);
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "n3", t + 5001 + 10000 - 1, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 77);
    /* ...then one: the 70, and the ticket expiring at that very instant, go. */
    CU_ASSERT_EQUAL_FATAL(ticket(&b, "n4", t + 5001 + 10000, TICKET_MS), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "tickets:{" ROOM "}")), 7);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "r0")), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "edge")), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "n1")), 1); /* t + 35000 */
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "n3")), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "l0")), 1);
    /* What stayed can still be used. */
    CU_ASSERT_EQUAL(consume("l1", t + 5001 + 10000, b.id), E_OK);
    CU_ASSERT_EQUAL(consume("n1", t + 5001 + 10000, b.id), E_OK);
}

/* Tickets count against the member's control rate, per member and window. */
static void test_ticket_rate_limit(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    char d[16];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    for (int i = 0; i < config.control_rate; i++) {
        snprintf(d, sizeof(d), "a%d", i);
        CU_ASSERT_EQUAL_FATAL(ticket(&a, d, t + i, TICKET_MS), E_OK);
    }
    CU_ASSERT_EQUAL(ticket(&a, "over", t + 200, TICKET_MS), E_RATE_LIMITED);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "tickets:{" ROOM "}", "over")), 0);
    CU_ASSERT_EQUAL(ticket(&b, "b0", t + 200, TICKET_MS), E_OK);
    /* Its own class: chat and the other controls are not used up by tickets. */
    struct call c = {0};
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 300, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 300,
                         ARGS("set", "https://e.com/a.mp4", "file", "")),
                    E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_PROMOTE, ROOM, a.digest, t + 301, ARGS(b.id)), E_OK);
    /* A new window lets Alice have tickets again. */
    CU_ASSERT_EQUAL(ticket(&a, "later", t + 10000, TICKET_MS), E_OK);
    call_free(&c);
}

/* ---- the per-address subscription cap -------------------------------------------------------- */

/* subs_reserve.lua for the address key at now: returns its answer (1 taken, 0 refused). */
static int reserve(const char *key, long long now, int cap, const char *cid, long long until)
{
    char now_s[24], cap_s[16], until_s[24];
    const char *keys[] = {key}, *args[] = {now_s, cap_s, cid, until_s};
    struct store_reply r;
    int v = -1;

    snprintf(now_s, sizeof(now_s), "%lld", now);
    snprintf(cap_s, sizeof(cap_s), "%d", cap);
    snprintf(until_s, sizeof(until_s), "%lld", until);
    if (store_eval(st, SCRIPT_SUBS_RESERVE, 1, keys, 4, args, NULL, &r) != E_OK)
        return -1;
    if (r.n == 1 && r.items[0] != NULL)
        v = atoi(r.items[0]);
    store_reply_free(&r);
    return v;
}

static void test_subs_reserve(void)
{
    const char *key = "subs:{" IP "}";

    /* Three places, the fourth refused, whatever its id. */
    CU_ASSERT_EQUAL(reserve(key, 1000, 3, CID1, 2000), 1);
    CU_ASSERT_EQUAL(reserve(key, 1000, 3, CID2, 2000), 1);
    CU_ASSERT_EQUAL(reserve(key, 1001, 3, CID3, 2500), 1);
    CU_ASSERT_EQUAL(reserve(key, 1002, 3, "00000000000000c4", 3000), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", key)), 3);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", key, "00000000000000c4")), -1);
    long long ttl = redis_num(ARGS("TTL", key));
    CU_ASSERT_TRUE(ttl > 0 && ttl <= 86400);
    /* A connection that holds a place keeps it at the cap (a member's next long-poll), and its
     * time moves. */
    CU_ASSERT_EQUAL(reserve(key, 1500, 3, CID1, 9000), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", key, CID1)), 9000);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", key)), 3);
    /* Another address has its own places. */
    CU_ASSERT_EQUAL(reserve("subs:{" IP2 "}", 1500, 3, "00000000000000c4", 3000), 1);
    /* A place runs out at its time (a stream whose subscribe hook never came): at 2000, CID2's
     * is gone, so there is room for one. */
    CU_ASSERT_EQUAL(reserve(key, 2000, 3, "00000000000000c4", 4000), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", key, CID2)), -1);
    CU_ASSERT_EQUAL(reserve(key, 2000, 3, "00000000000000c5", 4000), 0);
    /* A place its hook holds (subs_hold: +inf) never runs out; one released frees a place. */
    CU_ASSERT_EQUAL(exec_followup(st, NULL, ROOM, "subs_hold " IP " " CID3), E_OK);
    CU_ASSERT_EQUAL(reserve(key, 1000000, 3, "00000000000000c5", 1000100), 1);
    CU_ASSERT_TRUE(redis_is(ARGS("ZSCORE", key, CID3), "inf"));
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", key)), 2); /* CID1 and c4 expired */
    CU_ASSERT_EQUAL(reserve(key, 1000000, 2, "00000000000000c6", 1000100), 0);
    CU_ASSERT_EQUAL(exec_followup(st, NULL, ROOM, "subs_release " IP " " CID3), E_OK);
    CU_ASSERT_EQUAL(reserve(key, 1000000, 2, "00000000000000c6", 1000100), 1);
    /* A cap of 0 refuses every new connection. */
    CU_ASSERT_EQUAL(reserve("subs:{10.0.0.1}", 0, 0, CID1, 100), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "subs:{10.0.0.1}")), 0);
}

/* ---- exec_prepare --------------------------------------------------------------------------- */

/* The layout every room script reads (sql/lib.lua): nine keys in the room's slot, the standard
 * arguments from config, then the script's own. */
static void test_exec_prepare_layout(void)
{
    static const char *const want_keys[EXEC_ROOM_KEYS] = {
        "room:{" ROOM "}",  "members:{" ROOM "}", "names:{" ROOM "}",
        "auth:{" ROOM "}",  "chat:{" ROOM "}",    "limits:{" ROOM "}",
        "users:{" ROOM "}", "leases:{" ROOM "}",  "tickets:{" ROOM "}"};
    struct exec_call ec;
    const char *own[EXEC_MAX_ARGS] = {"x", "", "z"};
    char want[32];

    CU_ASSERT_EQUAL_FATAL(EXEC_ROOM_KEYS, 9);
    CU_ASSERT_EQUAL_FATAL(exec_prepare(&ec, ROOM, 1700000000123LL, "dd", 3, own, NULL), E_OK);
    for (int k = 0; k < EXEC_ROOM_KEYS; k++)
        UNIT_CHECK(strcmp(ec.keys[k], want_keys[k]) == 0, "key %d: %s want %s", k, ec.keys[k],
                   want_keys[k]);
    CU_ASSERT_EQUAL(ec.argc, EXEC_STD_ARGS + 3);
    CU_ASSERT_STRING_EQUAL(ec.argv[0], "1700000000123");
    snprintf(want, sizeof(want), "%d", config.room_ttl_s);
    CU_ASSERT_STRING_EQUAL(ec.argv[1], want);
    snprintf(want, sizeof(want), "%d", config.grace_ms);
    CU_ASSERT_STRING_EQUAL(ec.argv[2], want);
    snprintf(want, sizeof(want), "%d", config.sync_interval_ms);
    CU_ASSERT_STRING_EQUAL(ec.argv[6], want);
    CU_ASSERT_STRING_EQUAL(ec.argv[7], "dd");
    CU_ASSERT_STRING_EQUAL(ec.argv[8], "x");
    CU_ASSERT_EQUAL(ec.lens[9], 0);
    CU_ASSERT_STRING_EQUAL(ec.argv[10], "z");
    CU_ASSERT_EQUAL(exec_prepare(&ec, ROOM, 0, "", EXEC_MAX_ARGS + 1, own, NULL), E_INTERNAL);
    CU_ASSERT_EQUAL(exec_prepare(&ec, ROOM, 0, "", -1, own, NULL), E_INTERNAL);
}

/* ---- seq ------------------------------------------------------------------------------------- */

/* seq moves by one per state change (one per event that changes state) and never for typing,
 * sync beacons, reads or refused requests; every event carries the seq it produced. */
static void test_seq(void)
{
    long long t = 1700000000000LL;
    struct member a, b, x;
    struct call c = {0};
    static const char *const yt[] = {"set", "https://youtu.be/" YT, "youtube", YT, NULL};
    struct {
        const char *what;
        enum script_id script;
        const struct member *m;
        const char *const *args;
        long long delta;
    } steps[] = {
        {"typing", SCRIPT_TYPING, &b, ARGS("1"), 0},
        {"typing stop", SCRIPT_TYPING, &b, ARGS("0"), 0},
        {"chat", SCRIPT_CHAT_POST, &b, ARGS("hi"), 1},
        {"chat get", SCRIPT_CHAT_GET, &b, NULL, 0},
        {"state", SCRIPT_STATE, &b, NULL, 0},
        {"video set", SCRIPT_VIDEO, &a, yt, 1},
        {"play", SCRIPT_VIDEO, &a, ARGS("play", "1"), 1},
        {"sync", SCRIPT_SYNC_BEACON, NULL, NULL, 0},
        {"presence on", SCRIPT_PRESENCE, NULL, ARGS(b.id, "open", ROOM "-1", CID1, IP, OWNER), 1},
        {"presence 2nd tab", SCRIPT_PRESENCE, NULL, ARGS(b.id, "open", ROOM "-1", CID2, IP, OWNER),
         0},
        {"same lease again", SCRIPT_PRESENCE, NULL, ARGS(b.id, "open", ROOM "-1", CID2, IP, OWNER),
         0},
        {"close a tab", SCRIPT_PRESENCE, NULL, ARGS(b.id, "close", ROOM "-1", CID1, IP, OWNER), 0},
        {"close the last", SCRIPT_PRESENCE, NULL, ARGS(b.id, "close", ROOM "-1", CID2, IP, OWNER),
         1},
        {"close again", SCRIPT_PRESENCE, NULL, ARGS(b.id, "close", ROOM "-1", CID2, IP, OWNER), 0},
        {"poll", SCRIPT_PRESENCE, NULL, ARGS(b.id, "poll", ROOM "-1", "p1", IP, ""), 1},
        {"poll again", SCRIPT_PRESENCE, NULL, ARGS(b.id, "poll", ROOM "-1", "p1", IP, ""), 0},
        {"promote", SCRIPT_PROMOTE, &a, ARGS(b.id), 1},
        {"promote again", SCRIPT_PROMOTE, &a, ARGS(b.id), 0},
        {"refused video", SCRIPT_VIDEO, &x, ARGS("play", "1"), 0},
        {"subscribe", SCRIPT_SUBSCRIBE, &a, ARGS(""), 0},
        {"ticket", SCRIPT_TICKET, &a, ARGS("ab12", "30000"), 0},
        {"subscribe by ticket", SCRIPT_SUBSCRIBE, NULL, ARGS("ab12"), 0},
        {"summary", SCRIPT_SUMMARY, NULL, NULL, 0},
        {"rate", SCRIPT_VIDEO, &b, ARGS("rate", "2"), 1},
        {"linger of a member still here", SCRIPT_LINGER, NULL, ARGS(a.id), 0},
    };

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL(room_seq(ROOM), 0);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL(room_seq(ROOM), 1);
    CU_ASSERT_EQUAL_FATAL(identity(&x, ROOM, "Mallory"), 0); /* never joined */
    long long seq = 1;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        enum wnc_err e = call(&c, steps[i].script, ROOM, steps[i].m ? steps[i].m->digest : "",
                              t + 10 + (long long)i, steps[i].args);
        UNIT_CHECK(e == E_OK || steps[i].m == &x, "%s: %s", steps[i].what, err_code(e));
        seq += steps[i].delta;
        UNIT_CHECK(room_seq(ROOM) == seq, "%s: seq %lld want %lld", steps[i].what, room_seq(ROOM),
                   seq);
        for (size_t k = 0; e == E_OK && k < c.nev; k++) {
            json_object *o = jparse(c.ev[k]);
            UNIT_CHECK(jint(o, "seq") == seq, "%s: event seq %lld want %lld", steps[i].what,
                       jint(o, "seq"), seq);
            json_object_put(o);
        }
    }
    call_free(&c);
}

/* ---- through exec_room, NULL publisher, real clock ------------------------------------------ */

static enum wnc_err run(struct exec_result *r, enum script_id script, const char *digest,
                        const char *const *args)
{
    int nargs = 0;

    while (args != NULL && args[nargs] != NULL)
        nargs++;
    exec_result_free(r);
    return exec_room(st, NULL, script, ROOM, digest, nargs, (const char **)args, NULL, r);
}

static void test_exec_room_every_script(void)
{
    struct member a, b;
    struct exec_result r = {0};
    char max[16];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(identity(&a, ROOM, "Alice"), 0);
    CU_ASSERT_EQUAL_FATAL(identity(&b, ROOM, "Bob"), 0);
    snprintf(max, sizeof(max), "%d", config.max_users);

    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_CREATE, a.digest, ARGS(a.id, a.name, a.key)), E_OK);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_STRING_EQUAL(r.channel, ROOM "-1");
    CU_ASSERT_EQUAL(r.body_len, strlen(r.body));
    o = jparse(r.body);
    CHECK_STR(o, "roomId", ROOM);
    long long created = jint(o, "room.createdAt");
    CU_ASSERT_TRUE(llabs(created - exec_now_ms()) < 5000); /* the server's clock */
    json_object_put(o);
    /* The follow-ups ran: the index and the presence timer. */
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:presence")), 1);

    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_JOIN, b.digest, ARGS(b.id, b.name, b.key, max)), E_OK);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_STATE, b.digest, NULL), E_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_SUMMARY, "", NULL), E_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_SUBSCRIBE, b.digest, ARGS("")), E_OK);
    CU_ASSERT_STRING_EQUAL(r.body, b.id);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_TICKET, b.digest, ARGS("ab12", "30000")), E_OK);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_TRUE(llabs(atoll(r.body) - 30000 - exec_now_ms()) < 5000);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_SUBSCRIBE, "", ARGS("ab12")), E_OK);
    CU_ASSERT_STRING_EQUAL(r.body, b.id);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "open", ROOM "-1", CID1, IP, OWNER)),
                    E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    /* Its follow-ups ran: the place is held, the owner knows the lease. */
    CU_ASSERT_TRUE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(run(&r, SCRIPT_CHAT_POST, b.digest, ARGS("hello")), E_OK);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_CHAT_GET, b.digest, NULL), E_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"hello\""));
    CU_ASSERT_EQUAL(run(&r, SCRIPT_TYPING, b.digest, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:typing")), 1);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_TYPING_EXPIRE, "", ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_VIDEO, a.digest, ARGS("set", "https://e.com/a.mp4", "file", "")),
                    E_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_VIDEO, a.digest, ARGS("play", "0.000000")), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:sync")), 1);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_SYNC_BEACON, "", NULL), E_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_TIMEOUT, "", ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_ROOM_GC, "", NULL), E_OK);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_PROMOTE, a.digest, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    /* kick returns a "close <channel>" follow-up: harmless without a publisher. */
    CU_ASSERT_EQUAL(run(&r, SCRIPT_KICK, b.digest, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_STRING_EQUAL(r.channel, ROOM "-1");
    CU_ASSERT_EQUAL(run(&r, SCRIPT_LINGER, "", ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.channel, ROOM "-2");
    CU_ASSERT_EQUAL(run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "close", ROOM "-2", CID1, IP, OWNER)),
                    E_OK);
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(run(&r, SCRIPT_STATE, a.digest, NULL), E_UNAUTHORIZED);
    CU_ASSERT_PTR_NULL(r.body); /* untouched by the failed run (freed before it) */
    CU_ASSERT_EQUAL(run(&r, SCRIPT_LEAVE, b.digest, NULL), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_EQUAL(r.body_len, 0);
    CU_ASSERT_STRING_EQUAL(r.body, "");
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_SUMMARY, "", NULL), E_ROOM_NOT_FOUND);
    exec_result_free(&r);
    exec_result_free(&r);

    /* More script arguments than exec_room takes: refused. */
    const char *many[EXEC_MAX_ARGS + 1];
    for (int i = 0; i <= EXEC_MAX_ARGS; i++)
        many[i] = "x";
    CU_ASSERT_EQUAL(exec_room(st, NULL, SCRIPT_STATE, ROOM, "", EXEC_MAX_ARGS + 1, many, NULL, &r),
                    E_INTERNAL);
}

/* ---- follow-ups ------------------------------------------------------------------------------ */

#define UID "0123abcd-0000-4000-8000-00000000beef"
#define A16 "aaaaaaaaaaaaaaaa"
#define A64 A16 A16 A16 A16
#define CID40 "0123456789abcdef0123456789abcdef-p-p-p-p"
#define KEY45 "0123456789abcdef.:-0123456789abcdef.:-0123456"

/* A follow-up exec_followup accepts for ROOM, and what it does: after setup (when any), the
 * command check answers want (NULL: nil). */
static const struct {
    const char *cmd;
    const char *setup[5];
    const char *check[5];
    const char *want;
} followup_accepted[] = {
    {"index " ROOM, {NULL}, {"SISMEMBER", "active-rooms", ROOM}, "1"},
    {"unindex " ROOM, {"SADD", "active-rooms", ROOM}, {"SISMEMBER", "active-rooms", ROOM}, "0"},
    {"unindex " ROOM,
     {"SADD", "active-rooms", "ROOM02"},
     {"SISMEMBER", "active-rooms", "ROOM02"},
     "1"},
    {"timer presence 42 " ROOM "|" UID, {NULL}, {"ZSCORE", "timers:presence", ROOM "|" UID}, "42"},
    {"timer typing 0 " ROOM "|" UID, {NULL}, {"ZSCORE", "timers:typing", ROOM "|" UID}, "0"},
    {"timer linger 1700000005000 " ROOM "|" UID,
     {NULL},
     {"ZSCORE", "timers:linger", ROOM "|" UID},
     "1700000005000"},
    {"timer sync 1700000001000 " ROOM, {NULL}, {"ZSCORE", "timers:sync", ROOM}, "1700000001000"},
    {"close " ROOM "-1", {NULL}, {"DBSIZE"}, "0"},
    {"close " ROOM "-123456789012345678", {NULL}, {"DBSIZE"}, "0"},
    {"subs_hold " IP " " CID1, {NULL}, {"ZSCORE", "subs:{" IP "}", CID1}, "inf"},
    {"subs_hold " IP2 " p" UID, {NULL}, {"ZSCORE", "subs:{" IP2 "}", "p" UID}, "inf"},
    {"subs_hold - " CID1, {NULL}, {"ZSCORE", "subs:{-}", CID1}, "inf"},
    {"subs_hold " IP " " CID1,
     {"ZADD", "subs:{" IP "}", "1000", CID1},
     {"ZSCORE", "subs:{" IP "}", CID1},
     "inf"},
    {"subs_release " IP " " CID1,
     {"ZADD", "subs:{" IP "}", "+inf", CID1},
     {"EXISTS", "subs:{" IP "}"},
     "0"},
    {"owner_add " OWNER " " ROOM "|" CID1,
     {NULL},
     {"SISMEMBER", "owner:{" OWNER "}", ROOM "|" CID1},
     "1"},
    {"owner_add " OWNER " " ROOM "|" CID1, {NULL}, {"SISMEMBER", "owners:{wnc}", OWNER}, "1"},
    {"subs_hold " KEY45 " " CID40, {NULL}, {"ZSCORE", "subs:{" KEY45 "}", CID40}, "inf"},
    {"owner_add " A64 "/123456789012345678/123456789012345678 " ROOM "|" CID40,
     {NULL},
     {"SISMEMBER", "owner:{" A64 "/123456789012345678/123456789012345678}", ROOM "|" CID40},
     "1"},
    {"owner_add a.B_c-9/1/0 " ROOM "|p" UID,
     {NULL},
     {"SISMEMBER", "owners:{a.B_c-9}", "a.B_c-9/1/0"},
     "1"},
    {"owner_del " OWNER " " ROOM "|" CID1,
     {"SADD", "owner:{" OWNER "}", ROOM "|" CID1},
     {"EXISTS", "owner:{" OWNER "}"},
     "0"},
    /* owner_del leaves the instance's index alone: pushd forgets dead owners itself. */
    {"owner_del " OWNER " " ROOM "|" CID1,
     {"SADD", "owners:{wnc}", OWNER},
     {"SISMEMBER", "owners:{wnc}", OWNER},
     "1"},
};

/* Follow-ups exec_followup must refuse for ROOM: the old free-form commands, other rooms' ids,
 * wrong kinds and forms, extra words, injection attempts and absurd lengths. */
static const char *const followup_refused[] = {
    "",
    " ",
    "index",
    "index ",
    "index ROOM02",
    "index room01",
    "index ROOM0",
    "index ROOM011",
    "index " ROOM " " ROOM,
    "index " ROOM "|" UID,
    "index " ROOM "-1",
    "index\t" ROOM,
    "index " ROOM "\n",
    "index " ROOM "\r\nFLUSHALL",
    "INDEX " ROOM,
    "Index " ROOM,
    "index" ROOM,
    "unindex ROOM02",
    "unindex *",
    "unindex " ROOM " ROOM02",
    "SADD active-rooms " ROOM,
    "SREM active-rooms " ROOM,
    "ZADD timers:presence 42 " ROOM "|" UID,
    "CLOSE " ROOM "-1",
    "DEL active-rooms",
    "FLUSHALL",
    "EVAL return 0",
    "timer",
    "timer presence",
    "timer presence 42",
    "timer bogus 42 " ROOM "|" UID,
    "timer Presence 42 " ROOM "|" UID,
    "timer timers:presence 42 " ROOM "|" UID,
    "timer presence|typing 42 " ROOM "|" UID,
    "timer * 42 " ROOM "|" UID,
    "timer sync 42 " ROOM "|" UID,
    "timer presence 42 " ROOM,
    "timer typing 42 " ROOM,
    "timer linger 42 " ROOM "|",
    "timer presence 42 ROOM02|" UID,
    "timer sync 42 ROOM02",
    "timer presence 42 " ROOM "|not-a-uuid",
    "timer presence 42 " ROOM "|0123ABCD-0000-4000-8000-00000000BEEF",
    "timer presence 42 " ROOM "-" UID,
    "timer presence 42 " ROOM "||" UID,
    "timer presence 42 " ROOM "|" UID "|" UID,
    "timer presence 42 " ROOM "|" UID "\n",
    "timer presence -42 " ROOM "|" UID,
    "timer presence +42 " ROOM "|" UID,
    "timer presence 4.2 " ROOM "|" UID,
    "timer presence 1e9 " ROOM "|" UID,
    "timer presence inf " ROOM "|" UID,
    "timer presence 0x10 " ROOM "|" UID,
    "timer presence 1234567890123456789 " ROOM "|" UID,
    "timer presence 42 " ROOM "|" UID " extra",
    "timer presence 1 " ROOM "|x DEL foo",
    "timer presence 1 " ROOM "|" UID " DEL active-rooms",
    "timer presence 1 " ROOM "|" UID "\r\nFLUSHALL",
    "close",
    "close " ROOM,
    "close " ROOM "-",
    "close ROOM02-1",
    "close " ROOM "-1a",
    "close " ROOM "-x",
    "close " ROOM "_1",
    "close " ROOM "--1",
    "close " ROOM "-1234567890123456789",
    "close " ROOM "-1 " ROOM "-2",
    "close *",
    "close " ROOM "-1/../x",
    "subs_hold",
    "subs_hold " IP,
    "subs_hold " IP " " CID1 " " CID2,
    "subs_hold " IP "} " CID1,
    "subs_hold {" IP "} " CID1,
    "subs_hold " IP " " CID1 "}",
    "subs_hold 10.0.0.0/8 " CID1,
    "subs_hold localhost " CID1,
    "subs_hold " IP " 00000000000000C1",
    "subs_hold " IP " *",
    "subs_hold " IP " " CID40 "0",
    "subs_hold " KEY45 "7 " CID1,
    "subs_release * " CID1,
    "subs_release " IP " *",
    "subs_release " IP,
    "owner_add",
    "owner_add " OWNER,
    "owner_add " OWNER " ROOM02|" CID1,
    "owner_add " OWNER " " ROOM,
    "owner_add " OWNER " " ROOM "|",
    "owner_add " OWNER " " ROOM "-" CID1,
    "owner_add " OWNER " " ROOM "|" CID1 "|x",
    "owner_add " OWNER " " ROOM "|" CID1 " extra",
    "owner_add wnc/4242 " ROOM "|" CID1,
    "owner_add wnc " ROOM "|" CID1,
    "owner_add /4242/777 " ROOM "|" CID1,
    "owner_add wnc//777 " ROOM "|" CID1,
    "owner_add wnc/4242/ " ROOM "|" CID1,
    "owner_add wnc/42x/777 " ROOM "|" CID1,
    "owner_add wnc/-1/777 " ROOM "|" CID1,
    "owner_add wnc/4242/777/1 " ROOM "|" CID1,
    "owner_add w{n}c/4242/777 " ROOM "|" CID1,
    "owner_add w*c/4242/777 " ROOM "|" CID1,
    "owner_add wnc/1234567890123456789/777 " ROOM "|" CID1,
    "owner_add " A64 "a/1/2 " ROOM "|" CID1,
    "owner_add " ROOM "|" CID1 " " OWNER,
    "owner_del " OWNER " ROOM02|" CID1,
    "owner_del * " ROOM "|" CID1,
    "owner_del " OWNER,
    "subs_hold subs_hold subs_hold subs_hold subs_hold subs_hold",
};

/* Sends stderr to /dev/null; returns what stderr_unmute needs to put it back (-1: unchanged). */
static int stderr_mute(void)
{
    int saved, null;

    fflush(stderr);
    if ((saved = dup(STDERR_FILENO)) < 0)
        return -1;
    if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
        close(saved);
        return -1;
    }
    dup2(null, STDERR_FILENO);
    close(null);
    return saved;
}

static void stderr_unmute(int saved)
{
    if (saved < 0)
        return;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* The state a refused follow-up must leave as it found it: a few sets it could touch, and the
 * number of keys. */
static void followup_fingerprint(char *out, size_t size)
{
    snprintf(out, size, "%lld %lld %lld %lld %lld %lld", redis_num(ARGS("DBSIZE")),
             redis_num(ARGS("SCARD", "active-rooms")), redis_num(ARGS("ZCARD", "subs:{" IP "}")),
             redis_num(ARGS("SCARD", "owner:{" OWNER "}")),
             redis_num(ARGS("SCARD", "owners:{wnc}")), redis_num(ARGS("ZCARD", "timers:presence")));
}

/* Follow-ups are typed: the forms of sql/lib.lua run, anything else is refused and does
 * nothing. */
static void test_exec_followup(void)
{
    char before[128], after[128], cmd[600];

    for (size_t i = 0; i < sizeof(followup_accepted) / sizeof(followup_accepted[0]); i++) {
        unit_redis_flush();
        if (followup_accepted[i].setup[0] != NULL)
            redis_num(followup_accepted[i].setup);
        enum wnc_err e = exec_followup(st, NULL, ROOM, followup_accepted[i].cmd);
        UNIT_CHECK(e == E_OK, "accepted row %zu \"%s\": %s", i, followup_accepted[i].cmd,
                   err_code(e));
        UNIT_CHECK(redis_is(followup_accepted[i].check, followup_accepted[i].want),
                   "accepted row %zu \"%s\": %s is not %s", i, followup_accepted[i].cmd,
                   followup_accepted[i].check[0],
                   followup_accepted[i].want ? followup_accepted[i].want : "nil");
    }

    /* Refusals, against a database where each could do harm: indexes, places, owners and
     * timers of this room and of another. */
    unit_redis_flush();
    redis_num(ARGS("SADD", "active-rooms", ROOM, "ROOM02"));
    redis_num(ARGS("ZADD", "subs:{" IP "}", "+inf", CID1));
    redis_num(ARGS("SADD", "owner:{" OWNER "}", ROOM "|" CID1, "ROOM02|" CID1));
    redis_num(ARGS("SADD", "owners:{wnc}", OWNER));
    redis_num(ARGS("ZADD", "timers:presence", "1", "ROOM02|" UID));
    followup_fingerprint(before, sizeof(before));
    CU_ASSERT_STRING_EQUAL(before, "5 2 1 2 1 1");
    for (size_t i = 0; i < sizeof(followup_refused) / sizeof(followup_refused[0]); i++) {
        int saved = stderr_mute(); /* each refusal logs an error line, by design */
        enum wnc_err e = exec_followup(st, NULL, ROOM, followup_refused[i]);
        stderr_unmute(saved);
        followup_fingerprint(after, sizeof(after));
        UNIT_CHECK(e == E_INTERNAL, "refused row %zu \"%s\": %s", i, followup_refused[i],
                   err_code(e));
        UNIT_CHECK(strcmp(before, after) == 0, "refused row %zu \"%s\" changed %s into %s", i,
                   followup_refused[i], before, after);
    }

    /* Too long for the follow-up buffer: refused, not truncated into something valid. Padding
     * an accepted command with spaces (which the splitter skips), or a timer with digits. */
    snprintf(cmd, sizeof(cmd), "index %s%300s", ROOM, "");
    CU_ASSERT_EQUAL(exec_followup(st, NULL, "ROOM03", "index ROOM03"), E_OK);
    CU_ASSERT_EQUAL(exec_followup(st, NULL, ROOM, cmd), E_INTERNAL);
    snprintf(cmd, sizeof(cmd), "index ROOM03%300s", "");
    CU_ASSERT_EQUAL(exec_followup(st, NULL, "ROOM03", cmd), E_INTERNAL);
    memset(cmd, '7', sizeof(cmd) - 1);
    cmd[sizeof(cmd) - 1] = '\0';
    memcpy(cmd, "timer sync ", 11);
    CU_ASSERT_EQUAL(exec_followup(st, NULL, ROOM, cmd), E_INTERNAL);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "timers:sync")), 0);

    /* The room checked is the caller's: the same follow-up is another room's business. */
    CU_ASSERT_EQUAL(exec_followup(st, NULL, "ROOM02", "index " ROOM), E_INTERNAL);
    CU_ASSERT_EQUAL(exec_followup(st, NULL, "ROOM02", "timer presence 1 " ROOM "|" UID),
                    E_INTERNAL);
    CU_ASSERT_EQUAL(exec_followup(st, NULL, "ROOM02", "close " ROOM "-1"), E_INTERNAL);
    CU_ASSERT_EQUAL(exec_followup(st, NULL, "ROOM02", "owner_del " OWNER " " ROOM "|" CID1),
                    E_INTERNAL);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "owner:{" OWNER "}")), 2);
    /* A store error is reported, not fatal: a timer key that is not a sorted set. */
    CU_ASSERT_TRUE(redis_is(ARGS("SET", "timers:typing", "x"), "OK"));
    CU_ASSERT_NOT_EQUAL(exec_followup(st, NULL, ROOM, "timer typing 1 " ROOM "|" UID), E_OK);
    CU_ASSERT_EQUAL(store_ping(st), E_OK);
    long long now = exec_now_ms(), wall = (long long)time(NULL) * 1000;
    CU_ASSERT_TRUE(now >= wall - 1000 && now <= wall + 2000);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The grace period on the server's clock (WNC_GRACE_MS, shortened by main.c). */
static void test_exec_room_timeout_real_clock(void)
{
    struct member a, b;
    struct exec_result r = {0};
    char max[16];

    CU_ASSERT_TRUE_FATAL(config.grace_ms <= 1000);
    CU_ASSERT_EQUAL_FATAL(identity(&a, ROOM, "Alice"), 0);
    CU_ASSERT_EQUAL_FATAL(identity(&b, ROOM, "Bob"), 0);
    snprintf(max, sizeof(max), "%d", config.max_users);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_CREATE, a.digest, ARGS(a.id, a.name, a.key)), E_OK);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_JOIN, b.digest, ARGS(b.id, b.name, b.key, max)), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        run(&r, SCRIPT_PRESENCE, "", ARGS(a.id, "open", ROOM "-1", CID1, IP, OWNER)), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "open", ROOM "-1", CID2, IP, OWNER)), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "close", ROOM "-1", CID2, IP, OWNER)), E_OK);
    long long offline_at = exec_now_ms();

    /* Right away: within the grace period, Bob stays. */
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_TIMEOUT, "", ARGS(b.id)), E_OK);
    if (exec_now_ms() < offline_at + config.grace_ms)
        CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "members:{" ROOM "}", b.id)), 1);
    /* After it: gone, and his token with him. */
    sleep_ms(config.grace_ms + 50);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_TIMEOUT, "", ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "members:{" ROOM "}", b.id)), 0);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_STATE, b.digest, NULL), E_UNAUTHORIZED);
    /* Alice, connected all along, stays. */
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_TIMEOUT, "", ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "members:{" ROOM "}", a.id)), 1);
    exec_result_free(&r);
}

static const struct unit_test scripts_tests[] = {
    {"create and state", test_create_and_state},
    {"summary and subscribe", test_summary_and_subscribe},
    {"join: name taken (any case), room full", test_join},
    {"leave: host hand-off prefers online members", test_leave_hands_off_to_online_first},
    {"leave: host hand-off to the longest present", test_leave_hands_off_to_longest_present},
    {"last member leaving deletes every key", test_last_member_leaving_deletes_the_room},
    {"kick revokes the token", test_kick},
    {"kick rotates the channel; last member: unindex and close", test_kick_rotates_the_channel},
    {"leave keeps the channel; linger retires it if a stream stays", test_leave_then_linger},
    {"rotate: a new channel after an nginx worker died", test_rotate},
    {"heartbeat: the period, seq unchanged", test_heartbeat},
    {"ticket: issue, consume once, expiry, unknown", test_ticket_issue_and_consume},
    {"ticket: refused once its member is removed", test_ticket_of_removed_member},
    {"ticket: sweep at 64 fields, at most every 10 s", test_ticket_sweep},
    {"ticket: rate limited per member, own class", test_ticket_rate_limit},
    {"subs_reserve: cap, same connection, expiry", test_subs_reserve},
    {"promote: not_host, event, idempotent", test_promote},
    {"chat keeps the last 20, verbatim", test_chat_keeps_last_20_verbatim},
    {"chat text is binary-safe", test_chat_binary_safe},
    {"chat rate limit per member and window", test_chat_rate_limit},
    {"typing events only on change", test_typing_events_only_on_change},
    {"typing_expire", test_typing_expire},
    {"typing stop at expiry publishes typing false", test_bug_typing_stop_at_expiry},
    {"video set/play/pause/seek/rate maths", test_video_state_maths},
    {"presence: leases open/close, tabs, announcements", test_presence_transitions},
    {"lease: record, idempotent open, missing member or room", test_lease_open},
    {"lease: close before open leaves a tombstone", test_lease_close_before_open},
    {"lease: pushd closes a lost lease, or only forgets it", test_lease_pushd_close},
    {"lease: closes on a retired channel announce nothing", test_lease_retired_channel},
    {"presence: long-poll keeps a member online", test_presence_poll},
    {"timeout before/after the grace period", test_timeout_grace},
    {"timeout of the host and of the last member", test_timeout_of_host_and_last_member},
    {"sync_beacon only for playing rooms", test_sync_beacon},
    {"claim never returns an entry twice", test_claim_never_twice},
    {"room_gc removes leftovers and the index entry", test_room_gc},
    {"ratelimit.lua counter and TTL", test_ratelimit},
    {"seq: +1 per state change, not typing/sync", test_seq},
    {"exec_prepare: nine keys, standard arguments", test_exec_prepare_layout},
    {"exec_followup: typed forms run, anything else refused", test_exec_followup},
    {"exec_room runs every script with a NULL publisher", test_exec_room_every_script},
    {"exec_room: timeout on the real clock", test_exec_room_timeout_real_clock},
    {NULL, NULL},
};

int test_scripts_register(void)
{
    CU_pSuite s = CU_add_suite_with_setup_and_teardown("scripts", scripts_suite_init,
                                                       scripts_suite_clean, scripts_setup, NULL);
    return s == NULL ? -1 : unit_add_tests(s, scripts_tests);
}
