/*
 * C twin of the `epoll` backend (bench/server/epoll-server.ts): the same
 * level-triggered echo loop, written in C, so that a comparison with the
 * TypeScript loop measures what Bun + bun:ffi cost per request rather than
 * what the kernel interface costs. Per ping-pong request: epoll_wait + read +
 * write, and epoll_ctl only when a write would block. JS starts a server once
 * and then calls cs_run() to run the loop for a few milliseconds at a time; no
 * request crosses the FFI boundary. The exported functions and the buffers
 * are shared with c/loop_uring.c (c/loop_common.h).
 *
 * Build: scripts/setup.sh (no extra libraries)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_common.h"

#define MAX_EVENTS 256

struct ep_server {
	struct cs_base b;
	int epfd;
	/* now_ms() after which accepting resumes (see ep_pause_accept); 0: accepting. */
	int64_t accept_paused_until;
};

/*
 * Out of descriptors (EMFILE/ENFILE), accept4 fails but the connection stays
 * queued and the level-triggered listener stays readable: every epoll_wait
 * would report it again at once, and the loop spun at 100% CPU, one failed
 * accept per turn. Instead the listener leaves the wait set until a
 * connection closes (freeing a descriptor) or ACCEPT_PAUSE_MS pass.
 */
static void ep_set_accepting(struct ep_server *s, int on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u64 = (uint64_t)s->b.lfd };

	/* Cannot fail for a registered fd; if it did, accepting simply stays as it was. */
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->b.lfd, &ev);
	s->accept_paused_until = on ? 0 : now_ms() + ACCEPT_PAUSE_MS;
}

static void ep_close(struct ep_server *s, struct conn *c)
{
	/* close() also removes the fd from the epoll set: no EPOLL_CTL_DEL needed. */
	close(c->fd);
	s->b.conns[c->fd] = NULL;
	conn_free(c);
	s->b.st.active--;
	if (s->accept_paused_until)
		ep_set_accepting(s, 1);
}

/* epoll_ctl only when the interest changes, i.e. only when a write would block. */
static int ep_set_interest(struct ep_server *s, struct conn *c, int write)
{
	struct epoll_event ev;

	if (c->want_write == write)
		return 0;
	c->want_write = (unsigned char)write;
	ev.events = (c->eof ? 0 : EPOLLIN | EPOLLRDHUP) | (write ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)c->fd;
	return epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0 ? -errno : 0;
}

/* Writes what is pending; 0 when the connection was closed, 1 when it lives on. */
static int ep_flush(struct ep_server *s, struct conn *c)
{
	if (c->out.len > 0) {
		ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);

		if (w > 0) {
			s->b.st.bytes_out += w;
			obuf_consume(&c->out, (size_t)w);
		} else if (!(w < 0 && errno == EAGAIN)) {
			s->b.st.io_errors++;
			ep_close(s, c);
			return 0;
		}
	}
	if (c->out.len > 0) {
		if (c->out.len > (size_t)s->b.max_pending) {
			s->b.st.overflow++;
			ep_close(s, c);
			return 0;
		}
		if (ep_set_interest(s, c, 1) < 0) {
			s->b.st.io_errors++;
			ep_close(s, c);
			return 0;
		}
		return 1;
	}
	obuf_shrink_if_idle(&c->out);
	if (c->eof) {
		ep_close(s, c);
		return 0;
	}
	if (ep_set_interest(s, c, 0) < 0) {
		s->b.st.io_errors++;
		ep_close(s, c);
		return 0;
	}
	return 1;
}

static void ep_readable(struct ep_server *s, struct conn *c)
{
	long room = ibuf_prepare(&c->in, s->b.max_frame);
	ssize_t r;

	if (room < 0) {
		s->b.st.io_errors++;
		ep_close(s, c);
		return;
	}
	r = read(c->fd, c->in.p + c->in.end, (size_t)room);
	if (r > 0) {
		int ret;

		c->in.end += (size_t)r;
		s->b.st.bytes_in += r;
		ret = process_frames(&s->b, c);
		if (ret < 0) {
			if (ret != -EMSGSIZE)
				s->b.st.io_errors++;
			ep_close(s, c);
			return;
		}
		ep_flush(s, c);
	} else if (r == 0) {
		/* Peer closed its side: answer what it sent, then close. */
		c->eof = 1;
		if (c->out.len == 0) {
			ep_close(s, c);
		} else {
			/* Forces the MOD that drops EPOLLIN, or the half-closed socket stays readable forever. */
			c->want_write = 0;
			if (ep_set_interest(s, c, 1) < 0) {
				s->b.st.io_errors++;
				ep_close(s, c);
			}
		}
	} else if (errno != EAGAIN) {
		s->b.st.io_errors++;
		ep_close(s, c);
	}
}

static void ep_accept_all(struct ep_server *s)
{
	for (;;) {
		struct epoll_event ev;
		struct conn *c;
		int fd = accept4(s->b.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN)
				return;
			s->b.st.io_errors++;
			if (accept_out_of_resources(errno))
				ep_set_accepting(s, 0);
			return;
		}
		set_nodelay(fd);
		if (table_fit(&s->b, (unsigned)fd) < 0 || !(c = conn_new(fd, 0))) {
			s->b.st.io_errors++;
			close(fd);
			continue;
		}
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = (uint64_t)fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			s->b.st.io_errors++;
			close(fd);
			conn_free(c);
			continue;
		}
		s->b.conns[fd] = c;
		s->b.st.connections++;
		s->b.st.active++;
	}
}

/* One loop step: one epoll_wait and what it reported. Returns the event count or -errno. */
static int ep_step(struct cs_base *base, int timeout_ms)
{
	struct ep_server *s = (struct ep_server *)base;
	struct epoll_event evs[MAX_EVENTS];
	int n, i;

	if (s->accept_paused_until && now_ms() >= s->accept_paused_until)
		ep_set_accepting(s, 1);
	n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		int fd = (int)evs[i].data.u64;
		uint32_t mask = evs[i].events;
		struct conn *c;

		if (fd == s->b.lfd) {
			ep_accept_all(s);
			continue;
		}
		c = (unsigned)fd < s->b.cap ? s->b.conns[fd] : NULL;
		if (!c)
			continue;
		if (mask & EPOLLOUT) {
			if (!ep_flush(s, c))
				continue;
		}
		if ((mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !c->eof) {
			ep_readable(s, c);
		} else if (mask & (EPOLLHUP | EPOLLERR)) {
			/* Half-closed and still answering, but the peer is gone entirely. */
			s->b.st.io_errors++;
			ep_close(s, c);
		}
	}
	return n;
}

static int ep_init(struct cs_base *base)
{
	struct ep_server *s = (struct ep_server *)base;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)s->b.lfd };

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->b.lfd, &ev) < 0) {
		int ret = -errno;

		close(s->epfd);
		return ret;
	}
	return 0;
}

static void ep_fini(struct cs_base *base)
{
	struct ep_server *s = (struct ep_server *)base;
	unsigned i;

	for (i = 0; i < s->b.cap; i++)
		if (s->b.conns[i])
			ep_close(s, s->b.conns[i]);
	close(s->epfd);
}

static const struct loop_ops EP_OPS = {
	.size = sizeof(struct ep_server),
	.init = ep_init,
	.step = ep_step,
	.fini = ep_fini,
};

/* See c/loop_common.h for the contract of these five. */
int cs_create(int lfd, int max_frame, long max_pending, int inject_delay_us)
{
	return cs_create_with(&EP_OPS, lfd, max_frame, max_pending, inject_delay_us);
}

int cs_run(int h, int run_ms, void *stats_out)
{
	return cs_run_with(&EP_OPS, h, run_ms, stats_out);
}

int cs_destroy(int h)
{
	return cs_destroy_with(&EP_OPS, h);
}

int cs_mt_start(const int32_t *lfds, const int32_t *cpus, int n, int max_frame, long max_pending, int inject_delay_us)
{
	return cs_mt_start_with(&EP_OPS, lfds, cpus, n, max_frame, max_pending, inject_delay_us);
}

/* sizeof(struct cs_stats), so the JS side can check the layout it reads. */
int cs_stats_bytes(void)
{
	return (int)sizeof(struct cs_stats);
}
