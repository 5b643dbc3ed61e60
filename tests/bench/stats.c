/*
 * stats.c - latency histogram and sampling of the server's processes from
 * /proc (CPU time, RSS, peak RSS, PSS per process group).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg.h"

/* ---- histogram -------------------------------------------------------------- */

static unsigned hist_index(uint64_t us)
{
    if (us < HIST_LINEAR)
        return (unsigned)us;
    unsigned k = 63u - (unsigned)__builtin_clzll(us);
    if (k >= HIST_MAX_EXP)
        return HIST_BUCKETS - 1;
    unsigned shift = k - 10u;
    unsigned sub = (unsigned)(us >> shift) - HIST_SUB;
    return HIST_LINEAR + (k - 11u) * HIST_SUB + sub;
}

/* Midpoint of a bucket, in microseconds. */
static double hist_value(unsigned idx)
{
    if (idx < HIST_LINEAR)
        return idx;
    unsigned k = 11u + (idx - HIST_LINEAR) / HIST_SUB;
    unsigned sub = (idx - HIST_LINEAR) % HIST_SUB;
    double lo = (double)((uint64_t)(HIST_SUB + sub) << (k - 10u));
    return lo + (double)(1ull << (k - 10u)) / 2.0;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->b[hist_index(us)]++;
    h->count++;
    h->sum_us += (double)us;
    if (us > h->max_us)
        h->max_us = us;
}

double hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return (double)h->max_us;
    uint64_t target = (uint64_t)(q * (double)h->count);
    if (target < 1)
        target = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= target) {
            double v = hist_value(i);
            return v > (double)h->max_us ? (double)h->max_us : v;
        }
    }
    return (double)h->max_us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

/* ---- /proc sampling ------------------------------------------------------- */

const char *const proc_group_name[PG__MAX] = {"nginx", "wnc-fcgi", "wnc-pushd", "redis-server",
                                              "other"};

/* Processes on a test box: a few hundred; the table grows if needed. */
struct proc_row {
    int pid, ppid;
    int group;
    int included;
    double cpu_s;
    double sys_s;
};

static int g_stack_pid;
static char g_run_dir[4096];

void proc_set_targets(int stack_pid, const char *run_dir)
{
    g_stack_pid = stack_pid;
    snprintf(g_run_dir, sizeof g_run_dir, "%s", run_dir ? run_dir : "");
}

static int proc_group_of(const char *comm)
{
    if (strncmp(comm, "nginx", 5) == 0)
        return PG_NGINX;
    if (strncmp(comm, "wnc-fcgi", 8) == 0)
        return PG_FCGI;
    if (strncmp(comm, "wnc-pushd", 9) == 0)
        return PG_PUSHD;
    if (strncmp(comm, "redis", 5) == 0)
        return PG_REDIS;
    return PG_OTHER;
}

static int proc_read_stat(int pid, struct proc_row *row)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: it ends at the last ')'. */
    char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
    if (lp == NULL || rp == NULL || rp < lp)
        return -1;
    char comm[64];
    size_t clen = (size_t)(rp - lp - 1);
    if (clen >= sizeof comm)
        clen = sizeof comm - 1;
    memcpy(comm, lp + 1, clen);
    comm[clen] = '\0';
    /* After ") ": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime (fields 3..15). */
    char state;
    int ppid;
    unsigned long utime, stime;
    if (sscanf(rp + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &state, &ppid, &utime,
               &stime) != 4)
        return -1;
    static long ticks;
    if (ticks == 0)
        ticks = sysconf(_SC_CLK_TCK);
    row->pid = pid;
    row->ppid = ppid;
    row->group = proc_group_of(comm);
    row->cpu_s = (double)(utime + stime) / (double)ticks;
    row->sys_s = (double)stime / (double)ticks;
    row->included = 0;
    return 0;
}

static uint64_t proc_status_kib(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (p == NULL)
        return 0;
    return strtoull(p + strlen(key), NULL, 10);
}

static int proc_is_root(int pid, const int *roots, int nroots)
{
    for (int i = 0; i < nroots; i++)
        if (roots[i] == pid)
            return 1;
    return 0;
}

void proc_sample(struct proc_sample *s, int with_pss)
{
    memset(s, 0, sizeof *s);
    s->t_ns = lg_now_ns();

    int roots[64], nroots = 0;
    if (g_stack_pid > 0)
        roots[nroots++] = g_stack_pid;
    if (g_run_dir[0]) {
        DIR *d = opendir(g_run_dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL && nroots < 64) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".pid") != 0)
                continue;
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", g_run_dir, e->d_name);
            FILE *f = fopen(path, "r");
            int pid;
            if (f && fscanf(f, "%d", &pid) == 1 && pid > 0)
                roots[nroots++] = pid;
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
    }
    if (nroots == 0)
        return;

    size_t cap = 1024, n = 0;
    struct proc_row *rows = malloc(cap * sizeof *rows);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        if (n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
        }
        if (rows == NULL)
            abort();
        if (proc_read_stat(pid, &rows[n]) == 0)
            n++;
    }
    if (d)
        closedir(d);

    /* Descendants of the roots: iterate to a fixed point (trees are
     * shallow, a few passes). */
    for (size_t i = 0; i < n; i++)
        rows[i].included = proc_is_root(rows[i].pid, roots, nroots);
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].included)
                continue;
            for (size_t j = 0; j < n; j++)
                if (rows[j].included && rows[j].pid == rows[i].ppid) {
                    rows[i].included = 1;
                    changed = 1;
                    break;
                }
        }
    }

    for (size_t i = 0; i < n; i++) {
        if (!rows[i].included)
            continue;
        int g = rows[i].group;
        s->nprocs[g]++;
        s->cpu_s[g] += rows[i].cpu_s;
        s->sys_s[g] += rows[i].sys_s;
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/status", rows[i].pid);
        FILE *f = fopen(path, "r");
        if (f) {
            size_t r = fread(buf, 1, sizeof buf - 1, f);
            buf[r] = '\0';
            fclose(f);
            s->rss_kib[g] += proc_status_kib(buf, "VmRSS:");
            s->hwm_kib[g] += proc_status_kib(buf, "VmHWM:");
        }
        if (with_pss) {
            snprintf(path, sizeof path, "/proc/%d/smaps_rollup", rows[i].pid);
            f = fopen(path, "r");
            if (f) {
                size_t r = fread(buf, 1, sizeof buf - 1, f);
                buf[r] = '\0';
                fclose(f);
                s->pss_kib[g] += proc_status_kib(buf, "\nPss:");
            }
        }
    }
    free(rows);
}

void proc_peak_update(struct proc_sample *peak, const struct proc_sample *s)
{
    for (int g = 0; g < PG__MAX; g++) {
        if (s->rss_kib[g] > peak->rss_kib[g])
            peak->rss_kib[g] = s->rss_kib[g];
        if (s->hwm_kib[g] > peak->hwm_kib[g])
            peak->hwm_kib[g] = s->hwm_kib[g];
        if (s->pss_kib[g] > peak->pss_kib[g])
            peak->pss_kib[g] = s->pss_kib[g];
        if (s->nprocs[g] > peak->nprocs[g])
            peak->nprocs[g] = s->nprocs[g];
    }
}
