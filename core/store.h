/* The store: the only module that includes hiredis. One struct store per thread (a blocking
 * connection is not shared), to one Redis or to a Redis Cluster (a connection per master,
 * calls routed by slot). It connects lazily, reconnects after any I/O error, and loads the
 * functions library (script.h) when Redis does not have it (a fresh or flushed Redis, a new
 * version), then retries the call. Its replies are our own flat
 * struct store_reply; Redis errors come back as enum wnc_err (a script's error reply
 * "WNC <code>" maps to that code's enum value; anything else is logged). */
#ifndef WNC_STORE_H
#define WNC_STORE_H

#include <stddef.h>

#include "cluster.h"
#include "err.h"
#include "script.h"

/* Bytes for any integer Redis takes or gives as decimal text, with its NUL: a long long
 * ("-9223372036854775808") or an unsigned 64-bit SSCAN cursor ("18446744073709551615"). Every
 * number-as-text buffer of a command's arguments or of a reply is this size. */
#define STORE_NUMBER_LEN 21

struct store;

/* A reply flattened into strings: an array reply gives one item per element (nested arrays are
 * flattened in order), any other reply one item. Integers come as decimal strings, nil as
 * NULL. The reply owns its strings; store_reply_free releases them (harmless when zeroed). */
struct store_reply {
    size_t n;
    char **items;
    size_t *lens;
};

/* Returns a store for host:port (nothing is connected yet); never NULL (xmalloc.h). Free it
 * with store_close. */
struct store *store_open(const char *host, int port);

/* Returns a store for a Redis Cluster reached through seeds[0..n) (nothing is connected yet):
 * each call goes to the master of its key's slot (store_eval: the first key; commands without
 * a key: any master), following MOVED and ASK, and waits out a failover for a bounded time.
 * Never NULL; free it with store_close. */
struct store *store_open_cluster(const struct cluster_addr *seeds, size_t n);

/* store_open_cluster on WNC_REDIS_CLUSTER's seeds when it is set, else store_open on
 * WNC_REDIS_HOST and WNC_REDIS_PORT (config.h; config_load has run). */
struct store *store_open_config(void);

/* Harmless no-op for NULL. */
void store_close(struct store *st);

/* E_OK when Redis answers PING. */
enum wnc_err store_ping(struct store *st);

/* Calls one of the operations of script.h (FCALL). keys and args are binary-safe (lens may be NULL
 * when all args are NUL-terminated). On E_OK *out holds the reply. */
enum wnc_err store_eval(struct store *st, enum script_id script, int nkeys, const char **keys,
                        int nargs, const char **args, const size_t *arg_lens,
                        struct store_reply *out);

/* store_eval, and one read of the same slot (read_argv: read_argc NUL-terminated words) in the
 * same transaction (MULTI/EXEC: nothing runs between the two), its reply in *read_out. For an
 * answer that needs more data than a script should carry through Lua (exec_room: the room's
 * users). On E_OK both replies are there; otherwise neither (both are freed). Should Redis
 * refuse MULTI (a busy script), the two run one after the other. */
enum wnc_err store_eval_read(struct store *st, enum script_id script, int nkeys, const char **keys,
                             int nargs, const char **args, const size_t *arg_lens, int read_argc,
                             const char **read_argv, struct store_reply *out,
                             struct store_reply *read_out);

/* Runs one command given as argv; out may be NULL when the reply is not needed. */
enum wnc_err store_command(struct store *st, int argc, const char **argv, const size_t *lens,
                           struct store_reply *out);

/* Runs n commands of argc words each (argv[i], NUL-terminated words; a row may end earlier
 * with a NULL word) in one round trip (pipelined), for reads and idempotent writes that would
 * otherwise cost one round trip each. *out holds the replies in order, each flattened as
 * store_command's. A kept connection found broken is opened again and the commands sent once
 * more (so never pipeline what must not run twice); otherwise E_REDIS_UNAVAILABLE. An error
 * reply gives E_INTERNAL after the rest is read. On a cluster: one call each, in order. */
enum wnc_err store_pipeline(struct store *st, size_t n, int argc, const char **const *argv,
                            struct store_reply *out);

void store_reply_free(struct store_reply *r);

#endif
