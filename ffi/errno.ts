// errno numbers (Linux x86-64) to names and messages, and the error every
// wrapper throws: "io_uring_queue_init: EPERM (Operation not permitted)".

const TABLE: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  3: ["ESRCH", "No such process"],
  4: ["EINTR", "Interrupted system call"],
  5: ["EIO", "Input/output error"],
  9: ["EBADF", "Bad file descriptor"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  12: ["ENOMEM", "Cannot allocate memory"],
  13: ["EACCES", "Permission denied"],
  14: ["EFAULT", "Bad address"],
  16: ["EBUSY", "Device or resource busy"],
  17: ["EEXIST", "File exists"],
  22: ["EINVAL", "Invalid argument"],
  23: ["ENFILE", "Too many open files in system"],
  24: ["EMFILE", "Too many open files"],
  28: ["ENOSPC", "No space left on device"],
  32: ["EPIPE", "Broken pipe"],
  38: ["ENOSYS", "Function not implemented"],
  62: ["ETIME", "Timer expired"],
  88: ["ENOTSOCK", "Socket operation on non-socket"],
  95: ["EOPNOTSUPP", "Operation not supported"],
  98: ["EADDRINUSE", "Address already in use"],
  99: ["EADDRNOTAVAIL", "Cannot assign requested address"],
  101: ["ENETUNREACH", "Network is unreachable"],
  103: ["ECONNABORTED", "Software caused connection abort"],
  104: ["ECONNRESET", "Connection reset by peer"],
  105: ["ENOBUFS", "No buffer space available"],
  107: ["ENOTCONN", "Transport endpoint is not connected"],
  110: ["ETIMEDOUT", "Connection timed out"],
  111: ["ECONNREFUSED", "Connection refused"],
  113: ["EHOSTUNREACH", "No route to host"],
  115: ["EINPROGRESS", "Operation now in progress"],
  125: ["ECANCELED", "Operation canceled"],
};

export const EPERM = 1, ESRCH = 3, EINTR = 4, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EINVAL = 22, ENFILE = 23, EMFILE = 24,
  EPIPE = 32, ENOSYS = 38, ETIME = 62, EADDRINUSE = 98, ECONNRESET = 104, ENOBUFS = 105, ETIMEDOUT = 110, ECONNREFUSED = 111,
  ECANCELED = 125;

/**
 * Errors of accept() that say the process or the system is out of descriptors
 * or memory: the connection stays queued, so retrying at once fails the same
 * way (an accept loop must wait for a descriptor to be freed instead).
 */
export function isOutOfResources(errno: number): boolean {
  return errno === EMFILE || errno === ENFILE || errno === ENOBUFS || errno === ENOMEM;
}

export function errnoName(errno: number): string {
  return TABLE[errno]?.[0] ?? `errno ${errno}`;
}

export function errnoMessage(errno: number): string {
  return TABLE[errno]?.[1] ?? "Unknown error";
}

/** A failed system or library call: names the call and the errno. */
export class SysError extends Error {
  readonly call: string;
  readonly errno: number;
  readonly code: string;
  constructor(call: string, errno: number, hint?: string) {
    const code = errnoName(errno);
    super(`${call}: ${code} (${errnoMessage(errno)})${hint ? `; ${hint}` : ""}`);
    this.name = "SysError";
    this.call = call;
    this.errno = errno;
    this.code = code;
  }
}

/** Throws SysError for a negative (-errno) return, passes other values through. */
export function check(call: string, ret: number, hint?: string): number {
  if (ret < 0) throw new SysError(call, -ret, hint);
  return ret;
}
