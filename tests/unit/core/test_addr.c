/* addr.c: trusted proxy lists, the client address behind them and the per-IP limit key, fed
 * tables of ordinary and hostile rows (spoofed headers, garbage, zone ids, brackets, ports,
 * absurd lengths) and a seeded stream of random headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

/* The proxies most rows trust: loopback, a private /8, an IPv6 /48. */
#define TRUSTED "127.0.0.1, 10.0.0.0/8 2001:db8:ffff::/48"

/* Whether s holds only the characters nginx's hook location accepts. */
static int addr_text_is_safe(const char *s)
{
    return strspn(s, "0123456789abcdef.:") == strlen(s);
}

/* ---- addr_cidrs_parse ------------------------------------------------------------------- */

static const struct {
    const char *spec;
    int ok;
    size_t n;          /* entries when ok */
    const char *cause; /* a part of the cause when refused */
} cidr_rows[] = {
    {"", 1, 0, NULL},
    {" ,, \t, ", 1, 0, NULL},
    {"127.0.0.1", 1, 1, NULL},
    {"::1", 1, 1, NULL},
    {TRUSTED, 1, 3, NULL},
    {"10.0.0.0/8,192.168.0.0/16", 1, 2, NULL},
    {"10.0.0.0/8 ,\t192.168.0.0/16,", 1, 2, NULL},
    {"0.0.0.0/0", 1, 1, NULL},
    {"::/0", 1, 1, NULL},
    {"2001:DB8::/32", 1, 1, NULL},
    {"192.0.2.1/32", 1, 1, NULL},
    {"2001:db8::1/128", 1, 1, NULL},
    {"::ffff:10.0.0.0/104", 1, 1, NULL}, /* stored as 10.0.0.0/8 */
    {"10.0.0.1/8", 0, 0, "host bits"},
    {"2001:db8::1/32", 0, 0, "host bits"},
    {"10.0.0.0/33", 0, 0, "out of range"},
    {"::/129", 0, 0, "out of range"},
    {"10.0.0.0/99999999999999999999", 0, 0, "out of range"},
    {"10.0.0.0/", 0, 0, "empty prefix"},
    {"10.0.0.0/08", 0, 0, "leading zero"},
    {"10.0.0.0/8x", 0, 0, "not a decimal"},
    {"10.0.0.0/-8", 0, 0, "not a decimal"},
    {"10.0.0.0/+8", 0, 0, "not a decimal"},
    {"10.0.0.0/8/8", 0, 0, "not a decimal"},
    {"/8", 0, 0, "not an IPv4"},
    {"10.0.0", 0, 0, "not an IPv4"},
    {"10.0.0.256", 0, 0, "not an IPv4"},
    {"1.2.3.4x", 0, 0, "not an IPv4"},
    {"localhost", 0, 0, "not an IPv4"},
    {"[::1]", 0, 0, "not an IPv4"},
    {"fe80::1%eth0", 0, 0, "not an IPv4"},
    {"127.0.0.1:80", 0, 0, "not an IPv4"},
    {"127.0.0.1;10.0.0.1", 0, 0, "not an IPv4"},
    {"::ffff:10.0.0.0/95", 0, 0, "shorter than /96"},
    {"10.0.0.0/8, 1.2.3.4/40", 0, 0, "\"1.2.3.4/40\""}, /* the cause names the bad item */
    {"10.0.0.0/8, nonsense 192.168.0.0/16", 0, 0, "\"nonsense\""},
};

static void test_cidrs_table(void)
{
    for (size_t i = 0; i < sizeof(cidr_rows) / sizeof(cidr_rows[0]); i++) {
        struct addr_cidrs list;
        char cause[160] = "";
        int r = addr_cidrs_parse(cidr_rows[i].spec, &list, cause, sizeof(cause));

        UNIT_CHECK((r == 0) == cidr_rows[i].ok, "row %zu \"%s\": returned %d (%s)", i,
                   cidr_rows[i].spec, r, cause);
        if (r == 0 && cidr_rows[i].ok)
            UNIT_CHECK(list.n == cidr_rows[i].n, "row %zu: %zu entries", i, list.n);
        if (r != 0 && !cidr_rows[i].ok)
            UNIT_CHECK(strstr(cause, cidr_rows[i].cause) != NULL, "row %zu: cause '%s'", i, cause);
    }
}

/* ADDR_MAX_CIDRS entries pass, one more is refused and named; a refusal leaves the list as it
 * was, and a cause buffer of size 0 (or a short one) is respected. */
static void test_cidrs_limits(void)
{
    char spec[ADDR_MAX_CIDRS * 20 + 32], cause[160];
    struct addr_cidrs list, before;
    size_t len = 0;

    for (int i = 0; i < ADDR_MAX_CIDRS; i++)
        len += (size_t)snprintf(spec + len, sizeof(spec) - len, "10.0.%d.0/24,", i);
    CU_ASSERT_EQUAL_FATAL(addr_cidrs_parse(spec, &list, cause, sizeof(cause)), 0);
    CU_ASSERT_EQUAL(list.n, ADDR_MAX_CIDRS);
    snprintf(spec + len, sizeof(spec) - len, "192.0.2.1");
    before = list;
    CU_ASSERT_EQUAL(addr_cidrs_parse(spec, &list, cause, sizeof(cause)), -1);
    UNIT_CHECK(strstr(cause, "\"192.0.2.1\": more than") != NULL, "cause '%s'", cause);
    CU_ASSERT_EQUAL(memcmp(&list, &before, sizeof(list)), 0);
    CU_ASSERT_EQUAL(addr_cidrs_parse("junk", &list, NULL, 0), -1);
    CU_ASSERT_EQUAL(memcmp(&list, &before, sizeof(list)), 0);
    memset(cause, '#', sizeof(cause));
    CU_ASSERT_EQUAL(addr_cidrs_parse("junk", &list, cause, 4), -1);
    CU_ASSERT_STRING_EQUAL(cause, "\"ju");
    CU_ASSERT_EQUAL(cause[4], '#');
}

/* An item longer than any address is refused and quoted only in part. */
static void test_cidrs_long_item(void)
{
    char spec[4096], cause[160];
    struct addr_cidrs list;

    memset(spec, '1', sizeof(spec) - 1);
    spec[sizeof(spec) - 1] = '\0';
    CU_ASSERT_EQUAL(addr_cidrs_parse(spec, &list, cause, sizeof(cause)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(cause, "too long"));
    CU_ASSERT(strlen(cause) < 100);
}

/* ---- addr_client ------------------------------------------------------------------------ */

static const struct {
    const char *trusted, *peer, *xff, *client;
} client_rows[] = {
    /* An untrusted peer is the client, whatever it claims. */
    {TRUSTED, "203.0.113.1", "1.1.1.1", "203.0.113.1"},
    {TRUSTED, "203.0.113.1", "10.0.0.5", "203.0.113.1"},
    {TRUSTED, "203.0.113.1", "", "203.0.113.1"},
    {"", "127.0.0.1", "203.0.113.7", "127.0.0.1"}, /* no proxy trusted: header ignored */
    {"10.0.0.0/8", "127.0.0.1", "203.0.113.7", "127.0.0.1"},
    /* A trusted peer: the rightmost untrusted entry. */
    {TRUSTED, "127.0.0.1", "203.0.113.7", "203.0.113.7"},
    {TRUSTED, "127.0.0.1", "", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", " \t ", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"},  /* spoofed left part */
    {TRUSTED, "127.0.0.1", "10.0.0.1, 203.0.113.7", "203.0.113.7"}, /* spoofed trusted one */
    {TRUSTED, "10.0.0.1", "198.51.100.1, 203.0.113.7, 10.0.0.5, 10.1.2.3", "203.0.113.7"},
    {TRUSTED, "127.0.0.1", "10.0.0.9, 10.0.0.5", "10.0.0.9"}, /* all trusted: leftmost */
    {TRUSTED, "127.0.0.1", "127.0.0.1", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.7,10.0.0.5", "203.0.113.7"},
    {TRUSTED, "127.0.0.1", "\t203.0.113.7 \t,  10.0.0.5 ", "203.0.113.7"},
    /* Garbage: stop there, keep the last good address (to its right, or the peer). */
    {TRUSTED, "127.0.0.1", "203.0.113.7, garbage", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.7, junk, 10.0.0.5", "10.0.0.5"},
    {TRUSTED, "127.0.0.1", "junk, 203.0.113.7", "203.0.113.7"},
    {TRUSTED, "127.0.0.1", "203.0.113.7,,10.0.0.5", "10.0.0.5"},
    {TRUSTED, "127.0.0.1", "203.0.113.7,", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", ",10.0.0.5", "10.0.0.5"},
    {TRUSTED, "127.0.0.1", ",", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "unknown", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "1.2.3.4 5.6.7.8", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.7;10.0.0.5", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.7\r\n", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.7:4711", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.007", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.256", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "0x7f.0.0.1", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "203.0.113.7/32", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "[2001:db8::1]", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "[2001:db8::1]:443", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "fe80::1%eth0", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "fe80::1%25eth0", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "2001:db8::1::2", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "2001:db8:0:0:0:0:0:0:1", "127.0.0.1"},
    {TRUSTED, "127.0.0.1", "for=203.0.113.7", "127.0.0.1"}, /* RFC 7239 syntax is not XFF */
    /* Canonical text out. */
    {TRUSTED, "127.0.0.1", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
    {TRUSTED, "127.0.0.1", "2001:0db8:0000::0001", "2001:db8::1"},
    {TRUSTED, "::1", "203.0.113.7", "::1"}, /* ::1 is not trusted here */
    /* IPv4-mapped IPv6 is IPv4, for the answer and for trust. */
    {TRUSTED, "127.0.0.1", "::ffff:203.0.113.7", "203.0.113.7"},
    {TRUSTED, "127.0.0.1", "::FFFF:cb00:7107", "203.0.113.7"},
    {TRUSTED, "127.0.0.1", "203.0.113.7, ::ffff:10.0.0.5", "203.0.113.7"},
    {TRUSTED, "::ffff:127.0.0.1", "203.0.113.7", "203.0.113.7"},
    {TRUSTED, "::ffff:203.0.113.1", "1.1.1.1", "203.0.113.1"},
    {"::ffff:10.0.0.0/104", "10.9.9.9", "203.0.113.7", "203.0.113.7"},
    {"::ffff:10.0.0.0/104", "::ffff:10.9.9.9", "203.0.113.7", "203.0.113.7"},
    {"::/0", "::ffff:10.9.9.9", "203.0.113.7", "10.9.9.9"}, /* IPv6 ranges hold no IPv4 */
    /* IPv6 proxies and clients. */
    {TRUSTED, "2001:db8:ffff::1", "2001:db8:1:2::5", "2001:db8:1:2::5"},
    {TRUSTED, "2001:db8:ffff::1", "2001:db8:1:2::5, 2001:db8:ffff:1::1", "2001:db8:1:2::5"},
    {TRUSTED, "2001:db8:fffe::1", "2001:db8:1:2::5", "2001:db8:fffe::1"},
    {TRUSTED, "2001:db8:ffff::1", "203.0.113.7, 10.0.0.1", "203.0.113.7"},
    /* A peer that is no address (a unix socket, nothing) gives "". */
    {TRUSTED, "", "203.0.113.7", ""},
    {TRUSTED, "unix:", "203.0.113.7", ""},
    {TRUSTED, "127.0.0.1:80", "203.0.113.7", ""},
};

static void test_client_table(void)
{
    for (size_t i = 0; i < sizeof(client_rows) / sizeof(client_rows[0]); i++) {
        struct addr_cidrs trusted;
        char out[ADDR_TEXT_LEN];

        CU_ASSERT_EQUAL_FATAL(addr_cidrs_parse(client_rows[i].trusted, &trusted, NULL, 0), 0);
        memset(out, '#', sizeof(out));
        addr_client(&trusted, client_rows[i].peer, client_rows[i].xff, out);
        UNIT_CHECK(strcmp(out, client_rows[i].client) == 0,
                   "row %zu peer %s xff \"%s\": got '%s', want '%s'", i, client_rows[i].peer,
                   client_rows[i].xff, out, client_rows[i].client);
    }
}

static void test_client_null(void)
{
    struct addr_cidrs trusted;
    char out[ADDR_TEXT_LEN];

    CU_ASSERT_EQUAL_FATAL(addr_cidrs_parse(TRUSTED, &trusted, NULL, 0), 0);
    addr_client(NULL, "127.0.0.1", "203.0.113.7", out);
    CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
    addr_client(&trusted, "127.0.0.1", NULL, out);
    CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
}

/* n copies of item, then tail, in a buffer the caller frees. */
static char *repeat(const char *head, const char *item, size_t n, const char *tail)
{
    size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
    char *s = malloc(hl + il * n + tl + 1), *p = s;

    if (s == NULL)
        return NULL;
    memcpy(p, head, hl), p += hl;
    for (size_t i = 0; i < n; i++)
        memcpy(p, item, il), p += il;
    memcpy(p, tail, tl + 1);
    return s;
}

/* The walk examines at most ADDR_XFF_MAX_HOPS entries; past that it gives up on the trusted
 * hop it reached, never on a spoofable entry further left. Megabytes of header cost one
 * strlen. */
static void test_client_long_headers(void)
{
    static const struct {
        const char *head, *item;
        size_t n;
        const char *tail, *client;
    } rows[] = {
        {"203.0.113.7, ", "10.0.0.5, ", ADDR_XFF_MAX_HOPS - 2, "10.0.0.6", "203.0.113.7"},
        {"203.0.113.7, ", "10.0.0.5, ", ADDR_XFF_MAX_HOPS - 1, "10.0.0.6", "10.0.0.5"},
        {"203.0.113.7, ", "10.0.0.5, ", 100000, "10.0.0.6", "10.0.0.5"},
        {"", "6.6.6.6, ", 100000, "203.0.113.7", "203.0.113.7"},
        {"", "a", 1000000, "", "127.0.0.1"},
        {"", ",", 1000000, "", "127.0.0.1"},
        {"", "9", 1000000, "", "127.0.0.1"},
        {"203.0.113.7", " ", 1000000, "", "203.0.113.7"}, /* the header is trimmed first */
        {"203.0.113.7,", " ", ADDR_XFF_MAX_ENTRY, "10.0.0.5", "127.0.0.1"}, /* entry too wide */
        {"203.0.113.7,", " ", ADDR_XFF_MAX_ENTRY - 8, "10.0.0.5", "203.0.113.7"},
        {"", "1", ADDR_TEXT_LEN, "", "127.0.0.1"},
        {"", "0:", 1000, ":1", "127.0.0.1"},
    };
    struct addr_cidrs trusted;

    CU_ASSERT_EQUAL_FATAL(addr_cidrs_parse(TRUSTED, &trusted, NULL, 0), 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[ADDR_TEXT_LEN];
        char *xff = repeat(rows[i].head, rows[i].item, rows[i].n, rows[i].tail);
        CU_ASSERT_PTR_NOT_NULL_FATAL(xff);
        long long t0 = unit_cpu_ms();
        addr_client(&trusted, "127.0.0.1", xff, out);
        long long ms = unit_cpu_ms() - t0;
        UNIT_CHECK(strcmp(out, rows[i].client) == 0, "row %zu: got '%s', want '%s'", i, out,
                   rows[i].client);
        UNIT_CHECK(ms < 200, "row %zu took %lld ms", i, ms);
        free(xff);
    }
}

/* A seeded stream of random headers over the characters that matter: the answer is always the
 * peer or an address from the header, in canonical text, and nothing overflows (ASan
 * watches). */
static void test_client_random(void)
{
    static const char alphabet[] = "0123456789abcdefABCDEF.:, \t[]%/xf::ffff.1.2";
    struct addr_cidrs trusted;
    uint32_t seed = 0x2545f491;

    CU_ASSERT_EQUAL_FATAL(addr_cidrs_parse("0.0.0.0/0, ::/0", &trusted, NULL, 0), 0);
    for (int round = 0; round < 50000; round++) {
        char xff[200], out[ADDR_TEXT_LEN], key[ADDR_TEXT_LEN];
        size_t len;

        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        len = seed % sizeof(xff);
        for (size_t i = 0; i < len; i++) {
            seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
            xff[i] = alphabet[seed % (sizeof(alphabet) - 1)];
        }
        xff[len] = '\0';
        addr_client(&trusted, "127.0.0.1", xff, out);
        addr_limit_key(out, key);
        UNIT_CHECK(*key != '\0', "round %d: '%s' from \"%s\" does not parse", round, out, xff);
        UNIT_CHECK(addr_text_is_safe(out) && addr_text_is_safe(key),
                   "round %d: '%s' / '%s' from \"%s\"", round, out, key, xff);
    }
}

/* ---- addr_limit_key --------------------------------------------------------------------- */

static const struct {
    const char *ip, *key;
} key_rows[] = {
    {"203.0.113.7", "203.0.113.7"},
    {"0.0.0.0", "0.0.0.0"},
    {"255.255.255.255", "255.255.255.255"},
    {"2001:db8:1:2:aa:bb:cc:dd", "2001:db8:1:2::"},
    {"2001:db8:1:2::1", "2001:db8:1:2::"},
    {"2001:DB8:1:2:FFFF:FFFF:FFFF:FFFF", "2001:db8:1:2::"},
    {"2001:db8:1:2::", "2001:db8:1:2::"},
    {"2001:db8:1:3::1", "2001:db8:1:3::"},
    {"2001:db8::1", "2001:db8::"},
    {"2001:db8::1.2.3.4", "2001:db8::"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::"},
    {"fe80::1", "fe80::"},
    {"::1", "::"},
    {"::", "::"},
    {"::1.2.3.4", "::"},
    {"::ffff:1.2.3.4", "1.2.3.4"},
    {"::ffff:0102:0304", "1.2.3.4"},
    {"", ""},
    {"fe80::1%eth0", ""},
    {"[::1]", ""},
    {"[2001:db8::1]:443", ""},
    {"1.2.3.4:80", ""},
    {" 1.2.3.4", ""},
    {"1.2.3.4 ", ""},
    {"1.2.3", ""},
    {"1.2.3.4.5", ""},
    {"01.2.3.4", ""},
    {"garbage", ""},
    {"2001:db8:1:2:3:4:5:6:7", ""},
    {"12345::", ""},
    {"1111111111111111111111111111111111111111111111111111111", ""},
};

static void test_limit_key_table(void)
{
    for (size_t i = 0; i < sizeof(key_rows) / sizeof(key_rows[0]); i++) {
        char out[ADDR_TEXT_LEN];
        memset(out, '#', sizeof(out));
        addr_limit_key(key_rows[i].ip, out);
        UNIT_CHECK(strcmp(out, key_rows[i].key) == 0, "row %zu \"%s\": got '%s', want '%s'", i,
                   key_rows[i].ip, out, key_rows[i].key);
        UNIT_CHECK(addr_text_is_safe(out), "row %zu: '%s' has characters nginx refuses", i, out);
    }
    char out[ADDR_TEXT_LEN] = "#";
    addr_limit_key(NULL, out);
    CU_ASSERT_STRING_EQUAL(out, "");
}

/* Two hosts of one /64 share a key; the next /64 does not. */
static void test_limit_key_groups(void)
{
    char a[ADDR_TEXT_LEN], b[ADDR_TEXT_LEN], c[ADDR_TEXT_LEN];

    addr_limit_key("2001:db8:5:6::1", a);
    addr_limit_key("2001:db8:5:6:ffff:1234:abcd:9", b);
    addr_limit_key("2001:db8:5:7::1", c);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    addr_limit_key("203.0.113.7", a);
    addr_limit_key("203.0.113.8", b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static const struct unit_test addr_tests[] = {
    {"trusted proxy lists: table of good and hostile specs", test_cidrs_table},
    {"trusted proxy lists: entry limit, out untouched, cause size", test_cidrs_limits},
    {"trusted proxy lists: an absurd item is quoted in part", test_cidrs_long_item},
    {"client address table: spoofing, hops, garbage, IPv6, mapped", test_client_table},
    {"client address with NULL list or header", test_client_null},
    {"client address: long headers cost bounded work", test_client_long_headers},
    {"client address: random headers give a canonical address", test_client_random},
    {"limit key table: IPv4 kept, IPv6 by /64, junk gives \"\"", test_limit_key_table},
    {"limit key groups a /64", test_limit_key_groups},
    {NULL, NULL},
};

int test_addr_register(void)
{
    CU_pSuite s = CU_add_suite("addr", NULL, NULL);
    return s == NULL ? -1 : unit_add_tests(s, addr_tests);
}
