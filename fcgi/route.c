#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "valid.h"

#define ROUTE_MAX_FIELDS 2

enum route_flags {
    ROUTE_TOKEN = 1 << 0,          /* a bearer token for the room is required */
    ROUTE_TOKEN_OPTIONAL = 1 << 1, /* a token is used when present */
    ROUTE_BODY = 1 << 2,           /* a JSON object body is required */
    ROUTE_BODY_OPTIONAL = 1 << 3,  /* a JSON object body is read when present */
    ROUTE_NO_RATELIMIT = 1 << 4,
};

struct route {
    const char *method;
    const char *pattern; /* literal segments, {room} and {user} */
    void (*handler)(struct api_ctx *c);
    unsigned flags;
    const char *fields[ROUTE_MAX_FIELDS + 1]; /* body fields it takes, NULL-terminated */
};

/* clang-format off: one row per route reads better than one field per line. */
static const struct route routes[] = {
    {"GET", "/health", health_get, ROUTE_NO_RATELIMIT, {NULL}},
    {"GET", "/api/time", time_get, 0, {NULL}},
    {"POST", "/api/rooms", rooms_create, ROUTE_BODY, {"hostName", NULL}},
    {"GET", "/api/rooms/{room}", rooms_get, ROUTE_TOKEN_OPTIONAL, {NULL}},
    {"POST",
     "/api/rooms/{room}/join",
     rooms_join,
     ROUTE_TOKEN_OPTIONAL | ROUTE_BODY_OPTIONAL,
     {"userName", NULL}},
    {"POST", "/api/rooms/{room}/leave", rooms_leave, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, {NULL}},
    {"POST",
     "/api/rooms/{room}/users/{user}/promote",
     rooms_promote,
     ROUTE_TOKEN | ROUTE_BODY_OPTIONAL,
     {NULL}},
    {"POST",
     "/api/rooms/{room}/users/{user}/kick",
     rooms_kick,
     ROUTE_TOKEN | ROUTE_BODY_OPTIONAL,
     {NULL}},
    {"GET", "/api/rooms/{room}/chat", chat_get, ROUTE_TOKEN, {NULL}},
    {"POST", "/api/rooms/{room}/chat", chat_post, ROUTE_TOKEN | ROUTE_BODY, {"text", NULL}},
    {"POST", "/api/rooms/{room}/typing", chat_typing, ROUTE_TOKEN | ROUTE_BODY, {"typing", NULL}},
    {"PUT", "/api/rooms/{room}/video", video_set, ROUTE_TOKEN | ROUTE_BODY, {"url", NULL}},
    {"POST",
     "/api/rooms/{room}/video/play",
     video_play,
     ROUTE_TOKEN | ROUTE_BODY,
     {"position", NULL}},
    {"POST",
     "/api/rooms/{room}/video/pause",
     video_pause,
     ROUTE_TOKEN | ROUTE_BODY,
     {"position", NULL}},
    {"POST",
     "/api/rooms/{room}/video/seek",
     video_seek,
     ROUTE_TOKEN | ROUTE_BODY,
     {"position", NULL}},
    {"POST", "/api/rooms/{room}/video/rate", video_rate, ROUTE_TOKEN | ROUTE_BODY, {"rate", NULL}},
    {"POST",
     "/api/rooms/{room}/events/ticket",
     events_ticket,
     ROUTE_TOKEN | ROUTE_BODY_OPTIONAL,
     {NULL}},
    /* A ticket (?ticket=) or a Bearer header: the handler decides (never ?token=). */
    {"GET", "/api/rooms/{room}/events", events_subscribe, ROUTE_TOKEN_OPTIONAL, {NULL}},
    /* nchan's subscribe/unsubscribe hooks: nginx only reaches these from `internal`
     * locations, never from a client. */
    {"POST", "/_wnc/hook/sub", events_hook_sub, ROUTE_NO_RATELIMIT, {NULL}},
    {"POST", "/_wnc/hook/unsub", events_hook_unsub, ROUTE_NO_RATELIMIT, {NULL}},
};
/* clang-format on */

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

/* Matches path against pattern, capturing {room} and {user} raw (validated later). */
static int route_match(const char *pattern, const char *path, char *room, size_t room_size,
                       char *user, size_t user_size)
{
    while (*pattern != '\0' && *path != '\0') {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            const char *seg_end = strchr(path, '/');
            size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);
            int is_room = strncmp(pattern, "{room}", 6) == 0;
            char *out = is_room ? room : user;
            size_t size = is_room ? room_size : user_size;
            if (len == 0 || len >= size)
                return 0;
            memcpy(out, path, len);
            out[len] = '\0';
            pattern = close + 1;
            path += len;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++, path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* Per-IP fixed window. Returns 0 to go on, or -1 after answering 429 (or 503). */
static int route_ratelimit_or_reply(struct api_ctx *c)
{
    const struct http_request *req = c->req;
    char key[80], window[16], value[32];
    const char *keys[] = {key}, *args[] = {"0", window};
    struct store_reply r;
    enum wnc_err e;
    long count, ttl;

    snprintf(key, sizeof(key), "rl:{%s}", req->limit_key);
    snprintf(window, sizeof(window), "%d", config.rate_window_s);
    e = store_eval(c->w->store, SCRIPT_RATELIMIT, 1, keys, 2, args, NULL, &r);
    if (e != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return -1;
    }
    count = r.n == 2 && r.items[0] ? atol(r.items[0]) : 0;
    ttl = r.n == 2 && r.items[1] ? atol(r.items[1]) : config.rate_window_s;
    store_reply_free(&r);
    snprintf(value, sizeof(value), "%d", config.rate_limit);
    http_add_header(c->req, "X-RateLimit-Limit", value);
    snprintf(value, sizeof(value), "%ld",
             count >= config.rate_limit ? 0 : config.rate_limit - count);
    http_add_header(c->req, "X-RateLimit-Remaining", value);
    if (count > config.rate_limit) {
        snprintf(value, sizeof(value), "%ld", ttl > 0 ? ttl : 1);
        http_add_header(c->req, "Retry-After", value);
        http_reply_error(c->req, E_RATE_LIMITED, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Finds the token (Authorization: Bearer; never the URL) and checks its form and
 * room. Returns 0 to go on, or -1 after answering 401/403. */
static int route_token_or_reply(struct api_ctx *c, const struct route *route)
{
    const char *auth = c->req->authorization;
    enum wnc_err e;

    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        if (strlen(auth + 7) > TOKEN_LEN) {
            http_reply_error(c->req, E_UNAUTHORIZED, NULL, NULL);
            return -1;
        }
        strcpy(c->token, auth + 7);
    } else if (*auth != '\0') {
        http_reply_error(c->req, E_UNAUTHORIZED, NULL, "use Authorization: Bearer <token>");
        return -1;
    } else {
        if (route->flags & ROUTE_TOKEN) {
            http_reply_error(c->req, E_UNAUTHORIZED, NULL, NULL);
            return -1;
        }
        return 0;
    }
    if ((e = valid_token(c->token, c->room_id)) != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return -1;
    }
    sha256_hex(c->token, strlen(c->token), c->token_digest);
    return 0;
}

/* Reads and parses the JSON body the route takes. Returns 0 to go on, or -1 after answering
 * 400/413/415. */
static int route_body_or_reply(struct api_ctx *c, const struct route *route)
{
    struct http_request *req = c->req;
    const char *ct = req->content_type, *field = NULL;
    enum wnc_err e;

    if ((e = http_read_body(req)) != E_OK) {
        http_reply_error(req, e, NULL, NULL);
        return -1;
    }
    if (req->body_len == 0) {
        if (route->flags & ROUTE_BODY) {
            http_reply_error(req, E_INVALID_JSON, NULL, "a JSON object body is required");
            return -1;
        }
        return 0;
    }
    /* application/json, optionally with parameters such as charset=utf-8. */
    if (strncasecmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';')) {
        http_reply_error(req, E_UNSUPPORTED_MEDIA_TYPE, NULL, NULL);
        return -1;
    }
    if ((e = jx_parse_object(req->body, req->body_len, &c->body)) != E_OK) {
        http_reply_error(req, e, NULL, NULL);
        return -1;
    }
    if ((e = jx_only_fields(c->body, route->fields, &field)) != E_OK) {
        http_reply_error(req, e, field, NULL);
        return -1;
    }
    return 0;
}

void route_dispatch(struct http_request *req, struct worker *w)
{
    struct api_ctx c;
    const struct route *route = NULL;
    char room[16] = "", user[48] = "", allow[64] = "";
    enum wnc_err e;

    memset(&c, 0, sizeof(c));
    c.req = req;
    c.w = w;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!route_match(routes[i].pattern, req->path, room, sizeof(room), user, sizeof(user)))
            continue;
        if (strcmp(routes[i].method, req->method) == 0) {
            route = &routes[i];
            break;
        }
        if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof(allow)) {
            if (*allow)
                strcat(allow, ", ");
            strcat(allow, routes[i].method);
        }
    }
    if (route == NULL) {
        if (*allow) {
            http_add_header(req, "Allow", allow);
            http_reply_error(req, E_METHOD_NOT_ALLOWED, NULL, NULL);
        } else {
            http_reply_error(req, E_NOT_FOUND, NULL, NULL);
        }
        return;
    }
    if (strstr(route->pattern, "{room}") && (e = valid_room_id(room, c.room_id)) != E_OK) {
        http_reply_error(req, e, "roomId", NULL);
        return;
    }
    if (strstr(route->pattern, "{user}") && (e = valid_user_id(user, c.user_id)) != E_OK) {
        http_reply_error(req, e, "userId", NULL);
        return;
    }
    if (!(route->flags & ROUTE_NO_RATELIMIT) && route_ratelimit_or_reply(&c) != 0)
        return;
    if ((route->flags & (ROUTE_TOKEN | ROUTE_TOKEN_OPTIONAL)) &&
        route_token_or_reply(&c, route) != 0)
        return;
    if ((route->flags & (ROUTE_BODY | ROUTE_BODY_OPTIONAL)) && route_body_or_reply(&c, route) != 0)
        goto done;
    route->handler(&c);
done:
    jx_free(c.body);
}
