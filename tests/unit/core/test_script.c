/* script.c: every script of sql/ is in the table, loads with the shared prelude, and a failed
 * reload keeps the scripts already loaded. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "script.h"
#include "unit.h"

/* Reads a whole file; NULL when it cannot. The caller frees. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)n + 1)) != NULL) {
        if (fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        } else {
            data[n] = '\0';
        }
    }
    fclose(f);
    return data;
}

/* The library: its name and version, the generated contract, lib.lua, then every operation's
 * file verbatim as the body of its registered function, named as script_function says. */
static void test_library(void)
{
    char path[4096], header[128];
    const char *text = script_library(), *p;
    char *lib;

    snprintf(path, sizeof(path), "%s/lib.lua", config.sql_dir);
    lib = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    CU_ASSERT_EQUAL(strncmp(text, "#!lua name=wnc_", 15), 0);
    /* The contract comes first, then lib.lua whole. */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "local K_ROOM, K_MEMBERS, K_NAMES, K_AUTH, K_CHAT, "
                                        "K_LIMITS, K_USERS, K_LEASES, K_TICKETS, K_BANS\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  K_TICKETS = keys[9]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  NOW = tonumber(args[1])\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  TOKEN = args[8]\n"));
    snprintf(header, sizeof(header), "local RATE_WINDOW_MS = %d\n", SCRIPT_RATE_WINDOW_MS);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, header));
    p = strstr(text, lib);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NULL(strstr(text, "@V@"));
    for (int i = 0; i < SCRIPT__MAX; i++) {
        const char *name = script_name((enum script_id)i), *fn = script_function((enum script_id)i);
        char reg[160], *file;

        UNIT_CHECK(name != NULL && *name != '\0', "script %d has no name", i);
        for (int j = 0; j < i; j++)
            UNIT_CHECK(strcmp(name, script_name((enum script_id)j)) != 0, "%s twice", name);
        /* "<name>_<12 hex digits>", the version of the library's own name. */
        UNIT_CHECK(strncmp(fn, name, strlen(name)) == 0 && fn[strlen(name)] == '_' &&
                       strlen(fn) == strlen(name) + 13 &&
                       strncmp(fn + strlen(name) + 1, text + 15, 12) == 0,
                   "%s: function %s", name, fn);
        snprintf(path, sizeof(path), "%s/%s.lua", config.sql_dir, name);
        file = slurp(path);
        UNIT_CHECK(file != NULL, "%s is missing", path);
        snprintf(reg, sizeof(reg),
                 "redis.register_function('%s', function(keys, args)\n"
                 "contract_begin(keys, args)\nlib_begin()\n",
                 fn);
        const char *at = strstr(p, reg);
        UNIT_CHECK(at != NULL, "%s is not registered after lib.lua", fn);
        UNIT_CHECK(at != NULL && file != NULL && strncmp(at + strlen(reg), file, strlen(file)) == 0,
                   "%s: the body is not %s.lua verbatim", fn, name);
        /* Each file opens with a comment naming it (and listing its KEYS/ARGV). */
        snprintf(header, sizeof(header), "-- %s.lua:", name);
        UNIT_CHECK(file != NULL && strncmp(file, header, strlen(header)) == 0,
                   "%s.lua does not open with '%s'", name, header);
        free(file);
    }
    free(lib);
}

/* Every .lua file of sql/ but the prelude is a script the table knows. */
static void test_every_file_is_registered(void)
{
    DIR *d = opendir(config.sql_dir);
    struct dirent *e;
    int files = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int known = 0;
        if (n < 5 || strcmp(e->d_name + n - 4, ".lua") != 0 || strcmp(e->d_name, "lib.lua") == 0)
            continue;
        files++;
        for (int i = 0; i < SCRIPT__MAX; i++) {
            const char *name = script_name((enum script_id)i);
            if (strlen(name) == n - 4 && strncmp(name, e->d_name, n - 4) == 0)
                known = 1;
        }
        UNIT_CHECK(known, "sql/%s is not in script.c's table", e->d_name);
    }
    closedir(d);
    CU_ASSERT_EQUAL(files, SCRIPT__MAX);
}

static void test_failed_load_keeps_scripts(void)
{
    char before[64], fn[64];
    char dir[] = "/tmp/wnc-unit-sql.XXXXXX", path[128];
    FILE *f;

    snprintf(before, sizeof(before), "%.63s", script_library());
    snprintf(fn, sizeof(fn), "%s", script_function(SCRIPT_CREATE));
    CU_ASSERT_EQUAL(scripts_load("/nonexistent/wnc"), -1);
    /* A directory with the prelude but no scripts. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/lib.lua", dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("-- empty\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(scripts_load(dir), -1);
    remove(path);
    rmdir(dir);
    CU_ASSERT_EQUAL(strncmp(script_library(), before, strlen(before)), 0);
    CU_ASSERT_STRING_EQUAL(script_function(SCRIPT_CREATE), fn);
    /* Loading again from the real directory works (and replaces the sources). */
    CU_ASSERT_EQUAL(scripts_load(config.sql_dir), 0);
}

static const struct unit_test script_tests[] = {
    {"the library: version, contract, lib.lua, one function per file", test_library},
    {"every sql/*.lua is registered", test_every_file_is_registered},
    {"a failed load keeps the loaded scripts", test_failed_load_keeps_scripts},
    {NULL, NULL},
};

int test_script_register(void)
{
    CU_pSuite s = CU_add_suite("script", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, script_tests);
}
