/* Subscription tickets against the private Redis (flushed before each test): ticket.lua issues
 * them, subscribe.lua consumes them once; expiry, removed members, the sweep and the rate
 * limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "scripts_helpers.h"
#include "unit.h"

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

static const struct unit_test scripts_tickets_tests[] = {
    {"ticket: issue, consume once, expiry, unknown", test_ticket_issue_and_consume},
    {"ticket: refused once its member is removed", test_ticket_of_removed_member},
    {"ticket: sweep at 64 fields, at most every 10 s", test_ticket_sweep},
    {"ticket: rate limited per member, own class", test_ticket_rate_limit},
    {NULL, NULL},
};

int test_scripts_tickets_register(void)
{
    return unit_add_redis_suite("scripts: tickets", scripts_tickets_tests);
}
