/* The out-of-memory policy: our own allocations never fail. Each of these calls its libc
 * namesake and, when that returns NULL, logs how many bytes were asked for and aborts, as
 * tmux's xmalloc.c does. A daemon that cannot get a few KiB can do nothing useful, and a
 * failure path on every allocation is code that never runs until the day it is wrong; the
 * supervisor (scripts/stack.sh, systemd) restarts the process. So the code of core/, fcgi/ and
 * pushd/ allocates only through these and never tests their result for NULL, and no function
 * returns an error because memory ran out. Libraries that report their own allocation failures
 * (hiredis, json-c) are not ours to change: those failures come back like any other
 * error of theirs, translated at the one file that wraps each library.
 *
 * Header-only (static inline), so that every program linking a part of core/ (the daemons, the
 * unit tests, each fuzz driver) gets them without another object file. Each returned pointer is
 * the caller's, released with free(3). */
#ifndef WNC_XMALLOC_H
#define WNC_XMALLOC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Logs the failed request and aborts; never returns. */
static inline _Noreturn void xmalloc_fail(const char *what, size_t n, size_t size)
{
    log_error("out of memory: %s of %zu x %zu bytes", what, n, size);
    abort();
}

/* malloc(size); size 0 gives a unique pointer (malloc(1)) rather than NULL. */
static inline void *xmalloc(size_t size)
{
    void *p = malloc(size != 0 ? size : 1);

    if (p == NULL)
        xmalloc_fail("malloc", 1, size);
    return p;
}

/* calloc(n, size): zeroed, n * size checked for overflow (by calloc itself). */
static inline void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);

    if (p == NULL)
        xmalloc_fail("calloc", n, size);
    return p;
}

/* realloc(p, n * size), refusing (by aborting) a product that overflows size_t. p may be NULL. */
static inline void *xreallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        xmalloc_fail("realloc (overflow)", n, size);
    p = realloc(p, n * size != 0 ? n * size : 1);
    if (p == NULL)
        xmalloc_fail("realloc", n, size);
    return p;
}

/* A copy of s (NUL-terminated). */
static inline char *xstrdup(const char *s)
{
    size_t len = strlen(s);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len + 1);
    return p;
}

/* A NUL-terminated copy of the first len bytes of s, which may hold NUL bytes (binary-safe:
 * unlike strndup, it copies exactly len bytes). len must be below SIZE_MAX. */
static inline char *xmemdup0(const void *s, size_t len)
{
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

#endif
