// Backend `epoll`: a readiness-based event loop in TypeScript over the epoll
// shim. Level-triggered; per ping-pong request it costs epoll_wait + read +
// write (3 system calls) and never calls epoll_ctl unless a write would block.
import { EAGAIN, isOutOfResources } from "../../ffi/errno.ts";
import { Epoll, EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, EPOLLHUP } from "../../ffi/epoll.ts";
import * as net from "../../ffi/net.ts";
import { BufferPool, InBuffer, newStats, OutBuffer, processFrames, type Server, type ServerConfig } from "./core.ts";

/** How long one wait may block before the loop yields to Bun (signals, stop()). */
const WAIT_MS = 20;
/** Loop steps between yields to Bun's own event loop while busy. */
const STEPS_PER_YIELD = 4096;
/** How long accepting pauses when out of descriptors, unless a connection closes first. */
export const ACCEPT_PAUSE_MS = 10;

class Conn {
  readonly in: InBuffer;
  readonly out: OutBuffer;
  wantWrite = false;
  eof = false;
  constructor(readonly fd: number, pool: BufferPool) {
    this.in = new InBuffer(pool);
    this.out = new OutBuffer(pool);
  }
}

export function startEpollServer(cfg: ServerConfig): Server {
  const lfd = net.listen(cfg.host, cfg.port);
  const port = net.boundPort(lfd);
  const ep = new Epoll();
  ep.add(lfd, EPOLLIN, lfd);
  const pool = new BufferPool();
  const stats = newStats();
  const conns: (Conn | undefined)[] = [];
  let running = true;

  /**
   * Out of descriptors (EMFILE/ENFILE), accept fails but the connection stays
   * queued and the level-triggered listener stays readable: every wait would
   * report it again at once, and the loop spun at 100% CPU, one failed accept
   * per turn. Instead the listener leaves the wait set until a connection
   * closes (freeing a descriptor) or ACCEPT_PAUSE_MS pass. 0: accepting.
   */
  let acceptPausedUntil = 0;
  const pauseAccept = () => {
    ep.modify(lfd, 0, lfd);
    acceptPausedUntil = Date.now() + ACCEPT_PAUSE_MS;
  };
  const resumeAccept = () => {
    acceptPausedUntil = 0;
    ep.modify(lfd, EPOLLIN, lfd);
  };

  const closeConn = (c: Conn) => {
    net.close(c.fd);
    c.in.release();
    c.out.release();
    conns[c.fd] = undefined;
    stats.active--;
    if (acceptPausedUntil !== 0) resumeAccept();
  };

  const setInterest = (c: Conn, write: boolean) => {
    if (c.wantWrite === write) return;
    c.wantWrite = write;
    ep.modify(c.fd, (c.eof ? 0 : EPOLLIN | EPOLLRDHUP) | (write ? EPOLLOUT : 0), c.fd);
  };

  /** Writes what is pending; false when the connection was closed. */
  const flush = (c: Conn): boolean => {
    if (c.out.len > 0) {
      const w = net.writeFrom(c.fd, c.out.buf, 0, c.out.len);
      if (w > 0) {
        stats.bytesOut += w;
        c.out.consume(w);
      } else if (w !== -EAGAIN) {
        stats.ioErrors++;
        closeConn(c);
        return false;
      }
    }
    if (c.out.len > 0) {
      if (c.out.len > cfg.maxPendingBytes) {
        stats.overflow++;
        closeConn(c);
        return false;
      }
      setInterest(c, true);
      return true;
    }
    c.out.shrinkIfIdle();
    if (c.eof) {
      closeConn(c);
      return false;
    }
    setInterest(c, false);
    return true;
  };

  const onReadable = (c: Conn) => {
    const room = c.in.prepare();
    const r = net.readInto(c.fd, c.in.buf, c.in.end, room);
    if (r > 0) {
      c.in.end += r;
      stats.bytesIn += r;
      if (!processFrames(c.in, c.out, cfg, stats)) {
        closeConn(c);
        return;
      }
      flush(c);
    } else if (r === 0) {
      // Peer closed its side: answer what it sent, then close.
      c.eof = true;
      if (c.out.len === 0) closeConn(c);
      else {
        c.wantWrite = false;
        setInterest(c, true);
      }
    } else if (r !== -EAGAIN) {
      stats.ioErrors++;
      closeConn(c);
    }
  };

  const acceptAll = () => {
    for (;;) {
      const fd = net.acceptNonBlocking(lfd);
      if (fd < 0) {
        if (fd === -EAGAIN) return;
        stats.ioErrors++;
        if (isOutOfResources(-fd)) pauseAccept();
        return;
      }
      const c = new Conn(fd, pool);
      conns[fd] = c;
      stats.connections++;
      stats.active++;
      ep.add(fd, EPOLLIN | EPOLLRDHUP, fd);
    }
  };

  const loop = async () => {
    while (running) {
      for (let step = 0; step < STEPS_PER_YIELD && running; step++) {
        if (acceptPausedUntil !== 0 && Date.now() >= acceptPausedUntil) resumeAccept();
        const n = ep.wait(WAIT_MS);
        if (n === 0) break;
        for (let i = 0; i < n; i++) {
          const fd = ep.tag(i);
          if (fd === lfd) {
            acceptAll();
            continue;
          }
          const c = conns[fd];
          if (!c) continue;
          const mask = ep.mask(i);
          if (mask & EPOLLOUT) {
            if (!flush(c)) continue;
          }
          if (mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) && !c.eof) onReadable(c);
          else if (mask & (EPOLLHUP | EPOLLERR) && conns[fd]) {
            stats.ioErrors++;
            closeConn(c);
          }
        }
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    for (const c of conns) if (c) closeConn(c);
    net.close(lfd);
    ep.close();
  };

  const done = loop();
  return {
    backend: "epoll",
    host: cfg.host,
    port,
    stats,
    done,
    stop() {
      running = false;
    },
  };
}
