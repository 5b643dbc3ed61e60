/* proc.c: the start-time parser fed real and hostile /proc/<pid>/stat text (command names with
 * spaces and parentheses, truncated text, numbers out of range), and the liveness checks on
 * this very process, on a child that has exited and on pids that cannot exist. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "unit.h"

/* Fields 3 (state) to 21 of a real stat line; field 22 (starttime) follows, then the rest. */
#define F3_21 "S 1 1234 1234 0 -1 4194560 1000 0 0 0 12 3 0 0 20 0 1 0"
#define F23 " 12345678 4096 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0\n"

static const struct {
    const char *text;
    int ok;
    unsigned long long start; /* when ok */
} stat_rows[] = {
    {"1234 (bash) " F3_21 " 987654" F23, 1, 987654},
    {"1 (systemd) " F3_21 " 1" F23, 1, 1},
    {"1234 (bash) " F3_21 " 0" F23, 1, 0},
    {"1234 (bash) " F3_21 " 18446744073709551615" F23, 1, 18446744073709551615ULL},
    /* The text may end right after the field, with or without its newline. */
    {"1234 (bash) " F3_21 " 987654", 1, 987654},
    {"1234 (bash) " F3_21 " 987654\n", 1, 987654},
    /* Command names are whatever the process chose: spaces, parentheses, digits that look
     * like fields, newlines. The fields are counted from the last ')'. */
    {"1234 (nginx: worker) " F3_21 " 42" F23, 1, 42},
    {"1234 (a) b) c) " F3_21 " 42" F23, 1, 42},
    {"1234 ()) " F3_21 " 42" F23, 1, 42},
    {"1234 ((() " F3_21 " 42" F23, 1, 42},
    {"1234 () " F3_21 " 42" F23, 1, 42},
    {"1234 () S 1 2 3) " F3_21 " 42" F23, 1, 42},
    {"1234 (1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23) " F3_21 " 42" F23, 1, 42},
    {"1234 (x) " F3_21 " 7 ) " F3_21 " 42" F23, 1, 42},
    {"1234 (a\nb) " F3_21 " 42" F23, 1, 42},
    {"1234 (\xff\xfe) " F3_21 " 42" F23, 1, 42},
    /* Truncated: the text ends before field 22. */
    {"", 0, 0},
    {"1234", 0, 0},
    {"1234 (bash", 0, 0},
    {"1234 (bash)", 0, 0},
    {"1234 (bash) ", 0, 0},
    {"1234 (bash) S 1 1234", 0, 0},
    {"1234 (bash) " F3_21, 0, 0},
    {"1234 (bash) " F3_21 " ", 0, 0},
    {"1234 (bash) " F3_21 "\n", 0, 0},
    /* No command name at all. */
    {"1234 bash " F3_21 " 42" F23, 0, 0},
    /* Field 22 is not a number, or not only one, or too big for 64 bits. */
    {"1234 (bash) " F3_21 " abc" F23, 0, 0},
    {"1234 (bash) " F3_21 " 12ab" F23, 0, 0},
    {"1234 (bash) " F3_21 " 1.5" F23, 0, 0},
    {"1234 (bash) " F3_21 " 0x10" F23, 0, 0},
    {"1234 (bash) " F3_21 " 18446744073709551616" F23, 0, 0},
    {"1234 (bash) " F3_21 " 99999999999999999999999999" F23, 0, 0},
};

static void test_proc_parse_stat(void)
{
    for (size_t i = 0; i < sizeof(stat_rows) / sizeof(stat_rows[0]); i++) {
        unsigned long long start = 12345;
        int rc = proc_parse_stat(stat_rows[i].text, &start);
        UNIT_CHECK(rc == (stat_rows[i].ok ? 0 : -1), "row %zu \"%.60s\": rc %d", i,
                   stat_rows[i].text, rc);
        if (stat_rows[i].ok)
            UNIT_CHECK(start == stat_rows[i].start, "row %zu: start %llu want %llu", i, start,
                       stat_rows[i].start);
    }
}

/* The text of /proc/self/stat, whole. */
static int read_self_stat(char *buf, size_t size)
{
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* A pid above the kernel's maximum: no process can have it. */
static long impossible_pid(void)
{
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    long max = 4194304; /* the largest pid_max Linux allows */

    if (f != NULL) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 4194304;
        fclose(f);
    }
    return max + 1;
}

static void test_proc_self(void)
{
    unsigned long long start = 0, parsed = 0;
    char text[1024];

    CU_ASSERT_EQUAL_FATAL(proc_start_time(getpid(), &start), 0);
    CU_ASSERT_TRUE(start > 0);
    /* The same as this process's own stat file says. */
    CU_ASSERT_EQUAL_FATAL(read_self_stat(text, sizeof(text)), 0);
    CU_ASSERT_EQUAL(proc_parse_stat(text, &parsed), 0);
    CU_ASSERT_EQUAL(parsed, start);
    /* Alive with its real start, or with an unknown one; a different start is another process
     * that once had this pid. */
    CU_ASSERT_EQUAL(proc_alive(getpid(), start), 1);
    CU_ASSERT_EQUAL(proc_alive(getpid(), 0), 1);
    CU_ASSERT_EQUAL(proc_alive(getpid(), start + 1), 0);
    CU_ASSERT_EQUAL(proc_alive(getpid(), start - 1), 0);
    CU_ASSERT_EQUAL(proc_alive(getppid(), 0), 1);
}

static void test_proc_impossible_pids(void)
{
    static const long pids[] = {0, -1, -2, -100000};
    unsigned long long start = 777;
    long none = impossible_pid();

    CU_ASSERT_EQUAL(proc_start_time(none, &start), -1);
    CU_ASSERT_EQUAL(start, 777);
    CU_ASSERT_EQUAL(proc_alive(none, 0), 0);
    CU_ASSERT_EQUAL(proc_alive(none, 123), 0);
    /* 0 and negative pids name process groups (or every process) to kill(2): never alive. */
    for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
        UNIT_CHECK(proc_start_time(pids[i], &start) == -1, "pid %ld has a start", pids[i]);
        UNIT_CHECK(proc_alive(pids[i], 0) == 0, "pid %ld alive", pids[i]);
        UNIT_CHECK(proc_alive(pids[i], 1) == 0, "pid %ld alive", pids[i]);
    }
}

/* A child: alive while it runs, dead once it exited and was reaped. */
static void test_proc_child(void)
{
    int fds[2];
    unsigned long long start = 0;
    char c = 0;
    pid_t pid;

    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        /* Waits for the parent to close its end, then leaves without running atexit. */
        close(fds[1]);
        while (read(fds[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(fds[0]);
    CU_ASSERT_EQUAL(proc_start_time(pid, &start), 0);
    CU_ASSERT_EQUAL(proc_alive(pid, start), 1);
    CU_ASSERT_EQUAL(proc_alive(pid, start + 1), 0);
    close(fds[1]);
    CU_ASSERT_EQUAL(waitpid(pid, NULL, 0), pid);
    CU_ASSERT_EQUAL(proc_alive(pid, start), 0);
    CU_ASSERT_EQUAL(proc_start_time(pid, &start), -1);
}

static const struct unit_test proc_tests[] = {
    {"proc_parse_stat: real and hostile stat text", test_proc_parse_stat},
    {"proc_alive: this process, right and wrong start", test_proc_self},
    {"proc_alive: pids that cannot exist", test_proc_impossible_pids},
    {"proc_alive: a child before and after it exited", test_proc_child},
    {NULL, NULL},
};

int test_proc_register(void)
{
    CU_pSuite s = CU_add_suite("proc", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, proc_tests);
}
