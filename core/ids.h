/* Identifiers and secrets from the OS CSPRNG (getrandom). Each function returns E_OK or
 * E_INTERNAL if the kernel cannot supply randomness (never silently weaker ids). */
#ifndef WNC_IDS_H
#define WNC_IDS_H

#include "err.h"

#define ROOM_ID_LEN 6
#define USER_ID_LEN 36                                 /* UUID v4, lowercase, with dashes */
#define USER_ID_BYTES 16                               /* the 128 bits it spells */
#define TOKEN_SECRET_BYTES 32                          /* 256 bits */
#define TOKEN_SECRET_LEN 43                            /* base64url, no padding */
#define TOKEN_LEN (ROOM_ID_LEN + 1 + TOKEN_SECRET_LEN) /* "<ROOM>.<secret>" */
#define CONN_ID_BYTES 8
#define CONN_ID_LEN (2 * CONN_ID_BYTES) /* lower-case hex */

/* A room's nchan channel, "<ROOM>-<epoch>": the room id, a dash and a decimal counter the
 * room's scripts raise when they move it to a new channel (sql/lib.lua). The scripts name it;
 * the workers, pushd and the publisher hold it in CHANNEL_MAX_LEN + 1 bytes. */
#define CHANNEL_EPOCH_MAX_DIGITS 18
#define CHANNEL_MAX_LEN (ROOM_ID_LEN + 1 + CHANNEL_EPOCH_MAX_DIGITS)

enum wnc_err ids_room(char out[ROOM_ID_LEN + 1]);
enum wnc_err ids_user(char out[USER_ID_LEN + 1]);
/* A bearer token bound to one room: the room id, a dot, then 256 random bits. The prefix lets a
 * token of another room be told apart (403) from an unknown one (401); it is not secret. */
enum wnc_err ids_token(const char *room_id, char out[TOKEN_LEN + 1]);

/* A connection id for one event stream (a lease, see sql/presence.lua): 64 random bits in hex.
 * Not a secret; unique enough that two live streams never share one. */
enum wnc_err ids_conn(char out[CONN_ID_LEN + 1]);

#endif
