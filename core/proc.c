#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROC_STAT_MAX 1024
#define PROC_START_FIELD 22 /* starttime, counted from 1 (proc(5)) */
/* Bytes for the longest path we read, "/proc/<pid>/task/<pid>/children", pids as longs. */
#define PROC_PATH_MAX sizeof("/proc/-9223372036854775808/task/-9223372036854775808/children")

int proc_parse_stat(const char *text, unsigned long long *start)
{
    /* "pid (comm) state ppid ...": comm may contain anything, so the fields after it are
     * counted from the last ')'. */
    const char *p = strrchr(text, ')');
    int field = 2;

    if (p == NULL)
        return -1;
    p++;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (++field == PROC_START_FIELD) {
            char *end;
            if (*p < '0' || *p > '9') /* strtoull would take a sign */
                return -1;
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (errno != 0 || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
                return -1;
            *start = v;
            return 0;
        }
        while (*p != ' ' && *p != '\0')
            p++;
    }
    return -1;
}

int proc_start_time(long pid, unsigned long long *start)
{
    char path[PROC_PATH_MAX], text[PROC_STAT_MAX];
    ssize_t n;
    int fd;

    if (pid <= 0 || (long)(pid_t)pid != pid)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return proc_parse_stat(text, start);
}

int proc_alive(long pid, unsigned long long start)
{
    unsigned long long now_start;

    if (pid <= 0 || (long)(pid_t)pid != pid) /* kill(2) would read another pid, even -1 */
        return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (start == 0) /* the owner's start time was unknown: the pid is all there is */
        return 1;
    if (proc_start_time(pid, &now_start) != 0)
        return kill((pid_t)pid, 0) != 0 && errno == ESRCH ? 0 : -1;
    return now_start == start;
}

int proc_children(long pid, long *out, int max)
{
    char path[PROC_PATH_MAX], text[PROC_STAT_MAX];
    ssize_t n;
    int fd, count = 0;

    if (pid <= 0 || (long)(pid_t)pid != pid)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0)
        return -1;
    text[n] = '\0';
    for (char *p = text, *end; *p != '\0' && count < max; p = end) {
        long child = strtol(p, &end, 10);
        if (end == p)
            break;
        out[count++] = child;
    }
    return count;
}
