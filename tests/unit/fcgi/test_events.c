/* events.c: which nchan transport a subscription request gets, fed genuine handshakes and
 * near misses (a WebSocket only for Upgrade: websocket with Connection listing upgrade). */
#include <string.h>

#include "api.h"
#include "config.h"
#include "unit.h"

#define WS EVENTS_WEBSOCKET
#define ES EVENTS_EVENTSOURCE
#define LP EVENTS_LONGPOLL

static const struct {
    const char *upgrade, *connection, *accept;
    enum events_transport want;
} transport_rows[] = {
    /* Genuine WebSocket handshakes, as browsers and proxies spell them. */
    {"websocket", "Upgrade", "", WS},
    {"websocket", "upgrade", "*/*", WS},
    {"WebSocket", "UPGRADE", "", WS},
    {"websocket", "keep-alive, Upgrade", "", WS},
    {"websocket", "keep-alive,upgrade", "", WS},
    {"websocket", "Upgrade, keep-alive", "", WS},
    {"websocket", " upgrade ", "", WS},
    {"websocket", "\tupgrade\t", "", WS},
    {"websocket", ",,upgrade,,", "", WS},
    {"websocket", "close, keep-alive ,  Upgrade", "", WS},
    {"websocket", "Upgrade", "text/event-stream", WS},
    /* Near misses: the Connection list does not hold the token upgrade. */
    {"websocket", "", "", LP},
    {"websocket", "keep-alive", "", LP},
    {"websocket", "upgraded", "", LP},
    {"websocket", "upgrade-insecure-requests", "", LP},
    {"websocket", "xupgrade", "", LP},
    {"websocket", "up grade", "", LP},
    {"websocket", "upgrade;q=1", "", LP},
    {"websocket", "keep-alive upgrade", "", LP},
    {"websocket", "", "text/event-stream", LP},
    /* Another Upgrade, or none. */
    {"websockets", "upgrade", "", LP},
    {"websocket ", "upgrade", "", LP},
    {"web socket", "upgrade", "", LP},
    {"h2c", "upgrade", "", LP},
    {"h2c", "Upgrade", "text/event-stream", LP},
    {"", "upgrade", "", LP},
    /* EventSource: an event-stream Accept without Upgrade. */
    {"", "", "text/event-stream", ES},
    {"", "keep-alive", "text/event-stream", ES},
    {"", "upgrade", "text/event-stream", ES},
    {"", "", "text/html, text/event-stream;q=0.9", ES},
    /* Everything else: long-poll. */
    {"", "", "", LP},
    {"", "", "*/*", LP},
    {"", "", "application/json", LP},
    {"", "", "text/event", LP},
    {"", "keep-alive", "text/plain", LP},
};

static void test_events_transport(void)
{
    static const char *const names[EVENTS__MAX] = {"websocket", "eventsource", "longpoll"};

    for (size_t i = 0; i < sizeof(transport_rows) / sizeof(transport_rows[0]); i++) {
        enum events_transport got = events_transport_of(
            transport_rows[i].upgrade, transport_rows[i].connection, transport_rows[i].accept);
        UNIT_CHECK(got == transport_rows[i].want,
                   "row %zu (Upgrade \"%s\", Connection \"%s\", Accept \"%s\"): %s want %s", i,
                   transport_rows[i].upgrade, transport_rows[i].connection,
                   transport_rows[i].accept, (unsigned)got < EVENTS__MAX ? names[got] : "?",
                   names[transport_rows[i].want]);
    }
}

/* A long-poll ends within half the grace period, and waits at least a second. */
static void test_events_poll_timeout(void)
{
    int want = config.grace_ms / 2000 > 0 ? config.grace_ms / 2000 : 1;

    CU_ASSERT_EQUAL(events_poll_timeout_s(), want);
    CU_ASSERT_TRUE(events_poll_timeout_s() >= 1);
    CU_ASSERT_TRUE(events_poll_timeout_s() * 1000 <= config.grace_ms ||
                   events_poll_timeout_s() == 1);
}

static const struct unit_test events_tests[] = {
    {"events_transport_of: handshakes and near misses", test_events_transport},
    {"events_poll_timeout_s: half the grace period, at least 1 s", test_events_poll_timeout},
    {NULL, NULL},
};

int test_events_register(void)
{
    CU_pSuite s = CU_add_suite("events", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, events_tests);
}
