/*
 * Load client in C: epoll loops over many non-blocking connections, run with
 * one FFI call per measurement: no JS runs per request, so what the client
 * costs is the kernel's socket work and little else (bench/clients/load.ts is
 * the TypeScript twin, which runs JS per answer and can be the bottleneck).
 * On loopback a send also runs the peer's TCP receive path, so against a
 * server making the same calls per request one client thread is about as busy
 * as the server: check each thread's CPU before reading a throughput as the
 * server's, or spread the load over more threads on other CPUs.
 *
 * With one thread and no CPU to pin it to, the loop runs on the calling
 * thread. With more (or a CPU), each call starts one thread per shard, each
 * pinned to its CPU and owning its connections (split as evenly as they go)
 * and its own epoll set; the calling thread starts them together, waits for
 * all to finish and returns: still one call per measurement, and no thread
 * outlives it. Nothing calls back into JS from these threads.
 *
 *   lg_create_threads(host, port, connections, max_payload, max_window, timeout_ms,
 *                     threads, cpus, ncpus) -> handle   (lg_create: 1 thread, no CPU)
 *   lg_closed(h, payload, window, warmup_ns, duration_ns, result, lat_ns, cap)            -> 0
 *   lg_open(h, payload, rate_per_s, warmup_ns, duration_ns, result, lat_ns, lag_ns, cap)  -> 0
 *   lg_destroy(h) -> 0;  lg_threads(h);  lg_cpu_usable(cpu);
 *   lg_result_bytes() -> sizeof(struct lg_result);  thread_cpu_ns()
 *
 * result holds 1 + threads struct lg_result: [0] the whole client (sums;
 * elapsed_ns and max_lag_ns the largest), [1 + i] thread i alone.
 * A request belongs to the measured interval [t0 + warmup, t0 + warmup + duration)
 * when it was written (closed loop) or due (open loop) inside it; `completed`
 * counts those answered and verified, some during the drain that ends every
 * call (each thread drains its own), so a clean run has sent == completed in
 * every thread and leaves every connection idle. Thread i writes its samples
 * into its slice of the sample buffers, [i * cap / threads, (i + 1) * cap /
 * threads) rounded down: its first `samples` latencies (answer time minus
 * write or intended time), and one send lag per measured request written,
 * min(sent, slice) of them. The open loop's schedule is the whole client's
 * (request j due at t0 + j / rate); thread i sends the requests j with
 * j mod threads == i. Every answer is checked byte for byte. Every function
 * returns >= 0 or -errno and never prints or exits. Not thread-safe: one
 * thread uses a handle at a time.
 *
 * Build: scripts/setup.sh (gcc -O2 -fPIC -shared c/loadgen.c -o build/loadgen.so)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include "affinity.h"
#include "clock.h"
#include <unistd.h>

#define LG_MAX_HANDLES 64
#define LG_MAX_CONNECTIONS 65536
#define LG_MAX_PAYLOAD (1 << 24)
#define LG_MAX_WINDOW 65536
#define LG_MAX_EVENTS 4096
#define LG_MAX_THREADS 256
#define HDR 4
/* A day: warm-up and duration beyond it are a unit mistake, and t0 + both must not overflow. */
#define LG_MAX_SPAN_NS (86400LL * 1000000000LL)
/*
 * Open loop: the last stretch before a send is due is spent polling, not
 * sleeping: a timed wake-up on this VM is typically 10-30 us late.
 */
#define SPIN_NS 50000

struct lg_result {
	int64_t sent, completed, elapsed_ns, client_cpu_ns, samples, mismatch, closed, timeouts,
		io_errors, overflow, max_lag_ns, total_completed, dead_connections;
	/* The CPU the thread was on when it finished (sched_getcpu; shows its pinning held); -1 in the whole client's record. */
	int64_t last_cpu;
};

struct conn {
	int fd;
	unsigned char dead, want_out, dirty;
	/* Next sequence number to send, next one expected back (answers come in order). */
	uint32_t sent, done;
	/* Open loop: the first request queued in this round, for its lag. */
	uint32_t batch_from;
	uint8_t *in, *out;
	size_t iend, olen;
	/* A whole frame of max_payload: length, a sequence placeholder, this connection's pattern. */
	uint8_t *tmpl;
	/* Per request in flight (seq & ring_mask): write time (closed) or intended time (open). */
	int64_t *ts;
};

/* What one thread drives: its connections (a slice of the handle's; epoll tags index it) and its epoll set. */
struct shard {
	int epfd, nconn, nevents;
	/* The CPU its thread is pinned to; -1: not pinned. */
	int cpu;
	struct conn *conns;
	int *dirty;
	struct epoll_event *events;
};

struct lg;

/* Where the calling thread releases the workers together, once every one is pinned. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;
	/* 0: wait; 1: run from t0; -1: give up (a thread could not be started or pinned). */
	int go;
	int64_t t0;
};

/* One lg_closed / lg_open call's arguments. */
struct params {
	int payload, window;
	double rate;
	int64_t warmup_ns, duration_ns;
};

/* One thread's share of a call. */
struct worker {
	struct lg *g;
	struct shard *s;
	const struct params *p;
	struct gate *gate;
	struct lg_result *r;
	uint32_t *lat, *lag;
	int64_t cap;
	int thread, pin_err;
	pthread_t tid;
};

struct lg {
	int nconn, max_payload, max_window, timeout_ms, nthreads;
	/* The in-flight times ring per connection: a power of two >= max_window, indexed by seq & ring_mask. */
	uint32_t ring_mask;
	size_t buf_bytes;
	struct conn *conns;
	uint8_t *arena, *tmpls;
	int64_t *ts;
	int *dirty;
	struct epoll_event *events;
	struct shard *shards;
	struct worker *workers;
};

/* What one thread's share of an lg_closed / lg_open call needs at hand. */
struct run {
	struct lg *g;
	struct shard *s;
	struct lg_result *r;
	int payload, window, open, thread, nthreads;
	size_t frame;
	int64_t ms, me, last_progress, outstanding, live, nlag, cap;
	uint32_t *lat, *lag;
};

static struct lg *handles[LG_MAX_HANDLES];


int lg_result_bytes(void)
{
	return (int)sizeof(struct lg_result);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int fill_addr(const char *host, int port, struct sockaddr_in *sa)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

/*
 * A blocking connect bounded by timeout_ms: started non-blocking and waited
 * for with poll(), since a plain connect() to a silent host waits minutes.
 */
static int connect_one(const struct sockaddr_in *sa, int timeout_ms)
{
	int fd, one = 1, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		p.fd = fd;
		p.events = POLLOUT;
		int n;
		do
			n = poll(&p, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			err = n == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -err;
}

static void lg_free(struct lg *g)
{
	int i;

	if (g->conns)
		for (i = 0; i < g->nconn; i++)
			if (g->conns[i].fd >= 0)
				close(g->conns[i].fd);
	if (g->shards)
		for (i = 0; i < g->nthreads; i++)
			if (g->shards[i].epfd >= 0)
				close(g->shards[i].epfd);
	free(g->shards);
	free(g->workers);
	free(g->conns);
	free(g->arena);
	free(g->tmpls);
	free(g->ts);
	free(g->dirty);
	free(g->events);
	free(g);
}

/* Per-connection payload bytes: differ between connections, so a crossed stream is a mismatch. */
static void fill_pattern(uint8_t *p, int n, int conn)
{
	uint32_t x = 2654435761u * (uint32_t)(conn + 1);
	int j;

	for (j = 0; j < n; j++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[j] = (uint8_t)x;
	}
}

/*
 * Splits the connections into nthreads shards, as evenly as they go (the
 * first ones get one more), each with its own epoll set and its own share of
 * the event and dirty arrays.
 */
static int make_shards(struct lg *g, const int *cpus, int ncpus)
{
	int i, from = 0, base = g->nconn / g->nthreads, extra = g->nconn % g->nthreads, nev = 0;

	g->shards = calloc((size_t)g->nthreads, sizeof(*g->shards));
	if (!g->shards)
		return -ENOMEM;
	for (i = 0; i < g->nthreads; i++)
		g->shards[i].epfd = -1;
	g->workers = calloc((size_t)g->nthreads, sizeof(*g->workers));
	if (!g->workers)
		return -ENOMEM;
	for (i = 0; i < g->nthreads; i++) {
		struct shard *s = &g->shards[i];

		s->nconn = base + (i < extra);
		s->conns = g->conns + from;
		s->dirty = g->dirty + from;
		s->nevents = s->nconn < LG_MAX_EVENTS ? s->nconn : LG_MAX_EVENTS;
		s->cpu = ncpus > 0 ? cpus[i % ncpus] : -1;
		from += s->nconn;
		nev += s->nevents;
	}
	g->events = malloc(sizeof(struct epoll_event) * (size_t)nev);
	if (!g->events)
		return -ENOMEM;
	for (i = 0, nev = 0; i < g->nthreads; i++) {
		g->shards[i].events = g->events + nev;
		nev += g->shards[i].nevents;
		g->shards[i].epfd = epoll_create1(EPOLL_CLOEXEC);
		if (g->shards[i].epfd < 0)
			return -errno;
	}
	return 0;
}

int lg_create_threads(const char *host, int port, int connections, int max_payload, int max_window, int timeout_ms,
		      int threads, const int *cpus, int ncpus)
{
	struct sockaddr_in sa;
	struct lg *g;
	size_t tmpl_bytes;
	uint32_t ring = 1;
	int i, k, slot, ret;

	if (!host || port <= 0 || port > 65535 || connections < 1 || connections > LG_MAX_CONNECTIONS ||
	    max_payload < HDR || max_payload > LG_MAX_PAYLOAD || max_window < 1 || max_window > LG_MAX_WINDOW ||
	    timeout_ms < 1 || threads < 1 || threads > LG_MAX_THREADS || threads > connections || ncpus < 0 ||
	    (ncpus > 0 && !cpus))
		return -EINVAL;
	for (i = 0; i < ncpus; i++)
		if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE)
			return -EINVAL;
	ret = fill_addr(host, port, &sa);
	if (ret < 0)
		return ret;
	for (slot = 0; slot < LG_MAX_HANDLES && handles[slot]; slot++)
		;
	if (slot == LG_MAX_HANDLES)
		return -EMFILE;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->nconn = connections;
	g->nthreads = threads;
	g->max_payload = max_payload;
	g->max_window = max_window;
	g->timeout_ms = timeout_ms;
	while (ring < (uint32_t)max_window)
		ring <<= 1;
	g->ring_mask = ring - 1;
	g->buf_bytes = (size_t)max_window * (HDR + (size_t)max_payload);
	tmpl_bytes = HDR + (size_t)max_payload;
	g->conns = calloc((size_t)connections, sizeof(*g->conns));
	if (g->conns)
		for (i = 0; i < connections; i++)
			g->conns[i].fd = -1;
	/* One arena for every in/out buffer: pages a run never touches cost nothing. */
	g->arena = malloc(2 * g->buf_bytes * (size_t)connections);
	g->tmpls = malloc(tmpl_bytes * (size_t)connections);
	g->ts = malloc(sizeof(int64_t) * (size_t)ring * (size_t)connections);
	g->dirty = malloc(sizeof(int) * (size_t)connections);
	if (!g->conns || !g->arena || !g->tmpls || !g->ts || !g->dirty) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = make_shards(g, cpus, ncpus);
	if (ret < 0)
		goto fail;
	for (k = 0, i = 0; k < threads; k++) {
		struct shard *s = &g->shards[k];
		int j;

		for (j = 0; j < s->nconn; j++, i++) {
			struct conn *c = &g->conns[i];
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)j };

			c->in = g->arena + 2 * g->buf_bytes * (size_t)i;
			c->out = c->in + g->buf_bytes;
			c->tmpl = g->tmpls + tmpl_bytes * (size_t)i;
			c->ts = g->ts + (size_t)ring * (size_t)i;
			fill_pattern(c->tmpl + HDR, max_payload, i);
			ret = connect_one(&sa, timeout_ms);
			if (ret < 0)
				goto fail;
			c->fd = ret;
			if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
				ret = -errno;
				goto fail;
			}
		}
	}
	handles[slot] = g;
	return slot;
fail:
	lg_free(g);
	return ret;
}

int lg_create(const char *host, int port, int connections, int max_payload, int max_window, int timeout_ms)
{
	return lg_create_threads(host, port, connections, max_payload, max_window, timeout_ms, 1, NULL, 0);
}

int lg_threads(int h)
{
	if (h < 0 || h >= LG_MAX_HANDLES || !handles[h])
		return -EBADF;
	return handles[h]->nthreads;
}

static void *try_pin(void *arg)
{
	int *cpu_and_result = arg;

	cpu_and_result[1] = pin_thread(0, cpu_and_result[0]);
	return NULL;
}

/*
 * 0 when a thread of this process may be pinned to cpu, else -errno (EINVAL:
 * no such CPU, or not in this process's cpuset). Tried on a thread of its own,
 * since the calling thread may be pinned narrower than the process may run.
 */
int lg_cpu_usable(int cpu)
{
	pthread_t t;
	sigset_t all, old;
	int arg[2] = { cpu, 0 }, ret;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	/* As run_threads does: no signal handler may run on this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t, NULL, try_pin, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_join(t, NULL);
	return arg[1];
}

int lg_destroy(int h)
{
	if (h < 0 || h >= LG_MAX_HANDLES || !handles[h])
		return -EBADF;
	lg_free(handles[h]);
	handles[h] = NULL;
	return 0;
}

/* ---- the loop ---- */

static inline int measured(const struct run *x, int64_t t)
{
	return t >= x->ms && t < x->me;
}

static inline uint32_t sat_u32(int64_t v)
{
	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Closes a failed connection; what it had in flight is lost (sent, never completed). */
static void conn_kill(struct run *x, struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	x->outstanding -= (int64_t)(c->sent - c->done);
	x->live--;
	/* close() also takes it out of the epoll set. */
	close(c->fd);
	c->fd = -1;
	c->olen = c->iend = 0;
}

static void set_want_out(struct run *x, struct conn *c, int want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - x->s->conns) };

	if (c->want_out == want)
		return;
	c->want_out = (unsigned char)want;
	if (epoll_ctl(x->s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		x->r->io_errors++;
		conn_kill(x, c);
	}
}

/* One send of everything queued; the rest waits for EPOLLOUT (rare: a window is far below the socket buffer). */
static void conn_flush(struct run *x, struct conn *c)
{
	while (c->olen > 0) {
		ssize_t n = send(c->fd, c->out, c->olen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			x->r->io_errors++;
			conn_kill(x, c);
			return;
		}
		if ((size_t)n < c->olen)
			memmove(c->out, c->out + n, c->olen - (size_t)n);
		c->olen -= (size_t)n;
	}
	set_want_out(x, c, c->olen > 0);
}

/* Appends request c->sent to the out buffer; t is its write or intended time. */
static inline void conn_queue(struct run *x, struct conn *c, int64_t t)
{
	uint8_t *f = c->out + c->olen;

	memcpy(f, c->tmpl, x->frame);
	put_be32(f + HDR, c->sent);
	c->ts[c->sent & x->g->ring_mask] = t;
	if (x->outstanding == 0)
		x->last_progress = t; /* the no-progress clock starts with something to wait for */
	c->sent++;
	c->olen += x->frame;
	x->outstanding++;
	if (measured(x, t))
		x->r->sent++;
}

/* Closed loop: tops the connection's window up, in one write. */
static void conn_refill(struct run *x, struct conn *c, int64_t now)
{
	if (c->dead || now >= x->me)
		return;
	while (c->sent - c->done < (uint32_t)x->window)
		conn_queue(x, c, now);
	conn_flush(x, c);
}

/*
 * Completes every whole frame in c->in. A length prefix other than the payload
 * size, or an answer to nothing, desynchronises the stream: the connection is
 * dropped. A wrong payload is only counted (the framing still holds).
 */
static void conn_parse(struct run *x, struct conn *c, int64_t now)
{
	const uint8_t *p = c->in;
	size_t s = 0, e = c->iend, frame = x->frame;
	int answered = 0;

	while (e - s >= HDR) {
		if (be32(p + s) != (uint32_t)x->payload || c->done == c->sent) {
			x->r->mismatch++;
			conn_kill(x, c);
			return;
		}
		if (e - s < frame)
			break;
		uint32_t seq = c->done++;
		int64_t t = c->ts[seq & x->g->ring_mask];

		x->outstanding--;
		answered = 1;
		if (be32(p + s + HDR) != seq || memcmp(p + s + 2 * HDR, c->tmpl + 2 * HDR, (size_t)x->payload - HDR) != 0) {
			x->r->mismatch++;
		} else {
			x->r->total_completed++;
			if (measured(x, t)) {
				x->r->completed++;
				if (x->r->samples < x->cap)
					x->lat[x->r->samples++] = sat_u32(now - t);
			}
		}
		s += frame;
	}
	if (answered)
		x->last_progress = now;
	/* Less than one frame is left: moving it to the front keeps a whole window of room after it. */
	if (s > 0 && s < e)
		memmove(c->in, c->in + s, e - s);
	c->iend = e - s;
}

/* Reads what the buffer holds, completes answers; closed loop: refills the window. */
static void conn_read(struct run *x, struct conn *c)
{
	for (;;) {
		size_t room = x->g->buf_bytes - c->iend;
		ssize_t n = recv(c->fd, c->in + c->iend, room, MSG_DONTWAIT);
		int64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			x->r->io_errors++;
			conn_kill(x, c);
			return;
		}
		if (n == 0) {
			x->r->closed++;
			conn_kill(x, c);
			return;
		}
		now = now_ns();
		c->iend += (size_t)n;
		conn_parse(x, c, now);
		if (c->dead)
			return;
		if (!x->open)
			conn_refill(x, c, now);
		if ((size_t)n < room || c->dead)
			return;
	}
}

/* Nothing answered for timeout_ms: connections still owed answers cannot be reused cleanly. */
static void time_out(struct run *x)
{
	int i;

	x->r->timeouts = 1;
	for (i = 0; i < x->s->nconn; i++) {
		struct conn *c = &x->s->conns[i];

		if (!c->dead && c->sent != c->done)
			conn_kill(x, c);
	}
}

/*
 * Open loop: queues every request due by now, then writes each connection's
 * batch once. Returns when the next request is due, INT64_MAX once the
 * schedule (every due time before the end of the interval) is done. *next
 * counts this thread's requests; its k-th is the client's request
 * k * nthreads + thread, on its connection k mod nconn.
 */
static int64_t send_due(struct run *x, int64_t t0, double gap, int64_t *next, int64_t now)
{
	struct lg *g = x->g;
	struct shard *sh = x->s;
	int64_t due;
	int nd = 0, i;

	for (;;) {
		struct conn *c;

		due = t0 + (int64_t)((double)(*next * x->nthreads + x->thread) * gap);
		if (due >= x->me || due > now)
			break;
		c = &sh->conns[*next % sh->nconn];
		(*next)++;
		if (c->dead)
			continue;
		if (c->sent - c->done >= (uint32_t)g->max_window) {
			x->r->overflow++;
			continue;
		}
		if (!c->dirty) {
			c->dirty = 1;
			c->batch_from = c->sent;
			sh->dirty[nd++] = (int)(c - sh->conns);
		}
		conn_queue(x, c, due);
	}
	for (i = 0; i < nd; i++) {
		struct conn *c = &sh->conns[sh->dirty[i]];
		int64_t t = now_ns();
		uint32_t s;

		c->dirty = 0;
		for (s = c->batch_from; s != c->sent; s++) {
			int64_t due = c->ts[s & g->ring_mask], lag = t - due;

			if (!measured(x, due))
				continue;
			if (lag > x->r->max_lag_ns)
				x->r->max_lag_ns = lag;
			if (x->nlag < x->cap)
				x->lag[x->nlag++] = sat_u32(lag);
		}
		conn_flush(x, c);
	}
	return due >= x->me ? INT64_MAX : due;
}

static void run_events(struct run *x, int64_t wait_ns)
{
	struct timespec ts = { .tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000 };
	int n = epoll_pwait2(x->s->epfd, x->s->events, x->s->nevents, &ts, NULL), i;

	for (i = 0; i < n; i++) {
		struct conn *c = &x->s->conns[x->s->events[i].data.u32];
		uint32_t ev = x->s->events[i].events;

		if (c->dead)
			continue;
		if (ev & EPOLLOUT)
			conn_flush(x, c);
		if (!c->dead && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			conn_read(x, c);
	}
}

/*
 * One thread's share of a call, both loops: warm up, measure, stop issuing at
 * the end of the interval and drain. rate > 0: open loop at that rate (the
 * whole client's); else closed loop. t0: the call's start, the same for every
 * thread.
 */
static void run_shard(struct worker *w, int64_t t0)
{
	struct lg *g = w->g;
	struct shard *sh = w->s;
	const struct params *p = w->p;
	struct run x;
	int64_t now, cpu0 = 0, next = 0, next_due, timeout_ns, t_end;
	double gap = p->rate > 0 ? 1e9 / p->rate : 0;
	int started = 0, stopped = 0, i;
	int slack = -1;

	memset(&x, 0, sizeof(x));
	x.g = g;
	x.s = sh;
	x.r = w->r;
	x.payload = p->payload;
	x.window = p->window;
	x.open = p->rate > 0;
	x.thread = w->thread;
	x.nthreads = g->nthreads;
	x.frame = HDR + (size_t)p->payload;
	x.lat = w->lat;
	x.lag = w->lag;
	x.cap = w->cap;
	timeout_ns = (int64_t)g->timeout_ms * 1000000;
	for (i = 0; i < sh->nconn; i++) {
		struct conn *c = &sh->conns[i];

		if (c->dead)
			continue;
		x.live++;
		put_be32(c->tmpl, (uint32_t)p->payload);
	}
	if (x.open) {
		/* A timed wait ends when due, not up to 50 µs later: send times stay on schedule. */
		slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	}
	x.ms = t0 + p->warmup_ns;
	x.me = x.ms + p->duration_ns;
	x.last_progress = t0;
	next_due = x.open ? t0 : INT64_MAX;
	if (p->warmup_ns == 0) {
		started = 1;
		cpu0 = thread_cpu_ns();
	}
	if (!x.open)
		for (i = 0; i < sh->nconn; i++)
			conn_refill(&x, &sh->conns[i], now_ns());
	for (;;) {
		int64_t wait, deadline;

		now = now_ns();
		if (!started && now >= x.ms) {
			started = 1;
			cpu0 = thread_cpu_ns();
		}
		if (!stopped && now >= x.me) {
			stopped = 1;
			x.r->client_cpu_ns = thread_cpu_ns() - cpu0;
		}
		/* Late sends still go out after the interval ends: the schedule is the schedule. */
		if (next_due <= now)
			next_due = send_due(&x, t0, gap, &next, now);
		if ((stopped && next_due == INT64_MAX && x.outstanding == 0) || x.live == 0)
			break;
		if (x.outstanding > 0 && now - x.last_progress > timeout_ns) {
			time_out(&x);
			break;
		}
		deadline = x.outstanding > 0 ? x.last_progress + timeout_ns + 1 : now + timeout_ns;
		if (!started && x.ms < deadline)
			deadline = x.ms;
		if (!stopped && x.me < deadline)
			deadline = x.me;
		wait = deadline - now;
		/* Open loop: sleep until SPIN_NS before the next send is due, then poll for it. */
		if (next_due != INT64_MAX && next_due - now - SPIN_NS < wait)
			wait = next_due - now - SPIN_NS;
		run_events(&x, wait < 0 ? 0 : wait);
	}
	t_end = now_ns();
	if (started && !stopped)
		x.r->client_cpu_ns = thread_cpu_ns() - cpu0;
	if (started)
		x.r->elapsed_ns = (t_end < x.me ? t_end : x.me) - x.ms;
	for (i = 0, x.r->dead_connections = 0; i < sh->nconn; i++)
		x.r->dead_connections += sh->conns[i].dead;
	if (slack >= 0)
		prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0UL, 0UL, 0UL);
	x.r->last_cpu = sched_getcpu();
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct gate *gt = w->gate;
	int go;

	if (w->s->cpu >= 0)
		w->pin_err = pin_thread(0, w->s->cpu);
	pthread_mutex_lock(&gt->mu);
	gt->ready++;
	pthread_cond_broadcast(&gt->cv);
	while (!gt->go)
		pthread_cond_wait(&gt->cv, &gt->mu);
	go = gt->go;
	pthread_mutex_unlock(&gt->mu);
	if (go > 0)
		run_shard(w, gt->t0);
	return NULL;
}

/*
 * Starts a thread per shard, releases them together once every one is
 * pinned (one t0 for all, so their intervals coincide) and joins them all.
 * Returns 0, or -errno when a thread could not be started or pinned (then
 * none ran).
 */
static int run_threads(struct lg *g)
{
	struct gate gt = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	sigset_t all, old;
	int i, started, err = 0;

	/*
	 * The workers start with every signal blocked (a new thread inherits the
	 * creator's mask): a signal for the process must reach the runtime's own
	 * threads, never run a JS runtime's handler on a thread it does not know.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (started = 0; started < g->nthreads; started++) {
		g->workers[started].gate = &gt;
		err = -pthread_create(&g->workers[started].tid, NULL, worker_main, &g->workers[started]);
		if (err)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&gt.mu);
	while (!err && gt.ready < started)
		pthread_cond_wait(&gt.cv, &gt.mu);
	for (i = 0; i < started && !err; i++)
		err = g->workers[i].pin_err;
	gt.t0 = now_ns();
	gt.go = err ? -1 : 1;
	pthread_cond_broadcast(&gt.cv);
	pthread_mutex_unlock(&gt.mu);
	for (i = 0; i < started; i++)
		pthread_join(g->workers[i].tid, NULL);
	pthread_cond_destroy(&gt.cv);
	pthread_mutex_destroy(&gt.mu);
	return err;
}

/* The whole client's record from its threads': sums, and the largest interval and lag. */
static void add_up(struct lg_result *all, const struct lg_result *t, int n)
{
	int i;

	memset(all, 0, sizeof(*all));
	all->last_cpu = -1;
	for (i = 0; i < n; i++) {
		all->sent += t[i].sent;
		all->completed += t[i].completed;
		all->client_cpu_ns += t[i].client_cpu_ns;
		all->samples += t[i].samples;
		all->mismatch += t[i].mismatch;
		all->closed += t[i].closed;
		all->timeouts += t[i].timeouts;
		all->io_errors += t[i].io_errors;
		all->overflow += t[i].overflow;
		all->total_completed += t[i].total_completed;
		all->dead_connections += t[i].dead_connections;
		if (t[i].elapsed_ns > all->elapsed_ns)
			all->elapsed_ns = t[i].elapsed_ns;
		if (t[i].max_lag_ns > all->max_lag_ns)
			all->max_lag_ns = t[i].max_lag_ns;
	}
}

static int run(int h, int payload, int window, double rate, int64_t warmup_ns, int64_t duration_ns,
	       void *result, uint32_t *lat, uint32_t *lag, int64_t cap)
{
	struct params p = { .payload = payload, .window = window, .rate = rate, .warmup_ns = warmup_ns, .duration_ns = duration_ns };
	struct lg_result *rs = result;
	struct lg *g;
	int64_t slice;
	int i, ret = 0;

	if (h < 0 || h >= LG_MAX_HANDLES || !handles[h])
		return -EBADF;
	g = handles[h];
	if (payload < HDR || payload > g->max_payload || (rate <= 0 && (window < 1 || window > g->max_window)) ||
	    warmup_ns < 0 || duration_ns <= 0 || warmup_ns > LG_MAX_SPAN_NS || duration_ns > LG_MAX_SPAN_NS || !result || cap < 0 || (cap > 0 && (!lat || (rate > 0 && !lag))))
		return -EINVAL;
	memset(result, 0, sizeof(struct lg_result) * (size_t)(1 + g->nthreads));
	slice = cap / g->nthreads;
	for (i = 0; i < g->nthreads; i++) {
		struct worker *w = &g->workers[i];

		w->g = g;
		w->s = &g->shards[i];
		w->p = &p;
		w->r = &rs[1 + i];
		w->thread = i;
		w->pin_err = 0;
		w->cap = slice;
		w->lat = slice > 0 ? lat + slice * i : NULL;
		w->lag = slice > 0 && lag ? lag + slice * i : NULL;
	}
	/* One thread and no CPU to pin it to: the calling thread runs the loop, as it always did. */
	if (g->nthreads == 1 && g->shards[0].cpu < 0)
		run_shard(&g->workers[0], now_ns());
	else
		ret = run_threads(g);
	add_up(&rs[0], rs + 1, g->nthreads);
	return ret;
}

int lg_closed(int h, int payload, int window, int64_t warmup_ns, int64_t duration_ns, void *result,
	      uint32_t *lat_ns, int64_t cap)
{
	return run(h, payload, window, 0, warmup_ns, duration_ns, result, lat_ns, NULL, cap);
}

int lg_open(int h, int payload, double rate_per_s, int64_t warmup_ns, int64_t duration_ns, void *result,
	    uint32_t *lat_ns, uint32_t *lag_ns, int64_t cap)
{
	if (!(rate_per_s > 0) || rate_per_s > 1e9)
		return -EINVAL;
	return run(h, payload, 1, rate_per_s, warmup_ns, duration_ns, result, lat_ns, lag_ns, cap);
}
