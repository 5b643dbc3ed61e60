#include "err.h"

#include <string.h>

static const struct {
    int status;
    const char *code;
    const char *message;
} err_table[E_ERR__MAX] = {
    [E_OK] = {200, "ok", "ok"},
    [E_INVALID_JSON] = {400, "invalid_json", "the request body is not valid JSON"},
    [E_INVALID_FIELD] = {400, "invalid_field", "a field has an invalid value"},
    [E_MISSING_FIELD] = {400, "missing_field", "a required field is missing"},
    [E_UNKNOWN_FIELD] = {400, "unknown_field", "the request has a field this route does not take"},
    [E_TOKEN_IN_URL] = {400, "token_in_url",
                        "tokens never go in URLs: get a ticket from POST "
                        "/api/rooms/{id}/events/ticket and subscribe with ?ticket="},
    [E_RESUME_ID] = {400, "resume_not_supported",
                     "resume ids (If-None-Match, If-Modified-Since, Last-Event-ID, last_event_id) "
                     "are not accepted: fetch the room state instead"},
    [E_INVALID_ROOM_ID] = {400, "invalid_room_id", "room codes are 6 letters or digits"},
    [E_INVALID_USER_ID] = {400, "invalid_user_id", "user ids are UUIDs"},
    [E_UNAUTHORIZED] = {401, "unauthorized", "a valid token for this room is required"},
    [E_FORBIDDEN] = {403, "forbidden", "this token does not belong to this room"},
    [E_NOT_HOST] = {403, "not_host", "only hosts can do this"},
    [E_ROOM_LOCKED] = {403, "room_locked", "this room is locked: nobody new may join"},
    [E_PASSWORD_REQUIRED] = {401, "password_required", "this room needs a password to join"},
    [E_WRONG_PASSWORD] = {403, "wrong_password", "that is not the room's password"},
    [E_BANNED] = {403, "banned", "you are banned from this room"},
    [E_MUTED] = {403, "muted", "a host has muted you"},
    [E_NOT_FOUND] = {404, "not_found", "no such route"},
    [E_ROOM_NOT_FOUND] = {404, "room_not_found", "no such room"},
    [E_USER_NOT_FOUND] = {404, "user_not_found", "no such user in this room"},
    [E_MESSAGE_NOT_FOUND] = {404, "message_not_found", "no such message in this room's history"},
    [E_BAN_NOT_FOUND] = {404, "ban_not_found", "no such ban in this room"},
    [E_ITEM_NOT_FOUND] = {404, "item_not_found", "no such item in this room's queue"},
    [E_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "this route does not take that method"},
    [E_NAME_TAKEN] = {409, "name_taken", "that name is already taken in this room"},
    [E_ROOM_FULL] = {409, "room_full", "this room is full"},
    [E_NO_VIDEO] = {409, "no_video", "no video has been set in this room"},
    [E_CHANNEL_MOVED] = {409, "channel_moved",
                         "the room's events moved to another channel: get a new ticket, which "
                         "names it"},
    [E_LAST_HOST] = {409, "last_host", "the room must keep at least one host"},
    [E_TARGET_IS_HOST] = {409, "target_is_host", "hosts cannot be muted"},
    [E_QUEUE_FULL] = {409, "queue_full", "the queue holds 100 videos at most"},
    [E_QUEUE_EMPTY] = {409, "queue_empty", "the queue is empty"},
    [E_NOT_SUPPORTED] = {409, "not_supported", "this video does not support that"},
    [E_BODY_TOO_LARGE] = {413, "body_too_large", "request body too large"},
    [E_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type",
                                  "the request body must be application/json"},
    [E_RATE_LIMITED] = {429, "rate_limited", "too many requests, slow down"},
    [E_TOO_MANY_ATTEMPTS] = {429, "rate_limited", "too many wrong passwords from your address"},
    [E_TOO_MANY_SUBSCRIPTIONS] = {429, "rate_limited", "too many open event streams"},
    [E_ROOM_EXISTS] = {503, "room_exists", "could not allocate a room id"},
    [E_REDIS_UNAVAILABLE] = {503, "redis_unavailable", "the data store is unavailable"},
    [E_INTERNAL] = {500, "internal", "internal error"},
};

int err_status(enum wnc_err e)
{
    return e >= 0 && e < E_ERR__MAX ? err_table[e].status : 500;
}

const char *err_code(enum wnc_err e)
{
    return e >= 0 && e < E_ERR__MAX ? err_table[e].code : "internal";
}

const char *err_message(enum wnc_err e)
{
    return e >= 0 && e < E_ERR__MAX ? err_table[e].message : "internal error";
}

enum wnc_err err_from_code(const char *code)
{
    for (int i = 1; i < E_ERR__MAX; i++)
        if (strcmp(err_table[i].code, code) == 0)
            return (enum wnc_err)i;
    return E_INTERNAL;
}
