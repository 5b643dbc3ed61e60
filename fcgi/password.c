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

enum wnc_err password_valid(const char *pw, size_t len, const char **cause)
{
    size_t chars = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pw[i];
        if (c < 0x20 || c == 0x7f) {
            *cause = "a password has no control characters";
            return E_INVALID_FIELD;
        }
        chars += (c & 0xc0) != 0x80; /* count lead bytes: the text is valid UTF-8 */
    }
    if (chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS) {
        *cause = "a password has 4 to 64 characters";
        return E_INVALID_FIELD;
    }
    return E_OK;
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
