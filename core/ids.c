#include "ids.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

static enum wnc_err ids_random(unsigned char *out, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(out + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            char why[LOG_ERRNO_LEN];
            log_error("ids: getrandom: %s", log_errno(errno, why));
            return E_INTERNAL;
        }
        got += (size_t)n;
    }
    return E_OK;
}

enum wnc_err ids_room(char out[ROOM_ID_LEN + 1])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char r[ROOM_ID_LEN * 2];
    int n = 0;

    /* Rejection sampling keeps every character equally likely (252 = 7 * 36). */
    while (n < ROOM_ID_LEN) {
        if (ids_random(r, sizeof(r)) != E_OK)
            return E_INTERNAL;
        for (size_t i = 0; i < sizeof(r) && n < ROOM_ID_LEN; i++)
            if (r[i] < 252)
                out[n++] = alphabet[r[i] % 36];
    }
    out[ROOM_ID_LEN] = '\0';
    return E_OK;
}

enum wnc_err ids_user(char out[USER_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[USER_ID_BYTES];
    int o = 0;

    if (ids_random(r, sizeof(r)) != E_OK)
        return E_INTERNAL;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < USER_ID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
    return E_OK;
}

enum wnc_err ids_token(const char *room_id, char out[TOKEN_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[TOKEN_SECRET_BYTES + 1];
    unsigned bits = 0, acc = 0;
    int o = ROOM_ID_LEN + 1;

    if (ids_random(r, TOKEN_SECRET_BYTES) != E_OK)
        return E_INTERNAL;
    r[TOKEN_SECRET_BYTES] = 0;
    memcpy(out, room_id, ROOM_ID_LEN);
    out[ROOM_ID_LEN] = '.';
    for (int i = 0; o < TOKEN_LEN; i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 6 && o < TOKEN_LEN) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    out[TOKEN_LEN] = '\0';
    return E_OK;
}

enum wnc_err ids_conn(char out[CONN_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[CONN_ID_BYTES];

    if (ids_random(r, sizeof(r)) != E_OK)
        return E_INTERNAL;
    for (int i = 0; i < CONN_ID_BYTES; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[CONN_ID_LEN] = '\0';
    return E_OK;
}
