/* The operator's scripts (wnc-admin), against the private Redis (flushed before each test):
 * admin_close.lua (room.closed with the operator's reason, every key deleted, the index entry
 * and the channel closed by its follow-ups) and admin_room.lua (a read without a token that
 * changes nothing). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "scripts_helpers.h"
#include "store.h"
#include "unit.h"

/* ---- admin_close ------------------------------------------------------------------------- */

static void test_close_everything(void)
{
    const char *reason = "maintenance \"tonight\" \xe2\x9c\x93"; /* quotes and a check mark */
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    enum wnc_err err = E_OK;
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 2, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 3,
                               ARGS("set", "https://e.com/a.mp4", "file", "")),
                          E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 4, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TICKET, ROOM, b.digest, t + 5, ARGS("ab12", "30000")),
                          E_OK);
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("HSET", "bans:{" ROOM "}", "1", BAN_JSON)), 1);
    CU_ASSERT_EQUAL(room_key_count(ROOM), EXEC_ROOM_KEYS);
    CU_ASSERT_TRUE(lease_indexed(CID1));
    long long seq = room_seq(ROOM);

    /* No token: the operator is no member. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ADMIN_CLOSE, ROOM, "", t + 6, ARGS(reason)), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_STRING_EQUAL(c.body, "2"); /* the members it had */
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-1");
    CU_ASSERT_EQUAL_FATAL(c.nev, 1);
    o = event(&c, 0, "room.closed", seq + 1);
    CHECK_STR(o, "data.reason", reason);
    CU_ASSERT_EQUAL(json_object_object_length(jget(o, "data")), 1);
    CU_ASSERT_EQUAL(jint(o, "at"), t + 6);
    json_object_put(o);
    check_room_deleted(&c, ROOM "-1");

    /* Tokens died with the room: 404 for members as for anyone. */
    CU_ASSERT_PTR_NULL(state(&a, ROOM, &err));
    CU_ASSERT_EQUAL(err, E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SUMMARY, ROOM, "", t + 7, NULL), E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 7, ARGS("hi")),
                    E_ROOM_NOT_FOUND);
    /* The stream's unsubscribe hook, when the closed channel ends it, releases its place. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 8, b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    /* A second close finds nothing. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_ADMIN_CLOSE, ROOM, "", t + 9, ARGS("closed")),
                    E_ROOM_NOT_FOUND);
    call_free(&c);
}

/* After a kick the room lives on a new channel: the close goes out on that one. */
static void test_close_current_channel(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 2, ARGS(b.id)), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_ADMIN_CLOSE, ROOM, "", t + 3, ARGS("closed")), E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "1");
    CU_ASSERT_STRING_EQUAL(c.channel, ROOM "-2");
    o = event(&c, 0, "room.closed", seq + 1);
    CHECK_STR(o, "data.reason", "closed");
    json_object_put(o);
    check_room_deleted(&c, ROOM "-2");
    call_free(&c);
}

/* An unknown room: room_not_found, and no other room is touched. */
static void test_close_unknown(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, "OTHER1", "Alice", t), E_OK);
    long long keys = room_key_count("OTHER1");
    CU_ASSERT_EQUAL(call(&c, SCRIPT_ADMIN_CLOSE, ROOM, "", t + 1, ARGS("closed")),
                    E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(room_key_count("OTHER1"), keys);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", "OTHER1")), 1);
    call_free(&c);
}

/* ---- admin_room -------------------------------------------------------------------------- */

/* Runs admin_room.lua for room at now in mode ('full' or 'counts'), as wnc-admin does. */
static enum wnc_err admin_read(const char *room, long long now, const char *mode,
                               struct store_reply *r)
{
    struct exec_call ec;
    const char *args[] = {mode};
    enum wnc_err e = exec_prepare(&ec, room, now, "", 1, args, NULL);

    if (e != E_OK)
        return e;
    return store_eval(unit_store(), SCRIPT_ADMIN_ROOM, EXEC_ROOM_KEYS, ec.keys, ec.argc, ec.argv,
                      ec.lens, r);
}

/* Checks the reply's items one by one against want (NULL-terminated). */
static void check_items(const struct store_reply *r, const char *const *want)
{
    size_t n = 0;

    for (; want[n] != NULL; n++)
        UNIT_CHECK(n < r->n && r->items[n] != NULL && strcmp(r->items[n], want[n]) == 0,
                   "item %zu: got %s want %s", n, n < r->n && r->items[n] ? r->items[n] : "-",
                   want[n]);
    UNIT_CHECK(r->n == n, "%zu items, want %zu", r->n, n);
}

static void test_room_read(void)
{
    long long t = 1700000000000LL;
    struct member a, b, carol;
    struct call c = {0};
    struct store_reply r;
    char created[24], joined_a[24], joined_b[24], updated[24], touched[24], seq[24];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 2, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, b.id, "open", ROOM "-1", CID2), E_OK);
    /* A tombstone (a close that overtook its open) is no stream. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, a.id, "close", ROOM "-1", CID3), E_OK);

    /* No video yet; counts only. */
    snprintf(created, sizeof(created), "%lld", t);
    snprintf(seq, sizeof(seq), "%lld", room_seq(ROOM));
    CU_ASSERT_EQUAL_FATAL(admin_read(ROOM, t + 4, "counts", &r), E_OK);
    check_items(&r, ARGS(created, seq, ROOM "-1", "1", "2", "2", "1", "0"));
    store_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 5,
                               ARGS("set", "https://www.youtube.com/watch?v=" YT, "youtube", YT)),
                          E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 6, ARGS("play", "12.5")),
                          E_OK);
    snprintf(seq, sizeof(seq), "%lld", room_seq(ROOM));
    snprintf(updated, sizeof(updated), "%lld", t + 6);
    snprintf(joined_a, sizeof(joined_a), "%lld", t);
    snprintf(joined_b, sizeof(joined_b), "%lld", t + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(
        redis_str(ARGS("HGET", "room:{" ROOM "}", "touched"), touched, sizeof(touched)));

    /* Ten minutes later (a member's call would refresh the TTLs): the read changes nothing. */
    CU_ASSERT_EQUAL_FATAL(admin_read(ROOM, t + 600000, "full", &r), E_OK);
    check_items(&r, ARGS(created, seq, ROOM "-1", "1", "2", "2", "1", "7",
                         "https://www.youtube.com/watch?v=" YT, "youtube", YT, "1", "12.5", "1",
                         updated, a.id, "Alice", "1", "0", joined_a, "0", b.id, "Bob", "0", "1",
                         joined_b, "2"));
    store_reply_free(&r);
    CU_ASSERT_TRUE(redis_is(ARGS("HGET", "room:{" ROOM "}", "touched"), touched));
    CU_ASSERT_EQUAL(room_seq(ROOM), atoll(seq));

    /* Hosts first, then in join order: Carol, promoted, comes before Bob. */
    CU_ASSERT_EQUAL_FATAL(join(&carol, ROOM, "Carol", t + 7), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PROMOTE, ROOM, a.digest, t + 8, ARGS(carol.id)), E_OK);
    CU_ASSERT_EQUAL_FATAL(admin_read(ROOM, t + 9, "full", &r), E_OK);
    CU_ASSERT_TRUE_FATAL(r.n == 15 + 3 * 6);
    CU_ASSERT_STRING_EQUAL(r.items[15], a.id);
    CU_ASSERT_STRING_EQUAL(r.items[21], carol.id);
    CU_ASSERT_STRING_EQUAL(r.items[23], "1"); /* a host */
    CU_ASSERT_STRING_EQUAL(r.items[27], b.id);
    store_reply_free(&r);

    CU_ASSERT_EQUAL(admin_read("NOROOM", t, "full", &r), E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

static const struct unit_test scripts_admin_tests[] = {
    {"admin_close: room.closed with the reason, the room deleted", test_close_everything},
    {"admin_close: on the room's current channel after a kick", test_close_current_channel},
    {"admin_close: an unknown room is room_not_found", test_close_unknown},
    {"admin_room: counts and members without a token, nothing changed", test_room_read},
    {NULL, NULL},
};

int test_scripts_admin_register(void)
{
    return unit_add_redis_suite("scripts: admin", scripts_admin_tests);
}
