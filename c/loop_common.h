/*
 * What the two C twin loops share (c/loop_epoll.c, c/loop_uring.c): the
 * types, and the functions of c/loop_common.c (connection buffers, frame
 * processing, the connection table, the handle table, the thread-per-core
 * group). Each loop is its own shared library (only the io_uring one links
 * liburing), and loop_common.c is compiled into both (scripts/setup.sh,
 * SHIM_PARTS) rather than being a third library they would have to find.
 *
 * Each library exports the same functions:
 *
 *   cs_create(lfd, max_frame, max_pending, inject_delay_us) -> handle
 *   cs_run(h, run_ms, stats_out)                           -> events handled in this call
 *   cs_destroy(h)                                          -> 0; every connection closed
 *   cs_stats_bytes()                                       -> sizeof(struct cs_stats)
 *
 * and, for the thread-per-core servers (c-epoll-mt, c-uring-mt), a group of
 * loops each on its own thread, listener and CPU:
 *
 *   cs_mt_start(lfds, cpus, n, max_frame, max_pending, inject_delay_us) -> group
 *   cs_mt_stats(g, sum_out, per_thread_out)                 -> threads, or the first loop's -errno
 *   cs_mt_stop(g)                                           -> 0 or the first loop's -errno
 *
 * All state (connections, buffers, the epoll fd or the ring) lives in the
 * handle and persists across cs_run calls. The listening fd stays the caller's:
 * it is neither closed here nor made non-blocking (net_listen already did).
 * Every function returns >= 0 or -errno and never prints or exits.
 */
#ifndef IOURING_BENCH_LOOP_COMMON_H
#define IOURING_BENCH_LOOP_COMMON_H

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"

#define CS_MAX_SERVERS 16

/* The same sizes as bench/server/core.ts, so both twins hand the kernel the same lengths. */
#define MIN_CONN_BUFFER (16 * 1024)
#define READ_CHUNK (8 * 1024)
#define HEADER_BYTES 4

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
	/* uring: the loop step whose io_uring_enter submits the send in flight. */
	uint64_t send_step;
	unsigned char want_write, eof, recv_armed, send_armed, closing;
	/* uring: the last send did not complete in the step that submitted it. */
	unsigned char send_slow;
};

/* The part of a server both loops have; each loop's own struct starts with it. */
struct cs_base {
	int lfd, max_frame;
	long max_pending;
	/* Fault injection: ns to spin before answering each frame (0: none). */
	int64_t delay_ns;
	/* A failure the loop cannot recover from (no SQE even after submitting); sticky. */
	int err;
	struct cs_stats st;
	/* epoll: indexed by fd; uring: indexed by slot. */
	struct conn **conns;
	unsigned cap;
	/*
	 * uring only (has_ring = 1): how the ring was set up, for cs_ring_info:
	 * IORING_SETUP_* in use, errno of a refused flag set (0: none), 1 when the
	 * ring fd is registered or the -errno of its refusal.
	 */
	int has_ring;
	int32_t ring_flags, ring_fallback_errno, ring_fd_registered;
};

/* How long accepting pauses when out of descriptors, unless a connection closes first. */
#define ACCEPT_PAUSE_MS 10

/*
 * accept() errors that say the process or the system is out of descriptors or
 * memory: the connection stays queued, so an accept retried at once fails the
 * same way; the loops wait for a descriptor to be freed instead.
 */
static inline int accept_out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static inline void set_nodelay(int fd)
{
	int one = 1;

	/* Failing only costs latency, like net.setNoDelay in the TS loops would have thrown on: ignore. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* What a loop supplies: its server struct (starting with struct cs_base) and three steps. */
struct loop_ops {
	size_t size;
	int (*init)(struct cs_base *s);
	/* One step: wait at most timeout_ms, handle what came; the count handled or -errno. */
	int (*step)(struct cs_base *s, int timeout_ms);
	/* Closes every connection and frees the loop's own resources (not s itself, not s->conns). */
	void (*fini)(struct cs_base *s);
};

/*
 * The shared part, in c/loop_common.c (linked into both loop libraries;
 * hidden: only the loops call it, and each library keeps its own tables).
 */
#define CS_HIDDEN __attribute__((visibility("hidden")))

CS_HIDDEN long ibuf_prepare(struct ibuf *b, int max_frame);
CS_HIDDEN void obuf_consume(struct obuf *b, size_t n);
CS_HIDDEN void obuf_shrink_if_idle(struct obuf *b);
CS_HIDDEN struct conn *conn_new(int fd, int with_flight);
CS_HIDDEN void conn_free(struct conn *c);
CS_HIDDEN int process_frames(struct cs_base *s, struct conn *c);
CS_HIDDEN int table_fit(struct cs_base *s, unsigned i);
CS_HIDDEN int cs_create_with(const struct loop_ops *ops, int lfd, int max_frame, long max_pending, int inject_delay_us);
CS_HIDDEN int cs_run_with(const struct loop_ops *ops, int h, int run_ms, void *stats_out);
CS_HIDDEN int cs_destroy_with(const struct loop_ops *ops, int h);
CS_HIDDEN int cs_mt_start_with(const struct loop_ops *ops, const int32_t *lfds, const int32_t *cpus, int n, int max_frame, long max_pending, int inject_delay_us);

#endif
