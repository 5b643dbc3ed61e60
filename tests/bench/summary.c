/*
 * summary.c - `wnc-loadgen summary DIR`: the table of issue 13.
 *
 * Reads the JSON files one `scripts/bench.sh` run wrote into DIR and prints
 * every figure of the reference workload next to its floor measured in the
 * same run (tests/bench/floor.sh), their ratio, the goal and whether it is
 * met, as a Markdown table (also written to --md FILE).
 *
 * Runs read (each prefixed with --prefix, "quick-" for bench-quick):
 *   ours   ref-1 ref-5 ref-10  300 rooms x 10 viewers, host at 1, 5, 10/s
 *          idle-2k             2 000 connected members, rooms of 10
 *          joins-10 joins-500  join + subscription storms
 *          rest                REST requests alone (no viewers)
 *          fanout-50k          40 rooms x 250 viewers, 5 actions/s
 *   floor  floor-ref-1/5/10    the same shape on bare nchan (publishes)
 *          floor-idle          the same idle members as bare subscribers
 *          floor-echo          the rest run against the FastCGI echo
 *          floor-fanout        fanout-50k's shape on bare nchan
 *
 * A floor is what the same work costs with nothing of ours in it. Composed
 * floors add up: a host action's floor is one echo request plus one publish
 * fanned out to the room on bare nchan; a join's is one echo request plus
 * one bare subscription.
 *
 * Exit status: 0, or 1 when a run's file is missing or lacks a figure
 * (with --strict; otherwise the figure prints as n/a). Never on a goal.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg.h"

struct run {
    const char *name;
    char *text;
    size_t len;
};

enum { R1, R5, R10, IDLE, J10, J500, REST, FAN, FR1, FR5, FR10, FIDLE, FECHO, FFAN, RUNS__MAX };

static struct run runs[RUNS__MAX] = {
    [R1] = {"ref-1", NULL, 0},          [R5] = {"ref-5", NULL, 0},
    [R10] = {"ref-10", NULL, 0},        [IDLE] = {"idle-2k", NULL, 0},
    [J10] = {"joins-10", NULL, 0},      [J500] = {"joins-500", NULL, 0},
    [REST] = {"rest", NULL, 0},         [FAN] = {"fanout-50k", NULL, 0},
    [FR1] = {"floor-ref-1", NULL, 0},   [FR5] = {"floor-ref-5", NULL, 0},
    [FR10] = {"floor-ref-10", NULL, 0}, [FIDLE] = {"floor-idle", NULL, 0},
    [FECHO] = {"floor-echo", NULL, 0},  [FFAN] = {"floor-fanout", NULL, 0},
};

static int missing; /* figures that could not be read */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (b == NULL)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The number at "key", inside the object "obj" when obj is not NULL; NAN
 * (and counted as missing) when the run or the key is absent. */
static double fig(int run, const char *obj, const char *key)
{
    const struct run *r = &runs[run];
    double v;
    const char *s = r->text;
    size_t len = r->len;
    if (s != NULL && obj != NULL) {
        const char *o = jfind(s, len, obj);
        if (o == NULL || *o != '{') {
            s = NULL;
        } else {
            const char *end = strchr(o, '}');
            len = end != NULL ? (size_t)(end - o) : 0;
            s = o;
        }
    }
    if (s == NULL || jnum(s, len, key, &v) != 0 || !isfinite(v)) {
        missing++;
        /* A missing run was reported once already. */
        if (r->text != NULL)
            fprintf(stderr, "summary: %s: no %s%s%s\n", r->name, obj ? obj : "", obj ? "." : "",
                    key);
        return NAN;
    }
    return v;
}

/* Server CPU (cores) of a run. */
static double cores(int run)
{
    return fig(run, NULL, "serverCpuCores");
}

/* ---- table ------------------------------------------------------------------ */

enum cmp { NONE, AT_MOST, AT_LEAST, RATIO_AT_MOST };

static FILE *md;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (md != NULL) {
        va_start(ap, fmt);
        vfprintf(md, fmt, ap);
        va_end(ap);
    }
}

static void fmt_num(char *buf, size_t cap, double v, int decimals)
{
    if (!isfinite(v)) {
        snprintf(buf, cap, "n/a");
        return;
    }
    snprintf(buf, cap, "%.*f", decimals, v);
}

/* The floor of a figure that has none (a rate, a count of failures). */
#define NO_FLOOR (-INFINITY)

/* One row. floor is NO_FLOOR for "no floor", NAN when it could not be read;
 * goal_text "—" for no goal.
 * A ratio goal (RATIO_AT_MOST) compares ours / floor with goal. */
static void row(const char *figure, double ours, double floor_v, int decimals, enum cmp cmp,
                double goal, const char *goal_text)
{
    char o[32], f[32], r[32];
    fmt_num(o, sizeof o, ours, decimals);
    if (floor_v == NO_FLOOR)
        snprintf(f, sizeof f, "—");
    else
        fmt_num(f, sizeof f, floor_v, decimals);
    double ratio = NAN;
    if (isfinite(ours) && isfinite(floor_v) && floor_v > 0)
        ratio = ours / floor_v;
    if (isfinite(ratio))
        snprintf(r, sizeof r, "%.2f×", ratio);
    else
        snprintf(r, sizeof r, "—");
    const char *met = "—";
    if (cmp != NONE) {
        double x = cmp == RATIO_AT_MOST ? ratio : ours;
        if (!isfinite(x))
            met = "n/a";
        else if (cmp == AT_LEAST)
            met = x >= goal ? "met" : "missed";
        else
            met = x <= goal ? "met" : "missed";
    }
    out("| %s | %s | %s | %s | %s | %s |\n", figure, o, f, r, goal_text, met);
}

/* A row with two goals, both needed (idle KiB: absolute and against the floor). */
static void row2(const char *figure, double ours, double floor_v, int decimals, double goal_abs,
                 double goal_ratio, const char *goal_text)
{
    char o[32], f[32], r[32];
    fmt_num(o, sizeof o, ours, decimals);
    fmt_num(f, sizeof f, floor_v, decimals);
    double ratio = isfinite(ours) && isfinite(floor_v) && floor_v > 0 ? ours / floor_v : NAN;
    if (isfinite(ratio))
        snprintf(r, sizeof r, "%.2f×", ratio);
    else
        snprintf(r, sizeof r, "—");
    const char *met = !isfinite(ratio)                          ? "n/a"
                      : ours <= goal_abs && ratio <= goal_ratio ? "met"
                                                                : "missed";
    out("| %s | %s | %s | %s | %s | %s |\n", figure, o, f, r, goal_text, met);
}

/* "300×10 at 5/s (15 000 deliveries/s)" from a run's own parameters. */
static void shape(char *buf, size_t cap, int run)
{
    double rooms = fig(run, NULL, "rooms"), v = fig(run, NULL, "viewersPerRoom"),
           rate = fig(run, NULL, "ratePerRoom");
    if (isfinite(rooms * v * rate))
        snprintf(buf, cap, "%.0f×%.0f at %g/s (%.0f deliveries/s)", rooms, v, rate,
                 rooms * v * rate);
    else
        snprintf(buf, cap, "%s", runs[run].name);
}

/* A count inside a label; "?" when its run is missing. */
static const char *lnum(char *buf, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, "?");
    return buf;
}

int summary_run(int argc, char **argv)
{
    const char *dir = NULL, *prefix = "", *md_path = NULL;
    int strict = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
            prefix = argv[++i];
        else if (strcmp(argv[i], "--md") == 0 && i + 1 < argc)
            md_path = argv[++i];
        else if (strcmp(argv[i], "--strict") == 0)
            strict = 1;
        else if (dir == NULL && argv[i][0] != '-')
            dir = argv[i];
        else
            dir = NULL, i = argc;
    }
    if (dir == NULL) {
        fprintf(stderr, "usage: wnc-loadgen summary DIR [--prefix P] [--md FILE] [--strict]\n");
        return 2;
    }
    for (int i = 0; i < RUNS__MAX; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s%s.json", dir, prefix, runs[i].name);
        runs[i].text = slurp(path, &runs[i].len);
        if (runs[i].text == NULL)
            fprintf(stderr, "summary: %s missing\n", path);
    }
    if (md_path != NULL && (md = fopen(md_path, "a")) == NULL) {
        perror(md_path);
        return 2;
    }

    /* Composed floors. The echo's CPU per request stands for the FastCGI round trip of any
     * API call; the bare publish run for the event's way to the room. */
    double echo_us = fig(FECHO, NULL, "serverUsPerOp");
    double sub_us = fig(FIDLE, NULL, "serverUsPerSubscribe");
    double c1 = cores(R1), c5 = cores(R5), c10 = cores(R10);
    double e1 = fig(R1, NULL, "eventsInPerS"), e5 = fig(R5, NULL, "eventsInPerS"),
           e10 = fig(R10, NULL, "eventsInPerS");
    double fc1 = cores(FR1), fc5 = cores(FR5), fc10 = cores(FR10);
    double fe1 = fig(FR1, NULL, "eventsInPerS"), fe5 = fig(FR5, NULL, "eventsInPerS");
    char label[160], s1[96], s5[96], s10[96];
    shape(s1, sizeof s1, R1);
    shape(s5, sizeof s5, R5);
    shape(s10, sizeof s10, R10);

    out("| figure | ours | floor | ratio | goal | met? |\n|---|---|---|---|---|---|\n");
    snprintf(label, sizeof label, "server CPU, %s (cores)", s1);
    row(label, c1, fc1 + echo_us * e1 / 1e6, 3, NONE, 0, "—");
    row("server CPU per host action at 1/s, everything included (µs)",
        fig(R1, NULL, "serverUsPerAction"), fig(FR1, NULL, "serverUsPerAction") + echo_us, 0,
        AT_MOST, 250, "≤ 250");
    row("marginal server CPU per action, 1 → 5/s (µs)", (c5 - c1) / (e5 - e1) * 1e6,
        (fc5 - fc1) / (fe5 - fe1) * 1e6 + echo_us, 0, AT_MOST, 150, "≤ 150");
    snprintf(label, sizeof label, "server CPU, %s (cores)", s5);
    row(label, c5, fc5 + echo_us * e5 / 1e6, 3, NONE, 0, "—");
    snprintf(label, sizeof label, "p99 host → viewer, %s (ms)", s5);
    row(label, fig(R5, "latencyMs", "p99"), fig(FR5, "latencyMs", "p99"), 2, AT_MOST, 9, "≤ 9");
    snprintf(label, sizeof label, "server CPU, %s (cores)", s10);
    row(label, c10, fc10 + echo_us * e10 / 1e6, 3, NONE, 0, "—");
    snprintf(label, sizeof label, "p99 host → viewer, %s (ms)", s10);
    row(label, fig(R10, "latencyMs", "p99"), fig(FR10, "latencyMs", "p99"), 2, NONE, 0, "—");
    snprintf(label, sizeof label, "5xx answers, %s", s10);
    row(label, fig(R10, "failuresByStatusClass", "5xx"), fig(FR10, "failuresByStatusClass", "5xx"),
        0, AT_MOST, 0, "0");
    snprintf(label, sizeof label, "deliveries lost, %s", s10);
    row(label, fig(R10, NULL, "lost"), fig(FR10, NULL, "lost"), 0, AT_MOST, 0, "0");

    row("REST request alone, no viewers: server CPU (µs per request)",
        fig(REST, NULL, "serverUsPerOp"), echo_us, 1, AT_MOST, 40, "≤ 40");
    row("REST requests/s", fig(REST, NULL, "opsPerS"), fig(FECHO, NULL, "opsPerS"), 0, AT_LEAST,
        20000, "≥ 20 000");

    double im = fig(IDLE, NULL, "subscribed"), fim = fig(FIDLE, NULL, "subscribed");
    double ic = cores(IDLE), fic = cores(FIDLE);
    char n1[24], n2[24], n3[24];
    snprintf(label, sizeof label, "idle: %s connected members, rooms of %s (cores per 2 000)",
             lnum(n1, sizeof n1, im), lnum(n2, sizeof n2, fig(IDLE, NULL, "viewersPerRoom")));
    row(label, ic * 2000 / im, fic * 2000 / fim, 4, AT_MOST, 0.01, "≤ 0.01");
    row("idle: cores per 1 000 members", ic * 1000 / im, fic * 1000 / fim, 4, NONE, 0, "—");
    row2("idle: KiB per member (PSS delta / members)", fig(IDLE, NULL, "idleKiBPerViewer"),
         fig(FIDLE, NULL, "idleKiBPerViewer"), 1, 11, 1.1, "≤ 11 and ≤ 1.1× floor");

    snprintf(label, sizeof label,
             "join + subscription, %s rooms of %s, %s in flight (µs server CPU each)",
             lnum(n1, sizeof n1, fig(J10, NULL, "rooms")),
             lnum(n2, sizeof n2, fig(J10, NULL, "viewersPerRoom")),
             lnum(n3, sizeof n3, fig(J10, NULL, "restConns")));
    row(label, fig(J10, NULL, "serverUsPerJoin"), echo_us + sub_us, 0, AT_MOST, 300, "≤ 300");
    snprintf(label, sizeof label, "joins/s, rooms of %s (join + subscription)",
             lnum(n1, sizeof n1, fig(J10, NULL, "viewersPerRoom")));
    row(label, fig(J10, NULL, "joinsPerS"), NO_FLOOR, 0, AT_LEAST, 3000, "≥ 3 000");
    snprintf(label, sizeof label, "join + subscription, %s rooms of %s (µs server CPU each)",
             lnum(n1, sizeof n1, fig(J500, NULL, "rooms")),
             lnum(n2, sizeof n2, fig(J500, NULL, "viewersPerRoom")));
    row(label, fig(J500, NULL, "serverUsPerJoin"), echo_us + sub_us, 0, NONE, 0, "—");
    snprintf(label, sizeof label, "joins/s, rooms of %s (join + subscription)",
             lnum(n1, sizeof n1, fig(J500, NULL, "viewersPerRoom")));
    row(label, fig(J500, NULL, "joinsPerS"), NO_FLOOR, 0, AT_LEAST, 1500, "≥ 1 500");
    row("members lost in the join storms",
        fig(J10, NULL, "verifyLost") + fig(J500, NULL, "verifyLost") +
            fig(J10, NULL, "verifyFail") + fig(J500, NULL, "verifyFail"),
        NO_FLOOR, 0, AT_MOST, 0, "0");

    shape(s1, sizeof s1, FAN);
    snprintf(label, sizeof label, "fan-out: server CPU per delivery, %s (µs)", s1);
    row(label, fig(FAN, NULL, "serverUsPerDelivery"), fig(FFAN, NULL, "serverUsPerDelivery"), 1,
        RATIO_AT_MOST, 1.2, "≤ 1.2× floor");

    char eu[24], su[24];
    fmt_num(eu, sizeof eu, echo_us, 1);
    fmt_num(su, sizeof su, sub_us, 1);
    out("\nFloors: bare nginx + nchan (no FastCGI, no hooks, no authorisation) in the same shape, "
        "and a minimal FastCGI echo (tests/bench/echo.c) behind our FastCGI settings. Composed "
        "floors: a host action = one echo request (%s µs) + one bare publish to the room; a "
        "join = one echo request + one bare subscription (%s µs).\n",
        eu, su);
    if (md != NULL)
        fclose(md);
    for (int i = 0; i < RUNS__MAX; i++)
        free(runs[i].text);
    if (missing > 0) {
        fprintf(stderr, "summary: %d figure(s) missing%s\n", missing,
                strict ? "" : " (printed as n/a)");
        return strict ? 1 : 0;
    }
    return 0;
}
