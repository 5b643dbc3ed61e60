/* Client addresses behind a TLS-terminating proxy, without nginx's realip module (which breaks
 * nchan's hooks). nginx passes $remote_addr (the peer) and the X-Forwarded-For header; when the
 * peer is a trusted proxy, the client is the rightmost address in X-Forwarded-For that is not
 * itself a trusted proxy. Everything here is pure: no allocation, no global state, no I/O, so
 * it is safe from any thread. */
#ifndef WNC_ADDR_H
#define WNC_ADDR_H

#include <stddef.h>

/* Bytes for an address in canonical text plus its NUL: INET6_ADDRSTRLEN, so the longest
 * IPv6 text ("ffff:...:255.255.255.255") fits. Every output of this module fits in it. */
#define ADDR_TEXT_LEN 46
/* Bytes of an address in network order: an IPv6 address's 16 (IPv4 uses the first 4). */
#define ADDR_BYTES 16
/* Most trusted proxy ranges a configuration may list. */
#define ADDR_MAX_CIDRS 32
/* Most X-Forwarded-For entries examined from the right, and most bytes one entry may span
 * with the spaces around it: whatever the header's length, the walk costs at most their
 * product (plus one strlen). A longer chain of trusted hops than this is not real. */
#define ADDR_XFF_MAX_HOPS 16
#define ADDR_XFF_MAX_ENTRY 64
/* The per-IP limit key of an IPv6 address keeps this many leading bits: one subscriber's /64
 * is one client, however many addresses it rotates through. */
#define ADDR_IPV6_LIMIT_PREFIX 64

/* One trusted range: an IPv4 or IPv6 network with its prefix length. IPv4-mapped IPv6 ranges
 * (::ffff:a.b.c.d/96 and longer) are stored as the IPv4 range they denote. */
struct addr_cidr {
    int family;                      /* AF_INET or AF_INET6 */
    unsigned char bytes[ADDR_BYTES]; /* network order; 4 used for AF_INET; host bits are zero */
    unsigned prefix;                 /* 0..32 or 0..128 */
};

/* A parsed list of trusted proxy ranges. A zeroed struct is the empty list. */
struct addr_cidrs {
    size_t n;
    struct addr_cidr items[ADDR_MAX_CIDRS];
};

/* Parses spec, a list of addresses or CIDR ranges ("10.0.0.0/8", "2001:db8::/32", "::1")
 * separated by commas and/or spaces; a bare address is a /32 or /128, and "" (or only
 * separators) is the empty list. Rejects bad prefix lengths (out of range, not decimal, leading
 * zeros), host bits set below the prefix, anything inet_pton refuses or that carries a zone id,
 * brackets or a port, and more than ADDR_MAX_CIDRS entries. Returns 0 and fills *out, or -1
 * with *out untouched and cause (cause_size bytes, may be 0) naming the offending item. spec
 * must not be NULL. */
int addr_cidrs_parse(const char *spec, struct addr_cidrs *out, char *cause, size_t cause_size);

/* Writes the client address for a request into out, as canonical inet_ntop text with
 * IPv4-mapped IPv6 turned into IPv4 (::ffff:1.2.3.4 gives 1.2.3.4).
 *
 * peer is the TCP peer (nginx's $remote_addr). If it is not in trusted, the client is peer and
 * xff is ignored entirely (a client may send any header it likes). If it is, xff (the
 * X-Forwarded-For header, comma-separated, spaces and tabs around entries tolerated) is walked
 * from right to left: entries that are themselves trusted are skipped, and the first untrusted
 * one is the client. The walk stops at the first malformed entry (empty, not a bare address, a
 * zone id, brackets, a port, too long) or after ADDR_XFF_MAX_HOPS entries, and the client is
 * then the last good address seen (the entry to its right, or peer); when every entry is
 * trusted, the leftmost one.
 *
 * An unparsable peer (a unix socket, "") gives "". trusted and xff may be NULL (no proxy
 * trusted, no header); peer must not be NULL. out is always written and NUL-terminated. */
void addr_client(const struct addr_cidrs *trusted, const char *peer, const char *xff,
                 char out[ADDR_TEXT_LEN]);

/* Writes the key the per-IP limits count under: an IPv4 address unchanged (canonical), an IPv6
 * address reduced to its /64 network in canonical text without the slash ("2001:db8:1:2::" for
 * 2001:db8:1:2:aa:bb:cc:dd). The key holds only [0-9a-f.:], since it travels in nginx paths.
 * An ip that does not parse as a bare address (NULL included) gives "". out is always written
 * and NUL-terminated. */
void addr_limit_key(const char *ip, char out[ADDR_TEXT_LEN]);

#endif
