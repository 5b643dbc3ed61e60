/* Shared by the CUnit suites: one register function per module (tests/unit/core/ and
 * tests/unit/fcgi/ mirror core/ and fcgi/), the table helper that adds a suite's tests, and the
 * private Redis the storage suites run against (scripts/unit.sh starts it and passes its port in
 * WNC_TEST_REDIS_PORT). */
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

/* The private Redis: its port (0 when WNC_TEST_REDIS_PORT is not set, and the storage suites
 * then fail their init), and FLUSHDB on it through a short-lived connection of its own. */
int unit_redis_port(void);
void unit_redis_flush(void);

/* An assertion with a printf-style message (the row of a table, the values seen), so a failing
 * row of a table-driven test says which row it was. */
void unit_check(int ok, unsigned line, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define UNIT_CHECK(cond, ...) unit_check(!!(cond), __LINE__, __FILE__, __VA_ARGS__)

/* Milliseconds on a monotonic clock, for "did not hang" checks. */
long long unit_mono_ms(void);

int test_valid_register(void);
int test_addr_register(void);
int test_jsonx_register(void);
int test_err_register(void);
int test_buf_register(void);
int test_sha256_register(void);
int test_config_register(void);
int test_script_register(void);
int test_publish_register(void);
int test_http_register(void);
int test_ids_register(void);
int test_store_register(void);
int test_scripts_register(void);

#endif
