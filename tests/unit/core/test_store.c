/* store.c against the private redis-server: commands, scripts, error mapping, reconnection,
 * and an unavailable server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store.h"
#include "timeout.h"
#include "unit.h"

/* Runs a command given as NUL-terminated words and returns its status; *out is filled when
 * out is not NULL. */
static enum wnc_err cmd(struct store *s, struct store_reply *out, int argc, const char **argv)
{
    return store_command(s, argc, argv, NULL, out);
}

static void test_ping(void)
{
    CU_ASSERT_EQUAL(store_ping(unit_store()), E_OK);
    CU_ASSERT_EQUAL(store_ping(unit_store()), E_OK);
}

/* A host that is a path is Redis's unix socket (scripts/unit.sh gives the private Redis one):
 * the same server answers there; a socket nobody listens on is unavailable. */
static void test_unix_socket(void)
{
    const char *path = getenv("WNC_TEST_REDIS_SOCKET");
    const char *set[] = {"SET", "unix:probe", "1"}, *get[] = {"GET", "unix:probe"};
    struct store_reply r;
    struct store *st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    st = store_open(path, 0);
    CU_ASSERT_EQUAL(store_ping(st), E_OK);
    CU_ASSERT_EQUAL(store_command(st, 3, set, NULL, NULL), E_OK);
    store_close(st);
    /* Written over the socket, read over TCP: the same server. */
    CU_ASSERT_EQUAL_FATAL(store_command(unit_store(), 2, get, NULL, &r), E_OK);
    CU_ASSERT_TRUE(r.n == 1 && r.items[0] != NULL && strcmp(r.items[0], "1") == 0);
    store_reply_free(&r);
    st = store_open("/nonexistent/redis.sock", 0);
    CU_ASSERT_EQUAL(store_ping(st), E_REDIS_UNAVAILABLE);
    store_close(st);
}

static void test_command_replies(void)
{
    struct store_reply r;
    const char *set[] = {"SET", "k", "a\0b"};
    const size_t set_lens[] = {3, 1, 3};
    const char *get[] = {"GET", "k"}, *get_missing[] = {"GET", "nope"};
    const char *incr[] = {"INCR", "n"}, *rpush[] = {"RPUSH", "l", "x", "", "z"};
    const char *lrange[] = {"LRANGE", "l", "0", "-1"};
    const char *nested[] = {"EVAL", "return {1, {'a', {2, 'deep'}}, 'b'}", "0"};

    CU_ASSERT_EQUAL_FATAL(store_command(unit_store(), 3, set, set_lens, &r), E_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.items[0], "OK");
    store_reply_free(&r);
    CU_ASSERT_PTR_NULL(r.items);

    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), &r, 2, get), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.lens[0], 3);
    CU_ASSERT_EQUAL(memcmp(r.items[0], "a\0b", 4), 0); /* binary-safe, NUL-terminated */
    store_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), &r, 2, get_missing), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_PTR_NULL(r.items[0]);
    store_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), &r, 2, incr), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.items[0], "1");
    store_reply_free(&r);

    CU_ASSERT_EQUAL(cmd(unit_store(), NULL, 5, rpush), E_OK); /* out may be NULL */
    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), &r, 4, lrange), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.items[0], "x");
    CU_ASSERT_STRING_EQUAL(r.items[1], "");
    CU_ASSERT_EQUAL(r.lens[1], 0);
    CU_ASSERT_STRING_EQUAL(r.items[2], "z");
    store_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), &r, 3, nested), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    CU_ASSERT_STRING_EQUAL(r.items[0], "1");
    CU_ASSERT_STRING_EQUAL(r.items[1], "a");
    CU_ASSERT_STRING_EQUAL(r.items[2], "2");
    CU_ASSERT_STRING_EQUAL(r.items[3], "deep");
    CU_ASSERT_STRING_EQUAL(r.items[4], "b");
    store_reply_free(&r);
}

static void test_command_errors(void)
{
    struct store_reply r = {0};
    const char *set[] = {"SET", "s", "v"}, *lpush[] = {"LPUSH", "s", "x"};
    const char *bogus[] = {"NOSUCHCOMMAND"}, *arity[] = {"GET"};

    CU_ASSERT_EQUAL(cmd(unit_store(), NULL, 3, set), E_OK);
    CU_ASSERT_EQUAL(cmd(unit_store(), &r, 3, lpush), E_INTERNAL); /* WRONGTYPE */
    CU_ASSERT_EQUAL(r.n, 0);
    CU_ASSERT_EQUAL(cmd(unit_store(), &r, 1, bogus), E_INTERNAL);
    CU_ASSERT_EQUAL(cmd(unit_store(), &r, 1, arity), E_INTERNAL);
    store_reply_free(&r);
    /* The connection is still usable after error replies. */
    CU_ASSERT_EQUAL(store_ping(unit_store()), E_OK);
}

/* A script's "WNC <code>" error maps to that code's value, whichever way Lua raised it. */
static void test_script_error_mapping(void)
{
    static const struct {
        const char *lua;
        enum wnc_err e;
    } rows[] = {
        {"return redis.error_reply('WNC name_taken')", E_NAME_TAKEN},
        {"error({err = 'WNC not_host'})", E_NOT_HOST},
        {"error({err = 'WNC room_not_found'})", E_ROOM_NOT_FOUND},
        {"error({err = 'WNC rate_limited'})", E_RATE_LIMITED},
        {"error({err = 'WNC unauthorized'})", E_UNAUTHORIZED},
        {"error({err = 'WNC bogus_code'})", E_INTERNAL},
        {"error({err = 'WNC '})", E_INTERNAL},
        {"error({err = 'wnc not_host'})", E_INTERNAL},
        {"error('plain lua error')", E_INTERNAL},
        {"return redis.call('LPUSH', KEYS[1], 'x')", E_INTERNAL}, /* WRONGTYPE in a script */
    };
    const char *set[] = {"SET", "str", "v"};

    CU_ASSERT_EQUAL(cmd(unit_store(), NULL, 3, set), E_OK);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *argv[] = {"EVAL", rows[i].lua, "1", "str"};
        struct store_reply r = {0};
        enum wnc_err e = cmd(unit_store(), &r, 4, argv);
        UNIT_CHECK(e == rows[i].e, "row %zu (%s): got %s", i, rows[i].lua, err_code(e));
        store_reply_free(&r);
    }
}

static void test_eval_script(void)
{
    const char *zadd[] = {"ZADD", "timers:t", "1", "a", "2", "b", "3", "c"};
    const char *keys[] = {"timers:t"}, *args[] = {"2", "10"};
    struct store_reply r;

    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 8, zadd), E_OK);
    CU_ASSERT_EQUAL_FATAL(store_eval(unit_store(), SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 4); /* the next due score, the count, the claimed entries */
    CU_ASSERT_STRING_EQUAL(r.items[0], "3");
    CU_ASSERT_STRING_EQUAL(r.items[1], "2");
    CU_ASSERT_STRING_EQUAL(r.items[2], "a");
    CU_ASSERT_STRING_EQUAL(r.items[3], "b");
    store_reply_free(&r);
}

/* A room script's failure through store_eval: state.lua on a room that does not exist. */
static void test_eval_error_mapping(void)
{
    const char *keys[] = {"room:{NOROOM}", "members:{NOROOM}", "names:{NOROOM}", "auth:{NOROOM}",
                          "chat:{NOROOM}", "limits:{NOROOM}",  "users:{NOROOM}"};
    const char *args[] = {"1000", "60", "300", "20", "40", "200", "1000", "digest"};
    struct store_reply r = {0};

    CU_ASSERT_EQUAL(store_eval(unit_store(), SCRIPT_STATE, 7, keys, 8, args, NULL, &r),
                    E_ROOM_NOT_FOUND);
    CU_ASSERT_EQUAL(r.n, 0);
    store_reply_free(&r);
}

/* After FUNCTION FLUSH (or on a fresh Redis) the store loads the library and retries. */
static void test_library_reload(void)
{
    const char *flush[] = {"FUNCTION", "FLUSH"}, *zadd[] = {"ZADD", "timers:t", "5", "x"};
    const char *keys[] = {"timers:t"}, *args[] = {"10", "10"};
    struct store_reply r;

    CU_ASSERT_EQUAL_FATAL(store_ping(unit_store()), E_OK);
    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 2, flush), E_OK);
    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 4, zadd), E_OK);
    CU_ASSERT_EQUAL_FATAL(store_eval(unit_store(), SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r), E_OK);
    CU_ASSERT_EQUAL(r.n, 3);
    if (r.n == 3)
        CU_ASSERT(r.items[0] == NULL && strcmp(r.items[2], "x") == 0);
    store_reply_free(&r);
}

/* A call and a read in one transaction: the read sees what the call left (claim.lua removed
 * a and b), both replies come back; after FUNCTION FLUSH the library is loaded and both sent
 * again; a script error or a refused read returns neither. */
static void test_eval_read(void)
{
    const char *zadd[] = {"ZADD", "timers:t", "1", "a", "2", "b", "3", "c"};
    const char *flush[] = {"FUNCTION", "FLUSH"}, *set[] = {"SET", "str", "v"};
    const char *keys[] = {"timers:t"}, *args[] = {"2", "10"};
    const char *zrange[] = {"ZRANGE", "timers:t", "0", "-1"}, *hvals[] = {"HVALS", "str"};
    const char *nokeys[] = {"room:{NOROOM}", "members:{NOROOM}", "names:{NOROOM}", "auth:{NOROOM}",
                            "chat:{NOROOM}", "limits:{NOROOM}",  "users:{NOROOM}"};
    const char *stargs[] = {"1000", "60", "300", "20", "40", "200", "1000", "digest"};
    const char *users[] = {"HVALS", "users:{NOROOM}"};
    struct store_reply r, read;

    for (int pass = 0; pass < 2; pass++) {
        CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 8, zadd), E_OK);
        if (pass == 1)
            CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 2, flush), E_OK);
        CU_ASSERT_EQUAL_FATAL(store_eval_read(unit_store(), SCRIPT_CLAIM, 1, keys, 2, args, NULL, 4,
                                              zrange, &r, &read),
                              E_OK);
        UNIT_CHECK(r.n == 4 && strcmp(r.items[1], "2") == 0, "pass %d: claim's reply", pass);
        UNIT_CHECK(read.n == 1 && strcmp(read.items[0], "c") == 0, "pass %d: the read", pass);
        store_reply_free(&r);
        store_reply_free(&read);
    }
    memset(&read, 0x5a, sizeof(read));
    CU_ASSERT_EQUAL(store_eval_read(unit_store(), SCRIPT_STATE, 7, nokeys, 8, stargs, NULL, 2,
                                    users, &r, &read),
                    E_ROOM_NOT_FOUND);
    CU_ASSERT(r.n == 0 && read.n == 0);
    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 3, set), E_OK);
    CU_ASSERT_EQUAL(
        store_eval_read(unit_store(), SCRIPT_CLAIM, 1, keys, 2, args, NULL, 2, hvals, &r, &read),
        E_INTERNAL); /* WRONGTYPE */
    CU_ASSERT(r.n == 0 && read.n == 0);
    /* The connection is still in step. */
    CU_ASSERT_EQUAL(store_ping(unit_store()), E_OK);
}

/* Several commands in one round trip: replies in order, nil kept as NULL; an error reply fails
 * the call but leaves the connection in step. */
static void test_pipeline(void)
{
    const char *set1[] = {"HSET", "p:{a}", "online", "3"},
               *set2[] = {"HSET", "p:{b}", "online", "4"};
    const char *list[] = {"RPUSH", "p:list", "x"};
    const char *g1[] = {"HGET", "p:{a}", "online"}, *g2[] = {"HGET", "p:{none}", "online"},
               *g3[] = {"HGET", "p:{b}", "online"}, *bad[] = {"HGET", "p:list", "online"};
    const char **ok[] = {g1, g2, g3}, **wrong[] = {g1, bad, g3};
    struct store_reply r;

    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 4, set1), E_OK);
    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 4, set2), E_OK);
    CU_ASSERT_EQUAL_FATAL(cmd(unit_store(), NULL, 3, list), E_OK);
    CU_ASSERT_EQUAL_FATAL(store_pipeline(unit_store(), 3, 3, ok, &r), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.items[0], "3");
    CU_ASSERT_PTR_NULL(r.items[1]);
    CU_ASSERT_STRING_EQUAL(r.items[2], "4");
    store_reply_free(&r);
    CU_ASSERT_EQUAL(store_pipeline(unit_store(), 3, 3, wrong, &r), E_INTERNAL);
    CU_ASSERT_EQUAL(r.n, 0);
    /* All three replies were read: the next call gets its own answer. */
    CU_ASSERT_EQUAL_FATAL(store_pipeline(unit_store(), 1, 3, ok + 2, &r), E_OK);
    CU_ASSERT(r.n == 1 && strcmp(r.items[0], "4") == 0);
    store_reply_free(&r);

    /* Rows of different lengths: a NULL word ends a row before argc. */
    const char *zadd[] = {"ZADD", "p:z", "1", "a"}, *zcard[] = {"ZCARD", "p:z", NULL, NULL},
               *get[] = {"HGET", "p:{a}", "online", NULL};
    const char **mixed[] = {zadd, zcard, get};
    CU_ASSERT_EQUAL_FATAL(store_pipeline(unit_store(), 3, 4, mixed, &r), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.items[0], "1");
    CU_ASSERT_STRING_EQUAL(r.items[1], "1");
    CU_ASSERT_STRING_EQUAL(r.items[2], "3");
    store_reply_free(&r);
}

/* Returns this connection's CLIENT ID, or -1. */
static long long client_id(struct store *s)
{
    const char *argv[] = {"CLIENT", "ID"};
    struct store_reply r;
    long long id = -1;

    if (cmd(s, &r, 2, argv) != E_OK)
        return -1;
    if (r.n == 1 && r.items[0] != NULL)
        id = atoll(r.items[0]);
    store_reply_free(&r);
    return id;
}

static void test_reconnect_after_client_kill(void)
{
    struct store *other = unit_redis_open();
    const char *keys[] = {"timers:none"}, *args[] = {"10", "10"};
    struct store_reply r;
    char id_str[32];

    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    long long id = client_id(unit_store());
    CU_ASSERT_TRUE_FATAL(id > 0);
    snprintf(id_str, sizeof(id_str), "%lld", id);
    const char *kill[] = {"CLIENT", "KILL", "ID", id_str};
    CU_ASSERT_EQUAL(cmd(other, &r, 4, kill), E_OK);
    if (r.n == 1)
        CU_ASSERT_STRING_EQUAL(r.items[0], "1");
    store_reply_free(&r);

    /* The first use finds the connection dead, reconnects and succeeds. */
    CU_ASSERT_EQUAL(store_ping(unit_store()), E_OK);
    long long id2 = client_id(unit_store());
    CU_ASSERT_TRUE(id2 > id);

    /* Same for a script call (the scripts are loaded again on the new connection). */
    snprintf(id_str, sizeof(id_str), "%lld", id2);
    CU_ASSERT_EQUAL(cmd(other, NULL, 4, kill), E_OK);
    CU_ASSERT_EQUAL(store_eval(unit_store(), SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r), E_OK);
    store_reply_free(&r);

    /* And for a pipeline (exec.c sends a call's follow-ups as one): sent again, once. */
    long long id3 = client_id(unit_store());
    snprintf(id_str, sizeof(id_str), "%lld", id3);
    CU_ASSERT_EQUAL(cmd(other, NULL, 4, kill), E_OK);
    const char *sadd[] = {"SADD", "p:set", "m", NULL}, *card[] = {"SCARD", "p:set", NULL, NULL};
    const char **rows[] = {sadd, card};
    CU_ASSERT_EQUAL_FATAL(store_pipeline(unit_store(), 2, 4, rows, &r), E_OK);
    CU_ASSERT(r.n == 2 && strcmp(r.items[1], "1") == 0);
    store_reply_free(&r);
    CU_ASSERT_TRUE(client_id(unit_store()) > id3);
    store_close(other);
}

/* A loopback port nobody listens on (bound, read, closed). */
static int free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void test_unavailable_server(void)
{
    int port = free_port();
    struct store *down;
    struct store_reply r;
    const char *keys[] = {"k"}, *args[] = {"1", "1"}, *get[] = {"GET", "k"};
    long long t0;

    CU_ASSERT_TRUE_FATAL(port > 0);
    down = store_open("127.0.0.1", port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(down);
    t0 = unit_mono_ms();
    CU_ASSERT_EQUAL(store_ping(down), E_REDIS_UNAVAILABLE);
    CU_ASSERT_EQUAL(store_eval(down, SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r),
                    E_REDIS_UNAVAILABLE);
    memset(&r, 0x5a, sizeof(r));
    CU_ASSERT_EQUAL(store_command(down, 2, get, NULL, &r), E_REDIS_UNAVAILABLE);
    CU_ASSERT_EQUAL(r.n, 0); /* left empty: freeing it is harmless */
    store_reply_free(&r);
    CU_ASSERT_TRUE(unit_mono_ms() - t0 < 1500);
    store_close(down);
}

/* A server that accepts the connection (the kernel's backlog does) but never answers: the
 * store gives up after its command timeout instead of hanging. */
static void test_silent_server(void)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct store *silent;
    long long t0, took;

    CU_ASSERT_TRUE_FATAL(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    CU_ASSERT_EQUAL_FATAL(listen(fd, 4), 0);
    silent = store_open("127.0.0.1", ntohs(a.sin_port));
    t0 = unit_mono_ms();
    CU_ASSERT_EQUAL(store_ping(silent), E_REDIS_UNAVAILABLE);
    took = unit_mono_ms() - t0;
    UNIT_CHECK(took < 5000, "silent server: store_ping took %lld ms", took);
    store_close(silent);
    close(fd);
}

static void test_null_and_zeroed(void)
{
    struct store_reply r = {0};
    const char *keys[1] = {"k"};
    const char *args[40];

    store_close(NULL);
    store_reply_free(&r);
    store_reply_free(&r);
    for (int i = 0; i < 40; i++)
        args[i] = "x";
    /* More arguments than the store passes: refused, not truncated. */
    CU_ASSERT_EQUAL(store_eval(unit_store(), SCRIPT_CLAIM, 1, keys, 40, args, NULL, &r),
                    E_INTERNAL);
}

/* Milliseconds into the timeval the store gives hiredis for its connect and command timeouts
 * (and the timespec of the other waits): the microseconds stay below a second. The store once
 * built {0, ms * 1000}, which hiredis refuses ("Invalid timeout specified"): a 1500 ms connect
 * timeout would have failed every connect. */
static void test_timeouts(void)
{
    static const struct {
        long ms, sec, usec;
    } rows[] = {
        {0, 0, 0},    {1, 0, 1000},      {999, 0, 999000},        {1000, 1, 0}, {1500, 1, 500000},
        {2000, 2, 0}, {2500, 2, 500000}, {86400001, 86400, 1000}, {-1, 0, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct timeval tv = timeout_timeval(rows[i].ms);
        struct timespec ts = timeout_timespec(rows[i].ms);
        UNIT_CHECK(tv.tv_sec == rows[i].sec && tv.tv_usec == rows[i].usec,
                   "%ld ms: timeval {%ld, %ld}", rows[i].ms, (long)tv.tv_sec, (long)tv.tv_usec);
        UNIT_CHECK(ts.tv_sec == rows[i].sec && ts.tv_nsec == rows[i].usec * 1000,
                   "%ld ms: timespec {%ld, %ld}", rows[i].ms, (long)ts.tv_sec, ts.tv_nsec);
    }
}

static const struct unit_test store_tests[] = {
    {"ping", test_ping},
    {"a host that is a path: Redis's unix socket", test_unix_socket},
    {"command replies: binary, nil, integer, arrays", test_command_replies},
    {"command errors map to internal", test_command_errors},
    {"script 'WNC <code>' errors map to their enum", test_script_error_mapping},
    {"eval of a script (claim.lua)", test_eval_script},
    {"eval error mapping (state.lua, no room)", test_eval_error_mapping},
    {"function not found: load the library and retry", test_library_reload},
    {"eval with a read in one transaction; reload, errors", test_eval_read},
    {"pipeline: replies in order, nil kept, an error read through", test_pipeline},
    {"reconnect after CLIENT KILL", test_reconnect_after_client_kill},
    {"unavailable server: E_REDIS_UNAVAILABLE fast", test_unavailable_server},
    {"silent server: no hang", test_silent_server},
    {"NULL/zeroed arguments, too many args", test_null_and_zeroed},
    {"timeouts: ms to timeval, 1500 ms is {1, 500000}", test_timeouts},
    {NULL, NULL},
};

int test_store_register(void)
{
    return unit_add_redis_suite("store", store_tests);
}
