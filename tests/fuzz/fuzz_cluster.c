/* cluster.c: cluster_redirect_parse (a MOVED/ASK error from a node), cluster_seeds_parse
 * (WNC_REDIS_CLUSTER) and cluster_key_slot, picked by the first byte (which also gives the seed
 * limit). Beyond not crashing: a redirect has a slot below 16384, a port in 1..65535 and a
 * NUL-terminated host within CLUSTER_HOST_LEN, and written back in canonical form it parses to
 * the same; a refused input leaves the outputs untouched; seeds are 1..max non-empty hosts
 * without separators; the slot equals a reference (table-driven CRC16, the tag found by a
 * loop of its own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "fuzz.h"

static unsigned ref_crc16(const unsigned char *p, size_t n)
{
    static unsigned table[256];
    unsigned crc = 0;

    if (table[1] == 0)
        for (unsigned i = 0; i < 256; i++) {
            unsigned c = i << 8;
            for (int b = 0; b < 8; b++)
                c = (c << 1) ^ (c & 0x8000 ? 0x1021 : 0);
            table[i] = c & 0xffff;
        }
    for (size_t i = 0; i < n; i++)
        crc = ((crc << 8) ^ table[((crc >> 8) ^ p[i]) & 0xff]) & 0xffff;
    return crc;
}

static unsigned ref_slot(const unsigned char *key, size_t n)
{
    size_t open = 0, close;

    while (open < n && key[open] != '{')
        open++;
    for (close = open + 1; close < n && key[close] != '}'; close++)
        ;
    if (open < n && close < n && close > open + 1)
        return ref_crc16(key + open + 1, close - open - 1) % 16384;
    return ref_crc16(key, n) % 16384;
}

static void check_host(const struct cluster_addr *a)
{
    FUZZ_CHECK(memchr(a->host, '\0', sizeof(a->host)) != NULL);
    FUZZ_CHECK(a->port >= 1 && a->port <= 65535);
    FUZZ_CHECK(strpbrk(a->host, " ,") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 3 == 0) {
        char *err = fuzz_string(data + 1, size - 1), again[CLUSTER_HOST_LEN + 32];
        struct cluster_addr to = {"untouched", 7}, to2;
        unsigned slot = 99999, slot2;
        enum cluster_redirect_kind k = cluster_redirect_parse(err, &slot, &to), k2;
        if (k == CLUSTER_NOT_REDIRECT) {
            FUZZ_CHECK(slot == 99999 && strcmp(to.host, "untouched") == 0 && to.port == 7);
        } else {
            FUZZ_CHECK(k == CLUSTER_MOVED || k == CLUSTER_ASK);
            FUZZ_CHECK(slot < CLUSTER_SLOTS);
            check_host(&to);
            snprintf(again, sizeof(again), "%s %u %s:%d", k == CLUSTER_MOVED ? "MOVED" : "ASK",
                     slot, to.host, to.port);
            k2 = cluster_redirect_parse(again, &slot2, &to2);
            FUZZ_CHECK(k2 == k && slot2 == slot && to2.port == to.port &&
                       strcmp(to2.host, to.host) == 0);
        }
        free(err);
    } else if (data[0] % 3 == 1) {
        size_t max = (size_t)(data[0] / 3) % (CLUSTER_MAX_SEEDS + 1);
        char *text = fuzz_string(data + 1, size - 1);
        struct cluster_addr *out = malloc((max > 0 ? max : 1) * sizeof(*out));
        int n = cluster_seeds_parse(text, out, max);
        FUZZ_CHECK(n == -1 || (n >= 1 && (size_t)n <= max));
        for (int i = 0; i < n; i++) {
            check_host(&out[i]);
            FUZZ_CHECK(out[i].host[0] != '\0');
        }
        free(out);
        free(text);
    } else {
        char *key = fuzz_bytes(data + 1, size - 1);
        FUZZ_CHECK(cluster_key_slot(key, size - 1) == ref_slot(data + 1, size - 1));
        free(key);
    }
    return 0;
}
