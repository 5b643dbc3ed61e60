/* core/nchan.c's subscriber-info client (nchan_subscriber_ids), against a fake nchan on a unix
 * socket that answers as nchan 1.3.6's nchan_subscriber_info location does (measured:
 * docs/nchan-notes.md): a 200 head without a length, then one line per subscriber as they
 * answer, and no end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nchan.h"
#include "unit.h"

#define HEAD_200 "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nConnection: close\r\n\r\n"

/* The fake nchan: accepts one connection, keeps the request, writes chunks (NULL-terminated),
 * then closes at once (close_after) or holds the connection until the client hangs up. */
struct fake_nchan {
    int listener;
    const char *const *chunks;
    int close_after;
    char request[256];
};

static void *fake_nchan_serve(void *arg)
{
    struct fake_nchan *f = arg;
    int fd = accept(f->listener, NULL, NULL);
    ssize_t n;
    char drain[64];

    if (fd < 0)
        return NULL;
    n = recv(fd, f->request, sizeof(f->request) - 1, 0);
    f->request[n > 0 ? n : 0] = '\0';
    for (size_t i = 0; f->chunks[i] != NULL; i++) {
        if (send(fd, f->chunks[i], strlen(f->chunks[i]), MSG_NOSIGNAL) < 0)
            break;
        usleep(5000); /* separate reads on the other side */
    }
    if (!f->close_after)
        while (recv(fd, drain, sizeof(drain), 0) > 0)
            ;
    close(fd);
    return NULL;
}

/* What the callback saw, and the ids after which it says it has all it wants. */
struct seen_log {
    char lines[8][NCHAN_INFO_LINE_MAX];
    int n, want;
};

static int seen_record(const char *id, void *arg)
{
    struct seen_log *log = arg;

    if (log->n < 8)
        snprintf(log->lines[log->n++], NCHAN_INFO_LINE_MAX, "%s", id);
    return log->want > 0 && log->n >= log->want;
}

/* Runs nchan_subscriber_ids for ROOM01-1 (log and error set), or with log NULL
 * nchan_channel_fetch for it (into *fields), against a fake nchan writing chunks; returns its
 * result and copies the request the fake received. */
static int ask_fake(const char *const *chunks, int close_after, int timeout_ms,
                    struct seen_log *log, char error[NCHAN_ERROR_MAX], char *request,
                    size_t request_size, struct nchan_status *fields)
{
    char dir[] = "/tmp/wnc-nchan-XXXXXX", path[64];
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct fake_nchan f = {.chunks = chunks, .close_after = close_after};
    pthread_t t;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/publish.sock", dir);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    f.listener = socket(AF_UNIX, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL_FATAL(bind(f.listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
    CU_ASSERT_EQUAL_FATAL(listen(f.listener, 4), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, fake_nchan_serve, &f), 0);
    rc = log != NULL ? nchan_subscriber_ids(path, "ROOM01-1", timeout_ms, seen_record, log, error)
                     : nchan_channel_fetch(path, "ROOM01-1", timeout_ms, fields);
    /* The client hung up: the fake's read ends, and so does its thread. */
    pthread_join(t, NULL);
    close(f.listener);
    unlink(path);
    rmdir(dir);
    snprintf(request, request_size, "%s", f.request);
    return rc;
}

static void test_subscriber_ids_lines(void)
{
    char long_line[NCHAN_INFO_LINE_MAX + 40], huge_line[NCHAN_INFO_LINE_MAX * 5];
    char error[NCHAN_ERROR_MAX], request[256];
    struct seen_log log = {.want = 3};

    memset(long_line, 'x', sizeof(long_line) - 2);
    long_line[sizeof(long_line) - 2] = '\n';
    long_line[sizeof(long_line) - 1] = '\0';
    memset(huge_line, 'y', sizeof(huge_line) - 2); /* longer than the client's buffer */
    huge_line[sizeof(huge_line) - 2] = '\n';
    huge_line[sizeof(huge_line) - 1] = '\0';
    /* A head in two pieces, a line split across reads, lines too long for an id (one longer
     * than the client's buffer), CRLF. */
    const char *const chunks[] = {"HTTP/1.1 200 OK\r\nConnection: close\r\n",
                                  "\r\n0000000000000000000000000000aaaa\n00000000000000bb",
                                  "bb\n",
                                  long_line,
                                  huge_line,
                                  "00000000000000cc\r\n",
                                  "00000000000000dd\n",
                                  NULL};
    long long t0 = unit_mono_ms();

    CU_ASSERT_EQUAL(ask_fake(chunks, 0, 5000, &log, error, request, sizeof(request), NULL), 0);
    CU_ASSERT_STRING_EQUAL(request, "GET /info/ROOM01-1 HTTP/1.0\r\nHost: wnc\r\n\r\n");
    /* It stops as soon as the callback has what it wants: dd is never read, and the 5 s are
     * not waited out. */
    CU_ASSERT_EQUAL(log.n, 3);
    CU_ASSERT_STRING_EQUAL(log.lines[0], "0000000000000000000000000000aaaa");
    CU_ASSERT_STRING_EQUAL(log.lines[1], "00000000000000bbbb");
    CU_ASSERT_STRING_EQUAL(log.lines[2], "00000000000000cc");
    CU_ASSERT_TRUE(unit_mono_ms() - t0 < 4000);
}

static void test_subscriber_ids_time_up(void)
{
    char error[NCHAN_ERROR_MAX], request[256];
    struct seen_log log = {.want = 5};
    const char *const some[] = {HEAD_200, "00000000000000c1\n", NULL};
    const char *const none[] = {HEAD_200, NULL};
    long long t0 = unit_mono_ms();

    /* Fewer answers than wanted: the time is waited out, and what came is reported. */
    CU_ASSERT_EQUAL(ask_fake(some, 0, 200, &log, error, request, sizeof(request), NULL), 0);
    CU_ASSERT_TRUE(unit_mono_ms() - t0 >= 190);
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_STRING_EQUAL(log.lines[0], "00000000000000c1");
    /* No subscriber, and nchan closing (a reload): an answer with no line. */
    log.n = 0;
    CU_ASSERT_EQUAL(ask_fake(none, 1, 2000, &log, error, request, sizeof(request), NULL), 0);
    CU_ASSERT_EQUAL(log.n, 0);
}

static void test_subscriber_ids_failures(void)
{
    char error[NCHAN_ERROR_MAX], request[256];
    struct seen_log log = {.want = 1};
    const char *const refused[] = {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
                                   "00000000000000c1\n",
                                   NULL};
    const char *const garbage[] = {"hello\r\n\r\n00000000000000c1\n", NULL};
    const char *const silent[] = {NULL};

    /* Anything but a 200 is not an answer: -1, and no line is taken from it. */
    CU_ASSERT_EQUAL(ask_fake(refused, 1, 2000, &log, error, request, sizeof(request), NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(error, "403"));
    CU_ASSERT_EQUAL(ask_fake(garbage, 1, 2000, &log, error, request, sizeof(request), NULL), -1);
    /* Closed before any answer, or a socket nobody listens on: -1 too. */
    CU_ASSERT_EQUAL(ask_fake(silent, 1, 2000, &log, error, request, sizeof(request), NULL), -1);
    CU_ASSERT_EQUAL(nchan_subscriber_ids("/nonexistent/publish.sock", "ROOM01-1", 200, seen_record,
                                         &log, error),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(error, "connect"));
    CU_ASSERT_EQUAL(log.n, 0);
}

/* The channel's figures from the publisher location: how pushd learns how many answers to
 * expect. */
static void test_channel_fetch(void)
{
    char request[256];
    struct nchan_status f;
    const char *const figures[] = {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                   "Content-Length: 94\r\n\r\n"
                                   "queued messages: 0\r\nlast requested: -1 sec. ago\r\n"
                                   "active subscribers: 7\r\nlast message id: 0:0\r\n",
                                   NULL};
    const char *const none[] = {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", NULL};

    CU_ASSERT_EQUAL(ask_fake(figures, 1, 2000, NULL, NULL, request, sizeof(request), &f), 0);
    CU_ASSERT_STRING_EQUAL(request,
                           "GET /pub/ROOM01-1 HTTP/1.0\r\nHost: wnc\r\nAccept: text/plain\r\n\r\n");
    CU_ASSERT_EQUAL(f.status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nchan_status_field(&f, "active_subscribers"));
    CU_ASSERT_STRING_EQUAL(nchan_status_field(&f, "active_subscribers"), "7");
    /* No such channel: nchan holds no subscriber of it. */
    CU_ASSERT_EQUAL(ask_fake(none, 1, 2000, NULL, NULL, request, sizeof(request), &f), 0);
    CU_ASSERT_EQUAL(f.status, 404);
    CU_ASSERT_PTR_NULL(nchan_status_field(&f, "active_subscribers"));
}

static const struct unit_test nchan_tests[] = {
    {"channel figures: a GET of the publisher location", test_channel_fetch},
    {"subscriber ids: lines as they come, split or too long; stops when satisfied",
     test_subscriber_ids_lines},
    {"subscriber ids: fewer answers than wanted wait the time out", test_subscriber_ids_time_up},
    {"subscriber ids: a refusal, garbage, silence, no socket", test_subscriber_ids_failures},
    {NULL, NULL},
};

int test_nchan_register(void)
{
    CU_pSuite s = CU_add_suite("nchan", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, nchan_tests);
}
