/*
 * Shims for the micro-benchmarks (bench/micro/index.ts): the cost of a bare
 * system call, with and without a bun:ffi crossing, and socket queue sizes for
 * checking that a benchmark moved the bytes it claims to have moved.
 * Every function returns >= 0 on success or -errno; nothing prints or exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One raw getppid(2): a system call that does almost nothing in the kernel. */
long mi_getppid(void)
{
	return syscall(SYS_getppid);
}

/*
 * n raw getppid(2) calls in a C loop (one FFI crossing for all of them):
 * returns their sum, which is n * getppid() when every call succeeded.
 */
long mi_syscall_loop(int n)
{
	long sum = 0;

	for (int i = 0; i < n; i++)
		sum += syscall(SYS_getppid);
	return sum;
}

/* Bytes received on fd and not yet read (FIONREAD). */
int mi_unread(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) < 0 ? -errno : n;
}

/* Bytes written on fd and not yet acknowledged by the peer (SIOCOUTQ). */
int mi_unacked(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQ, &n) < 0 ? -errno : n;
}

/* SO_RCVLOWAT: a receiver that is not reading still acknowledges at once while
 * it holds fewer unread bytes than this (Linux tcp_ack_snd_check). */
int mi_set_rcvlowat(int fd, int bytes)
{
	return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes)) < 0 ? -errno : 0;
}
