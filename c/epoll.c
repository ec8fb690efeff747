/*
 * epoll shims. Returns >= 0 or -errno; never prints or exits.
 * Build: scripts/setup.sh (see c/net.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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

/*
 * A readiness loop's whole step in one call, so that a loop written in JS
 * crosses the FFI once per step rather than once per system call (as
 * ur_step does for io_uring): JS keeps the protocol, the buffers and every
 * decision; C only performs the system calls JS asked for and reports.
 *
 * A write JS asks for, performed before the wait. res: bytes sent or -errno.
 */
struct ep_write {
	uint64_t addr;
	uint32_t len;
	int32_t fd;
	int32_t res;
	uint32_t pad;
};

/*
 * A read armed for the descriptor whose epoll tag is i (arms[i]): when the
 * wait reports it readable, one recv into [addr, addr + len) is made and the
 * arm is used up (len set to 0), as a recv armed in io_uring completes once.
 */
struct ep_arm {
	uint64_t addr;
	uint32_t len;
	int32_t fd;
};

/* What a step reports per event: res is the armed read's result, or EP_NOT_READ. */
struct ep_report {
	uint32_t events;
	int32_t res;
	uint64_t tag;
};

/* No read was made for this event (nothing armed for its tag, or only EPOLLOUT). */
#define EP_NOT_READ INT32_MIN
#define EP_STEP_MAX_EVENTS 256

int ep_step_sizes(void)
{
	/* The three record sizes, packed one per byte, for the JS side to check its layout against. */
	return (int)(sizeof(struct ep_write) | sizeof(struct ep_arm) << 8 | sizeof(struct ep_report) << 16);
}

static int32_t send_once(int fd, const void *p, size_t len)
{
	ssize_t n;

	do
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (int32_t)n;
}

/*
 * Performs writes[0, nwrites) (one send each, results in their res), waits
 * up to timeout_ms for at most max events (a write that did not go whole
 * makes the wait not block, so that JS can react to it at once), then makes
 * the armed read of every descriptor reported readable (or hung up, or in
 * error). Reports each event in out. Returns the event count (0 on timeout or
 * signal) or -errno of epoll_wait; the writes were made either way.
 */
int ep_step(int epfd, void *writes, int nwrites, void *arms, int narms, void *out, int max, int timeout_ms)
{
	struct ep_write *w = writes;
	struct ep_arm *a = arms;
	struct ep_report *o = out;
	struct epoll_event evs[EP_STEP_MAX_EVENTS];
	int i, n;

	if (nwrites < 0 || narms < 0 || max <= 0 || (nwrites > 0 && !writes) || (narms > 0 && !arms) || !out)
		return -EINVAL;
	if (max > EP_STEP_MAX_EVENTS)
		max = EP_STEP_MAX_EVENTS;
	for (i = 0; i < nwrites; i++) {
		w[i].res = send_once(w[i].fd, (const void *)(uintptr_t)w[i].addr, w[i].len);
		if (w[i].res != (int32_t)w[i].len)
			timeout_ms = 0;
	}
	n = epoll_wait(epfd, evs, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		int32_t res = EP_NOT_READ;

		if ((evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && tag < (uint64_t)narms && a[tag].len > 0) {
			ssize_t r;

			do
				r = recv(a[tag].fd, (void *)(uintptr_t)a[tag].addr, a[tag].len, MSG_DONTWAIT);
			while (r < 0 && errno == EINTR);
			res = r < 0 ? -errno : (int32_t)r;
			a[tag].len = 0;
		}
		o[i].events = evs[i].events;
		o[i].res = res;
		o[i].tag = tag;
	}
	return n;
}
