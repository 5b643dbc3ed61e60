/* nchan's own figures: a GET of the status location (nchan_stub_status) on the internal
 * publisher socket the daemons post events to, so no other listener is needed. Used by wnc-admin
 * (stats, check) and by wnc-fcgi's metrics scrape (metrics.h); and which subscribers a channel
 * has, for pushd's check of the leases (sql/verify.lua). */
#ifndef WNC_NCHAN_H
#define WNC_NCHAN_H

#include <stddef.h>

/* The status location of the internal publisher server (nginx/wnc-site.conf.in). */
#define NCHAN_STATUS_PATH "/status"
#define NCHAN_FIELDS_MAX 32
#define NCHAN_NAME_MAX 64
#define NCHAN_VALUE_MAX 64
#define NCHAN_ERROR_MAX 192
#define NCHAN_CHANNEL_MAX 64 /* a channel name, "ROOMID-epoch" */

struct nchan_field {
    char name[NCHAN_NAME_MAX];   /* nchan's label in snake case: "total_published_messages" */
    char value[NCHAN_VALUE_MAX]; /* as nchan wrote it: "12", "16K", "1.3.6" */
};

struct nchan_status {
    int status;                  /* the HTTP status of the GET; 0 when nchan was unreachable */
    char error[NCHAN_ERROR_MAX]; /* why it was unreachable */
    size_t n;
    struct nchan_field field[NCHAN_FIELDS_MAX];
};

/* GETs NCHAN_STATUS_PATH on the publisher's unix socket, within about timeout_ms. Returns 0
 * when an HTTP answer came (out->status; a 200 fills the fields from its nchan_stub_status
 * text), -1 when nothing answered (out->error says why). Safe from any thread. */
int nchan_status_fetch(const char *socket_path, int timeout_ms, struct nchan_status *out);

/* The publisher location (the workers POST a channel's events to NCHAN_PUB_PATH CHANNEL); a
 * GET there answers the channel's figures ("active subscribers: 3"), 404 when it has none. */
#define NCHAN_PUB_PATH "/pub/"

/* GETs the figures of channel from the publisher location, as nchan_status_fetch does the
 * status location's (fields "active_subscribers", "queued_messages", ...; a 404 means nchan
 * holds no such channel: no subscriber). */
int nchan_channel_fetch(const char *socket_path, const char *channel, int timeout_ms,
                        struct nchan_status *out);

/* The subscriber-info location of the internal publisher server (nginx/wnc-site.conf.in):
 * GET NCHAN_INFO_PATH CHANNEL makes every subscriber of CHANNEL, on every nginx worker, send
 * back its nchan_subscriber_info_string (its connection id), one line each. */
#define NCHAN_INFO_PATH "/info/"
#define NCHAN_INFO_LINE_MAX 128

/* Asks nchan, through the publisher's unix socket, which subscribers of channel are there:
 * calls seen(line, arg) with each subscriber's answer (a NUL-terminated line, which lives
 * until seen returns) until seen returns non-zero (everything wanted came) or about
 * timeout_ms passed; nchan's answer is a stream with no end and no count. Returns 0 when nchan
 * answered 200 (with or without every line wanted), -1 when it could not be asked (error says
 * why). A subscriber that does not answer in time is not there, or slow: callers check
 * twice before acting on a missing one. */
int nchan_subscriber_ids(const char *socket_path, const char *channel, int timeout_ms,
                         int (*seen)(const char *id, void *arg), void *arg,
                         char error[NCHAN_ERROR_MAX]);

/* Parses nchan_stub_status text ("total published messages: 12" lines) into out's fields;
 * lines of another form are skipped, and fields past NCHAN_FIELDS_MAX dropped. */
void nchan_status_parse(const char *text, size_t len, struct nchan_status *out);

/* The value of field name ("channels", "subscribers"), or NULL. */
const char *nchan_status_field(const struct nchan_status *s, const char *name);

#endif
