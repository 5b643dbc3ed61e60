/* Logging to stderr with levels. One line per call, as text (time, process name and pid, level,
 * message) or as one JSON object (WNC_LOG_FORMAT=json: time, level, component, pid, requestId,
 * room, msg). While a worker thread serves a request, its lines carry the request's id (nginx's
 * $request_id, also in the answer's X-Request-Id and in error bodies) and, once the dispatcher
 * checked it, the room's code. Never log tokens, request bodies or anything a client could use to
 * impersonate a user. */
#ifndef WNC_LOG_H
#define WNC_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Sets the process name shown in each line (the JSON's "component": wnc-fcgi, wnc-pushd,
 * wnc-admin), the minimum level (WNC_LOG_LEVEL: debug, info, warn, error; default info) and the
 * format (WNC_LOG_FORMAT: text or json; default text; config_load refuses any other value, here
 * it means text). Call it at startup, before any thread starts; calling it again re-reads both. */
void log_init(const char *process_name);

/* Whether name is a value of WNC_LOG_FORMAT ("text", "json"); 1 and *out when it is. */
int log_format_parse(const char *name, enum log_format *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* ---- the request being served (per thread) ------------------------------------------------ */

/* A request id is nginx's $request_id: 32 lower-case hexadecimal digits. */
#define LOG_REQUEST_ID_LEN 32
/* A room as the dispatcher checked it: 1 to LOG_ROOM_MAX letters or digits. */
#define LOG_ROOM_MAX 16

/* Whether id is a request id as nginx makes them (exactly LOG_REQUEST_ID_LEN characters of
 * [0-9a-f]). Anything else comes from somewhere else and must reach neither a log nor an
 * answer. NULL is not one. */
int log_request_id_valid(const char *id);

/* Makes id the calling thread's current request: its following lines carry it. An id that is not
 * valid (log_request_id_valid), "" or NULL clears it instead. The room is cleared either way. */
void log_set_request(const char *id);

/* The calling thread's current room (a checked room code); anything but 1 to LOG_ROOM_MAX
 * letters and digits, or NULL, clears it. */
void log_set_room(const char *room);

/* Clears the calling thread's request id and room: the request was answered. */
void log_clear_request(void);

/* The calling thread's current request id, "" when none. */
const char *log_request_id(void);

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Writes in[0..len) into out (size bytes, NUL-terminated when size > 0) as the inside of a JSON
 * string: '"' and '\\' escaped, \b \f \n \r \t as such, every other control character (C0, DEL,
 * C1) and U+2028/U+2029 as \u00XX / \u20XX; valid UTF-8 is copied, and each invalid sequence
 * (a stray or overlong byte, a surrogate, above U+10FFFF, a truncated sequence: its maximal
 * subpart, as Unicode recommends) becomes one U+FFFD. When out is too small it stops before the
 * first unit that does not fit, never inside an escape or a character. Returns the bytes written
 * (without the NUL). Pure, for the JSON log lines and the tests. */
size_t log_json_escape(char *out, size_t size, const char *in, size_t len);

/* Bytes for the text of an errno value (log_errno). */
#define LOG_ERRNO_LEN 128

/* Writes the text of errnum into buf and returns buf, for a "%s" of a log line. Use it instead
 * of strerror(3), which may hand every thread the same static buffer: it runs in the worker
 * threads and the publisher's. An unknown errnum gives "error N". */
const char *log_errno(int errnum, char buf[LOG_ERRNO_LEN]);

#endif
