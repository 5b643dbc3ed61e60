/* What route handlers share: the per-request context the dispatcher fills in after the route
 * table's checks, and the handlers themselves (one file per concept). A handler reads only
 * validated values from the context and always replies. */
#ifndef WNC_API_H
#define WNC_API_H

#include "exec.h"
#include "http.h"
#include "ids.h"
#include "jsonx.h"
#include "password.h"
#include "sha256.h"
#include "valid.h"

struct store;
struct publisher;

/* What a serving thread uses: its own Redis connection, and the process's shared (queued,
 * thread-safe) publisher. */
struct worker {
    struct store *store;
    struct publisher *pub;
};

#define API_MAX_FIELDS 5 /* body fields a route takes, at most */

/* API_NULLABLE_STRING: a string, or null (present, with is_null set: "remove it"). */
enum api_type { API_STRING = 1, API_NUMBER, API_BOOL, API_NULLABLE_STRING };

/* A body field once the dispatcher has checked it against its rule: what handlers read. */
struct api_value {
    int present;      /* 0: an optional field the body lacks */
    int is_null;      /* API_NULLABLE_STRING: the body says null */
    const char *text; /* API_STRING: the value, as the validator leaves it (trimmed chat text) */
    size_t len;
    double number; /* API_NUMBER */
    int boolean;   /* API_BOOL */
    /* What validators derive: a name and its uniqueness key, a video URL's kind. */
    char name[NAME_MAX_CHARS + 1], name_key[NAME_MAX_CHARS + 1];
    struct video_url video;
};

/* One body field a route takes (kcgi's struct kvalid): its name and JSON type, the validator
 * that checks it and fills in what it derives (NULL: the type is enough), and whether the body
 * must have it. A row's list ends with a NULL name. */
struct api_field {
    const char *name;
    enum api_type type;
    enum wnc_err (*check)(struct api_value *v, const char **cause);
    int required;
};

struct api_ctx {
    struct http_request *req;
    struct worker *w;
    char room_id[ROOM_ID_LEN + 1];        /* from the path, when the route has {room} */
    char user_id[USER_ID_LEN + 1];        /* from the path, when the route has {user} */
    char item_id[ITEM_ID_MAX_DIGITS + 1]; /* {message}, {ban} or {item}: a positive integer */
    int retry_after_s;         /* a per-member limit's Retry-After when not the usual window (0) */
    char token[TOKEN_LEN + 1]; /* the bearer token, "" when none */
    char token_digest[SHA256_HEX_LEN + 1];   /* its SHA-256, "" when none */
    struct jx_body *body;                    /* parsed JSON body, when the route takes one */
    const struct api_field *fields;          /* the route's body fields */
    struct api_value values[API_MAX_FIELDS]; /* their checked values, in the same order */
};

/* The checked value of the route's body field name (a name the route's row lists). */
const struct api_value *api_value(const struct api_ctx *c, const char *name);

/* The body field a room script's error is about, for the error's "field" (NULL: none):
 * userName for name_taken, password for password_required and wrong_password. */
const char *api_error_field(enum wnc_err e);

/* The per-address fixed window's verdict on a request, from the reply r of the script that
 * counted it: the request's number in the window and the seconds left are its items at and
 * at + 1, the last two (sql/lib.lua count_request). Sets X-RateLimit-Limit and -Remaining, and
 * past the limit answers 429 with Retry-After. Returns 0 to go on, or -1 after answering. */
int api_ratelimit_or_reply(struct api_ctx *c, const struct store_reply *r, size_t at);

/* Runs a room script for the request's room and token. Returns 0 with *out filled (free it with
 * exec_result_free), or -1 after answering the error (429 with Retry-After, 503, ...). */
int api_run_or_reply(struct api_ctx *c, enum script_id script, int nargs, const char **args,
                     const size_t *lens, struct exec_result *out);

/* Runs a room script and answers with its status and body; errors become JSON errors. */
void api_run_and_reply(struct api_ctx *c, enum script_id script, int nargs, const char **args,
                       const size_t *lens);

/* health.c */
void health_get(struct api_ctx *c);
void time_get(struct api_ctx *c);

/* rooms.c */
void rooms_create(struct api_ctx *c);
void rooms_get(struct api_ctx *c);
void rooms_join(struct api_ctx *c);
void rooms_leave(struct api_ctx *c);
void rooms_promote(struct api_ctx *c);
void rooms_kick(struct api_ctx *c);
void rooms_demote(struct api_ctx *c);
void rooms_rename(struct api_ctx *c);

/* access.c: who may join and what guests may do */
void access_settings(struct api_ctx *c);
/* A join's password against the room's (password_gate.lua counts the attempt first). Returns
 * 0 with the hash it matched in hash ("" when the room has none), or -1 after answering:
 * 403 wrong_password, 429 with Retry-After, or the gate's refusal (banned, room_locked...). */
int access_check_password(struct api_ctx *c, const struct api_value *password,
                          char hash[PASSWORD_HASH_LEN]);

/* moderation.c */
void moderation_mute(struct api_ctx *c);
void moderation_bans(struct api_ctx *c);
void moderation_unban(struct api_ctx *c);

/* chat.c */
void chat_get(struct api_ctx *c);
void chat_post(struct api_ctx *c);
void chat_typing(struct api_ctx *c);
void chat_delete(struct api_ctx *c);

/* video.c */
/* "file", "hls" or "youtube", as scripts and clients name the kinds. */
const char *video_kind_name(enum video_kind kind);
void video_set(struct api_ctx *c);
void video_play(struct api_ctx *c);
void video_pause(struct api_ctx *c);
void video_seek(struct api_ctx *c);
void video_rate(struct api_ctx *c);
void video_buffering(struct api_ctx *c);

/* queue.c */
void queue_add(struct api_ctx *c);
void queue_remove(struct api_ctx *c);
void queue_move(struct api_ctx *c);
void queue_next(struct api_ctx *c);
void queue_ended(struct api_ctx *c);

/* subtitles.c */
void subtitles_set(struct api_ctx *c);
void subtitles_clear(struct api_ctx *c);

/* reactions.c */
void reactions_post(struct api_ctx *c);

/* events.c */
enum events_transport { EVENTS_WEBSOCKET, EVENTS_EVENTSOURCE, EVENTS_LONGPOLL, EVENTS__MAX };
void events_ticket(struct api_ctx *c);
void events_subscribe(struct api_ctx *c);
void events_authorize(struct api_ctx *c);
/* The transport nchan will serve: WebSocket only for a genuine handshake (Upgrade: websocket
 * and Connection listing upgrade), EventSource for an event-stream Accept without Upgrade,
 * long-poll for anything else. */
enum events_transport events_transport_of(const char *upgrade, const char *connection,
                                          const char *accept);
/* Whether the request carries a resume id in any form nchan would read. */
int events_has_resume_id(const struct http_request *req);
/* How long a long-poll waits (s): half the grace period, at least 1. */
int events_poll_timeout_s(void);
void events_hook_sub(struct api_ctx *c);
void events_hook_unsub(struct api_ctx *c);

#endif
