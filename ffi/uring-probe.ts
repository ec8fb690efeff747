// The io_uring probes that need a whole Ring (and, for multishot recv, a
// loopback connection): each tries the feature for real and returns 0 or the
// errno, so nothing is taken from the kernel version. The setup-flag and
// opcode probes are in uring.ts.
import { EINVAL, EPERM, ENOSYS, ETIME, SysError } from "./errno.ts";
import { NativeBuffer } from "./memory.ts";
import * as net from "./net.ts";
import { IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, Ring } from "./uring.ts";
import { forcedOff } from "./uring-lib.ts";

/**
 * 0 when a provided-buffer ring (io_uring_register_buf_ring, 5.19+) can be
 * registered on a ring with flags 0, else the errno of the refusal.
 */
export function probeBufferRing(): number {
  if (forcedOff()) return EPERM;
  let ring: Ring | undefined;
  try {
    ring = new Ring(4, { flags: 0 });
    ring.setupBuffers(2, 64);
    return 0;
  } catch (e) {
    return e instanceof SysError ? e.errno : ENOSYS;
  } finally {
    ring?.close();
  }
}

/**
 * 0 when multishot recv into a provided-buffer ring works here, else an errno:
 * tried for real on a loopback TCP connection (a byte sent must arrive in a
 * provided buffer, the recv still armed, IORING_CQE_F_MORE), as the
 * uring-multishot server uses it. The ring registration fails first on
 * kernels without buffer rings; the recv's own completion carries EINVAL
 * where multishot recv is unknown (before 6.0), so nothing is read from the
 * kernel version.
 */
export function probeMultishot(): number {
  if (forcedOff()) return EPERM;
  let ring: Ring | undefined;
  const fds: number[] = [];
  try {
    ring = new Ring(4, { flags: 0 });
    const buffers = ring.setupBuffers(2, 64);
    const listener = net.listen("127.0.0.1", 0, 1);
    fds.push(listener);
    const client = net.connect("127.0.0.1", net.boundPort(listener));
    fds.push(client);
    // Loopback completes the handshake inside connect(): the connection is already queued.
    const server = net.acceptNonBlocking(listener);
    if (server < 0) return -server;
    fds.push(server);
    ring.queueRecvMultishot(server, 1);
    const byte = new NativeBuffer(1);
    byte.bytes[0] = 0x5a;
    ring.step(0, 0);
    const sent = net.writeFrom(client, byte, 0, 1);
    if (sent < 0) return -sent;
    if (ring.step(1, 2000) < 1) return ETIME;
    const res = ring.res(0);
    if (res < 0) return -res;
    const flags = ring.flags(0);
    const bid = flags >>> 16;
    if (res !== 1 || !(flags & IORING_CQE_F_BUFFER) || !(flags & IORING_CQE_F_MORE)) return EINVAL;
    // The byte must be the one sent, in the buffer the kernel named.
    return bid < 2 && buffers[bid * 64] === 0x5a ? 0 : EINVAL;
  } catch (e) {
    return e instanceof SysError ? e.errno : ENOSYS;
  } finally {
    // close() cancels the armed recv and waits for the kernel to confirm before freeing the buffers.
    ring?.close();
    for (const fd of fds) net.close(fd);
  }
}
