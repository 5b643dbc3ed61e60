/* config.c: defaults, the bounds of every numeric variable, the trusted proxy list. The suite
 * saves the variables it touches and restores them (and the config the other suites read) when
 * it ends. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static const char *const touched[] = {
    "WNC_REDIS_HOST", "WNC_REDIS_PORT", "WNC_WORKERS",       "WNC_ROOM_TTL_S",      "WNC_GRACE_MS",
    "WNC_MAX_USERS",  "WNC_RATE_LIMIT", "WNC_PUSHD_TICK_MS", "WNC_TRUSTED_PROXIES", NULL,
};
static char *saved[sizeof(touched) / sizeof(touched[0])];

static void restore_env(void)
{
    unit_env_restore(touched, saved);
}

static int config_suite_init(void)
{
    unit_env_save(touched, saved);
    return 0;
}

static int config_suite_clean(void)
{
    unit_env_forget(touched, saved);
    return config_load();
}

static void config_teardown(void)
{
    restore_env();
    config_load();
}

static void test_defaults(void)
{
    static const char *const unset[] = {"WNC_REDIS_HOST",    "WNC_REDIS_PORT",     "WNC_WORKERS",
                                        "WNC_ROOM_TTL_S",    "WNC_MAX_USERS",      "WNC_RATE_LIMIT",
                                        "WNC_PUSHD_TICK_MS", "WNC_TRUSTED_PROXIES"};

    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
        unsetenv(unset[i]);
    setenv("WNC_WORKERS", "", 1); /* empty means unset */
    CU_ASSERT_EQUAL_FATAL(config_load(), 0);
    CU_ASSERT_STRING_EQUAL(config.redis_host, "127.0.0.1");
    CU_ASSERT_EQUAL(config.redis_port, 6390);
    /* Auto: twice the cores, at least 4 (scripts/render-nginx.sh sizes nginx's queue alike). */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CU_ASSERT_EQUAL(config.workers, cores * 2 > 4 ? cores * 2 : 4);
    CU_ASSERT_EQUAL(config.room_ttl_s, 86400);
    CU_ASSERT_EQUAL(config.max_users, 1000);
    CU_ASSERT_EQUAL(config.rate_limit, 360);
    CU_ASSERT_EQUAL(config.pushd_tick_ms, 100);
    CU_ASSERT_STRING_EQUAL(config.trusted_proxies, "");
    CU_ASSERT_EQUAL(config.trusted_proxy_cidrs.n, 0);
    /* main.c's test timings came through. */
    CU_ASSERT_EQUAL(config.grace_ms, 300);
    CU_ASSERT_EQUAL(config.typing_ttl_ms, 200);
}

static void test_bounds(void)
{
    static const struct {
        const char *name, *value;
        int ok;
    } rows[] = {
        {"WNC_GRACE_MS", "100", 1},
        {"WNC_GRACE_MS", "99", 0},
        {"WNC_GRACE_MS", "3600000", 1},
        {"WNC_GRACE_MS", "3600001", 0},
        {"WNC_GRACE_MS", "-300", 0},
        {"WNC_GRACE_MS", "abc", 0},
        {"WNC_GRACE_MS", "300ms", 0},
        {"WNC_GRACE_MS", "300 ", 0},
        {"WNC_GRACE_MS", "0x200", 0},
        {"WNC_GRACE_MS", "1e3", 0},
        {"WNC_GRACE_MS", "99999999999999999999999", 0},
        {"WNC_REDIS_PORT", "1", 1},
        {"WNC_REDIS_PORT", "65535", 1},
        {"WNC_REDIS_PORT", "0", 0},
        {"WNC_REDIS_PORT", "65536", 0},
        {"WNC_WORKERS", "256", 1},
        {"WNC_WORKERS", "0", 1},
        {"WNC_WORKERS", "-1", 0},
        {"WNC_WORKERS", "257", 0},
        {"WNC_ROOM_TTL_S", "9", 0},
        {"WNC_MAX_USERS", "1", 0},
        {"WNC_MAX_USERS", "2", 1},
        {"WNC_PUSHD_TICK_MS", "10001", 0},
        {"WNC_RATE_LIMIT", "4294967297", 0},
        {"WNC_TRUSTED_PROXIES", "127.0.0.1", 1},
        {"WNC_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32 ::1", 1},
        {"WNC_TRUSTED_PROXIES", " , ", 1},
        {"WNC_TRUSTED_PROXIES", "10.0.0.1/8", 0},
        {"WNC_TRUSTED_PROXIES", "10.0.0.0/33", 0},
        {"WNC_TRUSTED_PROXIES", "proxy.example", 0},
        {"WNC_TRUSTED_PROXIES", "127.0.0.1;10.0.0.1", 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        restore_env();
        setenv(rows[i].name, rows[i].value, 1);
        int r = config_load();
        UNIT_CHECK((r == 0) == rows[i].ok, "%s=\"%s\": config_load returned %d", rows[i].name,
                   rows[i].value, r);
    }
    restore_env();
    setenv("WNC_REDIS_PORT", "12345", 1);
    CU_ASSERT_EQUAL(config_load(), 0);
    CU_ASSERT_EQUAL(config.redis_port, 12345);
    setenv("WNC_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8", 1);
    CU_ASSERT_EQUAL(config_load(), 0);
    CU_ASSERT_EQUAL(config.trusted_proxy_cidrs.n, 2);
}

static const struct unit_test config_tests[] = {
    {"defaults", test_defaults},
    {"bounds and malformed numbers", test_bounds},
    {NULL, NULL},
};

int test_config_register(void)
{
    CU_pSuite s = CU_add_suite_with_setup_and_teardown("config", config_suite_init,
                                                       config_suite_clean, NULL, config_teardown);
    return s == NULL ? -1 : unit_add_tests(s, config_tests);
}
