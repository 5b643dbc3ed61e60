/* The scripts only pushd runs that belong to no one operation, against the private Redis
 * (flushed before each test): claim.lua (timers claimed once, across several pushd),
 * rotate.lua (a new channel after an nginx worker died) and heartbeat.lua (with the collection
 * of expired rooms). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "scripts_helpers.h"
#include "store.h"
#include "unit.h"

/* ---- pushd's scripts ---------------------------------------------------------------------- */

/* Claims entries of a timer set at now through store s, at most limit; appends them to got[*n]
 * and sets *next to the earliest score left (-1: none). */
static size_t claim_next(struct store *s, const char *key, const char *now, const char *limit,
                         char got[][16], size_t *n, long long *next)
{
    const char *keys[] = {key}, *args[] = {now, limit};
    struct store_reply r;
    size_t count = 0;

    if (store_eval(s, SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r) != E_OK) {
        CU_FAIL("claim failed");
        return 0;
    }
    CU_ASSERT_FATAL(r.n >= 2);
    *next = r.items[0] != NULL ? atoll(r.items[0]) : -1;
    CU_ASSERT_EQUAL(atoll(r.items[1]), (long long)r.n - 2);
    for (size_t i = 2; i < r.n; i++, count++)
        if (*n < 32 && r.items[i] != NULL)
            snprintf(got[(*n)++], 16, "%s", r.items[i]);
    store_reply_free(&r);
    return count;
}

static size_t claim(struct store *s, const char *key, const char *now, const char *limit,
                    char got[][16], size_t *n)
{
    long long next;

    return claim_next(s, key, now, limit, got, n, &next);
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
    long long next;
    CU_ASSERT_EQUAL(claim_next(unit_store(), "timers:t", "5", "10", got, &n, &next), 0);
    CU_ASSERT_EQUAL(next, 10); /* nothing due; the first entry is due at 10 */
    CU_ASSERT_EQUAL(claim_next(unit_store(), "timers:t", "50", "3", got, &n, &next), 3);
    CU_ASSERT_EQUAL(next, 40); /* a full batch: due entries are left */
    CU_ASSERT_EQUAL(claim(unit_store(), "timers:t", "50", "10", got, &n), 2);
    CU_ASSERT_EQUAL(claim(unit_store(), "timers:t", "50", "10", got, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    for (size_t i = 0; i < n; i++) {
        char want[24];
        snprintf(want, sizeof(want), "e%zu", i + 1); /* in due order */
        CU_ASSERT_STRING_EQUAL(got[i], want);
    }
    /* A second store (another pushd) and this one take turns: still each entry once. */
    for (int round = 0; round < 10; round++)
        claim(round % 2 ? unit_store() : other, "timers:t", "1000", "1", got, &n);
    CU_ASSERT_EQUAL(n, 10);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            UNIT_CHECK(strcmp(got[i], got[j]) != 0, "%s claimed twice", got[i]);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:t")), 0);
    CU_ASSERT_EQUAL(claim_next(unit_store(), "timers:t", "1000", "1", got, &n, &next), 0);
    CU_ASSERT_EQUAL(next, -1); /* an empty set: nothing to wait for */
    store_close(other);
}

/* One call claims several sets (pushd's tick on a single Redis): per set, in KEYS order, the
 * earliest score left, the count, the members; a set with nothing due still says when. */
static void test_claim_several_sets(void)
{
    const char *keys[] = {"timers:a", "timers:b", "timers:c"}, *args[] = {"50", "10"};
    struct store_reply r;

    CU_ASSERT_EQUAL(redis_num(ARGS("ZADD", "timers:a", "10", "a1", "20", "a2", "90", "a3")), 3);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZADD", "timers:c", "70", "c1")), 1);
    CU_ASSERT_EQUAL_FATAL(store_eval(unit_store(), SCRIPT_CLAIM, 3, keys, 2, args, NULL, &r), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 8);
    const char *want[] = {"90", "2", "a1", "a2", NULL, "0", "70", "0"};
    for (size_t i = 0; i < 8; i++) {
        int same = want[i] == NULL ? r.items[i] == NULL
                                   : r.items[i] != NULL && strcmp(r.items[i], want[i]) == 0;
        UNIT_CHECK(same, "claim reply item %zu: %s, not %s", i, r.items[i] ? r.items[i] : "nil",
                   want[i] ? want[i] : "nil");
    }
    store_reply_free(&r);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:a")), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:c")), 1);
}

/* heartbeat.lua over a room whose state expired: its leftovers and its index entry go. */
static void test_heartbeat_collects(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t, a.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TICKET, ROOM, a.digest, t, ARGS("ab12", "30000")), E_OK);
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("HSET", "bans:{" ROOM "}", "1", BAN_JSON)), 1);
    long long keys = room_key_count(ROOM);
    CU_ASSERT_EQUAL(keys, EXEC_ROOM_KEYS);

    /* A live room only hears its heartbeat. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, ROOM, "", t, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_EQUAL(room_key_count(ROOM), keys);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 1);

    /* The state expired (as its TTL would make it): the leftovers and the index entry go. */
    CU_ASSERT_EQUAL(redis_num(ARGS("DEL", "room:{" ROOM "}")), 1);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, ROOM, "", t + 15000, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "unindex " ROOM);
    CU_ASSERT_EQUAL(room_key_count(ROOM), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "active-rooms", ROOM)), 0);
    /* An id of no room at all (an index entry left behind): nothing but the entry goes. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_HEARTBEAT, "OTHER1", "", t, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "unindex OTHER1");
    call_free(&c);
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

/* pushd's heartbeat: one non-advancing event carrying the period; a gone room only leaves the
 * index; a second pushd (another instance) within half a period publishes nothing. */
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
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, ROOM, "", t + 7000, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, ROOM, "", t + 7502, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_HEARTBEAT, "NOROOM", "", t + 2, ARGS("15000")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(c.nfu, 1);
    check_followup(&c, 0, "unindex NOROOM");
    call_free(&c);
}

static const struct unit_test scripts_pushd_tests[] = {
    {"rotate: a new channel after an nginx worker died", test_rotate},
    {"heartbeat: the period, seq unchanged", test_heartbeat},
    {"claim never returns an entry twice", test_claim_never_twice},
    {"claim takes several sets in one call", test_claim_several_sets},
    {"heartbeat of an expired room removes leftovers and the index entry", test_heartbeat_collects},
    {NULL, NULL},
};

int test_scripts_pushd_register(void)
{
    return unit_add_redis_suite("scripts: pushd", scripts_pushd_tests);
}
