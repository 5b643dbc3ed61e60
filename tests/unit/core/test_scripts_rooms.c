/* The room scripts that make and unmake a room and its membership (create, state, summary,
 * subscribe with a token, join, leave and the host hand-off, kick and the channel it retires,
 * promote) and the seq every state change advances, against the private Redis (flushed before
 * each test). scripts_helpers.h says how a script is called. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "exec.h"
#include "scripts_helpers.h"
#include "unit.h"

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
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("HSET", "bans:{" ROOM "}", "1", BAN_JSON)), 1);
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
    check_room_deleted(&c, ROOM "-1"); /* and no linger timer: nobody is left to hear anything */
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:linger")), 1); /* Bob's only */
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
    check_room_deleted(&c, ROOM "-4");
    call_free(&c);
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
                              t + 10 + (long long)i * SCRIPT_PRESENCE_BATCH_MS, steps[i].args);
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

static const struct unit_test scripts_rooms_tests[] = {
    {"create and state", test_create_and_state},
    {"summary and subscribe", test_summary_and_subscribe},
    {"join: name taken (any case), room full", test_join},
    {"leave: host hand-off prefers online members", test_leave_hands_off_to_online_first},
    {"leave: host hand-off to the longest present", test_leave_hands_off_to_longest_present},
    {"last member leaving deletes every key", test_last_member_leaving_deletes_the_room},
    {"kick revokes the token", test_kick},
    {"kick rotates the channel; last member: unindex and close", test_kick_rotates_the_channel},
    {"promote: not_host, event, idempotent", test_promote},
    {"seq: +1 per state change, not typing/sync", test_seq},
    {NULL, NULL},
};

int test_scripts_rooms_register(void)
{
    return unit_add_redis_suite("scripts: rooms", scripts_rooms_tests);
}
