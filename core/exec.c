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
#include "valid.h"
#include "xmalloc.h"

#define EXEC_FOLLOWUP_MAX_WORDS 4
#define EXEC_FOLLOWUP_MAX 256
#define EXEC_GLOBAL_KEY_MAX 128
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

/* The follow-ups a room script may ask for: a word and its arguments (sql/lib.lua lists
 * them). Each argument is checked against its form, and every room id must be the script's
 * own room, so no script result can become an arbitrary Redis command or reach another room. */
enum exec_followup_kind {
    FOLLOWUP_INDEX,
    FOLLOWUP_UNINDEX,
    FOLLOWUP_TIMER,
    FOLLOWUP_CLOSE,
    FOLLOWUP_SUBS_HOLD,
    FOLLOWUP_SUBS_RELEASE,
    FOLLOWUP_OWNER_ADD,
    FOLLOWUP_OWNER_DEL,
    FOLLOWUP__MAX
};

static const struct exec_followup_form {
    const char *word;
    int nargs;
} exec_followup_forms[FOLLOWUP__MAX] = {
    [FOLLOWUP_INDEX] = {"index", 1},         [FOLLOWUP_UNINDEX] = {"unindex", 1},
    [FOLLOWUP_TIMER] = {"timer", 3},         [FOLLOWUP_CLOSE] = {"close", 1},
    [FOLLOWUP_SUBS_HOLD] = {"subs_hold", 2}, [FOLLOWUP_SUBS_RELEASE] = {"subs_release", 2},
    [FOLLOWUP_OWNER_ADD] = {"owner_add", 2}, [FOLLOWUP_OWNER_DEL] = {"owner_del", 2},
};

/* Timer sets pushd runs; entries are "ROOM" (sync, wait, pflush, verify) or "ROOM|user id"
 * (the others). */
static const char *const exec_timer_kinds[] = {"presence", "typing", "linger", "sync",
                                               "wait",     "unmute", "pflush", "verify"};

/* Whether every character of s is in set and its length is in [1, max]. */
static int exec_word_is(const char *s, const char *set, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, set) == n;
}

/* "ROOM" equal to room_id, optionally followed by sep and a tail checked by is_tail. */
static int exec_room_prefixed(const char *s, const char *room_id, char sep,
                              int (*is_tail)(const char *))
{
    if (strncmp(s, room_id, ROOM_ID_LEN) != 0)
        return 0;
    if (s[ROOM_ID_LEN] == '\0')
        return is_tail == NULL;
    return is_tail != NULL && s[ROOM_ID_LEN] == sep && is_tail(s + ROOM_ID_LEN + 1);
}

static int exec_is_user(const char *s)
{
    char out[USER_ID_LEN + 1];
    return valid_user_id(s, out) == E_OK && strcmp(out, s) == 0;
}

static int exec_is_digits(const char *s)
{
    return exec_word_is(s, "0123456789", CHANNEL_EPOCH_MAX_DIGITS);
}

int exec_is_conn_id(const char *s)
{
    return exec_word_is(s, "0123456789abcdef-p", EXEC_CONN_ID_MAX);
}

int exec_is_limit_key(const char *s)
{
    return exec_word_is(s, "0123456789abcdef.:-", EXEC_LIMIT_KEY_MAX);
}

/* "instance/pid/start": see proc.h. */
int exec_is_owner(const char *s)
{
    const char *a = strchr(s, '/'), *b = a ? strchr(a + 1, '/') : NULL;
    char inst[EXEC_OWNER_MAX + 1], pid[STORE_NUMBER_LEN];

    if (b == NULL || strlen(s) > EXEC_OWNER_MAX || (size_t)(a - s) >= sizeof(inst) ||
        (size_t)(b - a - 1) >= sizeof(pid))
        return 0;
    memcpy(inst, s, (size_t)(a - s));
    inst[a - s] = '\0';
    memcpy(pid, a + 1, (size_t)(b - a - 1));
    pid[b - a - 1] = '\0';
    return exec_word_is(inst, EXEC_INSTANCE_CHARS, EXEC_INSTANCE_MAX) && exec_is_digits(pid) &&
           exec_is_digits(b + 1);
}

static int exec_followup_valid(enum exec_followup_kind kind, char **args, const char *room_id)
{
    switch (kind) {
    case FOLLOWUP_INDEX:
    case FOLLOWUP_UNINDEX:
        return exec_room_prefixed(args[0], room_id, 0, NULL);
    case FOLLOWUP_TIMER:
        for (size_t k = 0; k < sizeof(exec_timer_kinds) / sizeof(exec_timer_kinds[0]); k++)
            if (strcmp(args[0], exec_timer_kinds[k]) == 0)
                return exec_is_digits(args[1]) &&
                       exec_room_prefixed(
                           args[2], room_id, '|',
                           strcmp(args[0], "sync") == 0 || strcmp(args[0], "wait") == 0 ||
                                   strcmp(args[0], "pflush") == 0 || strcmp(args[0], "verify") == 0
                               ? NULL
                               : exec_is_user);
        return 0;
    case FOLLOWUP_CLOSE:
        return exec_room_prefixed(args[0], room_id, '-', exec_is_digits);
    case FOLLOWUP_SUBS_HOLD:
    case FOLLOWUP_SUBS_RELEASE:
        return exec_is_limit_key(args[0]) && exec_is_conn_id(args[1]);
    case FOLLOWUP_OWNER_ADD:
    case FOLLOWUP_OWNER_DEL:
        return exec_is_owner(args[0]) && exec_room_prefixed(args[1], room_id, '|', exec_is_conn_id);
    default:
        return 0;
    }
}

/* The Redis commands of a call's follow-ups, sent in one round trip (store_pipeline) instead
 * of one to three each. Every command a follow-up becomes is idempotent or harmless twice
 * (ZADD, SADD, SREM, ZREM; the wake token's LPUSH is trimmed to one), as a pipeline resent
 * after a broken connection requires. A longer list goes in parts of EXEC_BATCH_MAX. */
#define EXEC_BATCH_MAX 32
#define EXEC_BATCH_WORDS 4
struct exec_batch {
    size_t n;
    char words[EXEC_BATCH_MAX][EXEC_BATCH_WORDS][EXEC_GLOBAL_KEY_MAX];
    const char *rows[EXEC_BATCH_MAX][EXEC_BATCH_WORDS + 1]; /* each ends with NULL */
};

/* Sends what the batch holds; empties it. */
static enum wnc_err exec_batch_send(struct store *st, struct exec_batch *b, const char *room_id)
{
    const char **rows[EXEC_BATCH_MAX];
    struct store_reply r;
    enum wnc_err e;

    if (b->n == 0)
        return E_OK;
    for (size_t i = 0; i < b->n; i++)
        rows[i] = b->rows[i];
    e = store_pipeline(st, b->n, EXEC_BATCH_WORDS, (const char **const *)rows, &r);
    if (e == E_OK)
        store_reply_free(&r);
    else
        log_warn("exec: %zu follow-up commands for room %s failed: %s", b->n, room_id, err_code(e));
    b->n = 0;
    return e;
}

/* Appends one command of up to EXEC_BATCH_WORDS words (copied; the list ends with NULL),
 * sending the batch first when it is full. */
static enum wnc_err exec_batch_add(struct store *st, struct exec_batch *b, const char *room_id,
                                   const char *w0, const char *w1, const char *w2, const char *w3)
{
    const char *w[EXEC_BATCH_WORDS] = {w0, w1, w2, w3};
    enum wnc_err e = E_OK;

    if (b->n == EXEC_BATCH_MAX)
        e = exec_batch_send(st, b, room_id);
    size_t i = b->n++;
    int k = 0;
    for (; k < EXEC_BATCH_WORDS && w[k] != NULL; k++) {
        snprintf(b->words[i][k], sizeof(b->words[i][k]), "%s", w[k]);
        b->rows[i][k] = b->words[i][k];
    }
    b->rows[i][k] = NULL;
    return e;
}

/* Adds one checked follow-up to the batch ("close" goes to the publisher at once). */
static enum wnc_err exec_followup_add(struct store *st, struct publisher *pub, struct exec_batch *b,
                                      const char *room_id, enum exec_followup_kind kind,
                                      char **args)
{
    char key[EXEC_GLOBAL_KEY_MAX], owner[EXEC_OWNER_MAX + 1];
    enum wnc_err e;

    switch (kind) {
    case FOLLOWUP_INDEX:
    case FOLLOWUP_UNINDEX:
        return exec_batch_add(st, b, room_id, kind == FOLLOWUP_INDEX ? "SADD" : "SREM",
                              "active-rooms", args[0], NULL);
    case FOLLOWUP_TIMER:
        snprintf(key, sizeof(key), "timers:%s", args[0]);
        if ((e = exec_batch_add(st, b, room_id, "ZADD", key, args[1], args[2])) != E_OK ||
            atoll(args[1]) - exec_now_ms() > EXEC_WAKE_WITHIN_MS)
            return e;
        /* Soon: wake pushd (one token is enough; the list never grows past it). */
        if ((e = exec_batch_add(st, b, room_id, "LPUSH", EXEC_PUSHD_WAKE_KEY, args[1], NULL)) !=
            E_OK)
            return e;
        return exec_batch_add(st, b, room_id, "LTRIM", EXEC_PUSHD_WAKE_KEY, "0", "0");
    case FOLLOWUP_CLOSE:
        return pub != NULL ? publisher_close_channel(pub, args[0]) : E_OK;
    case FOLLOWUP_SUBS_HOLD:
        snprintf(key, sizeof(key), "subs:{%s}", args[0]);
        return exec_batch_add(st, b, room_id, "ZADD", key, "+inf", args[1]);
    case FOLLOWUP_SUBS_RELEASE:
        snprintf(key, sizeof(key), "subs:{%s}", args[0]);
        return exec_batch_add(st, b, room_id, "ZREM", key, args[1], NULL);
    case FOLLOWUP_OWNER_ADD:
    case FOLLOWUP_OWNER_DEL:
        snprintf(key, sizeof(key), "owner:{%s}", args[0]);
        if ((e = exec_batch_add(st, b, room_id, kind == FOLLOWUP_OWNER_ADD ? "SADD" : "SREM", key,
                                args[1], NULL)) != E_OK ||
            kind == FOLLOWUP_OWNER_DEL)
            return e;
        /* The instance's index of owners, which its pushd sweeps (proc.h). */
        snprintf(owner, sizeof(owner), "%s", args[0]);
        *strchr(owner, '/') = '\0';
        snprintf(key, sizeof(key), "owners:{%s}", owner);
        return exec_batch_add(st, b, room_id, "SADD", key, args[0], NULL);
    default:
        return E_INTERNAL;
    }
}

/* Checks one follow-up's form and adds it to the batch. */
static enum wnc_err exec_followup_parse(struct store *st, struct publisher *pub,
                                        struct exec_batch *b, const char *room_id,
                                        const char *command)
{
    char copy[EXEC_FOLLOWUP_MAX], *words[EXEC_FOLLOWUP_MAX_WORDS + 1], *save = NULL;
    int n = 0;

    if (command == NULL || strlen(command) >= sizeof(copy)) {
        log_error("exec: follow-up missing or too long");
        return E_INTERNAL;
    }
    strcpy(copy, command);
    for (char *w = strtok_r(copy, " ", &save); w != NULL && n <= EXEC_FOLLOWUP_MAX_WORDS;
         w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    for (int k = 0; n > 0 && k < FOLLOWUP__MAX; k++) {
        if (strcmp(words[0], exec_followup_forms[k].word) != 0)
            continue;
        if (n - 1 != exec_followup_forms[k].nargs ||
            !exec_followup_valid((enum exec_followup_kind)k, words + 1, room_id))
            break;
        return exec_followup_add(st, pub, b, room_id, (enum exec_followup_kind)k, words + 1);
    }
    log_error("exec: refusing malformed follow-up from a script of room %s", room_id);
    return E_INTERNAL;
}

/* Runs a call's follow-ups: the well-formed ones all, in one round trip. Returns the first
 * error (a refused follow-up, or the store's). */
static enum wnc_err exec_followups(struct store *st, struct publisher *pub, const char *room_id,
                                   size_t n, char *const *commands)
{
    struct exec_batch *b;
    enum wnc_err e = E_OK;

    if (n == 0)
        return E_OK;
    b = xmalloc(sizeof(*b));
    b->n = 0;
    for (size_t k = 0; k < n; k++) {
        enum wnc_err one = exec_followup_parse(st, pub, b, room_id, commands[k]);
        if (e == E_OK)
            e = one;
    }
    enum wnc_err sent = exec_batch_send(st, b, room_id);
    free(b);
    return e != E_OK ? e : sent;
}

enum wnc_err exec_followup(struct store *st, struct publisher *pub, const char *room_id,
                           const char *command)
{
    char *one = (char *)command;

    return exec_followups(st, pub, room_id, 1, &one);
}

/* Parses an item of the reply as a count; -1 when it is missing. */
static int exec_count(const struct store_reply *r, size_t i)
{
    if (i >= r->n || r->items[i] == NULL)
        return -1;
    return atoi(r->items[i]);
}

/* Reads the count at item *i and the items it counts, leniently, as exec_room always has: a
 * missing or negative count counts none, and a count past the last item stops there. Sets
 * *start to where the items begin (at most r->n), moves *i past them, clears *exact unless the
 * count is plain digits and every item it counts is there. Returns how many items it took. */
static size_t exec_reply_list(const struct store_reply *r, size_t *i, size_t *start, int *exact)
{
    int n = exec_count(r, *i);
    size_t got = 0;

    if (*i >= r->n || r->items[*i] == NULL || !exec_word_is(r->items[*i], "0123456789", 9))
        *exact = 0;
    *start = ++*i < r->n ? *i : r->n;
    for (; n > 0 && got < (size_t)n && *i < r->n; got++, ++*i)
        if (r->items[*i] == NULL)
            *exact = 0;
    if (got != (size_t)(n > 0 ? n : 0))
        *exact = 0;
    return got;
}

enum wnc_err exec_reply_parse(const struct store_reply *r, struct exec_reply *out)
{
    size_t i = 3, start;

    memset(out, 0, sizeof(*out));
    if (r->n < 5 || r->items[0] == NULL || r->items[1] == NULL || r->items[2] == NULL ||
        r->lens[2] >= EXEC_CHANNEL_SIZE)
        return E_INTERNAL;
    out->status = atoi(r->items[0]);
    out->body = r->items[1];
    out->body_len = r->lens[1];
    out->channel = r->items[2];
    out->channel_len = r->lens[2];
    out->exact = 1;
    out->nevents = exec_reply_list(r, &i, &start, &out->exact);
    out->events = r->items + start;
    out->event_lens = r->lens + start;
    out->nfollowups = exec_reply_list(r, &i, &start, &out->exact);
    out->followups = r->items + start;
    out->exact = out->exact && i == r->n;
    return E_OK;
}

/* One user of a reply, for qsort. */
struct exec_user {
    const char *s;
    size_t len;
};

/* By sort key (fixed width); two equal keys, which put_member never writes, by the rest. */
static int exec_user_cmp(const void *a, const void *b)
{
    const struct exec_user *x = a, *y = b;
    int c = memcmp(x->s, y->s, SCRIPT_USER_SORT_KEY_LEN);

    if (c != 0)
        return c;
    c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Where SCRIPT_USERS_MARK starts in body[0..len), or NULL (memmem is a GNU extension). */
static const char *exec_find_mark(const char *body, size_t len, const char *mark, size_t n)
{
    for (const char *p = body, *end = body + len;
         (size_t)(end - p) >= n && (p = memchr(p, mark[0], (size_t)(end - p) - n + 1)) != NULL; p++)
        if (memcmp(p, mark, n) == 0)
            return p;
    return NULL;
}

char *exec_reply_body(const struct exec_reply *rep, const struct store_reply *users, size_t *len)
{
    static const char mark[] = SCRIPT_USERS_MARK;
    const char *at = exec_find_mark(rep->body, rep->body_len, mark, sizeof(mark) - 1);
    struct exec_user *sorted;

    if (at == NULL) {
        *len = rep->body_len;
        return xmemdup0(rep->body, rep->body_len);
    }
    if (users == NULL)
        return NULL;
    sorted = xcalloc(users->n + 1, sizeof(*sorted));
    for (size_t k = 0; k < users->n; k++) {
        if (users->items[k] == NULL || users->lens[k] <= SCRIPT_USER_SORT_KEY_LEN) {
            free(sorted);
            return NULL;
        }
        sorted[k] = (struct exec_user){users->items[k], users->lens[k]};
    }
    qsort(sorted, users->n, sizeof(*sorted), exec_user_cmp);
    /* One allocation of the exact size: a big room's answer is tens of KiB. */
    size_t before = (size_t)(at - rep->body), after = rep->body_len - before - (sizeof(mark) - 1);
    size_t n = before + 2 + after + (users->n > 0 ? users->n - 1 : 0);
    for (size_t k = 0; k < users->n; k++)
        n += sorted[k].len - SCRIPT_USER_SORT_KEY_LEN;
    char *body = xmalloc(n + 1), *p = body;
    memcpy(p, rep->body, before);
    p += before;
    *p++ = '[';
    for (size_t k = 0; k < users->n; k++) {
        if (k > 0)
            *p++ = ',';
        memcpy(p, sorted[k].s + SCRIPT_USER_SORT_KEY_LEN, sorted[k].len - SCRIPT_USER_SORT_KEY_LEN);
        p += sorted[k].len - SCRIPT_USER_SORT_KEY_LEN;
    }
    *p++ = ']';
    memcpy(p, at + sizeof(mark) - 1, after);
    p[after] = '\0';
    free(sorted);
    *len = n;
    return body;
}

enum wnc_err exec_prepare(struct exec_call *call, const char *room_id, long long now_ms,
                          const char *token_digest, int nargs, const char **args,
                          const size_t *lens)
{
    const int numbers[STD_ARG__MAX] = {
        [STD_ARG_ROOM_TTL] = config.room_ttl_s,
        [STD_ARG_GRACE] = config.grace_ms,
        [STD_ARG_CHAT_RATE] = config.chat_rate,
        [STD_ARG_CONTROL_RATE] = config.control_rate,
        [STD_ARG_TYPING_TTL] = config.typing_ttl_ms,
        [STD_ARG_SYNC_INTERVAL] = config.sync_interval_ms,
    };

    if (nargs < 0 || nargs > EXEC_MAX_ARGS)
        return E_INTERNAL;
    for (int k = 0; k < EXEC_ROOM_KEYS; k++) {
        snprintf(call->keys_buf[k], sizeof(call->keys_buf[k]), "%s:{%s}",
                 script_room_key_prefix((enum script_room_key)k), room_id);
        call->keys[k] = call->keys_buf[k];
    }
    for (int a = 0; a < STD_ARG__MAX; a++) {
        if (a == STD_ARG_NOW)
            snprintf(call->std[a], sizeof(call->std[a]), "%lld", now_ms);
        else if (a != STD_ARG_TOKEN)
            snprintf(call->std[a], sizeof(call->std[a]), "%d", numbers[a]);
        call->argv[a] = a == STD_ARG_TOKEN ? token_digest : call->std[a];
        call->lens[a] = strlen(call->argv[a]);
    }
    for (int a = 0; a < nargs; a++) {
        call->argv[EXEC_STD_ARGS + a] = args[a];
        call->lens[EXEC_STD_ARGS + a] = lens ? lens[a] : strlen(args[a]);
    }
    call->argc = EXEC_STD_ARGS + nargs;
    return E_OK;
}

enum wnc_err exec_eval(struct store *st, enum script_id script, struct exec_call *call,
                       struct store_reply *r, struct store_reply *users)
{
    const char *hvals[] = {"HVALS", call->keys[ROOM_KEY_USERS]};

    memset(users, 0, sizeof(*users));
    if (!script_answers_room(script))
        return store_eval(st, script, EXEC_ROOM_KEYS, call->keys, call->argc, call->argv,
                          call->lens, r);
    return store_eval_read(st, script, EXEC_ROOM_KEYS, call->keys, call->argc, call->argv,
                           call->lens, 2, hvals, r, users);
}

enum wnc_err exec_room(struct store *st, struct publisher *pub, enum script_id script,
                       const char *room_id, const char *token_digest, int nargs, const char **args,
                       const size_t *lens, struct exec_result *out)
{
    struct exec_call call;
    struct store_reply r, users;
    struct exec_reply rep;
    enum wnc_err e;

    if ((e = exec_prepare(&call, room_id, exec_now_ms(), token_digest, nargs, args, lens)) != E_OK)
        return e;
    pthread_mutex_t *lock = exec_room_lock(room_id);
    pthread_mutex_lock(lock);
    if ((e = exec_eval(st, script, &call, &r, &users)) != E_OK) {
        pthread_mutex_unlock(lock);
        return e;
    }

    memset(out, 0, sizeof(*out));
    if (exec_reply_parse(&r, &rep) != E_OK) {
        log_error("exec: %s returned a malformed reply", script_name(script));
        e = E_INTERNAL;
    } else if (!script_answers_room(script)) {
        out->body = r.items[1]; /* now owned by out */
        out->body_len = rep.body_len;
        r.items[1] = NULL;
    } else if ((out->body = exec_reply_body(&rep, &users, &out->body_len)) == NULL) {
        log_error("exec: %s answered with the room, but its users were malformed",
                  script_name(script));
        e = E_INTERNAL;
    }
    store_reply_free(&users);
    if (e != E_OK) {
        store_reply_free(&r);
        pthread_mutex_unlock(lock);
        return e;
    }
    out->status = rep.status;
    memcpy(out->channel, rep.channel, rep.channel_len + 1);
    out->events = (int)rep.nevents;
    for (size_t k = 0; k < rep.nevents; k++)
        if (pub != NULL)
            publisher_send(pub, out->channel, rep.events[k], rep.event_lens[k]);
    exec_followups(st, pub, room_id, rep.nfollowups, rep.followups);
    pthread_mutex_unlock(lock);
    store_reply_free(&r);
    return E_OK;
}

void exec_result_free(struct exec_result *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}
