/* publish.c: publish_parse_response, the parser of nchan's answers on the persistent publisher
 * connection. The first byte picks the buffer size max (16 to 4096 bytes, the publisher's own);
 * the rest is what nchan sent. Beyond not crashing: a complete response is a status from 200
 * to 599 and a length within the bytes given and max; it parses the same on its own and with
 * any bytes after it (pipelined answers); every shorter prefix asks for more; a malformed
 * prefix stays malformed however it goes on; "more" is only answered while max has room; and
 * walking a pipeline consumes exactly the bytes of the responses it returns. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "publish.h"

#define PUBLISH_MAX 4096 /* PUBLISH_RESPONSE_MAX in publish.c */

static int parse(const char *buf, size_t len, size_t max, size_t *consumed)
{
    size_t c = 0xdeadbeef;
    int r = publish_parse_response(buf, len, max, &c);

    FUZZ_CHECK(r == -1 || r == 0 || (r >= 200 && r <= 599));
    if (r > 0) {
        FUZZ_CHECK(c > 0 && c <= len && c <= max);
        *consumed = c;
    } else {
        FUZZ_CHECK(c == 0xdeadbeef); /* untouched */
        FUZZ_CHECK(r != 0 || (len < max));
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max, len, consumed = 0, c2 = 0, half, pos;
    char *buf;
    int r, r2;

    if (size == 0)
        return 0;
    max = ((size_t)data[0] + 1) * 16;
    if (max > PUBLISH_MAX)
        max = PUBLISH_MAX;
    data++, size--;
    buf = fuzz_bytes(data, size);
    len = size < max ? size : max;

    r = parse(buf, size, max, &consumed);
    /* Only the first max bytes count. */
    r2 = parse(buf, len, max, &c2);
    FUZZ_CHECK(r2 == r && (r <= 0 || c2 == consumed));
    if (r > 0) {
        r2 = parse(buf, consumed, max, &c2);
        FUZZ_CHECK(r2 == r && c2 == consumed);
        r2 = parse(buf, consumed - 1, max, &c2);
        FUZZ_CHECK(r2 == 0);
    }
    /* A prefix: complete stays complete with the same length, malformed stays malformed. */
    half = len / 2;
    r2 = parse(buf, half, max, &c2);
    if (r2 > 0)
        FUZZ_CHECK(r == r2 && consumed == c2);
    if (r2 < 0)
        FUZZ_CHECK(r < 0);
    /* A pipeline of answers, as the publisher's thread reads them. */
    for (pos = 0; pos < len;) {
        size_t c;
        if (parse(buf + pos, len - pos, max, &c) <= 0)
            break;
        pos += c;
    }
    FUZZ_CHECK(pos <= len);
    free(buf);
    return 0;
}
