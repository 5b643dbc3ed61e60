/* wnc-fcgi: the FastCGI workers. One process, config.workers threads, each with its own Redis
 * connection, all accepting on one unix socket, and one queued publisher (its own thread and
 * connection to nchan) they share.
 *
 * It listens on WNC_FCGI_SOCKET, or on the socket it was started with: systemd's (socket
 * activation, wnc-fcgi.socket) or spawn-fcgi's (fd 0); see http_inherited.
 *
 * SIGTERM or SIGINT stops it cleanly: a socket of its own is shut down (nginx's new connects
 * fail at once instead of waiting in a backlog nobody serves; what was already queued there is
 * still answered), an inherited one is left to the next worker with its backlog; the threads
 * finish the requests in flight and leave, then the publisher sends every event already queued
 * (each one is committed in Redis, and a client only learns of it through nchan). Each wait is
 * bounded; the exit status is 0 when all went through.
 *
 * With WNC_METRICS_LISTEN set, a thread of its own serves the Prometheus metrics there
 * (fcgi/scrape.c, docs/metrics.md), on a unix socket or a loopback port only.
 *
 * `wnc-fcgi --check-config` prints the effective configuration and exits 0, or 1 after naming
 * the variable that is invalid. */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "password.h"
#include "publish.h"
#include "route.h"
#include "scrape.h"
#include "script.h"
#include "store.h"
#include "timeout.h"
#include "xmalloc.h"

#define MAIN_JOIN_MS 10000 /* how long requests in flight may take to finish at a stop */
#define MAIN_DRAIN_MS 5000 /* then how long nchan may take to accept the queued events */

static volatile sig_atomic_t main_stop;
static int main_listen_fd;
static struct publisher *main_publisher;

/* Worker threads still running; the last one out signals main_done. */
static pthread_mutex_t main_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t main_done = PTHREAD_COND_INITIALIZER;
static int main_running;

static void main_handle(struct http_request *req, void *arg)
{
    route_dispatch(req, arg);
}

static void *main_thread(void *arg)
{
    struct worker w = {
        .store = store_open_config(),
        .pub = main_publisher,
    };

    (void)arg;
    http_serve(main_listen_fd, main_handle, &w, &main_stop);
    store_close(w.store);
    pthread_mutex_lock(&main_lock);
    if (--main_running == 0)
        pthread_cond_signal(&main_done);
    pthread_mutex_unlock(&main_lock);
    return NULL;
}

/* Waits until every worker thread has returned from http_serve, at most ms. Returns how many
 * are still running (0: all done). */
static int main_wait_workers(int ms)
{
    /* main_done uses the default clock, CLOCK_REALTIME. */
    struct timespec until = timeout_deadline(CLOCK_REALTIME, ms);
    int left;

    pthread_mutex_lock(&main_lock);
    while (main_running > 0 && pthread_cond_timedwait(&main_done, &main_lock, &until) == 0)
        ;
    left = main_running;
    pthread_mutex_unlock(&main_lock);
    return left;
}

/* The group WNC_FCGI_SOCKET_GROUP names: nginx's workers run as an unprivileged user that must
 * connect, while nobody else may. Sets *gid ((gid_t)-1: none asked); returns 0 or -1 after
 * logging. */
static int main_socket_group(gid_t *gid)
{
    struct group *g;

    *gid = (gid_t)-1;
    if (*config.fcgi_socket_group == '\0')
        return 0;
    if ((g = getgrnam(config.fcgi_socket_group)) == NULL) {
        log_error("config: WNC_FCGI_SOCKET_GROUP=\"%s\" is not a group", config.fcgi_socket_group);
        return -1;
    }
    *gid = g->gr_gid;
    return 0;
}

/* The configuration and what it names (the Lua library, the socket's group) are usable. */
static int main_config_ok(gid_t *socket_gid)
{
    if (config_load() != 0)
        return 0;
    if (scripts_load(config.sql_dir) != 0) {
        log_error("config: WNC_SQL_DIR=\"%s\" does not hold the Lua library", config.sql_dir);
        return 0;
    }
    return main_socket_group(socket_gid) == 0;
}

int main(int argc, char **argv)
{
    sigset_t stop_signals;
    pthread_t *threads;
    gid_t socket_gid;
    int sig, inherited;

    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--check-config") != 0)) {
        fprintf(stderr, "usage: wnc-fcgi [--check-config]\n"
                        "  configuration from WNC_* environment variables (see README);\n"
                        "  --check-config prints it and exits, non-zero if a value is invalid\n");
        return 2;
    }
    log_init("wnc-fcgi");
    if (argc == 2) {
        if (!main_config_ok(&socket_gid))
            return 1;
        config_print(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (!main_config_ok(&socket_gid) || password_init() != 0)
        return 1;
    /* Threads inherit this mask: only the main thread receives SIGTERM/SIGINT. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((inherited = http_inherited(&main_listen_fd)) < 0 ||
        (!inherited && (main_listen_fd = http_listen(config.fcgi_socket, socket_gid)) < 0))
        return 1;
    main_publisher = publisher_open(config.publish_socket);
    if (publisher_start_queue(main_publisher) != E_OK)
        return 1;
    struct metrics_listen metrics_at;
    if (metrics_listen_parse(config.metrics_listen, &metrics_at, NULL, 0) != 0 ||
        scrape_start(&metrics_at, config.workers) != 0)
        return 1;
    threads = xcalloc((size_t)config.workers, sizeof(*threads));
    for (int i = 0; i < config.workers; i++) {
        pthread_mutex_lock(&main_lock);
        main_running++;
        pthread_mutex_unlock(&main_lock);
        if (pthread_create(&threads[i], NULL, main_thread, NULL) != 0) {
            log_error("fcgi: cannot start worker thread %d", i);
            return 1;
        }
    }
    if (inherited)
        log_info("listening on the inherited socket (fd %d) with %d workers (redis %s:%d)",
                 main_listen_fd, config.workers, config.redis_host, config.redis_port);
    else
        log_info("listening on %s with %d workers (redis %s:%d)", config.fcgi_socket,
                 config.workers, config.redis_host, config.redis_port);
    sigwait(&stop_signals, &sig);
    long long t0 = timeout_mono_ms();
    log_info("stopping on signal %d: no new requests, finishing those in flight", sig);
    main_stop = 1;
    http_stop(main_listen_fd);
    scrape_stop();
    int busy = main_wait_workers(MAIN_JOIN_MS);
    if (busy > 0) {
        /* A thread stuck in a request: leave anyway, without freeing what it may still use;
         * the events queued so far are sent all the same. */
        log_error("fcgi: %d worker thread(s) still busy after %d ms; leaving without them", busy,
                  MAIN_JOIN_MS);
        publisher_drain(main_publisher, MAIN_DRAIN_MS);
        return 1;
    }
    for (int i = 0; i < config.workers; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    close(main_listen_fd);
    long long t1 = timeout_mono_ms();
    enum wnc_err drained = publisher_drain(main_publisher, MAIN_DRAIN_MS);
    publisher_close(main_publisher);
    log_info("stopped: requests finished in %lld ms, queued events %s in %lld ms", t1 - t0,
             drained == E_OK ? "all sent" : "partly lost (see above)", timeout_mono_ms() - t1);
    return drained == E_OK ? 0 : 1;
}
