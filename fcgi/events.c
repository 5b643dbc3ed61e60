/* Realtime subscriptions.
 *
 * POST /api/rooms/{id}/events/ticket trades the bearer token for a single-use ticket, because
 * browsers cannot send headers on WebSocket/EventSource and a token in a URL ends up in logs;
 * the answer names the room's current channel.
 *
 * Two paths subscribe, with the same checks (events_member_or_reply: no resume id, no token in
 * the URL, a ticket or a member's Bearer token) and the same per-address cap:
 * - GET /api/rooms/{id}/events/{channel}?user= (WebSocket, EventSource): nchan asks first,
 *   through nginx's authorizer server, GET /_wnc/auth/{id} (events_authorize), and subscribes
 *   only after a 2xx. The worker checks the channel is the room's and the user the
 *   credential's, takes the place under the cap for the connection nginx names ($request_id,
 *   in the unsubscribe hook's URL too) and opens the stream's lease (no subscribe hook: each
 *   nchan subrequest leaves holes in nginx's heap, docs/nchan-notes.md).
 * - GET /api/rooms/{id}/events (any transport, long-poll included) checks the member, takes the
 *   place, and hands the request to nchan with X-Accel-Redirect: a genuine WebSocket handshake
 *   to the WebSocket location, an event-stream Accept to the EventSource one, anything else to
 *   long-poll (which ends within its timeout). That redirect keeps the FastCGI exchange in the
 *   request's pool for the stream's life: a viewer costs more memory this way.
 * No client resume id may reach nchan (an id on an empty or expired channel crashes an nginx
 * worker), so they are refused here (and for the X-Accel-Redirect path in nginx too).
 *
 * nchan then calls the hooks when a WebSocket or EventSource stream opens (/events only) and
 * closes: each stream is a lease (sql/presence.lua) owned by the nginx worker process holding
 * it, so pushd can close the leases of a worker that died without firing hooks. The hooks
 * derive the address's cap key from the client address in their URL and X-Forwarded-For, as
 * the request that took the place did. nchan fires no hooks for long-poll, so each poll itself
 * counts as a sign of life. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "store.h"
#include "valid.h"

#define EVENTS_TICKET_TTL_MS 30000
#define EVENTS_STREAM_RESERVE_MS 10000 /* a stream's place until its lease holds it */
#define EVENTS_POLL_SLACK_MS 5000      /* a long-poll's place outlives its timeout by this */
#define EVENTS_CAP_RETRY_AFTER "5"
#define EVENTS_REDIRECT_MAX 320
#define EVENTS_PID_MAX_DIGITS 18 /* an nginx worker's pid, as the hooks pass it */
#define EVENTS_REQUEST_ID_LEN 32 /* nginx's $request_id, a subscription's connection id */

_Static_assert(EVENTS__MAX == METRICS_TRANSPORTS, "one metrics slot per transport");

/* The internal nchan locations of nginx/wnc-site.conf.in. */
static const char *const events_locations[EVENTS__MAX] = {
    [EVENTS_WEBSOCKET] = "sub", [EVENTS_EVENTSOURCE] = "sub", [EVENTS_LONGPOLL] = "poll"};

/* Whether the comma-separated header value list holds token (case-insensitive). */
static int events_list_has(const char *list, const char *token)
{
    size_t n = strlen(token);

    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - p) == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

enum events_transport events_transport_of(const char *upgrade, const char *connection,
                                          const char *accept)
{
    if (strcasecmp(upgrade, "websocket") == 0 && events_list_has(connection, "upgrade"))
        return EVENTS_WEBSOCKET;
    if (*upgrade == '\0' && strstr(accept, "text/event-stream") != NULL)
        return EVENTS_EVENTSOURCE;
    return EVENTS_LONGPOLL;
}

/* Whether the query string has a parameter whose (URL-decoded) name is name, any case. */
static int events_query_has(const char *query, const char *name)
{
    for (const char *p = query; *p != '\0';) {
        const char *end = p + strcspn(p, "&");
        const char *n = name;
        int match = 1;
        for (const char *q = p; q < end && *q != '='; q++) {
            int c = (unsigned char)*q;
            int hi = c == '%' && end - q > 2 ? valid_hex_digit(q[1]) : -1;
            int lo = hi >= 0 ? valid_hex_digit(q[2]) : -1;
            if (lo >= 0) {
                c = hi * 16 + lo;
                q += 2;
            }
            if (*n == '\0' || (c | 0x20) != (*n | 0x20)) {
                match = 0;
                break;
            }
            n++;
        }
        if (match && *n == '\0')
            return 1;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int events_has_resume_id(const struct http_request *req)
{
    return *http_header(req, "HTTP_IF_NONE_MATCH") != '\0' ||
           *http_header(req, "HTTP_IF_MODIFIED_SINCE") != '\0' ||
           *http_header(req, "HTTP_LAST_EVENT_ID") != '\0' ||
           events_query_has(req->query, "last_event_id");
}

void events_ticket(struct api_ctx *c)
{
    char ticket[TOKEN_LEN + 1], digest[SHA256_HEX_LEN + 1], ttl[STORE_NUMBER_LEN];
    char body[sizeof("{\"ticket\":\"\",\"expiresAt\":,\"channel\":\"\"}") + TOKEN_LEN +
              STORE_NUMBER_LEN + CHANNEL_MAX_LEN];
    const char *args[] = {digest, ttl};
    struct exec_result r;
    enum wnc_err e;

    /* A ticket has a token's form (room prefix, 256 random bits) but lives in another table,
     * so neither can stand in for the other. */
    if ((e = ids_token(c->room_id, ticket)) != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return;
    }
    sha256_hex(ticket, strlen(ticket), digest);
    snprintf(ttl, sizeof(ttl), "%d", EVENTS_TICKET_TTL_MS);
    if (api_run_or_reply(c, SCRIPT_TICKET, 2, args, NULL, &r) != 0)
        return;
    /* The script answers the expiry time, a number: body has room for any long long. */
    /* The channel goes to GET /api/rooms/{id}/events/{channel} (see events_authorize). */
    int n =
        snprintf(body, sizeof(body), "{\"ticket\":\"%s\",\"expiresAt\":%.*s,\"channel\":\"%s\"}",
                 ticket, (int)r.body_len, r.body, r.channel);
    exec_result_free(&r);
    if (n < 0 || (size_t)n >= sizeof(body)) {
        http_reply_error(c->req, E_INTERNAL, NULL, NULL);
        return;
    }
    http_reply(c->req, 201, body, (size_t)n);
}

/* Takes a place for connection cid under the cap of the client's address; with count_request,
 * counts the request in the address's rate-limit window in the same call first (the
 * authorizer's route leaves it to this step). Returns 0, or -1 after answering 429 (or 503). */
static int events_reserve_or_reply(struct api_ctx *c, const char *limit_key, const char *cid,
                                   long long until, int count_request)
{
    char key[sizeof("subs:{}") + EXEC_LIMIT_KEY_MAX], rl[sizeof("rl:{}") + EXEC_LIMIT_KEY_MAX];
    char now[STORE_NUMBER_LEN], cap[STORE_NUMBER_LEN], until_s[STORE_NUMBER_LEN];
    char window[STORE_NUMBER_LEN], limit[STORE_NUMBER_LEN];
    const char *keys[] = {key, rl}, *args[] = {now, cap, cid, until_s, window, limit};
    struct store_reply r;
    enum wnc_err e;
    long verdict;
    int limited;

    snprintf(key, sizeof(key), "subs:{%s}", limit_key);
    snprintf(rl, sizeof(rl), "rl:{%s}", limit_key); /* the same slot */
    snprintf(now, sizeof(now), "%lld", exec_now_ms());
    snprintf(cap, sizeof(cap), "%d", config.max_subs_per_ip);
    snprintf(until_s, sizeof(until_s), "%lld", until);
    snprintf(window, sizeof(window), "%d", config.rate_window_s);
    snprintf(limit, sizeof(limit), "%d", config.rate_limit);
    e = store_eval(c->w->store, SCRIPT_SUBS_RESERVE, count_request ? 2 : 1, keys,
                   count_request ? 6 : 4, args, NULL, &r);
    if (e != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return -1;
    }
    verdict = r.n == 3 && r.items[0] ? atol(r.items[0]) : 0;
    limited = count_request && api_ratelimit_or_reply(c, &r, 1) != 0;
    store_reply_free(&r);
    if (limited)
        return -1;
    if (verdict != 1) {
        http_add_header(c->req, "Retry-After", EVENTS_CAP_RETRY_AFTER);
        http_reply_error(c->req, E_TOO_MANY_SUBSCRIPTIONS, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Gives back the place events_reserve_or_reply took for cid (a refused stream). */
static void events_release(struct api_ctx *c, const char *limit_key, const char *cid)
{
    char command[sizeof("subs_release  ") + EXEC_LIMIT_KEY_MAX + EXEC_CONN_ID_MAX];

    snprintf(command, sizeof(command), "subs_release %s %s", limit_key, cid);
    exec_followup(c->w->store, NULL, c->room_id, command);
}

/* The checks every subscription passes before Redis, whichever path it takes: no resume id,
 * no token in the URL, a well-formed ticket (?ticket=, its SHA-256 into ticket_digest, else
 * left empty) or a Bearer token. Returns 0, or -1 after answering. */
static int events_credential_or_reply(struct api_ctx *c, char ticket_digest[SHA256_HEX_LEN + 1])
{
    char ticket[TOKEN_LEN + 2];
    enum wnc_err e;

    *ticket_digest = '\0';
    if (events_has_resume_id(c->req)) {
        http_reply_error(c->req, E_RESUME_ID, NULL, NULL);
        return -1;
    }
    if (events_query_has(c->req->query, "token")) {
        http_reply_error(c->req, E_TOKEN_IN_URL, "token", NULL);
        return -1;
    }
    if (http_query_param(c->req, "ticket", ticket, sizeof(ticket))) {
        if ((e = valid_token(ticket, c->room_id)) != E_OK) {
            http_reply_error(c->req, e, "ticket", NULL);
            return -1;
        }
        sha256_hex(ticket, strlen(ticket), ticket_digest);
    } else if (*c->token_digest == '\0') {
        http_reply_error(c->req, E_UNAUTHORIZED, NULL,
                         "a ticket (?ticket=) or an Authorization: Bearer header is required");
        return -1;
    }
    return 0;
}

/* The room's check of the credential (sql/subscribe.lua; a ticket is the credential when there
 * is one, the token is not looked at then), with nargs of its arguments: the ticket's digest,
 * then, from the authorizer, the stream whose lease it opens. Fills *res (the member's id as
 * body, the room's current channel). */
static enum wnc_err events_check_member(struct api_ctx *c, int nargs, const char **args,
                                        struct exec_result *res)
{
    return exec_room(c->w->store, c->w->pub, SCRIPT_SUBSCRIBE, c->room_id,
                     *args[0] ? "" : c->token_digest, nargs, args, NULL, res);
}

/* Both checks for the X-Accel-Redirect path: fills *res and returns 0, or -1 after answering. */
static int events_member_or_reply(struct api_ctx *c, struct exec_result *res)
{
    char ticket_digest[SHA256_HEX_LEN + 1];
    const char *args[] = {ticket_digest};
    enum wnc_err e;

    if (events_credential_or_reply(c, ticket_digest) != 0)
        return -1;
    if ((e = events_check_member(c, 1, args, res)) != E_OK) {
        http_reply_error(c->req, e, NULL, NULL);
        return -1;
    }
    return 0;
}

/* The client address's cap key, as every step of a subscription names it. */
static const char *events_limit_key(const struct api_ctx *c)
{
    return *c->req->limit_key ? c->req->limit_key : "-";
}

void events_subscribe(struct api_ctx *c)
{
    char redirect[EVENTS_REDIRECT_MAX], cid[EXEC_CONN_ID_MAX + 1];
    const char *limit_key = events_limit_key(c);
    struct exec_result res;
    enum events_transport transport;
    enum wnc_err e = E_OK;
    long long now = exec_now_ms(), until;

    if (events_member_or_reply(c, &res) != 0)
        return;
    transport = events_transport_of(c->req->upgrade, http_header(c->req, "HTTP_CONNECTION"),
                                    c->req->accept);
    if (transport == EVENTS_LONGPOLL) {
        /* One place per member's long-poll, renewed by each poll. */
        snprintf(cid, sizeof(cid), "p%s", res.body);
        until = now + (long long)events_poll_timeout_s() * 1000 + EVENTS_POLL_SLACK_MS;
    } else {
        e = ids_conn(cid);
        until = now + EVENTS_STREAM_RESERVE_MS;
    }
    if (e != E_OK || !exec_is_conn_id(cid) || !exec_is_limit_key(limit_key)) {
        exec_result_free(&res);
        http_reply_error(c->req, E_INTERNAL, NULL, NULL);
        return;
    }
    if (events_reserve_or_reply(c, limit_key, cid, until, 0) != 0) {
        exec_result_free(&res);
        return;
    }
    if (transport == EVENTS_LONGPOLL) {
        const char *poll[] = {res.body, "poll", res.channel, cid, limit_key, ""};
        struct exec_result p;
        if (exec_room(c->w->store, c->w->pub, SCRIPT_PRESENCE, c->room_id, "", 6, poll, NULL, &p) ==
            E_OK)
            exec_result_free(&p);
    }
    /* The user id and connection id come from the server, never from the client; they travel
     * in the internal URL to the hooks (nginx evaluates hook URLs on the real request, and
     * hooks see no client address of their own: the address travels as nginx's
     * $remote_addr). */
    snprintf(redirect, sizeof(redirect), "/_wnc/%s/%s?room=%s&user=%s&cid=%s",
             events_locations[transport], res.channel, c->room_id, res.body, cid);
    exec_result_free(&res);
    http_add_header(c->req, "X-Accel-Redirect", redirect);
    http_add_header(c->req, "X-Accel-Buffering", "no");
    http_reply(c->req, 200, "", 0);
    metrics_subscription(transport);
}

/* The lease owner for nginx worker pid: "instance/pid/start". The start time is read once per
 * pid per thread (nginx has a handful of workers). A pid /proc cannot show gets start 0,
 * which pushd reads as "judge by the pid alone". */
static void events_owner(const char *pid_text, char out[EXEC_OWNER_MAX + 1])
{
    static __thread long cached_pid;
    static __thread unsigned long long cached_start;
    long pid = atol(pid_text);
    unsigned long long start = 0;

    if (pid == cached_pid && pid != 0) {
        start = cached_start;
    } else if (proc_start_time(pid, &start) == 0) {
        cached_pid = pid, cached_start = start;
    } else {
        start = 0;
    }
    snprintf(out, EXEC_OWNER_MAX + 1, "%s/%ld/%llu", config.instance, pid, start);
}

/* Opens or closes (op) the lease of stream cid of the member on channel, held by nginx worker
 * pid (digits). Returns what the room's call returned. */
static enum wnc_err events_lease(struct api_ctx *c, const char *user, const char *op,
                                 const char *channel, const char *cid, const char *pid)
{
    char owner[EXEC_OWNER_MAX + 1];
    struct exec_result r;
    enum wnc_err e;

    events_owner(pid, owner);
    const char *args[] = {user, op, channel, cid, events_limit_key(c), owner};
    e = exec_room(c->w->store, c->w->pub, SCRIPT_PRESENCE, c->room_id, "", 6, args, NULL, &r);
    if (e == E_OK)
        exec_result_free(&r);
    return e;
}

/* Whether text is an nginx worker's pid as the hooks and the authorizer pass it. */
static int events_is_pid(const char *text)
{
    size_t n = strspn(text, "0123456789");
    return n > 0 && n <= EVENTS_PID_MAX_DIGITS && text[n] == '\0';
}

void events_authorize(struct api_ctx *c)
{
    const char *channel = http_header(c->req, "WNC_SUB_CHANNEL");
    const char *user = http_header(c->req, "WNC_SUB_USER");
    const char *cid = http_header(c->req, "WNC_SUB_CID");
    const char *kind = http_header(c->req, "WNC_SUB_TRANSPORT");
    const char *pid = http_header(c->req, "WNC_SUB_PID");
    const char *limit_key = events_limit_key(c);
    enum wnc_err e;
    enum events_transport transport =
        strcmp(kind, "eventsource") == 0 ? EVENTS_EVENTSOURCE : EVENTS_WEBSOCKET;
    char ticket_digest[SHA256_HEX_LEN + 1], owner[EXEC_OWNER_MAX + 1];
    struct exec_result res;

    /* nginx's authorizer server sets these from the subscriber's path (nginx/wnc-site.conf.in):
     * a request without them did not come that way. */
    if (strlen(cid) != EVENTS_REQUEST_ID_LEN || !exec_is_conn_id(cid) || !events_is_pid(pid) ||
        !exec_is_limit_key(limit_key) || strncmp(channel, c->room_id, ROOM_ID_LEN) != 0 ||
        (strcmp(kind, "websocket") != 0 && strcmp(kind, "eventsource") != 0)) {
        http_reply_error(c->req, E_INVALID_FIELD, NULL, NULL);
        return;
    }
    /* The rate limit and the place under the per-address cap first (one call: both are the
     * address's, in one slot), then one call of the room that checks the
     * credential and opens the stream's lease (rather than by a subscribe hook:
     * nginx/wnc-site.conf.in): nchan subscribes right after this answer. A stream that never
     * gets there (its client left during the exchange) gets no unsubscribe hook either; the
     * check of the leases that the open asks for closes its lease (sql/verify.lua). Without a
     * lease the member would be connected but offline, so a failed call refuses the stream
     * (the client retries). A refusal gives the place back. */
    long long until = exec_now_ms() + EVENTS_STREAM_RESERVE_MS;
    if (events_credential_or_reply(c, ticket_digest) != 0 ||
        events_reserve_or_reply(c, limit_key, cid, until, 1) != 0)
        return;
    events_owner(pid, owner);
    const char *args[] = {ticket_digest, user, channel, cid, limit_key, owner};
    if ((e = events_check_member(c, 6, args, &res)) != E_OK) {
        events_release(c, limit_key, cid);
        http_reply_error(c->req, e, NULL, NULL);
        return;
    }
    /* The hooks take the user id from the same URL: it must be the credential's. A kick moved
     * the room to a new channel (and closed the old one): the client asks for a new ticket,
     * which names it; a kicked member gets none. Either way the call opened nothing. */
    e = strcmp(res.body, user) != 0         ? E_FORBIDDEN
        : strcmp(res.channel, channel) != 0 ? E_CHANNEL_MOVED
                                            : E_OK;
    exec_result_free(&res);
    if (e != E_OK) {
        events_release(c, limit_key, cid);
        http_reply_error(c->req, e, e == E_FORBIDDEN ? "user" : NULL,
                         e == E_FORBIDDEN ? "the credential is another member's" : NULL);
        return;
    }
    http_reply(c->req, 204, "", 0);
    metrics_subscription(transport);
}

int events_poll_timeout_s(void)
{
    /* Half the grace period: a poll must end early enough for the next to keep the member
     * online (scripts/stack.sh renders nginx's nchan_subscriber_timeout the same way). */
    return config.grace_ms / 2000 > 0 ? config.grace_ms / 2000 : 1;
}

/* Both hooks: a stream of the member opened or closed. */
static void events_hook(struct api_ctx *c, const char *op)
{
    char room[ROOM_ID_LEN + 1], user[USER_ID_LEN + 1], channel[CHANNEL_MAX_LEN + 1];
    char cid[EXEC_CONN_ID_MAX + 2], pid[EVENTS_PID_MAX_DIGITS + 1];

    if (!http_query_param(c->req, "room", room, sizeof(room)) ||
        valid_room_id(room, c->room_id) != E_OK ||
        !http_query_param(c->req, "user", user, sizeof(user)) ||
        valid_user_id(user, c->user_id) != E_OK ||
        !http_query_param(c->req, "channel", channel, sizeof(channel)) ||
        strncmp(channel, c->room_id, ROOM_ID_LEN) != 0 || !exec_is_limit_key(events_limit_key(c)) ||
        !http_query_param(c->req, "cid", cid, sizeof(cid)) || !exec_is_conn_id(cid) ||
        !http_query_param(c->req, "pid", pid, sizeof(pid)) || !events_is_pid(pid)) {
        http_reply_error(c->req, E_INVALID_FIELD, NULL, NULL);
        return;
    }
    events_lease(c, c->user_id, op, channel, cid, pid);
    http_reply(c->req, 204, "", 0);
}

void events_hook_sub(struct api_ctx *c)
{
    events_hook(c, "open");
}

void events_hook_unsub(struct api_ctx *c)
{
    events_hook(c, "close");
}
