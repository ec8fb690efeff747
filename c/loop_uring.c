/*
 * C twin of the `uring` backend (bench/server/uring-server.ts): the same
 * completion loop over liburing, written in C, so that a comparison with the
 * TypeScript loop measures what Bun + bun:ffi cost per request rather than
 * what the kernel interface costs. One recv armed per connection, one send in
 * flight per connection, each step one io_uring_enter that submits what is
 * queued and waits, then up to CQ_BATCH completions handled. The ring is set
 * up as liburing's examples/proxy.c does (ring_init_tuned, c/uring_sqe.h).
 *
 * One enter per request: an answer's send usually completes inline while it
 * is submitted, and that completion alone would satisfy a wait for one, so the
 * next request would cost a second enter. Each step therefore waits for one
 * completion more than the sends it submits that are expected to finish at
 * once. Sends use MSG_WAITALL, so a send never completes short and inline
 * (which would leave the wait hanging for a request the peer cannot send
 * before it has the rest of the answer); a connection whose send did not
 * finish within its step (a peer that stops reading) is not counted again
 * until one does, so such a peer delays the others once, by at most the
 * step's timeout. JS starts a
 * server once and then calls cs_run() to run the loop for a few milliseconds
 * at a time; no request crosses the FFI boundary. The exported functions and
 * the buffers are shared with c/loop_epoll.c (c/loop_common.h).
 *
 * Build: scripts/setup.sh (links -luring)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_common.h"
#include "uring_sqe.h"

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

/* A completion as the loop handles it, copied out of the CQ. */
struct cqe_copy {
	uint64_t tag;
	int32_t res;
};

struct ur_server {
	struct cs_base b;
	struct io_uring ring;
	/* Slots of closed connections, reused before the table grows. */
	unsigned *free_slots;
	unsigned nfree, nslots, free_cap;
	struct cqe_copy batch[CQ_BATCH];
	/* Connection recvs and sends in flight: what cs_destroy must wait for. */
	long conn_ops;
	/* Steps (io_uring_enter with a wait) so far; sends queued now go with step + 1. */
	uint64_t step;
	/* Sends queued for the next step that should complete in it (see the top). */
	unsigned quick_sends;
	/* Accepts not re-armed while out of descriptors (see ur_on_accept), and until when. */
	unsigned accepts_idle;
	int64_t accept_paused_until;
};

static uint64_t tag_of(unsigned slot, unsigned op)
{
	return (uint64_t)slot << OP_BITS | op;
}

/*
 * An SQE for one more operation (get_sqe_err submits first when the SQ is
 * full). NULL only when even that fails: the loop then stops with that
 * -errno, as the TS loop throws.
 */
static struct io_uring_sqe *sqe_or_fail(struct ur_server *s)
{
	int err = -EBUSY;
	struct io_uring_sqe *sqe = get_sqe_err(&s->ring, &err);

	if (!sqe && !s->b.err)
		s->b.err = err;
	return sqe;
}

static void ur_arm_accept(struct ur_server *s)
{
	struct io_uring_sqe *sqe = sqe_or_fail(s);

	if (!sqe)
		return;
	io_uring_prep_accept(sqe, s->b.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, tag_of(0, OP_ACCEPT));
}

/* Re-arms the accepts left idle while out of descriptors. */
static void ur_resume_accepts(struct ur_server *s)
{
	for (; s->accepts_idle > 0; s->accepts_idle--)
		ur_arm_accept(s);
	s->accept_paused_until = 0;
}

/* Closes once nothing is in flight; shutdown() makes an armed recv complete. */
static void ur_begin_close(struct ur_server *s, struct conn *c)
{
	if (!c->closing) {
		c->closing = 1;
		if (c->recv_armed || c->send_armed)
			shutdown(c->fd, SHUT_RDWR);
	}
	if (c->recv_armed || c->send_armed)
		return;
	close(c->fd);
	s->b.conns[c->slot] = NULL;
	s->free_slots[s->nfree++] = c->slot;
	conn_free(c);
	s->b.st.active--;
	/* A descriptor is free again: the connection waiting in the backlog can be taken. */
	if (s->accepts_idle)
		ur_resume_accepts(s);
}

static void ur_arm_recv(struct ur_server *s, struct conn *c)
{
	long room = ibuf_prepare(&c->in, s->b.max_frame);
	struct io_uring_sqe *sqe;

	if (room < 0) {
		s->b.st.io_errors++;
		ur_begin_close(s, c);
		return;
	}
	if (!(sqe = sqe_or_fail(s)))
		return;
	io_uring_prep_recv(sqe, c->fd, c->in.p + c->in.end, (size_t)room, 0);
	io_uring_sqe_set_data64(sqe, tag_of(c->slot, OP_RECV));
	c->recv_armed = 1;
	s->conn_ops++;
}

static void ur_send_flight(struct ur_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_or_fail(s);

	if (!sqe)
		return;
	/* MSG_WAITALL (5.18+): complete when every byte went, not short and inline. */
	io_uring_prep_send(sqe, c->fd, c->flight.p + c->flight_off, c->flight.len - c->flight_off,
			   MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, tag_of(c->slot, OP_SEND));
	c->send_armed = 1;
	c->send_step = s->step + 1;
	/* No recv armed after EOF: nothing else will come, so do not wait for more. */
	if (!c->send_slow && !c->eof)
		s->quick_sends++;
	s->conn_ops++;
}

/* The answers gathered so far go in flight; later ones gather in the other buffer. */
static void ur_start_send(struct ur_server *s, struct conn *c)
{
	struct obuf t = c->flight;

	c->flight = c->out;
	c->out = t;
	c->flight_off = 0;
	ur_send_flight(s, c);
}

static void ur_on_accept(struct ur_server *s, int res)
{
	struct conn *c;
	unsigned slot;

	/*
	 * Out of descriptors (EMFILE/ENFILE) the connection stays queued and an
	 * accept re-armed at once fails at once: the loop spun at 100% CPU. The
	 * accept stays idle until a connection closes or ACCEPT_PAUSE_MS pass.
	 */
	if (res < 0 && accept_out_of_resources(-res)) {
		s->accepts_idle++;
		if (!s->accept_paused_until)
			s->accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
	} else {
		ur_arm_accept(s);
	}
	if (res < 0) {
		s->b.st.io_errors++;
		return;
	}
	set_nodelay(res);
	if (s->nfree > 0) {
		slot = s->free_slots[--s->nfree];
	} else {
		slot = s->nslots;
		if (table_fit(&s->b, slot) < 0) {
			s->b.st.io_errors++;
			close(res);
			return;
		}
		/* Every slot may be free at once: the free list is as long as the table. */
		if (s->free_cap < s->b.cap) {
			unsigned *fs = realloc(s->free_slots, s->b.cap * sizeof(*fs));

			if (!fs) {
				s->b.st.io_errors++;
				close(res);
				return;
			}
			s->free_slots = fs;
			s->free_cap = s->b.cap;
		}
		s->nslots++;
	}
	c = conn_new(res, 1);
	if (!c) {
		s->b.st.io_errors++;
		close(res);
		s->free_slots[s->nfree++] = slot;
		return;
	}
	c->slot = slot;
	s->b.conns[slot] = c;
	s->b.st.connections++;
	s->b.st.active++;
	ur_arm_recv(s, c);
}

static void ur_on_recv(struct ur_server *s, struct conn *c, int res)
{
	int ret;

	c->recv_armed = 0;
	if (c->closing) {
		ur_begin_close(s, c);
		return;
	}
	if (res <= 0) {
		if (res < 0)
			s->b.st.io_errors++;
		/* Peer closed its side (or failed): answer what it sent, then close. */
		c->eof = 1;
		if (!c->send_armed)
			ur_begin_close(s, c);
		return;
	}
	c->in.end += (size_t)res;
	s->b.st.bytes_in += res;
	ret = process_frames(&s->b, c);
	if (ret < 0) {
		if (ret != -EMSGSIZE)
			s->b.st.io_errors++;
		ur_begin_close(s, c);
		return;
	}
	if (c->out.len > 0) {
		if (!c->send_armed) {
			ur_start_send(s, c);
		} else if (c->out.len + c->flight.len - c->flight_off > (size_t)s->b.max_pending) {
			s->b.st.overflow++;
			ur_begin_close(s, c);
			return;
		}
	}
	ur_arm_recv(s, c);
}

static void ur_on_send(struct ur_server *s, struct conn *c, int res)
{
	c->send_armed = 0;
	c->send_slow = c->send_step != s->step;
	if (res < 0) {
		s->b.st.io_errors++;
		ur_begin_close(s, c);
		return;
	}
	if (c->closing) {
		ur_begin_close(s, c);
		return;
	}
	s->b.st.bytes_out += res;
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
static unsigned ur_reap(struct ur_server *s, struct cqe_copy *out)
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
 * for one completion more than the quick sends it submits (at most
 * timeout_ms), then the whole batch. Returns the completion count or -errno.
 */
static int ur_step(struct cs_base *base, int timeout_ms)
{
	struct ur_server *s = (struct ur_server *)base;
	struct cqe_copy *batch = s->batch;
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe = NULL;
	unsigned n, i, wait_nr = 1 + s->quick_sends;
	int ret;

	if (s->accepts_idle && now_ms() >= s->accept_paused_until)
		ur_resume_accepts(s);
	s->quick_sends = 0;
	s->step++;
	ret = io_uring_submit_and_wait_timeout(&s->ring, &cqe, wait_nr, &ts, NULL);
	/* A timeout, a signal, a CQ too full to take submissions: reap and go on. */
	if (wait_ret_is_fatal(ret))
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
		c = slot < s->b.cap ? s->b.conns[slot] : NULL;
		if (!c)
			continue;
		if (op == OP_RECV)
			ur_on_recv(s, c, batch[i].res);
		else
			ur_on_send(s, c, batch[i].res);
	}
	return s->b.err ? s->b.err : (int)n;
}

static int ur_init(struct cs_base *base)
{
	struct ur_server *s = (struct ur_server *)base;
	struct ring_setup setup;
	int ret = ring_init_tuned(&s->ring, RING_ENTRIES, &setup), i;

	if (ret < 0)
		return ret;
	s->b.has_ring = 1;
	s->b.ring_flags = (int32_t)setup.flags;
	s->b.ring_fallback_errno = setup.fallback_errno;
	s->b.ring_fd_registered = setup.ring_fd_registered;
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
static void ur_fini(struct cs_base *base)
{
	struct ur_server *s = (struct ur_server *)base;
	struct cqe_copy *batch = s->batch;
	int64_t deadline = now_ms() + DRAIN_MS;
	struct io_uring_sqe *sqe;
	unsigned i;

	for (i = 0; i < s->nslots; i++) {
		struct conn *c = s->b.conns[i];

		if (c && (c->recv_armed || c->send_armed))
			shutdown(c->fd, SHUT_RDWR);
	}
	sqe = get_sqe(&s->ring);
	if (sqe) {
		/* IORING_ASYNC_CANCEL_ANY needs 5.19; on older kernels the shutdowns do the work. */
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, tag_of(0, OP_CANCEL));
	}
	while (s->conn_ops > 0 && now_ms() < deadline) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000000 };
		struct io_uring_cqe *cqe = NULL;
		unsigned n;
		int ret = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);

		/* The ring itself failed: nothing more will complete; leak rather than free under the kernel. */
		if (wait_ret_is_fatal(ret))
			break;
		n = ur_reap(s, batch);
		for (i = 0; i < n; i++) {
			unsigned op = (unsigned)(batch[i].tag & ((1u << OP_BITS) - 1));
			uint64_t slot = batch[i].tag >> OP_BITS;
			struct conn *c = slot < s->b.cap ? s->b.conns[slot] : NULL;

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
		struct conn *c = s->b.conns[i];

		if (!c)
			continue;
		close(c->fd);
		s->b.conns[i] = NULL;
		/*
		 * Still armed only if the kernel did not answer within DRAIN_MS: leak
		 * the buffers rather than free memory a late recv could write into.
		 */
		if (!c->recv_armed && !c->send_armed)
			conn_free(c);
		s->b.st.active--;
	}
	free(s->free_slots);
}

static const struct loop_ops UR_OPS = {
	.size = sizeof(struct ur_server),
	.init = ur_init,
	.step = ur_step,
	.fini = ur_fini,
};

/* See c/loop_common.h for the contract of these five. */
int cs_create(int lfd, int max_frame, long max_pending, int inject_delay_us)
{
	return cs_create_with(&UR_OPS, lfd, max_frame, max_pending, inject_delay_us);
}

int cs_run(int h, int run_ms, void *stats_out)
{
	return cs_run_with(&UR_OPS, h, run_ms, stats_out);
}

int cs_destroy(int h)
{
	return cs_destroy_with(&UR_OPS, h);
}

int cs_mt_start(const int32_t *lfds, const int32_t *cpus, int n, int max_frame, long max_pending, int inject_delay_us)
{
	return cs_mt_start_with(&UR_OPS, lfds, cpus, n, max_frame, max_pending, inject_delay_us);
}

/* sizeof(struct cs_stats), so the JS side can check the layout it reads. */
int cs_stats_bytes(void)
{
	return (int)sizeof(struct cs_stats);
}
