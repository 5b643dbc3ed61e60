/* proc.c: proc_parse_stat against a reference that splits the text after the last ')' on
 * spaces and reads field 22 as a whole decimal number no larger than 2^64 - 1. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proc.h"

static int ref_parse_stat(const char *text, unsigned long long *start)
{
    const char *p = strrchr(text, ')');
    int field = 2;

    if (p == NULL)
        return -1;
    for (p++;;) {
        size_t gap = strspn(p, " "), len;
        p += gap;
        if (*p == '\0')
            return -1;
        len = strcspn(p, " ");
        if (++field == 22) {
            /* Digits, then the token may go on only after a newline. */
            size_t digits = strspn(p, "0123456789"), i = 0;
            unsigned __int128 v = 0;
            if (digits == 0 || (digits < len && p[digits] != '\n'))
                return -1;
            while (i < digits && p[i] == '0')
                i++;
            if (digits - i > 20)
                return -1;
            for (; i < digits; i++)
                v = v * 10 + (unsigned)(p[i] - '0');
            if (v > (unsigned long long)-1)
                return -1;
            *start = (unsigned long long)v;
            return 0;
        }
        p += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    unsigned long long got = 7, want = 7;

    FUZZ_CHECK(proc_parse_stat(text, &got) == ref_parse_stat(text, &want));
    FUZZ_CHECK(got == want);
    free(text);
    return 0;
}
