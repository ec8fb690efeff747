/*
 * epoll shims. Returns >= 0 or -errno; never prints or exits.
 * Build: scripts/setup.sh (see c/net.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int ep_create(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* data is a 64-bit tag handed back by ep_wait (the loop uses the fd). */
int ep_ctl(int epfd, int op, int fd, unsigned int events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

/*
 * Waits and writes up to max events into out as {u32 events, u32 pad, u64 tag}
 * pairs (16 bytes each; struct epoll_event is packed to 12 on x86-64, so it is
 * copied rather than handed over, keeping the JS side free of layout quirks).
 * EINTR is returned as 0 events so that a signal only wakes the loop.
 */
static int copy_out(struct epoll_event *evs, int n, void *out)
{
	uint32_t *o = out;
	int i;

	for (i = 0; i < n; i++) {
		o[i * 4] = evs[i].events;
		o[i * 4 + 1] = 0;
		*(uint64_t *)(o + i * 4 + 2) = evs[i].data.u64;
	}
	return n;
}

int ep_wait(int epfd, void *out, int max, int timeout_ms)
{
	struct epoll_event evs[256];
	int n;

	if (max > 256)
		max = 256;
	if (max <= 0)
		return -EINVAL;
	n = epoll_wait(epfd, evs, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return copy_out(evs, n, out);
}

/*
 * As ep_wait with a timeout in ns (epoll_pwait2, Linux 5.11+; glibc 2.35+):
 * an open-loop client must sleep until the next send time, and a millisecond
 * timeout would round every gap shorter than 1 ms to a busy poll or a late send.
 * timeout_ns < 0 waits without limit.
 */
int ep_wait_ns(int epfd, void *out, int max, long timeout_ns)
{
	struct epoll_event evs[256];
	struct timespec ts, *tsp = NULL;
	int n;

	if (max > 256)
		max = 256;
	if (max <= 0)
		return -EINVAL;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000L;
		ts.tv_nsec = timeout_ns % 1000000000L;
		tsp = &ts;
	}
	n = epoll_pwait2(epfd, evs, max, tsp, NULL);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return copy_out(evs, n, out);
}
