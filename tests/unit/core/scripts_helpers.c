/* The vocabulary of the room-script suites (test_scripts_*.c, test_exec.c): calling a script
 * as exec_room does but keeping its whole reply, reading Redis and JSON, members, leases. See
 * scripts_helpers.h. */
#include "scripts_helpers.h"

#include <limits.h>
#include <math.h> /* NAN only: the unit binary does not link libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "unit.h"

/* ---- calling a script ------------------------------------------------------------------- */

void call_free(struct call *c)
{
    store_reply_free(&c->r);
    free(c->own_body);
    memset(c, 0, sizeof(*c));
}

enum wnc_err call(struct call *c, enum script_id script, const char *room, const char *digest,
                  long long now, const char *const *args)
{
    struct exec_call ec;
    struct exec_reply rep;
    const char *own[EXEC_MAX_ARGS];
    int nown = 0;

    call_free(c);
    while (args != NULL && args[nown] != NULL && nown < EXEC_MAX_ARGS) {
        own[nown] = args[nown];
        nown++;
    }
    if ((c->e = exec_prepare(&ec, room, now, digest, nown, own, NULL)) != E_OK)
        return c->e;
    struct store_reply users;
    if ((c->e = exec_eval(unit_store(), script, &ec, &c->r, &users)) != E_OK) {
        memset(&c->r, 0, sizeof(c->r));
        return c->e;
    }
    /* exec_room's own parser reads the reply; the tests also want it exact (lib.lua's result()
     * always counts right), where exec_room makes do with less. */
    if (exec_reply_parse(&c->r, &rep) != E_OK) {
        store_reply_free(&users);
        CU_FAIL("malformed script reply");
        return c->e = E_INTERNAL;
    }
    UNIT_CHECK(rep.exact, "%s: the counts of a reply of %zu items do not match it",
               script_name(script), c->r.n);
    c->status = rep.status;
    /* The body as exec_room answers it: the room's users written in. */
    c->body = c->own_body =
        exec_reply_body(&rep, script_answers_room(script) ? &users : NULL, &c->body_len);
    store_reply_free(&users);
    if (c->body == NULL) {
        CU_FAIL("a reply with the users mark but without its users");
        return c->e = E_INTERNAL;
    }
    c->channel = rep.channel;
    c->nev = rep.nevents;
    c->ev = rep.events;
    c->nfu = rep.nfollowups;
    c->fu = rep.followups;
    /* Every follow-up a script returns must pass exec_followup's checks. */
    for (size_t k = 0; k < c->nfu && c->fu[k] != NULL; k++) {
        enum wnc_err fe = exec_followup(unit_store(), NULL, room, c->fu[k]);
        UNIT_CHECK(fe == E_OK, "%s: follow-up \"%s\" refused: %s", script_name(script), c->fu[k],
                   err_code(fe));
    }
    return E_OK;
}

void check_room_deleted(const struct call *c, const char *channel)
{
    char want[64];

    snprintf(want, sizeof(want), "close %s", channel);
    CU_ASSERT_EQUAL(c->nfu, 2);
    check_followup(c, 0, "unindex " ROOM);
    check_followup(c, 1, want);
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
}

/* ---- Redis and JSON ---------------------------------------------------------------------- */

long long redis_num(const char *const *argv)
{
    struct store_reply r;
    long long v = LLONG_MIN;
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    if (store_command(unit_store(), argc, (const char **)argv, NULL, &r) != E_OK)
        return LLONG_MIN;
    if (r.n >= 1)
        v = r.items[0] ? atoll(r.items[0]) : -1;
    store_reply_free(&r);
    return v;
}

const char *redis_str(const char *const *argv, char *buf, size_t size)
{
    struct store_reply r;
    const char *v = NULL;
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    if (store_command(unit_store(), argc, (const char **)argv, NULL, &r) != E_OK)
        return NULL;
    if (r.n >= 1 && r.items[0] != NULL) {
        snprintf(buf, size, "%s", r.items[0]);
        v = buf;
    }
    store_reply_free(&r);
    return v;
}

int redis_is(const char *const *argv, const char *want)
{
    char buf[512];
    const char *got = redis_str(argv, buf, sizeof(buf));

    if (got == NULL || want == NULL)
        return got == want;
    return strcmp(got, want) == 0;
}

long long room_seq(const char *room)
{
    char key[32];

    snprintf(key, sizeof(key), "room:{%s}", room);
    return redis_num(ARGS("HGET", key, "seq"));
}

long long room_key_count(const char *room)
{
    char pattern[32];
    struct store_reply r;
    long long n = -1;

    snprintf(pattern, sizeof(pattern), "*{%s}*", room);
    const char *argv[] = {"KEYS", pattern};
    if (store_command(unit_store(), 2, argv, NULL, &r) == E_OK) {
        n = (long long)r.n;
        store_reply_free(&r);
    }
    return n;
}

json_object *jparse(const char *s)
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

json_object *jget(json_object *o, const char *path)
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

const char *jstr(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Rounds to the nearest integer without libm (the unit binary does not link it). */
static long long unit_round(double d)
{
    return (long long)(d < 0 ? d - 0.5 : d + 0.5);
}

long long jint(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? unit_round(json_object_get_double(v))
               : LLONG_MIN;
}

double jnum(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? json_object_get_double(v)
               : NAN;
}

int jbool(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
}

int jnull(json_object *o, const char *path)
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

long long jlen(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_array) ? (long long)json_object_array_length(v)
                                                        : -1;
}

json_object *event(const struct call *c, size_t i, const char *type, long long seq)
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

void check_followup(const struct call *c, size_t i, const char *want)
{
    UNIT_CHECK(i < c->nfu && strcmp(c->fu[i], want) == 0, "follow-up %zu: got %s want %s", i,
               i < c->nfu ? c->fu[i] : "(none)", want);
}

/* ---- members ------------------------------------------------------------------------------ */

int identity(struct member *m, const char *room, const char *name)
{
    const char *cause;

    memset(m, 0, sizeof(*m));
    if (ids_user(m->id) != E_OK || ids_token(room, m->token) != E_OK ||
        valid_name(name, strlen(name), m->name, m->key, &cause) != E_OK)
        return -1;
    sha256_hex(m->token, strlen(m->token), m->digest);
    return 0;
}

enum wnc_err create(struct member *host, const char *room, const char *name, long long now)
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

enum wnc_err join_limit(struct member *m, const char *room, const char *name, long long now,
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

enum wnc_err join(struct member *m, const char *room, const char *name, long long now)
{
    return join_limit(m, room, name, now, "1000");
}

json_object *state(const struct member *m, const char *room, enum wnc_err *err)
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

int user_index(json_object *s, const char *uid)
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

/* The boolean field of m's record in the state ROOM's viewer sees: 1, 0, or -1 when m is not
 * there. */
static int user_flag(const struct member *viewer, const struct member *m, const char *field)
{
    json_object *s = state(viewer, ROOM, NULL);
    char path[64];
    int i = user_index(s, m->id), v = -1;

    if (i >= 0) {
        snprintf(path, sizeof(path), "room.users.%d.%s", i, field);
        v = jbool(s, path);
    }
    json_object_put(s);
    return v;
}

int is_host(const struct member *viewer, const struct member *m)
{
    return user_flag(viewer, m, "isHost");
}

int online(const struct member *viewer, const struct member *m)
{
    return user_flag(viewer, m, "online");
}

long long member_num(const char *uid, const char *field)
{
    char buf[1024];
    const char *raw = redis_str(ARGS("HGET", "members:{" ROOM "}", uid), buf, sizeof(buf));
    json_object *o = raw ? jparse(raw) : NULL;
    long long v = o ? jint(o, field) : LLONG_MIN;

    json_object_put(o);
    return v;
}

/* ---- leases --------------------------------------------------------------------------------- */

enum wnc_err presence(struct call *c, long long now, const char *uid, const char *op,
                      const char *chan, const char *cid)
{
    return call(c, SCRIPT_PRESENCE, ROOM, "", now, ARGS(uid, op, chan, cid, IP, OWNER));
}

const char *lease_of(const char *cid, char *buf, size_t size)
{
    return redis_str(ARGS("HGET", "leases:{" ROOM "}", cid), buf, size);
}

int channel_is(const struct member *m, const char *want)
{
    struct call c = {0};
    int ok = call(&c, SCRIPT_SUBSCRIBE, ROOM, m->digest, 0, ARGS("")) == E_OK &&
             strcmp(c.channel, want) == 0;

    UNIT_CHECK(ok, "channel: got %s want %s", c.channel ? c.channel : "(error)", want);
    call_free(&c);
    return ok;
}

void check_lease_followups(const struct call *c, size_t from, int want_open, const char *cid)
{
    char want[160];

    snprintf(want, sizeof(want), "%s %s %s", want_open ? "subs_hold" : "subs_release", IP, cid);
    check_followup(c, from, want);
    snprintf(want, sizeof(want), "%s %s %s|%s", want_open ? "owner_add" : "owner_del", OWNER, ROOM,
             cid);
    check_followup(c, from + 1, want);
}

int lease_indexed(const char *cid)
{
    char member[64];
    int held = redis_is(ARGS("ZSCORE", "subs:{" IP "}", cid), "inf");
    int owned;

    snprintf(member, sizeof(member), "%s|%s", ROOM, cid);
    owned = redis_num(ARGS("SISMEMBER", "owner:{" OWNER "}", member)) == 1;
    UNIT_CHECK(held == owned, "%s: held %d but owned %d", cid, held, owned);
    return held && owned;
}
