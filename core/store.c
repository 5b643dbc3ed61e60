#include "store.h"

#include <assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "timeout.h"
#include "xmalloc.h"

#define STORE_CONNECT_TIMEOUT_MS 1000
#define STORE_COMMAND_TIMEOUT_MS 2000
#define STORE_MAX_ARGS 32

static_assert(STORE_NUMBER_LEN >= sizeof("-9223372036854775808"), "a long long fits");
static_assert(STORE_NUMBER_LEN >= sizeof("18446744073709551615"), "a cursor fits");

struct store {
    redisContext *ctx; /* NULL while disconnected */
    char *host;
    int port;
};

struct store *store_open(const char *host, int port)
{
    struct store *st = xcalloc(1, sizeof(*st));

    st->host = xstrdup(host);
    st->port = port;
    return st;
}

static void store_disconnect(struct store *st)
{
    if (st->ctx != NULL)
        redisFree(st->ctx);
    st->ctx = NULL;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    store_disconnect(st);
    free(st->host);
    free(st);
}

/* Loads the library (script.h). A library of the same version already there is fine: another
 * process loaded it first. Returns E_OK, E_REDIS_UNAVAILABLE or E_INTERNAL. */
static enum wnc_err store_load_library(struct store *st)
{
    const char *text = script_library();
    redisReply *r;
    enum wnc_err e = E_OK;

    r = redisCommand(st->ctx, "FUNCTION LOAD %b", text, strlen(text));
    if (r == NULL) {
        metrics_redis_error(METRICS_REDIS_IO);
        log_warn("store: FUNCTION LOAD: %s", st->ctx->errstr);
        store_disconnect(st);
        return E_REDIS_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "already exists") == NULL) {
        metrics_redis_error(METRICS_REDIS_REPLY);
        log_error("store: FUNCTION LOAD failed: %s", r->str);
        e = E_INTERNAL;
    }
    freeReplyObject(r);
    return e;
}

static enum wnc_err store_connect(struct store *st)
{

    if (st->ctx != NULL)
        return E_OK;
    st->ctx =
        redisConnectWithTimeout(st->host, st->port, timeout_timeval(STORE_CONNECT_TIMEOUT_MS));
    if (st->ctx == NULL || st->ctx->err) {
        metrics_redis_error(METRICS_REDIS_CONNECT);
        log_warn("store: cannot connect to redis %s:%d: %s", st->host, st->port,
                 st->ctx ? st->ctx->errstr : "out of memory");
        store_disconnect(st);
        return E_REDIS_UNAVAILABLE;
    }
    redisSetTimeout(st->ctx, timeout_timeval(STORE_COMMAND_TIMEOUT_MS));
    redisEnableKeepAlive(st->ctx);
    return E_OK;
}

static void store_flatten(const redisReply *r, struct store_reply *out)
{
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            store_flatten(r->element[i], out);
        return;
    }
    char **items = out->items = xreallocarray(out->items, out->n + 1, sizeof(*items));
    size_t *lens = out->lens = xreallocarray(out->lens, out->n + 1, sizeof(*lens));

    if (r->type == REDIS_REPLY_INTEGER) {
        char num[STORE_NUMBER_LEN];
        int n = snprintf(num, sizeof(num), "%lld", r->integer);
        items[out->n] = xmemdup0(num, (size_t)n);
        lens[out->n] = (size_t)n;
    } else if (r->type == REDIS_REPLY_NIL) {
        items[out->n] = NULL;
        lens[out->n] = 0;
    } else {
        items[out->n] = xmemdup0(r->str, r->len);
        lens[out->n] = r->len;
    }
    out->n++;
}

/* Sends argv and translates the reply. A connection error drops the connection (the next call
 * reconnects); *noscript is set when Redis does not have our library (a fresh or flushed
 * Redis, a new version). */
static enum wnc_err store_send(struct store *st, int argc, const char **argv, const size_t *lens,
                               struct store_reply *out, int *noscript)
{
    redisReply *r;
    enum wnc_err e = E_OK;

    r = redisCommandArgv(st->ctx, argc, argv, lens);
    if (r == NULL) {
        metrics_redis_error(METRICS_REDIS_IO);
        log_warn("store: redis: %s", st->ctx->errstr);
        store_disconnect(st);
        return E_REDIS_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (strcmp(r->str, "ERR Function not found") == 0) {
            metrics_redis_error(METRICS_REDIS_NOSCRIPT);
            *noscript = 1;
            e = E_REDIS_UNAVAILABLE;
        } else if (strncmp(r->str, "WNC ", 4) == 0) {
            /* Redis 7 appends " script: <sha>, on @user_script..." to script errors. */
            char code[ERR_CODE_MAX + 1];
            snprintf(code, sizeof(code), "%.*s", (int)strcspn(r->str + 4, " "), r->str + 4);
            e = err_from_code(code);
        } else if (strncmp(r->str, "LOADING", 7) == 0 || strncmp(r->str, "BUSY", 4) == 0) {
            metrics_redis_error(METRICS_REDIS_BUSY);
            e = E_REDIS_UNAVAILABLE;
        } else {
            metrics_redis_error(METRICS_REDIS_REPLY);
            log_error("store: %s: %s", argv[0], r->str);
            e = E_INTERNAL;
        }
    } else if (out != NULL) {
        store_flatten(r, out);
    }
    freeReplyObject(r);
    return e;
}

/* Runs argv, reconnecting first if needed and retrying once after a broken connection (a
 * connection that died while idle, Redis restarted, fails on first use) or, for an FCALL,
 * after loading the library Redis did not have. */
static enum wnc_err store_try(struct store *st, int argc, const char **argv, const size_t *lens,
                              struct store_reply *out, int fcall)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int noscript = 0, had_connection = st->ctx != NULL;
        enum wnc_err e = store_connect(st);

        if (e != E_OK)
            return e;
        e = store_send(st, argc, argv, lens, out, &noscript);
        if (noscript && fcall) {
            if ((e = store_load_library(st)) != E_OK)
                return e;
            continue;
        }
        if (e == E_REDIS_UNAVAILABLE && had_connection && st->ctx == NULL)
            continue;
        return e;
    }
    return E_REDIS_UNAVAILABLE;
}

/* store_try, timed: one Redis call in the metrics, whatever it took. */
static enum wnc_err store_run(struct store *st, int argc, const char **argv, const size_t *lens,
                              struct store_reply *out, int fcall)
{
    uint64_t start = metrics_now_ns();
    enum wnc_err e = store_try(st, argc, argv, lens, out, fcall);

    metrics_redis_call(metrics_now_ns() - start);
    return e;
}

enum wnc_err store_ping(struct store *st)
{
    const char *argv[] = {"PING"};
    struct store_reply r = {0};
    enum wnc_err e = store_run(st, 1, argv, NULL, &r, 0);

    store_reply_free(&r);
    return e;
}

enum wnc_err store_eval(struct store *st, enum script_id script, int nkeys, const char **keys,
                        int nargs, const char **args, const size_t *arg_lens,
                        struct store_reply *out)
{
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
    e = store_run(st, argc, argv, lens, out, 1);
    if (e != E_OK)
        store_reply_free(out);
    return e;
}

enum wnc_err store_command(struct store *st, int argc, const char **argv, const size_t *lens,
                           struct store_reply *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    enum wnc_err e = store_run(st, argc, argv, lens, out, 0);
    if (e != E_OK && out != NULL)
        store_reply_free(out);
    return e;
}

enum wnc_err store_pipeline(struct store *st, size_t n, int argc, const char **const *argv,
                            struct store_reply *out)
{
    enum wnc_err e;
    uint64_t start = metrics_now_ns();

    memset(out, 0, sizeof(*out));
    if ((e = store_connect(st)) != E_OK)
        return e;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommandArgv(st->ctx, argc, argv[i], NULL) != REDIS_OK)
            goto broken;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK || r == NULL)
            goto broken;
        if (r->type == REDIS_REPLY_ERROR) {
            /* Every reply is read all the same, so the connection stays in step. */
            metrics_redis_error(METRICS_REDIS_REPLY);
            log_error("store: %s: %s", argv[i][0], r->str);
            e = E_INTERNAL;
        } else {
            store_flatten(r, out);
        }
        freeReplyObject(r);
    }
    metrics_redis_call(metrics_now_ns() - start);
    if (e != E_OK)
        store_reply_free(out);
    return e;
broken:
    metrics_redis_error(METRICS_REDIS_IO);
    log_warn("store: redis: %s", st->ctx->errstr);
    store_disconnect(st);
    store_reply_free(out);
    return E_REDIS_UNAVAILABLE;
}

void store_reply_free(struct store_reply *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i]);
    free(r->items);
    free(r->lens);
    memset(r, 0, sizeof(*r));
}
