#include "addr.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static_assert(ADDR_TEXT_LEN == INET6_ADDRSTRLEN, "ADDR_TEXT_LEN is INET6_ADDRSTRLEN");
static_assert(ADDR_XFF_MAX_ENTRY >= ADDR_TEXT_LEN, "an entry of the longest address fits");
static_assert(ADDR_BYTES == sizeof(struct in6_addr), "ADDR_BYTES holds an IPv6 address");

/* The longest CIDR item: an address, '/', three digits. */
#define ADDR_CIDR_TEXT_MAX (ADDR_TEXT_LEN + 4)

/* The most bytes of an offending item quoted in a cause. */
#define ADDR_CAUSE_QUOTE 64
#define ADDR_STR2(x) #x
#define ADDR_STR(x) ADDR_STR2(x)

/* A parsed address: AF_INET (4 bytes used) or AF_INET6. */
struct addr_ip {
    int family;
    unsigned char bytes[ADDR_BYTES];
};

/* ::ffff:0:0/96, the IPv4-mapped prefix. */
static const unsigned char addr_mapped_prefix[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int addr_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses the len bytes at text (not NUL-terminated) as a bare address, with no spaces, zone id,
 * brackets or port: only hex digits, dots and colons reach inet_pton, which then decides.
 * IPv4-mapped IPv6 becomes IPv4. Returns 1 and fills *ip, or 0. */
static int addr_parse_ip(const char *text, size_t len, struct addr_ip *ip)
{
    char buf[ADDR_TEXT_LEN];
    int colon = 0;

    if (len == 0 || len >= sizeof(buf))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ':')
            colon = 1;
        else if (!(c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                   (c >= 'A' && c <= 'F')))
            return 0;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(ip->bytes, 0, sizeof(ip->bytes));
    if (!colon) {
        ip->family = AF_INET;
        return inet_pton(AF_INET, buf, ip->bytes) == 1;
    }
    if (inet_pton(AF_INET6, buf, ip->bytes) != 1)
        return 0;
    ip->family = AF_INET6;
    if (memcmp(ip->bytes, addr_mapped_prefix, sizeof(addr_mapped_prefix)) == 0) {
        memmove(ip->bytes, ip->bytes + sizeof(addr_mapped_prefix), 4);
        memset(ip->bytes + 4, 0, ADDR_BYTES - 4);
        ip->family = AF_INET;
    }
    return 1;
}

/* Writes ip as canonical text; inet_ntop cannot fail on a parsed address and buffer this
 * size, but out is "" if it ever did. */
static void addr_format(const struct addr_ip *ip, char out[ADDR_TEXT_LEN])
{
    if (inet_ntop(ip->family, ip->bytes, out, ADDR_TEXT_LEN) == NULL)
        out[0] = '\0';
}

static unsigned addr_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

/* Whether the first prefix bits of a and b agree. */
static int addr_prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;

    if (memcmp(a, b, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static int addr_trusted(const struct addr_cidrs *trusted, const struct addr_ip *ip)
{
    if (trusted == NULL)
        return 0;
    for (size_t i = 0; i < trusted->n; i++) {
        const struct addr_cidr *c = &trusted->items[i];
        if (c->family == ip->family && addr_prefix_equal(c->bytes, ip->bytes, c->prefix))
            return 1;
    }
    return 0;
}

/* Parses one CIDR item (len bytes at text, no separators in it). Returns NULL and fills *cidr,
 * or a static string saying what is wrong. */
static const char *addr_parse_cidr(const char *text, size_t len, struct addr_cidr *cidr)
{
    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash != NULL ? (size_t)(slash - text) : len;
    struct addr_ip ip;
    unsigned prefix, max;
    int mapped;

    if (len > ADDR_CIDR_TEXT_MAX)
        return "too long";
    if (!addr_parse_ip(text, addr_len, &ip))
        return "not an IPv4 or IPv6 address";
    /* A mapped IPv6 range is compared in IPv4 terms, as the addresses it would match are. */
    mapped = ip.family == AF_INET && memchr(text, ':', addr_len) != NULL;
    max = mapped ? 128 : addr_bits(ip.family);
    prefix = max;
    if (slash != NULL) {
        const char *p = slash + 1, *end = text + len;
        if (p == end)
            return "empty prefix length";
        if (*p == '0' && end - p > 1)
            return "prefix length with a leading zero";
        prefix = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "prefix length is not a decimal number";
            prefix = prefix * 10 + (unsigned)(*p - '0');
            if (prefix > max)
                return "prefix length out of range";
        }
    }
    if (mapped) {
        if (prefix < 96)
            return "IPv4-mapped range shorter than /96";
        prefix -= 96;
    }
    for (unsigned bit = prefix; bit < addr_bits(ip.family); bit++)
        if (ip.bytes[bit / 8] & (0x80 >> (bit % 8)))
            return "host bits set below the prefix length";
    cidr->family = ip.family;
    memcpy(cidr->bytes, ip.bytes, sizeof(cidr->bytes));
    cidr->prefix = prefix;
    return NULL;
}

static int addr_is_separator(char c)
{
    return c == ',' || addr_is_space(c);
}

/* Writes "\"item\": why" into cause, quoting at most ADDR_CAUSE_QUOTE bytes of the item. */
static void addr_cause(char *cause, size_t cause_size, const char *item, size_t len,
                       const char *why)
{
    if (cause_size > 0)
        snprintf(cause, cause_size, "\"%.*s\": %s",
                 len > ADDR_CAUSE_QUOTE ? ADDR_CAUSE_QUOTE : (int)len, item, why);
}

int addr_cidrs_parse(const char *spec, struct addr_cidrs *out, char *cause, size_t cause_size)
{
    struct addr_cidrs list = {0};
    const char *p = spec;

    while (*p != '\0') {
        const char *item, *why;
        size_t len;

        while (addr_is_separator(*p))
            p++;
        if (*p == '\0')
            break;
        item = p;
        while (*p != '\0' && !addr_is_separator(*p))
            p++;
        len = (size_t)(p - item);
        if (list.n == ADDR_MAX_CIDRS) {
            addr_cause(cause, cause_size, item, len,
                       "more than " ADDR_STR(ADDR_MAX_CIDRS) " entries");
            return -1;
        }
        if ((why = addr_parse_cidr(item, len, &list.items[list.n])) != NULL) {
            addr_cause(cause, cause_size, item, len, why);
            return -1;
        }
        list.n++;
    }
    *out = list;
    return 0;
}

/* Parses one X-Forwarded-For entry, the bytes [begin, end) with the spaces around it. */
static int addr_parse_entry(const char *begin, const char *end, struct addr_ip *ip)
{
    while (begin < end && addr_is_space(*begin))
        begin++;
    while (end > begin && addr_is_space(end[-1]))
        end--;
    return addr_parse_ip(begin, (size_t)(end - begin), ip);
}

void addr_client(const struct addr_cidrs *trusted, const char *peer, const char *xff,
                 char out[ADDR_TEXT_LEN])
{
    struct addr_ip good, entry;
    const char *start, *end;

    if (!addr_parse_entry(peer, peer + strlen(peer), &good)) {
        out[0] = '\0';
        return;
    }
    if (!addr_trusted(trusted, &good) || xff == NULL)
        goto done;
    /* The header without the spaces around it; an empty or blank header names no one. */
    start = xff;
    end = xff + strlen(xff);
    while (start < end && addr_is_space(*start))
        start++;
    while (end > start && addr_is_space(end[-1]))
        end--;
    if (start == end)
        goto done;
    for (int hop = 0; hop < ADDR_XFF_MAX_HOPS; hop++) {
        const char *p = end;
        size_t span = 0;

        /* The entry is [p, end): back to the previous comma or the start, but never further
         * than one entry may span, so an absurd header costs no more than a sane one. */
        while (p > start && p[-1] != ',') {
            if (++span > ADDR_XFF_MAX_ENTRY)
                goto done;
            p--;
        }
        if (!addr_parse_entry(p, end, &entry))
            goto done;
        good = entry;
        if (!addr_trusted(trusted, &good) || p == start)
            goto done;
        end = p - 1; /* before the comma */
    }
done:
    addr_format(&good, out);
}

void addr_limit_key(const char *ip, char out[ADDR_TEXT_LEN])
{
    struct addr_ip a;

    if (ip == NULL || !addr_parse_ip(ip, strlen(ip), &a)) {
        out[0] = '\0';
        return;
    }
    if (a.family == AF_INET6)
        memset(a.bytes + ADDR_IPV6_LIMIT_PREFIX / 8, 0, ADDR_BYTES - ADDR_IPV6_LIMIT_PREFIX / 8);
    addr_format(&a, out);
}
