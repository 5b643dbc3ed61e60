/* Shared by the CUnit suites: one register function per module (tests/unit/core/ and
 * tests/unit/fcgi/ mirror core/ and fcgi/), the table helper that adds a suite's tests, and the
 * one setup of the suites that run against the private Redis (scripts/unit.sh starts it and
 * passes its port in WNC_TEST_REDIS_PORT). */
#ifndef WNC_UNIT_H
#define WNC_UNIT_H

#include <CUnit/CUnit.h>
#include <stddef.h>

/* One row of a suite's test table; the table ends with a row whose name is NULL. */
struct unit_test {
    const char *name;
    CU_TestFunc fn;
};

/* Adds every test of table to suite. Returns 0, or -1 on a CUnit error. */
int unit_add_tests(CU_pSuite suite, const struct unit_test *table);

struct store;

/* The Redis-backed suites share one setup: unit_add_redis_suite adds a suite whose init opens a
 * connection to the private Redis (unit_store returns it until the suite's clean closes it) and
 * which empties the database (FLUSHDB) before each test. Returns 0, or -1 on a CUnit error. */
int unit_add_redis_suite(const char *name, const struct unit_test *table);

/* The running Redis-backed suite's connection; NULL outside one. Owned by the suite. */
struct store *unit_store(void);

/* Another connection to the private Redis, for tests that need two clients; the caller closes
 * it with store_close. NULL when WNC_TEST_REDIS_PORT is not set. */
struct store *unit_redis_open(void);

/* FLUSHDB on the private Redis through a short-lived connection of its own. */
void unit_redis_flush(void);

/* An assertion with a printf-style message (the row of a table, the values seen), so a failing
 * row of a table-driven test says which row it was. */
void unit_check(int ok, unsigned line, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define UNIT_CHECK(cond, ...) unit_check(!!(cond), __LINE__, __FILE__, __VA_ARGS__)

/* The environment variables a suite sets, saved at its init and put back by its tests and its
 * clean: names is a NULL-terminated list, saved as long (plus one). unit_env_restore may be
 * called any number of times; unit_env_forget restores and frees. */
void unit_env_save(const char *const *names, char **saved);
void unit_env_restore(const char *const *names, char *const *saved);
void unit_env_forget(const char *const *names, char **saved);

/* Milliseconds on a monotonic clock, for "did not hang" checks. */
long long unit_mono_ms(void);

/* Milliseconds of this thread's CPU time, for "bounded work" checks: a loaded box (CI runs
 * beside other jobs) stretches wall time, not the work done. */
long long unit_cpu_ms(void);

int test_valid_register(void);
int test_addr_register(void);
int test_jsonx_register(void);
int test_err_register(void);
int test_log_register(void);
int test_buf_register(void);
int test_sha256_register(void);
int test_config_register(void);
int test_script_register(void);
int test_publish_register(void);
int test_http_register(void);
int test_wire_register(void);
int test_ids_register(void);
int test_store_register(void);
int test_exec_register(void);
int test_proc_register(void);
int test_metrics_register(void);
int test_nchan_register(void);
int test_events_register(void);
int test_route_register(void);
int test_cluster_register(void);
int test_store_cluster_register(void);
/* The room scripts of sql/, one suite per group of operations (tests/unit/core/test_scripts_*.c,
 * sharing tests/unit/core/scripts_helpers.[ch]). */
int test_scripts_rooms_register(void);
int test_scripts_chat_register(void);
int test_scripts_video_register(void);
int test_scripts_presence_register(void);
int test_scripts_tickets_register(void);
int test_scripts_limits_register(void);
int test_scripts_pushd_register(void);
int test_scripts_admin_register(void);
int test_scripts_access_register(void);

#endif
