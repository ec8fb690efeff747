/*
 * liburing shims. Rings live in a small table and are named by an index, so the
 * JS side never holds a pointer into liburing's struct. Every function returns
 * >= 0 or -errno and never prints or exits.
 *
 * Built against Debian 12's liburing 2.3: helpers newer than that (for example
 * io_uring_setup_buf_ring, 2.4) are not used; the kernel may be much newer, so
 * callers probe before relying on an opcode or a setup flag.
 *
 * Build: scripts/setup.sh (see c/net.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "uring_sqe.h"

#define UR_MAX_RINGS 64

/*
 * A provided-buffer ring (kernel 5.19+): the kernel picks a buffer for each
 * multishot recv completion, so no buffer is pinned per idle connection.
 * liburing 2.3 has no io_uring_setup_buf_ring (2.4), so the ring memory is
 * allocated and registered here.
 */
struct ur_bufs {
	struct io_uring_buf_ring *br;
	char *base;
	unsigned entries;
	unsigned size;
	int bgid;
};

struct ur_slot {
	struct io_uring ring;
	struct ur_bufs bufs;
	struct ring_setup setup;
	/* How many ops the last ur_prep_ops/ur_step prepared (read after a failure). */
	unsigned ops_done;
	int used;
};

/* user_data of ur_destroy's own cancel; the JS loops' tags are small. */
#define UR_DESTROY_TAG (~0ULL - 1)
/* How long ur_destroy waits for the kernel to let go of provided buffers. */
#define UR_DRAIN_MS 1000

static struct ur_slot slots[UR_MAX_RINGS];

/* Completion as the JS loop reads it: 16 bytes, tag first. */
struct ur_cqe_out {
	uint64_t tag;
	int32_t res;
	uint32_t flags;
};

static struct io_uring *ring_of(int h)
{
	if (h < 0 || h >= UR_MAX_RINGS || !slots[h].used)
		return NULL;
	return &slots[h].ring;
}

/* The first unused slot, or -EMFILE. */
static int free_slot(void)
{
	int h;

	for (h = 0; h < UR_MAX_RINGS; h++)
		if (!slots[h].used)
			return h;
	return -EMFILE;
}

/*
 * flags are IORING_SETUP_* as the kernel defines them. sq_idle_ms and sq_cpu
 * only matter with IORING_SETUP_SQPOLL (sq_cpu < 0: let the kernel choose).
 */
int ur_create(unsigned entries, unsigned flags, unsigned sq_idle_ms, int sq_cpu)
{
	struct io_uring_params p;
	int h, ret;

	h = free_slot();
	if (h < 0)
		return h;
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	if (flags & IORING_SETUP_SQPOLL) {
		p.sq_thread_idle = sq_idle_ms;
		if (sq_cpu >= 0) {
			p.flags |= IORING_SETUP_SQ_AFF;
			p.sq_thread_cpu = (unsigned)sq_cpu;
		}
	}
	ret = io_uring_queue_init_params(entries, &slots[h].ring, &p);
	if (ret < 0)
		return ret;
	memset(&slots[h].setup, 0, sizeof(slots[h].setup));
	slots[h].setup.flags = slots[h].ring.flags;
	/* As proxy.c does; a refusal (before 5.18) only costs an fdget per enter. */
	ret = io_uring_register_ring_fd(&slots[h].ring);
	slots[h].setup.ring_fd_registered = ret == 1 ? 1 : (ret < 0 ? ret : -EIO);
	slots[h].used = 1;
	return h;
}

/*
 * A ring set up as liburing's examples/proxy.c does (ring_init_tuned in
 * c/uring_sqe.h): the first of SINGLE_ISSUER|DEFER_TASKRUN, COOP_TASKRUN|
 * TASKRUN_FLAG, none that the kernel accepts, and a registered ring fd. What
 * was used: ur_setup_flags, ur_setup_fallback_errno, ur_ring_fd_registered.
 * Only the calling thread may submit to it and wait on it.
 */
int ur_create_tuned(unsigned entries)
{
	int h, ret;

	h = free_slot();
	if (h < 0)
		return h;
	ret = ring_init_tuned(&slots[h].ring, entries, &slots[h].setup);
	if (ret < 0)
		return ret;
	slots[h].used = 1;
	return h;
}

/* IORING_SETUP_* the ring runs with. */
int ur_setup_flags(int h)
{
	return ring_of(h) ? (int)slots[h].setup.flags : -EBADF;
}

/* errno of a setup flag set the kernel refused before the one in use (0: none). */
int ur_setup_fallback_errno(int h)
{
	return ring_of(h) ? slots[h].setup.fallback_errno : -EBADF;
}

/* 1 when the ring fd is registered; else the -errno of the refusal (the ring works anyway). */
int ur_ring_fd_registered(int h)
{
	return ring_of(h) ? slots[h].setup.ring_fd_registered : -EBADF;
}

/*
 * Gives back the registered ring fd, so that every io_uring_enter passes the
 * plain fd (and pays the fdget) as a loop without registration does: the
 * ablation ladder measures what registration buys. 0, or -errno.
 */
int ur_unregister_ring_fd(int h)
{
	struct io_uring *r = ring_of(h);
	int ret;

	if (!r)
		return -EBADF;
	if (slots[h].setup.ring_fd_registered != 1)
		return 0;
	ret = io_uring_unregister_ring_fd(r);
	if (ret < 0)
		return ret;
	slots[h].setup.ring_fd_registered = 0;
	return 0;
}

static void free_bufs(struct ur_bufs *b)
{
	free(b->br);
	free(b->base);
	memset(b, 0, sizeof(*b));
}

/*
 * Cancels every request (IORING_ASYNC_CANCEL_ANY, 5.19+) and waits, at most
 * UR_DRAIN_MS, for that cancel's own completion: a recv waiting on a socket is
 * cancelled synchronously, so once it is posted no request still holds a
 * provided buffer. Completions reaped here are dropped: a caller that cares
 * (the JS loop) drains its own before destroying. Returns 0, or -errno when
 * the kernel did not confirm in time.
 */
static int drain(struct io_uring *r)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int err = 0, ret, seen = 0;
	unsigned head, n;
	long waited = 0;

	sqe = get_sqe_err(r, &err);
	if (!sqe)
		return err;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, UR_DESTROY_TAG);
	while (!seen && waited < UR_DRAIN_MS) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000000 };

		cqe = NULL;
		ret = io_uring_submit_and_wait_timeout(r, &cqe, 1, &ts, NULL);
		if (wait_ret_is_fatal(ret))
			return ret;
		if (ret == -ETIME)
			waited += 50;
		n = 0;
		io_uring_for_each_cqe(r, head, cqe) {
			if (cqe->user_data == UR_DESTROY_TAG)
				seen = 1;
			n++;
		}
		io_uring_cq_advance(r, n);
	}
	return seen ? 0 : -ETIME;
}

/*
 * Closing a ring cancels its requests asynchronously (the kernel tears it down
 * in a worker after close returns), so provided buffers freed right after
 * io_uring_queue_exit could still be written by a multishot recv. They are
 * freed only once a drain confirmed that nothing holds them, and leaked
 * otherwise (better than memory a late recv writes into).
 */
int ur_destroy(int h)
{
	struct io_uring *r = ring_of(h);
	struct ur_bufs *b;
	int drained = 1;

	if (!r)
		return -EBADF;
	b = &slots[h].bufs;
	if (b->br) {
		drained = drain(r) == 0;
		if (drained && io_uring_unregister_buf_ring(r, b->bgid) < 0)
			drained = 0;
	}
	io_uring_queue_exit(r);
	if (drained)
		free_bufs(b);
	else
		memset(b, 0, sizeof(*b));
	slots[h].used = 0;
	return drained ? 0 : -EBUSY;
}

/*
 * Registers group bgid with `entries` buffers (a power of two) of `size` bytes
 * each, all handed to the kernel. Returns 0 or -errno (-EINVAL on kernels
 * before 5.19, which have no buffer rings).
 */
int ur_buf_ring_setup(int h, int bgid, unsigned entries, unsigned size)
{
	struct io_uring *r = ring_of(h);
	struct ur_bufs *b;
	struct io_uring_buf_reg reg;
	unsigned i;
	int ret;

	if (!r)
		return -EBADF;
	if (!entries || (entries & (entries - 1)) || entries > 32768 || !size)
		return -EINVAL;
	b = &slots[h].bufs;
	if (b->br)
		return -EEXIST;
	if (posix_memalign((void **)&b->br, 4096, entries * sizeof(struct io_uring_buf)))
		return -ENOMEM;
	b->base = malloc((size_t)entries * size);
	if (!b->base) {
		free_bufs(b);
		return -ENOMEM;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)b->br;
	reg.ring_entries = entries;
	reg.bgid = (unsigned short)bgid;
	ret = io_uring_register_buf_ring(r, &reg, 0);
	if (ret < 0) {
		free_bufs(b);
		return ret;
	}
	b->entries = entries;
	b->size = size;
	b->bgid = bgid;
	io_uring_buf_ring_init(b->br);
	for (i = 0; i < entries; i++)
		io_uring_buf_ring_add(b->br, b->base + (size_t)i * size, size, (unsigned short)i,
				      io_uring_buf_ring_mask(entries), (int)i);
	io_uring_buf_ring_advance(b->br, (int)entries);
	return 0;
}

/* Address of the buffers' memory (entries * size bytes), owned by the ring; 0 if none. */
long ur_buf_base(int h)
{
	struct io_uring *r = ring_of(h);
	return r && slots[h].bufs.base ? (long)slots[h].bufs.base : 0;
}

/* Hands buffer bid back to the kernel once its bytes have been consumed. */
int ur_buf_recycle(int h, unsigned bid)
{
	struct io_uring *r = ring_of(h);
	struct ur_bufs *b;

	if (!r)
		return -EBADF;
	b = &slots[h].bufs;
	if (!b->br || bid >= b->entries)
		return -EINVAL;
	io_uring_buf_ring_add(b->br, b->base + (size_t)bid * b->size, b->size, (unsigned short)bid,
			      io_uring_buf_ring_mask(b->entries), 0);
	io_uring_buf_ring_advance(b->br, 1);
	return 0;
}

/* The ring's own fd, for counting and for /proc inspection. */
int ur_ring_fd(int h)
{
	struct io_uring *r = ring_of(h);
	return r ? r->ring_fd : -EBADF;
}

/* Features the kernel reported at setup (IORING_FEAT_*). */
int ur_features(int h)
{
	struct io_uring *r = ring_of(h);
	return r ? (int)r->features : -EBADF;
}

/*
 * The SQE for one more request on ring h, or NULL with *err set (-EBADF for
 * an unknown ring, -EBUSY when the SQ stays full even after a submit, or the
 * submit's own -errno).
 */
static struct io_uring_sqe *sqe_for(int h, int *err)
{
	struct io_uring *r = ring_of(h);

	if (!r) {
		*err = -EBADF;
		return NULL;
	}
	return get_sqe_err(r, err);
}

int ur_prep_accept(int h, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

/* One SQE, a completion per accepted connection while IORING_CQE_F_MORE is set (5.19+). */
int ur_prep_accept_multishot(int h, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

/*
 * Multishot recv into the provided-buffer ring (6.0+): a completion per
 * arrival, the buffer id in cqe->flags >> 16. It ends (no IORING_CQE_F_MORE)
 * on EOF, on error, or with -ENOBUFS when every buffer is in use; the caller
 * then recycles buffers and arms it again.
 */
int ur_prep_recv_multishot(int h, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!ring_of(h) || !slots[h].bufs.br)
		return ring_of(h) ? -EINVAL : -EBADF;
	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (unsigned short)slots[h].bufs.bgid;
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

/* buf must stay valid and unmoved until the completion with this tag is reaped. */
int ur_prep_recv(int h, int fd, void *buf, unsigned len, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_recv(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

/*
 * buf must stay valid and unchanged until the completion with this tag is reaped.
 * MSG_WAITALL (io_uring retries a short stream send itself, 5.18+): the
 * completion comes when every byte went or the connection failed, so a send
 * that cannot finish at once does not complete short and inline; an event
 * loop can then count on each completed send having ended. A short count is
 * still possible (shutdown, error part-way) and must be handled.
 */
int ur_prep_send(int h, int fd, const void *buf, unsigned len, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

int ur_prep_close(int h, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

int ur_prep_nop(int h, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

/* Cancels every request on fd (kernel 5.19+); used before a forced close. */
int ur_prep_cancel_fd(int h, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	int err;

	if (!(sqe = sqe_for(h, &err)))
		return err;
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

int ur_submit(int h)
{
	struct io_uring *r = ring_of(h);
	return r ? io_uring_submit(r) : -EBADF;
}

int ur_submit_and_wait(int h, unsigned wait_nr)
{
	struct io_uring *r = ring_of(h);
	return r ? io_uring_submit_and_wait(r, wait_nr) : -EBADF;
}

/* Copies up to max completions into out (struct ur_cqe_out each) and marks them seen. */
int ur_reap(int h, void *out, unsigned max)
{
	struct io_uring *r = ring_of(h);
	struct ur_cqe_out *o = out;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	if (!r)
		return -EBADF;
	io_uring_for_each_cqe(r, head, cqe) {
		if (n == max)
			break;
		o[n].tag = cqe->user_data;
		o[n].res = cqe->res;
		o[n].flags = cqe->flags;
		n++;
	}
	io_uring_cq_advance(r, n);
	return (int)n;
}

/*
 * One event-loop step in one FFI crossing: submit everything queued, wait for
 * at least wait_nr completions (at most timeout_ms; < 0 waits without limit),
 * then reap up to max of them into out. With IORING_FEAT_EXT_ARG (5.11+) the
 * submit, the wait and the timeout are a single io_uring_enter.
 * Returns the number reaped; a timeout, a signal or a CQ too full to take
 * submissions (wait_ret_is_fatal) is not an error.
 */
int ur_run(int h, unsigned wait_nr, int timeout_ms, void *out, unsigned max)
{
	struct io_uring *r = ring_of(h);
	struct io_uring_cqe *cqe = NULL;
	int ret;

	if (!r)
		return -EBADF;
	if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(r, wait_nr);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};
		ret = io_uring_submit_and_wait_timeout(r, &cqe, wait_nr, &ts, NULL);
	}
	if (wait_ret_is_fatal(ret))
		return ret;
	return ur_reap(h, out, max);
}

/*
 * A queued operation as the JS loop writes it into its op buffer (32 bytes,
 * little-endian): what one loop step hands to the kernel. addr is an address
 * ffi/uring.ts computed after checking [addr, addr + len) lies inside a
 * buffer it keeps alive; aux is the provided buffer's id for UR_OP_RECYCLE.
 */
struct ur_op {
	uint32_t op;
	int32_t fd;
	uint64_t addr;
	uint32_t len;
	uint32_t aux;
	uint64_t tag;
};
_Static_assert(sizeof(struct ur_op) == 32, "struct ur_op is 32 bytes, as ffi/uring.ts writes it");

enum {
	UR_OP_NOP = 0,
	UR_OP_ACCEPT = 1,
	UR_OP_ACCEPT_MULTISHOT = 2,
	UR_OP_RECV = 3,
	UR_OP_RECV_MULTISHOT = 4,
	UR_OP_SEND = 5,
	UR_OP_CLOSE = 6,
	UR_OP_CANCEL_FD = 7,
	/* Not an SQE: hands provided buffer aux back to the kernel. */
	UR_OP_RECYCLE = 8,
};

/* Prepares one op; 0 or -errno (-EINVAL for an unknown op or a recv without buffers). */
static int prep_op(int h, const struct ur_op *o)
{
	switch (o->op) {
	case UR_OP_NOP:
		return ur_prep_nop(h, o->tag);
	case UR_OP_ACCEPT:
		return ur_prep_accept(h, o->fd, o->tag);
	case UR_OP_ACCEPT_MULTISHOT:
		return ur_prep_accept_multishot(h, o->fd, o->tag);
	case UR_OP_RECV:
		return ur_prep_recv(h, o->fd, (void *)(uintptr_t)o->addr, o->len, o->tag);
	case UR_OP_RECV_MULTISHOT:
		return ur_prep_recv_multishot(h, o->fd, o->tag);
	case UR_OP_SEND:
		return ur_prep_send(h, o->fd, (const void *)(uintptr_t)o->addr, o->len, o->tag);
	case UR_OP_CLOSE:
		return ur_prep_close(h, o->fd, o->tag);
	case UR_OP_CANCEL_FD:
		return ur_prep_cancel_fd(h, o->fd, o->tag);
	case UR_OP_RECYCLE:
		return ur_buf_recycle(h, o->aux);
	}
	return -EINVAL;
}

/*
 * Prepares ops[0, nops) in order, without submitting unless the SQ fills
 * (get_sqe_err then submits, or waits for the SQPOLL thread). Returns nops,
 * or -errno of the first op that failed; slots[h].ops_done then says how
 * many before it were prepared (they go with the next submit).
 */
int ur_prep_ops(int h, const void *ops, unsigned nops)
{
	const struct ur_op *o = ops;
	unsigned i;
	int ret;

	if (!ring_of(h))
		return -EBADF;
	for (i = 0; i < nops; i++) {
		ret = prep_op(h, &o[i]);
		if (ret < 0) {
			slots[h].ops_done = i;
			return ret;
		}
	}
	slots[h].ops_done = nops;
	return (int)nops;
}

/* After a failed ur_prep_ops or ur_step: how many of its ops were prepared. */
int ur_ops_done(int h)
{
	return ring_of(h) ? (int)slots[h].ops_done : -EBADF;
}

/*
 * A whole event-loop step in one FFI crossing: prepares ops[0, nops) (as
 * ur_prep_ops), then submits, waits and reaps as ur_run does. Returns the
 * number of completions reaped into out, or -errno: of the first op that
 * could not be prepared (nothing was submitted or waited for; ur_ops_done
 * says how many were prepared), or of the submit/wait.
 */
int ur_step(int h, const void *ops, unsigned nops, unsigned wait_nr, int timeout_ms, void *out, unsigned max)
{
	int ret = ur_prep_ops(h, ops, nops);

	if (ret < 0)
		return ret;
	return ur_run(h, wait_nr, timeout_ms, out, max);
}

/* 1 when the kernel supports opcode op, 0 when not, -errno when probing failed. */
int ur_probe_op(int op)
{
	struct io_uring_probe *p = io_uring_get_probe();
	int ok;

	if (!p)
		return -ENOSYS;
	ok = io_uring_opcode_supported(p, op);
	io_uring_free_probe(p);
	return ok ? 1 : 0;
}

/* Creates and destroys a ring with these setup flags: 0 when the kernel accepts them. */
int ur_probe_setup(unsigned flags)
{
	struct io_uring ring;
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	if (flags & IORING_SETUP_SQPOLL)
		p.sq_thread_idle = 10;
	ret = io_uring_queue_init_params(4, &ring, &p);
	if (ret < 0)
		return ret;
	io_uring_queue_exit(&ring);
	return 0;
}
