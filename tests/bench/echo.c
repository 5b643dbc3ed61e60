/*
 * echo.c - wnc-fcgi-echo, the REST floor of `make bench` (issue 13).
 *
 * The least our FastCGI application can do per request: wnc-fcgi's own
 * FastCGI layer (fcgi/http.c over fcgi/wire.c: the same socket set-up,
 * accept model, kept connections, parameter and body reading) with a
 * handler that answers a small JSON body. No Redis, no publish, no
 * validation: what nginx plus the FastCGI transport cost per request on
 * this box, for the ratio in the bench table.
 *
 *   wnc-fcgi-echo SOCKET_PATH [THREADS]
 *
 * THREADS defaults to wnc-fcgi's own default: twice the cores, at least 4.
 * SIGTERM or SIGINT ends the process (nothing to drain).
 */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

static int echo_fd = -1;
static volatile sig_atomic_t echo_stop;

/* Reads the body (the parameters ours read are read by http.c), answers a small JSON object. */
static void echo_handle(struct http_request *req, void *arg)
{
    char out[128];
    (void)arg;
    enum wnc_err e = http_read_body(req);
    int n = snprintf(out, sizeof out, "{\"ok\":true,\"bytes\":%zu,\"params\":%zu}",
                     e == E_OK ? req->body_len : 0, strlen(req->path) + strlen(req->query));
    http_reply(req, 200, out, (size_t)n);
}

static void *echo_thread(void *arg)
{
    (void)arg;
    http_serve(echo_fd, echo_handle, NULL, &echo_stop);
    return NULL;
}

static int default_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    return cores * 2 > 4 ? (int)(cores * 2) : 4;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: wnc-fcgi-echo SOCKET_PATH [THREADS]\n");
        return 2;
    }
    int threads = argc == 3 ? atoi(argv[2]) : 0;
    if (threads <= 0)
        threads = default_threads();
    log_init("wnc-fcgi-echo");
    signal(SIGPIPE, SIG_IGN);
    /* nginx's workers run as nobody/nogroup under a root run, as for the stack. */
    struct group *g = geteuid() == 0 ? getgrnam("nogroup") : NULL;
    if ((echo_fd = http_listen(argv[1], g != NULL ? g->gr_gid : (gid_t)-1)) < 0)
        return 1;
    /* Threads inherit the mask: only the main thread takes SIGTERM/SIGINT. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, echo_thread, NULL) != 0) {
            fprintf(stderr, "wnc-fcgi-echo: cannot start thread %d\n", i);
            return 1;
        }
    }
    fprintf(stderr, "wnc-fcgi-echo: listening on %s with %d threads\n", argv[1], threads);
    int sig;
    sigwait(&stop, &sig);
    unlink(argv[1]);
    return 0;
}
