/* ids.c: formats, UUID v4 bits, token prefix and alphabet, and no repeats. */
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "unit.h"
#include "valid.h"

#define DRAWS 5000

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns how many neighbours are equal after sorting n strings. */
static size_t duplicates(char **s, size_t n)
{
    size_t d = 0;

    qsort(s, n, sizeof(*s), cmp_str);
    for (size_t i = 1; i < n; i++)
        d += strcmp(s[i - 1], s[i]) == 0;
    return d;
}

static void test_room_ids(void)
{
    static char ids[DRAWS][ROOM_ID_LEN + 1];
    static char *ptrs[DRAWS];
    int seen[36] = {0};

    for (int i = 0; i < DRAWS; i++) {
        char norm[ROOM_ID_LEN + 1];
        memset(ids[i], '#', sizeof(ids[i]));
        CU_ASSERT_EQUAL_FATAL(ids_room(ids[i]), E_OK);
        CU_ASSERT_EQUAL_FATAL(strlen(ids[i]), ROOM_ID_LEN);
        for (int k = 0; k < ROOM_ID_LEN; k++) {
            char c = ids[i][k];
            int ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            UNIT_CHECK(ok, "room id %s has a character outside [A-Z0-9]", ids[i]);
            if (ok)
                seen[c >= 'A' ? c - 'A' : 26 + c - '0']++;
        }
        UNIT_CHECK(valid_room_id(ids[i], norm) == E_OK && strcmp(norm, ids[i]) == 0,
                   "room id %s does not validate as itself", ids[i]);
        ptrs[i] = ids[i];
    }
    /* 30000 characters over 36 symbols: each appears (a broken generator shows up here). */
    for (int k = 0; k < 36; k++)
        UNIT_CHECK(seen[k] > 0, "symbol %d never drawn", k);
    /* 5000 draws from 36^6: a repeat has probability ~0.6%; two would mean a broken RNG. */
    CU_ASSERT_TRUE(duplicates(ptrs, DRAWS) <= 1);
}

static void test_user_ids(void)
{
    static char ids[DRAWS][USER_ID_LEN + 1];
    static char *ptrs[DRAWS];

    for (int i = 0; i < DRAWS; i++) {
        char *id = ids[i];
        CU_ASSERT_EQUAL_FATAL(ids_user(id), E_OK);
        CU_ASSERT_EQUAL_FATAL(strlen(id), USER_ID_LEN);
        for (int k = 0; k < USER_ID_LEN; k++) {
            char c = id[k];
            if (k == 8 || k == 13 || k == 18 || k == 23)
                UNIT_CHECK(c == '-', "user id %s: no dash at %d", id, k);
            else
                UNIT_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'),
                           "user id %s: not lower-case hex at %d", id, k);
        }
        UNIT_CHECK(id[14] == '4', "user id %s: version nibble is not 4", id);
        UNIT_CHECK(strchr("89ab", id[19]) != NULL, "user id %s: variant is not RFC 4122", id);
        ptrs[i] = id;
    }
    CU_ASSERT_EQUAL(duplicates(ptrs, DRAWS), 0);
}

static void test_tokens(void)
{
    static char toks[DRAWS][TOKEN_LEN + 1];
    static char *ptrs[DRAWS];
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int seen[64] = {0};

    CU_ASSERT_EQUAL(TOKEN_LEN, 50);
    for (int i = 0; i < DRAWS; i++) {
        char *t = toks[i];
        CU_ASSERT_EQUAL_FATAL(ids_token("QW3RTY", t), E_OK);
        CU_ASSERT_EQUAL_FATAL(strlen(t), TOKEN_LEN);
        UNIT_CHECK(memcmp(t, "QW3RTY.", ROOM_ID_LEN + 1) == 0, "token prefix of %.7s", t);
        for (int k = ROOM_ID_LEN + 1; k < TOKEN_LEN; k++) {
            const char *at = t[k] ? strchr(alphabet, t[k]) : NULL;
            UNIT_CHECK(at != NULL, "token char %d (0x%02x) outside base64url", k,
                       (unsigned char)t[k]);
            if (at != NULL)
                seen[at - alphabet]++;
        }
        UNIT_CHECK(valid_token(t, "QW3RTY") == E_OK, "generated token does not validate");
        UNIT_CHECK(valid_token(t, "QW3RTZ") == E_FORBIDDEN, "token valid for another room");
        ptrs[i] = t;
    }
    for (int k = 0; k < 64; k++)
        UNIT_CHECK(seen[k] > 0, "base64url symbol %c never drawn", alphabet[k]);
    CU_ASSERT_EQUAL(duplicates(ptrs, DRAWS), 0);
}

/* 256 bits in 43 characters: the last one carries 4 bits, so only every fourth symbol. A
 * secret with fewer random bits would show less variety in its first characters too. */
static void test_token_bits(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char t[TOKEN_LEN + 1];

    for (int i = 0; i < 200; i++) {
        CU_ASSERT_EQUAL_FATAL(ids_token("ABC123", t), E_OK);
        const char *last = strchr(alphabet, t[TOKEN_LEN - 1]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(last);
        UNIT_CHECK((last - alphabet) % 4 == 0, "last token char %c carries more than 4 bits",
                   t[TOKEN_LEN - 1]);
    }
}

static const struct unit_test ids_tests[] = {
    {"room ids: format, alphabet, no repeats", test_room_ids},
    {"user ids: UUID v4 format, version and variant", test_user_ids},
    {"tokens: prefix, base64url alphabet, no repeats", test_tokens},
    {"tokens: 256-bit secret encoding", test_token_bits},
    {NULL, NULL},
};

int test_ids_register(void)
{
    CU_pSuite s = CU_add_suite("ids", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, ids_tests);
}
