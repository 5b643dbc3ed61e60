/* What the handlers share, apart from the dispatcher (route.c) that calls them: running a room
 * script and answering with its result or its error. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "store.h"

const struct api_value *api_value(const struct api_ctx *c, const char *name)
{
    for (size_t i = 0; c->fields != NULL && c->fields[i].name != NULL; i++)
        if (strcmp(c->fields[i].name, name) == 0)
            return &c->values[i];
    /* A handler asking for a field its row does not list: a programming error. */
    log_error("api: no field %s in this route", name);
    abort();
}

const char *api_error_field(enum wnc_err e)
{
    switch (e) {
    case E_NAME_TAKEN:
        return "userName";
    case E_PASSWORD_REQUIRED:
    case E_WRONG_PASSWORD:
        return "password";
    default:
        return NULL;
    }
}

int api_ratelimit_or_reply(struct api_ctx *c, const struct store_reply *r, size_t at)
{
    int whole = r->n == at + 2;
    long count = whole && r->items[at] ? atol(r->items[at]) : 0;
    long ttl = whole && r->items[at + 1] ? atol(r->items[at + 1]) : config.rate_window_s;
    char value[STORE_NUMBER_LEN];

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

int api_run_or_reply(struct api_ctx *c, enum script_id script, int nargs, const char **args,
                     const size_t *lens, struct exec_result *out)
{
    enum wnc_err e;

    e = exec_room(c->w->store, c->w->pub, script, c->room_id, c->token_digest, nargs, args, lens,
                  out);
    if (e != E_OK) {
        if (e == E_RATE_LIMITED) {
            /* At most one window of the per-member limits (script.h), or the handler's own. */
            char after[STORE_NUMBER_LEN];
            snprintf(after, sizeof(after), "%d",
                     c->retry_after_s > 0 ? c->retry_after_s
                                          : (SCRIPT_RATE_WINDOW_MS + 999) / 1000);
            http_add_header(c->req, "Retry-After", after);
        }
        http_reply_error(c->req, e, api_error_field(e), NULL);
        return -1;
    }
    return 0;
}

void api_run_and_reply(struct api_ctx *c, enum script_id script, int nargs, const char **args,
                       const size_t *lens)
{
    struct exec_result r;

    if (api_run_or_reply(c, script, nargs, args, lens, &r) != 0)
        return;
    http_reply(c->req, r.status, r.body, r.body_len);
    exec_result_free(&r);
}
