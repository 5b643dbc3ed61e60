#include "password.h"

#include <sodium.h>
#include <string.h>

#include "log.h"

_Static_assert(PASSWORD_HASH_LEN == crypto_pwhash_STRBYTES, "the stored hash's size");

int password_init(void)
{
    if (sodium_init() < 0) {
        log_error("password: sodium_init failed");
        return -1;
    }
    return 0;
}

enum wnc_err password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_LEN])
{
    if (crypto_pwhash_str(out, pw, len, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT) != 0) {
        log_error("password: crypto_pwhash_str failed (out of memory?)");
        return E_INTERNAL;
    }
    return E_OK;
}

int password_verify(const char *hash, const char *pw, size_t len)
{
    return crypto_pwhash_str_verify(hash, pw, len) == 0;
}
