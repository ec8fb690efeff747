// Resource leaks: 10 000 connections (100 at a time: connect, one echo, close)
// through every available backend, as a real server process. Afterwards the
// server holds as many descriptors as before (/proc/PID/fd) and its resident
// memory has not grown without bound (/proc/PID/status VmRSS).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HEADER_BYTES, writeLength } from "../bench/protocol/frame.ts";
import { countFds, readProcStat, type ProcStat } from "../bench/measure/procstat.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { BACKENDS, type Backend } from "../bench/server/backends.ts";
import { errnoName } from "../ffi/errno.ts";
import { NativeBuffer } from "../ffi/memory.ts";
import * as net from "../ffi/net.ts";
import { startServer } from "./helpers.ts";

const CONNECTIONS = 10_000;
const BATCH = 100;
const PAYLOAD = 32;
const FRAME = HEADER_BYTES + PAYLOAD;
/** RSS may grow (allocator, JIT, buffer pools) but not by this much. */
const RSS_LIMIT_KIB = 64 * 1024;

const send = new NativeBuffer(FRAME);
writeLength(send.bytes, 0, PAYLOAD);
for (let i = 0; i < PAYLOAD; i++) send.bytes[HEADER_BYTES + i] = (i * 7 + 3) & 0xff;
const recv = new NativeBuffer(4096);

/**
 * One batch through blocking sockets (ffi/net.ts): open n connections, send a
 * frame on each, read each answer back and check it, close them all (FIN).
 */
function batch(port: number, n: number): void {
  const fds: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const fd = net.connect("127.0.0.1", port);
      fds.push(fd);
      net.setRecvTimeout(fd, 10_000);
      net.setSendTimeout(fd, 10_000);
    }
    for (const fd of fds) {
      const w = net.writeAllFrom(fd, send, 0, FRAME);
      if (w !== FRAME) throw new Error(`send: ${w < 0 ? errnoName(-w) : w}`);
    }
    for (const fd of fds) {
      let got = 0;
      while (got < FRAME) {
        const r = net.readInto(fd, recv, got, FRAME - got);
        if (r <= 0) throw new Error(`read after ${got} of ${FRAME} bytes: ${r === 0 ? "EOF" : errnoName(-r)}`);
        got += r;
      }
      for (let i = 0; i < FRAME; i++) if (recv.bytes[i] !== send.bytes[i]) throw new Error(`answer differs at byte ${i}`);
    }
  } finally {
    for (const fd of fds) net.close(fd);
  }
}

/** Polls until the server's descriptor count is back to `want` (it closes a little after the clients do). */
async function settleFds(pid: number, want: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = countFds(pid);
  while (n !== want && Date.now() < deadline) {
    await Bun.sleep(25);
    n = countFds(pid);
  }
  return n;
}

const report: Record<string, { fds: string; rssGrowthMiB: number; hwmMiB: number }> = {};

for (const b of Object.values(BACKENDS) as Backend[]) {
  const a = b.availability();
  describe.skipIf(!a.available)(a.available ? `${b.name}: no leaks` : `${b.name}: no leaks (skipped: ${a.reason})`, () => {
    let server: ServerProcess;
    beforeAll(async () => {
      // An external server (tokio) is started directly, so that the pid is the server's own.
      server = await startServer(b.name, b.kind === "executable" ? { command: b.command() } : {});
    });
    afterAll(async () => {
      if (!server) return;
      const r = await server.stop();
      expect(r.exitCode).toBe(0);
    });

    test(`${CONNECTIONS} connections (${BATCH} at a time, one echo each): descriptors back to the start, memory bounded`, async () => {
      // Warm up first: pools, lazily created descriptors and the JIT settle in the first batches.
      batch(server.port, BATCH);
      batch(server.port, BATCH);
      await Bun.sleep(50);
      const start: ProcStat = readProcStat(server.pid);
      const fdsAtStart = await settleFds(server.pid, start.fds, 1000);
      // The first answer proves serve.ts has installed its SIGUSR1 handler (see faults.test.ts).
      const before = await server.stats();
      expect(before).not.toBeNull();

      let peakFds = 0;
      for (let done = 0; done < CONNECTIONS; done += BATCH) {
        batch(server.port, BATCH);
        if (done % 2000 === 0) peakFds = Math.max(peakFds, countFds(server.pid));
        // Let the test process's own event loop (the stdout pump of the server) breathe.
        if (done % 1000 === 0) await Bun.sleep(0);
      }

      const fdsAfter = await settleFds(server.pid, fdsAtStart);
      const end = readProcStat(server.pid);
      const after = await server.stats();
      report[b.name] = {
        fds: `${fdsAtStart} -> ${fdsAfter} (peak seen ${peakFds})`,
        rssGrowthMiB: Math.round((end.rssKiB - start.rssKiB) / 102.4) / 10,
        hwmMiB: Math.round(end.hwmKiB / 102.4) / 10,
      };
      expect(fdsAfter).toBe(fdsAtStart);
      expect(end.rssKiB - start.rssKiB).toBeLessThan(RSS_LIMIT_KIB);
      expect(after).not.toBeNull();
      expect(after!.connections - before!.connections).toBe(CONNECTIONS);
      expect(after!.frames - before!.frames).toBe(CONNECTIONS);
      expect(after!.active).toBe(0);
      expect(after!.ioErrors).toBe(before!.ioErrors);
    }, 60000);
  });
}

afterAll(() => {
  if (process.env.LEAKS_VERBOSE) console.log(JSON.stringify(report, null, 1));
});
