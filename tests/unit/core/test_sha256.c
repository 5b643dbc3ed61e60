/* sha256.c: the standard vectors (FIPS 180-2 / NIST) and every padding boundary. */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "unit.h"

static void check(const void *data, size_t len, const char *want)
{
    char out[SHA256_HEX_LEN + 1];

    memset(out, 'Z', sizeof(out));
    sha256_hex(data, len, out);
    UNIT_CHECK(strcmp(out, want) == 0, "sha256 of %zu bytes: got %.64s want %s", len, out, want);
    CU_ASSERT_EQUAL(out[SHA256_HEX_LEN], '\0');
}

static void test_standard_vectors(void)
{
    static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                               "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check(m896, strlen(m896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    check("\0", 1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

static void test_million_a(void)
{
    char *m = malloc(1000000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    memset(m, 'a', 1000000);
    check(m, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

/* Lengths around the 56-byte padding boundary and the block size, where one- and two-block
 * tails meet. */
static void test_padding_boundaries(void)
{
    static const struct {
        size_t len;
        const char *hex;
    } rows[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    char m[128];

    memset(m, 'a', sizeof(m));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        check(m, rows[i].len, rows[i].hex);
}

static const struct unit_test sha256_tests[] = {
    {"standard vectors", test_standard_vectors},
    {"1,000,000 x 'a'", test_million_a},
    {"padding boundaries 55..128", test_padding_boundaries},
    {NULL, NULL},
};

int test_sha256_register(void)
{
    CU_pSuite s = CU_add_suite("sha256", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, sha256_tests);
}
