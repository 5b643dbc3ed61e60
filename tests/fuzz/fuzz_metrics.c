/* The metrics listener's parsers (core/metrics.c, core/nchan.c): what a scraper, or anyone who
 * reaches WNC_METRICS_LISTEN, sends, and what nchan's status page answers. The first byte picks
 * which one and, for the request check, the head limit. Beyond not crashing: the request check
 * answers only its documented statuses, waits (0) only while fewer than max bytes came, and gives
 * the same answer on a longer input once it has decided; the listen spec parser leaves a
 * NUL-terminated cause when it refuses and a loopback port in 1..65535 when it accepts; an event
 * type index stays in range; nchan's fields are NUL-terminated and at most NCHAN_FIELDS_MAX. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "metrics.h"
#include "nchan.h"

static void fuzz_request(const uint8_t *data, size_t size, size_t max)
{
    char *buf = fuzz_bytes(data, size);
    int got = metrics_http_check(buf, size, max);

    FUZZ_CHECK(got == 0 || got == 200 || got == 400 || got == 404 || got == 405 || got == 431);
    if (got == 0)
        FUZZ_CHECK(size < max);
    /* A decision taken on a prefix stands: more bytes never change it. */
    for (size_t cut = 0; cut < size; cut++) {
        int early = metrics_http_check(buf, cut, max);
        FUZZ_CHECK(early == 0 || early == got);
    }
    free(buf);
}

static void fuzz_listen(const uint8_t *data, size_t size)
{
    char *spec = fuzz_string(data, size), cause[64];
    struct metrics_listen out;

    memset(cause, '#', sizeof(cause));
    if (metrics_listen_parse(spec, &out, cause, sizeof(cause)) != 0) {
        FUZZ_CHECK(memchr(cause, '\0', sizeof(cause)) != NULL);
    } else if (out.kind == METRICS_LISTEN_TCP) {
        FUZZ_CHECK(out.port >= 1 && out.port <= 65535);
        FUZZ_CHECK(out.family == AF_INET ? out.addr[0] == 127
                                         : out.family == AF_INET6 && out.addr[15] == 1);
    } else if (out.kind == METRICS_LISTEN_UNIX) {
        FUZZ_CHECK(memchr(out.path, '\0', sizeof(out.path)) != NULL);
    }
    free(spec);
}

static void fuzz_nchan(const uint8_t *data, size_t size)
{
    char *text = fuzz_bytes(data, size);
    struct nchan_status st;

    memset(&st, 0, sizeof(st));
    nchan_status_parse(text, size, &st);
    FUZZ_CHECK(st.n <= NCHAN_FIELDS_MAX);
    for (size_t i = 0; i < st.n; i++) {
        FUZZ_CHECK(memchr(st.field[i].name, '\0', NCHAN_NAME_MAX) != NULL);
        FUZZ_CHECK(memchr(st.field[i].value, '\0', NCHAN_VALUE_MAX) != NULL);
    }
    FUZZ_CHECK(metrics_event_type(text, size) <= METRICS_EVENT_TYPES);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        /* Head limits from 1 byte to METRICS_REQUEST_MAX, the listener's own. */
        fuzz_request(data + 1, size - 1, 1 + (size_t)data[0] * METRICS_REQUEST_MAX / 256);
        break;
    case 1:
        fuzz_listen(data + 1, size - 1);
        break;
    default:
        fuzz_nchan(data + 1, size - 1);
        break;
    }
    return 0;
}
