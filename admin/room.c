/* One room as sql/admin_room.lua reads it, taken apart; and the JSON writers wnc-admin shares. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "exec.h"
#include "log.h"
#include "valid.h"
#include "xmalloc.h"

#define ADMIN_ROOM_HEAD 8 /* the strings before the video's: createdAt .. #video fields */
#define ADMIN_ROOM_VIDEO_FIELDS 7
#define ADMIN_ROOM_MEMBER_FIELDS 6

/* s as a whole decimal integer; -1 when it is not one (or NULL). */
static int admin_integer(const char *s, long long *out)
{
    char *end;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0' ? 0 : -1;
}

/* s as a finite number (Lua's tostring of one); -1 otherwise. */
static int admin_number(const char *s, double *out)
{
    char *end;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int admin_flag(const char *s, int *out)
{
    if (s == NULL || (strcmp(s, "0") != 0 && strcmp(s, "1") != 0))
        return -1;
    *out = s[0] == '1';
    return 0;
}

/* Takes the reply apart; -1 when it has another shape. */
static int admin_room_parse(struct admin_room *r, int full)
{
    char *const *it = r->reply.items;
    size_t n = r->reply.n, at = ADMIN_ROOM_HEAD;
    long long nvideo;

    if (n < ADMIN_ROOM_HEAD)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (it[i] == NULL)
            return -1;
    if (admin_integer(it[0], &r->created_at) || admin_integer(it[1], &r->seq) ||
        admin_integer(it[3], &r->chat) || admin_integer(it[4], &r->streams) ||
        admin_integer(it[5], &r->members) || admin_integer(it[6], &r->online) ||
        admin_integer(it[7], &nvideo) || r->members < 0 ||
        (nvideo != 0 && nvideo != ADMIN_ROOM_VIDEO_FIELDS) || r->reply.lens[2] >= EXEC_CHANNEL_SIZE)
        return -1;
    r->channel = it[2];
    if (nvideo != 0) {
        struct admin_video *v = &r->video;
        if (n < at + ADMIN_ROOM_VIDEO_FIELDS)
            return -1;
        v->url = it[at], v->kind = it[at + 1], v->youtube_id = it[at + 2];
        if (admin_flag(it[at + 3], &v->playing) || admin_number(it[at + 4], &v->position) ||
            admin_number(it[at + 5], &v->rate) || admin_integer(it[at + 6], &v->updated_at))
            return -1;
        r->has_video = 1;
        at += ADMIN_ROOM_VIDEO_FIELDS;
    }
    if (!full)
        return at == n ? 0 : -1;
    if ((n - at) % ADMIN_ROOM_MEMBER_FIELDS != 0 ||
        (n - at) / ADMIN_ROOM_MEMBER_FIELDS != (size_t)r->members)
        return -1;
    r->nmembers = (size_t)r->members;
    r->member = xcalloc(r->nmembers, sizeof(*r->member));
    for (size_t k = 0; k < r->nmembers; k++, at += ADMIN_ROOM_MEMBER_FIELDS) {
        struct admin_member *m = &r->member[k];
        m->id = it[at], m->name = it[at + 1];
        if (admin_flag(it[at + 2], &m->is_host) || admin_flag(it[at + 3], &m->online) ||
            admin_integer(it[at + 4], &m->joined_at) || admin_integer(it[at + 5], &m->streams))
            return -1;
    }
    return 0;
}

enum wnc_err admin_room_read(struct store *st, const char *id, int full, struct admin_room *out)
{
    const char *args[] = {full ? "full" : "counts"};
    struct exec_call call;
    enum wnc_err e;

    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", id);
    if ((e = exec_prepare(&call, id, exec_now_ms(), "", 1, args, NULL)) != E_OK)
        return e;
    e = store_eval(st, SCRIPT_ADMIN_ROOM, EXEC_ROOM_KEYS, call.keys, call.argc, call.argv,
                   call.lens, &out->reply);
    if (e != E_OK)
        return e;
    if (admin_room_parse(out, full) != 0) {
        log_error("admin: admin_room returned a reply of another shape for room %s", id);
        admin_room_free(out);
        return E_INTERNAL;
    }
    return E_OK;
}

void admin_room_free(struct admin_room *r)
{
    free(r->member);
    store_reply_free(&r->reply);
    memset(r, 0, sizeof(*r));
}

void admin_json_str(struct buf *b, const char *s)
{
    struct buf clean = {0};
    size_t len;

    if (s == NULL) {
        buf_puts(b, "null");
        return;
    }
    len = strlen(s);
    if (valid_utf8(s, len)) {
        buf_json_string(b, s, len);
        return;
    }
    /* Byte by byte: a byte that does not start a valid sequence becomes U+FFFD. */
    for (size_t i = 0; i < len;) {
        size_t k = 1;
        while (k <= 4 && i + k <= len && !valid_utf8(s + i, k))
            k++;
        if (k <= 4 && i + k <= len) {
            buf_append(&clean, s + i, k);
            i += k;
        } else {
            buf_puts(&clean, "\xef\xbf\xbd");
            i++;
        }
    }
    buf_json_string(b, clean.data ? clean.data : "", clean.len);
    buf_free(&clean);
}

void admin_json_num(struct buf *b, double v)
{
    buf_printf(b, "%.15g", isfinite(v) ? v : 0.0);
}
