/* wnc-admin, the operator's CLI (admin/main.c): its parts that are not the command line. It
 * links the core objects and hiredis only, like wnc-pushd: JSON is written with buf.h, never
 * parsed (the rooms come from admin_room.lua as a flat list of strings). */
#ifndef WNC_ADMIN_H
#define WNC_ADMIN_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "ids.h"
#include "nchan.h"
#include "store.h"

/* ---- admin/room.c: one room as sql/admin_room.lua reads it -------------------------------- */

struct admin_member {
    const char *id, *name;
    int is_host, online;
    long long joined_at, streams;
};

struct admin_video {
    const char *url, *kind, *youtube_id; /* youtube_id: "" when none */
    int playing;
    double position, rate;
    long long updated_at;
};

struct admin_room {
    char id[ROOM_ID_LEN + 1];
    long long created_at, seq, chat, streams, members, online;
    const char *channel;
    int has_video;
    struct admin_video video;
    size_t nmembers;             /* members listed: all of them for a full read, else 0 */
    struct admin_member *member; /* nmembers, hosts first, then in join order */
    struct store_reply reply;    /* the strings above point into it */
};

/* Reads room id (valid_room_id's form) through admin_room.lua; full lists the members too.
 * Returns E_OK with *out filled (free it with admin_room_free), E_ROOM_NOT_FOUND,
 * E_REDIS_UNAVAILABLE, or E_INTERNAL for a reply of the wrong shape (logged). */
enum wnc_err admin_room_read(struct store *st, const char *id, int full, struct admin_room *out);

/* Harmless on a zeroed or freed room. */
void admin_room_free(struct admin_room *r);

/* Appends s as a JSON string; bytes that are not UTF-8 become U+FFFD (buf_json_string takes
 * only UTF-8, and Redis holds whatever was written to it). NULL is written as null. */
void admin_json_str(struct buf *b, const char *s);

/* Appends a finite number as JSON (0 for NaN or an infinity, which JSON cannot carry). */
void admin_json_num(struct buf *b, double v);

#endif
