/*
 * C twins of the `epoll` and `uring` backends (bench/server/epoll-server.ts and
 * uring-server.ts): the same echo loops, written in C, so that a comparison with
 * the TypeScript loops measures what Bun + bun:ffi cost per request rather than
 * what the kernel interface costs. JS starts a server once and then calls
 * cs_run() to run the loop for a few milliseconds at a time; no request crosses
 * the FFI boundary.
 *
 *   cs_create(kind, lfd, max_frame, max_pending) -> handle
 *   cs_run(h, run_ms, stats_out)                 -> events handled in this call
 *   cs_destroy(h)                                -> 0; every connection closed
 *
 * All state (connections, buffers, the epoll fd or the ring) lives in the
 * handle and persists across cs_run calls. The listening fd stays the caller's:
 * it is neither closed here nor made non-blocking (net_listen already did).
 * Every function returns >= 0 or -errno and never prints or exits.
 *
 * Named uring_*.c so that scripts/setup.sh links it with -luring.
 * Build: scripts/setup.sh (see c/net.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CS_EPOLL 0
#define CS_URING 1
#define CS_MAX_SERVERS 16

/* The same sizes as bench/server/core.ts, so both twins hand the kernel the same lengths. */
#define MIN_CONN_BUFFER (16 * 1024)
#define READ_CHUNK (8 * 1024)
#define HEADER_BYTES 4
#define MAX_EVENTS 256
/* The same as the TS uring loop: 4096 SQ entries, 1024 completions per step, 8 accepts armed. */
#define RING_ENTRIES 4096
#define CQ_BATCH 1024
#define ACCEPTS_ARMED 8
/* How long cs_destroy waits for the kernel to finish with connection buffers. */
#define DRAIN_MS 1000

#define OP_ACCEPT 1
#define OP_RECV 2
#define OP_SEND 3
#define OP_CANCEL 4
#define OP_BITS 4

/* What cs_run writes to stats_out: the ServerStats counters, in this order. */
struct cs_stats {
	int64_t connections;
	int64_t active;
	int64_t frames;
	int64_t bytes_in;
	int64_t bytes_out;
	int64_t oversize;
	int64_t overflow;
	int64_t io_errors;
};

/* Received bytes not yet processed: [start, end) of p. */
struct ibuf {
	uint8_t *p;
	size_t size, start, end;
};

/* Bytes to send: [0, len) of p. */
struct obuf {
	uint8_t *p;
	size_t size, len;
};

struct conn {
	int fd;
	unsigned slot;
	struct ibuf in;
	struct obuf out;
	/* uring: the buffer a send is in flight from, untouched until it completes. */
	struct obuf flight;
	size_t flight_off;
	unsigned char want_write, eof, recv_armed, send_armed, closing;
};

/* A completion as the uring loop handles it, copied out of the CQ. */
struct cqe_copy {
	uint64_t tag;
	int32_t res;
};

struct cs_server {
	int kind, lfd, max_frame;
	long max_pending;
	/* A failure the loop cannot recover from (no SQE even after submitting); sticky. */
	int err;
	struct cs_stats st;
	/* epoll: indexed by fd; uring: indexed by slot. */
	struct conn **conns;
	unsigned cap;
	/* epoll */
	int epfd;
	/* uring */
	struct io_uring ring;
	unsigned *free_slots;
	unsigned nfree, nslots, free_cap;
	struct cqe_copy batch[CQ_BATCH];
	/* Connection recvs and sends in flight: what cs_destroy must wait for. */
	long conn_ops;
};

static struct cs_server *servers[CS_MAX_SERVERS];

static struct cs_server *server_of(int h)
{
	if (h < 0 || h >= CS_MAX_SERVERS)
		return NULL;
	return servers[h];
}

/*
 * Coarse clock: read from the vDSO without touching the hardware clock, and
 * a few ms of resolution is plenty for a deadline of tens of ms. It keeps the
 * per-step deadline check from ever becoming a system call per request.
 */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- buffers (twins of InBuffer / OutBuffer in core.ts) ---- */

static size_t size_class(size_t n)
{
	size_t s = MIN_CONN_BUFFER;

	while (s < n)
		s *= 2;
	return s;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Makes room for the next read: the rest of the current frame, or READ_CHUNK
 * when the frame is complete or unknown. Returns the free length after end, or
 * -ENOMEM. Never call while a recv into this buffer is in flight (it may move).
 */
static long ibuf_prepare(struct ibuf *b, int max_frame)
{
	size_t live, need, frame = HEADER_BYTES;

	if (b->start == b->end)
		b->start = b->end = 0;
	live = b->end - b->start;
	if (live >= HEADER_BYTES) {
		uint32_t n = be32(b->p + b->start);
		/* An oversize prefix closes the connection before this is called; never trust it anyway. */
		if (n <= (uint32_t)max_frame)
			frame = HEADER_BYTES + (size_t)n;
	}
	need = frame > live ? frame - live : 0;
	if (need < READ_CHUNK)
		need = READ_CHUNK;
	if (b->size - b->end >= need)
		return (long)(b->size - b->end);
	if (b->size - live >= need) {
		memmove(b->p, b->p + b->start, live);
	} else {
		size_t size = size_class(live + need);
		uint8_t *p = malloc(size);

		if (!p)
			return -ENOMEM;
		memcpy(p, b->p + b->start, live);
		free(b->p);
		b->p = p;
		b->size = size;
	}
	b->start = 0;
	b->end = live;
	return (long)(b->size - b->end);
}

/* Ensures n more bytes fit and returns where they go (NULL: out of memory). */
static uint8_t *obuf_reserve(struct obuf *b, size_t n)
{
	uint8_t *at;

	if (b->len + n > b->size) {
		size_t size = size_class(b->len + n);
		uint8_t *p = malloc(size);

		if (!p)
			return NULL;
		memcpy(p, b->p, b->len);
		free(b->p);
		b->p = p;
		b->size = size;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

/* Drops the first n bytes (after a partial write). */
static void obuf_consume(struct obuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
}

/* Gives back an oversized buffer once empty, so one huge frame does not pin memory. */
static void obuf_shrink_if_idle(struct obuf *b)
{
	if (b->len == 0 && b->size > MIN_CONN_BUFFER * 4) {
		uint8_t *p = malloc(MIN_CONN_BUFFER);

		if (!p)
			return; /* keeping the big one is fine */
		free(b->p);
		b->p = p;
		b->size = MIN_CONN_BUFFER;
	}
}

static struct conn *conn_new(int fd, int with_flight)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->in.p = malloc(MIN_CONN_BUFFER);
	c->out.p = malloc(MIN_CONN_BUFFER);
	c->flight.p = with_flight ? malloc(MIN_CONN_BUFFER) : NULL;
	if (!c->in.p || !c->out.p || (with_flight && !c->flight.p)) {
		free(c->in.p);
		free(c->out.p);
		free(c->flight.p);
		free(c);
		return NULL;
	}
	c->in.size = c->out.size = MIN_CONN_BUFFER;
	c->flight.size = with_flight ? MIN_CONN_BUFFER : 0;
	return c;
}

static void conn_free(struct conn *c)
{
	free(c->in.p);
	free(c->out.p);
	free(c->flight.p);
	free(c);
}

/*
 * Echo: every complete frame buffered in c->in is copied to c->out, one copy
 * per frame like the TS echoHandler. Returns 0, -EMSGSIZE when a length prefix
 * exceeds max_frame (counted as oversize; close the connection) or -ENOMEM.
 */
static int process_frames(struct cs_server *s, struct conn *c)
{
	for (;;) {
		size_t avail = c->in.end - c->in.start, len;
		uint32_t n;
		uint8_t *dst;

		if (avail < HEADER_BYTES)
			return 0;
		n = be32(c->in.p + c->in.start);
		if (n > (uint32_t)s->max_frame) {
			s->st.oversize++;
			return -EMSGSIZE;
		}
		len = HEADER_BYTES + (size_t)n;
		if (avail < len)
			return 0;
		dst = obuf_reserve(&c->out, len);
		if (!dst)
			return -ENOMEM;
		memcpy(dst, c->in.p + c->in.start, len);
		c->in.start += len;
		s->st.frames++;
	}
}

/* Grows the connection table so that index i fits. */
static int table_fit(struct cs_server *s, unsigned i)
{
	unsigned cap = s->cap ? s->cap : 1024;
	struct conn **t;

	if (i < s->cap)
		return 0;
	while (cap <= i)
		cap *= 2;
	t = realloc(s->conns, cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t + s->cap, 0, (cap - s->cap) * sizeof(*t));
	s->conns = t;
	s->cap = cap;
	return 0;
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Failing only costs latency, like net.setNoDelay in the TS loops would have thrown on: ignore. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- epoll twin: level-triggered; epoll_wait + read + write per request ---- */

static void ep_close(struct cs_server *s, struct conn *c)
{
	/* close() also removes the fd from the epoll set: no EPOLL_CTL_DEL needed. */
	close(c->fd);
	s->conns[c->fd] = NULL;
	conn_free(c);
	s->st.active--;
}

/* epoll_ctl only when the interest changes, i.e. only when a write would block. */
static int ep_set_interest(struct cs_server *s, struct conn *c, int write)
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
static int ep_flush(struct cs_server *s, struct conn *c)
{
	if (c->out.len > 0) {
		ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);

		if (w > 0) {
			s->st.bytes_out += w;
			obuf_consume(&c->out, (size_t)w);
		} else if (!(w < 0 && errno == EAGAIN)) {
			s->st.io_errors++;
			ep_close(s, c);
			return 0;
		}
	}
	if (c->out.len > 0) {
		if (c->out.len > (size_t)s->max_pending) {
			s->st.overflow++;
			ep_close(s, c);
			return 0;
		}
		if (ep_set_interest(s, c, 1) < 0) {
			s->st.io_errors++;
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
		s->st.io_errors++;
		ep_close(s, c);
		return 0;
	}
	return 1;
}

static void ep_readable(struct cs_server *s, struct conn *c)
{
	long room = ibuf_prepare(&c->in, s->max_frame);
	ssize_t r;

	if (room < 0) {
		s->st.io_errors++;
		ep_close(s, c);
		return;
	}
	r = read(c->fd, c->in.p + c->in.end, (size_t)room);
	if (r > 0) {
		int ret;

		c->in.end += (size_t)r;
		s->st.bytes_in += r;
		ret = process_frames(s, c);
		if (ret < 0) {
			if (ret != -EMSGSIZE)
				s->st.io_errors++;
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
				s->st.io_errors++;
				ep_close(s, c);
			}
		}
	} else if (errno != EAGAIN) {
		s->st.io_errors++;
		ep_close(s, c);
	}
}

static void ep_accept_all(struct cs_server *s)
{
	for (;;) {
		struct epoll_event ev;
		struct conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN)
				s->st.io_errors++;
			return;
		}
		set_nodelay(fd);
		if (table_fit(s, (unsigned)fd) < 0 || !(c = conn_new(fd, 0))) {
			s->st.io_errors++;
			close(fd);
			continue;
		}
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = (uint64_t)fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			s->st.io_errors++;
			close(fd);
			conn_free(c);
			continue;
		}
		s->conns[fd] = c;
		s->st.connections++;
		s->st.active++;
	}
}

/* One loop step: one epoll_wait and what it reported. Returns the event count or -errno. */
static int ep_step(struct cs_server *s, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, i;

	n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		int fd = (int)evs[i].data.u64;
		uint32_t mask = evs[i].events;
		struct conn *c;

		if (fd == s->lfd) {
			ep_accept_all(s);
			continue;
		}
		c = (unsigned)fd < s->cap ? s->conns[fd] : NULL;
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
			s->st.io_errors++;
			ep_close(s, c);
		}
	}
	return n;
}

static int ep_init(struct cs_server *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)s->lfd };

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		int ret = -errno;

		close(s->epfd);
		return ret;
	}
	return 0;
}

static void ep_fini(struct cs_server *s)
{
	unsigned i;

	for (i = 0; i < s->cap; i++)
		if (s->conns[i])
			ep_close(s, s->conns[i]);
	close(s->epfd);
}

/* ---- uring twin: one recv armed per connection, one send in flight, batch reaping ---- */

static uint64_t tag_of(unsigned slot, unsigned op)
{
	return (uint64_t)slot << OP_BITS | op;
}

/*
 * Gets an SQE, submitting what is queued first when the SQ is full (as
 * c/uring.c does). NULL only when even that fails: the loop then stops with
 * -EBUSY, as the TS loop throws.
 */
static struct io_uring_sqe *get_sqe(struct cs_server *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
	}
	if (!sqe && !s->err)
		s->err = -EBUSY;
	return sqe;
}

static void ur_arm_accept(struct cs_server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	if (!sqe)
		return;
	io_uring_prep_accept(sqe, s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, tag_of(0, OP_ACCEPT));
}

/* Closes once nothing is in flight; shutdown() makes an armed recv complete. */
static void ur_begin_close(struct cs_server *s, struct conn *c)
{
	if (!c->closing) {
		c->closing = 1;
		if (c->recv_armed || c->send_armed)
			shutdown(c->fd, SHUT_RDWR);
	}
	if (c->recv_armed || c->send_armed)
		return;
	close(c->fd);
	s->conns[c->slot] = NULL;
	s->free_slots[s->nfree++] = c->slot;
	conn_free(c);
	s->st.active--;
}

static void ur_arm_recv(struct cs_server *s, struct conn *c)
{
	long room = ibuf_prepare(&c->in, s->max_frame);
	struct io_uring_sqe *sqe;

	if (room < 0) {
		s->st.io_errors++;
		ur_begin_close(s, c);
		return;
	}
	if (!(sqe = get_sqe(s)))
		return;
	io_uring_prep_recv(sqe, c->fd, c->in.p + c->in.end, (size_t)room, 0);
	io_uring_sqe_set_data64(sqe, tag_of(c->slot, OP_RECV));
	c->recv_armed = 1;
	s->conn_ops++;
}

static void ur_send_flight(struct cs_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	if (!sqe)
		return;
	io_uring_prep_send(sqe, c->fd, c->flight.p + c->flight_off, c->flight.len - c->flight_off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, tag_of(c->slot, OP_SEND));
	c->send_armed = 1;
	s->conn_ops++;
}

/* The answers gathered so far go in flight; later ones gather in the other buffer. */
static void ur_start_send(struct cs_server *s, struct conn *c)
{
	struct obuf t = c->flight;

	c->flight = c->out;
	c->out = t;
	c->flight_off = 0;
	ur_send_flight(s, c);
}

static void ur_on_accept(struct cs_server *s, int res)
{
	struct conn *c;
	unsigned slot;

	ur_arm_accept(s);
	if (res < 0) {
		s->st.io_errors++;
		return;
	}
	set_nodelay(res);
	if (s->nfree > 0) {
		slot = s->free_slots[--s->nfree];
	} else {
		slot = s->nslots;
		if (table_fit(s, slot) < 0) {
			s->st.io_errors++;
			close(res);
			return;
		}
		/* Every slot may be free at once: the free list is as long as the table. */
		if (s->free_cap < s->cap) {
			unsigned *fs = realloc(s->free_slots, s->cap * sizeof(*fs));

			if (!fs) {
				s->st.io_errors++;
				close(res);
				return;
			}
			s->free_slots = fs;
			s->free_cap = s->cap;
		}
		s->nslots++;
	}
	c = conn_new(res, 1);
	if (!c) {
		s->st.io_errors++;
		close(res);
		s->free_slots[s->nfree++] = slot;
		return;
	}
	c->slot = slot;
	s->conns[slot] = c;
	s->st.connections++;
	s->st.active++;
	ur_arm_recv(s, c);
}

static void ur_on_recv(struct cs_server *s, struct conn *c, int res)
{
	int ret;

	c->recv_armed = 0;
	if (c->closing) {
		ur_begin_close(s, c);
		return;
	}
	if (res <= 0) {
		if (res < 0)
			s->st.io_errors++;
		/* Peer closed its side (or failed): answer what it sent, then close. */
		c->eof = 1;
		if (!c->send_armed)
			ur_begin_close(s, c);
		return;
	}
	c->in.end += (size_t)res;
	s->st.bytes_in += res;
	ret = process_frames(s, c);
	if (ret < 0) {
		if (ret != -EMSGSIZE)
			s->st.io_errors++;
		ur_begin_close(s, c);
		return;
	}
	if (c->out.len > 0) {
		if (!c->send_armed) {
			ur_start_send(s, c);
		} else if (c->out.len + c->flight.len - c->flight_off > (size_t)s->max_pending) {
			s->st.overflow++;
			ur_begin_close(s, c);
			return;
		}
	}
	ur_arm_recv(s, c);
}

static void ur_on_send(struct cs_server *s, struct conn *c, int res)
{
	c->send_armed = 0;
	if (res < 0) {
		s->st.io_errors++;
		ur_begin_close(s, c);
		return;
	}
	if (c->closing) {
		ur_begin_close(s, c);
		return;
	}
	s->st.bytes_out += res;
	c->flight_off += (size_t)res;
	if (c->flight_off < c->flight.len) {
		ur_send_flight(s, c);
		return;
	}
	c->flight.len = 0;
	obuf_shrink_if_idle(&c->flight);
	if (c->out.len > 0)
		ur_start_send(s, c);
	else if (c->eof)
		ur_begin_close(s, c);
}

/*
 * Copies up to CQ_BATCH completions out and marks them seen, so that handling
 * them (which may submit, when the SQ fills) never races the CQ iteration.
 */
static unsigned ur_reap(struct cs_server *s, struct cqe_copy *out)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&s->ring, head, cqe) {
		if (n == CQ_BATCH)
			break;
		out[n].tag = cqe->user_data;
		out[n].res = cqe->res;
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	return n;
}

/*
 * One loop step: one io_uring_enter that submits everything queued and waits
 * for at least one completion (at most timeout_ms), then the whole batch.
 * Returns the completion count or -errno.
 */
static int ur_step(struct cs_server *s, int timeout_ms)
{
	struct cqe_copy *batch = s->batch;
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe = NULL;
	unsigned n, i;
	int ret;

	ret = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
	/*
	 * Not errors: a timeout or a signal; -EBUSY/-EAGAIN mean the kernel could
	 * not take more submissions right now (CQ overflowing, no memory): reaping
	 * below makes room, and what was not submitted goes with the next step.
	 */
	if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
		return ret;
	n = ur_reap(s, batch);
	for (i = 0; i < n; i++) {
		unsigned op = (unsigned)(batch[i].tag & ((1u << OP_BITS) - 1));
		uint64_t slot = batch[i].tag >> OP_BITS;
		struct conn *c;

		if (batch[i].tag == LIBURING_UDATA_TIMEOUT)
			continue; /* liburing's own timeout SQE, on kernels without EXT_ARG */
		if (op == OP_ACCEPT) {
			ur_on_accept(s, batch[i].res);
			continue;
		}
		if (op != OP_RECV && op != OP_SEND)
			continue;
		s->conn_ops--;
		c = slot < s->cap ? s->conns[slot] : NULL;
		if (!c)
			continue;
		if (op == OP_RECV)
			ur_on_recv(s, c, batch[i].res);
		else
			ur_on_send(s, c, batch[i].res);
	}
	return s->err ? s->err : (int)n;
}

static int ur_init(struct cs_server *s)
{
	int ret = io_uring_queue_init(RING_ENTRIES, &s->ring, 0), i;

	if (ret < 0)
		return ret;
	for (i = 0; i < ACCEPTS_ARMED; i++)
		ur_arm_accept(s);
	return 0;
}

/*
 * Closing a ring cancels its requests asynchronously (the kernel tears it down
 * in a worker after close returns), so buffers freed right after
 * io_uring_queue_exit could still be written by a recv. Instead: shut every
 * busy socket down and cancel everything, wait until each connection's recv
 * and send have completed, and only then exit the ring and free. Accepts need
 * no wait: they were armed without an address buffer.
 */
static void ur_fini(struct cs_server *s)
{
	struct cqe_copy *batch = s->batch;
	int64_t deadline = now_ms() + DRAIN_MS;
	struct io_uring_sqe *sqe;
	unsigned i;

	for (i = 0; i < s->nslots; i++) {
		struct conn *c = s->conns[i];

		if (c && (c->recv_armed || c->send_armed))
			shutdown(c->fd, SHUT_RDWR);
	}
	sqe = io_uring_get_sqe(&s->ring);
	if (!sqe) {
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
	}
	if (sqe) {
		/* IORING_ASYNC_CANCEL_ANY needs 5.19; on older kernels the shutdowns do the work. */
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, tag_of(0, OP_CANCEL));
	}
	while (s->conn_ops > 0 && now_ms() < deadline) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000000 };
		struct io_uring_cqe *cqe = NULL;
		unsigned n;

		io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
		n = ur_reap(s, batch);
		for (i = 0; i < n; i++) {
			unsigned op = (unsigned)(batch[i].tag & ((1u << OP_BITS) - 1));
			uint64_t slot = batch[i].tag >> OP_BITS;
			struct conn *c = slot < s->cap ? s->conns[slot] : NULL;

			if (batch[i].tag == LIBURING_UDATA_TIMEOUT)
				continue;
			if (op == OP_ACCEPT && batch[i].res >= 0)
				close(batch[i].res); /* a connection that arrived while stopping */
			if (op != OP_RECV && op != OP_SEND)
				continue;
			s->conn_ops--;
			if (!c)
				continue;
			if (op == OP_RECV)
				c->recv_armed = 0;
			else
				c->send_armed = 0;
		}
	}
	io_uring_queue_exit(&s->ring);
	for (i = 0; i < s->nslots; i++) {
		struct conn *c = s->conns[i];

		if (!c)
			continue;
		close(c->fd);
		s->conns[i] = NULL;
		/*
		 * Still armed only if the kernel did not answer within DRAIN_MS: leak
		 * the buffers rather than free memory a late recv could write into.
		 */
		if (!c->recv_armed && !c->send_armed)
			conn_free(c);
		s->st.active--;
	}
	free(s->free_slots);
}

/* ---- the exported trio ---- */

/*
 * kind: 0 epoll, 1 io_uring. lfd: a listening socket (non-blocking, as
 * net_listen makes it; the epoll loop drains accept until EAGAIN). A frame
 * whose length prefix exceeds max_frame closes its connection; so does
 * holding more than max_pending unsent bytes. Returns a handle >= 0.
 */
int cs_create(int kind, int lfd, int max_frame, long max_pending)
{
	struct cs_server *s;
	int h, ret;

	if ((kind != CS_EPOLL && kind != CS_URING) || lfd < 0 || max_frame < 0 || max_pending < 0)
		return -EINVAL;
	for (h = 0; h < CS_MAX_SERVERS; h++)
		if (!servers[h])
			break;
	if (h == CS_MAX_SERVERS)
		return -EMFILE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kind = kind;
	s->lfd = lfd;
	s->max_frame = max_frame;
	s->max_pending = max_pending;
	s->epfd = -1;
	ret = kind == CS_EPOLL ? ep_init(s) : ur_init(s);
	if (ret < 0) {
		free(s);
		return ret;
	}
	servers[h] = s;
	return h;
}

/*
 * Runs the loop for about run_ms (0: one step without waiting), then writes
 * the counters (struct cs_stats) to stats_out when it is not NULL. Returning
 * every few ms lets the JS thread run its signal handlers and stop().
 * Returns the number of events or completions handled, or -errno when the
 * loop cannot go on (the handle then only accepts cs_destroy).
 */
int cs_run(int h, int run_ms, void *stats_out)
{
	struct cs_server *s = server_of(h);
	int64_t deadline, total = 0;
	int ret = 0;

	if (!s)
		return -EBADF;
	if (run_ms < 0)
		run_ms = 0;
	deadline = now_ms() + run_ms;
	while (!s->err) {
		int64_t left = deadline - now_ms();

		if (left < 0)
			left = 0;
		ret = s->kind == CS_EPOLL ? ep_step(s, (int)left) : ur_step(s, (int)left);
		if (ret < 0) {
			s->err = ret;
			break;
		}
		total += ret;
		if (left == 0 || now_ms() >= deadline)
			break;
	}
	if (stats_out)
		memcpy(stats_out, &s->st, sizeof(s->st));
	if (s->err)
		return s->err;
	return total > INT_MAX ? INT_MAX : (int)total;
}

/* Closes every connection and frees the handle; the listening fd is left to the caller. */
int cs_destroy(int h)
{
	struct cs_server *s = server_of(h);

	if (!s)
		return -EBADF;
	if (s->kind == CS_EPOLL)
		ep_fini(s);
	else
		ur_fini(s);
	free(s->conns);
	free(s);
	servers[h] = NULL;
	return 0;
}

/* sizeof(struct cs_stats), so the JS side can check the layout it reads. */
int cs_stats_bytes(void)
{
	return (int)sizeof(struct cs_stats);
}
