/*
 * A hiccup meter in the style of jHiccup: a thread pinned to one CPU sleeps
 * for a fixed period, again and again, and records how late each wake-up
 * came. A wake-up late by tens of milliseconds means the vCPU was not running
 * at all: the hypervisor took it away (steal time in /proc/stat confirms it,
 * at 10 ms resolution). Smaller lateness is run-queue waiting behind whatever
 * else runs on that CPU (this thread has normal priority) plus the timer's
 * own precision.
 *
 * The thread runs on the CPU of a server whose latency we measure, so it must
 * cost almost nothing: it only sleeps (clock_nanosleep), wakes once per period
 * (5 ms by default in bench/measure/hiccup.ts), does a few atomic adds and
 * sleeps again. No locks are shared with the reader: counters are C11
 * atomics, read and reset by hic_read() with atomic exchanges.
 *
 *   hic_start(cpu, period_us)  -> handle >= 0; a thread pinned to cpu
 *   hic_read(handle, out)      -> 0; copies HIC_WORDS int64s into out, resets
 *   hic_stop(handle)           -> 0; the thread is joined (waits <= one period)
 *   hic_read_words()           -> HIC_WORDS (the layout check for the binding)
 *
 * Layout of hic_read's out (int64 each, counters since the previous read):
 *   [0] max lateness of one wake-up, ns
 *   [1] wake-ups
 *   [2] wake-ups late by more than 1 ms
 *   [3] total lateness of those late by more than 1 ms, ns
 * The four are read one after another, not as one snapshot: a wake-up that
 * lands during hic_read may be counted in [1] of this read and in [0] of the
 * next. Over many reads nothing is lost or counted twice.
 *
 * Every function returns >= 0 or -errno and never prints or exits: the
 * caller (ffi/hiccup.ts) turns errors into text.
 * Build: scripts/setup.sh (gcc -O2 -shared -fPIC; pthread is in glibc 2.34+)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "clock.h"

#define HIC_WORDS 4
#define HIC_MAX 64
#define HIC_MIN_PERIOD_US 50
#define HIC_MAX_PERIOD_US 1000000
#define NS_PER_S 1000000000LL
#define LATE_NS 1000000LL

struct hic {
	pthread_t thread;
	int cpu;
	int64_t period_ns;
	atomic_int stop;
	atomic_int realtime;
	atomic_llong max_late_ns;
	atomic_llong wakes;
	atomic_llong late_count;
	atomic_llong late_total_ns;
};

/* Start and stop are rare and take this lock; hic_read never does. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hic *_Atomic table[HIC_MAX];

static struct timespec ns_ts(int64_t ns)
{
	struct timespec t = { .tv_sec = ns / NS_PER_S, .tv_nsec = ns % NS_PER_S };
	return t;
}

/* The reader may reset max to 0 at any time, so raise it with a CAS loop. */
static void raise_max(atomic_llong *max, int64_t v)
{
	long long cur = atomic_load_explicit(max, memory_order_relaxed);

	while (v > cur && !atomic_compare_exchange_weak_explicit(max, &cur, v,
			memory_order_relaxed, memory_order_relaxed))
		;
}

static void *meter(void *arg)
{
	struct hic *h = arg;
	int64_t next;

	/*
	 * The default timer slack (50 us) lets the kernel delay our wake-up to
	 * batch it with others; 1 ns makes the measured lateness the CPU's, not
	 * the slack's. Best effort: a failure only adds up to 50 us to each.
	 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	/*
	 * The meter shares its CPU with a server or client that may be busy for
	 * seconds. At normal priority the scheduler may make it wait a slice or
	 * more behind them, and that wait would look like a stall. Real-time
	 * priority wakes it at once, so what it sees late is the CPU itself not
	 * running (the hypervisor), not our own load. Best effort: without the
	 * privilege (not root) it stays SCHED_OTHER, and h->realtime says so.
	 */
	{
		struct sched_param sp = { .sched_priority = 1 };

		atomic_store(&h->realtime, pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0);
	}
	next = now_ns() + h->period_ns;
	while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
		struct timespec due = ns_ts(next);
		int64_t late;
		int ret;

		ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
		if (ret == EINTR)
			continue;
		late = now_ns() - next;
		if (late < 0)
			late = 0;
		raise_max(&h->max_late_ns, late);
		atomic_fetch_add_explicit(&h->wakes, 1, memory_order_relaxed);
		if (late > LATE_NS) {
			atomic_fetch_add_explicit(&h->late_count, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&h->late_total_ns, late, memory_order_relaxed);
		}
		/*
		 * After a stall longer than a period, start the schedule again from
		 * now: catching up would give a burst of wake-ups "late" only
		 * because of the one stall, counting it many times over.
		 */
		next += h->period_ns;
		if (late >= h->period_ns)
			next = now_ns() + h->period_ns;
	}
	return NULL;
}

static struct hic *lookup(int handle)
{
	if (handle < 0 || handle >= HIC_MAX)
		return NULL;
	return atomic_load(&table[handle]);
}

int hic_read_words(void)
{
	return HIC_WORDS;
}

int hic_start(int cpu, int period_us)
{
	pthread_attr_t attr;
	cpu_set_t set;
	struct hic *h;
	int slot, ret;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	if (period_us < HIC_MIN_PERIOD_US || period_us > HIC_MAX_PERIOD_US)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cpu = cpu;
	h->period_ns = (int64_t)period_us * 1000;

	pthread_mutex_lock(&table_lock);
	for (slot = 0; slot < HIC_MAX && atomic_load(&table[slot]); slot++)
		;
	if (slot == HIC_MAX) {
		ret = -EMFILE;
		goto out_unlock;
	}
	/*
	 * Pinned from its creation, so it never runs anywhere else. A CPU that
	 * does not exist or is offline makes pthread_create fail with EINVAL.
	 */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ret = pthread_attr_init(&attr);
	if (ret) {
		ret = -ret;
		goto out_unlock;
	}
	ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!ret)
		ret = pthread_create(&h->thread, &attr, meter, h);
	pthread_attr_destroy(&attr);
	if (ret) {
		ret = -ret;
		goto out_unlock;
	}
	atomic_store(&table[slot], h);
	ret = slot;
out_unlock:
	pthread_mutex_unlock(&table_lock);
	if (ret < 0)
		free(h);
	return ret;
}

int hic_read(int handle, int64_t *out)
{
	struct hic *h = lookup(handle);

	if (!h)
		return -EBADF;
	if (!out)
		return -EFAULT;
	out[0] = atomic_exchange_explicit(&h->max_late_ns, 0, memory_order_relaxed);
	out[1] = atomic_exchange_explicit(&h->wakes, 0, memory_order_relaxed);
	out[2] = atomic_exchange_explicit(&h->late_count, 0, memory_order_relaxed);
	out[3] = atomic_exchange_explicit(&h->late_total_ns, 0, memory_order_relaxed);
	return 0;
}

/* The caller must not call hic_read on this handle concurrently with (or after) hic_stop. */
int hic_stop(int handle)
{
	struct hic *h;
	int ret;

	pthread_mutex_lock(&table_lock);
	h = lookup(handle);
	if (h)
		atomic_store(&table[handle], NULL);
	pthread_mutex_unlock(&table_lock);
	if (!h)
		return -EBADF;
	atomic_store(&h->stop, 1);
	ret = pthread_join(h->thread, NULL);
	free(h);
	return ret ? -ret : 0;
}
