/* http.c: http_content_length and http_query_param, chosen by the first byte, each against a
 * reference written here. Content-Length: the value, or which error, for any text and limit.
 * Query parameters: found or not, and the decoded value, for the names the handlers ask for and
 * any output size (0 included), with the output in a buffer of exactly that size. Input: an
 * even first byte, the byte picking the limit, the text; or an odd one, the bytes picking the
 * name and the output size, the query string. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"

/* The reference Content-Length: digits only, compared with max as numbers of any length. */
static enum wnc_err ref_content_length(const char *text, size_t max, size_t *out)
{
    size_t n = strlen(text), i = 0;
    unsigned __int128 v = 0;

    for (size_t k = 0; k < n; k++)
        if (text[k] < '0' || text[k] > '9')
            return E_INVALID_JSON;
    while (i < n && text[i] == '0')
        i++;
    if (n - i > 20) /* SIZE_MAX has 20 digits */
        return E_BODY_TOO_LARGE;
    for (; i < n; i++)
        v = v * 10 + (unsigned)(text[i] - '0');
    if (v > max)
        return E_BODY_TOO_LARGE;
    *out = (size_t)v;
    return E_OK;
}

static void fuzz_content_length(unsigned char sel, const uint8_t *data, size_t size)
{
    static const size_t maxes[] = {HTTP_MAX_BODY,
                                   0,
                                   1,
                                   9,
                                   10,
                                   99,
                                   100,
                                   SIZE_MAX,
                                   SIZE_MAX - 1,
                                   SIZE_MAX / 10,
                                   SIZE_MAX / 10 + 1,
                                   18446744073709551609u};
    size_t max = maxes[sel % (sizeof(maxes) / sizeof(maxes[0]))], got = 777, want = 777;
    char *text = fuzz_string(data, size);
    enum wnc_err e = http_content_length(text, max, &got);
    enum wnc_err ref = ref_content_length(text, max, &want);

    FUZZ_CHECK(e == ref);
    FUZZ_CHECK(got == want); /* the value on success, untouched otherwise */
    free(text);
}

/* The reference decoder: the first parameter named name (compared raw) decides. */
static int ref_query(const char *query, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    const char *p = query;

    for (;;) {
        size_t len = strcspn(p, "&");
        if (len > name_len && memcmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t o = 0;
            for (size_t i = name_len + 1; i < len; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c == '%') {
                    const char *hex = "0123456789abcdef0123456789ABCDEF";
                    const char *hi = i + 2 < len ? strchr(hex, p[i + 1]) : NULL;
                    const char *lo = hi != NULL ? strchr(hex, p[i + 2]) : NULL;
                    if (hi == NULL || lo == NULL || p[i + 1] == '\0' || p[i + 2] == '\0')
                        return 0;
                    c = (unsigned char)(((hi - hex) % 16) * 16 + (lo - hex) % 16);
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (c == '\0' || o + 1 >= size)
                    return 0;
                out[o++] = (char)c;
            }
            if (size == 0)
                return 0;
            out[o] = '\0';
            return 1;
        }
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static void fuzz_query(unsigned char name_sel, unsigned char size_sel, const uint8_t *data,
                       size_t size)
{
    static const char *const names[] = {"room", "user", "channel", "ip", "cid", "pid", "ticket"};
    const char *name = names[name_sel % (sizeof(names) / sizeof(names[0]))];
    size_t out_size = size_sel % 72; /* 0 to 71 bytes */
    char *query = fuzz_string(data, size), *out = malloc(out_size);
    char want[80];
    struct http_request req;

    memset(&req, 0, sizeof(req));
    req.query = query;
    int found = http_query_param(&req, name, out, out_size);
    int ref = ref_query(query, name, want, out_size);
    FUZZ_CHECK(found == ref);
    if (found) {
        FUZZ_CHECK(memchr(out, '\0', out_size) != NULL);
        FUZZ_CHECK(strcmp(out, want) == 0);
    }
    free(query);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    if (data[0] & 1)
        fuzz_query(data[1], data[2], data + 3, size - 3);
    else
        fuzz_content_length(data[1], data + 2, size - 2);
    return 0;
}
