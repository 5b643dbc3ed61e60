/* The chat and typing scripts (chat_post, chat_get, typing, typing_expire) against the private
 * Redis (flushed before each test): history, binary-safe text, rate limits, typing events only
 * on a change and their expiry. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "exec.h"
#include "scripts_helpers.h"
#include "store.h"
#include "unit.h"

/* ---- chat ------------------------------------------------------------------------------------ */

static void test_chat_keeps_last_20_verbatim(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    static const char *const hostile[] = {
        "<img src=x onerror=alert(1)>",
        "  spaced  ",
        "quote \" backslash \\ slash / </script>",
        "\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8 unicode",
        "line\nbreak\ttab",
        "{\"json\":true}",
        "%s %n %d",
    };
    char texts[25][64];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    for (int i = 0; i < 25; i++) {
        const struct member *m = i % 2 ? &b : &a;
        long long seq = room_seq(ROOM);
        if (i >= 18)
            snprintf(texts[i], sizeof(texts[i]), "%s", hostile[i - 18]);
        else
            snprintf(texts[i], sizeof(texts[i]), "message %d", i);
        CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, m->digest, t + i, ARGS(texts[i])),
                              E_OK);
        CU_ASSERT_EQUAL(c.status, 201);
        o = jparse(c.body);
        CHECK_STR(o, "message.text", texts[i]);
        CHECK_STR(o, "message.userId", m->id);
        CHECK_STR(o, "message.userName", m->name);
        CHECK_INT(o, "message.id", seq + 1);
        CHECK_INT(o, "message.ts", t + i);
        json_object_put(o);
        CU_ASSERT_EQUAL(c.nev, 1);
        o = event(&c, 0, "chat.message", seq + 1);
        CHECK_STR(o, "data.message.text", texts[i]);
        json_object_put(o);
    }
    CU_ASSERT_EQUAL(redis_num(ARGS("LLEN", "chat:{" ROOM "}")), 20);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_GET, ROOM, b.digest, t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    o = jparse(c.body);
    CU_ASSERT_EQUAL(jlen(o, "messages"), 20);
    for (int i = 0; i < 20; i++) {
        char path[64];
        snprintf(path, sizeof(path), "messages.%d.text", i);
        CHECK_STR(o, path, texts[i + 5]); /* oldest first */
    }
    json_object_put(o);
    o = state(&a, ROOM, NULL);
    CU_ASSERT_EQUAL(jlen(o, "chat"), 20);
    CHECK_STR(o, "chat.19.text", texts[24]);
    json_object_put(o);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_GET, ROOM, "", t, NULL), E_UNAUTHORIZED);
    call_free(&c);
}

/* A NUL inside the text (the scripts are binary-safe) comes back as \u0000. */
static void test_chat_binary_safe(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct exec_call ec;
    const char *text[] = {"a\0b"};
    const size_t lens[] = {3};
    struct store_reply r;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(exec_prepare(&ec, ROOM, t, a.digest, 1, text, lens), E_OK);
    CU_ASSERT_EQUAL(ec.lens[EXEC_STD_ARGS], 3);
    CU_ASSERT_EQUAL_FATAL(store_eval(unit_store(), SCRIPT_CHAT_POST, EXEC_ROOM_KEYS, ec.keys,
                                     ec.argc, ec.argv, ec.lens, &r),
                          E_OK);
    CU_ASSERT_TRUE(r.n >= 2 && r.items[1] != NULL && strstr(r.items[1], "a\\u0000b") != NULL);
    store_reply_free(&r);
}

static void test_chat_rate_limit(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    for (int i = 0; i < config.chat_rate; i++)
        CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + i, ARGS("x")), E_OK);
    long long seq = room_seq(ROOM);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 100, ARGS("x")), E_RATE_LIMITED);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    /* Per member: Bob may still talk. A new window lets Alice talk again. */
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, b.digest, t + 100, ARGS("x")), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 10000, ARGS("x")), E_OK);
    call_free(&c);
}

/* ---- typing ---------------------------------------------------------------------------------- */

static void test_typing_events_only_on_change(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 10, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.status, 204);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "typing", seq); /* typing does not advance seq */
    CHECK_STR(o, "data.userId", b.id);
    CHECK_STR(o, "data.userName", "Bob");
    CHECK_BOOL(o, "data.typing", 1);
    json_object_put(o);
    snprintf(want, sizeof(want), "timer typing %lld %s|%s", t + 10 + config.typing_ttl_ms, ROOM,
             b.id);
    check_followup(&c, 0, want);

    /* A refresh while typing: no event, the expiry moves. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 50, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer typing %lld %s|%s", t + 50 + config.typing_ttl_ms, ROOM,
             b.id);
    check_followup(&c, 0, want);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 60, ARGS("0")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "typing", seq);
    CHECK_BOOL(o, "data.typing", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 70, ARGS("0")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);

    /* After a stop, starting again is a change. An indicator past its time that pushd has not
     * expired yet still counts as typing (the others were never told otherwise), so a start
     * then is a refresh, not a change. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 100, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 1);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TYPING, ROOM, b.digest, t + 100 + config.typing_ttl_ms, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_TYPING, ROOM, "", t, ARGS("1")), E_UNAUTHORIZED);
    call_free(&c);
}

static void test_typing_expire(void)
{
    long long t = 1700000000000LL, until = t + config.typing_ttl_ms;
    struct member a;
    struct call c = {0};
    char want[128];
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    long long seq = room_seq(ROOM);
    /* Not typing: nothing to expire. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", t, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, t, ARGS("1")), E_OK);
    /* Too early: the timer is set again for the real deadline. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until - 1, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    snprintf(want, sizeof(want), "timer typing %lld %s|%s", until, ROOM, a.id);
    check_followup(&c, 0, want);
    /* Due: typing false, once. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "typing", seq);
    CHECK_STR(o, "data.userId", a.id);
    CHECK_BOOL(o, "data.typing", 0);
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until + 1, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);

    /* A chat message ends typing: nothing left to expire. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, t + 1000, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_CHAT_POST, ROOM, a.digest, t + 1001, ARGS("hi")), E_OK);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", t + 1000 + config.typing_ttl_ms, ARGS(a.id)),
        E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    /* Gone users and rooms: nothing. */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", t, ARGS("00000000-0000-4000-8000-000000000000")),
        E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, "NOROOM", "", t, ARGS(a.id)), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0);
    call_free(&c);
}

/* Observers told "typing: true" must eventually be told "typing: false". A stop that arrives
 * once the indicator has run out but before pushd's typing_expire ran is not a change for
 * typing.lua (was = typingUntil > NOW is already false) and clears typingUntil, so
 * typing_expire finds nothing: no typing false is ever published. */
static void test_bug_typing_stop_at_expiry(void)
{
    long long t = 1700000000000LL, until = t + config.typing_ttl_ms;
    struct member a;
    struct call c = {0};
    size_t falses = 0;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, t, ARGS("1")), E_OK);
    CU_ASSERT_EQUAL_FATAL(c.nev, 1);
    /* The stop lands at the deadline, pushd's tick a few ms later. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING, ROOM, a.digest, until, ARGS("0")), E_OK);
    falses += c.nev;
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_TYPING_EXPIRE, ROOM, "", until + 5, ARGS(a.id)), E_OK);
    falses += c.nev;
    UNIT_CHECK(falses == 1, "typing false published %zu times after a typing true", falses);
    call_free(&c);
}

static const struct unit_test scripts_chat_tests[] = {
    {"chat keeps the last 20, verbatim", test_chat_keeps_last_20_verbatim},
    {"chat text is binary-safe", test_chat_binary_safe},
    {"chat rate limit per member and window", test_chat_rate_limit},
    {"typing events only on change", test_typing_events_only_on_change},
    {"typing_expire", test_typing_expire},
    {"typing stop at expiry publishes typing false", test_bug_typing_stop_at_expiry},
    {NULL, NULL},
};

int test_scripts_chat_register(void)
{
    return unit_add_redis_suite("scripts: chat", scripts_chat_tests);
}
