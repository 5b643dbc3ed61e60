/*
 * echo.c - wnc-fcgi-echo, the REST floor of `make bench` (issue 13).
 *
 * The least a FastCGI application can do per request, served the way
 * wnc-fcgi serves: libfcgi, a unix socket (bound under a private name,
 * given its mode, renamed into place), a backlog of 1024, and N threads
 * that each accept and answer one connection at a time. Each request's
 * parameters are read the way ours are (method, path, content type,
 * address, Authorization), its body is read in full, and the answer is a
 * small JSON body. No Redis, no publish, no validation: what nginx plus
 * libfcgi cost per request on this box, for the ratio in the bench table.
 *
 *   wnc-fcgi-echo SOCKET_PATH [THREADS]
 *
 * THREADS defaults to wnc-fcgi's own default: twice the cores, at least 4.
 * SIGTERM or SIGINT ends the process (nothing to drain).
 */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The same cap wnc-fcgi puts on a request body. */
#define ECHO_MAX_BODY 16384

static int echo_fd = -1;

static const char *param(FCGX_Request *r, const char *name)
{
    const char *v = FCGX_GetParam(name, r->envp);
    return v != NULL ? v : "";
}

/* Serves one request: reads what ours read, answers a small JSON object. */
static void echo_one(FCGX_Request *r, char *body)
{
    size_t sum = strlen(param(r, "REQUEST_METHOD")) + strlen(param(r, "SCRIPT_NAME")) +
                 strlen(param(r, "QUERY_STRING")) + strlen(param(r, "CONTENT_TYPE")) +
                 strlen(param(r, "REMOTE_ADDR")) + strlen(param(r, "HTTP_AUTHORIZATION"));
    long want = strtol(param(r, "CONTENT_LENGTH"), NULL, 10);
    int got = 0;
    if (want > 0 && want <= ECHO_MAX_BODY)
        got = FCGX_GetStr(body, (int)want, r->in);
    /* Content-Length, as ours send it (no chunked encoding through nginx). */
    char out[128];
    int n = snprintf(out, sizeof out, "{\"ok\":true,\"bytes\":%d,\"params\":%lu}",
                     got < 0 ? 0 : got, (unsigned long)sum);
    FCGX_FPrintF(r->out,
                 "Status: 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n"
                 "Cache-Control: no-store\r\n\r\n",
                 n);
    FCGX_PutStr(out, n, r->out);
}

static void *echo_thread(void *arg)
{
    (void)arg;
    FCGX_Request r;
    char *body = malloc(ECHO_MAX_BODY);
    if (body == NULL || FCGX_InitRequest(&r, echo_fd, 0) != 0) {
        fprintf(stderr, "wnc-fcgi-echo: cannot set up a request\n");
        exit(1);
    }
    for (;;) {
        if (FCGX_Accept_r(&r) < 0) {
            /* EMFILE and friends: pause and keep the thread, as ours do. */
            usleep(10000);
            continue;
        }
        echo_one(&r, body);
        FCGX_Finish_r(&r);
    }
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
    const char *path = argv[1];
    int threads = argc == 3 ? atoi(argv[2]) : 0;
    if (threads <= 0)
        threads = default_threads();
    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0) {
        fprintf(stderr, "wnc-fcgi-echo: FCGX_Init failed\n");
        return 1;
    }
    /* nginx must never see the socket before its mode is set (EACCES would be a 502). nginx's
     * workers run as nobody under a root run: the socket is open to all, in a private run
     * directory. */
    char fresh[PATH_MAX];
    if ((size_t)snprintf(fresh, sizeof fresh, "%s.%ld", path, (long)getpid()) >= sizeof fresh) {
        fprintf(stderr, "wnc-fcgi-echo: socket path too long\n");
        return 1;
    }
    unlink(fresh);
    echo_fd = FCGX_OpenSocket(fresh, 1024);
    if (echo_fd < 0 || chmod(fresh, 0666) != 0 || rename(fresh, path) != 0) {
        fprintf(stderr, "wnc-fcgi-echo: cannot listen on %s: %s\n", path, strerror(errno));
        unlink(fresh);
        return 1;
    }
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
    fprintf(stderr, "wnc-fcgi-echo: listening on %s with %d threads\n", path, threads);
    int sig;
    sigwait(&stop, &sig);
    unlink(path);
    return 0;
}
