/* Realtime subscriptions. GET /api/rooms/{id}/events checks the token and hands the request to
 * nchan with X-Accel-Redirect; nchan then calls the hooks when a WebSocket or EventSource
 * subscription opens and closes, which count the member's connections (presence) and the
 * client address's open subscriptions (the per-IP limit). nchan fires no hooks for long-poll,
 * so each poll itself counts as a sign of life (presence.lua with delta 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "valid.h"

#define EVENTS_SUBS_KEY_TTL_S 86400 /* a counter left by a crash fades within a day */

void events_subscribe(struct api_ctx *c)
{
    char redirect[200], key[80];
    const char *argv[] = {"GET", key};
    struct store_reply r;
    struct exec_result res;
    enum wnc_err e;
    long open = 0;
    int long_poll;

    e = exec_room(c->w->store, c->w->pub, SCRIPT_SUBSCRIBE, c->room_id, c->token_digest, 0, NULL,
                  NULL, &res);
    if (e != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return;
    }
    snprintf(key, sizeof(key), "subs:{%.45s}", c->req->remote_addr);
    if ((e = store_command(c->w->store, 2, argv, NULL, &r)) == E_OK) {
        open = r.n == 1 && r.items[0] ? atol(r.items[0]) : 0;
        store_reply_free(&r);
    }
    if (e != E_OK || open >= config.max_subs_per_ip) {
        exec_result_free(&res);
        http_reply_error(c->req, e != E_OK ? e : E_TOO_MANY_SUBSCRIPTIONS, NULL, NULL);
        return;
    }
    long_poll = *c->req->upgrade == '\0' && strstr(c->req->accept, "text/event-stream") == NULL;
    if (long_poll) {
        const char *args[] = {res.body, "0", res.channel};
        struct exec_result poll;
        if (exec_room(c->w->store, c->w->pub, SCRIPT_PRESENCE, c->room_id, "", 3, args, NULL,
                      &poll) == E_OK)
            exec_result_free(&poll);
    }
    /* The user id and address come from the server, never from the client. */
    snprintf(redirect, sizeof(redirect), "/_wnc/%s/%s?room=%s&user=%s&ip=%.45s",
             long_poll ? "poll" : "sub", res.channel, c->room_id, res.body, c->req->remote_addr);
    exec_result_free(&res);
    http_add_header(c->req, "X-Accel-Redirect", redirect);
    http_add_header(c->req, "X-Accel-Buffering", "no");
    http_reply(c->req, 200, "", 0);
}

/* Both hooks: +1 or -1 connection for the member and the address. */
static void events_hook(struct api_ctx *c, int delta)
{
    char room[16], user[48], channel[32], ip[64], key[80], ttl[16];
    struct exec_result r;

    if (!http_query_param(c->req, "room", room, sizeof(room)) ||
        valid_room_id(room, c->room_id) != E_OK ||
        !http_query_param(c->req, "user", user, sizeof(user)) ||
        valid_user_id(user, c->user_id) != E_OK ||
        !http_query_param(c->req, "channel", channel, sizeof(channel))) {
        http_reply_error(c->req, E_INVALID_FIELD, NULL, NULL);
        return;
    }
    if (http_query_param(c->req, "ip", ip, sizeof(ip)) && *ip) {
        snprintf(key, sizeof(key), "subs:{%s}", ip);
        const char *incr[] = {delta > 0 ? "INCR" : "DECR", key};
        snprintf(ttl, sizeof(ttl), "%d", EVENTS_SUBS_KEY_TTL_S);
        const char *expire[] = {"EXPIRE", key, ttl};
        store_command(c->w->store, 2, incr, NULL, NULL);
        if (delta > 0) /* a new subscription refreshes the counter's lifetime; a close need not */
            store_command(c->w->store, 3, expire, NULL, NULL);
    }
    const char *args[] = {c->user_id, delta > 0 ? "1" : "-1", channel};
    if (exec_room(c->w->store, c->w->pub, SCRIPT_PRESENCE, c->room_id, "", 3, args, NULL, &r) ==
        E_OK)
        exec_result_free(&r);
    http_reply(c->req, 204, "", 0);
}

void events_hook_sub(struct api_ctx *c)
{
    events_hook(c, 1);
}

void events_hook_unsub(struct api_ctx *c)
{
    events_hook(c, -1);
}
