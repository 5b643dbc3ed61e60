/* Who is online and for how long, against the private Redis (flushed before each test):
 * presence.lua's leases (several tabs, hooks out of order, pushd closing the streams of a dead
 * worker, closes on a retired channel, long-polls), timeout.lua's grace period, and linger.lua,
 * which retires the channel of a member who left with a stream still open. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "scripts_helpers.h"
#include "unit.h"

/* ---- presence and timeouts ------------------------------------------------------------------ */

/* Several tabs are one member online: only the first open and the last close announce. */
/* Presence steps one batch window apart (lib.lua's announce_presence), so that each change is
 * announced at once; test_presence_batch covers what happens within a window. */
#define P(n) ((long long)(n)*SCRIPT_PRESENCE_BATCH_MS)

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
        /* The first open also asks for a check of the leases (test_lease_verify). */
        {"open", CID1, 1, 1, 1, 3},   {"open", CID2, -1, 1, 2, 2}, {"open", CID1, -1, 1, 2, 0},
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
        /* The room's count of members online follows every flip (Alice never subscribed). */
        UNIT_CHECK(redis_num(ARGS("HGET", "room:{" ROOM "}", "online")) == steps[i].online,
                   "step %zu: room online count %lld", i,
                   redis_num(ARGS("HGET", "room:{" ROOM "}", "online")));
    }
    /* The owner stays in the instance's index (pushd forgets it once it is dead). */
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "owners:{wnc}", OWNER)), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("SCARD", "owner:{" OWNER "}")), 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "subs:{" IP "}")), 0);
    /* Removing a member who is online takes it off the count; the count never goes below what is
     * online. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 5000, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HGET", "room:{" ROOM "}", "online")), 1);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + 5100, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("HGET", "room:{" ROOM "}", "online")), 0);
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
    CU_ASSERT_EQUAL(c.nfu, 3);
    check_followup(&c, 0, "subs_hold " IP2 " " CID1);
    check_followup(&c, 1, "owner_add " OWNER2 " " ROOM "|" CID1);
    char verify[64];
    snprintf(verify, sizeof(verify), "timer verify %lld %s", t + 1 + SCRIPT_VERIFY_MS, ROOM);
    check_followup(&c, 2, verify); /* the check of the lease (verify.lua) */
    CU_ASSERT_TRUE(redis_is(ARGS("ZSCORE", "subs:{" IP2 "}", CID1), "inf"));
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "owner:{" OWNER2 "}", ROOM "|" CID1)), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("SISMEMBER", "owners:{wnc}", OWNER2)), 1);
    /* The lease key lives as long as the room: TTLs are refreshed lazily (lib.lua touch), so a
     * key made between refreshes has none yet; the next refresh gives it the room's. */
    CU_ASSERT_EQUAL(redis_num(ARGS("TTL", "leases:{" ROOM "}")), -1);
    struct call later = {0};
    long long refresh_ms = config.room_ttl_s * 500LL < 60000 ? config.room_ttl_s * 500LL : 60000;
    CU_ASSERT_EQUAL_FATAL(
        call(&later, SCRIPT_CHAT_POST, ROOM, a.digest, t + 1 + refresh_ms, ARGS("refresh")), E_OK);
    call_free(&later);
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

    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(1), b.id, "close", ROOM "-1", CID1), E_OK);
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
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(2), b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "subs_release " IP " " CID1);
    CU_ASSERT_PTR_NULL(lease_of(CID1, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(online(&a, &b), 0);
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);

    /* In order, the same connection counts once and goes offline once. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(3), b.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(4), b.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    /* A second close of it (a retried hook) counts nothing, announces nothing. */
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(5), b.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 2);
    check_followup(&c, 0, "subs_release " IP " " CID2);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Another tab still open is not closed by a stray close of an old connection. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(6), b.id, "open", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(7), b.id, "close", ROOM "-1", CID2), E_OK);
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
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(1), b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_TRUE_FATAL(lease_indexed(CID1));
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + P(2), ARGS("", "close", "", CID1, "-", OWNER)),
        E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", seq + 1);
    CHECK_STR(o, "data.userId", b.id);
    CHECK_BOOL(o, "data.online", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 3);
    check_lease_followups(&c, 0, 0, CID1); /* from the lease's own limit key and owner */
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + P(2) + config.grace_ms, ROOM,
             b.id);
    check_followup(&c, 2, want);
    CU_ASSERT_PTR_NULL(lease_of(CID1, buf, sizeof(buf)));
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);

    /* A lease already closed (by its hook, before pushd got there): only the owner's set
     * forgets it, and no tombstone is left (no open can follow a sweep). */
    CU_ASSERT_EQUAL_FATAL(redis_num(ARGS("SADD", "owner:{" OWNER "}", ROOM "|" CID2)), 1);
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + P(3), ARGS("", "close", "", CID2, "-", OWNER)),
        E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "owner_del " OWNER " " ROOM "|" CID2);
    CU_ASSERT_EQUAL(redis_num(ARGS("EXISTS", "owner:{" OWNER "}")), 0);
    CU_ASSERT_PTR_NULL(lease_of(CID2, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* The same for a tombstone, which stays for its late open. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(4), b.id, "close", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, ROOM, "", t + P(5), ARGS("", "close", "", CID3, "-", OWNER)),
        E_OK);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "owner_del " OWNER " " ROOM "|" CID3);
    CU_ASSERT_TRUE(lease_of(CID3, buf, sizeof(buf)) && strcmp(buf, "-") == 0);
    /* And in a room that is gone. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_PRESENCE, "NOROOM", "", t + P(6), ARGS("", "close", "", CID1, "-", OWNER)),
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
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(1), b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(2), cm.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + P(2) + 1, ARGS(cm.id)), E_OK);
    check_followup(&c, 0, "close " ROOM "-1");
    long long seq = room_seq(ROOM);

    /* The kick closed the old channel's leases itself (nchan can drop the hooks of streams it
     * closes with their channel): Bob's and the kicked Carol's places go back (the place and
     * the owner's index each), and Bob's grace period runs in case he does not come back.
     * No offline event: Bob is still online as far as the others know. */
    CU_ASSERT_EQUAL(c.nfu, 1 + 2 + 2 + 1);
    snprintf(want, sizeof(want), "timer presence %lld %s|%s", t + P(2) + 1 + config.grace_ms, ROOM,
             b.id);
    int timer_found = 0;
    for (size_t i = 0; i < c.nfu; i++)
        timer_found |= strcmp(c.fu[i], want) == 0;
    CU_ASSERT_TRUE(timer_found);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "leases:{" ROOM "}")), 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(online(&a, &b), 1);
    /* Their close hooks, if they still come, find nothing: no event, no tombstone. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(3), b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(3), cm.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "leases:{" ROOM "}")), 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* A late open on the retired channel holds nothing either. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(3), b.id, "open", ROOM "-1", "00000000000000c9"),
                          E_OK);
    CU_ASSERT_EQUAL(c.nfu, 1);
    check_followup(&c, 0, "subs_release " IP " 00000000000000c9");
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "leases:{" ROOM "}")), 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    /* Bob reconnects onto the new channel: still online, so nothing to announce. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(4), b.id, "open", ROOM "-2", CID3), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 1);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Its close on the current channel does announce. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(5), b.id, "close", ROOM "-2", CID3), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    json_object_put(event(&c, 0, "user.presence", seq + 1));
    CU_ASSERT_EQUAL(online(&a, &b), 0);

    /* Had Bob not come back after another kick, the timer removes him after the grace period
     * (online all along as far as the others know, so user.left is what they hear). */
    struct member d;
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(6), b.id, "open", ROOM "-2", CID1), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + P(6)), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_KICK, ROOM, a.digest, t + P(7), ARGS(d.id)), E_OK);
    check_followup(&c, 0, "close " ROOM "-2");
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + P(8), b.id, "close", ROOM "-2", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TIMEOUT, ROOM, "", t + P(7) + config.grace_ms - 1, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TIMEOUT, ROOM, "", t + P(7) + config.grace_ms, ARGS(b.id)), E_OK);
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
    check_room_deleted(&c, ROOM "-1");
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
     * (which ends his stream and Carol's), with their leases: the places go back (two each:
     * the place and the owner's index). Nothing is announced. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LINGER, ROOM, "", at, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1 + 2 + 2 + 1); /* and Carol's grace timer */
    check_followup(&c, 0, "close " ROOM "-1");
    channel_is(&a, ROOM "-2");
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(redis_num(ARGS("HLEN", "leases:{" ROOM "}")), 0);
    /* The close hooks then find nothing to close (and leave no tombstone); Carol's close on
     * the retired channel does not announce her offline (she reconnects). */
    CU_ASSERT_EQUAL_FATAL(presence(&c, at + 1, b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
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

/* Joins into a room of 20 or more wait like presence changes, in their own window: a join that
 * waits is announced before any later presence change, by the flush or by the next
 * announcement after the window; a joiner gone by then is left out. (Smaller rooms announce
 * every join at once: test_scripts_rooms.) */
static void test_join_batch_order(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm, d, filler;
    struct call c = {0};
    char want[128], name[32];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t - 1000), E_OK);
    for (int i = 0; i < 18; i++) {
        snprintf(name, sizeof(name), "Filler%d", i);
        CU_ASSERT_EQUAL_FATAL(join(&filler, ROOM, name, t - 1000 + i), E_OK);
    }
    long long s0 = room_seq(ROOM);
    CU_ASSERT_EQUAL(s0, 18);                                   /* a room of 19: each join at once */
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t + 1), E_OK); /* the window is over: at once */
    CU_ASSERT_EQUAL(room_seq(ROOM), s0 + 1);
    /* A newcomer's own stream a moment later: presence has its own window, so it goes out at
     * once too, with no flush timer. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 2, b.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", s0 + 2);
    CHECK_STR(o, "data.userId", b.id);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 3); /* the place, the owner and the check of the leases; no flush */
    CU_ASSERT_PTR_NOT_NULL(c.nfu == 3 ? strstr(c.fu[2], "timer verify ") : NULL);
    CU_ASSERT_EQUAL_FATAL(identity(&cm, ROOM, "Carol"), 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_JOIN, ROOM, cm.digest, t + 10, ARGS(cm.id, cm.name, cm.key, "1000")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer pflush %lld %s", t + 1 + SCRIPT_PRESENCE_BATCH_MS, ROOM);
    check_followup(&c, 1, want); /* after the member's own grace timer */
    CU_ASSERT_EQUAL(c.nfu, 2);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 20), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, d.digest, t + 30, NULL), E_OK);
    CU_ASSERT_EQUAL(room_seq(ROOM), s0 + 3); /* only the leave */
    /* The flush never came; Carol's stream opens after the window: her join goes first. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 500, cm.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 2);
    o = event(&c, 0, "user.joined", s0 + 4);
    CHECK_STR(o, "data.user.id", cm.id); /* one member: the single form; Dave is gone */
    CHECK_BOOL(o, "data.user.online", 1);
    json_object_put(o);
    o = event(&c, 1, "user.presence", s0 + 5);
    CHECK_STR(o, "data.userId", cm.id);
    json_object_put(o);
    /* Nothing waits any more: a flush sends nothing. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE_FLUSH, ROOM, "", t + 501, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    /* Two joins within a window: one flush, one event in the several form. */
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t + 600), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&filler, ROOM, "Eve", t + 610), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Frank", t + 620), E_OK);
    CU_ASSERT_EQUAL(room_seq(ROOM), s0 + 6); /* Dave's at once */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE_FLUSH, ROOM, "", t + 700, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.joined", s0 + 7);
    CU_ASSERT_EQUAL(jlen(o, "data.users"), 2);
    CHECK_STR(o, "data.users.0.user.name", "Eve");
    CHECK_STR(o, "data.users.1.user.name", "Frank");
    CU_ASSERT_PTR_NULL(jget(o, "data.users.0.user.tok"));
    json_object_put(o);
    call_free(&c);
}

/* Within a batch window: the first change of a quiet room goes out at once, the next wait
 * (one pflush timer at the window's end), and presence_flush announces them in one event, each
 * member once with its state then; a member removed meanwhile is left out. */
static void test_presence_batch(void)
{
    long long t = 1700000000000LL;
    struct member a, b, cm, d;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&cm, ROOM, "Carol", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&d, ROOM, "Dave", t), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", ++seq);
    CHECK_STR(o, "data.userId", b.id);
    CHECK_BOOL(o, "data.online", 1);
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 10, cm.id, "open", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer pflush %lld %s", t + 1 + SCRIPT_PRESENCE_BATCH_MS, ROOM);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(c.nfu, 3); /* the timer, then the place and the owner */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 20, a.id, "open", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 2); /* no second timer */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 30, d.id, "poll", ROOM "-1", "p1"), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(online(&a, &b) + online(&a, &cm) + online(&a, &d), 3); /* the state at once */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_LEAVE, ROOM, d.digest, t + 40, NULL), E_OK);
    seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE_FLUSH, ROOM, "", t + 101, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", ++seq);
    CU_ASSERT_EQUAL(jlen(o, "data.users"), 2);
    CHECK_STR(o, "data.users.0.userId", cm.id);
    CHECK_BOOL(o, "data.users.0.online", 1);
    CHECK_STR(o, "data.users.1.userId", a.id);
    CHECK_BOOL(o, "data.users.1.online", 1);
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE_FLUSH, ROOM, "", t + 102, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);

    /* Bob flips twice within the next window: announced once, as he is at its end. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 150, b.id, "close", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 160, b.id, "open", ROOM "-1", "00000000000000c4"), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE_FLUSH, ROOM, "", t + 201, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", ++seq);
    CHECK_STR(o, "data.userId", b.id);
    CHECK_BOOL(o, "data.online", 1);
    json_object_put(o);

    /* A flush that comes late (or never): the next change after the window takes it along. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 250, cm.id, "close", ROOM "-1", CID2), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 320, a.id, "close", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "user.presence", ++seq);
    CU_ASSERT_EQUAL(jlen(o, "data.users"), 2);
    CHECK_STR(o, "data.users.0.userId", cm.id);
    CHECK_BOOL(o, "data.users.0.online", 0);
    CHECK_STR(o, "data.users.1.userId", a.id);
    CHECK_BOOL(o, "data.users.1.online", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_PRESENCE_FLUSH, ROOM, "", t + 350, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    call_free(&c);
}

/* nchan 1.3.6 can drop the unsubscribe hook of a stream closed while it opened: every open asks
 * pushd for a check (one timer per room), which lists the leases of the current channel and
 * reports those nchan did not answer for; a lease missing from two checks in a row is closed as
 * its hook would have, one missing once (a slow answer) is kept. */
static void test_lease_verify(void)
{
    long long t = 1700000000000LL, v = t + 1 + SCRIPT_VERIFY_MS;
    struct member a, b;
    struct call c = {0};
    char want[128], buf[256];

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 1, b.id, "open", ROOM "-1", CID1), E_OK);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:verify", ROOM)), v);
    /* A second open while the check is pending asks for no other. */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 2, a.id, "open", ROOM "-1", CID2), E_OK);
    for (size_t i = 0; i < c.nfu; i++)
        UNIT_CHECK(strncmp(c.fu[i], "timer verify", 12) != 0, "follow-up %s", c.fu[i]);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZCARD", "timers:verify")), 1);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:verify", ROOM)), v);

    /* The list: the channel, then every lease on it (a tombstone is not a lease). */
    CU_ASSERT_EQUAL_FATAL(presence(&c, t + 3, b.id, "close", ROOM "-1", CID3), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VERIFY, ROOM, "", v, ARGS("list")), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    UNIT_CHECK(strcmp(c.body, ROOM "-1 " CID1 " " CID2) == 0 ||
                   strcmp(c.body, ROOM "-1 " CID2 " " CID1) == 0,
               "list: %s", c.body);

    /* First miss: a suspect since v, checked again later; nothing closed. */
    const long long ms = SCRIPT_VERIFY_MS;
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VERIFY, ROOM, "", v, ARGS("close", ROOM "-1", CID1)),
                          E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "0");
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(c.nfu, 1);
    snprintf(want, sizeof(want), "timer verify %lld %s", v + ms, ROOM);
    check_followup(&c, 0, want);
    snprintf(want, sizeof(want), "%s=%lld", CID1, v);
    CU_ASSERT_TRUE(redis_is(ARGS("HGET", "room:{" ROOM "}", "verifySuspects"), want));
    CU_ASSERT_PTR_NOT_NULL(lease_of(CID1, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 1);

    /* Missing again one check later: still only a suspect (nchan's answers may not get
     * through for a few seconds); CID2 missing for the first time becomes one. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VERIFY, ROOM, "", v + ms, ARGS("close", ROOM "-1", CID1 " " CID2)), E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "0");
    CU_ASSERT_TRUE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 1);

    /* Missing from every check for three periods: closed as the unsubscribe hook closes it
     * (place, owner, count, grace, Bob offline); CID2, missing for two, stays a suspect. */
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VERIFY, ROOM, "", v + 3 * ms, ARGS("close", ROOM "-1", CID1 " " CID2)),
        E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "1");
    CU_ASSERT_PTR_NULL(lease_of(CID1, buf, sizeof(buf)));
    CU_ASSERT_FALSE(lease_indexed(CID1));
    CU_ASSERT_EQUAL(member_num(b.id, "conns"), 0);
    CU_ASSERT_EQUAL(member_num(b.id, "offlineSince"), v + 3 * ms);
    CU_ASSERT_EQUAL(online(&a, &b), 0);
    snprintf(want, sizeof(want), "%s|%s", ROOM, b.id);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:presence", want)),
                    v + 3 * ms + config.grace_ms);
    CU_ASSERT_TRUE(room_seq(ROOM) > seq); /* Bob's presence, announced */
    snprintf(want, sizeof(want), "%s=%lld", CID2, v + ms);
    CU_ASSERT_TRUE(redis_is(ARGS("HGET", "room:{" ROOM "}", "verifySuspects"), want));
    CU_ASSERT_TRUE(lease_indexed(CID2));

    /* CID2 answers this time (it was only slow): no longer a suspect, and a later miss starts
     * its count again. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VERIFY, ROOM, "", v + 4 * ms, ARGS("close", ROOM "-1", "")), E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "0");
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "room:{" ROOM "}", "verifySuspects")), 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VERIFY, ROOM, "", v + 5 * ms, ARGS("close", ROOM "-1", CID2)), E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "0");
    CU_ASSERT_TRUE(lease_indexed(CID2));
    CU_ASSERT_EQUAL(online(&a, &a), 1);

    /* A report about another channel (the room moved on meanwhile) closes nothing, and a
     * tombstone is not a lease. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VERIFY, ROOM, "", v + 9 * ms, ARGS("close", ROOM "-0", CID2 " " CID3)),
        E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "0");
    CU_ASSERT_TRUE(lease_indexed(CID2));
    CU_ASSERT_TRUE(lease_of(CID3, buf, sizeof(buf)) && strcmp(buf, "-") == 0);

    /* A room that is gone: an empty list, nothing closed, no key made. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VERIFY, "NOROOM", "", v, ARGS("list")), E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "");
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VERIFY, "NOROOM", "", v, ARGS("close", "NOROOM-1", CID1)),
                          E_OK);
    CU_ASSERT_STRING_EQUAL(c.body, "0");
    CU_ASSERT_EQUAL(room_key_count("NOROOM"), 0);
    call_free(&c);
}

static const struct unit_test scripts_presence_tests[] = {
    {"leave keeps the channel; linger retires it if a stream stays", test_leave_then_linger},
    {"presence: leases open/close, tabs, announcements", test_presence_transitions},
    {"lease: record, idempotent open, missing member or room", test_lease_open},
    {"lease: close before open leaves a tombstone", test_lease_close_before_open},
    {"lease: pushd closes a lost lease, or only forgets it", test_lease_pushd_close},
    {"lease: closes on a retired channel announce nothing", test_lease_retired_channel},
    {"lease: pushd's check closes a lease missing for 6 s, keeps a slow one", test_lease_verify},
    {"presence: long-poll keeps a member online", test_presence_poll},
    {"presence: changes within a window are announced in one batch", test_presence_batch},
    {"presence: joins wait in the same window and go first", test_join_batch_order},
    {"timeout before/after the grace period", test_timeout_grace},
    {"timeout of the host and of the last member", test_timeout_of_host_and_last_member},
    {NULL, NULL},
};

int test_scripts_presence_register(void)
{
    return unit_add_redis_suite("scripts: presence", scripts_presence_tests);
}
