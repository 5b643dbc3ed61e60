#include "store.h"

#include <assert.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cluster.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "timeout.h"
#include "xmalloc.h"

#define STORE_CONNECT_TIMEOUT_MS 1000
#define STORE_COMMAND_TIMEOUT_MS 2000
#define STORE_MAX_ARGS 32
/* Cluster mode: how long a call keeps retrying while a node is unreachable or the cluster
 * answers TRYAGAIN/CLUSTERDOWN (a failover takes about cluster-node-timeout plus an election),
 * how long it waits between tries, how many MOVED/ASK it follows, and how many nodes it knows. */
#define STORE_CLUSTER_RETRY_MS 3000
#define STORE_CLUSTER_BACKOFF_MS 100
#define STORE_CLUSTER_MAX_REDIRECTS 5
#define STORE_CLUSTER_MAX_NODES 64

static_assert(STORE_NUMBER_LEN >= sizeof("-9223372036854775808"), "a long long fits");
static_assert(STORE_NUMBER_LEN >= sizeof("18446744073709551615"), "a cursor fits");

/* One Redis server and our connection to it. */
struct store_node {
    char *host;
    int port;
    redisContext *ctx; /* NULL while disconnected */
};

/* Single-node mode has one node and no map. Cluster mode starts with the seeds and learns the
 * masters from CLUSTER SLOTS; slot_node[slot] is the index of the slot's master plus one (0:
 * unknown). Nodes are never removed, only disconnected, so indexes stay valid. */
struct store {
    struct store_node *nodes;
    size_t nnodes;
    int cluster;
    unsigned short *slot_node; /* CLUSTER_SLOTS entries, cluster mode only */
    int map_stale;             /* a MOVED was seen: reload the whole map before the next call */
};

/* The index of host:port among st's nodes, added if new; SIZE_MAX when it is new and st
 * already knows STORE_CLUSTER_MAX_NODES (a confused or hostile cluster cannot grow it). */
static size_t store_add_node(struct store *st, const char *host, int port)
{
    for (size_t i = 0; i < st->nnodes; i++)
        if (st->nodes[i].port == port && strcmp(st->nodes[i].host, host) == 0)
            return i;
    if (st->nnodes >= STORE_CLUSTER_MAX_NODES)
        return SIZE_MAX;
    st->nodes = xreallocarray(st->nodes, st->nnodes + 1, sizeof(*st->nodes));
    st->nodes[st->nnodes] = (struct store_node){.host = xstrdup(host), .port = port};
    return st->nnodes++;
}

struct store *store_open(const char *host, int port)
{
    struct store *st = xcalloc(1, sizeof(*st));

    store_add_node(st, host, port);
    return st;
}

struct store *store_open_cluster(const struct cluster_addr *seeds, size_t n)
{
    struct store *st = xcalloc(1, sizeof(*st));

    st->cluster = 1;
    st->slot_node = xcalloc(CLUSTER_SLOTS, sizeof(*st->slot_node));
    st->map_stale = 1;
    for (size_t i = 0; i < n; i++)
        store_add_node(st, seeds[i].host, seeds[i].port);
    return st;
}

struct store *store_open_config(void)
{
    struct cluster_addr seeds[CLUSTER_MAX_SEEDS];
    int n;

    if (*config.redis_cluster == '\0')
        return store_open(config.redis_host, config.redis_port);
    /* config_load checked the list. */
    n = cluster_seeds_parse(config.redis_cluster, seeds, CLUSTER_MAX_SEEDS);
    return store_open_cluster(seeds, n > 0 ? (size_t)n : 0);
}

static void store_disconnect(struct store_node *node)
{
    if (node->ctx != NULL)
        redisFree(node->ctx);
    node->ctx = NULL;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->nnodes; i++) {
        store_disconnect(&st->nodes[i]);
        free(st->nodes[i].host);
    }
    free(st->nodes);
    free(st->slot_node);
    free(st);
}

/* Loads the library (script.h). A library of the same version already there is fine: another
 * process loaded it first. Returns E_OK, E_REDIS_UNAVAILABLE or E_INTERNAL. */
static enum wnc_err store_load_library(struct store_node *node)
{
    const char *text = script_library();
    redisReply *r;
    enum wnc_err e = E_OK;

    r = redisCommand(node->ctx, "FUNCTION LOAD %b", text, strlen(text));
    if (r == NULL) {
        metrics_redis_error(METRICS_REDIS_IO);
        log_warn("store: FUNCTION LOAD on %s:%d: %s", node->host, node->port, node->ctx->errstr);
        store_disconnect(node);
        return E_REDIS_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "already exists") == NULL) {
        metrics_redis_error(METRICS_REDIS_REPLY);
        log_error("store: FUNCTION LOAD on %s:%d failed: %s", node->host, node->port, r->str);
        e = E_INTERNAL;
    }
    freeReplyObject(r);
    return e;
}

static enum wnc_err store_connect(struct store_node *node)
{
    /* A host that is a path is Redis's unix socket (the port is not used): a round trip then
     * costs both sides less kernel time than one over loopback TCP. */
    int unix_socket = node->host[0] == '/';
    struct timeval connect_timeout = timeout_timeval(STORE_CONNECT_TIMEOUT_MS);

    if (node->ctx != NULL)
        return E_OK;
    node->ctx = unix_socket ? redisConnectUnixWithTimeout(node->host, connect_timeout)
                            : redisConnectWithTimeout(node->host, node->port, connect_timeout);
    if (node->ctx == NULL || node->ctx->err) {
        metrics_redis_error(METRICS_REDIS_CONNECT);
        log_warn("store: cannot connect to redis %s:%d: %s", node->host, node->port,
                 node->ctx ? node->ctx->errstr : "out of memory");
        store_disconnect(node);
        return E_REDIS_UNAVAILABLE;
    }
    redisSetTimeout(node->ctx, timeout_timeval(STORE_COMMAND_TIMEOUT_MS));
    if (!unix_socket) /* TCP keepalive options on a unix socket would fail the context */
        redisEnableKeepAlive(node->ctx);
    return E_OK;
}

/* How many items r flattens into. */
static size_t store_leaves(const redisReply *r)
{
    size_t n = 0;

    if (r->type != REDIS_REPLY_ARRAY)
        return 1;
    for (size_t i = 0; i < r->elements; i++)
        n += store_leaves(r->element[i]);
    return n;
}

/* Appends r's items to out, whose arrays have room for them. */
static void store_flatten_into(const redisReply *r, struct store_reply *out)
{
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            store_flatten_into(r->element[i], out);
        return;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        char num[STORE_NUMBER_LEN];
        int n = snprintf(num, sizeof(num), "%lld", r->integer);
        out->items[out->n] = xmemdup0(num, (size_t)n);
        out->lens[out->n] = (size_t)n;
    } else if (r->type == REDIS_REPLY_NIL) {
        out->items[out->n] = NULL;
        out->lens[out->n] = 0;
    } else {
        out->items[out->n] = xmemdup0(r->str, r->len);
        out->lens[out->n] = r->len;
    }
    out->n++;
}

/* Appends r to out, flattened (store_reply). The arrays grow once per reply, not per item: a
 * room's users come as one item each. */
static void store_flatten(const redisReply *r, struct store_reply *out)
{
    size_t more = store_leaves(r);

    if (more == 0)
        return;
    out->items = xreallocarray(out->items, out->n + more, sizeof(*out->items));
    out->lens = xreallocarray(out->lens, out->n + more, sizeof(*out->lens));
    store_flatten_into(r, out);
}

/* What became of a command sent to one node. */
enum store_sent {
    STORE_SENT_DONE,     /* an answer: *e is final */
    STORE_SENT_BROKEN,   /* the connection broke (and was dropped) */
    STORE_SENT_NOSCRIPT, /* the node lacks our library (a fresh or flushed Redis, a new version) */
    STORE_SENT_REDIRECT, /* MOVED or ASK: *redirect, *slot, *to say where */
    STORE_SENT_BUSY,     /* TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN, READONLY: try again soon */
};

/* Whether a Redis error means "not now" rather than "never": a loading or failing-over node,
 * a cluster without a majority, a multi-key command during a resharding. */
static int store_error_is_transient(const char *err)
{
    static const char *const words[] = {"TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN",
                                        "READONLY"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strncmp(err, words[i], strlen(words[i])) == 0)
            return 1;
    return 0;
}

/* A second command sent along with a call, in the same transaction (store_eval_read). */
struct store_read {
    int argc;
    const char **argv; /* NUL-terminated words */
    struct store_reply *out;
};

/* Sends MULTI, argv, the read and EXEC in one write and reads the four answers into rep.
 * Returns the call's reply and sets *read_reply to the read's (NULL when it was refused); both
 * point into rep, which the caller frees. NULL when the connection broke. */
static redisReply *store_send_transaction(struct store_node *node, int argc, const char **argv,
                                          const size_t *lens, const struct store_read *read,
                                          redisReply *rep[4], redisReply **read_reply)
{
    redisAppendCommand(node->ctx, "MULTI");
    redisAppendCommandArgv(node->ctx, argc, argv, lens);
    redisAppendCommandArgv(node->ctx, read->argc, read->argv, NULL);
    redisAppendCommand(node->ctx, "EXEC");
    for (int k = 0; k < 4; k++)
        if (redisGetReply(node->ctx, (void **)&rep[k]) != REDIS_OK)
            return NULL;
    if (rep[0]->type == REDIS_REPLY_ERROR) {
        /* MULTI refused (BUSY): both commands ran on their own, EXEC failed. */
        *read_reply = rep[2];
        return rep[1];
    }
    if (rep[3]->type == REDIS_REPLY_ARRAY && rep[3]->elements == 2) {
        *read_reply = rep[3]->element[1];
        return rep[3]->element[0];
    }
    /* EXECABORT: a command was refused when queued (MOVED, ASK, CLUSTERDOWN...): nothing ran,
     * and that refusal is the answer. */
    *read_reply = NULL;
    return rep[1]->type == REDIS_REPLY_ERROR   ? rep[1]
           : rep[2]->type == REDIS_REPLY_ERROR ? rep[2]
                                               : rep[3];
}

/* Sends argv to node (after ASKING when asking), with read in the same transaction when not
 * NULL, and translates the reply; on STORE_SENT_DONE with E_OK the reply is appended to out
 * (when not NULL) and the read's to read->out. */
static enum store_sent store_send(struct store_node *node, int asking, int argc, const char **argv,
                                  const size_t *lens, const struct store_read *read,
                                  struct store_reply *out, enum wnc_err *e,
                                  enum cluster_redirect_kind *redirect, unsigned *slot,
                                  struct cluster_addr *to)
{
    enum store_sent sent = STORE_SENT_DONE;
    redisReply *r, *rep[4] = {NULL, NULL, NULL, NULL}, *read_reply = NULL;

    *e = E_OK;
    if (asking) {
        /* The reply of ASKING is read before the command's; a failure breaks both. Inside a
         * transaction the flag lasts until EXEC. */
        r = redisCommand(node->ctx, "ASKING");
        if (r != NULL)
            freeReplyObject(r);
    }
    if (read != NULL)
        r = store_send_transaction(node, argc, argv, lens, read, rep, &read_reply);
    else
        r = rep[0] = redisCommandArgv(node->ctx, argc, argv, lens);
    if (r == NULL) {
        metrics_redis_error(METRICS_REDIS_IO);
        log_warn("store: redis %s:%d: %s", node->host, node->port, node->ctx->errstr);
        for (int k = 0; k < 4; k++)
            if (rep[k] != NULL)
                freeReplyObject(rep[k]);
        store_disconnect(node);
        *e = E_REDIS_UNAVAILABLE;
        return STORE_SENT_BROKEN;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (strcmp(r->str, "ERR Function not found") == 0) {
            metrics_redis_error(METRICS_REDIS_NOSCRIPT);
            sent = STORE_SENT_NOSCRIPT;
            *e = E_REDIS_UNAVAILABLE;
        } else if (strncmp(r->str, "WNC ", 4) == 0) {
            /* Redis 7 appends " script: <sha>, on @user_script..." to script errors. */
            char code[ERR_CODE_MAX + 1];
            snprintf(code, sizeof(code), "%.*s", (int)strcspn(r->str + 4, " "), r->str + 4);
            *e = err_from_code(code);
        } else if ((*redirect = cluster_redirect_parse(r->str, slot, to)) != CLUSTER_NOT_REDIRECT) {
            sent = STORE_SENT_REDIRECT;
            *e = E_REDIS_UNAVAILABLE;
        } else if (strncmp(r->str, "BUSY", 4) == 0 || store_error_is_transient(r->str)) {
            metrics_redis_error(METRICS_REDIS_BUSY);
            sent = strncmp(r->str, "BUSY", 4) == 0 ? STORE_SENT_DONE : STORE_SENT_BUSY;
            *e = E_REDIS_UNAVAILABLE;
        } else {
            metrics_redis_error(METRICS_REDIS_REPLY);
            log_error("store: %s: %s", argv[0], r->str);
            *e = E_INTERNAL;
        }
    } else if (read != NULL && (read_reply == NULL || read_reply->type == REDIS_REPLY_ERROR)) {
        /* The call ran but its read did not: nothing to answer with. */
        metrics_redis_error(METRICS_REDIS_REPLY);
        log_error("store: %s with %s: %s", argv[0], read->argv[0],
                  read_reply != NULL ? read_reply->str : "refused");
        *e = E_INTERNAL;
    } else {
        if (out != NULL)
            store_flatten(r, out);
        if (read != NULL)
            store_flatten(read_reply, read->out);
    }
    for (int k = 0; k < 4; k++)
        if (rep[k] != NULL)
            freeReplyObject(rep[k]);
    return sent;
}

/* Reads CLUSTER SLOTS from node into st's map: each range's master (element 2: host, port)
 * becomes a node if new. Returns 0, or -1 when the node did not answer with a usable map. */
static int store_map_from(struct store *st, size_t index)
{
    redisReply *r;
    int ok = 0;

    if (store_connect(&st->nodes[index]) != E_OK)
        return -1;
    r = redisCommand(st->nodes[index].ctx, "CLUSTER SLOTS");
    if (r == NULL) {
        store_disconnect(&st->nodes[index]);
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        memset(st->slot_node, 0, CLUSTER_SLOTS * sizeof(*st->slot_node));
        ok = 1;
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *range = r->element[i], *master;
            if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
                range->element[0]->type != REDIS_REPLY_INTEGER ||
                range->element[1]->type != REDIS_REPLY_INTEGER ||
                (master = range->element[2])->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
                master->element[0]->type != REDIS_REPLY_STRING ||
                master->element[1]->type != REDIS_REPLY_INTEGER ||
                master->element[1]->integer < 1 || master->element[1]->integer > 65535)
                continue;
            long long from = range->element[0]->integer, to = range->element[1]->integer;
            if (from < 0 || to >= CLUSTER_SLOTS || from > to)
                continue;
            /* An empty host means "the address you reached me at". */
            const char *host =
                master->element[0]->len > 0 ? master->element[0]->str : st->nodes[index].host;
            size_t n = store_add_node(st, host, (int)master->element[1]->integer);
            if (n == SIZE_MAX)
                continue;
            for (long long s = from; s <= to; s++)
                st->slot_node[s] = (unsigned short)(n + 1);
        }
    }
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Reloads the slot map from the first node that gives one (connected nodes first, as they
 * answered last). Returns 0, or -1 when none did. */
static int store_refresh_map(struct store *st)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < st->nnodes; i++)
            if ((st->nodes[i].ctx != NULL) == (pass == 0) && store_map_from(st, i) == 0) {
                st->map_stale = 0;
                return 0;
            }
    log_warn("store: no cluster node gave its slot map");
    return -1;
}

/* The key a command is routed by: FCALL's first key, none for the commands that take none,
 * else the first argument. */
static int store_route_key(int argc, const char **argv, const size_t *lens, const char **key,
                           size_t *len)
{
    static const char *const keyless[] = {"PING",    "FUNCTION", "SCAN",     "INFO", "DBSIZE",
                                          "CLUSTER", "FLUSHDB",  "FLUSHALL", "EVAL"};
    int at = 1;

    if (strcasecmp(argv[0], "FCALL") == 0)
        at = argc > 3 && strcmp(argv[2], "0") != 0 ? 3 : -1;
    else
        for (size_t i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++)
            if (strcasecmp(argv[0], keyless[i]) == 0)
                at = -1;
    if (at < 0 || at >= argc)
        return 0;
    *key = argv[at];
    *len = lens != NULL ? lens[at] : strlen(argv[at]);
    return 1;
}

/* The node that serves argv: its key's slot's master, or for a command without a key (or an
 * unknown slot) the master of slot 0, else the first node. */
static struct store_node *store_route(struct store *st, int argc, const char **argv,
                                      const size_t *lens)
{
    const char *key;
    size_t len;
    unsigned slot = 0, n;

    if (!st->cluster)
        return &st->nodes[0];
    if (st->map_stale)
        store_refresh_map(st);
    if (store_route_key(argc, argv, lens, &key, &len))
        slot = cluster_key_slot(key, len);
    n = st->slot_node[slot] != 0 ? st->slot_node[slot] : st->slot_node[0];
    return &st->nodes[n != 0 ? n - 1 : 0];
}

/* Runs argv on the node that serves it. Single node: reconnects first if needed and retries
 * once after a broken connection (a connection that died while idle, Redis restarted, fails
 * on first use). Cluster: follows MOVED (and reloads the map) and ASK, and while a node is
 * unreachable or the cluster is busy reloads the map and tries again every
 * STORE_CLUSTER_BACKOFF_MS for up to STORE_CLUSTER_RETRY_MS (a failover). Both: for an FCALL,
 * loads the library on a node that lacks it and tries again. */
static enum wnc_err store_try(struct store *st, int argc, const char **argv, const size_t *lens,
                              const struct store_read *read, struct store_reply *out, int fcall)
{
    struct store_node *node = store_route(st, argc, argv, lens);
    int asking = 0, loaded = 0, reconnected = 0, redirects = 0;
    uint64_t deadline = 0;

    for (;;) {
        int had_connection = node->ctx != NULL;
        enum cluster_redirect_kind redirect = CLUSTER_NOT_REDIRECT;
        struct cluster_addr to;
        unsigned slot = 0;
        enum wnc_err e = store_connect(node);
        enum store_sent sent = STORE_SENT_BROKEN;

        if (e == E_OK)
            sent = store_send(node, asking, argc, argv, lens, read, out, &e, &redirect, &slot, &to);
        asking = 0;
        switch (sent) {
        case STORE_SENT_DONE:
            return e;
        case STORE_SENT_NOSCRIPT:
            if (!fcall || loaded++)
                return E_REDIS_UNAVAILABLE;
            if ((e = store_load_library(node)) != E_OK)
                return e;
            continue;
        case STORE_SENT_REDIRECT:
            if (!st->cluster || ++redirects > STORE_CLUSTER_MAX_REDIRECTS) {
                log_error("store: %s redirected %s (set WNC_REDIS_CLUSTER for a cluster)", argv[0],
                          st->cluster ? "too often" : "by a cluster node");
                return E_INTERNAL;
            }
            size_t n = store_add_node(st, *to.host != '\0' ? to.host : node->host, to.port);
            if (n == SIZE_MAX)
                return E_REDIS_UNAVAILABLE;
            node = &st->nodes[n];
            if (redirect == CLUSTER_MOVED) {
                st->slot_node[slot] = (unsigned short)(n + 1);
                st->map_stale = 1; /* one slot moved: others probably did too */
            } else {
                asking = 1;
            }
            continue;
        case STORE_SENT_BROKEN:
            if (had_connection && !reconnected++)
                continue;
            break;
        case STORE_SENT_BUSY:
            break;
        }
        if (!st->cluster)
            return E_REDIS_UNAVAILABLE;
        uint64_t now = metrics_now_ns() / 1000000;
        if (deadline == 0)
            deadline = now + STORE_CLUSTER_RETRY_MS;
        else if (now >= deadline)
            return E_REDIS_UNAVAILABLE;
        nanosleep(&(struct timespec){0, STORE_CLUSTER_BACKOFF_MS * 1000000L}, NULL);
        store_refresh_map(st);
        node = store_route(st, argc, argv, lens);
    }
}

/* store_try, timed: one Redis call in the metrics, whatever it took. */
static enum wnc_err store_run(struct store *st, int argc, const char **argv, const size_t *lens,
                              const struct store_read *read, struct store_reply *out, int fcall)
{
    uint64_t start = metrics_now_ns();
    enum wnc_err e = store_try(st, argc, argv, lens, read, out, fcall);

    metrics_redis_call(metrics_now_ns() - start);
    return e;
}

enum wnc_err store_ping(struct store *st)
{
    const char *argv[] = {"PING"};
    struct store_reply r = {0};
    enum wnc_err e = store_run(st, 1, argv, NULL, NULL, &r, 0);

    store_reply_free(&r);
    return e;
}

enum wnc_err store_eval(struct store *st, enum script_id script, int nkeys, const char **keys,
                        int nargs, const char **args, const size_t *arg_lens,
                        struct store_reply *out)
{
    return store_eval_read(st, script, nkeys, keys, nargs, args, arg_lens, 0, NULL, out, NULL);
}

enum wnc_err store_eval_read(struct store *st, enum script_id script, int nkeys, const char **keys,
                             int nargs, const char **args, const size_t *arg_lens, int read_argc,
                             const char **read_argv, struct store_reply *out,
                             struct store_reply *read_out)
{
    struct store_read read = {read_argc, read_argv, read_out};
    const char *argv[STORE_MAX_ARGS];
    size_t lens[STORE_MAX_ARGS];
    char nkeys_str[STORE_NUMBER_LEN];
    int argc = 0;
    enum wnc_err e;

    if (3 + nkeys + nargs > STORE_MAX_ARGS)
        return E_INTERNAL;
    snprintf(nkeys_str, sizeof(nkeys_str), "%d", nkeys);
    argv[argc] = "FCALL", lens[argc++] = 5;
    argv[argc] = script_function(script), lens[argc++] = strlen(argv[1]);
    argv[argc] = nkeys_str, lens[argc++] = strlen(nkeys_str);
    for (int i = 0; i < nkeys; i++)
        argv[argc] = keys[i], lens[argc++] = strlen(keys[i]);
    for (int i = 0; i < nargs; i++)
        argv[argc] = args[i], lens[argc++] = arg_lens ? arg_lens[i] : strlen(args[i]);
    memset(out, 0, sizeof(*out));
    if (read_argv != NULL)
        memset(read_out, 0, sizeof(*read_out));
    e = store_run(st, argc, argv, lens, read_argv != NULL ? &read : NULL, out, 1);
    if (e != E_OK) {
        store_reply_free(out);
        if (read_argv != NULL)
            store_reply_free(read_out);
    }
    return e;
}

enum wnc_err store_command(struct store *st, int argc, const char **argv, const size_t *lens,
                           struct store_reply *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    enum wnc_err e = store_run(st, argc, argv, lens, NULL, out, 0);
    if (e != E_OK && out != NULL)
        store_reply_free(out);
    return e;
}

/* The words of a pipelined command: argc, or fewer when a NULL word ends the row. */
static int store_row_argc(int argc, const char *const *row)
{
    int k = 0;
    while (k < argc && row[k] != NULL)
        k++;
    return k;
}

/* Sends the n commands on node's connection and reads every reply, in order. Returns
 * STORE_SENT_BROKEN when the connection broke (dropped; out is left empty). */
static enum store_sent store_pipeline_once(struct store_node *node, size_t n, int argc,
                                           const char **const *argv, struct store_reply *out,
                                           enum wnc_err *e)
{
    *e = E_OK;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommandArgv(node->ctx, store_row_argc(argc, argv[i]), argv[i], NULL) !=
            REDIS_OK)
            goto broken;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(node->ctx, (void **)&r) != REDIS_OK || r == NULL)
            goto broken;
        if (r->type == REDIS_REPLY_ERROR) {
            /* Every reply is read all the same, so the connection stays in step. */
            metrics_redis_error(METRICS_REDIS_REPLY);
            log_error("store: %s: %s", argv[i][0], r->str);
            *e = E_INTERNAL;
        } else {
            store_flatten(r, out);
        }
        freeReplyObject(r);
    }
    return STORE_SENT_DONE;
broken:
    metrics_redis_error(METRICS_REDIS_IO);
    log_warn("store: redis: %s", node->ctx->errstr);
    store_disconnect(node);
    store_reply_free(out);
    return STORE_SENT_BROKEN;
}

enum wnc_err store_pipeline(struct store *st, size_t n, int argc, const char **const *argv,
                            struct store_reply *out)
{
    enum wnc_err e = E_OK;
    uint64_t start = metrics_now_ns();
    struct store_node *node = &st->nodes[0];

    memset(out, 0, sizeof(*out));
    if (st->cluster) {
        /* The commands' keys may live on any node: one call each, in order. */
        for (size_t i = 0; i < n; i++) {
            enum wnc_err one =
                store_try(st, store_row_argc(argc, argv[i]), argv[i], NULL, NULL, out, 0);
            if (one == E_REDIS_UNAVAILABLE) {
                store_reply_free(out);
                return one;
            }
            if (one != E_OK)
                e = E_INTERNAL;
        }
    } else {
        /* A kept connection that broke (Redis restarted) is opened again once, as store_try
         * does for one command: the commands sent here may be sent twice, so callers pipeline
         * only reads and idempotent writes. */
        for (int attempt = 0;; attempt++) {
            int had_connection = node->ctx != NULL;
            if ((e = store_connect(node)) != E_OK)
                return e;
            if (store_pipeline_once(node, n, argc, argv, out, &e) == STORE_SENT_DONE)
                break;
            if (!had_connection || attempt > 0)
                return E_REDIS_UNAVAILABLE;
        }
    }
    metrics_redis_call(metrics_now_ns() - start);
    if (e != E_OK)
        store_reply_free(out);
    return e;
}

void store_reply_free(struct store_reply *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i]);
    free(r->items);
    free(r->lens);
    memset(r, 0, sizeof(*r));
}
