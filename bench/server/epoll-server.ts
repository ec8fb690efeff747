// Backend `epoll`: a readiness-based event loop in TypeScript over the epoll
// shim. Level-triggered; per ping-pong request the kernel sees epoll_wait +
// recv + send (3 system calls), and epoll_ctl only when a write would block.
//
// Each loop step crosses bun:ffi ONCE (Epoll.step, ep_step in c/epoll.c), as
// the uring loop does with ur_step: the answers queued by the step before are
// sent, the wait follows, and every connection reported readable is read into
// the buffer range this loop armed for it. TypeScript keeps the protocol, the
// buffers and every decision (frames, answers, interest, when to close); C
// only makes the system calls it was asked for and reports what they did.
//
// Closing waits for the end of the step: a descriptor closed mid-step cannot
// be handed out again by an accept in the same step, so a later report of
// that step (whose read went into the old connection's buffer) is never taken
// for a new connection's.
import { EAGAIN, isOutOfResources } from "../../ffi/errno.ts";
import { Epoll, epollCrossings, EP_NOT_READ, EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, EPOLLHUP } from "../../ffi/epoll.ts";
import * as net from "../../ffi/net.ts";
import { ACCEPT_PAUSE_MS, BufferPool, loopServer, type RunFlag, InBuffer, newStats, OutBuffer, processFrames, type Server, type ServerConfig } from "./core.ts";

/** How long one wait may block before the loop yields to Bun (signals, stop()). */
const WAIT_MS = 20;
/** Loop steps between yields to Bun's own event loop while busy. */
const STEPS_PER_YIELD = 4096;

class Conn {
  readonly in: InBuffer;
  readonly out: OutBuffer;
  wantWrite = false;
  eof = false;
  /** Given up this step; its descriptor is closed once the step's reports are handled. */
  closed = false;
  /** Listed for the next step's writes. */
  dirty = false;
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
  // ffiCrossings: calls into the epoll and socket shims so far (this process), brought up to date
  // each time the loop yields, which is when a `stats` line can be written.
  const stats = Object.assign(newStats(), { ffiCrossings: 0 });
  const conns: (Conn | undefined)[] = [];
  /** Connections with answers to send at the next step: dirty[0, ndirty). */
  const dirty: Conn[] = [];
  let ndirty = 0;
  /** writing[k]: the connection whose answers were the k-th write of the last step. */
  const writing: Conn[] = [];
  /** Connections given up during this step. */
  const closing: Conn[] = [];
  const flag: RunFlag = { running: true };

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

  /** Gives a connection up; nothing more is read or written for it. */
  const closeConn = (c: Conn) => {
    if (c.closed) return;
    c.closed = true;
    ep.disarm(c.fd);
    closing.push(c);
  };

  /** Closes the descriptors given up this step and frees their buffers (no read is armed in them any more). */
  const finishCloses = () => {
    for (const c of closing) {
      net.close(c.fd);
      c.in.release();
      c.out.release();
      conns[c.fd] = undefined;
      stats.active--;
    }
    closing.length = 0;
    if (acceptPausedUntil !== 0) resumeAccept();
  };

  const setInterest = (c: Conn, write: boolean) => {
    if (c.wantWrite === write) return;
    c.wantWrite = write;
    ep.modify(c.fd, (c.eof ? 0 : EPOLLIN | EPOLLRDHUP) | (write ? EPOLLOUT : 0), c.fd);
  };

  const markDirty = (c: Conn) => {
    if (c.dirty) return;
    c.dirty = true;
    dirty[ndirty++] = c;
  };

  /** Arms the next read: the room InBuffer.prepare() makes after what is buffered. */
  const armRead = (c: Conn) => {
    const room = c.in.prepare();
    ep.armRead(c.fd, c.fd, c.in.buf, c.in.end, room);
  };

  /** What the step's write of c's answers did (w: bytes sent or -errno). */
  const wrote = (c: Conn, w: number) => {
    if (w > 0) {
      stats.bytesOut += w;
      c.out.consume(w);
    } else if (w !== -EAGAIN) {
      stats.ioErrors++;
      closeConn(c);
      return;
    }
    if (c.out.len > 0) {
      if (c.out.len > cfg.maxPendingBytes) {
        stats.overflow++;
        closeConn(c);
        return;
      }
      setInterest(c, true);
      return;
    }
    c.out.shrinkIfIdle();
    if (c.eof) {
      closeConn(c);
      return;
    }
    setInterest(c, false);
  };

  /** What the read armed for c did (r: bytes, 0 at EOF, -errno, or EP_NOT_READ). */
  const onRead = (c: Conn, r: number) => {
    if (r > 0) {
      c.in.end += r;
      stats.bytesIn += r;
      if (!processFrames(c.in, c.out, cfg, stats)) {
        closeConn(c);
        return;
      }
      if (c.out.len > 0) markDirty(c);
      armRead(c);
    } else if (r === 0) {
      // Peer closed its side: answer what it sent, then close.
      c.eof = true;
      if (c.out.len === 0) closeConn(c);
      else {
        // Forces the change that drops EPOLLIN, or the half-closed socket stays readable forever.
        c.wantWrite = false;
        setInterest(c, true);
      }
    } else if (r === -EAGAIN || r === EP_NOT_READ) {
      armRead(c);
    } else {
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
      armRead(c);
    }
  };

  /** One step: the answers queued since the step before go out, then the wait and the armed reads; returns the event count. */
  const step = (): number => {
    if (acceptPausedUntil !== 0 && Date.now() >= acceptPausedUntil) resumeAccept();
    let nw = 0;
    for (let k = 0; k < ndirty; k++) {
      const c = dirty[k];
      c.dirty = false;
      if (c.closed || c.out.len === 0) continue;
      ep.queueWrite(c.fd, c.out.buf, 0, c.out.len);
      writing[nw++] = c;
    }
    ndirty = 0;
    const n = ep.step(WAIT_MS);
    for (let k = 0; k < nw; k++) wrote(writing[k], ep.writeResult(k));
    for (let i = 0; i < n; i++) {
      const tag = ep.tag(i);
      if (tag === lfd) {
        acceptAll();
        continue;
      }
      const c = conns[tag];
      if (!c || c.closed) continue;
      const mask = ep.mask(i);
      if (mask & EPOLLOUT) markDirty(c);
      if (mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) && !c.eof) onRead(c, ep.readResult(i));
      else if (mask & (EPOLLHUP | EPOLLERR)) {
        stats.ioErrors++;
        closeConn(c);
      }
    }
    if (closing.length > 0) finishCloses();
    return n;
  };

  const loop = async () => {
    while (flag.running) {
      for (let s = 0; s < STEPS_PER_YIELD && flag.running; s++) if (step() === 0) break;
      stats.ffiCrossings = epollCrossings() + net.netCrossings();
      await new Promise<void>((r) => setImmediate(r));
    }
    for (const c of conns) if (c) closeConn(c);
    finishCloses();
    net.close(lfd);
    ep.close();
  };

  const done = loop();
  return loopServer("epoll", cfg.host, port, stats, flag, done);
}
