/* What a Redis Cluster client must compute by itself, pure and without hiredis (store.c does the
 * talking): the slot of a key (CRC16 of its hash tag, mod 16384, as the cluster specification
 * defines it), the node a MOVED or ASK error names, and the seed list of WNC_REDIS_CLUSTER. */
#ifndef WNC_CLUSTER_H
#define WNC_CLUSTER_H

#include <stddef.h>

#define CLUSTER_SLOTS 16384
/* Bytes for a node's host with its NUL: a DNS name (253) or an IPv6 address. */
#define CLUSTER_HOST_LEN 256
/* Seed nodes WNC_REDIS_CLUSTER may list. */
#define CLUSTER_MAX_SEEDS 16

struct cluster_addr {
    char host[CLUSTER_HOST_LEN]; /* "" when Redis did not say (same host as the node asked) */
    int port;
};

/* CRC16/XMODEM (polynomial 0x1021, initial 0) of buf[0..len): the specification's function
 * (its test vector: "123456789" gives 0x31C3). */
unsigned cluster_crc16(const char *buf, size_t len);

/* The slot of key[0..len): the CRC16 of what lies between the first '{' and the first '}' after
 * it when that is not empty, else of the whole key, mod 16384. */
unsigned cluster_key_slot(const char *key, size_t len);

enum cluster_redirect_kind {
    CLUSTER_NOT_REDIRECT,
    CLUSTER_MOVED, /* the slot lives elsewhere for good: refresh the map */
    CLUSTER_ASK,   /* this one command goes to the other node, after ASKING */
};

/* Reads an error reply "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" (the host may
 * be empty, or an IPv6 address: the port follows the last ':'). Returns the kind, and for a
 * redirect fills *slot and *to; anything malformed is CLUSTER_NOT_REDIRECT, with *slot and *to
 * untouched. */
enum cluster_redirect_kind cluster_redirect_parse(const char *err, unsigned *slot,
                                                  struct cluster_addr *to);

/* Parses "host:port[,host:port...]" (spaces around items allowed) into out[0..max). Returns the
 * number of seeds (at least 1), or -1 for an empty list, a malformed item, a port outside
 * 1..65535 or more than max items; out's contents are then unspecified. */
int cluster_seeds_parse(const char *text, struct cluster_addr *out, size_t max);

#endif
