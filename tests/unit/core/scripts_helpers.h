/* The vocabulary the room-script suites share (test_scripts_*.c, test_exec.c), against the
 * private Redis of unit.h: every function here uses the running suite's connection
 * (unit_store()), so only the Redis-backed suites call them.
 *
 * call() runs a script the way exec_room does (same keys, same standard arguments from config,
 * the reply read by exec_reply_parse) but keeps the whole reply, so the events the script would
 * publish and its follow-ups can be checked; the follow-ups are then run through exec_followup,
 * as exec_room runs them, and each must pass its checks (the typed forms of sql/lib.lua). The
 * clock is an argument, so time-based scripts are tested at exact instants. */
#ifndef WNC_SCRIPTS_HELPERS_H
#define WNC_SCRIPTS_HELPERS_H

#include <json-c/json.h>
#include <stddef.h>
#include <string.h>

#include "err.h"
#include "ids.h"
#include "script.h"
#include "sha256.h"
#include "store.h"
#include "unit.h"
#include "valid.h"

/* The room most tests use, and a YouTube video id. */
#define ROOM "ROOM01"
#define YT "dQw4w9WgXcQ"

/* What nchan's hooks pass (events.c): the client address's limit key and the worker owning the
 * connection; connection ids of streams. */
#define IP "127.0.0.1"
#define IP2 "2001:db8::7"
#define OWNER "wnc/4242/777"
#define OWNER2 "wnc/4343/888"
#define CID1 "00000000000000c1"
#define CID2 "00000000000000c2"
#define CID3 "00000000000000c3"

/* A ban as kick.lua stores it (bans:{ROOM}), for tests that fill every key of a room. */
#define BAN_JSON "{\"id\":1,\"name\":\"Eve\",\"createdAt\":1,\"addr\":\"192.0.2.9\"}"

/* A NULL-terminated list of words, for a script's arguments or a Redis command. */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- calling a script ------------------------------------------------------------------- */

/* One script run: the reply, and exec_reply_parse's view of it (ev and fu point into r and die
 * with it). Zero it before the first call; call() frees the previous reply, call_free the last
 * one. */
struct call {
    enum wnc_err e;
    int status;
    const char *body, *channel; /* body: the answer as exec_room gives it (own_body) */
    char *own_body;
    size_t body_len, nev, nfu;
    char *const *ev, *const *fu;
    struct store_reply r;
};

void call_free(struct call *c);

/* Runs script for room at time now (ms) with the token digest ("" for none) and the
 * NULL-terminated args (NULL for none), then runs the follow-ups. Returns the error. A reply
 * exec_reply_parse refuses, or whose counts are not exact, fails the test. */
enum wnc_err call(struct call *c, enum script_id script, const char *room, const char *digest,
                  long long now, const char *const *args);

/* Parses event i of c and checks its type and seq; returns it (json_object_put it). */
json_object *event(const struct call *c, size_t i, const char *type, long long seq);

/* Checks that follow-up i of c is want. */
void check_followup(const struct call *c, size_t i, const char *want);

/* Checks what the last member of ROOM going leaves: exactly two follow-ups, "unindex ROOM" then
 * "close channel", which ran (no key of the room left, not in the index of active rooms). */
void check_room_deleted(const struct call *c, const char *channel);

/* ---- Redis and JSON ---------------------------------------------------------------------- */

/* Runs a command of NULL-terminated words; returns its first item as a number (nil: -1,
 * an error: LLONG_MIN). */
long long redis_num(const char *const *argv);

/* Runs a command of NULL-terminated words; copies its first item into buf and returns buf, or
 * NULL for nil or an error. */
const char *redis_str(const char *const *argv, char *buf, size_t size);

/* Whether the first item of a command's reply is the string want (NULL: nil). */
int redis_is(const char *const *argv, const char *want);

/* The room's seq as stored. */
long long room_seq(const char *room);

/* How many keys of the room exist (any key with the room's hash tag). */
long long room_key_count(const char *room);

/* Parses s strictly (a failure fails the test); NULL when it is not JSON. json_object_put it. */
json_object *jparse(const char *s);

/* The value at a dotted path ("room.users.0.name"; numbers index arrays), or NULL. The
 * accessors below read it as a type: a missing value or another type gives NULL (jstr),
 * LLONG_MIN (jint, rounded), NAN (jnum), -1 (jbool: 1 true, 0 false; jlen: an array's length). */
json_object *jget(json_object *o, const char *path);
const char *jstr(json_object *o, const char *path);
long long jint(json_object *o, const char *path);
double jnum(json_object *o, const char *path);
int jbool(json_object *o, const char *path);
long long jlen(json_object *o, const char *path);

/* Whether the value at path is present and a JSON null. */
int jnull(json_object *o, const char *path);

/* Checks the value at a path of a JSON object, saying which path and what it was. */
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

/* ---- members ------------------------------------------------------------------------------ */

struct member {
    char id[USER_ID_LEN + 1];
    char token[TOKEN_LEN + 1];
    char digest[SHA256_HEX_LEN + 1];
    char name[NAME_MAX_CHARS + 1];
    char key[NAME_MAX_CHARS + 1];
};

/* A fresh identity for room, with the name validated as rooms.c does. Returns 0, or -1. */
int identity(struct member *m, const char *room, const char *name);

/* Creates room with a fresh host (create.lua) at now; checks the 201. */
enum wnc_err create(struct member *host, const char *room, const char *name, long long now);

/* Joins room as a fresh member (join.lua) at now, with a member limit (join: 1000); checks the
 * 201. */
enum wnc_err join_limit(struct member *m, const char *room, const char *name, long long now,
                        const char *limit);
enum wnc_err join(struct member *m, const char *room, const char *name, long long now);

/* The room state as member m sees it (state.lua); NULL when refused (*err says why, when err is
 * not NULL). json_object_put it. */
json_object *state(const struct member *m, const char *room, enum wnc_err *err);

/* The index of uid in the state's room.users, or -1. */
int user_index(json_object *s, const char *uid);

/* Whether m is host, or online, in ROOM as viewer sees it: 1, 0, or -1 when m is not there. */
int is_host(const struct member *viewer, const struct member *m);
int online(const struct member *viewer, const struct member *m);

/* A field of the member record as stored (members:{ROOM}), as a number; LLONG_MIN when the
 * member or the field is missing. Tests read conns and offlineSince this way, which clients
 * never see. */
long long member_num(const char *uid, const char *field);

/* ---- leases ------------------------------------------------------------------------------ */

/* presence.lua in ROOM for uid: op 'open', 'close' or 'poll' of connection cid on channel chan,
 * from IP, held by OWNER. */
enum wnc_err presence(struct call *c, long long now, const char *uid, const char *op,
                      const char *chan, const char *cid);

/* The stored lease of cid in ROOM into buf, or NULL. */
const char *lease_of(const char *cid, char *buf, size_t size);

/* Whether the channel ROOM's members subscribe to now (subscribe.lua with m's token) is want;
 * a mismatch fails the test. */
int channel_is(const struct member *m, const char *want);

/* Checks follow-ups from and from + 1 of c: those of a lease opening (want_open) or closing for
 * cid, held under IP by OWNER. */
void check_lease_followups(const struct call *c, size_t from, int want_open, const char *cid);

/* Whether cid holds a place under IP's cap and is in OWNER's set (the follow-ups ran). */
int lease_indexed(const char *cid);

#endif
