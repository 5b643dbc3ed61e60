/* exec.c: exec_reply_parse (a room script's flat reply) and exec_reply_body (the room's users
 * written where the body has SCRIPT_USERS_MARK). The input is split at NUL bytes; its first byte
 * says how many parts are the reply (items of 0x01 become nil), the rest are users:{id}'s values.
 * Beyond not crashing: the parsed lists lie within the reply; a body without the mark comes
 * back as it was; with it, the answer is the body around one array whose elements are the users
 * without their sort keys, in the order of a reference sort, and it is refused exactly when a
 * user is no longer than its key. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "fuzz.h"
#include "store.h"

#define PARTS 12

/* Whether user a sorts before user b: by the fixed-width key, then by the whole value. */
static int ref_less(const struct store_reply *users, size_t a, size_t b)
{
    const char *x = users->items[a], *y = users->items[b];
    size_t nx = users->lens[a], ny = users->lens[b];
    int c = memcmp(x, y, SCRIPT_USER_SORT_KEY_LEN);

    if (c == 0)
        c = memcmp(x, y, nx < ny ? nx : ny);
    return c < 0 || (c == 0 && nx < ny);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char mark[] = SCRIPT_USERS_MARK;
    const size_t mark_len = sizeof(mark) - 1, key = SCRIPT_USER_SORT_KEY_LEN;
    char *parts[PARTS];
    size_t lens[PARTS], nreply;
    struct exec_reply rep;

    if (size < 1)
        return 0;
    nreply = data[0] % (PARTS + 1);
    fuzz_split(data + 1, size - 1, parts, PARTS);
    for (size_t i = 0; i < PARTS; i++)
        lens[i] = strlen(parts[i]);
    char *items[PARTS];
    for (size_t i = 0; i < PARTS; i++)
        items[i] = i < nreply && strcmp(parts[i], "\001") == 0 ? NULL : parts[i];
    struct store_reply reply = {nreply, items, lens};
    struct store_reply users = {PARTS - nreply, parts + nreply, lens + nreply};

    if (exec_reply_parse(&reply, &rep) == E_OK) {
        FUZZ_CHECK(rep.body == items[1] && rep.channel == items[2]);
        FUZZ_CHECK(rep.events + rep.nevents <= items + nreply);
        FUZZ_CHECK(rep.followups + rep.nfollowups <= items + nreply);
        FUZZ_CHECK(rep.events >= items + 4 || rep.nevents == 0);

        size_t len = 0;
        char *body = exec_reply_body(&rep, &users, &len);
        const char *at = NULL;
        for (size_t i = 0; i + mark_len <= rep.body_len && at == NULL; i++)
            if (memcmp(rep.body + i, mark, mark_len) == 0)
                at = rep.body + i;
        int short_user = 0;
        size_t want = 0;
        for (size_t k = 0; k < users.n; k++) {
            short_user |= users.lens[k] <= key;
            want += users.lens[k] - key + (k > 0);
        }
        if (at == NULL) {
            FUZZ_CHECK(body != NULL && len == rep.body_len && memcmp(body, rep.body, len) == 0);
        } else if (short_user) {
            FUZZ_CHECK(body == NULL);
        } else {
            size_t before = (size_t)(at - rep.body), after = rep.body_len - before - mark_len;
            FUZZ_CHECK(body != NULL && len == before + 2 + want + after && body[len] == '\0');
            FUZZ_CHECK(memcmp(body, rep.body, before) == 0 && body[before] == '[');
            FUZZ_CHECK(body[len - after - 1] == ']');
            FUZZ_CHECK(memcmp(body + len - after, at + mark_len, after) == 0);
            /* The array is the users in key order (insertion sort, ties by the whole value),
             * keys cut off, joined by commas. */
            size_t order[PARTS], pos = before + 1;
            for (size_t k = 0; k < users.n; k++) {
                size_t j = k;
                for (; j > 0 && ref_less(&users, k, order[j - 1]); j--)
                    order[j] = order[j - 1];
                order[j] = k;
            }
            for (size_t k = 0; k < users.n; k++) {
                size_t u = order[k], n = users.lens[u] - key;
                if (k > 0)
                    FUZZ_CHECK(body[pos++] == ',');
                FUZZ_CHECK(memcmp(body + pos, users.items[u] + key, n) == 0);
                pos += n;
            }
            FUZZ_CHECK(pos == len - after - 1);
        }
        /* Without a read, a body with the mark is refused. */
        char *none = exec_reply_body(&rep, NULL, &len);
        FUZZ_CHECK((none == NULL) == (at != NULL));
        free(none);
        free(body);
    }
    for (size_t i = 0; i < PARTS; i++)
        free(parts[i]);
    return 0;
}
