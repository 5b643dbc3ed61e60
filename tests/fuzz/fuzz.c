#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_fail(const char *file, int line, const char *cond)
{
    fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n", file, line, cond);
    abort();
}

static void *fuzz_alloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);

    if (p == NULL)
        abort();
    return p;
}

char *fuzz_bytes(const uint8_t *data, size_t n)
{
    char *p = fuzz_alloc(n);

    if (n > 0)
        memcpy(p, data, n);
    return p;
}

char *fuzz_string(const uint8_t *data, size_t n)
{
    const uint8_t *nul = n > 0 ? memchr(data, 0, n) : NULL;
    size_t len = nul != NULL ? (size_t)(nul - data) : n;
    char *p = fuzz_alloc(len + 1);

    if (len > 0)
        memcpy(p, data, len);
    p[len] = '\0';
    return p;
}

void fuzz_split(const uint8_t *data, size_t n, char **parts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *nul = n > 0 && i + 1 < count ? memchr(data, 0, n) : NULL;
        size_t len = nul != NULL ? (size_t)(nul - data) : n;

        if (i + 1 < count) {
            parts[i] = fuzz_string(data, len);
        } else {
            /* The last part: everything left, without its NULs. */
            char *p = fuzz_alloc(len + 1);
            size_t k = 0;
            for (size_t j = 0; j < len; j++)
                if (data[j] != 0)
                    p[k++] = (char)data[j];
            p[k] = '\0';
            parts[i] = p;
        }
        data += len;
        n -= len;
        if (n > 0) { /* skip the NUL */
            data++;
            n--;
        }
    }
}

int fuzz_contains(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

int fuzz_utf8_ok(const unsigned char *s, size_t n)
{
    /* Each row: the first byte's range, then the allowed range of each following byte. */
    static const struct {
        unsigned char lo, hi, len, lo2, hi2;
    } rows[] = {
        {0x00, 0x7f, 1, 0, 0},       {0xc2, 0xdf, 2, 0x80, 0xbf}, {0xe0, 0xe0, 3, 0xa0, 0xbf},
        {0xe1, 0xec, 3, 0x80, 0xbf}, {0xed, 0xed, 3, 0x80, 0x9f}, {0xee, 0xef, 3, 0x80, 0xbf},
        {0xf0, 0xf0, 4, 0x90, 0xbf}, {0xf1, 0xf3, 4, 0x80, 0xbf}, {0xf4, 0xf4, 4, 0x80, 0x8f},
    };
    size_t i = 0;

    while (i < n) {
        size_t r = 0, nrows = sizeof(rows) / sizeof(rows[0]);
        while (r < nrows && !(s[i] >= rows[r].lo && s[i] <= rows[r].hi))
            r++;
        if (r == nrows || n - i < rows[r].len)
            return 0;
        /* The second byte has the row's range; any later ones are plain continuations. */
        for (size_t k = 1; k < rows[r].len; k++) {
            unsigned char lo = k == 1 ? rows[r].lo2 : 0x80, hi = k == 1 ? rows[r].hi2 : 0xbf;
            if (s[i + k] < lo || s[i + k] > hi)
                return 0;
        }
        i += rows[r].len;
    }
    return 1;
}
