/* The publisher: posts event envelopes to nchan's internal publisher location over one
 * persistent HTTP/1.1 connection on a unix socket (one struct publisher per thread). It
 * reconnects after any error. Publishing is best effort: the state change has already happened
 * in Redis, and clients repair a missed event from the seq gap. */
#ifndef WNC_PUBLISH_H
#define WNC_PUBLISH_H

#include <stddef.h>

#include "err.h"

struct publisher;

/* Returns a publisher for the socket path (not yet connected), or NULL when out of memory. */
struct publisher *publisher_open(const char *socket_path);

/* Harmless no-op for NULL. */
void publisher_close(struct publisher *pub);

/* Publishes json[0..len) to a channel ("<room>-<epoch>"). E_OK once nchan accepted it. */
enum wnc_err publisher_send(struct publisher *pub, const char *channel, const char *json,
                            size_t len);

/* Deletes a channel, which disconnects all its subscribers. */
enum wnc_err publisher_close_channel(struct publisher *pub, const char *channel);

#endif
