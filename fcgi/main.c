/* wnc-fcgi: the FastCGI workers. One process, config.workers threads, each with its own Redis
 * connection, all accepting on one unix socket, and one queued publisher (its own thread and
 * connection to nchan) they share. SIGTERM or SIGINT stops it. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "publish.h"
#include "route.h"
#include "script.h"
#include "store.h"

static volatile sig_atomic_t main_stop;
static int main_listen_fd;
static struct publisher *main_publisher;

static void main_handle(struct http_request *req, void *arg)
{
    route_dispatch(req, arg);
}

static void *main_thread(void *arg)
{
    struct worker w = {
        .store = store_open(config.redis_host, config.redis_port),
        .pub = main_publisher,
    };

    (void)arg;
    if (w.store == NULL) {
        log_error("fcgi: out of memory");
        exit(1);
    }
    http_serve(main_listen_fd, main_handle, &w, &main_stop);
    store_close(w.store);
    return NULL;
}

/* Hands the socket to WNC_FCGI_SOCKET_GROUP (mode 0660 stays): nginx's workers run as an
 * unprivileged user that must connect, while nobody else may. Returns 0 or -1 after logging. */
static int main_socket_group(void)
{
    struct group *g;

    if (*config.fcgi_socket_group == '\0')
        return 0;
    if ((g = getgrnam(config.fcgi_socket_group)) == NULL) {
        log_error("config: WNC_FCGI_SOCKET_GROUP=\"%s\" is not a group", config.fcgi_socket_group);
        return -1;
    }
    if (chown(config.fcgi_socket, (uid_t)-1, g->gr_gid) != 0) {
        log_error("fcgi: cannot give %s to group %s: %s", config.fcgi_socket,
                  config.fcgi_socket_group, strerror(errno));
        return -1;
    }
    return 0;
}

int main(void)
{
    sigset_t stop_signals;
    pthread_t *threads;
    int sig;

    log_init("wnc-fcgi");
    if (config_load() != 0 || scripts_load(config.sql_dir) != 0)
        return 1;
    /* Threads inherit this mask: only the main thread receives SIGTERM/SIGINT. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((main_listen_fd = http_listen(config.fcgi_socket)) < 0 || main_socket_group() != 0)
        return 1;
    main_publisher = publisher_open(config.publish_socket);
    if (main_publisher == NULL || publisher_start_queue(main_publisher) != E_OK)
        return 1;
    threads = calloc((size_t)config.workers, sizeof(*threads));
    if (threads == NULL)
        return 1;
    for (int i = 0; i < config.workers; i++)
        if (pthread_create(&threads[i], NULL, main_thread, NULL) != 0) {
            log_error("fcgi: cannot start worker thread %d", i);
            return 1;
        }
    log_info("listening on %s with %d workers (redis %s:%d)", config.fcgi_socket, config.workers,
             config.redis_host, config.redis_port);
    sigwait(&stop_signals, &sig);
    log_info("stopping on signal %d", sig);
    main_stop = 1;
    /* Workers blocked in accept would wait for one more request; requests in flight are short,
     * and nginx retries nothing, so leaving now is safe. */
    free(threads);
    return 0;
}
