/* Logging to stderr with levels. One line per call, prefixed with time, level and process
 * name. Never log tokens, request bodies or anything a client could use to impersonate a user. */
#ifndef WNC_LOG_H
#define WNC_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the process name shown in each line and the minimum level (from WNC_LOG_LEVEL:
 * debug, info, warn, error; default info). Call once at startup. */
void log_init(const char *process_name);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Bytes for the text of an errno value (log_errno). */
#define LOG_ERRNO_LEN 128

/* Writes the text of errnum into buf and returns buf, for a "%s" of a log line. Use it instead
 * of strerror(3), which may hand every thread the same static buffer: it runs in the worker
 * threads and the publisher's. An unknown errnum gives "error N". */
const char *log_errno(int errnum, char buf[LOG_ERRNO_LEN]);

#endif
