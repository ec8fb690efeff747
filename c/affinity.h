/*
 * Pinning a thread to one CPU, once for every shim that pins: the load
 * client's threads (loadgen.c), the thread-per-core loops (loop_common.c) and
 * the threads bench pins by id (net.c). Static inline: one system call.
 */
#ifndef IOURING_BENCH_AFFINITY_H
#define IOURING_BENCH_AFFINITY_H

#include <errno.h>
#include <sched.h>
#include <sys/types.h>

/* Thread tid (0: the caller) on CPU cpu only: 0 or -errno (EINVAL: no such CPU, or not in the cpuset). */
static inline int pin_thread(pid_t tid, int cpu)
{
	cpu_set_t set;

	if (tid < 0 || cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) < 0 ? -errno : 0;
}

#endif
