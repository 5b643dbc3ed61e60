/* HTTP glue: the only module that speaks FastCGI to nginx (through the record layer, wire.h).
 * It accepts connections, hands each request to a handler as a struct http_request (parameters
 * and body in), and writes the response (status, headers, body out). Request strings are owned
 * by the request and die when the handler returns. */
#ifndef WNC_HTTP_H
#define WNC_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "wire.h"

#define HTTP_MAX_BODY 16384 /* equal to nginx's client_max_body_size */
#define HTTP_MAX_EXTRA_HEADERS 512

struct http_request {
    const char *method;
    const char *path;
    const char *query;         /* "" when absent */
    const char *content_type;  /* "" when absent */
    const char *authorization; /* "" when absent */
    const char *upgrade;       /* the Upgrade header, "" when absent */
    const char *accept;        /* the Accept header, "" when absent */
    /* nginx's $request_id (the REQUEST_ID parameter) when it is one (log_request_id_valid),
     * else "": in error bodies ("requestId") and, while the request is served, in every log
     * line of its thread. nginx sends it back as X-Request-Id. */
    char request_id[LOG_REQUEST_ID_LEN + 1];
    /* The client's address in canonical text: REMOTE_ADDR, or when that is a trusted proxy
     * (WNC_TRUSTED_PROXIES) the client it names in X-Forwarded-For (addr_client); "" when
     * unknown. limit_key is what per-IP limits count under (addr_limit_key: IPv6 by /64). */
    char remote_addr[ADDR_TEXT_LEN];
    char limit_key[ADDR_TEXT_LEN];
    char *body; /* NUL-terminated; NULL when empty */
    size_t body_len;
    int replied;
    int status; /* the status http_reply sent (metrics), 0 before */
    char headers[HTTP_MAX_EXTRA_HEADERS];
    size_t headers_len;
    const struct wire_in *params; /* every FastCGI parameter and the body (http_header) */
    struct buf text;              /* the answer as http_reply formats it, private to http.c */
};

typedef void (*http_handler)(struct http_request *req, void *arg);

/* Opens the FastCGI listening socket at path, mode 0660 and owned by group ((gid_t)-1: the
 * process's), and puts it in place in one step. Returns the fd, or -1 after logging. */
int http_listen(const char *socket_path, gid_t group);

/* The listening socket this process was started with, if any, into *fd: systemd's (socket
 * activation, sd_listen_fds(3): LISTEN_PID is this process and LISTEN_FDS is 1, so fd 3; the
 * LISTEN_* variables are then removed from the environment), or else spawn-fcgi's (fd 0 is a
 * listening unix socket, told by SO_ACCEPTCONN: a terminal, /dev/null, a pipe or a connected
 * socket is not one). Returns 1 (use *fd instead of http_listen; its mode and group are the
 * starter's business), 0 when there is none, or -1 after logging (systemd passed several
 * sockets, or one that does not listen). The socket is not this process's alone: a restarted
 * worker gets it again, with the connections that waited meanwhile, so http_stop never shuts it
 * down. */
int http_inherited(int *fd);

/* Accepts and serves requests on fd (the socket http_listen or http_inherited set up); one call
 * per thread, each with its own arg (its Redis connection), all sharing the connections: a
 * thread is taken only while a whole request is being answered, never by an idle connection
 * nginx keeps. A failed accept is logged (rate-limited) and retried after a short pause. The
 * call returns once *stop is set, http_stop(fd) was called and no request is in progress
 * anywhere: on a socket of our own the connections already queued are served first; on an
 * inherited one they stay queued for the next worker. The last thread out closes the idle
 * connections. */
void http_serve(int fd, http_handler handle, void *arg, volatile sig_atomic_t *stop);

/* Makes every http_serve on fd return (after setting *stop). A socket of our own is shut down
 * (new connects fail at once); an inherited one is left as it is. The connections nginx keeps
 * idle are ended, and the threads woken. Errors are logged. */
void http_stop(int fd);

/* Adds "Name: value" to the response headers. */
void http_add_header(struct http_request *req, const char *name, const char *value);

/* Sends the response: status, the added headers, and body (JSON) unless len is 0 and status
 * is 204. Later calls for the same request are ignored. */
void http_reply(struct http_request *req, int status, const char *body, size_t len);

/* Sends the JSON error for e, {"error":{"code","message","field","requestId"}}; field and cause
 * may be NULL (cause overrides the default message); requestId is the request's id, or null
 * without one. */
void http_reply_error(struct http_request *req, enum wnc_err e, const char *field,
                      const char *cause);

/* Copies the URL-decoded value of query parameter name into out (size bytes). Returns 1 when
 * present and it fits, 0 otherwise. */
int http_query_param(const struct http_request *req, const char *name, char *out, size_t size);

/* The FastCGI parameter param of the request ("HTTP_CONNECTION", ...), "" when absent; for
 * headers read by one handler only (the common ones are fields above). Lives as long as the
 * request. */
const char *http_header(const struct http_request *req, const char *param);

/* Reads the request's body (up to HTTP_MAX_BODY, as http_content_length allows). Called by the
 * dispatcher for routes that take one. */
enum wnc_err http_read_body(struct http_request *req);

/* Parses a CONTENT_LENGTH parameter (pure, for http_read_body, the tests and the fuzzer): "" (no
 * body) is 0, otherwise only decimal digits, leading zeros allowed, no sign or white space.
 * Returns E_OK and writes *out, E_INVALID_JSON when the text is not such a number, or
 * E_BODY_TOO_LARGE when it is above max (however many digits it has). text must not be NULL. */
enum wnc_err http_content_length(const char *text, size_t max, size_t *out);

#endif
