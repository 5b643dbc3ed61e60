/* err.c: every enum value has a status, a stable code word and a message, and code words map
 * back to their value. */
#include <ctype.h>
#include <string.h>

#include "err.h"
#include "unit.h"

static void test_every_value_has_a_row(void)
{
    for (int i = 0; i < E_ERR__MAX; i++) {
        enum wnc_err e = (enum wnc_err)i;
        const char *code = err_code(e), *msg = err_message(e);
        int status = err_status(e);

        UNIT_CHECK(code != NULL && *code != '\0', "error %d has no code", i);
        UNIT_CHECK(msg != NULL && *msg != '\0', "error %d has no message", i);
        UNIT_CHECK(status >= 200 && status <= 599, "error %d has status %d", i, status);
        if (code == NULL)
            continue;
        /* Stable codes are snake_case. */
        for (const char *p = code; *p; p++)
            UNIT_CHECK(islower((unsigned char)*p) || *p == '_', "error %d code %s", i, code);
        if (i != E_OK)
            UNIT_CHECK(status >= 400, "error %d (%s) has a success status %d", i, code, status);
    }
    CU_ASSERT_EQUAL(err_status(E_OK), 200);
}

static void test_statuses(void)
{
    static const struct {
        enum wnc_err e;
        int status;
        const char *code;
    } rows[] = {
        {E_INVALID_JSON, 400, "invalid_json"},
        {E_INVALID_FIELD, 400, "invalid_field"},
        {E_MISSING_FIELD, 400, "missing_field"},
        {E_UNKNOWN_FIELD, 400, "unknown_field"},
        {E_INVALID_ROOM_ID, 400, "invalid_room_id"},
        {E_UNAUTHORIZED, 401, "unauthorized"},
        {E_FORBIDDEN, 403, "forbidden"},
        {E_NOT_HOST, 403, "not_host"},
        {E_ROOM_NOT_FOUND, 404, "room_not_found"},
        {E_USER_NOT_FOUND, 404, "user_not_found"},
        {E_NAME_TAKEN, 409, "name_taken"},
        {E_ROOM_FULL, 409, "room_full"},
        {E_BODY_TOO_LARGE, 413, "body_too_large"},
        {E_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type"},
        {E_RATE_LIMITED, 429, "rate_limited"},
        {E_TOO_MANY_SUBSCRIPTIONS, 429, NULL},
        {E_REDIS_UNAVAILABLE, 503, "redis_unavailable"},
        {E_INTERNAL, 500, "internal"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        UNIT_CHECK(err_status(rows[i].e) == rows[i].status, "%s: status %d", err_code(rows[i].e),
                   err_status(rows[i].e));
        if (rows[i].code != NULL)
            UNIT_CHECK(strcmp(err_code(rows[i].e), rows[i].code) == 0, "error %d: code %s",
                       (int)rows[i].e, err_code(rows[i].e));
    }
}

static void test_out_of_range(void)
{
    CU_ASSERT_EQUAL(err_status(E_ERR__MAX), 500);
    CU_ASSERT_EQUAL(err_status((enum wnc_err) - 1), 500);
    CU_ASSERT_STRING_EQUAL(err_code(E_ERR__MAX), "internal");
    CU_ASSERT_STRING_EQUAL(err_code((enum wnc_err)1000), "internal");
    CU_ASSERT_PTR_NOT_NULL(err_message((enum wnc_err) - 5));
}

/* Every code word maps back to an error with that code word; codes are unique except where two
 * values deliberately share one (E_TOO_MANY_SUBSCRIPTIONS and E_TOO_MANY_ATTEMPTS answer like
 * E_RATE_LIMITED), and
 * then the lookup gives the first. */
static void test_from_code_round_trip(void)
{
    for (int i = 1; i < E_ERR__MAX; i++) {
        enum wnc_err e = (enum wnc_err)i, back = err_from_code(err_code(e));
        UNIT_CHECK(strcmp(err_code(back), err_code(e)) == 0, "%s maps back to %s", err_code(e),
                   err_code(back));
        if (e != E_TOO_MANY_SUBSCRIPTIONS && e != E_TOO_MANY_ATTEMPTS)
            UNIT_CHECK(back == e, "%s maps back to %d, not %d", err_code(e), (int)back, i);
    }
    CU_ASSERT_EQUAL(err_from_code("rate_limited"), E_RATE_LIMITED);
    CU_ASSERT_EQUAL(err_from_code("not_host"), E_NOT_HOST);
    CU_ASSERT_EQUAL(err_from_code("room_exists"), E_ROOM_EXISTS);
}

static void test_from_code_unknown(void)
{
    static const char *const unknown[] = {"",          "bogus", "NOT_HOST", "not_host ",
                                          " not_host", "not",   "ok"};

    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        UNIT_CHECK(err_from_code(unknown[i]) == E_INTERNAL, "code '%s' is not internal",
                   unknown[i]);
}

static const struct unit_test err_tests[] = {
    {"every value has status, code and message", test_every_value_has_a_row},
    {"statuses and codes", test_statuses},
    {"out-of-range values", test_out_of_range},
    {"err_from_code round trips", test_from_code_round_trip},
    {"err_from_code unknown codes", test_from_code_unknown},
    {NULL, NULL},
};

int test_err_register(void)
{
    CU_pSuite s = CU_add_suite("err", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, err_tests);
}
