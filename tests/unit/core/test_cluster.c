/* cluster.c: the slot function against the specification's values, MOVED/ASK parsing and the
 * seed list, table-driven with hostile rows. */
#include <string.h>

#include "cluster.h"
#include "unit.h"

static void test_crc16_vector(void)
{
    /* The Redis Cluster specification's test vector. */
    CU_ASSERT_EQUAL(cluster_crc16("123456789", 9), 0x31C3);
    CU_ASSERT_EQUAL(cluster_crc16("", 0), 0);
}

/* Slots as `redis-cli CLUSTER KEYSLOT` gives them (Redis 7.0), and the hash tag rules of the
 * specification's examples. */
static void test_key_slot(void)
{
    static const struct {
        const char *key;
        unsigned slot;
    } rows[] = {
        {"foo", 12182},
        {"bar", 5061},
        {"123456789", 0x31C3 % CLUSTER_SLOTS},
        {"room:{ABC123}", 0},        /* filled from {ABC123} below */
        {"{user1000}.following", 0}, /* same as {user1000}.followers */
        {"foo{}{bar}", 0},           /* empty tag: the whole key */
        {"foo{{bar}}zap", 0},        /* the tag is "{bar" */
        {"foo{bar}{zap}", 0},        /* the first tag: "bar" */
        {"{", 0},
        {"}{", 0},
    };
    unsigned tag = cluster_key_slot("ABC123", 6);

    for (size_t i = 0; i < 3; i++)
        UNIT_CHECK(cluster_key_slot(rows[i].key, strlen(rows[i].key)) == rows[i].slot,
                   "row %zu (%s)", i, rows[i].key);
    CU_ASSERT_EQUAL(cluster_key_slot("room:{ABC123}", 13), tag);
    CU_ASSERT_EQUAL(cluster_key_slot("chat:{ABC123}", 13), tag);
    CU_ASSERT_EQUAL(cluster_key_slot("{user1000}.following", 20),
                    cluster_key_slot("{user1000}.followers", 20));
    CU_ASSERT_EQUAL(cluster_key_slot("foo{}{bar}", 10), cluster_crc16("foo{}{bar}", 10) % 16384);
    CU_ASSERT_EQUAL(cluster_key_slot("foo{{bar}}zap", 13), cluster_crc16("{bar", 4) % 16384);
    CU_ASSERT_EQUAL(cluster_key_slot("foo{bar}{zap}", 13), cluster_crc16("bar", 3) % 16384);
    CU_ASSERT_EQUAL(cluster_key_slot("{", 1), cluster_crc16("{", 1) % 16384);
    CU_ASSERT_EQUAL(cluster_key_slot("}{", 2), cluster_crc16("}{", 2) % 16384);
    /* The tag is found within len only: a '}' past it does not count. */
    CU_ASSERT_EQUAL(cluster_key_slot("x{ab}", 4), cluster_crc16("x{ab", 4) % 16384);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        UNIT_CHECK(cluster_key_slot(rows[i].key, strlen(rows[i].key)) < CLUSTER_SLOTS, "row %zu",
                   i);
}

static void test_redirect_parse(void)
{
    static const struct {
        const char *err;
        enum cluster_redirect_kind kind;
        unsigned slot;
        const char *host;
        int port;
    } rows[] = {
        {"MOVED 3999 127.0.0.1:6381", CLUSTER_MOVED, 3999, "127.0.0.1", 6381},
        {"ASK 3999 127.0.0.1:6381", CLUSTER_ASK, 3999, "127.0.0.1", 6381},
        {"MOVED 0 :7000", CLUSTER_MOVED, 0, "", 7000},
        {"MOVED 16383 ::1:7000", CLUSTER_MOVED, 16383, "::1", 7000},
        {"MOVED 12 redis-1.example:65535", CLUSTER_MOVED, 12, "redis-1.example", 65535},
        {"MOVED 16384 127.0.0.1:6381", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 99999999999 127.0.0.1:6381", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED -1 127.0.0.1:6381", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 127.0.0.1:0", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 127.0.0.1:65536", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 127.0.0.1:", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 127.0.0.1", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 127.0.0.1:63x", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 127.0.0.1:6379 ", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1 a b:6379", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED  1 h:1", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"MOVED 1", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"moved 1 h:1", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"ASKING 1 h:1", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"ERR unknown command", CLUSTER_NOT_REDIRECT, 0, "", 0},
        {"", CLUSTER_NOT_REDIRECT, 0, "", 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cluster_addr to = {"untouched", 1};
        unsigned slot = 77;
        enum cluster_redirect_kind k = cluster_redirect_parse(rows[i].err, &slot, &to);
        UNIT_CHECK(k == rows[i].kind, "row %zu (%s): kind %d", i, rows[i].err, (int)k);
        if (rows[i].kind == CLUSTER_NOT_REDIRECT) {
            UNIT_CHECK(slot == 77 && strcmp(to.host, "untouched") == 0 && to.port == 1,
                       "row %zu: outputs touched", i);
            continue;
        }
        UNIT_CHECK(slot == rows[i].slot && strcmp(to.host, rows[i].host) == 0 &&
                       to.port == rows[i].port,
                   "row %zu: slot %u host '%s' port %d", i, slot, to.host, to.port);
    }
}

static void test_seeds_parse(void)
{
    struct cluster_addr out[CLUSTER_MAX_SEEDS];
    static const char *const bad[] = {
        "",   " ",   ",",       "h:1,", ",h:1",     "h",     "h:",
        ":1", "h:0", "h:70000", "h:1x", "h:1,,h:2", "h h:1", "h:1:2x",
    };
    char many[CLUSTER_MAX_SEEDS * 8 + 8] = "";

    CU_ASSERT_EQUAL(cluster_seeds_parse("127.0.0.1:7000", out, CLUSTER_MAX_SEEDS), 1);
    CU_ASSERT_STRING_EQUAL(out[0].host, "127.0.0.1");
    CU_ASSERT_EQUAL(out[0].port, 7000);
    CU_ASSERT_EQUAL(cluster_seeds_parse(" a:1 , b.example:2,::1:3", out, CLUSTER_MAX_SEEDS), 3);
    CU_ASSERT_STRING_EQUAL(out[0].host, "a");
    CU_ASSERT_STRING_EQUAL(out[1].host, "b.example");
    CU_ASSERT_EQUAL(out[1].port, 2);
    CU_ASSERT_STRING_EQUAL(out[2].host, "::1");
    CU_ASSERT_EQUAL(out[2].port, 3);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        UNIT_CHECK(cluster_seeds_parse(bad[i], out, CLUSTER_MAX_SEEDS) == -1, "'%s' accepted",
                   bad[i]);
    for (int i = 0; i <= CLUSTER_MAX_SEEDS; i++)
        strcat(many, i == 0 ? "h:1" : ",h:1");
    CU_ASSERT_EQUAL(cluster_seeds_parse(many, out, CLUSTER_MAX_SEEDS), -1);
    CU_ASSERT_EQUAL(cluster_seeds_parse(strrchr(many, ',') + 1, out, 1), 1);
}

static const struct unit_test tests[] = {
    {"crc16: the specification's vector", test_crc16_vector},
    {"slot: known values and hash tags", test_key_slot},
    {"MOVED/ASK parsing", test_redirect_parse},
    {"WNC_REDIS_CLUSTER seeds", test_seeds_parse},
    {NULL, NULL},
};

int test_cluster_register(void)
{
    CU_pSuite s = CU_add_suite("cluster", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, tests);
}
