/* SHA-256, used only to store and look up tokens by digest: Redis never holds a usable token,
 * and a lookup by digest reveals nothing about the token through timing. */
#ifndef WNC_SHA256_H
#define WNC_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

/* Writes the lowercase hex digest of data[0..len) and a NUL into out. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
