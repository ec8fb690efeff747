/*
 * What every io_uring user here shares (c/uring.c and c/loop_uring.c): getting
 * an SQE, setting a ring up the way liburing's own examples/proxy.c does, and
 * which results of a wait are not errors. Included, not linked: each shim is
 * its own shared library.
 */
#ifndef IOURING_BENCH_URING_SQE_H
#define IOURING_BENCH_URING_SQE_H

#include <errno.h>
#include <liburing.h>
#include <string.h>

/*
 * Gets an SQE, submitting what is queued first when the SQ is full: a burst of
 * more operations than entries then costs one extra io_uring_enter instead of
 * an error the event loop would have to handle. Under SQPOLL the kernel thread
 * consumes entries on its own schedule, so a submit may free nothing: then
 * io_uring_sqring_wait blocks until it has taken some (IORING_ENTER_SQ_WAIT,
 * 5.10+). NULL only when the kernel refused the submit (*err: its -errno) or
 * the SQ is still full (*err = -EBUSY).
 */
static inline struct io_uring_sqe *get_sqe_err(struct io_uring *r, int *err)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	int ret;

	if (sqe)
		return sqe;
	ret = io_uring_submit(r);
	/* -EBUSY/-EAGAIN: the CQ is overflowing; nothing was taken, the caller reaps first. */
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	sqe = io_uring_get_sqe(r);
	if (!sqe && (r->flags & IORING_SETUP_SQPOLL)) {
		ret = io_uring_sqring_wait(r);
		if (ret < 0) {
			*err = ret;
			return NULL;
		}
		sqe = io_uring_get_sqe(r);
	}
	if (!sqe)
		*err = -EBUSY;
	return sqe;
}

static inline struct io_uring_sqe *get_sqe(struct io_uring *r)
{
	int err;

	return get_sqe_err(r, &err);
}

/*
 * A wait that returns one of these has not failed: -ETIME is the timeout,
 * -EINTR a signal, -EAGAIN/-EBUSY the kernel could not take more submissions
 * right now (CQ overflowing, no memory); reaping makes room and what was not
 * submitted goes with the next step.
 */
static inline int wait_ret_is_fatal(int ret)
{
	return ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY;
}

/* How a ring set up by ring_init_tuned ended up; reported to JS as it is. */
struct ring_setup {
	/* IORING_SETUP_* the ring runs with. */
	unsigned flags;
	/* errno of the first flag set the kernel refused (0: the first was taken). */
	int fallback_errno;
	/* 1: ring fd registered (IORING_ENTER_REGISTERED_RING); else -errno of the refusal. */
	int ring_fd_registered;
};

/*
 * Sets r up as liburing's examples/proxy.c does, taking the first flag set the
 * kernel accepts:
 *   SINGLE_ISSUER | DEFER_TASKRUN (6.1+): completion work runs only when this
 *     thread waits, in the same io_uring_enter, never as an interrupting task
 *     work; the ring must then be used by the thread that created it only, and
 *     it must reap with GETEVENTS (every wait here does);
 *   COOP_TASKRUN | TASKRUN_FLAG (5.19+): no IPI to run task work, the kernel
 *     flags it in the SQ ring instead and the next enter runs it;
 *   none.
 * A refused set is -EINVAL (flag unknown to the kernel); anything else (EPERM,
 * ENOMEM) is final. Then registers the ring fd (5.18+), which spares every
 * io_uring_enter an fdget/fdput; a refusal is recorded, not an error.
 */
static inline int ring_init_tuned(struct io_uring *r, unsigned entries, struct ring_setup *out)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	struct io_uring_params p;
	unsigned i;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		ret = io_uring_queue_init_params(entries, r, &p);
		if (ret != -EINVAL)
			break;
		if (!out->fallback_errno)
			out->fallback_errno = EINVAL;
	}
	if (ret < 0)
		return ret;
	out->flags = r->flags;
	ret = io_uring_register_ring_fd(r);
	out->ring_fd_registered = ret == 1 ? 1 : (ret < 0 ? ret : -EIO);
	return 0;
}

#endif
