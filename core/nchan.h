/* nchan's own figures: a GET of the status location (nchan_stub_status) on the internal
 * publisher socket the daemons post events to, so no other listener is needed. Used by wnc-admin
 * (stats, check) and by wnc-fcgi's metrics scrape (metrics.h). */
#ifndef WNC_NCHAN_H
#define WNC_NCHAN_H

#include <stddef.h>

/* The status location of the internal publisher server (nginx/wnc-site.conf.in). */
#define NCHAN_STATUS_PATH "/status"
#define NCHAN_FIELDS_MAX 32
#define NCHAN_NAME_MAX 64
#define NCHAN_VALUE_MAX 64
#define NCHAN_ERROR_MAX 192

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

/* Parses nchan_stub_status text ("total published messages: 12" lines) into out's fields;
 * lines of another form are skipped, and fields past NCHAN_FIELDS_MAX dropped. */
void nchan_status_parse(const char *text, size_t len, struct nchan_status *out);

/* The value of field name ("channels", "subscribers"), or NULL. */
const char *nchan_status_field(const struct nchan_status *s, const char *name);

#endif
