/* Which nginx worker process holds a connection, and whether it still lives. nchan fires no
 * unsubscribe hook for the connections of a worker that crashed or was stopped, so every
 * subscription lease names its owner, "instance/pid/start": the instance (WNC_INSTANCE, one
 * per machine), the worker's pid, and its start time in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), which tells a reused pid apart. The workers and pushd of an instance run
 * on the same machine as its nginx, so both can read /proc. Linux only. */
#ifndef WNC_PROC_H
#define WNC_PROC_H

/* The start time of process pid into *start. Returns 0, or -1 when there is no such process
 * (or /proc cannot tell). */
int proc_start_time(long pid, unsigned long long *start);

/* Whether the process pid that started at start still runs: 1, 0, or -1 when it cannot be
 * told (then the caller must not conclude anything). A start of 0 means "unknown": the pid
 * alone decides. */
int proc_alive(long pid, unsigned long long start);

/* The children of process pid (nginx's master: its workers), at most max of them, into out.
 * Returns how many, or -1 when /proc cannot tell. */
int proc_children(long pid, long *out, int max);

/* Parses the start time out of the text of a /proc/<pid>/stat file (pure, for the tests and the
 * fuzzer: the command name in field 2 may hold spaces and parentheses). Returns 0 or -1. */
int proc_parse_stat(const char *text, unsigned long long *start);

#endif
