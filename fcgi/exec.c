#include "exec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ids.h"
#include "log.h"
#include "publish.h"
#include "store.h"

#define EXEC_FOLLOWUP_MAX_WORDS 8
#define EXEC_ROOM_LOCKS 64

/* Threads of one process run a room's script and queue its events under the room's lock, so
 * the publisher queue holds a room's events in commit (seq) order. Rooms hash onto a few locks;
 * Redis runs scripts one at a time anyway, so this costs no parallelism worth having. */
static pthread_mutex_t exec_room_locks[EXEC_ROOM_LOCKS];
static pthread_once_t exec_room_locks_once = PTHREAD_ONCE_INIT;

static void exec_room_locks_init(void)
{
    for (int i = 0; i < EXEC_ROOM_LOCKS; i++)
        pthread_mutex_init(&exec_room_locks[i], NULL);
}

static pthread_mutex_t *exec_room_lock(const char *room_id)
{
    unsigned h = 5381;

    pthread_once(&exec_room_locks_once, exec_room_locks_init);
    for (const char *p = room_id; *p != '\0'; p++)
        h = h * 33 + (unsigned char)*p;
    return &exec_room_locks[h % EXEC_ROOM_LOCKS];
}

long long exec_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void exec_followup(struct store *st, struct publisher *pub, const char *command)
{
    char copy[256], *words[EXEC_FOLLOWUP_MAX_WORDS], *save = NULL;
    int n = 0;

    if (strncmp(command, "CLOSE ", 6) == 0) {
        if (pub != NULL)
            publisher_close_channel(pub, command + 6);
        return;
    }
    if (strlen(command) >= sizeof(copy)) {
        log_error("exec: follow-up too long");
        return;
    }
    strcpy(copy, command);
    for (char *w = strtok_r(copy, " ", &save); w != NULL && n < EXEC_FOLLOWUP_MAX_WORDS;
         w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    if (store_command(st, n, (const char **)words, NULL, NULL) != E_OK)
        log_warn("exec: follow-up %s failed", words[0]);
}

/* Parses an item of the reply as a non-negative count. */
static int exec_count(const struct store_reply *r, size_t i)
{
    if (i >= r->n || r->items[i] == NULL)
        return -1;
    return atoi(r->items[i]);
}

enum wnc_err exec_prepare(struct exec_call *call, const char *room_id, long long now_ms,
                          const char *token_digest, int nargs, const char **args,
                          const size_t *lens)
{
    static const char *const prefixes[EXEC_ROOM_KEYS] = {"room", "members", "names", "auth",
                                                         "chat", "limits",  "users"};
    const int numbers[EXEC_STD_ARGS - 2] = {config.room_ttl_s,    config.grace_ms,
                                            config.chat_rate,     config.control_rate,
                                            config.typing_ttl_ms, config.sync_interval_ms};

    if (nargs < 0 || nargs > EXEC_MAX_ARGS)
        return E_INTERNAL;
    for (int k = 0; k < EXEC_ROOM_KEYS; k++) {
        snprintf(call->keys_buf[k], sizeof(call->keys_buf[k]), "%s:{%s}", prefixes[k], room_id);
        call->keys[k] = call->keys_buf[k];
    }
    snprintf(call->std[0], sizeof(call->std[0]), "%lld", now_ms);
    for (int a = 1; a < EXEC_STD_ARGS - 1; a++)
        snprintf(call->std[a], sizeof(call->std[a]), "%d", numbers[a - 1]);
    for (int a = 0; a < EXEC_STD_ARGS - 1; a++) {
        call->argv[a] = call->std[a];
        call->lens[a] = strlen(call->std[a]);
    }
    call->argv[EXEC_STD_ARGS - 1] = token_digest;
    call->lens[EXEC_STD_ARGS - 1] = strlen(token_digest);
    for (int a = 0; a < nargs; a++) {
        call->argv[EXEC_STD_ARGS + a] = args[a];
        call->lens[EXEC_STD_ARGS + a] = lens ? lens[a] : strlen(args[a]);
    }
    call->argc = EXEC_STD_ARGS + nargs;
    return E_OK;
}

enum wnc_err exec_room(struct store *st, struct publisher *pub, enum script_id script,
                       const char *room_id, const char *token_digest, int nargs, const char **args,
                       const size_t *lens, struct exec_result *out)
{
    struct exec_call call;
    struct store_reply r;
    enum wnc_err e;
    size_t i;
    int n;

    if ((e = exec_prepare(&call, room_id, exec_now_ms(), token_digest, nargs, args, lens)) != E_OK)
        return e;
    pthread_mutex_t *lock = exec_room_lock(room_id);
    pthread_mutex_lock(lock);
    e = store_eval(st, script, EXEC_ROOM_KEYS, call.keys, call.argc, call.argv, call.lens, &r);
    if (e != E_OK) {
        pthread_mutex_unlock(lock);
        return e;
    }

    /* status, body, channel, #events, events..., #follow-ups, follow-ups... */
    memset(out, 0, sizeof(*out));
    if (r.n < 5 || r.items[0] == NULL || r.items[1] == NULL || r.items[2] == NULL ||
        r.lens[2] >= sizeof(out->channel)) {
        log_error("exec: %s returned a malformed reply", script_name(script));
        store_reply_free(&r);
        pthread_mutex_unlock(lock);
        return E_INTERNAL;
    }
    out->status = atoi(r.items[0]);
    out->body = r.items[1];
    out->body_len = r.lens[1];
    r.items[1] = NULL; /* now owned by out */
    memcpy(out->channel, r.items[2], r.lens[2] + 1);
    i = 3;
    n = exec_count(&r, i++);
    out->events = n > 0 ? n : 0;
    for (int ev = 0; ev < n && i < r.n; ev++, i++)
        if (pub != NULL)
            publisher_send(pub, out->channel, r.items[i], r.lens[i]);
    n = exec_count(&r, i++);
    for (int f = 0; f < n && i < r.n; f++, i++)
        exec_followup(st, pub, r.items[i]);
    pthread_mutex_unlock(lock);
    store_reply_free(&r);
    return E_OK;
}

void exec_result_free(struct exec_result *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}
