/* GET /health and GET /api/time. */
#include <stdio.h>

#include "api.h"
#include "store.h"

void health_get(struct api_ctx *c)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    enum wnc_err e = store_ping(c->w->store);

    if (e != E_OK) {
        http_reply_error(c->req, E_REDIS_UNAVAILABLE, NULL, NULL);
        return;
    }
    http_reply(c->req, 200, ok, sizeof(ok) - 1);
}

void time_get(struct api_ctx *c)
{
    char body[sizeof("{\"now\":}") + STORE_NUMBER_LEN];
    int n = snprintf(body, sizeof(body), "{\"now\":%lld}", exec_now_ms());

    http_reply(c->req, 200, body, (size_t)n);
}
