/* exec.c: the reply parser (a table of well-formed and malformed replies), the layout of a
 * call, the typed follow-ups (a table of accepted forms and one of hostile ones: other rooms, old
 * free-form commands, injected words, absurd lengths) and exec_room itself, with a NULL
 * publisher and the server's clock (the grace period is shortened by main.c through
 * WNC_GRACE_MS). The follow-ups and exec_room run against the private Redis (flushed before
 * each test). */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "exec.h"
#include "scripts_helpers.h"
#include "store.h"
#include "unit.h"

/* ---- exec_reply_parse ------------------------------------------------------------------------ */

#define CH_LONGEST ROOM "-123456789012345678" /* CHANNEL_MAX_LEN: an 18-digit epoch */
#define CH_TOO_LONG CH_LONGEST "9"

/* Replies of room scripts as the store flattens them (NULL: a nil item), and how
 * exec_reply_parse reads them: E_INTERNAL for what exec_room refuses, otherwise the counts it
 * acts on, where the follow-ups start, and whether the reply was exact. */
static const struct {
    const char *what;
    size_t n;
    const char *items[10];
    enum wnc_err e;
    int status;
    size_t nev, nfu, fu_at;
    int exact;
} reply_rows[] = {
    /* What sql/lib.lua's result() returns. */
    {"nothing to publish or run", 5, {"204", "", ROOM "-1", "0", "0"}, E_OK, 204, 0, 0, 5, 1},
    {"one event", 6, {"200", "{}", ROOM "-1", "1", "e1", "0"}, E_OK, 200, 1, 0, 6, 1},
    {"follow-ups only", 7, {"204", "", ROOM "-1", "0", "2", "f1", "f2"}, E_OK, 204, 0, 2, 5, 1},
    {"both", 9, {"201", "{}", ROOM "-7", "2", "e1", "e2", "2", "f1", "f2"}, E_OK, 201, 2, 2, 7, 1},
    {"the longest channel", 5, {"200", "", CH_LONGEST, "0", "0"}, E_OK, 200, 0, 0, 5, 1},
    /* Refused. */
    {"no items", 0, {NULL}, E_INTERNAL, 0, 0, 0, 0, 0},
    {"four items", 4, {"200", "", ROOM "-1", "0"}, E_INTERNAL, 0, 0, 0, 0, 0},
    {"nil status", 5, {NULL, "", ROOM "-1", "0", "0"}, E_INTERNAL, 0, 0, 0, 0, 0},
    {"nil body", 5, {"200", NULL, ROOM "-1", "0", "0"}, E_INTERNAL, 0, 0, 0, 0, 0},
    {"nil channel", 5, {"200", "", NULL, "0", "0"}, E_INTERNAL, 0, 0, 0, 0, 0},
    {"a channel too long", 5, {"200", "", CH_TOO_LONG, "0", "0"}, E_INTERNAL, 0, 0, 0, 0, 0},
    /* Read leniently, as exec_room always has, but not exact. */
    {"events past the end", 6, {"200", "", "c", "3", "e1", "e2"}, E_OK, 200, 2, 0, 6, 0},
    {"follow-ups past the end", 7, {"200", "", "c", "0", "3", "f", "f"}, E_OK, 200, 0, 2, 5, 0},
    {"no follow-up count", 5, {"200", "", "c", "1", "e1"}, E_OK, 200, 1, 0, 5, 0},
    {"negative counts", 5, {"200", "", "c", "-1", "-2"}, E_OK, 200, 0, 0, 5, 0},
    {"a count that is no number", 5, {"200", "", "c", "x", "0"}, E_OK, 200, 0, 0, 5, 0},
    {"a count with a sign", 6, {"200", "", "c", "+1", "e1", "0"}, E_OK, 200, 1, 0, 6, 0},
    {"a nil count", 5, {"200", "", "c", NULL, "0"}, E_OK, 200, 0, 0, 5, 0},
    {"an item after the follow-ups", 6, {"200", "", "c", "0", "0", "x"}, E_OK, 200, 0, 0, 5, 0},
    /* One event more than counted: it is read as the follow-up count. */
    {"an event too many", 7, {"200", "", "c", "1", "e1", "e2", "0"}, E_OK, 200, 1, 0, 6, 0},
    {"a nil event", 6, {"200", "", "c", "1", NULL, "0"}, E_OK, 200, 1, 0, 6, 0},
    {"a nil follow-up", 6, {"200", "", "c", "0", "1", NULL}, E_OK, 200, 0, 1, 5, 0},
    /* The status is whatever number the script chose (exec_room does not judge it). */
    {"a status that is no number", 5, {"abc", "", "c", "0", "0"}, E_OK, 0, 0, 0, 5, 1},
};

static void test_exec_reply_parse(void)
{
    for (size_t i = 0; i < sizeof(reply_rows) / sizeof(reply_rows[0]); i++) {
        char *items[10];
        size_t lens[10];
        struct store_reply r = {reply_rows[i].n, items, lens};
        struct exec_reply rep;
        const char *what = reply_rows[i].what;

        for (size_t k = 0; k < reply_rows[i].n; k++) {
            items[k] = (char *)reply_rows[i].items[k];
            lens[k] = items[k] != NULL ? strlen(items[k]) : 0;
        }
        memset(&rep, 0x5a, sizeof(rep));
        enum wnc_err e = exec_reply_parse(&r, &rep);
        UNIT_CHECK(e == reply_rows[i].e, "%s: %s", what, err_code(e));
        UNIT_CHECK(rep.status == reply_rows[i].status, "%s: status %d", what, rep.status);
        UNIT_CHECK(rep.nevents == reply_rows[i].nev, "%s: %zu events", what, rep.nevents);
        UNIT_CHECK(rep.nfollowups == reply_rows[i].nfu, "%s: %zu follow-ups", what, rep.nfollowups);
        UNIT_CHECK(rep.exact == reply_rows[i].exact, "%s: exact %d", what, rep.exact);
        if (e != E_OK) {
            /* Zeroed: nothing to publish or run. */
            UNIT_CHECK(rep.body == NULL && rep.channel == NULL && rep.events == NULL &&
                           rep.followups == NULL,
                       "%s: not zeroed", what);
            continue;
        }
        /* Views into the reply, not copies. */
        UNIT_CHECK(rep.body == items[1] && rep.body_len == lens[1], "%s: body", what);
        UNIT_CHECK(rep.channel == items[2] && rep.channel_len == lens[2], "%s: channel", what);
        UNIT_CHECK(rep.events == items + 4 && rep.event_lens == lens + 4, "%s: events", what);
        UNIT_CHECK(rep.followups == items + reply_rows[i].fu_at, "%s: follow-ups at %td", what,
                   rep.followups - items);
    }
}

/* ---- exec_reply_body ------------------------------------------------------------------------ */

#define MARK SCRIPT_USERS_MARK
#define HOST(order, json) "0" order json /* a users:{id} value: sort key, then public JSON */
#define GUEST(order, json) "1" order json

static const struct {
    const char *what;
    const char *body;
    int read; /* users:{id} was read (exec_eval) */
    size_t n;
    const char *users[4];
    const char *want; /* NULL: refused */
} body_rows[] = {
    {"no mark: as it is", "{\"a\":1}", 0, 0, {NULL}, "{\"a\":1}"},
    {"no mark, users ignored", "{}", 1, 1, {HOST("0000000001", "{}")}, "{}"},
    {"hosts first, then join order",
     "{\"users\":" MARK ",\"seq\":3}",
     1,
     4,
     {GUEST("0000000002", "{\"id\":\"b\"}"), HOST("0000000010", "{\"id\":\"c\"}"),
      GUEST("0000000011", "{\"id\":\"d\"}"), HOST("0000000001", "{\"id\":\"a\"}")},
     "{\"users\":[{\"id\":\"a\"},{\"id\":\"c\"},{\"id\":\"b\"},{\"id\":\"d\"}],\"seq\":3}"},
    {"an empty room", "[" MARK "]", 1, 0, {NULL}, "[[]]"},
    {"the mark at the very end", MARK, 1, 1, {HOST("0000000001", "1")}, "[1]"},
    {"a mark without users", "{\"users\":" MARK "}", 0, 0, {NULL}, NULL},
    {"a user without JSON", MARK, 1, 1, {HOST("0000000001", "")}, NULL},
    {"a user shorter than its key", MARK, 1, 1, {"0001"}, NULL},
    {"half a mark", "{\"a\":\"\001users\"}", 1, 0, {NULL}, "{\"a\":\"\001users\"}"},
};

static void test_exec_reply_body(void)
{
    for (size_t i = 0; i < sizeof(body_rows) / sizeof(body_rows[0]); i++) {
        size_t lens[4], len = 0;
        struct exec_reply rep = {.body = body_rows[i].body, .body_len = strlen(body_rows[i].body)};
        struct store_reply users = {body_rows[i].n, (char **)body_rows[i].users, lens};
        for (size_t k = 0; k < body_rows[i].n; k++)
            lens[k] = strlen(body_rows[i].users[k]);
        char *got = exec_reply_body(&rep, body_rows[i].read ? &users : NULL, &len);
        if (body_rows[i].want == NULL) {
            UNIT_CHECK(got == NULL, "%s: not refused: %s", body_rows[i].what, got);
        } else {
            UNIT_CHECK(got != NULL && strcmp(got, body_rows[i].want) == 0 && len == strlen(got),
                       "%s: %s", body_rows[i].what, got ? got : "(refused)");
        }
        free(got);
    }
}

/* ---- exec_prepare --------------------------------------------------------------------------- */

/* The layout every room script reads (sql/lib.lua): nine keys in the room's slot, the standard
 * arguments from config, then the script's own. */
static void test_exec_prepare_layout(void)
{
    static const char *const want_keys[EXEC_ROOM_KEYS] = {
        "room:{" ROOM "}",    "members:{" ROOM "}", "names:{" ROOM "}", "auth:{" ROOM "}",
        "chat:{" ROOM "}",    "limits:{" ROOM "}",  "users:{" ROOM "}", "leases:{" ROOM "}",
        "tickets:{" ROOM "}", "bans:{" ROOM "}"};
    struct exec_call ec;
    const char *own[EXEC_MAX_ARGS] = {"x", "", "z"};
    char want[32];

    CU_ASSERT_EQUAL_FATAL(EXEC_ROOM_KEYS, 10);
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

/* ---- through exec_room, NULL publisher, real clock ------------------------------------------ */

static enum wnc_err run(struct exec_result *r, enum script_id script, const char *digest,
                        const char *const *args)
{
    int nargs = 0;

    while (args != NULL && args[nargs] != NULL)
        nargs++;
    exec_result_free(r);
    return exec_room(unit_store(), NULL, script, ROOM, digest, nargs, (const char **)args, NULL, r);
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
    CU_ASSERT_EQUAL(run(&r, SCRIPT_HEARTBEAT, "", ARGS("15000")), E_OK);
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
    CU_ASSERT_EQUAL(
        exec_room(unit_store(), NULL, SCRIPT_STATE, ROOM, "", EXEC_MAX_ARGS + 1, many, NULL, &r),
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
        enum wnc_err e = exec_followup(unit_store(), NULL, ROOM, followup_accepted[i].cmd);
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
        enum wnc_err e = exec_followup(unit_store(), NULL, ROOM, followup_refused[i]);
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
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, "ROOM03", "index ROOM03"), E_OK);
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, ROOM, cmd), E_INTERNAL);
    snprintf(cmd, sizeof(cmd), "index ROOM03%300s", "");
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, "ROOM03", cmd), E_INTERNAL);
    memset(cmd, '7', sizeof(cmd) - 1);
    cmd[sizeof(cmd) - 1] = '\0';
    memcpy(cmd, "timer sync ", 11);
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, ROOM, cmd), E_INTERNAL);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "timers:sync")), 0);
    /* A nil item where a follow-up should be (the parser passes it on as NULL). */
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, ROOM, NULL), E_INTERNAL);

    /* The room checked is the caller's: the same follow-up is another room's business. */
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, "ROOM02", "index " ROOM), E_INTERNAL);
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, "ROOM02", "timer presence 1 " ROOM "|" UID),
                    E_INTERNAL);
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, "ROOM02", "close " ROOM "-1"), E_INTERNAL);
    CU_ASSERT_EQUAL(
        exec_followup(unit_store(), NULL, "ROOM02", "owner_del " OWNER " " ROOM "|" CID1),
        E_INTERNAL);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "owner:{" OWNER "}")), 2);
    /* A store error is reported, not fatal: a timer key that is not a sorted set. */
    CU_ASSERT_TRUE(redis_is(ARGS("SET", "timers:typing", "x"), "OK"));
    CU_ASSERT_NOT_EQUAL(exec_followup(unit_store(), NULL, ROOM, "timer typing 1 " ROOM "|" UID),
                        E_OK);
    CU_ASSERT_EQUAL(store_ping(unit_store()), E_OK);
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

/* exec.c's pure parts; the rest runs against Redis. */
static const struct unit_test exec_tests[] = {
    {"exec_reply_parse: well-formed, refused and lenient replies", test_exec_reply_parse},
    {"exec_reply_body: the room's users sorted into the mark", test_exec_reply_body},
    {"exec_prepare: nine keys, standard arguments", test_exec_prepare_layout},
    {NULL, NULL},
};

/* A call's follow-ups go to Redis in one pipeline, in parts of 32 commands: a kick that closes
 * 40 streams (two commands each, after 40 opens of three each) leaves every place released and
 * every owner entry gone. */
static void test_exec_room_many_followups(void)
{
    struct member a, b;
    struct exec_result r = {0};
    char max[16], cid[17];

    CU_ASSERT_EQUAL_FATAL(identity(&a, ROOM, "Alice"), 0);
    CU_ASSERT_EQUAL_FATAL(identity(&b, ROOM, "Bob"), 0);
    snprintf(max, sizeof(max), "%d", config.max_users);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_CREATE, a.digest, ARGS(a.id, a.name, a.key)), E_OK);
    CU_ASSERT_EQUAL_FATAL(run(&r, SCRIPT_JOIN, b.digest, ARGS(b.id, b.name, b.key, max)), E_OK);
    for (int i = 0; i < 40; i++) {
        snprintf(cid, sizeof(cid), "%016x", 0x100 + i);
        CU_ASSERT_EQUAL_FATAL(
            run(&r, SCRIPT_PRESENCE, "", ARGS(b.id, "open", ROOM "-1", cid, IP, OWNER)), E_OK);
    }
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "subs:{" IP "}")), 40);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "owner:{" OWNER "}")), 40);
    CU_ASSERT_EQUAL(run(&r, SCRIPT_KICK, a.digest, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "subs:{" IP "}")), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "owner:{" OWNER "}")), 0);
    exec_result_free(&r);
}

static const struct unit_test exec_redis_tests[] = {
    {"exec_followup: typed forms run, anything else refused", test_exec_followup},
    {"exec_room runs every script with a NULL publisher", test_exec_room_every_script},
    {"exec_room: many follow-ups, one pipeline in parts", test_exec_room_many_followups},
    {"exec_room: timeout on the real clock", test_exec_room_timeout_real_clock},
    {NULL, NULL},
};

int test_exec_register(void)
{
    CU_pSuite s = CU_add_suite("exec", NULL, NULL);
    if (s == NULL || unit_add_tests(s, exec_tests) != 0)
        return -1;
    return unit_add_redis_suite("exec: redis", exec_redis_tests);
}
