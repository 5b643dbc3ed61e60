/* Validators for everything a client sends. Pure functions: no I/O, no allocation. Each
 * returns E_OK and writes its normalised result through out-parameters only on success; on
 * failure it returns the error and, where one helps, a static human-readable cause. */
#ifndef WNC_VALID_H
#define WNC_VALID_H

#include <stddef.h>

#include "err.h"
#include "ids.h"

#define NAME_MIN_CHARS 2
#define NAME_MAX_CHARS 50
#define CHAT_MAX_CHARS 1000
#define VIDEO_URL_MAX_BYTES 2048
#define YOUTUBE_ID_LEN 11
#define POSITION_MAX_S 1e7 /* ~115 days: anything longer is a client bug or an attack */
#define RATE_MIN 0.25
#define RATE_MAX 4.0
#define SUBTITLE_LABEL_MAX_CHARS 50
#define LANG_MAX_BYTES 35
#define VALID_EMOJI_COUNT 8
#define QUEUE_MAX_ITEMS 100 /* sql/lib.lua's QUEUE_MAX */

enum video_kind { VIDEO_FILE, VIDEO_HLS, VIDEO_YOUTUBE };

struct video_url {
    enum video_kind kind;
    char youtube_id[YOUTUBE_ID_LEN + 1]; /* empty unless kind is VIDEO_YOUTUBE */
};

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
int valid_utf8(const char *s, size_t len);

/* The value of a hexadecimal digit (either case), or -1 for any other character. Shared by
 * the parsers of URL escapes and chunk sizes. */
int valid_hex_digit(char c);

/* Room codes: exactly 6 of [A-Za-z0-9], upper-cased into out. */
enum wnc_err valid_room_id(const char *in, char out[ROOM_ID_LEN + 1]);

/* User ids: a UUID (any case), lower-cased into out. */
enum wnc_err valid_user_id(const char *in, char out[USER_ID_LEN + 1]);

/* A bearer token as ids_token makes them. E_UNAUTHORIZED when malformed, E_FORBIDDEN when it is
 * well-formed but bound to another room. */
enum wnc_err valid_token(const char *token, const char *room_id);

/* User names: trimmed of spaces, 2-50 of [A-Za-z0-9 -_.!?]. Writes the trimmed name and its
 * lower-case form (the uniqueness key) into out and key, each NAME_MAX_CHARS + 1 bytes. */
enum wnc_err valid_name(const char *in, size_t len, char *out, char *key, const char **cause);

/* Chat text: trimmed of Unicode white space, then 1-1000 characters, no control characters (C0,
 * DEL, C1) but tab, newline and carriage return (pasted text has them). On success *start and
 * *out_len delimit the trimmed text inside in. */
enum wnc_err valid_chat_text(const char *in, size_t len, const char **start, size_t *out_len,
                             const char **cause);

/* Video URLs: http(s), at most 2048 bytes, no spaces or control characters, a host; the kind is
 * detected from the host and path. */
enum wnc_err valid_video_url(const char *in, size_t len, struct video_url *out, const char **cause);

/* Any http(s) URL with the checks video URLs get (length, characters, a host): subtitle tracks. */
enum wnc_err valid_http_url(const char *in, size_t len, const char **cause);

/* A subtitle track's label: as chat text (trimmed of white space, UTF-8), but on one line (no
 * control characters at all) and at most 50 characters. */
enum wnc_err valid_subtitle_label(const char *in, size_t len, const char **start, size_t *out_len,
                                  const char **cause);

/* A language tag: 2-3 letters, then -subtags of 1-8 letters or digits; 35 bytes at most. */
enum wnc_err valid_lang(const char *in, size_t len, const char **cause);

/* One of the 8 reactions, exactly as valid_emojis spells them (UTF-8). */
extern const char *const valid_emojis[VALID_EMOJI_COUNT];
enum wnc_err valid_emoji(const char *in, size_t len, const char **cause);

/* A place in the queue: a whole number in [0, QUEUE_MAX_ITEMS). */
enum wnc_err valid_queue_index(double index, const char **cause);

enum wnc_err valid_position(double position, const char **cause);
enum wnc_err valid_rate(double rate, const char **cause);

/* Access and moderation (issue 16). */
#define PASSWORD_MIN_CHARS 4
#define PASSWORD_MAX_CHARS 64
#define ITEM_ID_MAX_DIGITS 15 /* a message or ban id: below 2^53, exact as a JSON number */
#define MUTE_MIN_MINUTES 1
#define MUTE_MAX_MINUTES 1440 /* a day */

/* A room password: 4-64 characters of valid UTF-8, no control characters (C0, DEL). */
enum wnc_err valid_password(const char *in, size_t len, const char **cause);

/* A message or ban id from a path: a positive decimal integer without leading zeros, at most
 * ITEM_ID_MAX_DIGITS digits, copied into out (ITEM_ID_MAX_DIGITS + 1 bytes) on success. */
enum wnc_err valid_item_id(const char *in, char *out, const char **cause);

/* A mute's length: a whole number of minutes, 1 to 1440. */
enum wnc_err valid_mute_minutes(double minutes, const char **cause);

#endif
