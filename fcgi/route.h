/* The route table and the dispatcher. Each route is a row (method, path pattern, handler, what
 * it requires, the body fields it takes with their types and validators); the dispatcher
 * enforces the row — path parameters, rate limit, token, content type, body fields — and
 * answers every refusal itself, so handlers only read checked values. The checks are exported
 * one by one, pure (no I/O), for tests/unit/fcgi/test_route.c. */
#ifndef WNC_ROUTE_H
#define WNC_ROUTE_H

#include "api.h"

#define ROUTE_SEGMENT_MAX 48 /* a path parameter, raw (a user id is 36 characters) */
#define ROUTE_ALLOW_MAX 64   /* an Allow header's methods */

enum route_flags {
    ROUTE_TOKEN = 1 << 0,          /* a bearer token for the room is required */
    ROUTE_TOKEN_OPTIONAL = 1 << 1, /* a token is used when present */
    ROUTE_BODY = 1 << 2,           /* a JSON object body is required */
    ROUTE_BODY_OPTIONAL = 1 << 3,  /* a JSON object body is read when present */
    ROUTE_NO_RATELIMIT = 1 << 4,
};

struct route {
    const char *method;
    const char *pattern; /* literal segments, {room}, {user}, and {message}, {ban} or {item} */
    void (*handler)(struct api_ctx *c);
    unsigned flags;
    struct api_field fields[API_MAX_FIELDS + 1]; /* the body fields it takes */
};

/* What route_find captured from a path: {room}, {user} and the item ({message}, {ban}, {item}) raw,
 * and when no route takes the method, the methods that the path does take ("": no route has
 * this path). */
struct route_path {
    char room[ROUTE_SEGMENT_MAX], user[ROUTE_SEGMENT_MAX], item[ROUTE_SEGMENT_MAX];
    char allow[ROUTE_ALLOW_MAX];
};

/* Why a check refused the request: the error, and the field and cause to name (NULL: none,
 * the error's default message). */
struct route_refusal {
    enum wnc_err err;
    const char *field;
    const char *cause;
};

/* Serves one request: matches the route, runs its checks, calls its handler. */
void route_dispatch(struct http_request *req, struct worker *w);

/* The route for method and path, or NULL (then p->allow says 405 or 404). */
const struct route *route_find(const char *method, const char *path, struct route_path *p);

/* The checks, in the order route_dispatch runs them (the per-IP rate limit, which needs Redis,
 * comes between the path and the token). Each returns E_OK having filled in c, or the error
 * with *no filled in. The body check reads c->req's body, content type and length as
 * http_read_body left them, and leaves c->body for the caller to free. */
enum wnc_err route_check_path(struct api_ctx *c, const struct route *route,
                              const struct route_path *p, struct route_refusal *no);
enum wnc_err route_check_token(struct api_ctx *c, const struct route *route,
                               struct route_refusal *no);
enum wnc_err route_check_body(struct api_ctx *c, const struct route *route,
                              struct route_refusal *no);

#endif
