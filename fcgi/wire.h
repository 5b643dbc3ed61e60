/* The FastCGI record layer (FastCGI 1.0, the Responder role): turns the bytes nginx sends on one
 * connection into requests (parameters and body), and requests' answers into records. Pure: no
 * sockets, no threads; http.c reads and writes, this file only parses and encodes, so it can be
 * fuzzed on its own.
 *
 * One request at a time per connection, as nginx sends them (it never multiplexes): a second
 * BEGIN_REQUEST while one is open is refused with END_REQUEST (CANT_MPX_CONN). With the
 * KEEP_CONN flag the connection carries further requests after the answer (nginx's
 * fastcgi_keep_conn), which is why this layer exists: libfcgi served a kept connection with a
 * thread that waited on it even while it was idle. */
#ifndef WNC_WIRE_H
#define WNC_WIRE_H

#include <stddef.h>

#include "buf.h"

#define WIRE_MAX_PARAM_BYTES 16384 /* one request's encoded parameters (ours: well under 1 KiB) */
#define WIRE_MAX_PARAMS 64         /* name-value pairs in one request */
#define WIRE_RECORD_MAX (8 + 65535 + 255) /* header, the longest content and padding */

/* One parameter: name and value as C strings (a NUL inside ends them early). */
struct wire_param {
    const char *name;
    const char *value;
};

/* What arrived on one connection. Zeroed is empty and valid; wire_in_free releases it. */
struct wire_in {
    unsigned char *raw; /* bytes read and not yet parsed */
    size_t raw_len, raw_cap;
    /* The open request: id 0 when there is none. */
    unsigned id;
    int keep_conn;
    int params_done, stdin_done;
    struct buf params; /* the PARAMS stream as received, then the decoded strings */
    struct wire_param param[WIRE_MAX_PARAMS];
    size_t nparams;
    struct buf body;  /* the STDIN stream, up to the caller's limit */
    int body_over;    /* more STDIN came than the limit: body holds only the first part */
    struct buf reply; /* records to send before anything else (refusals, management answers) */
};

enum wire_status {
    WIRE_MORE,  /* no request complete yet: read more (after sending reply, if any) */
    WIRE_READY, /* a request is complete: serve it, then wire_in_next */
    WIRE_CLOSE, /* send reply, if any, then close the connection (a protocol error, or a refused
                 * request without KEEP_CONN) */
};

/* Room for at least want more bytes at the end of the unparsed input: returns where to read
 * them to and sets *room; wire_in_commit then counts what was read. */
unsigned char *wire_in_space(struct wire_in *in, size_t want, size_t *room);
void wire_in_commit(struct wire_in *in, size_t n);

/* Parses the records received so far, up to the end of the first complete request. STDIN past
 * max_body bytes is dropped (body_over). Management records are answered into reply. */
enum wire_status wire_in_parse(struct wire_in *in, size_t max_body);

/* The value of parameter name in the ready request, or NULL. The string lives until
 * wire_in_next. */
const char *wire_param(const struct wire_in *in, const char *name);

/* Forgets the request that was served; bytes of the next one already read are kept. */
void wire_in_next(struct wire_in *in);

/* Releases in's memory (harmless on a zeroed one); in is zeroed after. */
void wire_in_free(struct wire_in *in);

/* Appends the answer to request id: data as STDOUT records, the empty STDOUT record that ends
 * the stream, then END_REQUEST (REQUEST_COMPLETE, application status 0). */
void wire_put_answer(struct buf *out, unsigned id, const char *data, size_t len);

#endif
