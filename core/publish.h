/* The publisher: posts event envelopes to nchan's internal publisher location over one
 * persistent HTTP/1.1 connection on a unix socket. It reconnects after any error. Publishing
 * is best effort: the state change has already happened in Redis, and clients repair a missed
 * event from the seq gap.
 *
 * Two modes. A plain publisher (pushd, tests) sends one request and waits for nchan's answer.
 * After publisher_start_queue it owns a thread instead: publisher_send and
 * publisher_close_channel then only append to a queue (safe from any thread) and return E_OK;
 * the thread writes the queued requests in order, pipelined on its one connection, and reads
 * the answers afterwards. nchan answers a publish only once it has handed the message to every
 * local subscriber, so waiting for it in the request path capped a worker thread at a few
 * hundred actions per second; and one ordered connection per process keeps a room's events in
 * the order the workers queue them.
 *
 * Delivery is at most once. A batch the connection fails in the middle of (nginx closed it,
 * nchan stopped answering) is not resent, since nchan may have taken part of it and a resend
 * would duplicate that part; the next batch goes out on a fresh connection. */
#ifndef WNC_PUBLISH_H
#define WNC_PUBLISH_H

#include <stddef.h>

#include "err.h"

#define PUBLISH_DRAIN_MS 5000    /* publisher_close's bound on flushing the queue */
#define PUBLISH_QUEUE_MAX 100000 /* requests queued; beyond this nchan is stuck and we drop */
#define PUBLISH_BATCH_MAX 256    /* requests written before their answers are read */

struct publisher;

/* Returns a publisher for the socket path (not yet connected); never NULL (xmalloc.h). Free it
 * with publisher_close. */
struct publisher *publisher_open(const char *socket_path);

/* Switches pub to queued mode (see above). Returns E_OK, or E_INTERNAL if the thread could not
 * start (pub then stays synchronous). */
enum wnc_err publisher_start_queue(struct publisher *pub);

/* Queued mode: refuses new requests from now on (publisher_send and publisher_close_channel
 * then return E_INTERNAL), writes everything already queued and reads nchan's answers, then
 * stops the thread. It takes at most about timeout_ms, or PUBLISH_TIMEOUT_MS (2 s) if that is
 * longer and a batch was under way: what is still queued then, or when a fresh connection to
 * nchan fails, is dropped with a log line, since nchan is gone or stuck and the process is
 * leaving. Returns E_OK when nchan answered every request the drain saw queued or in flight,
 * E_INTERNAL when some were lost. A synchronous publisher has nothing queued (E_OK); a second
 * call only returns the first one's result. Call it from one thread. */
enum wnc_err publisher_drain(struct publisher *pub, int timeout_ms);

/* Drains the queue (publisher_drain, PUBLISH_DRAIN_MS) unless that was done, then frees pub.
 * Harmless no-op for NULL. */
void publisher_close(struct publisher *pub);

/* Publishes json[0..len) to a channel ("<room>-<epoch>", at most CHANNEL_MAX_LEN bytes: ids.h).
 * Synchronous mode: E_OK once nchan accepted it. Queued mode: E_OK once queued (json and
 * channel are copied), E_INTERNAL when the channel is too long, the queue holds
 * PUBLISH_QUEUE_MAX requests already (nchan is stuck: the event is dropped with a log line)
 * or a drain has begun. */
enum wnc_err publisher_send(struct publisher *pub, const char *channel, const char *json,
                            size_t len);

/* Deletes a channel, which disconnects all its subscribers; queued behind earlier sends. */
enum wnc_err publisher_close_channel(struct publisher *pub, const char *channel);

/* Parses the HTTP/1.x response at the start of buf[0..len) (pure, for the publisher, the tests
 * and the fuzzer; only the first max bytes count, as if len were at most max). The status line
 * is "HTTP/1.0" or "HTTP/1.1", a space, three digits (200 to 599: 1xx and others are refused)
 * and an optional reason; header names are tokens, values text without control characters but
 * tab. The body is framed by one Content-Length (repeats must agree) or by Transfer-Encoding:
 * chunked (extensions and trailers skipped), never both; none means no body, and 204 and 304
 * never have one. Returns the status with *consumed set to the length of the whole response
 * (headers and body, at most len), 0 when buf holds the beginning of a response that may still
 * fit in max bytes, or -1 when it is malformed or cannot fit. */
int publish_parse_response(const char *buf, size_t len, size_t max, size_t *consumed);

#endif
