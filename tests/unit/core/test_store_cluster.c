/* store.c's cluster mode against the three-master cluster scripts/unit.sh starts
 * (WNC_TEST_REDIS_CLUSTER): routing by slot, the library on every master, MOVED and ASK while a
 * slot migrates, unreachable seeds, and a cluster answer to a single-node store. Each test
 * empties every master first (FLUSHALL, FUNCTION FLUSH). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "store.h"
#include "unit.h"

static struct cluster_addr nodes[3];
static int nnodes;

/* A single-node connection to master i, for looking behind the cluster store's back. */
static struct store *direct(int i)
{
    return store_open(nodes[i].host, nodes[i].port);
}

static enum wnc_err direct_cmd(int i, struct store_reply *out, int argc, const char **argv)
{
    struct store *st = direct(i);
    enum wnc_err e = store_command(st, argc, argv, NULL, out);

    store_close(st);
    return e;
}

/* The first item of a command's reply on master i, copied into buf ("" on failure). */
static void direct_item(int i, int argc, const char **argv, char *buf, size_t size)
{
    struct store_reply r;

    buf[0] = '\0';
    if (direct_cmd(i, &r, argc, argv) == E_OK) {
        if (r.n >= 1 && r.items[0] != NULL)
            snprintf(buf, size, "%s", r.items[0]);
        store_reply_free(&r);
    }
}

/* Which master holds slot, by CLUSTER SLOTS read on master 0 (-1 when unknown). */
static int owner_of(unsigned slot)
{
    const char *argv[] = {"CLUSTER", "SLOTS"};
    struct store_reply r;
    int owner = -1;

    if (direct_cmd(0, &r, 2, argv) != E_OK)
        return -1;
    /* Flattened: start, end, master host, port, id, then replicas (none here), per range. */
    for (size_t i = 0; i + 4 < r.n; i += 5) {
        if ((unsigned)atoi(r.items[i]) <= slot && slot <= (unsigned)atoi(r.items[i + 1]))
            for (int k = 0; k < nnodes; k++)
                if (atoi(r.items[i + 3]) == nodes[k].port)
                    owner = k;
    }
    store_reply_free(&r);
    return owner;
}

static int suite_init(void)
{
    const char *env = getenv("WNC_TEST_REDIS_CLUSTER");

    if (env == NULL || (nnodes = cluster_seeds_parse(env, nodes, 3)) != 3) {
        fprintf(stderr, "unit: WNC_TEST_REDIS_CLUSTER is not a list of 3 nodes (run through "
                        "scripts/unit.sh)\n");
        return -1;
    }
    return 0;
}

static void flush_all(void)
{
    const char *flush[] = {"FLUSHALL"}, *fflush[] = {"FUNCTION", "FLUSH"};

    for (int i = 0; i < nnodes; i++) {
        direct_cmd(i, NULL, 1, flush);
        direct_cmd(i, NULL, 2, fflush);
    }
}

static long long dbsize(int i)
{
    const char *argv[] = {"DBSIZE"};
    char buf[STORE_NUMBER_LEN];

    direct_item(i, 1, argv, buf, sizeof(buf));
    return *buf ? atoll(buf) : -1;
}

/* How many MOVED and ASK errors the masters gave since their last CONFIG RESETSTAT (Redis 7
 * counts error replies by their first word in INFO errorstats). */
static long long redirects_given(void)
{
    const char *info[] = {"INFO", "errorstats"};
    long long n = 0;

    for (int i = 0; i < nnodes; i++) {
        struct store_reply r;
        const char *p;
        if (direct_cmd(i, &r, 2, info) != E_OK)
            return -1;
        for (const char *w = "errorstat_MOVED:count="; w != NULL;
             w = strcmp(w, "errorstat_ASK:count=") == 0 ? NULL : "errorstat_ASK:count=")
            if (r.n == 1 && (p = strstr(r.items[0], w)) != NULL)
                n += atoll(p + strlen(w));
        store_reply_free(&r);
    }
    return n;
}

static void reset_stats(void)
{
    const char *reset[] = {"CONFIG", "RESETSTAT"};

    for (int i = 0; i < nnodes; i++)
        direct_cmd(i, NULL, 2, reset);
}

/* Keys of many slots, written through one seed, each land on its slot's master and read back,
 * with no redirection once the map is loaded. */
static void test_routes_by_slot(void)
{
    struct store *st = store_open_cluster(&nodes[1], 1);
    long long total = 0;

    CU_ASSERT_EQUAL_FATAL(store_ping(st), E_OK); /* loads the map */
    reset_stats();
    for (int i = 0; i < 60; i++) {
        char key[32], value[32];
        const char *set[] = {"SET", key, value}, *get[] = {"GET", key};
        struct store_reply r;
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        CU_ASSERT_EQUAL_FATAL(store_command(st, 3, set, NULL, NULL), E_OK);
        CU_ASSERT_EQUAL_FATAL(store_command(st, 2, get, NULL, &r), E_OK);
        UNIT_CHECK(r.n == 1 && r.items[0] && strcmp(r.items[0], value) == 0, "key %s", key);
        store_reply_free(&r);
        /* On its owner, directly. */
        int owner = owner_of(cluster_key_slot(key, strlen(key)));
        char got[32];
        CU_ASSERT_FATAL(owner >= 0);
        direct_item(owner, 2, get, got, sizeof(got));
        UNIT_CHECK(strcmp(got, value) == 0, "key %s not on its master %d", key, owner);
    }
    for (int i = 0; i < nnodes; i++) {
        UNIT_CHECK(dbsize(i) > 0, "master %d holds none of 60 keys", i);
        total += dbsize(i);
    }
    CU_ASSERT_EQUAL(total, 60);
    CU_ASSERT_EQUAL(redirects_given(), 0);
    CU_ASSERT_EQUAL(store_ping(st), E_OK);
    store_close(st);
}

/* FCALL on keys of every master loads the library on each of them (lazily, where missing). */
static void test_library_on_every_master(void)
{
    struct store *st = store_open_cluster(nodes, 3);
    int seen[3] = {0};

    for (int i = 0; i < 200 && !(seen[0] && seen[1] && seen[2]); i++) {
        char key[32];
        const char *keys[] = {key}, *args[] = {"0", "10"};
        struct store_reply r;
        snprintf(key, sizeof(key), "timers:{t%d}", i);
        int owner = owner_of(cluster_key_slot(key, strlen(key)));
        if (owner < 0 || seen[owner])
            continue;
        seen[owner] = 1;
        CU_ASSERT_EQUAL(store_eval(st, SCRIPT_CLAIM, 1, keys, 2, args, NULL, &r), E_OK);
        store_reply_free(&r);
    }
    for (int i = 0; i < nnodes; i++) {
        const char *list[] = {"FUNCTION", "LIST"};
        struct store_reply r;
        CU_ASSERT_EQUAL_FATAL(direct_cmd(i, &r, 2, list), E_OK);
        UNIT_CHECK(r.n > 0, "master %d has no library", i);
        store_reply_free(&r);
    }
    store_close(st);
}

/* CLUSTER SETSLOT on every master. */
static void setslot(unsigned slot, const char *how, const char *id, int only)
{
    char s[8];
    const char *argv[] = {"CLUSTER", "SETSLOT", s, how, id};

    snprintf(s, sizeof(s), "%u", slot);
    for (int i = 0; i < nnodes; i++)
        if (only < 0 || only == i)
            CU_ASSERT_EQUAL(direct_cmd(i, NULL, 5, argv), E_OK);
}

/* A migration of a key's slot from its master A to the next master, B. */
struct migration {
    unsigned slot;
    int a, b;
    char id_a[64], id_b[64];
};

/* Begins m for key (IMPORTING on B, MIGRATING on A) once st's map says A. */
static void migration_begin(struct migration *m, struct store *st, const char *key)
{
    const char *myid[] = {"CLUSTER", "MYID"};

    m->slot = cluster_key_slot(key, strlen(key));
    m->a = owner_of(m->slot);
    CU_ASSERT_FATAL(m->a >= 0);
    m->b = (m->a + 1) % nnodes;
    direct_item(m->a, 2, myid, m->id_a, sizeof(m->id_a));
    direct_item(m->b, 2, myid, m->id_b, sizeof(m->id_b));
    CU_ASSERT_EQUAL_FATAL(store_ping(st), E_OK); /* the map now says A */
    setslot(m->slot, "IMPORTING", m->id_a, m->b);
    setslot(m->slot, "MIGRATING", m->id_b, m->a);
}

/* Ends the test: key deleted through st, the slot given back to A. */
static void migration_undo(struct migration *m, struct store *st, const char *key)
{
    const char *del[] = {"DEL", key};

    CU_ASSERT_EQUAL(store_command(st, 2, del, NULL, NULL), E_OK);
    setslot(m->slot, "NODE", m->id_a, -1);
    CU_ASSERT_EQUAL(owner_of(m->slot), m->a);
}

/* A slot migrating from A to B: a new key is written to B after ASK (ASKING, once); when the
 * slot has moved, the store's stale map gets MOVED and follows it to B. */
static void test_ask_and_moved(void)
{
    const char *key = "{mig}k", *set[] = {"SET", key, "1"}, *get[] = {"GET", key};
    const char *asking[] = {"ASKING"};
    char got[8];
    struct store *st = store_open_cluster(nodes, 3), *on_b;
    struct store_reply r;
    struct migration m;

    migration_begin(&m, st, key);
    CU_ASSERT_EQUAL(store_command(st, 3, set, NULL, NULL), E_OK);
    CU_ASSERT_EQUAL(dbsize(m.a), 0);
    CU_ASSERT_EQUAL(dbsize(m.b), 1);
    on_b = direct(m.b); /* the key is readable on B only after ASKING */
    CU_ASSERT_EQUAL(store_command(on_b, 1, asking, NULL, NULL), E_OK);
    CU_ASSERT_EQUAL_FATAL(store_command(on_b, 2, get, NULL, &r), E_OK);
    CU_ASSERT(r.n == 1 && r.items[0] != NULL && strcmp(r.items[0], "1") == 0);
    store_reply_free(&r);
    store_close(on_b);

    setslot(m.slot, "NODE", m.id_b, -1);
    CU_ASSERT_EQUAL_FATAL(store_command(st, 2, get, NULL, &r), E_OK); /* MOVED, followed */
    CU_ASSERT(r.n == 1 && r.items[0] != NULL && strcmp(r.items[0], "1") == 0);
    store_reply_free(&r);
    /* A single-node store on A is told MOVED and does not follow it: set WNC_REDIS_CLUSTER. */
    struct store *single = direct(m.a);
    CU_ASSERT_EQUAL(store_command(single, 2, get, NULL, &r), E_INTERNAL);
    store_close(single);
    direct_item(m.a, 2, get, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "");

    migration_undo(&m, st, key);
    store_close(st);
}

/* A call with its read in one transaction (store_eval_read) across a migration: the key is on
 * B, so A refuses the queued call with ASK and the store sends ASKING, then MULTI (the flag
 * lasts until EXEC) to B; once the slot has moved, MOVED from A is followed. claim.lua takes
 * the due entries and the read sees what it left. */
static void test_eval_read_ask_and_moved(void)
{
    const char *key = "{mig}t", *zadd[] = {"ZADD", key, "1", "a", "5", "b"};
    const char *keys[] = {key}, *early[] = {"2", "10"}, *late[] = {"10", "10"};
    const char *zrange[] = {"ZRANGE", key, "0", "-1"};
    struct store *st = store_open_cluster(nodes, 3);
    struct store_reply r, read;
    struct migration m;

    migration_begin(&m, st, key);
    CU_ASSERT_EQUAL(store_command(st, 6, zadd, NULL, NULL), E_OK); /* lands on B, by ASK */
    CU_ASSERT_EQUAL(dbsize(m.b), 1);

    reset_stats();
    CU_ASSERT_EQUAL_FATAL(
        store_eval_read(st, SCRIPT_CLAIM, 1, keys, 2, early, NULL, 4, zrange, &r, &read), E_OK);
    UNIT_CHECK(r.n == 3 && strcmp(r.items[2], "a") == 0, "claimed during the migration: %zu", r.n);
    UNIT_CHECK(read.n == 1 && strcmp(read.items[0], "b") == 0, "read during the migration: %zu",
               read.n);
    CU_ASSERT(redirects_given() >= 1);
    store_reply_free(&r);
    store_reply_free(&read);

    setslot(m.slot, "NODE", m.id_b, -1);
    CU_ASSERT_EQUAL_FATAL(
        store_eval_read(st, SCRIPT_CLAIM, 1, keys, 2, late, NULL, 4, zrange, &r, &read), E_OK);
    UNIT_CHECK(r.n == 3 && strcmp(r.items[2], "b") == 0, "claimed after the move: %zu", r.n);
    CU_ASSERT_EQUAL(read.n, 0);
    store_reply_free(&r);
    store_reply_free(&read);

    migration_undo(&m, st, key);
    store_close(st);
}

/* A dead seed before a live one is skipped; only dead seeds give "unavailable" after the
 * bounded retry, not a hang. */
static void test_unreachable_seeds(void)
{
    struct cluster_addr seeds[2] = {{"127.0.0.1", 1}, nodes[2]};
    struct store *st = store_open_cluster(seeds, 2);
    const char *set[] = {"SET", "x", "1"};
    long long start;

    CU_ASSERT_EQUAL(store_command(st, 3, set, NULL, NULL), E_OK);
    store_close(st);
    st = store_open_cluster(seeds, 1);
    start = unit_mono_ms();
    CU_ASSERT_EQUAL(store_command(st, 3, set, NULL, NULL), E_REDIS_UNAVAILABLE);
    CU_ASSERT(unit_mono_ms() - start < 6000);
    store_close(st);
}

/* store_pipeline over keys of several masters: one reply each, in order. */
static void test_pipeline_across_slots(void)
{
    struct store *st = store_open_cluster(nodes, 3);
    const char *w[6][3];
    char keys[6][16], vals[6][16];
    struct store_reply r;

    for (int i = 0; i < 6; i++) {
        snprintf(keys[i], sizeof(keys[i]), "p%d", i);
        snprintf(vals[i], sizeof(vals[i]), "v%d", i);
        w[i][0] = "SET", w[i][1] = keys[i], w[i][2] = vals[i];
        CU_ASSERT_EQUAL(store_command(st, 3, w[i], NULL, NULL), E_OK);
    }
    const char *gets[6][2];
    const char **argv[6];
    for (int i = 0; i < 6; i++) {
        gets[i][0] = "GET", gets[i][1] = keys[i];
        argv[i] = gets[i];
    }
    CU_ASSERT_EQUAL_FATAL(store_pipeline(st, 6, 2, argv, &r), E_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 6);
    for (int i = 0; i < 6; i++)
        UNIT_CHECK(strcmp(r.items[i], vals[i]) == 0, "item %d", i);
    store_reply_free(&r);
    store_close(st);
}

static const struct unit_test tests[] = {
    {"routes each key to its slot's master", test_routes_by_slot},
    {"library loaded on every master", test_library_on_every_master},
    {"ASK during a migration, MOVED after it", test_ask_and_moved},
    {"a call and its read in one transaction: ASK, then MOVED", test_eval_read_ask_and_moved},
    {"unreachable seeds", test_unreachable_seeds},
    {"pipeline across slots", test_pipeline_across_slots},
    {NULL, NULL},
};

int test_store_cluster_register(void)
{
    CU_pSuite s =
        CU_add_suite_with_setup_and_teardown("store_cluster", suite_init, NULL, flush_all, NULL);
    return s == NULL ? -1 : unit_add_tests(s, tests);
}
