/* The unit test runner: every module's suite, run in CUnit's basic mode (verbose), exit status 1
 * when any assertion, test or suite failed. Run it through scripts/unit.sh, which starts the
 * private redis-server the storage suites need; like hiredis's tests, the runner refuses to
 * touch a database that is not empty.
 *
 * Environment: WNC_TEST_REDIS_PORT (set by unit.sh), WNC_SQL_DIR (default sql),
 * WNC_LOG_LEVEL (default error: the suites provoke warnings on purpose). */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "script.h"
#include "store.h"
#include "unit.h"

static int unit_port;
static struct store *unit_st; /* the running Redis-backed suite's connection */

long long unit_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long unit_cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void unit_env_save(const char *const *names, char **saved)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v != NULL ? strdup(v) : NULL;
    }
}

void unit_env_restore(const char *const *names, char *const *saved)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        if (saved[i] != NULL)
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
    }
}

void unit_env_forget(const char *const *names, char **saved)
{
    unit_env_restore(names, saved);
    for (size_t i = 0; names[i] != NULL; i++) {
        free(saved[i]);
        saved[i] = NULL;
    }
}

void unit_check(int ok, unsigned line, const char *file, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (ok) {
        CU_assertImplementation(CU_TRUE, line, "UNIT_CHECK", file, "", CU_FALSE);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* CUnit copies the message into its failure record. */
    CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

struct store *unit_redis_open(void)
{
    return unit_port == 0 ? NULL : store_open("127.0.0.1", unit_port);
}

struct store *unit_store(void)
{
    return unit_st;
}

void unit_redis_flush(void)
{
    const char *argv[] = {"FLUSHDB"};
    struct store *st = unit_redis_open();

    if (st == NULL)
        return;
    if (store_command(st, 1, argv, NULL, NULL) != E_OK)
        fprintf(stderr, "unit: FLUSHDB failed\n");
    store_close(st);
}

/* The init, clean and per-test setup of every Redis-backed suite. */
static int unit_redis_suite_init(void)
{
    unit_st = unit_redis_open();
    return unit_st == NULL ? -1 : 0;
}

static int unit_redis_suite_clean(void)
{
    store_close(unit_st);
    unit_st = NULL;
    return 0;
}

int unit_add_tests(CU_pSuite suite, const struct unit_test *table)
{
    for (const struct unit_test *t = table; t->name != NULL; t++) {
        CU_pTest test = CU_add_test(suite, t->name, t->fn);
        if (test == NULL)
            return -1;
    }
    return 0;
}

int unit_add_redis_suite(const char *name, const struct unit_test *table)
{
    CU_pSuite s = CU_add_suite_with_setup_and_teardown(
        name, unit_redis_suite_init, unit_redis_suite_clean, unit_redis_flush, NULL);
    return s == NULL ? -1 : unit_add_tests(s, table);
}

/* Returns 0 when the private Redis answers and holds no keys, -1 otherwise. */
static int unit_check_redis(void)
{
    const char *argv[] = {"DBSIZE"};
    struct store_reply r = {0};
    struct store *st = unit_redis_open();
    int ok;

    if (st == NULL)
        return -1;
    if (store_command(st, 1, argv, NULL, &r) != E_OK) {
        fprintf(stderr, "unit: no redis-server answers on 127.0.0.1:%d\n", unit_port);
        store_close(st);
        return -1;
    }
    ok = r.n == 1 && r.items[0] != NULL && strcmp(r.items[0], "0") == 0;
    if (!ok)
        fprintf(stderr,
                "unit: the redis database on port %d is not empty (%s keys); refusing to run "
                "the tests against it\n",
                unit_port, r.n == 1 && r.items[0] ? r.items[0] : "?");
    store_reply_free(&r);
    store_close(st);
    return ok ? 0 : -1;
}

int main(void)
{
    static int (*const registers[])(void) = {
        test_valid_register,
        test_addr_register,
        test_jsonx_register,
        test_err_register,
        test_log_register,
        test_buf_register,
        test_sha256_register,
        test_ids_register,
        test_config_register,
        test_script_register,
        test_publish_register,
        test_http_register,
        test_wire_register,
        test_store_register,
        test_cluster_register,
        test_store_cluster_register,
        test_exec_register,
        test_scripts_rooms_register,
        test_scripts_chat_register,
        test_scripts_video_register,
        test_scripts_presence_register,
        test_scripts_tickets_register,
        test_scripts_limits_register,
        test_scripts_pushd_register,
        test_scripts_admin_register,
        test_scripts_access_register,
        test_proc_register,
        test_metrics_register,
        test_nchan_register,
        test_events_register,
        test_route_register,
    };
    const char *port = getenv("WNC_TEST_REDIS_PORT");
    unsigned failures, tests_failed, suites_failed;

    /* Small timings so the time-based scripts can be tested in well under a second; the
     * suites read config.* rather than repeating these numbers. */
    setenv("WNC_GRACE_MS", "300", 1);
    setenv("WNC_TYPING_TTL_MS", "200", 1);
    setenv("WNC_SYNC_INTERVAL_MS", "1000", 1);
    setenv("WNC_CHAT_RATE", "30", 1);
    setenv("WNC_CONTROL_RATE", "100", 1);
    setenv("WNC_LOG_LEVEL", "error", 0);
    signal(SIGPIPE, SIG_IGN);
    log_init("wnc-unit");
    if (config_load() != 0 || scripts_load(config.sql_dir) != 0) {
        fprintf(stderr, "unit: cannot load config or scripts from %s\n", config.sql_dir);
        return 1;
    }
    if (port != NULL && *port != '\0') {
        unit_port = atoi(port);
        if (unit_port <= 0 || unit_port > 65535 || unit_check_redis() != 0)
            return 1;
    } else {
        fprintf(stderr, "unit: WNC_TEST_REDIS_PORT is not set; the storage suites will fail "
                        "(run through scripts/unit.sh)\n");
    }

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "unit: %s\n", CU_get_error_msg());
        return 1;
    }
    for (size_t i = 0; i < sizeof(registers) / sizeof(registers[0]); i++) {
        if (registers[i]() != 0) {
            fprintf(stderr, "unit: registering suite %zu: %s\n", i, CU_get_error_msg());
            CU_cleanup_registry();
            return 1;
        }
    }
    fprintf(stderr, "unit: the config, script, http and store suites provoke error log lines "
                    "on purpose; they are expected\n");
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    tests_failed = CU_get_number_of_tests_failed();
    suites_failed = CU_get_number_of_suites_failed();
    printf("\nunit: %u asserts, %u failed assertions, %u failed tests, %u failed suites\n",
           CU_get_number_of_asserts(), failures, tests_failed, suites_failed);
    /* The failing tests by name. */
    const char *last = NULL;
    for (CU_pFailureRecord f = CU_get_failure_list(); f != NULL; f = f->pNext) {
        const char *name = f->pTest != NULL ? f->pTest->pName : NULL;
        if (name == NULL) {
            printf("unit: FAILED suite %s (init or cleanup)\n",
                   f->pSuite != NULL ? f->pSuite->pName : "?");
            continue;
        }
        if (last != NULL && strcmp(last, name) == 0)
            continue;
        printf("unit: FAILED %s\n", name);
        last = name;
    }
    if (CU_get_error() != CUE_SUCCESS)
        fprintf(stderr, "unit: CUnit error: %s\n", CU_get_error_msg());
    int status =
        failures > 0 || tests_failed > 0 || suites_failed > 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    return status;
}
