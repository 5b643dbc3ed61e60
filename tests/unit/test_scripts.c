/* The room scripts of sql/ and exec.c, against the private Redis (flushed before each test).
 *
 * Most tests call a script the way exec_room does (same keys, same standard arguments from
 * config) but keep the whole reply, so the events the script would publish and its follow-ups
 * can be checked; the follow-ups are then run through exec_followup, as exec_room runs them.
 * The clock is an argument there, so time-based scripts are tested at exact instants. The
 * last tests go through exec_room itself with a NULL publisher and the real clock (the grace
 * period is shortened by main.c through WNC_GRACE_MS). */
#include <json-c/json.h>
#include <limits.h>
#include <math.h> /* NAN only: the unit binary does not link libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    for (size_t k = 0; k < c->nfu; k++)
        exec_followup(st, NULL, c->fu[k]);
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

/* ---- suite -------------------------------------------------------------------------------- */

static int scripts_suite_init(void)
{
    if (unit_redis_port() == 0)
        return -1;
    st = store_open("127.0.0.1", unit_redis_port());
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
    check_followup(&c, 0, "SADD active-rooms " ROOM);
    snprintf(want, sizeof(want), "ZADD timers:presence %lld %s|%s", t + config.grace_ms, ROOM,
             a.id);
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

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, b.digest, t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_STRING_EQUAL(c.body, b.id);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, "", t, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, "NOROOM", b.digest, t, NULL), E_ROOM_NOT_FOUND);
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
    snprintf(want, sizeof(want), "ZADD timers:presence %lld %s|%s", t + 10 + config.grace_ms, ROOM,
             b.id);
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
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t + 2), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 3), E_OK);
    /* Carol and Dave are online, Bob (present longest) is not. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", t + 4, ARGS(cm.id, "1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", t + 4, ARGS(d.id, "1")), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, a.digest, t + 5, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_STRING_EQUAL(c.body, "");
    /* The events go to the channel the leaver's connections are on; then it is closed. */
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "CLOSE " ROOM "-1");
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
    /* The others are on the new channel; the name is free again. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, b.digest, t + 6, NULL), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
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
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
    check_followup(&c, 0, "CLOSE " ROOM "-2");

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
    /* Fill every per-room key: chat, limits, video. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 2, ARGS("hello")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 3,
                               ARGS("set", "https://e.com/a.mp4", "file", "")),
                          E_OK);
    CU_ASSERT_EQUAL(room_key_count(ROOM), 7);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, b.digest, t + 4, NULL), E_OK);
    CU_ASSERT_EQUAL(room_key_count(ROOM), 7);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, a.digest, t + 5, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
    CU_ASSERT_EQUAL(c.nev, 2);
    o = event(&c, 0, "user.left", seq + 1);
    CHECK_STR(o, "data.userId", a.id);
    CHECK_STR(o, "data.reason", "left");
    json_object_put(o);
    o = event(&c, 1, "room.closed", seq + 2);
    CHECK_STR(o, "data.reason", "empty");
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "SREM active-rooms " ROOM);
    check_followup(&c, 1, "CLOSE " ROOM "-2");
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
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
    check_followup(&c, 0, "CLOSE " ROOM "-1");

    /* The token is revoked: every member script refuses it. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_STATE, ROOM, b.digest, t + 5, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, b.digest, t + 5, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 5, ARGS("still here?")),
                    E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_LEAVE, ROOM, b.digest, t + 5, NULL), E_UNAUTHORIZED);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "auth:{" ROOM "}")), 2);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUBSCRIBE, ROOM, cm.digest, t + 5, NULL), E_OK);
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
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
    struct call c = {0};
    const char *keys[7] = {"room:{" ROOM "}", "members:{" ROOM "}", "names:{" ROOM "}",
                           "auth:{" ROOM "}", "chat:{" ROOM "}",    "limits:{" ROOM "}",
                           "users:{" ROOM "}"};
    char now[32], ttl[16], grace[16], cr[16], ctl[16], typ[16], syn[16];
    struct store_reply r;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    snprintf(now, sizeof(now), "%lld", t);
    snprintf(ttl, sizeof(ttl), "%d", config.room_ttl_s);
    snprintf(grace, sizeof(grace), "%d", config.grace_ms);
    snprintf(cr, sizeof(cr), "%d", config.chat_rate);
    snprintf(ctl, sizeof(ctl), "%d", config.control_rate);
    snprintf(typ, sizeof(typ), "%d", config.typing_ttl_ms);
    snprintf(syn, sizeof(syn), "%d", config.sync_interval_ms);
    const char *args[] = {now, ttl, grace, cr, ctl, typ, syn, a.digest, "a\0b"};
    size_t lens[9];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(args[i]);
    lens[8] = 3;
    CU_ASSERT_EQUAL_FATAL(store_eval(st, SCRIPT_CHAT_POST, 7, keys, 9, args, lens, &r), E_OK);
    CU_ASSERT_TRUE(r.n >= 2 && r.items[1] != NULL && strstr(r.items[1], "a\\u0000b") != NULL);
    store_reply_free(&r);
    call_free(&c);
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
    snprintf(want, sizeof(want), "ZADD timers:typing %lld %s|%s", t + 10 + config.typing_ttl_ms,
             ROOM, b.id);
    check_followup(&c, 0, want);

    /* A refresh while typing: no event, the expiry moves. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 50, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "ZADD timers:typing %lld %s|%s", t + 50 + config.typing_ttl_ms,
             ROOM, b.id);
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
    snprintf(want, sizeof(want), "ZADD timers:typing %lld %s|%s", until, ROOM, a.id);
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
    snprintf(want, sizeof(want), "ZADD timers:sync %lld %s", t + 1000 + config.sync_interval_ms,
             ROOM);
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
        const char *delta;
        int event; /* -1 none, 0 offline, 1 online */
        int online;
    } steps[] = {{"1", 1, 1},   {"1", -1, 1}, {"-1", -1, 1}, {"-1", 0, 0},
                 {"-1", -1, 0}, {"1", 1, 1},  {"-1", 0, 0}};

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        long long now = t + 100 * (long long)(i + 1);
        CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", now, ARGS(b.id, steps[i].delta)),
                              E_OK);
        CU_ASSERT_EQUAL(c.status, 204);
        UNIT_CHECK(c.nev == (steps[i].event >= 0 ? 1u : 0u), "step %zu: %zu events", i, c.nev);
        if (steps[i].event >= 0 && c.nev == 1) {
            o = event(&c, 0, "user.presence", ++seq);
            CHECK_STR(o, "data.userId", b.id);
            CHECK_BOOL(o, "data.online", steps[i].event);
            json_object_put(o);
        }
        if (steps[i].event == 0) {
            /* Going offline starts the grace period. */
            snprintf(want, sizeof(want), "ZADD timers:presence %lld %s|%s", now + config.grace_ms,
                     ROOM, b.id);
            check_followup(&c, 0, want);
        } else {
            UNIT_CHECK(c.nfu == 0, "step %zu: %zu follow-ups", i, c.nfu);
        }
        UNIT_CHECK(online(&a, &b) == steps[i].online, "step %zu: online is not %d", i,
                   steps[i].online);
        UNIT_CHECK(room_seq(ROOM) == seq, "step %zu: seq %lld want %lld", i, room_seq(ROOM), seq);
    }
    /* Unknown members and rooms: a quiet 204. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t, ARGS("00000000-0000-4000-8000-000000000000", "1")),
        E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, "NOROOM", "", t, ARGS(b.id, "1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
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
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", t + 1, ARGS(a.id, "1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", t + 1, ARGS(b.id, "1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE, ROOM, "", off, ARGS(b.id, "-1")), E_OK);

    /* Before the grace period is over: Bob stays, the timer is set for the real deadline. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", off + config.grace_ms - 1, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "ZADD timers:presence %lld %s|%s", off + config.grace_ms, ROOM,
             b.id);
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

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TIMEOUT, ROOM, "", t + 1 + config.grace_ms, ARGS(b.id)),
                          E_OK);
    CU_ASSERT_EQUAL(c.nev, 2);
    json_object_put(event(&c, 1, "room.closed", 5));
    check_followup(&c, 0, "SREM active-rooms " ROOM);
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
    snprintf(want, sizeof(want), "ZADD timers:sync %lld %s", t + 2000 + config.sync_interval_ms,
             ROOM);
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
    struct store *other = store_open("127.0.0.1", unit_redis_port());

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
    long long keys = room_key_count(ROOM);
    CU_ASSERT_EQUAL(keys, 7);

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
    check_followup(&c, 0, "SREM active-rooms " ROOM);
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
        {"presence on", SCRIPT_PRESENCE, NULL, ARGS(b.id, "1"), 1},
        {"presence 2nd tab", SCRIPT_PRESENCE, NULL, ARGS(b.id, "1"), 0},
        {"promote", SCRIPT_PROMOTE, &a, ARGS(b.id), 1},
        {"promote again", SCRIPT_PROMOTE, &a, ARGS(b.id), 0},
        {"refused video", SCRIPT_VIDEO, &x, ARGS("play", "1"), 0},
        {"subscribe", SCRIPT_SUBSCRIBE, &a, NULL, 0},
        {"summary", SCRIPT_SUMMARY, NULL, NULL, 0},
        {"rate", SCRIPT_VIDEO, &b, ARGS("rate", "2"), 1},
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
    CU_ASSERT_EQUAL(run(&r, SCRIPT_SUBSCRIBE, b.digest, NULL), E_OK);
    CU_ASSERT_STRING_EQUAL(r.body, b.id);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "1")), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
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
    /* kick and leave return "CLOSE <channel>" follow-ups: harmless without a publisher. */
    CU_ASSERT_EQUAL(run(&r, SCRIPT_KICK, b.digest, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_STRING_EQUAL(r.channel, ROOM "-1");
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

/* Follow-ups: a Redis command split on spaces, or CLOSE (a no-op without a publisher). */
static void test_exec_followup(void)
{
    char long_cmd[300];

    exec_followup(st, NULL, "SADD active-rooms ABC123");
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", "ABC123")), 1);
    exec_followup(st, NULL, "ZADD timers:presence 42 ABC123|u");
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:presence", "ABC123|u")), 42);
    exec_followup(st, NULL, "CLOSE ABC123-1");
    exec_followup(st, NULL, "SREM active-rooms ABC123");
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", "ABC123")), 0);
    /* A command too long for the follow-up buffer is refused, not truncated. */
    memset(long_cmd, 'x', sizeof(long_cmd));
    memcpy(long_cmd, "SADD active-rooms ", 18);
    long_cmd[sizeof(long_cmd) - 1] = '\0';
    exec_followup(st, NULL, long_cmd);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "active-rooms")), 0);
    /* A failing command is logged, not fatal. */
    exec_followup(st, NULL, "NOSUCHCOMMAND x");
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
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_PRESENCE, "", ARGS(a.id, "1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "-1")), E_OK);
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
    {"promote: not_host, event, idempotent", test_promote},
    {"chat keeps the last 20, verbatim", test_chat_keeps_last_20_verbatim},
    {"chat text is binary-safe", test_chat_binary_safe},
    {"chat rate limit per member and window", test_chat_rate_limit},
    {"typing events only on change", test_typing_events_only_on_change},
    {"typing_expire", test_typing_expire},
    {"typing stop at expiry publishes typing false", test_bug_typing_stop_at_expiry},
    {"video set/play/pause/seek/rate maths", test_video_state_maths},
    {"presence +1/+1/-1/-1 transitions", test_presence_transitions},
    {"timeout before/after the grace period", test_timeout_grace},
    {"timeout of the host and of the last member", test_timeout_of_host_and_last_member},
    {"sync_beacon only for playing rooms", test_sync_beacon},
    {"claim never returns an entry twice", test_claim_never_twice},
    {"room_gc removes leftovers and the index entry", test_room_gc},
    {"ratelimit.lua counter and TTL", test_ratelimit},
    {"seq: +1 per state change, not typing/sync", test_seq},
    {"exec_followup: commands, CLOSE without publisher", test_exec_followup},
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
