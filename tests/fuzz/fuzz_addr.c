/* addr.c: addr_cidrs_parse, addr_client and addr_limit_key on a spec, a peer and an
 * X-Forwarded-For header (NUL-separated parts; the first byte picks the cause buffer's size).
 * Beyond not crashing: a parsed list holds at most ADDR_MAX_CIDRS ranges with valid prefixes and
 * no host bits; a refused one leaves the list untouched and the cause NUL-terminated inside its
 * buffer; every address written is NUL-terminated inside ADDR_TEXT_LEN bytes and holds only
 * [0-9a-f.:]; the client is the peer or one of the header's entries, in canonical form (it maps
 * to itself); and a limit key is its own limit key. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "fuzz.h"

/* out is NUL-terminated inside ADDR_TEXT_LEN bytes and holds only [0-9a-f.:]. */
static void check_text(const char *out)
{
    const char *nul = memchr(out, '\0', ADDR_TEXT_LEN);

    FUZZ_CHECK(nul != NULL);
    FUZZ_CHECK(strspn(out, "0123456789abcdef.:") == (size_t)(nul - out));
}

/* addr_client and addr_limit_key into exact-size heap buffers. */
static char *client(const struct addr_cidrs *trusted, const char *peer, const char *xff)
{
    char *out = malloc(ADDR_TEXT_LEN);

    memset(out, '#', ADDR_TEXT_LEN);
    addr_client(trusted, peer, xff, out);
    check_text(out);
    return out;
}

static char *limit_key(const char *ip)
{
    char *out = malloc(ADDR_TEXT_LEN);

    memset(out, '#', ADDR_TEXT_LEN);
    addr_limit_key(ip, out);
    check_text(out);
    return out;
}

static void check_list(const struct addr_cidrs *list)
{
    FUZZ_CHECK(list->n <= ADDR_MAX_CIDRS);
    for (size_t i = 0; i < list->n; i++) {
        const struct addr_cidr *c = &list->items[i];
        unsigned bits = c->family == AF_INET ? 32 : 128;
        FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6);
        FUZZ_CHECK(c->prefix <= bits);
        for (unsigned b = c->prefix; b < 128; b++)
            FUZZ_CHECK(!(c->bytes[b / 8] & (0x80 >> (b % 8))));
    }
}

/* Whether out is the canonical form of one of xff's comma-separated entries. */
static int is_xff_entry(const char *xff, const char *out)
{
    const char *p = xff;

    for (;;) {
        size_t len = strcspn(p, ","), a = 0, b = len;
        char entry[ADDR_TEXT_LEN + ADDR_XFF_MAX_ENTRY], *canon;
        /* Without the spaces and tabs around it, which may be any number at the ends. */
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
            b--;
        if (b - a < sizeof(entry)) {
            memcpy(entry, p + a, b - a);
            entry[b - a] = '\0';
            canon = client(NULL, entry, NULL);
            int same = strcmp(canon, out) == 0;
            free(canon);
            if (same)
                return 1;
        }
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct addr_cidrs list, before;
    char *parts[3], *cause, *out, *peer_canon, *again;
    size_t cause_size;
    int rc;

    if (size == 0)
        return 0;
    cause_size = data[0] % 80;
    fuzz_split(data + 1, size - 1, parts, 3);
    cause = malloc(cause_size > 0 ? cause_size : 1);
    memset(cause, '#', cause_size > 0 ? cause_size : 1);
    memset(&list, 0x5a, sizeof(list));
    before = list;

    rc = addr_cidrs_parse(parts[0], &list, cause, cause_size);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        check_list(&list);
    } else {
        FUZZ_CHECK(memcmp(&list, &before, sizeof(list)) == 0);
        FUZZ_CHECK(cause_size == 0 || memchr(cause, '\0', cause_size) != NULL);
        memset(&list, 0, sizeof(list));
    }

    out = client(&list, parts[1], parts[2]);
    peer_canon = client(NULL, parts[1], NULL);
    /* No header, no proxy: the peer; and the client is the peer or one of the header's. */
    again = client(&list, parts[1], NULL);
    FUZZ_CHECK(strcmp(again, peer_canon) == 0);
    free(again);
    FUZZ_CHECK((*out == '\0') == (*peer_canon == '\0'));
    if (strcmp(out, peer_canon) != 0)
        FUZZ_CHECK(is_xff_entry(parts[2], out));
    if (*out != '\0') {
        char *key = limit_key(out), *key2;
        again = client(NULL, out, NULL); /* canonical text maps to itself */
        FUZZ_CHECK(strcmp(again, out) == 0);
        free(again);
        FUZZ_CHECK(*key != '\0');
        key2 = limit_key(key);
        FUZZ_CHECK(strcmp(key, key2) == 0);
        free(key);
        free(key2);
    }
    for (size_t i = 0; i < 3; i++) {
        char *key = limit_key(parts[i]);
        free(key);
        free(parts[i]);
    }
    free(limit_key(NULL));
    free(out);
    free(peer_canon);
    free(cause);
    return 0;
}
