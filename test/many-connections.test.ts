// Many connections against real server processes, every available backend:
//
// - 2000 connections at once (bench/clients/load.ts), every answer checked;
//   then the server holds as many descriptors as before and serves again.
// - Every backend listens with the same backlog (LISTEN_BACKLOG, capped by
//   net.core.somaxconn): Bun.listen's own 512 and Tokio's 1024 overflowed in a
//   burst of connects, and each dropped SYN was retried only after 1 s.
// - Out of descriptors (the server started under a small RLIMIT_NOFILE), a
//   server neither dies nor retries accept in a tight loop (it spun at 100%
//   CPU, counting millions of failed accepts), and once connections close it
//   takes the ones that waited in the backlog. Bun is left out: its accept loop
//   is uSockets' own, which still retries at once and reports nothing.
//
// Nothing here asserts a duration; waits have deadlines only so that a hung
// server fails instead of hanging the run.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LoadClient } from "../bench/clients/load.ts";
import { noErrors } from "../bench/results/errors.ts";
import { countFds } from "../bench/measure/procstat.ts";
import { HEADER_BYTES, readLength, writeLength } from "../bench/protocol/frame.ts";
import { BACKENDS, type Backend } from "../bench/server/backends.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { ROOT } from "../ffi/build.ts";
import { EAGAIN, errnoName } from "../ffi/errno.ts";
import { Epoll, EPOLLIN } from "../ffi/epoll.ts";
import { NativeBuffer } from "../ffi/memory.ts";
import * as net from "../ffi/net.ts";
import { startServer } from "./helpers.ts";

const CONNECTIONS = 2000;
/** RLIMIT_NOFILE of the servers in the out-of-descriptors test, and the connections opened to them. */
const SERVER_FD_LIMIT = 100;
const OVER_LIMIT = 150;
/**
 * Failed accepts allowed while a server sits at its descriptor limit for
 * AT_LIMIT_MS. Pausing ACCEPT_PAUSE_MS (10 ms) per try, a server counts at
 * most one per armed accept (8) per pause, a few hundred here; a loop that
 * retries at once counted 600 000 to 5 000 000 per second on this machine.
 */
const MAX_FAILED_ACCEPTS = 20_000;
const AT_LIMIT_MS = 300;
const PAYLOAD = 32;
const FRAME = HEADER_BYTES + PAYLOAD;
const SERVE = join(ROOT, "bench/cli/serve.ts");

// Every backend a run can choose, the thread-per-core ones included (the ladder's steps are uring's).
const backends = Object.values(BACKENDS).filter((b) => !b.ladderOnly);
/** The client holds CONNECTIONS sockets, and each server inherits the limit. */
const limit = net.raiseNoFile(CONNECTIONS + 500);
const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim());

/** The backlog of the socket listening on port (ss's Send-Q for a listener), or undefined without ss. */
function listenBacklog(port: number): number | undefined {
  const r = Bun.spawnSync(["ss", "-ltnH", `sport = :${port}`], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return undefined;
  const fields = r.stdout.toString().trim().split(/\s+/);
  return fields.length >= 3 ? Number(fields[2]) : undefined;
}

/** Polls until pred holds or ms pass; returns whether it held. */
async function eventually(pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
}

/** One blocking connection: a frame out, its echo back and checked. */
function echoOnce(port: number): void {
  using s = net.TcpSocket.connect("127.0.0.1", port);
  net.setRecvTimeout(s.fd, 10_000);
  const frame = new NativeBuffer(4096);
  writeLength(frame.bytes, 0, PAYLOAD);
  for (let i = 0; i < PAYLOAD; i++) frame.bytes[HEADER_BYTES + i] = i;
  expect(net.writeAllFrom(s.fd, frame, 0, FRAME)).toBe(FRAME);
  const back = new NativeBuffer(4096);
  let got = 0;
  while (got < FRAME) {
    const r = net.readInto(s.fd, back, got, FRAME - got);
    if (r <= 0) throw new Error(`echo: ${r === 0 ? "EOF" : errnoName(-r)} after ${got} bytes`);
    got += r;
  }
  expect(back.bytes.subarray(0, FRAME)).toEqual(frame.bytes.subarray(0, FRAME));
}

function start(b: Backend, prefix: string[] = []): Promise<ServerProcess> {
  // An external server (tokio) is started directly, so that the pid is the server's own
  // (prlimit execs what it runs: the pid stays the same).
  const command = b.kind === "executable" ? b.command() : prefix.length ? [process.execPath, SERVE, "--backend", b.name] : undefined;
  return startServer(b.name, command ? { command: [...prefix, ...command] } : {});
}

describe.skipIf(limit.short !== undefined)(`many connections${limit.short ? ` (skipped: ${limit.short})` : ""}`, () => {
  for (const b of backends) {
    const a = b.availability();
    test.skipIf(!a.available)(`${b.name}: ${CONNECTIONS} connections at once, every answer checked; descriptors back to the start; backlog ${net.LISTEN_BACKLOG}${a.available ? "" : ` (skipped: ${a.reason})`}`, async () => {
      const server = await start(b);
      try {
        const backlog = listenBacklog(server.port);
        if (backlog !== undefined) expect(backlog).toBe(Math.min(net.LISTEN_BACKLOG, somaxconn));
        const fdsAtStart = countFds(server.pid);
        {
          using client = new LoadClient({ host: server.host, port: server.port }, CONNECTIONS, PAYLOAD, 2, 10_000);
          const r = client.runClosed(2, 2);
          expect(r.errors).toEqual(noErrors());
          expect(r.completed).toBe(2 * CONNECTIONS);
          expect(countFds(server.pid)).toBeGreaterThanOrEqual(fdsAtStart + CONNECTIONS);
        }
        expect(await eventually(() => countFds(server.pid) <= fdsAtStart)).toBe(true);
        expect(countFds(server.pid)).toBe(fdsAtStart);
        echoOnce(server.port);
        const stats = await server.stats();
        expect(stats).not.toBeNull();
        expect(stats!.ioErrors).toBe(0);
      } finally {
        const r = await server.stop();
        expect(r.exitCode).toBe(0);
      }
    }, 60_000);
  }
});

/** Connections made while the server cannot accept them: a frame sent on each, echoes collected as they come. */
class Waiting implements Disposable {
  readonly fds: number[] = [];
  readonly echoed: boolean[] = [];
  readonly #got: number[] = [];
  readonly #ep = new Epoll();
  readonly #buf = new NativeBuffer(4096);
  readonly #frame = new NativeBuffer(4096);
  constructor(port: number, n: number) {
    writeLength(this.#frame.bytes, 0, PAYLOAD);
    for (let i = 0; i < n; i++) {
      // The kernel completes the handshake (the backlog has room) whether or not the server accepts.
      const fd = net.connect("127.0.0.1", port);
      this.fds.push(fd);
      this.echoed.push(false);
      this.#got.push(0);
      for (let j = 0; j < PAYLOAD; j++) this.#frame.bytes[HEADER_BYTES + j] = (i + j) & 0xff;
      if (net.writeAllFrom(fd, this.#frame, 0, FRAME) !== FRAME) throw new Error(`send on connection ${i} failed`);
      net.setNonBlocking(fd);
      this.#ep.add(fd, EPOLLIN, i);
    }
  }
  get count(): number {
    return this.echoed.filter(Boolean).length;
  }
  /** Reads what has arrived (waiting at most waitMs); an echo must be the frame sent, whole. */
  pump(waitMs: number): void {
    const n = this.#ep.wait(waitMs);
    for (let k = 0; k < n; k++) {
      const i = this.#ep.tag(k);
      const r = net.readInto(this.fds[i], this.#buf, this.#got[i], FRAME - this.#got[i]);
      if (r === -EAGAIN) continue;
      if (r <= 0) throw new Error(`connection ${i}: ${r === 0 ? "closed by the server" : errnoName(-r)} before its echo`);
      this.#got[i] += r;
      if (this.#got[i] < FRAME) continue;
      const b = this.#buf.bytes;
      expect(readLength(b, 0)).toBe(PAYLOAD);
      for (let j = 0; j < PAYLOAD; j++) expect(b[HEADER_BYTES + j]).toBe((i + j) & 0xff);
      this.echoed[i] = true;
      this.#ep.remove(this.fds[i]);
    }
  }
  /** Closes the connections already answered, freeing the server's descriptors. */
  closeEchoed(): void {
    for (let i = 0; i < this.fds.length; i++) {
      if (this.echoed[i] && this.fds[i] >= 0) {
        net.close(this.fds[i]);
        this.fds[i] = -1;
      }
    }
  }
  [Symbol.dispose](): void {
    for (const fd of this.fds) if (fd >= 0) net.close(fd);
    this.#ep.close();
  }
}

const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => existsSync(p));
/** One backend per accept loop: the TS and C epoll loops, the TS uring loop (single-shot and multishot accepts), the C uring loop, Tokio's. */
const AT_LIMIT = ["epoll", "uring", "uring-multishot", "c-epoll", "c-uring", "tokio"].map((n) => BACKENDS[n]);

describe.skipIf(!PRLIMIT)(`out of descriptors${PRLIMIT ? "" : " (skipped: no prlimit, util-linux)"}`, () => {
  for (const b of AT_LIMIT) {
    const a = b.availability();
    test.skipIf(!a.available)(`${b.name}: at RLIMIT_NOFILE ${SERVER_FD_LIMIT} it waits instead of spinning, then serves the connections that waited${a.available ? "" : ` (skipped: ${a.reason})`}`, async () => {
      const server = await start(b, [PRLIMIT!, `--nofile=${SERVER_FD_LIMIT}:${SERVER_FD_LIMIT}`]);
      try {
        const fdsAtStart = countFds(server.pid);
        {
          using conns = new Waiting(server.port, OVER_LIMIT);
          // At the limit: every connection it accepted has its echo, and accept has failed.
          const seen = { failed: 0 };
          const atLimit = await eventually(async () => {
            conns.pump(20);
            const s = await server.stats();
            seen.failed = s?.ioErrors ?? 0;
            return s !== null && s.ioErrors > 0 && s.active === conns.count;
          });
          expect(atLimit).toBe(true);
          expect(conns.count).toBeGreaterThan(0);
          expect(conns.count).toBeLessThan(OVER_LIMIT);
          await Bun.sleep(AT_LIMIT_MS);
          const during = await server.stats();
          expect(during).not.toBeNull();
          expect(during!.ioErrors - seen.failed).toBeLessThan(MAX_FAILED_ACCEPTS);
          expect(server.exited).toBe(false);

          // Descriptors freed: the connections that waited in the backlog are taken and answered.
          conns.closeEchoed();
          const all = await eventually(() => {
            conns.pump(20);
            return conns.count === OVER_LIMIT;
          });
          expect(all).toBe(true);
        }
        expect(await eventually(() => countFds(server.pid) <= fdsAtStart)).toBe(true);
        echoOnce(server.port);
      } finally {
        const r = await server.stop();
        expect(r.exitCode).toBe(0);
      }
    }, 60_000);
  }
});
