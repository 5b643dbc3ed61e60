/* Running a room script with its effects: builds the room's keys and the standard arguments
 * (see sql/lib.lua), runs the script, publishes the events it returns to the room's channel,
 * and runs its follow-ups on the global indexes. Shared by the workers and pushd. */
#ifndef WNC_EXEC_H
#define WNC_EXEC_H

#include <stddef.h>

#include "err.h"
#include "script.h"

struct store;
struct publisher;

#define EXEC_MAX_ARGS 8

struct exec_result {
    int status; /* HTTP status the script chose */
    char *body; /* owned; "" when none */
    size_t body_len;
    char channel[32]; /* the room's nchan channel after the script */
    int events;       /* how many events the script published */
};

/* Runs script for room_id with token_digest ("" when none) and nargs script arguments
 * (binary-safe, lens may be NULL). On E_OK *out holds the result; free it with
 * exec_result_free. */
enum wnc_err exec_room(struct store *st, struct publisher *pub, enum script_id script,
                       const char *room_id, const char *token_digest, int nargs, const char **args,
                       const size_t *lens, struct exec_result *out);

/* Runs one follow-up: "CLOSE <channel>" deletes an nchan channel (pub may be NULL), anything
 * else is a Redis command ("ZADD timers:sync 123 ABC123"). Failures are logged, not
 * returned. */
void exec_followup(struct store *st, struct publisher *pub, const char *command);

void exec_result_free(struct exec_result *r);

/* Milliseconds since the epoch on the server's clock. */
long long exec_now_ms(void);

#endif
