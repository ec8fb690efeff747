// Backend `bun`: the runtime's own stack (Bun.listen, uSockets over epoll),
// standing in for "what a service on this runtime uses today". Bun sets
// TCP_NODELAY on its sockets; setNoDelay(true) is called anyway to be explicit.
import type { Socket } from "bun";
import * as net from "../../ffi/net.ts";
import { BufferPool, InBuffer, newStats, OutBuffer, processFrames, type Server, type ServerConfig } from "./core.ts";

interface ConnData {
  in: InBuffer;
  out: OutBuffer;
  eof: boolean;
  /** error() already counted this connection's failure. */
  failed: boolean;
  /** We closed it (oversize, overflow, stop): not a failure of the peer's. */
  closedByUs: boolean;
}

export function startBunServer(cfg: ServerConfig): Server {
  const pool = new BufferPool();
  const stats = newStats();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const sockets = new Set<Socket<ConnData>>();

  const flush = (s: Socket<ConnData>) => {
    const c = s.data;
    while (c.out.len > 0) {
      const w = s.write(c.out.buf.bytes, 0, c.out.len);
      if (w <= 0) break;
      stats.bytesOut += w;
      c.out.consume(w);
    }
    if (c.out.len > cfg.maxPendingBytes) {
      stats.overflow++;
      c.closedByUs = true;
      s.terminate();
      return;
    }
    if (c.out.len === 0) {
      c.out.shrinkIfIdle();
      if (c.eof) s.end();
    }
  };

  const listener = Bun.listen<ConnData>({
    hostname: cfg.host,
    port: cfg.port,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.setNoDelay(true);
        s.data = { in: new InBuffer(pool), out: new OutBuffer(pool), eof: false, failed: false, closedByUs: false };
        sockets.add(s);
        stats.connections++;
        stats.active++;
      },
      data(s, chunk) {
        const c = s.data;
        stats.bytesIn += chunk.length;
        c.in.append(chunk);
        if (!processFrames(c.in, c.out, cfg, stats)) {
          c.closedByUs = true;
          s.terminate();
          return;
        }
        flush(s);
      },
      drain(s) {
        flush(s);
      },
      end(s) {
        s.data.eof = true;
        if (s.data.out.len === 0) s.end();
      },
      error(s) {
        stats.ioErrors++;
        if (s.data) s.data.failed = true;
      },
      close(s, err) {
        if (!sockets.delete(s)) return;
        // Bun reports a reset here (ECONNRESET on read), not to error(), and at times as a
        // plain end() after a failed write. So: a close we did not ask for that came with an
        // error, without the peer's FIN, or with answers left undelivered is a failure.
        const c = s.data;
        if (!c.failed && !c.closedByUs && (err || !c.eof || c.out.len > 0)) stats.ioErrors++;
        s.data.in.release();
        s.data.out.release();
        stats.active--;
      },
    },
  });

  // Bun.listen has no backlog option and listens with uSockets' 512, where every other
  // backend queues LISTEN_BACKLOG (4096): 10 000 quick connects overflowed it, and thousands
  // waited 1-3 s for their SYN to be retried. The listener's fd is public at run time (not in
  // bun-types; test/many-connections.test.ts checks every backend's backlog): listen() on it
  // again only raises the backlog.
  const listenFd = (listener as unknown as { fd?: number }).fd;
  if (typeof listenFd === "number" && listenFd >= 0) net.setListenBacklog(listenFd);

  return {
    backend: "bun",
    host: cfg.host,
    port: listener.port,
    stats,
    done,
    stop() {
      for (const s of sockets) s.data.closedByUs = true;
      listener.stop(true);
      for (const s of sockets) s.terminate();
      resolveDone();
    },
  };
}
