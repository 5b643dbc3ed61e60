#include "cluster.h"

#include <string.h>

unsigned cluster_crc16(const char *buf, size_t len)
{
    unsigned crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)buf[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
        crc &= 0xffff;
    }
    return crc;
}

unsigned cluster_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);

    if (open != NULL) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1)
            return cluster_crc16(open + 1, (size_t)(close - open - 1)) % CLUSTER_SLOTS;
    }
    return cluster_crc16(key, len) % CLUSTER_SLOTS;
}

/* Parses "host:port" of exactly len bytes (host possibly empty or containing ':'). */
static int cluster_addr_parse(const char *s, size_t len, struct cluster_addr *out)
{
    const char *colon = NULL;
    long port = 0;
    size_t digits;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL || (size_t)(colon - s) >= sizeof(out->host))
        return -1;
    digits = len - (size_t)(colon - s) - 1;
    if (digits < 1 || digits > 5)
        return -1;
    for (size_t i = 0; i < digits; i++) {
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
            return -1;
        port = port * 10 + (colon[1 + i] - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    for (const char *p = s; p < colon; p++)
        if ((unsigned char)*p <= ' ' || *p == ',' || (unsigned char)*p >= 0x7f)
            return -1;
    memcpy(out->host, s, (size_t)(colon - s));
    out->host[colon - s] = '\0';
    out->port = (int)port;
    return 0;
}

enum cluster_redirect_kind cluster_redirect_parse(const char *err, unsigned *slot,
                                                  struct cluster_addr *to)
{
    enum cluster_redirect_kind kind;
    struct cluster_addr addr;
    const char *p;
    unsigned n = 0;
    size_t digits;

    if (strncmp(err, "MOVED ", 6) == 0)
        kind = CLUSTER_MOVED, p = err + 6;
    else if (strncmp(err, "ASK ", 4) == 0)
        kind = CLUSTER_ASK, p = err + 4;
    else
        return CLUSTER_NOT_REDIRECT;
    digits = strspn(p, "0123456789");
    if (digits < 1 || digits > 5 || p[digits] != ' ')
        return CLUSTER_NOT_REDIRECT;
    for (size_t i = 0; i < digits; i++)
        n = n * 10 + (unsigned)(p[i] - '0');
    if (n >= CLUSTER_SLOTS)
        return CLUSTER_NOT_REDIRECT;
    p += digits + 1;
    if (cluster_addr_parse(p, strlen(p), &addr) != 0)
        return CLUSTER_NOT_REDIRECT;
    *slot = n;
    *to = addr;
    return kind;
}

int cluster_seeds_parse(const char *text, struct cluster_addr *out, size_t max)
{
    size_t n = 0;
    const char *p = text;

    for (;;) {
        size_t len = strcspn(p, ","), a = 0, b = len;
        while (a < b && p[a] == ' ')
            a++;
        while (b > a && p[b - 1] == ' ')
            b--;
        if (n == max || b == a || cluster_addr_parse(p + a, b - a, &out[n]) != 0 ||
            out[n].host[0] == '\0')
            return -1;
        n++;
        if (p[len] == '\0')
            return (int)n;
        p += len + 1;
    }
}
