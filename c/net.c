/*
 * Socket shims: thin wrappers over the BSD socket calls the benchmark needs.
 * Every function returns >= 0 on success or -errno; nothing prints or exits.
 *
 * Build: scripts/setup.sh compiles it to build/net.so
 *   (gcc -O2 -fPIC -shared c/net.c -o build/net.so; it links nothing else)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "affinity.h"
#include "clock.h"
#include <unistd.h>

static int fill_addr(const char *host, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;
	/* "localhost" and other names: resolve once, IPv4 only, no DNS in the hot path. */
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

/*
 * Listening socket, non-blocking so that an epoll loop can drain accept().
 * reuseport: SO_REUSEPORT too, so several sockets (one per loop of a
 * thread-per-core server) listen on one port and the kernel spreads
 * connections over them.
 */
int net_listen_opts(const char *host, int port, int backlog, int reuseport)
{
	struct sockaddr_in sa;
	int fd, one = 1, ret;

	if (port < 0 || port > 65535)
		return -EINVAL;
	ret = fill_addr(host, port, &sa);
	if (ret < 0)
		return ret;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, backlog) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int net_listen(const char *host, int port, int backlog)
{
	return net_listen_opts(host, port, backlog, 0);
}

/*
 * listen() again on a socket that already listens: Linux then only sets the
 * backlog. For listeners created by code that fixes its own backlog (Bun.listen
 * takes 512, with no option), so every backend queues as many connections.
 */
int net_set_backlog(int fd, int backlog)
{
	return listen(fd, backlog) < 0 ? -errno : 0;
}

int net_bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	return ntohs(sa.sin_port);
}

/* Non-blocking accept with TCP_NODELAY set, so every backend's sockets match. */
int net_accept_nb(int lfd)
{
	int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Blocking connect with TCP_NODELAY already set: what the measuring client uses. */
int net_connect(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd, one = 1, ret;

	ret = fill_addr(host, port, &sa);
	if (ret < 0)
		return ret;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int net_set_nodelay(int fd, int on)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0 ? -errno : 0;
}

int net_get_nodelay(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) < 0 ? -errno : on;
}

int net_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* A blocking client must not hang on a dead server: reads give -EAGAIN after ms. */
int net_set_recv_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ? -errno : 0;
}

int net_set_send_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ? -errno : 0;
}

/* SO_LINGER 0: close sends RST, for the "dropped abruptly" fault tests. */
int net_set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0 ? -errno : 0;
}

/*
 * EINTR is retried: the runtime's own signal handlers (SIGCHLD for child
 * processes, SIGINT queued for JS) must not turn into failed round trips.
 */
long net_read(int fd, void *buf, long len)
{
	ssize_t n;

	do
		n = read(fd, buf, (size_t)len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

long net_write(int fd, const void *buf, long len)
{
	ssize_t n;

	/* MSG_NOSIGNAL: a peer that went away is -EPIPE, not a dead benchmark. */
	do
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

long net_recv(int fd, void *buf, long len, int flags)
{
	ssize_t n = recv(fd, buf, (size_t)len, flags);
	return n < 0 ? -errno : n;
}

long net_send(int fd, const void *buf, long len, int flags)
{
	ssize_t n = send(fd, buf, (size_t)len, flags | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

/* Write all of buf on a blocking socket; returns len or -errno. */
long net_write_all(int fd, const void *buf, long len)
{
	const char *p = buf;
	long done = 0;

	while (done < len) {
		ssize_t n = send(fd, p + done, (size_t)(len - done), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return done;
}

int net_shutdown(int fd, int how)
{
	return shutdown(fd, how) < 0 ? -errno : 0;
}

int net_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

/*
 * Pins thread tid (0: the caller) to one CPU. Bun runs helper threads besides
 * the JS thread, and a process is on one CPU only when every thread is: the
 * caller lists /proc/self/task and pins each.
 */
int net_pin_tid(int tid, int cpu)
{
	return pin_thread((pid_t)tid, cpu);
}

/* Pins the calling thread only (tid 0), which is the thread running the JS loop. */
int net_pin_cpu(int cpu)
{
	return net_pin_tid(0, cpu);
}

/*
 * Lets thread tid run anywhere again: every bit set, which the kernel
 * narrows to the CPUs that exist and that the cpuset allows.
 */
int net_unpin_tid(int tid)
{
	cpu_set_t set;
	int i;

	if (tid < 0)
		return -EINVAL;
	CPU_ZERO(&set);
	for (i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	return sched_setaffinity((pid_t)tid, sizeof(set), &set) < 0 ? -errno : 0;
}

/*
 * Timer slack of the calling thread in ns. The default 50 us lets the kernel
 * defer a timed wake-up by that much, which would shift an open-loop client's
 * send times; 1 ns asks for the wake-up when it is due.
 */
int net_set_timerslack(long ns)
{
	return prctl(PR_SET_TIMERSLACK, (unsigned long)ns, 0, 0, 0) < 0 ? -errno : 0;
}

/*
 * Asks the kernel to send sig to this process when its parent exits, so a
 * server never outlives a benchmark that was killed outright. Returns 1 when
 * the parent is already gone (the caller should exit), 0 when armed.
 */
int net_set_parent_death_signal(int sig)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) < 0)
		return -errno;
	return getppid() != parent ? 1 : 0;
}

int net_current_cpu(void)
{
	int c = sched_getcpu();
	return c < 0 ? -errno : c;
}

/* CLOCK_MONOTONIC in ns, for C loops that must agree with the JS clock. */
long net_now_ns(void)
{
	return (long)now_ns();
}

/* CPU time of the calling thread in ns: what one event loop costs, whatever else the process runs. */
int64_t net_thread_cpu_ns(void)
{
	return thread_cpu_ns();
}

/* An rlim_t as an int: the kernel caps RLIMIT_NOFILE at fs.nr_open (at most 2^30) anyway. */
static int rlim_int(rlim_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* fs.nr_open: no RLIMIT_NOFILE may exceed it, not even root's. -errno when unreadable. */
static long nr_open(void)
{
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	long n = -ENOENT;

	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &n) != 1)
		n = -EIO;
	fclose(f);
	return n;
}

/* RLIMIT_NOFILE's soft limit (hard = 0) or hard limit (hard = 1), or -errno. */
int net_nofile_limit(int hard)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return rlim_int(hard ? rl.rlim_max : rl.rlim_cur);
}

/*
 * Raises RLIMIT_NOFILE's soft limit to min(want, hard), never lowering it.
 * A process that opens thousands of sockets needs more than the usual 1024,
 * and servers it spawns inherit the limit. When the hard limit is below want
 * the hard limit is raised too (up to fs.nr_open, beyond which the kernel
 * refuses even root); only root or CAP_SYS_RESOURCE may, so EPERM there is
 * not an error: the soft limit then goes as far as the hard one allows.
 * Returns the resulting soft limit, or -errno.
 */
int net_raise_nofile(long want)
{
	struct rlimit rl, up;
	long cap;

	if (want <= 0)
		return -EINVAL;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)want)
		return rlim_int(rl.rlim_cur);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)want) {
		cap = nr_open();
		up.rlim_max = (rlim_t)(cap > 0 && cap < want ? cap : want);
		up.rlim_cur = up.rlim_max;
		if (up.rlim_max > rl.rlim_max) {
			if (setrlimit(RLIMIT_NOFILE, &up) == 0)
				return rlim_int(up.rlim_cur);
			/* EPERM: neither root nor CAP_SYS_RESOURCE; the hard limit stays the ceiling. */
			if (errno != EPERM)
				return -errno;
		}
	}
	up.rlim_max = rl.rlim_max;
	up.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
	if (setrlimit(RLIMIT_NOFILE, &up) < 0)
		return -errno;
	return rlim_int(up.rlim_cur);
}

/* Trivial function for measuring the cost of one bun:ffi crossing. */
int net_noop(int x)
{
	return x + 1;
}

/*
 * Reference client loop in C: `iters` ping-pongs of the frame in send[0..len)
 * on a blocking socket, each round trip's ns stored in out_ns. The response
 * must equal the request byte for byte. Used to measure what the TypeScript
 * client adds per round trip. Returns round trips done, or -errno
 * (-EPROTO for a wrong answer, -ECONNRESET when the peer closed).
 */
long net_pingpong_c(int fd, const void *send, long len, void *recv, long cap, int iters, long *out_ns)
{
	struct timespec t0, t1;
	char *r = recv;
	int i;

	if (cap < len)
		return -EINVAL;
	for (i = 0; i < iters; i++) {
		long got = 0, w;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		w = net_write_all(fd, send, len);
		if (w < 0)
			return w;
		while (got < len) {
			ssize_t n = read(fd, r + got, (size_t)(cap - got));
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (n == 0)
				return -ECONNRESET;
			got += n;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (got != len || memcmp(send, recv, (size_t)len) != 0)
			return -EPROTO;
		out_ns[i] = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
	}
	return iters;
}
