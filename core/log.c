#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Our flags (-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE, Debian 12's glibc) give the XSI
 * strerror_r, which returns an int and writes into the caller's buffer; _GNU_SOURCE would give
 * the GNU one, which returns a pointer that may not be buf. */
#ifdef _GNU_SOURCE
#error "log.c needs the XSI strerror_r: compile it without _GNU_SOURCE"
#endif

#define LOG_LINE_MAX 1024 /* bytes of one log line, longer lines are cut */

static const char *log_process = "wnc";
static enum log_level log_min_level = LOG_INFO;
static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *process_name)
{
    const char *level = getenv("WNC_LOG_LEVEL");

    log_process = process_name;
    if (level == NULL)
        return;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcmp(level, log_level_names[i]) == 0)
            log_min_level = (enum log_level)i;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    struct timespec now;
    struct tm tm;
    size_t used;
    va_list ap;

    if (level < log_min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    used = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    used += (size_t)snprintf(line + used, sizeof(line) - used,
                             ".%03ldZ %s[%d] %s: ", now.tv_nsec / 1000000, log_process,
                             (int)getpid(), log_level_names[level]);
    va_start(ap, fmt);
    if (used < sizeof(line))
        vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    /* One write per line keeps lines from several threads whole. */
    fprintf(stderr, "%s\n", line);
}

const char *log_errno(int errnum, char buf[LOG_ERRNO_LEN])
{
    /* XSI: 0, or an error number (EINVAL for an unknown errnum, ERANGE for a short buf). */
    if (strerror_r(errnum, buf, LOG_ERRNO_LEN) != 0)
        snprintf(buf, LOG_ERRNO_LEN, "error %d", errnum);
    return buf;
}
