/*
 * Getting an SQE, written once for every io_uring user here (c/uring.c and
 * c/loop_uring.c). Included, not linked: each shim is its own shared library.
 */
#ifndef IOURING_BENCH_URING_SQE_H
#define IOURING_BENCH_URING_SQE_H

#include <liburing.h>

/*
 * Gets an SQE, submitting what is queued first when the SQ is full: a burst of
 * more operations than entries then costs one extra io_uring_enter instead of
 * an error the event loop would have to handle. NULL only when even that
 * fails; callers turn it into -EBUSY.
 */
static inline struct io_uring_sqe *get_sqe(struct io_uring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);

	if (!sqe) {
		io_uring_submit(r);
		sqe = io_uring_get_sqe(r);
	}
	return sqe;
}

#endif
