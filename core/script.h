/* The Lua scripts of sql/, one per atomic operation. scripts_load reads them once at startup
 * (each prefixed with sql/lib.lua, the helpers they share); the store loads them into Redis. */
#ifndef WNC_SCRIPT_H
#define WNC_SCRIPT_H

enum script_id {
    SCRIPT_RATELIMIT,
    SCRIPT_CREATE,
    SCRIPT_JOIN,
    SCRIPT_STATE,
    SCRIPT_SUMMARY,
    SCRIPT_LEAVE,
    SCRIPT_PROMOTE,
    SCRIPT_KICK,
    SCRIPT_CHAT_POST,
    SCRIPT_CHAT_GET,
    SCRIPT_TYPING,
    SCRIPT_VIDEO,
    SCRIPT_SUBSCRIBE,
    SCRIPT_PRESENCE,
    SCRIPT_TICKET,
    SCRIPT_SUBS_RESERVE,
    SCRIPT_LINGER,
    SCRIPT_ROTATE,
    SCRIPT_HEARTBEAT,
    SCRIPT_CLAIM,
    SCRIPT_TIMEOUT,
    SCRIPT_TYPING_EXPIRE,
    SCRIPT_SYNC_BEACON,
    SCRIPT_ROOM_GC,
    SCRIPT__MAX
};

/* Reads every script from dir. Returns 0, or -1 after logging which file is missing. */
int scripts_load(const char *dir);

/* The script's file name without ".lua", and its full source (prelude included); both live
 * for the life of the process. */
const char *script_name(enum script_id id);
const char *script_source(enum script_id id);

#endif
