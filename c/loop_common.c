/*
 * What the two C twin loops share (c/loop_epoll.c, c/loop_uring.c), compiled
 * into each of their libraries (scripts/setup.sh: SHIM_PARTS): connection
 * buffers, frame processing, the connection table, the handle table behind
 * the exported functions, and the thread-per-core group. The tables are
 * static, so each library has its own: epoll handles and uring handles are
 * separate. Every function returns >= 0 or -errno and never prints or exits.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "affinity.h"
#include "loop_common.h"

/*
 * Fault injection (serve --inject-delay-us): spins for ns on CLOCK_MONOTONIC.
 * A spin, not a sleep: a sleep would let the CPU idle and change the wake-up
 * pattern the benchmark measures, where a slow handler keeps it busy.
 */
static void busy_wait_ns(int64_t ns)
{
	int64_t end = now_ns() + ns;

	while (now_ns() < end)
		;
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
long ibuf_prepare(struct ibuf *b, int max_frame)
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
void obuf_consume(struct obuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
}

/* Gives back an oversized buffer once empty, so one huge frame does not pin memory. */
void obuf_shrink_if_idle(struct obuf *b)
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

/* with_flight: the uring loop's second output buffer (the one a send is in flight from). */
struct conn *conn_new(int fd, int with_flight)
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

void conn_free(struct conn *c)
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
int process_frames(struct cs_base *s, struct conn *c)
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
		if (s->delay_ns)
			busy_wait_ns(s->delay_ns);
		dst = obuf_reserve(&c->out, len);
		if (!dst)
			return -ENOMEM;
		memcpy(dst, c->in.p + c->in.start, len);
		c->in.start += len;
		s->st.frames++;
	}
}

/* Grows the connection table so that index i fits. */
int table_fit(struct cs_base *s, unsigned i)
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


/* ---- the handle table and the exported trio, over one loop's operations ---- */


/* One table per library: handles of the epoll and the uring library are separate. */
static struct cs_base *servers[CS_MAX_SERVERS];

/* The longest injected delay accepted: one second per frame is already a hung server. */
#define MAX_DELAY_US 1000000

/*
 * lfd: a listening socket (non-blocking, as net_listen makes it; the epoll
 * loop drains accept until EAGAIN). A frame whose length prefix exceeds
 * max_frame closes its connection; so does holding more than max_pending
 * unsent bytes. inject_delay_us > 0 spins that long before answering each
 * frame (fault injection). Returns a handle >= 0.
 */
static int cs_new(const struct loop_ops *ops, int lfd, int max_frame, long max_pending, int inject_delay_us, struct cs_base **out)
{
	struct cs_base *s;
	int ret;

	if (lfd < 0 || max_frame < 0 || max_pending < 0 || inject_delay_us < 0 || inject_delay_us > MAX_DELAY_US)
		return -EINVAL;
	s = calloc(1, ops->size);
	if (!s)
		return -ENOMEM;
	s->lfd = lfd;
	s->max_frame = max_frame;
	s->max_pending = max_pending;
	s->delay_ns = (int64_t)inject_delay_us * 1000;
	ret = ops->init(s);
	if (ret < 0) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

static void cs_free(const struct loop_ops *ops, struct cs_base *s)
{
	ops->fini(s);
	free(s->conns);
	free(s);
}

int cs_create_with(const struct loop_ops *ops, int lfd, int max_frame, long max_pending, int inject_delay_us)
{
	struct cs_base *s;
	int h, ret;

	for (h = 0; h < CS_MAX_SERVERS; h++)
		if (!servers[h])
			break;
	if (h == CS_MAX_SERVERS)
		return -EMFILE;
	ret = cs_new(ops, lfd, max_frame, max_pending, inject_delay_us, &s);
	if (ret < 0)
		return ret;
	servers[h] = s;
	return h;
}

static struct cs_base *server_of(int h)
{
	if (h < 0 || h >= CS_MAX_SERVERS)
		return NULL;
	return servers[h];
}

/*
 * Runs the loop for about run_ms (0: one step without waiting), then writes
 * the counters (struct cs_stats) to stats_out when it is not NULL. Returning
 * every few ms lets the JS thread run its signal handlers and stop().
 * Returns the number of events or completions handled, or -errno when the
 * loop cannot go on (the handle then only accepts cs_destroy).
 */
static int cs_run_server(const struct loop_ops *ops, struct cs_base *s, int run_ms, void *stats_out)
{
	int64_t deadline, total = 0;
	int ret = 0;

	if (run_ms < 0)
		run_ms = 0;
	deadline = now_ms() + run_ms;
	while (!s->err) {
		int64_t left = deadline - now_ms();

		if (left < 0)
			left = 0;
		ret = ops->step(s, (int)left);
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

int cs_run_with(const struct loop_ops *ops, int h, int run_ms, void *stats_out)
{
	struct cs_base *s = server_of(h);

	if (!s)
		return -EBADF;
	return cs_run_server(ops, s, run_ms, stats_out);
}

/*
 * Exported from both libraries (defined here rather than in each loop, so the
 * symbol tables of ffi/cserver.ts stay one): writes three int32 to out, the
 * IORING_SETUP_* flags the ring runs with, the errno of a flag set the kernel
 * refused before (0: none), and 1 when the ring fd is registered or the
 * -errno of that refusal. -EOPNOTSUPP for a loop without a ring (epoll).
 */
int cs_ring_info(int h, void *out);
int cs_ring_info(int h, void *out)
{
	struct cs_base *s = server_of(h);
	int32_t *o = out;

	if (!s)
		return -EBADF;
	if (!s->has_ring)
		return -EOPNOTSUPP;
	o[0] = s->ring_flags;
	o[1] = s->ring_fallback_errno;
	o[2] = s->ring_fd_registered;
	return 0;
}

/* Closes every connection and frees the handle; the listening fd is left to the caller. */
int cs_destroy_with(const struct loop_ops *ops, int h)
{
	struct cs_base *s = server_of(h);

	if (!s)
		return -EBADF;
	cs_free(ops, s);
	servers[h] = NULL;
	return 0;
}

/* ---- thread-per-core: a group of loops, one per thread, listener and CPU ---- */

/*
 * Each thread owns its loop from creation to teardown: a ring set up with
 * SINGLE_ISSUER|DEFER_TASKRUN may only be entered (and waited on, teardown
 * included) by the thread that created it, so the loop is created, run and
 * freed on its own thread. Each listens on its own SO_REUSEPORT socket: the
 * kernel spreads connections over the listeners by the 4-tuple's hash, and no
 * accept is shared, so no loop wakes for another's connection (a shared
 * listener would wake every loop waiting on it: the epoll herd).
 */
#define CS_MAX_GROUPS 4
#define CS_MAX_THREADS 256
/* The longest a loop waits in one step: how late it sees the stop flag. */
#define CS_MT_STEP_MS 20

struct cs_thread {
	const struct loop_ops *ops;
	pthread_t tid;
	int index, lfd, cpu, max_frame, inject_delay_us;
	long max_pending;
	int started;
	/* Set once by the thread under the group's lock: 1 running, or the -errno of its set-up. */
	int ready;
	/* Sticky -errno of the loop (0: running or stopped cleanly), under lock. */
	int err;
	const int *stop;
	pthread_mutex_t *group_lock;
	pthread_cond_t *cond;
	/*
	 * The loop's own lock: it publishes its counters after every step, so a
	 * reader sees them as of the last step (a stats line taken right after a
	 * measurement counts all of it); uncontended but for the reader's look.
	 */
	pthread_mutex_t lock;
	struct cs_stats snap;
};

struct cs_group {
	int n;
	/* Written by the JS thread, read by every loop after each step. */
	int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cs_thread t[];
};

/* Only the calling (JS) thread touches this table. */
static struct cs_group *groups[CS_MAX_GROUPS];

static void *cs_mt_main(void *arg)
{
	struct cs_thread *t = arg;
	struct cs_base *s = NULL;
	char name[16];
	int ret = 0;

	/* Named for top -H and perf: "loop 3" is the fourth loop. */
	snprintf(name, sizeof(name), "loop %d", t->index);
	pthread_setname_np(pthread_self(), name);
	if (t->cpu >= 0)
		ret = pin_thread(0, t->cpu);
	if (ret == 0)
		ret = cs_new(t->ops, t->lfd, t->max_frame, t->max_pending, t->inject_delay_us, &s);
	pthread_mutex_lock(t->group_lock);
	t->ready = ret < 0 ? ret : 1;
	pthread_cond_broadcast(t->cond);
	pthread_mutex_unlock(t->group_lock);
	if (ret < 0)
		return NULL;
	while (!__atomic_load_n(t->stop, __ATOMIC_ACQUIRE)) {
		ret = t->ops->step(s, CS_MT_STEP_MS);
		pthread_mutex_lock(&t->lock);
		t->snap = s->st;
		if (ret < 0)
			t->err = ret;
		pthread_mutex_unlock(&t->lock);
		if (ret < 0)
			break;
	}
	cs_free(t->ops, s);
	return NULL;
}

/* Stops and joins every started thread of g and frees it; returns the first loop error. */
static int cs_mt_teardown(struct cs_group *g)
{
	int i, err = 0;

	__atomic_store_n(&g->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < g->n; i++) {
		if (!g->t[i].started)
			continue;
		pthread_join(g->t[i].tid, NULL);
		if (!err && g->t[i].err)
			err = g->t[i].err;
	}
	for (i = 0; i < g->n; i++)
		pthread_mutex_destroy(&g->t[i].lock);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
	return err;
}

/*
 * lfds: n listening sockets (SO_REUSEPORT on one port, non-blocking), one per
 * loop; cpus: n CPUs to pin each loop's thread to (-1: not pinned). Returns
 * when every loop is serving, or fails as a whole: the first set-up -errno
 * (EINVAL for a CPU outside this process's set), no thread left running.
 * The listeners stay the caller's.
 */
int cs_mt_start_with(const struct loop_ops *ops, const int32_t *lfds, const int32_t *cpus, int n, int max_frame, long max_pending, int inject_delay_us)
{
	struct cs_group *g;
	int h, i, ret = 0;

	if (!lfds || !cpus || n < 1 || n > CS_MAX_THREADS)
		return -EINVAL;
	for (h = 0; h < CS_MAX_GROUPS; h++)
		if (!groups[h])
			break;
	if (h == CS_MAX_GROUPS)
		return -EMFILE;
	g = calloc(1, sizeof(*g) + (size_t)n * sizeof(g->t[0]));
	if (!g)
		return -ENOMEM;
	g->n = n;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	for (i = 0; i < n; i++) {
		struct cs_thread *t = &g->t[i];

		*t = (struct cs_thread){ .ops = ops, .index = i, .lfd = lfds[i], .cpu = cpus[i], .max_frame = max_frame, .max_pending = max_pending, .inject_delay_us = inject_delay_us, .stop = &g->stop, .group_lock = &g->lock, .cond = &g->cond };
		pthread_mutex_init(&t->lock, NULL);
		ret = -pthread_create(&t->tid, NULL, cs_mt_main, t);
		if (ret < 0)
			break;
		t->started = 1;
	}
	/* Wait for every started loop to be serving or to have failed. */
	pthread_mutex_lock(&g->lock);
	for (i = 0; i < n && g->t[i].started; i++) {
		while (!g->t[i].ready)
			pthread_cond_wait(&g->cond, &g->lock);
		if (!ret && g->t[i].ready < 0)
			ret = g->t[i].ready;
	}
	pthread_mutex_unlock(&g->lock);
	if (ret < 0) {
		cs_mt_teardown(g);
		return ret;
	}
	groups[h] = g;
	return h;
}

/*
 * Writes the counters summed over the loops to sum_out (struct cs_stats) and,
 * when per_thread_out is not NULL, each loop's to n consecutive structs, as of
 * each loop's last step. Returns the number of
 * loops, or the first loop's -errno once one has failed (the others go on).
 */
int cs_mt_stats(int g, void *sum_out, void *per_thread_out);
int cs_mt_stats(int h, void *sum_out, void *per_thread_out)
{
	struct cs_group *g = h >= 0 && h < CS_MAX_GROUPS ? groups[h] : NULL;
	struct cs_stats sum = { 0 };
	int i, err = 0;

	if (!g || !sum_out)
		return g ? -EINVAL : -EBADF;
	for (i = 0; i < g->n; i++) {
		struct cs_stats x_copy;
		const struct cs_stats *x = &x_copy;
		int e;

		pthread_mutex_lock(&g->t[i].lock);
		x_copy = g->t[i].snap;
		e = g->t[i].err;
		pthread_mutex_unlock(&g->t[i].lock);

		sum.connections += x->connections;
		sum.active += x->active;
		sum.frames += x->frames;
		sum.bytes_in += x->bytes_in;
		sum.bytes_out += x->bytes_out;
		sum.oversize += x->oversize;
		sum.overflow += x->overflow;
		sum.io_errors += x->io_errors;
		if (per_thread_out)
			memcpy((struct cs_stats *)per_thread_out + i, x, sizeof(*x));
		if (!err && e)
			err = e;
	}
	memcpy(sum_out, &sum, sizeof(sum));
	return err ? err : g->n;
}

/* Stops every loop (each closes its connections on its own thread) and joins them; the listeners stay the caller's. */
int cs_mt_stop(int g);
int cs_mt_stop(int h)
{
	struct cs_group *g = h >= 0 && h < CS_MAX_GROUPS ? groups[h] : NULL;

	if (!g)
		return -EBADF;
	groups[h] = NULL;
	return cs_mt_teardown(g);
}

