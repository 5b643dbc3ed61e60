/* A growable byte buffer for building responses and requests. The buffer owns its memory;
 * buf_free releases it (harmless on a zeroed buffer). Allocation failure aborts, as everywhere
 * (xmalloc.h), so none of these can fail. */
#ifndef WNC_BUF_H
#define WNC_BUF_H

#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
};

void buf_append(struct buf *b, const char *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal with quotes; s must be valid UTF-8. */
void buf_json_string(struct buf *b, const char *s, size_t len);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
