/* The per-client-address limits, scripts of their own keys rather than a room's, against the
 * private Redis (flushed before each test): ratelimit.lua's request counter and
 * subs_reserve.lua's cap on concurrent subscriptions (with the authorizer's count). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "scripts_helpers.h"
#include "store.h"
#include "unit.h"

/* ---- requests per address ---------------------------------------------------------------- */

static void test_ratelimit(void)
{
    const char *keys[] = {"rl:{127.0.0.1}"}, *args[] = {"0", "60"};
    struct store_reply r;

    for (int i = 1; i <= 3; i++) {
        CU_ASSERT_EQUAL_FATAL(
            store_eval(unit_store(), SCRIPT_RATELIMIT, 1, keys, 2, args, NULL, &r), E_OK);
        CU_ASSERT_EQUAL(r.n, 2);
        if (r.n == 2) {
            CU_ASSERT_EQUAL(atoi(r.items[0]), i);
            CU_ASSERT_TRUE(atoi(r.items[1]) > 0 && atoi(r.items[1]) <= 60);
        }
        store_reply_free(&r);
    }
    /* A counter that lost its TTL gets one again. */
    CU_ASSERT_EQUAL(redis_num(ARGS("PERSIST", "rl:{127.0.0.1}")), 1);
    CU_ASSERT_EQUAL_FATAL(store_eval(unit_store(), SCRIPT_RATELIMIT, 1, keys, 2, args, NULL, &r),
                          E_OK);
    CU_ASSERT_TRUE(r.n == 2 && atoi(r.items[1]) == 60);
    store_reply_free(&r);
    CU_ASSERT_TRUE(redis_num(ARGS("TTL", "rl:{127.0.0.1}")) > 0);
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
    if (store_eval(unit_store(), SCRIPT_SUBS_RESERVE, 1, keys, 4, args, NULL, &r) != E_OK)
        return -1;
    if (r.n == 3 && r.items[0] != NULL)
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
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, ROOM, "subs_hold " IP " " CID3), E_OK);
    CU_ASSERT_EQUAL(reserve(key, 1000000, 3, "00000000000000c5", 1000100), 1);
    CU_ASSERT_TRUE(redis_is(ARGS("ZSCORE", key, CID3), "inf"));
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", key)), 2); /* CID1 and c4 expired */
    CU_ASSERT_EQUAL(reserve(key, 1000000, 2, "00000000000000c6", 1000100), 0);
    CU_ASSERT_EQUAL(exec_followup(unit_store(), NULL, ROOM, "subs_release " IP " " CID3), E_OK);
    CU_ASSERT_EQUAL(reserve(key, 1000000, 2, "00000000000000c6", 1000100), 1);
    /* A cap of 0 refuses every new connection. */
    CU_ASSERT_EQUAL(reserve("subs:{10.0.0.1}", 0, 0, CID1, 100), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "subs:{10.0.0.1}")), 0);
}

/* subs_reserve.lua with the address's rate-limit window (the authorizer's one call): the
 * request is counted first, and past the limit no place is taken; the reply carries the
 * window's count and seconds left. */
static void test_subs_reserve_counted(void)
{
    const char *keys[] = {"subs:{" IP "}", "rl:{" IP "}"};
    const char *cids[] = {CID1, CID2, CID3};
    const char *want[] = {"1", "1", "-1"};
    struct store_reply r;

    for (int i = 0; i < 3; i++) {
        const char *args[] = {"1000", "10", cids[i], "2000", "60", "2"};
        CU_ASSERT_EQUAL_FATAL(
            store_eval(unit_store(), SCRIPT_SUBS_RESERVE, 2, keys, 6, args, NULL, &r), E_OK);
        CU_ASSERT_EQUAL_FATAL(r.n, 3);
        UNIT_CHECK(strcmp(r.items[0], want[i]) == 0, "request %d: %s, not %s", i + 1, r.items[0],
                   want[i]);
        CU_ASSERT_EQUAL(atoi(r.items[1]), i + 1);
        CU_ASSERT_TRUE(atoi(r.items[2]) > 0 && atoi(r.items[2]) <= 60);
        store_reply_free(&r);
    }
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", keys[0])), 2); /* the third took no place */
    CU_ASSERT_EQUAL(redis_num(ARGS("GET", keys[1])), 3);
}

static const struct unit_test scripts_limits_tests[] = {
    {"subs_reserve with the rate limit: counted first, no place past it",
     test_subs_reserve_counted},
    {"subs_reserve: cap, same connection, expiry", test_subs_reserve},
    {"ratelimit.lua counter and TTL", test_ratelimit},
    {NULL, NULL},
};

int test_scripts_limits_register(void)
{
    return unit_add_redis_suite("scripts: limits", scripts_limits_tests);
}
