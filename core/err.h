/* The one error type. Every fallible function returns an enum wnc_err; E_OK is zero. The table
 * in err.c gives each value its HTTP status, stable code word and default message; http.c turns
 * one into the JSON error response. Details (errno, hiredis messages, offending values) go to the
 * log, never to the client. */
#ifndef WNC_ERR_H
#define WNC_ERR_H

/* The longest code word err_from_code is asked about; the table's are far shorter. */
#define ERR_CODE_MAX 63

enum wnc_err {
    E_OK = 0,
    E_INVALID_JSON,
    E_INVALID_FIELD,
    E_MISSING_FIELD,
    E_UNKNOWN_FIELD,
    E_TOKEN_IN_URL,
    E_RESUME_ID,
    E_INVALID_ROOM_ID,
    E_INVALID_USER_ID,
    E_UNAUTHORIZED,
    E_FORBIDDEN,
    E_NOT_HOST,
    E_ROOM_LOCKED,
    E_PASSWORD_REQUIRED,
    E_WRONG_PASSWORD,
    E_BANNED,
    E_MUTED,
    E_NOT_FOUND,
    E_ROOM_NOT_FOUND,
    E_USER_NOT_FOUND,
    E_MESSAGE_NOT_FOUND,
    E_BAN_NOT_FOUND,
    E_ITEM_NOT_FOUND,
    E_METHOD_NOT_ALLOWED,
    E_NAME_TAKEN,
    E_ROOM_FULL,
    E_NO_VIDEO,
    E_CHANNEL_MOVED,
    E_LAST_HOST,
    E_TARGET_IS_HOST,
    E_QUEUE_FULL,
    E_QUEUE_EMPTY,
    E_NOT_SUPPORTED,
    E_BODY_TOO_LARGE,
    E_UNSUPPORTED_MEDIA_TYPE,
    E_RATE_LIMITED,
    E_TOO_MANY_ATTEMPTS,
    E_TOO_MANY_SUBSCRIPTIONS,
    E_ROOM_EXISTS, /* internal: id collision on create, retried */
    E_REDIS_UNAVAILABLE,
    E_INTERNAL,
    E_ERR__MAX
};

int err_status(enum wnc_err e);
const char *err_code(enum wnc_err e);
const char *err_message(enum wnc_err e);

/* Maps a stable code word (as Lua scripts return them) back to the enum; E_INTERNAL when
 * unknown. */
enum wnc_err err_from_code(const char *code);

#endif
