/*
 * The clocks every shim reads, once: CLOCK_MONOTONIC in ns (the clock
 * Bun.nanoseconds() and performance.now() read, so C and JS times agree),
 * a coarse ms clock for deadlines, and the calling thread's CPU time.
 * Static inline: each is one vDSO call, and a call across libraries would
 * cost more than the read.
 */
#ifndef IOURING_BENCH_CLOCK_H
#define IOURING_BENCH_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Coarse: read from the vDSO without touching the hardware clock; a few ms
 * of resolution is plenty for a deadline of tens of ms, and it keeps a
 * per-step deadline check from ever becoming a system call per request.
 */
static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The calling thread's CPU time in ns, or -errno. */
static inline int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return -errno;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
