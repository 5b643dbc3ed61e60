/* Rooms and members: create, read, join (and rejoin), leave, promote, demote, kick (and ban),
 * rename. The work happens
 * atomically in the Lua scripts; this file validates input and handles tokens, which never
 * reach Redis or a script in clear. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "config.h"
#include "log.h"

#define ROOMS_CREATE_ATTEMPTS 8

/* Answers status with the script's body and the caller's token added as its first field: the
 * token goes to its owner only, and only in this answer. The room's event channel comes with
 * it, for GET /api/rooms/{id}/events/{channel}. */
static void rooms_reply_with_token(struct api_ctx *c, int status, const struct exec_result *r)
{
    struct buf b = {0};

    buf_printf(&b, "{\"token\":\"%s\",\"channel\":\"%s\",", c->token, r->channel);
    buf_append(&b, r->body + 1, r->body_len - 1);
    http_reply(c->req, status, b.data, b.len);
    buf_free(&b);
}

/* Draws a fresh user id and token into c. */
static enum wnc_err rooms_new_identity(struct api_ctx *c, char user_id[USER_ID_LEN + 1])
{
    enum wnc_err e;

    if ((e = ids_user(user_id)) != E_OK || (e = ids_token(c->room_id, c->token)) != E_OK)
        return e;
    sha256_hex(c->token, strlen(c->token), c->token_digest);
    return E_OK;
}

void rooms_create(struct api_ctx *c)
{
    const struct api_value *host = api_value(c, "hostName");
    char user_id[USER_ID_LEN + 1];
    struct exec_result r;
    enum wnc_err e = E_ROOM_EXISTS;

    /* 36^6 ids: collisions are rare but possible; the script refuses an id in use. */
    for (int attempt = 0; attempt < ROOMS_CREATE_ATTEMPTS && e == E_ROOM_EXISTS; attempt++) {
        const char *args[] = {user_id, host->name, host->name_key, c->req->limit_key};
        if ((e = ids_room(c->room_id)) != E_OK || (e = rooms_new_identity(c, user_id)) != E_OK)
            break;
        e = exec_room(c->w->store, c->w->pub, SCRIPT_CREATE, c->room_id, c->token_digest, 4, args,
                      NULL, &r);
    }
    if (e != E_OK) {
        http_reply_error(c->req, e, e == E_NAME_TAKEN ? "hostName" : NULL, NULL);
        return;
    }
    log_info("room %s created", c->room_id);
    rooms_reply_with_token(c, r.status, &r);
    exec_result_free(&r);
}

void rooms_get(struct api_ctx *c)
{
    api_run_and_reply(c, *c->token_digest ? SCRIPT_STATE : SCRIPT_SUMMARY, 0, NULL, NULL);
}

void rooms_join(struct api_ctx *c)
{
    const struct api_value *name = api_value(c, "userName"), *pw = api_value(c, "password");
    char user_id[USER_ID_LEN + 1], max[16], hash[PASSWORD_HASH_LEN] = "";
    struct exec_result r;
    enum wnc_err e;

    /* A member reloading the page rejoins with its token and stays the same user. */
    if (*c->token_digest) {
        e = exec_room(c->w->store, c->w->pub, SCRIPT_STATE, c->room_id, c->token_digest, 0, NULL,
                      NULL, &r);
        if (e == E_OK) {
            rooms_reply_with_token(c, 200, &r);
            exec_result_free(&r);
            return;
        }
        if (e != E_UNAUTHORIZED) {
            http_reply_error(c->req, e, NULL, NULL);
            return;
        }
        /* A revoked or expired token: join afresh below. */
    }
    if (!name->present) {
        http_reply_error(c->req, E_MISSING_FIELD, "userName", "this field is required");
        return;
    }
    /* Without a password, join.lua refuses a room that has one (password_required). */
    if (pw->present && access_check_password(c, pw, hash) != 0)
        return;
    if ((e = rooms_new_identity(c, user_id)) != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return;
    }
    snprintf(max, sizeof(max), "%d", config.max_users);
    const char *args[] = {user_id, name->name, name->name_key, max, c->req->limit_key, hash};
    e = exec_room(c->w->store, c->w->pub, SCRIPT_JOIN, c->room_id, c->token_digest, 6, args, NULL,
                  &r);
    if (e != E_OK) {
        http_reply_error(c->req, e, api_error_field(e), NULL);
        return;
    }
    rooms_reply_with_token(c, r.status, &r);
    exec_result_free(&r);
}

void rooms_leave(struct api_ctx *c)
{
    api_run_and_reply(c, SCRIPT_LEAVE, 0, NULL, NULL);
}

void rooms_promote(struct api_ctx *c)
{
    const char *args[] = {c->user_id};
    api_run_and_reply(c, SCRIPT_PROMOTE, 1, args, NULL);
}

void rooms_demote(struct api_ctx *c)
{
    const char *args[] = {c->user_id};
    api_run_and_reply(c, SCRIPT_DEMOTE, 1, args, NULL);
}

/* A kick with {"ban": true} also bans the member's address (kick.lua). */
void rooms_kick(struct api_ctx *c)
{
    const struct api_value *ban = api_value(c, "ban");
    const char *args[] = {c->user_id, ban->present && ban->boolean ? "ban" : ""};
    api_run_and_reply(c, SCRIPT_KICK, 2, args, NULL);
}

void rooms_rename(struct api_ctx *c)
{
    const struct api_value *name = api_value(c, "userName");
    const char *args[] = {name->name, name->name_key};
    api_run_and_reply(c, SCRIPT_RENAME, 2, args, NULL);
}
