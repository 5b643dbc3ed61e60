#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    char line[1024];
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
