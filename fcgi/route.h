/* The route table and the dispatcher. Each route is a row (method, path pattern, handler, what
 * it requires, the body fields it takes); the dispatcher enforces the row — path parameters,
 * rate limit, token, content type, body — so handlers never re-check. */
#ifndef WNC_ROUTE_H
#define WNC_ROUTE_H

#include "api.h"

/* Serves one request: matches the route, runs its checks, calls its handler. */
void route_dispatch(struct http_request *req, struct worker *w);

#endif
