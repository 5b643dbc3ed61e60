/* Room passwords: the only file that knows libsodium. A password is stored as
 * crypto_pwhash_str (Argon2id, salted, with its parameters in the string) and checked with
 * crypto_pwhash_str_verify; neither the password nor a fast digest of it is kept anywhere.
 *
 * The cost, chosen consciously (OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane): each hash
 * or check takes PASSWORD_MEMLIMIT bytes and about 30-35 ms of one core on the shared 2-core test
 * machine, on the serving worker thread, which waits meanwhile (WNC_WORKERS threads: that many
 * checks at once at most, 19 MiB each). Who can make the worker pay: a host setting a password
 * (per-member control limit) and a join with a password, which password_gate.lua counts
 * before the check (5 wrong per 10 minutes per room and address), so an attacker cannot buy
 * CPU with requests. */
#ifndef WNC_PASSWORD_H
#define WNC_PASSWORD_H

#include <stddef.h>

#include "err.h"

#define PASSWORD_OPSLIMIT 2ULL
#define PASSWORD_MEMLIMIT (19U << 20)
#define PASSWORD_HASH_LEN 128 /* crypto_pwhash_STRBYTES: the stored string and its NUL */

/* sodium_init, once at start. Returns 0, or -1 after logging. */
int password_init(void);

/* Hashes pw into out. E_INTERNAL when libsodium cannot (out of memory). */
enum wnc_err password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_LEN]);

/* Whether pw matches hash (a crypto_pwhash_str string): 1 or 0. */
int password_verify(const char *hash, const char *pw, size_t len);

#endif
