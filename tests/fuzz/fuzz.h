/* Shared by the libFuzzer drivers (one per hand-written parser, tests/fuzz/fuzz_<target>.c): an
 * invariant check that aborts, so that libFuzzer keeps the input as a crash, exact-size copies
 * of the input (ASan then sees any read past the end), and a reference UTF-8 check written
 * differently from valid.c's so the two can be compared. */
#ifndef WNC_FUZZ_H
#define WNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Aborts with the failed condition and its place when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

void fuzz_fail(const char *file, int line, const char *cond) __attribute__((noreturn));

/* A heap copy of data[0..n) in a buffer of exactly n bytes (at least one allocated, never
 * read), not NUL-terminated. The caller frees it. */
char *fuzz_bytes(const uint8_t *data, size_t n);

/* A heap copy of data[0..n) cut at its first NUL, in a buffer of exactly its length plus the
 * terminator. The caller frees it. */
char *fuzz_string(const uint8_t *data, size_t n);

/* Splits data[0..n) at NUL bytes into up to count C strings (parts[i], each an exact-size heap
 * copy; the missing ones are ""), the last part taking the rest with its NULs cut out. The
 * caller frees each part with free(). */
void fuzz_split(const uint8_t *data, size_t n, char **parts, size_t count);

/* 1 when needle[0..m) occurs in hay[0..n) (memmem, which glibc declares only with
 * _GNU_SOURCE). */
int fuzz_contains(const char *hay, size_t n, const char *needle, size_t m);

/* 1 when s[0..n) is well-formed UTF-8 by the table of well-formed byte sequences (Unicode 15,
 * table 3-7), 0 otherwise. */
int fuzz_utf8_ok(const unsigned char *s, size_t n);

/* A libFuzzer input to a driver: the entry point libFuzzer calls. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
