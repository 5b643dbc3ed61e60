/* route.c: the dispatcher's checks, one table each, in the order they run: which route a method
 * and path find (and Allow), the path parameters, the bearer token, and the body (content type,
 * JSON, the row's field rules). The per-IP rate limit needs Redis and is covered by the
 * integration tests. */
#include <stdio.h>
#include <string.h>

#include "route.h"
#include "unit.h"

#define ROOM "ABC123"
#define USER "0f8fad5b-d9cb-469f-a165-70867728950e"

static const struct route *find(const char *method, const char *path)
{
    struct route_path p;

    return route_find(method, path, &p);
}

static void test_find(void)
{
    static const struct {
        const char *method, *path;
        void (*handler)(struct api_ctx *c); /* NULL: no route */
        const char *allow;                  /* then: the Allow header ("": 404) */
    } rows[] = {
        {"GET", "/health", health_get, NULL},
        {"POST", "/api/rooms", rooms_create, NULL},
        {"GET", "/api/rooms/" ROOM, rooms_get, NULL},
        {"GET", "/api/rooms/" ROOM "/chat", chat_get, NULL},
        {"POST", "/api/rooms/" ROOM "/chat", chat_post, NULL},
        {"PUT", "/api/rooms/" ROOM "/video", video_set, NULL},
        {"POST", "/api/rooms/" ROOM "/video/seek", video_seek, NULL},
        {"POST", "/api/rooms/" ROOM "/users/" USER "/kick", rooms_kick, NULL},
        {"GET", "/api/rooms/" ROOM "/events", events_subscribe, NULL},
        {"GET", "/_wnc/auth/" ROOM, events_authorize, NULL},
        {"POST", "/api/rooms/" ROOM "/queue", queue_add, NULL},
        {"DELETE", "/api/rooms/" ROOM "/queue/12", queue_remove, NULL},
        {"POST", "/api/rooms/" ROOM "/queue/12/move", queue_move, NULL},
        {"POST", "/api/rooms/" ROOM "/video/next", queue_next, NULL},
        {"POST", "/api/rooms/" ROOM "/video/ended", queue_ended, NULL},
        {"PUT", "/api/rooms/" ROOM "/video/subtitles", subtitles_set, NULL},
        {"DELETE", "/api/rooms/" ROOM "/video/subtitles", subtitles_clear, NULL},
        {"POST", "/api/rooms/" ROOM "/buffering", video_buffering, NULL},
        {"POST", "/api/rooms/" ROOM "/reactions", reactions_post, NULL},
        {"GET", "/api/rooms/" ROOM "/video/subtitles", NULL, "PUT, DELETE"},
        {"POST", "/api/rooms/" ROOM "/queue/12", NULL, "DELETE"},
        {"GET", "/api/rooms/" ROOM "/queue/12/move/", NULL, ""},
        /* Raw captures: the path check, not the match, judges them. */
        {"GET", "/api/rooms/lower1/chat", chat_get, NULL},
        {"GET", "/api/rooms/x/chat", chat_get, NULL},
        /* 405 with every method the path takes. */
        {"DELETE", "/api/rooms/" ROOM "/chat", NULL, "GET, POST"},
        {"GET", "/api/rooms", NULL, "POST"},
        {"POST", "/health", NULL, "GET"},
        {"get", "/health", NULL, "GET"}, /* methods are case-sensitive (RFC 9110) */
        {"GET", "/api/rooms/" ROOM "/video", NULL, "PUT"},
        /* 404. */
        {"GET", "/", NULL, ""},
        {"GET", "/api/rooms/" ROOM "/chat/", NULL, ""},
        {"GET", "/api/rooms//chat", NULL, ""},
        {"GET", "/api/rooms/" ROOM "/chatx", NULL, ""},
        {"GET", "/api/room/" ROOM, NULL, ""},
        {"GET", "/HEALTH", NULL, ""},
        {"GET", "", NULL, ""},
        /* A segment longer than any id is no match at all (never truncated into one). */
        {"GET", "/api/rooms/0123456789012345678901234567890123456789012345678901234567890123/chat",
         NULL, ""},
        {"POST", "/api/rooms/" ROOM "/users/" USER "0123456789ab/kick", NULL, ""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct route_path p;
        const struct route *r = route_find(rows[i].method, rows[i].path, &p);
        if (rows[i].handler != NULL) {
            UNIT_CHECK(r != NULL && r->handler == rows[i].handler, "row %zu (%s %s)", i,
                       rows[i].method, rows[i].path);
        } else {
            UNIT_CHECK(r == NULL, "row %zu (%s %s): a route", i, rows[i].method, rows[i].path);
            UNIT_CHECK(strcmp(p.allow, rows[i].allow) == 0, "row %zu: Allow '%s'", i, p.allow);
        }
    }
}

static void test_path_parameters(void)
{
    static const struct {
        const char *path;
        enum wnc_err err;
        const char *field, *room, *user;
        const char *method, *item; /* NULL: POST, no item */
    } rows[] = {
        {"/api/rooms/ABC123/users/" USER "/kick", E_OK, NULL, "ABC123", USER, NULL, NULL},
        {"/api/rooms/abc123/users/0F8FAD5B-D9CB-469F-A165-70867728950E/kick", E_OK, NULL, "ABC123",
         USER, NULL, NULL},
        {"/api/rooms/ABC12/users/" USER "/kick", E_INVALID_ROOM_ID, "roomId", NULL, NULL, NULL,
         NULL},
        {"/api/rooms/ABC1234/users/" USER "/kick", E_INVALID_ROOM_ID, "roomId", NULL, NULL, NULL,
         NULL},
        {"/api/rooms/ABC-23/users/" USER "/kick", E_INVALID_ROOM_ID, "roomId", NULL, NULL, NULL,
         NULL},
        {"/api/rooms/ABC123/users/not-a-uuid/kick", E_INVALID_USER_ID, "userId", NULL, NULL, NULL,
         NULL},
        {"/api/rooms/ABC123/users/0f8fad5b-d9cb-469f-a165-70867728950/kick", E_INVALID_USER_ID,
         "userId", NULL, NULL, NULL, NULL},
        /* Queue items: 1 to 9 digits, no leading zero. */
        {"/api/rooms/ABC123/queue/7/move", E_OK, NULL, "ABC123", "", NULL, NULL},
        {"/api/rooms/ABC123/queue/07/move", E_INVALID_FIELD, "itemId", NULL, NULL, NULL, NULL},
        {"/api/rooms/ABC123/queue/0/move", E_INVALID_FIELD, "itemId", NULL, NULL, NULL, NULL},
        {"/api/rooms/ABC123/queue/1234567890123456/move", E_INVALID_FIELD, "itemId", NULL, NULL,
         NULL, NULL},
        {"/api/rooms/ABC123/queue/-1/move", E_INVALID_FIELD, "itemId", NULL, NULL, NULL, NULL},
        {"/api/rooms/ABC123/queue/1e3/move", E_INVALID_FIELD, "itemId", NULL, NULL, NULL, NULL},
        /* Chat messages and bans: the same ids, the field named after the path. */
        {"/api/rooms/ABC123/chat/42", E_OK, NULL, "ABC123", "", "DELETE", "42"},
        {"/api/rooms/ABC123/bans/7", E_OK, NULL, "ABC123", "", "DELETE", "7"},
        {"/api/rooms/ABC123/chat/042", E_INVALID_FIELD, "messageId", NULL, NULL, "DELETE", NULL},
        {"/api/rooms/ABC123/chat/x", E_INVALID_FIELD, "messageId", NULL, NULL, "DELETE", NULL},
        {"/api/rooms/ABC123/bans/0", E_INVALID_FIELD, "banId", NULL, NULL, "DELETE", NULL},
        {"/api/rooms/ABC123/bans/1000000000000000", E_INVALID_FIELD, "banId", NULL, NULL, "DELETE",
         NULL},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct api_ctx c;
        struct route_path p;
        struct route_refusal no = {E_OK, NULL, NULL};
        const struct route *r =
            route_find(rows[i].method ? rows[i].method : "POST", rows[i].path, &p);
        memset(&c, 0, sizeof(c));
        UNIT_CHECK(r != NULL, "row %zu: a route", i);
        if (r == NULL)
            continue;
        enum wnc_err e = route_check_path(&c, r, &p, &no);
        UNIT_CHECK(e == rows[i].err && no.err == e, "row %zu (%s): %s", i, rows[i].path,
                   err_code(e));
        if (rows[i].field != NULL)
            UNIT_CHECK(no.field && strcmp(no.field, rows[i].field) == 0, "row %zu: field", i);
        if (rows[i].room != NULL)
            UNIT_CHECK(strcmp(c.room_id, rows[i].room) == 0 && strcmp(c.user_id, rows[i].user) == 0,
                       "row %zu: ids '%s' '%s'", i, c.room_id, c.user_id);
        if (rows[i].item != NULL)
            UNIT_CHECK(strcmp(c.item_id, rows[i].item) == 0, "row %zu: item '%s'", i, c.item_id);
    }
}

static void test_token(void)
{
    char mine[TOKEN_LEN + 1], other[TOKEN_LEN + 1], bearer[TOKEN_LEN + 16], lower[TOKEN_LEN + 16],
        other_bearer[TOKEN_LEN + 16], long_bearer[TOKEN_LEN + 16], digest[SHA256_HEX_LEN + 1];
    const char *need = "/api/rooms/" ROOM "/chat", *may = "/api/rooms/" ROOM;

    CU_ASSERT_FATAL(ids_token(ROOM, mine) == E_OK && ids_token("ZZZ999", other) == E_OK);
    snprintf(bearer, sizeof(bearer), "Bearer %s", mine);
    snprintf(lower, sizeof(lower), "bEARER %s", mine);
    snprintf(other_bearer, sizeof(other_bearer), "Bearer %s", other);
    snprintf(long_bearer, sizeof(long_bearer), "Bearer %sx", mine);
    sha256_hex(mine, strlen(mine), digest);
    const struct {
        const char *path, *authorization;
        enum wnc_err err;
        int has_token;
    } rows[] = {
        {need, bearer, E_OK, 1},
        {need, lower, E_OK, 1}, /* the scheme is case-insensitive */
        {may, bearer, E_OK, 1},
        {may, "", E_OK, 0}, /* optional: none is fine */
        {need, "", E_UNAUTHORIZED, 0},
        {need, other_bearer, E_FORBIDDEN, 0}, /* well-formed, another room's */
        {may, other_bearer, E_FORBIDDEN, 0},  /* a token given is checked even when optional */
        {need, long_bearer, E_UNAUTHORIZED, 0},
        {need, "Bearer ", E_UNAUTHORIZED, 0},
        {need, "Bearer ABC123.", E_UNAUTHORIZED, 0},
        {need, "Basic dXNlcjpwYXNz", E_UNAUTHORIZED, 0},
        {may, "Token abc", E_UNAUTHORIZED, 0},
        {need, mine, E_UNAUTHORIZED, 0}, /* no scheme */
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct http_request req;
        struct api_ctx c;
        struct route_refusal no = {E_OK, NULL, NULL};
        const struct route *r = find("GET", rows[i].path);
        memset(&req, 0, sizeof(req));
        memset(&c, 0, sizeof(c));
        req.authorization = rows[i].authorization;
        c.req = &req;
        strcpy(c.room_id, ROOM);
        CU_ASSERT_FATAL(r != NULL);
        enum wnc_err e = route_check_token(&c, r, &no);
        UNIT_CHECK(e == rows[i].err && no.err == e, "row %zu: %s", i, err_code(e));
        if (rows[i].has_token)
            UNIT_CHECK(strcmp(c.token, mine) == 0 && strcmp(c.token_digest, digest) == 0,
                       "row %zu: token and digest", i);
        else
            UNIT_CHECK(*c.token_digest == '\0', "row %zu: no digest", i);
    }
}

/* One body through route_check_body; *c keeps what it left (free c->body). */
static enum wnc_err body(struct api_ctx *c, struct http_request *req, const char *method,
                         const char *path, const char *content_type, const char *json,
                         struct route_refusal *no)
{
    const struct route *r = find(method, path);

    CU_ASSERT_FATAL(r != NULL);
    memset(req, 0, sizeof(*req));
    memset(c, 0, sizeof(*c));
    memset(no, 0, sizeof(*no));
    req->content_type = content_type;
    req->body = (char *)json;
    req->body_len = strlen(json);
    c->req = req;
    return route_check_body(c, r, no);
}

static void test_body_rules(void)
{
    static const char *const chat = "/api/rooms/" ROOM "/chat",
                             *const join = "/api/rooms/" ROOM "/join",
                             *const json = "application/json";
    static const struct {
        const char *method, *path, *content_type, *body;
        enum wnc_err err;
        const char *field, *cause; /* NULL: none expected (cause: not checked) */
    } rows[] = {
        /* Content type: application/json, parameters allowed, nothing else. */
        {"POST", chat, json, "{\"text\":\"hi\"}", E_OK, NULL, NULL},
        {"POST", chat, "application/json; charset=utf-8", "{\"text\":\"hi\"}", E_OK, NULL, NULL},
        {"POST", chat, "APPLICATION/JSON", "{\"text\":\"hi\"}", E_OK, NULL, NULL},
        {"POST", chat, "application/jsonx", "{\"text\":\"hi\"}", E_UNSUPPORTED_MEDIA_TYPE, NULL,
         NULL},
        {"POST", chat, "text/plain", "{\"text\":\"hi\"}", E_UNSUPPORTED_MEDIA_TYPE, NULL, NULL},
        {"POST", chat, "", "{\"text\":\"hi\"}", E_UNSUPPORTED_MEDIA_TYPE, NULL, NULL},
        /* The body: required, an object, strict JSON. */
        {"POST", chat, json, "", E_INVALID_JSON, NULL, "a JSON object body is required"},
        {"POST", chat, json, "[]", E_INVALID_JSON, NULL, NULL},
        {"POST", chat, json, "{\"text\":\"hi\"", E_INVALID_JSON, NULL, NULL},
        {"POST", chat, json, "{\"text\":\"hi\"} {}", E_INVALID_JSON, NULL, NULL},
        /* The row's fields: unknown, missing, wrong type, invalid by the validator. */
        {"POST", chat, json, "{\"text\":\"hi\",\"room\":1}", E_UNKNOWN_FIELD, "room", NULL},
        {"POST", chat, json, "{}", E_MISSING_FIELD, "text", "this field is required"},
        {"POST", chat, json, "{\"text\":null}", E_MISSING_FIELD, "text", NULL},
        {"POST", chat, json, "{\"text\":1}", E_INVALID_FIELD, "text", "this field is a string"},
        {"POST", chat, json, "{\"text\":\"   \"}", E_INVALID_FIELD, "text", NULL},
        {"POST", "/api/rooms/" ROOM "/typing", json, "{\"typing\":\"yes\"}", E_INVALID_FIELD,
         "typing", "this field is true or false"},
        {"POST", "/api/rooms/" ROOM "/video/seek", json, "{\"position\":\"1\"}", E_INVALID_FIELD,
         "position", "this field is a number"},
        {"POST", "/api/rooms/" ROOM "/video/seek", json, "{\"position\":-1}", E_INVALID_FIELD,
         "position", NULL},
        {"POST", "/api/rooms/" ROOM "/video/rate", json, "{\"rate\":4.5}", E_INVALID_FIELD, "rate",
         NULL},
        {"PUT", "/api/rooms/" ROOM "/video", json, "{\"url\":\"ftp://x/y.mp4\"}", E_INVALID_FIELD,
         "url", NULL},
        {"POST", "/api/rooms", json, "{\"hostName\":\"A\"}", E_INVALID_FIELD, "hostName", NULL},
        {"POST", "/api/rooms", json, "{\"userName\":\"Alice\"}", E_UNKNOWN_FIELD, "userName", NULL},
        /* Optional bodies and fields. */
        {"POST", join, json, "", E_OK, NULL, NULL},
        {"POST", join, json, "{}", E_OK, NULL, NULL},
        {"POST", join, json, "{\"userName\":\"x\"}", E_INVALID_FIELD, "userName", NULL},
        {"POST", "/api/rooms/" ROOM "/leave", json, "{}", E_OK, NULL, NULL},
        {"POST", "/api/rooms/" ROOM "/leave", json, "{\"now\":true}", E_UNKNOWN_FIELD, "now", NULL},
        {"POST", "/api/rooms/" ROOM "/leave", "text/plain", "x", E_UNSUPPORTED_MEDIA_TYPE, NULL,
         NULL},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct http_request req;
        struct api_ctx c;
        struct route_refusal no;
        enum wnc_err e =
            body(&c, &req, rows[i].method, rows[i].path, rows[i].content_type, rows[i].body, &no);
        UNIT_CHECK(e == rows[i].err && no.err == e, "row %zu (%s): %s", i, rows[i].body,
                   err_code(e));
        UNIT_CHECK(rows[i].field == NULL ? no.field == NULL
                                         : no.field && strcmp(no.field, rows[i].field) == 0,
                   "row %zu: field %s", i, no.field ? no.field : "(none)");
        if (rows[i].cause != NULL)
            UNIT_CHECK(no.cause && strcmp(no.cause, rows[i].cause) == 0, "row %zu: cause %s", i,
                       no.cause ? no.cause : "(none)");
        jx_free(c.body);
    }
}

/* What handlers read: the values as the validators leave them. */
static void test_checked_values(void)
{
    struct http_request req;
    struct api_ctx c;
    struct route_refusal no;
    const struct api_value *v;

    CU_ASSERT_FATAL(body(&c, &req, "POST", "/api/rooms/" ROOM "/chat", "application/json",
                         "{\"text\":\"  hello \\t world\\n \"}", &no) == E_OK);
    v = api_value(&c, "text");
    UNIT_CHECK(v->present && v->len == 13 && memcmp(v->text, "hello \t world", 13) == 0,
               "chat text trimmed, tab kept: %zu bytes", v->len);
    jx_free(c.body);

    CU_ASSERT_FATAL(body(&c, &req, "POST", "/api/rooms", "application/json",
                         "{\"hostName\":\"  Alice B \"}", &no) == E_OK);
    v = api_value(&c, "hostName");
    UNIT_CHECK(v->present && strcmp(v->name, "Alice B") == 0 && strcmp(v->name_key, "alice b") == 0,
               "name '%s' key '%s'", v->name, v->name_key);
    jx_free(c.body);

    CU_ASSERT_FATAL(body(&c, &req, "PUT", "/api/rooms/" ROOM "/video", "application/json",
                         "{\"url\":\"https://youtu.be/dQw4w9WgXcQ\"}", &no) == E_OK);
    v = api_value(&c, "url");
    UNIT_CHECK(v->present && v->video.kind == VIDEO_YOUTUBE &&
                   strcmp(v->video.youtube_id, "dQw4w9WgXcQ") == 0,
               "video kind %d id '%s'", v->video.kind, v->video.youtube_id);
    jx_free(c.body);

    CU_ASSERT_FATAL(body(&c, &req, "POST", "/api/rooms/" ROOM "/video/rate", "application/json",
                         "{\"rate\":1.5}", &no) == E_OK);
    UNIT_CHECK(api_value(&c, "rate")->number == 1.5, "rate");
    jx_free(c.body);

    CU_ASSERT_FATAL(body(&c, &req, "POST", "/api/rooms/" ROOM "/typing", "application/json",
                         "{\"typing\":true}", &no) == E_OK);
    UNIT_CHECK(api_value(&c, "typing")->boolean == 1, "typing");
    jx_free(c.body);

    /* An optional field the body lacks: not present, nothing else set. */
    CU_ASSERT_FATAL(
        body(&c, &req, "POST", "/api/rooms/" ROOM "/join", "application/json", "", &no) == E_OK);
    v = api_value(&c, "userName");
    UNIT_CHECK(!v->present && v->text == NULL && *v->name == '\0', "absent userName");
    jx_free(c.body);
}

static const struct unit_test tests[] = {
    {"find: handlers, 405 with Allow, 404, long segments", test_find},
    {"path parameters: room, user and item ids, normalised or refused", test_path_parameters},
    {"token: Bearer only, its room, required or optional", test_token},
    {"body: content type, strict JSON, the row's field rules", test_body_rules},
    {"checked values: what the validators leave for handlers", test_checked_values},
    {NULL, NULL},
};

int test_route_register(void)
{
    CU_pSuite s = CU_add_suite("fcgi/route", NULL, NULL);
    return s != NULL ? unit_add_tests(s, tests) : -1;
}
