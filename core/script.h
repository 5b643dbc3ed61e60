/* The C-Lua contract, defined once, and the library of sql/. Each operation is one file of sql/
 * and one atomic call on one room's slot (or on one global key); scripts_load assembles them
 * with sql/lib.lua, the helpers they share, into one Redis Functions library, which the store
 * loads (FUNCTION LOAD) and calls (FCALL): the helpers are compiled once, not per call. The
 * Lua names of the room keys, the standard arguments and the shared constants are generated
 * here from the tables below, so the two sides cannot disagree on an order or a value. */
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
    SCRIPT_SETTINGS,
    SCRIPT_PASSWORD_GATE,
    SCRIPT_DEMOTE,
    SCRIPT_MUTE,
    SCRIPT_BANS,
    SCRIPT_UNBAN,
    SCRIPT_CHAT_DELETE,
    SCRIPT_RENAME,
    SCRIPT_UNMUTE_EXPIRE,
    SCRIPT_QUEUE,
    SCRIPT_SUBTITLES,
    SCRIPT_REACTION,
    SCRIPT_BUFFERING,
    SCRIPT_WAIT,
    SCRIPT_PRESENCE_FLUSH,
    SCRIPT_VERIFY,
    SCRIPT_ADMIN_ROOM,  /* wnc-admin: a room read without a token */
    SCRIPT_ADMIN_CLOSE, /* wnc-admin: close a room for everyone */
    SCRIPT__MAX
};

/* The keys of a room operation, in order: "<prefix>:{ROOM}", all in the room's hash slot. */
enum script_room_key {
    ROOM_KEY_ROOM,
    ROOM_KEY_MEMBERS,
    ROOM_KEY_NAMES,
    ROOM_KEY_AUTH,
    ROOM_KEY_CHAT,
    ROOM_KEY_LIMITS,
    ROOM_KEY_USERS,
    ROOM_KEY_LEASES,
    ROOM_KEY_TICKETS,
    ROOM_KEY_BANS,
    ROOM_KEY__MAX
};

/* The standard arguments of a room operation, in order; an operation's own start after them. */
enum script_std_arg {
    STD_ARG_NOW,           /* ms since the epoch */
    STD_ARG_ROOM_TTL,      /* s */
    STD_ARG_GRACE,         /* ms */
    STD_ARG_CHAT_RATE,     /* per member and window */
    STD_ARG_CONTROL_RATE,  /* per member and window */
    STD_ARG_TYPING_TTL,    /* ms */
    STD_ARG_SYNC_INTERVAL, /* ms */
    STD_ARG_TOKEN,         /* the caller's token digest, "" when none */
    STD_ARG__MAX
};

/* The window of the per-member rate limits (chat, control), in ms. */
#define SCRIPT_RATE_WINDOW_MS 10000
/* How long a leaver's client has to close its own streams before linger.lua retires the
 * channel, in ms. */
#define SCRIPT_LINGER_MS 5000
/* Presence changes of a room are announced at most once per this window, in ms (lib.lua's
 * announce_presence; presence_flush.lua sends what waited). */
#define SCRIPT_PRESENCE_BATCH_MS 100
/* pushd checks a room's leases against nchan's subscribers this long after a stream opened,
 * and a lease missing from that check once more this long after (lib.lua's verify_soon,
 * verify.lua), in ms: a stream whose close nchan did not report is closed within about
 * twice this. */
#define SCRIPT_VERIFY_MS 2000
/* A room's users in an answer (lib.lua's room_json). users:{id} keeps each member's public JSON
 * after a sort key of SCRIPT_USER_SORT_KEY_LEN bytes (its host flag, then its join order). An
 * operation that answers with the room (script_answers_room) writes SCRIPT_USERS_MARK where the
 * users' array goes; exec_room reads users:{id} in the same transaction as the call, and
 * exec_reply_body sorts the values, cuts the keys off and writes the array there. Reading,
 * sorting, cutting and joining n strings in Lua took Redis' one thread 750 us per answer in a
 * room of 500, a plain HVALS 32 us (measured), and every join answers with the room. The mark's
 * bytes 0x01 cannot occur in JSON text, where a control character is always escaped. */
#define SCRIPT_USER_SORT_KEY_LEN 11
#define SCRIPT_USERS_MARK "\001users\001"

/* Reads sql/ from dir and assembles the library. Returns 0, or -1 after logging which file is
 * missing (the library loaded before, if any, stays). */
int scripts_load(const char *dir);

/* The operation's file name without ".lua", and the name to FCALL it by ("<name>_<version>");
 * both live for the life of the process. */
const char *script_name(enum script_id id);
/* 1 for an operation whose answer holds the room (SCRIPT_USERS_MARK), else 0. */
int script_answers_room(enum script_id id);
const char *script_function(enum script_id id);

/* The whole library, as FUNCTION LOAD takes it ("#!lua name=wnc_<version>", the generated
 * contract, lib.lua, then one registered function per operation). The version is a digest of
 * the text, so two builds with different scripts can share one Redis during a rolling
 * upgrade. "" before scripts_load. */
const char *script_library(void);

/* The prefix of a room key ("room", "members", ...). */
const char *script_room_key_prefix(enum script_room_key k);

#endif
