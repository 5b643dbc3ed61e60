/* Running a room script with its effects: builds the room's keys and the standard arguments
 * (see sql/lib.lua), runs the script, publishes the events it returns to the room's channel,
 * and runs its follow-ups on the global indexes. Shared by the workers and pushd. */
#ifndef WNC_EXEC_H
#define WNC_EXEC_H

#include <stddef.h>

#include "err.h"
#include "ids.h"
#include "script.h"
#include "store.h"

struct store;
struct store_reply;
struct publisher;

#define EXEC_MAX_ARGS 8
#define EXEC_ROOM_KEYS ROOM_KEY__MAX
#define EXEC_STD_ARGS STD_ARG__MAX
#define EXEC_CHANNEL_SIZE (CHANNEL_MAX_LEN + 1) /* a room's channel "ROOM-epoch" (ids.h), NUL */
#define EXEC_KEY_SIZE 32                        /* a room key "<prefix>:{ROOM}", with its NUL */

/* The keys and arguments of one room script call, laid out as sql/lib.lua expects them: the
 * room's keys, the standard arguments, then the script's own. Filled by exec_prepare; the
 * pointers in argv point into the struct itself or into the caller's args. */
struct exec_call {
    char keys_buf[EXEC_ROOM_KEYS][EXEC_KEY_SIZE];
    char std[EXEC_STD_ARGS][STORE_NUMBER_LEN]; /* the numbers among them, as text */
    const char *keys[EXEC_ROOM_KEYS];
    const char *argv[EXEC_STD_ARGS + EXEC_MAX_ARGS];
    size_t lens[EXEC_STD_ARGS + EXEC_MAX_ARGS];
    int argc;
};

struct exec_result {
    int status; /* HTTP status the script chose */
    char *body; /* owned; "" when none */
    size_t body_len;
    char channel[EXEC_CHANNEL_SIZE]; /* the room's nchan channel after the script */
    int events;                      /* how many events the script published */
};

/* A room script's reply taken apart. sql/lib.lua's result() returns one flat list: status,
 * body, channel, the number of events, the events, the number of follow-ups, the follow-ups.
 * Every pointer points into the store reply it was parsed from and dies with it. */
struct exec_reply {
    int status;
    const char *body;
    size_t body_len;
    const char *channel; /* shorter than EXEC_CHANNEL_SIZE */
    size_t channel_len;
    char *const *events; /* nevents items, their lengths in event_lens */
    const size_t *event_lens;
    size_t nevents;
    char *const *followups; /* nfollowups items */
    size_t nfollowups;
    int exact; /* 1 when both counts are plain digits and match the items one for one */
};

/* Parses r, the reply of a room script, into *out (zeroed first). Returns E_INTERNAL for a
 * malformed reply (fewer than five items, no status, body or channel, a channel of
 * EXEC_CHANNEL_SIZE bytes or more), E_OK otherwise. The counts are read leniently, as exec_room
 * has always used them: a missing or negative count is 0, and a count larger than the items
 * left stops at the last item. out->exact is 0 when a count had to be read that way, when an
 * item follows the last follow-up, or when a counted item is nil (NULL). */
enum wnc_err exec_reply_parse(const struct store_reply *r, struct exec_reply *out);

/* Runs script with call's keys and arguments (store_eval): its reply in *r and, when
 * script_answers_room, users:{room}'s values, read in the same transaction, in *users (else
 * *users is zeroed). On an error neither holds anything. */
enum wnc_err exec_eval(struct store *st, enum script_id script, struct exec_call *call,
                       struct store_reply *r, struct store_reply *users);

/* The answer's body of rep, with the room's users written where the script put
 * SCRIPT_USERS_MARK (script.h): the values of users (exec_eval) sorted by their sort key, which
 * is cut off, as one JSON array. Returns a new NUL-terminated string (free it) and its length
 * in *len, or NULL when the body has the mark but users is NULL, or a user is no longer than its
 * sort key. A body without the mark comes back as it is. */
char *exec_reply_body(const struct exec_reply *rep, const struct store_reply *users, size_t *len);

/* Runs script for room_id with token_digest ("" when none) and nargs script arguments
 * (binary-safe, lens may be NULL). On E_OK *out holds the result; free it with
 * exec_result_free. */
enum wnc_err exec_room(struct store *st, struct publisher *pub, enum script_id script,
                       const char *room_id, const char *token_digest, int nargs, const char **args,
                       const size_t *lens, struct exec_result *out);

/* Lays out a call of a room script at time now_ms (exec_room uses the server's clock; tests
 * pass their own). Returns E_INTERNAL when nargs exceeds EXEC_MAX_ARGS. */
enum wnc_err exec_prepare(struct exec_call *call, const char *room_id, long long now_ms,
                          const char *token_digest, int nargs, const char **args,
                          const size_t *lens);

/* Runs one follow-up of a script of room_id (the typed forms listed in sql/lib.lua), after
 * checking its form: anything else is refused and logged. "close" is a no-op when pub is
 * NULL. Returns E_OK, E_INTERNAL for a refused follow-up, or the store's error. */
enum wnc_err exec_followup(struct store *st, struct publisher *pub, const char *room_id,
                           const char *command);

/* Forms shared with the events handler and pushd: a connection id (16 hex digits for a
 * stream, "p" and a user id for a member's long-poll), a per-address limit key (addr.h),
 * and a lease owner "instance/pid/start" (proc.h). Each returns 1 when s has the form. */
#define EXEC_CONN_ID_MAX 40
/* A timer due within EXEC_WAKE_WITHIN_MS also pushes onto the list EXEC_PUSHD_WAKE_KEY, on
 * which pushd sleeps (BLPOP): a presence batch due in 100 ms is not held up by pushd's longest
 * sleep, and pushd need not wake often for nothing. */
#define EXEC_PUSHD_WAKE_KEY "pushd:wake"
#define EXEC_WAKE_WITHIN_MS 1000
#define EXEC_LIMIT_KEY_MAX 45
#define EXEC_INSTANCE_MAX 64
#define EXEC_INSTANCE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define EXEC_OWNER_MAX (EXEC_INSTANCE_MAX + 48)
int exec_is_conn_id(const char *s);
int exec_is_limit_key(const char *s);
int exec_is_owner(const char *s);

void exec_result_free(struct exec_result *r);

/* Milliseconds since the epoch on the server's clock. */
long long exec_now_ms(void);

#endif
