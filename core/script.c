#include "script.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

#define SCRIPT_READ_CHUNK 4096 /* bytes read from a script file at a time */

static const char *const script_names[SCRIPT__MAX] = {
    [SCRIPT_RATELIMIT] = "ratelimit",
    [SCRIPT_CREATE] = "create",
    [SCRIPT_JOIN] = "join",
    [SCRIPT_STATE] = "state",
    [SCRIPT_SUMMARY] = "summary",
    [SCRIPT_LEAVE] = "leave",
    [SCRIPT_PROMOTE] = "promote",
    [SCRIPT_KICK] = "kick",
    [SCRIPT_CHAT_POST] = "chat_post",
    [SCRIPT_CHAT_GET] = "chat_get",
    [SCRIPT_TYPING] = "typing",
    [SCRIPT_VIDEO] = "video",
    [SCRIPT_SUBSCRIBE] = "subscribe",
    [SCRIPT_PRESENCE] = "presence",
    [SCRIPT_TICKET] = "ticket",
    [SCRIPT_SUBS_RESERVE] = "subs_reserve",
    [SCRIPT_LINGER] = "linger",
    [SCRIPT_ROTATE] = "rotate",
    [SCRIPT_HEARTBEAT] = "heartbeat",
    [SCRIPT_CLAIM] = "claim",
    [SCRIPT_TIMEOUT] = "timeout",
    [SCRIPT_TYPING_EXPIRE] = "typing_expire",
    [SCRIPT_SYNC_BEACON] = "sync_beacon",
    [SCRIPT_ROOM_GC] = "room_gc",
};

static char *script_sources[SCRIPT__MAX];

static int script_read(const char *dir, const char *name, struct buf *out)
{
    char path[PATH_MAX], chunk[SCRIPT_READ_CHUNK];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s.lua", dir, name);
    if ((f = fopen(path, "r")) == NULL) {
        char why[LOG_ERRNO_LEN];
        log_error("scripts: %s: %s", path, log_errno(errno, why));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(out, chunk, n);
    fclose(f);
    return 0;
}

int scripts_load(const char *dir)
{
    struct buf lib = {0};

    if (script_read(dir, "lib", &lib) != 0)
        return -1;
    for (int id = 0; id < SCRIPT__MAX; id++) {
        struct buf src = {0};
        buf_append(&src, lib.data, lib.len);
        buf_puts(&src, "\n");
        if (script_read(dir, script_names[id], &src) != 0) {
            buf_free(&src);
            buf_free(&lib);
            return -1;
        }
        free(script_sources[id]);
        script_sources[id] = src.data; /* kept for the life of the process */
    }
    buf_free(&lib);
    return 0;
}

const char *script_name(enum script_id id)
{
    return script_names[id];
}

const char *script_source(enum script_id id)
{
    return script_sources[id] ? script_sources[id] : "return 0";
}
