/* The metrics listener of wnc-fcgi: a thread of its own serving the Prometheus exposition
 * (metrics.h) on WNC_METRICS_LISTEN, a unix socket or a loopback port, never through nginx's
 * public server. Plain HTTP/1.0: one GET /metrics per connection, a few connections at a time,
 * each with a bounded head (METRICS_REQUEST_MAX) and deadline; anything else is answered 400,
 * 404, 405 or 431 and closed. At each scrape it reads a few figures from Redis (its own
 * connection) and nchan's stub status on the publisher socket; the worker threads are never
 * waited for. */
#ifndef WNC_SCRAPE_H
#define WNC_SCRAPE_H

#include "metrics.h"

/* Binds the listener (config.metrics_listen, parsed into *at) and starts the thread. Returns 0
 * (also when the listener is off), or -1 after logging. */
int scrape_start(const struct metrics_listen *at, int worker_threads);

/* Stops the thread (a scrape under way finishes first, within its deadlines) and removes a unix
 * socket. Harmless when not started. */
void scrape_stop(void);

#endif
