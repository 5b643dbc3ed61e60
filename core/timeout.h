/* Timeouts: every conversion of a number of milliseconds into the structs that system calls and
 * libraries take goes through here. A timeval's tv_usec and a timespec's tv_nsec must stay
 * below one second: "{0, ms * 1000}" is right only up to 999 ms (hiredis refuses a 1500 ms
 * connect timeout written that way, "Invalid timeout specified", so every connect failed), and
 * "{ms / 1000, 0}" drops the rest. Negative counts are taken as 0.
 *
 * Header-only (static inline), like xmalloc.h, so every program linking a part of core/ has it
 * without another object file. Pure but for the clock readings; safe from any thread. */
#ifndef WNC_TIMEOUT_H
#define WNC_TIMEOUT_H

#include <sys/time.h>
#include <time.h>

/* ms as a relative struct timeval (hiredis's timeouts, select). */
static inline struct timeval timeout_timeval(long ms)
{
    struct timeval tv;

    if (ms < 0)
        ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    return tv;
}

/* ms as a relative struct timespec (nanosleep, sigtimedwait). */
static inline struct timespec timeout_timespec(long ms)
{
    struct timespec ts;

    if (ms < 0)
        ms = 0;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = ms % 1000 * 1000000L;
    return ts;
}

/* The absolute time ms from now on clock, normalised (pthread_cond_timedwait takes one on
 * CLOCK_REALTIME unless told otherwise). */
static inline struct timespec timeout_deadline(clockid_t clock, long ms)
{
    struct timespec now, rel = timeout_timespec(ms);

    clock_gettime(clock, &now);
    now.tv_sec += rel.tv_sec;
    now.tv_nsec += rel.tv_nsec;
    if (now.tv_nsec >= 1000000000L) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000L;
    }
    return now;
}

/* Milliseconds on the monotonic clock: for deadlines and for how long something took, never
 * for a time of day. */
static inline long long timeout_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
