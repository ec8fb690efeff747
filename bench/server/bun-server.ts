// Backend `bun`: the runtime's own stack (Bun.listen, uSockets over epoll),
// standing in for "what a service on this runtime uses today". Bun sets
// TCP_NODELAY on its sockets; setNoDelay(true) is called anyway to be explicit.
import type { Socket } from "bun";
import { BufferPool, InBuffer, newStats, OutBuffer, processFrames, type Server, type ServerConfig } from "./core.ts";

interface ConnData {
  in: InBuffer;
  out: OutBuffer;
  eof: boolean;
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
        s.data = { in: new InBuffer(pool), out: new OutBuffer(pool), eof: false };
        sockets.add(s);
        stats.connections++;
        stats.active++;
      },
      data(s, chunk) {
        const c = s.data;
        stats.bytesIn += chunk.length;
        c.in.append(chunk);
        if (!processFrames(c.in, c.out, cfg, stats)) {
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
      error() {
        stats.ioErrors++;
      },
      close(s) {
        if (!sockets.delete(s)) return;
        s.data.in.release();
        s.data.out.release();
        stats.active--;
      },
    },
  });

  return {
    backend: "bun",
    host: cfg.host,
    port: listener.port,
    stats,
    done,
    stop() {
      listener.stop(true);
      for (const s of sockets) s.terminate();
      resolveDone();
    },
  };
}
