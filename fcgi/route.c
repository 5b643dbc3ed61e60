#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "valid.h"

/* The field validators: valid.c's checks, adapted to struct api_value. */
static enum wnc_err field_name(struct api_value *v, const char **cause)
{
    return valid_name(v->text, v->len, v->name, v->name_key, cause);
}

static enum wnc_err field_chat_text(struct api_value *v, const char **cause)
{
    return valid_chat_text(v->text, v->len, &v->text, &v->len, cause);
}

static enum wnc_err field_video_url(struct api_value *v, const char **cause)
{
    return valid_video_url(v->text, v->len, &v->video, cause);
}

static enum wnc_err field_position(struct api_value *v, const char **cause)
{
    return valid_position(v->number, cause);
}

static enum wnc_err field_rate(struct api_value *v, const char **cause)
{
    return valid_rate(v->number, cause);
}

/* A room password (null, where a route allows it, is checked by the type alone). */
static enum wnc_err field_password(struct api_value *v, const char **cause)
{
    return v->is_null ? E_OK : valid_password(v->text, v->len, cause);
}

static enum wnc_err field_mute_minutes(struct api_value *v, const char **cause)
{
    return valid_mute_minutes(v->number, cause);
}

static enum wnc_err field_http_url(struct api_value *v, const char **cause)
{
    return valid_http_url(v->text, v->len, cause);
}

static enum wnc_err field_subtitle_label(struct api_value *v, const char **cause)
{
    return valid_subtitle_label(v->text, v->len, &v->text, &v->len, cause);
}

static enum wnc_err field_lang(struct api_value *v, const char **cause)
{
    return valid_lang(v->text, v->len, cause);
}

static enum wnc_err field_emoji(struct api_value *v, const char **cause)
{
    return valid_emoji(v->text, v->len, cause);
}

static enum wnc_err field_queue_index(struct api_value *v, const char **cause)
{
    return valid_queue_index(v->number, cause);
}

/* One row per route reads better than one field per line. */
/* clang-format off */
#define REQUIRED 1
#define OPTIONAL 0
#define NO_FIELDS {{.name = NULL}}
#define POSITION_FIELD {"position", API_NUMBER, field_position, REQUIRED}
#define POSITION {POSITION_FIELD}
#define FLAG(name) {name, API_BOOL, NULL, OPTIONAL}
static const struct route routes[] = {
    {"GET", "/health", health_get, ROUTE_NO_RATELIMIT, NO_FIELDS},
    {"GET", "/api/time", time_get, 0, NO_FIELDS},
    {"POST", "/api/rooms", rooms_create, ROUTE_BODY, {{"hostName", API_STRING, field_name, REQUIRED}}},
    {"GET", "/api/rooms/{room}", rooms_get, ROUTE_TOKEN_OPTIONAL, NO_FIELDS},
    /* userName is optional here: a member rejoining with its token needs none. */
    {"POST", "/api/rooms/{room}/join", rooms_join, ROUTE_TOKEN_OPTIONAL | ROUTE_BODY_OPTIONAL, {{"userName", API_STRING, field_name, OPTIONAL}, {"password", API_STRING, field_password, OPTIONAL}}},
    {"PATCH", "/api/rooms/{room}/settings", access_settings, ROUTE_TOKEN | ROUTE_BODY, {FLAG("locked"), {"password", API_NULLABLE_STRING, field_password, OPTIONAL}, FLAG("guestsCanControl"), FLAG("guestsCanChangeVideo"), FLAG("waitForAll")}},
    {"POST", "/api/rooms/{room}/leave", rooms_leave, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    {"POST", "/api/rooms/{room}/users/{user}/promote", rooms_promote, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    {"POST", "/api/rooms/{room}/users/{user}/kick", rooms_kick, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, {FLAG("ban")}},
    {"POST", "/api/rooms/{room}/users/{user}/demote", rooms_demote, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    {"POST", "/api/rooms/{room}/users/{user}/mute", moderation_mute, ROUTE_TOKEN | ROUTE_BODY, {{"muted", API_BOOL, NULL, REQUIRED}, {"minutes", API_NUMBER, field_mute_minutes, OPTIONAL}}},
    {"PATCH", "/api/rooms/{room}/users/me", rooms_rename, ROUTE_TOKEN | ROUTE_BODY, {{"userName", API_STRING, field_name, REQUIRED}}},
    {"GET", "/api/rooms/{room}/bans", moderation_bans, ROUTE_TOKEN, NO_FIELDS},
    {"DELETE", "/api/rooms/{room}/bans/{ban}", moderation_unban, ROUTE_TOKEN, NO_FIELDS},
    {"GET", "/api/rooms/{room}/chat", chat_get, ROUTE_TOKEN, NO_FIELDS},
    {"POST", "/api/rooms/{room}/chat", chat_post, ROUTE_TOKEN | ROUTE_BODY, {{"text", API_STRING, field_chat_text, REQUIRED}}},
    {"DELETE", "/api/rooms/{room}/chat/{message}", chat_delete, ROUTE_TOKEN, NO_FIELDS},
    {"POST", "/api/rooms/{room}/typing", chat_typing, ROUTE_TOKEN | ROUTE_BODY, {{"typing", API_BOOL, NULL, REQUIRED}}},
    {"PUT", "/api/rooms/{room}/video", video_set, ROUTE_TOKEN | ROUTE_BODY, {{"url", API_STRING, field_video_url, REQUIRED}}},
    {"POST", "/api/rooms/{room}/video/play", video_play, ROUTE_TOKEN | ROUTE_BODY, POSITION},
    {"POST", "/api/rooms/{room}/video/pause", video_pause, ROUTE_TOKEN | ROUTE_BODY, POSITION},
    {"POST", "/api/rooms/{room}/video/seek", video_seek, ROUTE_TOKEN | ROUTE_BODY, POSITION},
    {"POST", "/api/rooms/{room}/video/rate", video_rate, ROUTE_TOKEN | ROUTE_BODY, {{"rate", API_NUMBER, field_rate, REQUIRED}}},
    {"POST", "/api/rooms/{room}/video/next", queue_next, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    {"POST", "/api/rooms/{room}/video/ended", queue_ended, ROUTE_TOKEN | ROUTE_BODY, {{"url", API_STRING, field_video_url, REQUIRED}}},
    {"PUT", "/api/rooms/{room}/video/subtitles", subtitles_set, ROUTE_TOKEN | ROUTE_BODY, {{"url", API_STRING, field_http_url, REQUIRED}, {"label", API_STRING, field_subtitle_label, REQUIRED}, {"lang", API_STRING, field_lang, REQUIRED}}},
    {"DELETE", "/api/rooms/{room}/video/subtitles", subtitles_clear, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    {"POST", "/api/rooms/{room}/queue", queue_add, ROUTE_TOKEN | ROUTE_BODY, {{"url", API_STRING, field_video_url, REQUIRED}}},
    {"DELETE", "/api/rooms/{room}/queue/{item}", queue_remove, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    {"POST", "/api/rooms/{room}/queue/{item}/move", queue_move, ROUTE_TOKEN | ROUTE_BODY, {{"index", API_NUMBER, field_queue_index, REQUIRED}}},
    {"POST", "/api/rooms/{room}/buffering", video_buffering, ROUTE_TOKEN | ROUTE_BODY, {{"buffering", API_BOOL, NULL, REQUIRED}, POSITION_FIELD}},
    {"POST", "/api/rooms/{room}/reactions", reactions_post, ROUTE_TOKEN | ROUTE_BODY, {{"emoji", API_STRING, field_emoji, REQUIRED}}},
    {"POST", "/api/rooms/{room}/events/ticket", events_ticket, ROUTE_TOKEN | ROUTE_BODY_OPTIONAL, NO_FIELDS},
    /* A ticket (?ticket=) or a Bearer header: the handler decides (never ?token=). */
    {"GET", "/api/rooms/{room}/events", events_subscribe, ROUTE_TOKEN_OPTIONAL, NO_FIELDS},
    /* nchan's authorize request for GET /api/rooms/{room}/events/{channel}, through nginx's
     * authorizer server (its path values are FastCGI parameters only nginx sets). The
     * per-address limit is counted by the handler, in the call that takes the stream's place. */
    {"GET", "/_wnc/auth/{room}", events_authorize, ROUTE_TOKEN_OPTIONAL | ROUTE_NO_RATELIMIT, NO_FIELDS},
    /* nchan's subscribe/unsubscribe hooks: nginx only reaches these from `internal`
     * locations, never from a client. */
    {"POST", "/_wnc/hook/sub", events_hook_sub, ROUTE_NO_RATELIMIT, NO_FIELDS},
    {"POST", "/_wnc/hook/unsub", events_hook_unsub, ROUTE_NO_RATELIMIT, NO_FIELDS},
};
/* clang-format on */

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))
_Static_assert(ROUTE_COUNT < METRICS_ROUTES_MAX, "each row has a metrics slot, and one is left");

/* Matches path against pattern, capturing {room}, {user} and any other {item} raw (validated
 * later). */
static int route_match(const char *pattern, const char *path, struct route_path *p)
{
    while (*pattern != '\0' && *path != '\0') {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            const char *seg_end = strchr(path, '/');
            size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);
            char *out = strncmp(pattern, "{room}", 6) == 0   ? p->room
                        : strncmp(pattern, "{user}", 6) == 0 ? p->user
                                                             : p->item;
            if (len == 0 || len >= ROUTE_SEGMENT_MAX)
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

const struct route *route_find(const char *method, const char *path, struct route_path *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!route_match(routes[i].pattern, path, p))
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        if (strlen(p->allow) + strlen(routes[i].method) + 3 < sizeof(p->allow)) {
            if (*p->allow)
                strcat(p->allow, ", ");
            strcat(p->allow, routes[i].method);
        }
    }
    return NULL;
}

enum wnc_err route_check_path(struct api_ctx *c, const struct route *route,
                              const struct route_path *p, struct route_refusal *no)
{
    if (strstr(route->pattern, "{room}") && (no->err = valid_room_id(p->room, c->room_id)) != E_OK)
        no->field = "roomId";
    else if (strstr(route->pattern, "{user}") &&
             (no->err = valid_user_id(p->user, c->user_id)) != E_OK)
        no->field = "userId";
    else if (strstr(route->pattern, "{message}") &&
             (no->err = valid_item_id(p->item, c->item_id, &no->cause)) != E_OK)
        no->field = "messageId";
    else if (strstr(route->pattern, "{ban}") &&
             (no->err = valid_item_id(p->item, c->item_id, &no->cause)) != E_OK)
        no->field = "banId";
    else if (strstr(route->pattern, "{item}") &&
             (no->err = valid_item_id(p->item, c->item_id, &no->cause)) != E_OK)
        no->field = "itemId";
    else
        no->err = E_OK;
    return no->err;
}

/* Per-IP fixed window. Returns 0 to go on, or -1 after answering 429 (or 503). */
static int route_ratelimit_or_reply(struct api_ctx *c)
{
    char key[sizeof("rl:{}") + ADDR_TEXT_LEN], window[STORE_NUMBER_LEN];
    const char *keys[] = {key}, *args[] = {"0", window};
    struct store_reply r;
    enum wnc_err e;
    int rc;

    snprintf(key, sizeof(key), "rl:{%s}", c->req->limit_key);
    snprintf(window, sizeof(window), "%d", config.rate_window_s);
    e = store_eval(c->w->store, SCRIPT_RATELIMIT, 1, keys, 2, args, NULL, &r);
    if (e != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return -1;
    }
    rc = api_ratelimit_or_reply(c, &r, 0);
    store_reply_free(&r);
    return rc;
}

enum wnc_err route_check_token(struct api_ctx *c, const struct route *route,
                               struct route_refusal *no)
{
    const char *auth = c->req->authorization;

    no->err = E_OK;
    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        if (strlen(auth + 7) > TOKEN_LEN)
            return no->err = E_UNAUTHORIZED;
        strcpy(c->token, auth + 7);
    } else if (*auth != '\0') {
        no->cause = "use Authorization: Bearer <token>";
        return no->err = E_UNAUTHORIZED;
    } else {
        return no->err = route->flags & ROUTE_TOKEN ? E_UNAUTHORIZED : E_OK;
    }
    if ((no->err = valid_token(c->token, c->room_id)) != E_OK) {
        *c->token = '\0';
        return no->err;
    }
    sha256_hex(c->token, strlen(c->token), c->token_digest);
    return E_OK;
}

/* Reads body field f into v as its rule says. */
static enum wnc_err route_check_field(const struct jx_body *body, const struct api_field *f,
                                      struct api_value *v, const char **cause)
{
    static const char *const wrong_type[] = {
        [API_STRING] = "this field is a string",
        [API_NUMBER] = "this field is a number",
        [API_BOOL] = "this field is true or false",
        [API_NULLABLE_STRING] = "this field is a string or null",
    };
    enum wnc_err e = E_MISSING_FIELD;

    memset(v, 0, sizeof(*v));
    if (body != NULL) {
        switch (f->type) {
        case API_NULLABLE_STRING:
            if ((v->is_null = jx_is_null(body, f->name))) {
                e = E_OK;
                break;
            }
            /* fall through */
        case API_STRING:
            e = jx_get_string(body, f->name, &v->text, &v->len);
            break;
        case API_NUMBER:
            e = jx_get_number(body, f->name, &v->number);
            break;
        case API_BOOL:
            e = jx_get_bool(body, f->name, &v->boolean);
            break;
        }
    }
    if (e == E_MISSING_FIELD && !f->required)
        return E_OK;
    if (e == E_MISSING_FIELD)
        *cause = "this field is required";
    else if (e == E_INVALID_FIELD)
        *cause = wrong_type[f->type];
    else if (e == E_OK && f->check != NULL)
        e = f->check(v, cause);
    v->present = e == E_OK;
    return e;
}

enum wnc_err route_check_body(struct api_ctx *c, const struct route *route,
                              struct route_refusal *no)
{
    const struct http_request *req = c->req;
    const char *ct = req->content_type, *names[API_MAX_FIELDS + 1] = {NULL};
    size_t i;

    no->err = E_OK;
    c->fields = route->fields;
    if (req->body_len == 0) {
        if (route->flags & ROUTE_BODY) {
            no->cause = "a JSON object body is required";
            return no->err = E_INVALID_JSON;
        }
    } else {
        /* application/json, optionally with parameters such as charset=utf-8. */
        if (strncasecmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';'))
            return no->err = E_UNSUPPORTED_MEDIA_TYPE;
        if ((no->err = jx_parse_object(req->body, req->body_len, &c->body)) != E_OK)
            return no->err;
        for (i = 0; route->fields[i].name != NULL; i++)
            names[i] = route->fields[i].name;
        if ((no->err = jx_only_fields(c->body, names, &no->field)) != E_OK)
            return no->err;
    }
    for (i = 0; route->fields[i].name != NULL; i++) {
        no->err = route_check_field(c->body, &route->fields[i], &c->values[i], &no->cause);
        if (no->err != E_OK) {
            no->field = route->fields[i].name;
            return no->err;
        }
    }
    return E_OK;
}

/* Serves one request; *served is the row that took it (NULL: none). */
static void route_serve(struct http_request *req, struct worker *w, const struct route **served)
{
    struct api_ctx c;
    struct route_path p;
    struct route_refusal no = {E_OK, NULL, NULL};
    const struct route *route;

    memset(&c, 0, sizeof(c));
    c.req = req;
    c.w = w;
    if ((*served = route = route_find(req->method, req->path, &p)) == NULL) {
        if (*p.allow)
            http_add_header(req, "Allow", p.allow);
        http_reply_error(req, *p.allow ? E_METHOD_NOT_ALLOWED : E_NOT_FOUND, NULL, NULL);
        return;
    }
    if (route_check_path(&c, route, &p, &no) != E_OK)
        goto refuse;
    log_set_room(c.room_id); /* "" (no {room}) leaves it unset; http.c clears it after the answer */
    /* The per-address limit guards what anyone may ask (create, join, a room's summary, the
     * time, a subscription): room codes are not to be enumerated. A route that requires a
     * member's token is limited per member inside its room operation instead (chat, control,
     * tickets), and per client by nginx; skipping the address here saves a Redis round trip
     * on every member action. */
    if (!(route->flags & (ROUTE_NO_RATELIMIT | ROUTE_TOKEN)) && route_ratelimit_or_reply(&c) != 0)
        return;
    if ((route->flags & (ROUTE_TOKEN | ROUTE_TOKEN_OPTIONAL)) &&
        route_check_token(&c, route, &no) != E_OK)
        goto refuse;
    if ((route->flags & (ROUTE_BODY | ROUTE_BODY_OPTIONAL)) &&
        ((no.err = http_read_body(req)) != E_OK || route_check_body(&c, route, &no) != E_OK))
        goto refuse;
    route->handler(&c);
    jx_free(c.body);
    return;
refuse:
    http_reply_error(req, no.err, no.field, no.cause);
    jx_free(c.body);
}

void route_dispatch(struct http_request *req, struct worker *w)
{
    const struct route *route = NULL;
    uint64_t start = metrics_now_ns();

    route_serve(req, w, &route);
    if (!req->replied)
        http_reply_error(req, E_INTERNAL, NULL, NULL);
    /* Counted by the row's pattern, never the raw path: the labels stay a fixed, small set. */
    metrics_request(route != NULL ? (size_t)(route - routes) : METRICS_ROUTE_UNMATCHED,
                    route != NULL ? route->method : NULL, route != NULL ? route->pattern : NULL,
                    req->status, metrics_now_ns() - start);
}
