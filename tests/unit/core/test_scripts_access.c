/* The access scripts against the private Redis, at exact instants: a mute's minutes ending by
 * themselves (and pushd's unmute_expire announcing it), the password gate's count (before the
 * check, given back by a join the password let in, a fresh window after 10 minutes), a join refused
 * when the hash it was verified with is no longer the room's, and settings.lua's check mode
 * changing nothing. */
#include <stdio.h>

#include "scripts_helpers.h"

#define HASH1 "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA"
#define HASH2 "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$b3RoZXI"
#define MINUTE 60000LL

static void test_mute_minutes_end_by_themselves(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_MUTE, ROOM, a.digest, t, ARGS(b.id, "1", "2")), E_OK);
    json_object *body = jparse(c.body);
    CHECK_INT(body, "until", t + 2 * MINUTE);
    json_object_put(body);
    char want[128];
    snprintf(want, sizeof(want), "timer unmute %lld " ROOM "|%s", t + 2 * MINUTE, b.id);
    check_followup(&c, 0, want);
    /* Chat and typing compare with the clock: no timer needed for the mute to end. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 2 * MINUTE - 1, ARGS("hi")),
                    E_MUTED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 2 * MINUTE - 1, ARGS("1")),
                    E_MUTED);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 2 * MINUTE, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 2 * MINUTE, ARGS("1")), E_OK);
    /* pushd's check: nothing before the time, then user.muted false for everyone, once. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_UNMUTE_EXPIRE, ROOM, "", t + 2 * MINUTE - 1, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_UNMUTE_EXPIRE, ROOM, "", t + 2 * MINUTE, ARGS(b.id)), E_OK);
    json_object *ev = event(&c, 0, "user.muted", seq + 1);
    CHECK_BOOL(ev, "data.muted", 0);
    CU_ASSERT_TRUE(jnull(ev, "data.until"));
    json_object_put(ev);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_UNMUTE_EXPIRE, ROOM, "", t + 3 * MINUTE, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    /* Muted again: the old check finds the new mute and leaves it. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_MUTE, ROOM, a.digest, t, ARGS(b.id, "1", "2")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_MUTE, ROOM, a.digest, t + MINUTE, ARGS(b.id, "1", "5")),
                          E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_UNMUTE_EXPIRE, ROOM, "", t + 2 * MINUTE, ARGS(b.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    /* Without minutes: until unmuted, however long. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_MUTE, ROOM, a.digest, t, ARGS(b.id, "1", "")), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 1000 * MINUTE, ARGS("hi")),
                    E_MUTED);
    call_free(&c);
}

/* The gate's answer: 200 with the hash, or 429 with seconds as body. */
static int gate(struct call *c, long long now, const char *addr)
{
    CU_ASSERT_EQUAL_FATAL(call(c, SCRIPT_PASSWORD_GATE, ROOM, "", now, ARGS(addr)), E_OK);
    return c->status;
}

static enum wnc_err join_verified(struct member *m, const char *name, long long now,
                                  const char *addr, const char *hash)
{
    struct call c = {0};
    enum wnc_err e;

    if (identity(m, ROOM, name) != 0)
        return E_INTERNAL;
    e = call(&c, SCRIPT_JOIN, ROOM, m->digest, now,
             ARGS(m->id, m->name, m->key, "1000", addr, hash));
    call_free(&c);
    return e;
}

static void test_password_gate(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL(gate(&c, t, IP), 200);
    CU_ASSERT_STRING_EQUAL(c.body, ""); /* no password: nothing counted */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SETTINGS, ROOM, a.digest, t, ARGS("", "", "", "", HASH1)),
                          E_OK);
    CU_ASSERT_EQUAL(join_verified(&b, "Bob", t, IP, ""), E_PASSWORD_REQUIRED);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(gate(&c, t + i, IP), 200);
        CU_ASSERT_STRING_EQUAL(c.body, HASH1);
    }
    CU_ASSERT_EQUAL(gate(&c, t + 1000, IP), 429);
    CU_ASSERT_STRING_EQUAL(c.body, "599"); /* seconds until the window that began at t ends */
    CU_ASSERT_EQUAL(gate(&c, t + 1000, IP2), 200);
    /* A join the password let in gives its attempt back. */
    CU_ASSERT_EQUAL(join_verified(&b, "Bob", t + 1000, IP, HASH1), E_OK);
    CU_ASSERT_EQUAL(gate(&c, t + 1001, IP), 200);
    CU_ASSERT_EQUAL(gate(&c, t + 1002, IP), 429);
    /* A fresh window after 10 minutes. */
    CU_ASSERT_EQUAL(gate(&c, t + 10 * MINUTE, IP), 200);
    /* The hash changed after the check: the password was the old one. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SETTINGS, ROOM, a.digest, t, ARGS("", "", "", "", HASH2)),
                          E_OK);
    CU_ASSERT_EQUAL(join_verified(&b, "Carol", t + 10 * MINUTE, IP, HASH1), E_WRONG_PASSWORD);
    /* Locked beats everything but a ban. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SETTINGS, ROOM, a.digest, t, ARGS("1", "", "", "", "")),
                          E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_PASSWORD_GATE, ROOM, "", t, ARGS(IP)), E_ROOM_LOCKED);
    CU_ASSERT_EQUAL(join_verified(&b, "Carol", t, IP, HASH2), E_ROOM_LOCKED);
    call_free(&c);
}

static void test_settings_check_mode(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL(
        call(&c, SCRIPT_SETTINGS, ROOM, a.digest, t, ARGS("1", "1", "1", "1", HASH1, "check")),
        E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(redis_num(ARGS("HEXISTS", "room:{" ROOM "}", "pwhash")), 0);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_SETTINGS, ROOM, b.digest, t, ARGS("", "", "", "", "", "check")),
                    E_NOT_HOST);
    call_free(&c);
}

static const struct unit_test scripts_access_tests[] = {
    {"mute: minutes end it by themselves", test_mute_minutes_end_by_themselves},
    {"password gate: counted first, given back, windows, a changed hash", test_password_gate},
    {"settings: check mode changes nothing", test_settings_check_mode},
    {NULL, NULL},
};

int test_scripts_access_register(void)
{
    return unit_add_redis_suite("scripts: access", scripts_access_tests);
}
