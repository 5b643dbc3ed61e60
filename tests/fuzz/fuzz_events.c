/* events.c: the pure helpers the subscription handler decides with. events_transport_of on an
 * Upgrade, a Connection and an Accept header, against a reference reading of the rules (a
 * WebSocket only for Upgrade: websocket with the token upgrade in the Connection list, an
 * EventSource for an event-stream Accept without Upgrade, long-poll otherwise); and
 * events_has_resume_id on a query string and resume headers (a request built here with its
 * FastCGI parameters, as http.c sees them), which must catch every last_event_id parameter
 * nchan would read (name compared raw and without case, as ngx_http_arg does) and every
 * resume header. Parts are NUL-separated; the first byte picks the headers present. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "fuzz.h"

/* Whether the comma-separated list holds token, white space (space, tab) around items ignored. */
static int ref_list_has(const char *list, const char *token)
{
    const char *p = list;

    for (;;) {
        size_t len = strcspn(p, ","), a = 0, b = len;
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
            b--;
        if (b - a == strlen(token) && strncasecmp(p + a, token, b - a) == 0)
            return 1;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/* Whether a parameter of query is named last_event_id, any case, as nchan would read it. */
static int ref_has_last_event_id(const char *query)
{
    static const char name[] = "last_event_id";
    const char *p = query;

    for (;;) {
        size_t len = strcspn(p, "&"), n = sizeof(name) - 1;
        if (len >= n && strncasecmp(p, name, n) == 0 && (len == n || p[n] == '='))
            return 1;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const resume[] = {"HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
                                         "HTTP_LAST_EVENT_ID"};
    char *parts[4], *env[4];
    size_t nenv = 0;
    unsigned sel;
    enum events_transport t, want;
    struct wire_in params;
    struct http_request req;

    if (size == 0)
        return 0;
    sel = data[0];
    fuzz_split(data + 1, size - 1, parts, 4);

    t = events_transport_of(parts[0], parts[1], parts[2]);
    if (strcasecmp(parts[0], "websocket") == 0 && ref_list_has(parts[1], "upgrade"))
        want = EVENTS_WEBSOCKET;
    else if (parts[0][0] == '\0' && strstr(parts[2], "text/event-stream") != NULL)
        want = EVENTS_EVENTSOURCE;
    else
        want = EVENTS_LONGPOLL;
    FUZZ_CHECK(t == want);

    for (size_t i = 0; i < 3; i++)
        if (sel & (1u << i))
            env[nenv++] = (char *)resume[i];
    env[nenv] = NULL;
    memset(&params, 0, sizeof(params));
    for (size_t i = 0; i < nenv; i++) {
        params.param[i].name = env[i];
        params.param[i].value = "x";
    }
    params.nparams = nenv;
    memset(&req, 0, sizeof(req));
    req.params = &params;
    req.query = parts[3];
    int has = events_has_resume_id(&req);
    FUZZ_CHECK(has == 0 || has == 1);
    if (nenv > 0 || ref_has_last_event_id(parts[3]))
        FUZZ_CHECK(has == 1);

    for (size_t i = 0; i < 4; i++)
        free(parts[i]);
    return 0;
}
