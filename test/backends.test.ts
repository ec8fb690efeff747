// Every backend, as a real server process on loopback, echoes correctly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ServerProcess } from "../bench/server/process.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import { FramedClient, payload, sameBytes, startServer } from "./helpers.ts";

const SIZES = [0, 10, 100, 1000, 1 << 20];

for (const [backend, info] of Object.entries(BACKENDS)) {
  const avail = info.availability();
  if (!avail.available) {
    test.skip(`${backend} echo (unavailable: ${avail.reason})`, () => {});
    continue;
  }
  describe(`${backend} echo`, () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(backend);
    });
    afterAll(async () => {
      const r = await server.stop();
      expect(r.exitCode).toBe(0);
    });

    test("one connection: 0 B to 1 MiB, byte for byte", async () => {
      const c = await FramedClient.connect(server.port);
      const sent = SIZES.map((n, i) => payload(n, i + 1));
      for (const p of sent) c.send(p);
      const got = await c.waitFor(sent.length);
      expect(got.length).toBe(sent.length);
      got.forEach((g, i) => expect(sameBytes(g, sent[i])).toBe(true));
      c.close();
    });

    test("50 concurrent connections, each every size", async () => {
      const clients = await Promise.all(Array.from({ length: 50 }, () => FramedClient.connect(server.port)));
      const sent = clients.map((c, ci) => {
        const ps = SIZES.map((n, i) => payload(n, ci * 10 + i));
        for (const p of ps) c.send(p);
        return ps;
      });
      const got = await Promise.all(clients.map((c) => c.waitFor(SIZES.length, 30000)));
      got.forEach((frames, ci) => {
        expect(frames.length).toBe(SIZES.length);
        frames.forEach((f, i) => expect(sameBytes(f, sent[ci][i])).toBe(true));
      });
      for (const c of clients) c.close();
    }, 60000);

    test("frames split into single bytes and coalesced into one write", async () => {
      const c = await FramedClient.connect(server.port);
      const a = payload(37, 5), b = payload(0, 6), d = payload(2000, 7);
      const bytes = new Uint8Array([...frame(a), ...frame(b), ...frame(d)]);
      for (let i = 0; i < 50; i++) c.writeRaw(bytes.subarray(i, i + 1));
      c.writeRaw(bytes.subarray(50));
      c.writeRaw(bytes);
      const got = await c.waitFor(6);
      expect(got.map((g) => g.length)).toEqual([37, 0, 2000, 37, 0, 2000]);
      expect(sameBytes(got[5], d)).toBe(true);
      c.close();
    });

    test("the server counts what it served", async () => {
      const s = await server.stats();
      expect(s).not.toBeNull();
      expect(s!.connections).toBeGreaterThanOrEqual(52);
      expect(s!.frames).toBeGreaterThanOrEqual(SIZES.length * 51 + 6);
    });
  });
}

function frame(p: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + p.length);
  new DataView(out.buffer).setUint32(0, p.length);
  out.set(p, 4);
  return out;
}

describe.skipIf(!BACKENDS["uring-multishot"].availability().available)("uring-multishot with 2 provided buffers", () => {
  test("frames far larger than the buffer ring: -ENOBUFS ends the multishot recv, it is re-armed, nothing is lost", async () => {
    const server = await startServer("uring-multishot", { extraArgs: ["--buffers", "2"] });
    try {
      const clients = await Promise.all(Array.from({ length: 4 }, () => FramedClient.connect(server.port)));
      const sent = clients.map((c, ci) => {
        const ps = [1 << 20, 300000, 5, 1 << 20].map((n, i) => payload(n, ci * 7 + i));
        for (const p of ps) c.send(p);
        return ps;
      });
      const got = await Promise.all(clients.map((c) => c.waitFor(4, 30000)));
      got.forEach((frames, ci) => frames.forEach((f, i) => expect(sameBytes(f, sent[ci][i])).toBe(true)));
      const stats = await server.stats();
      expect(stats!.noBuffers).toBeGreaterThan(0);
      for (const c of clients) c.close();
    } finally {
      expect((await server.stop()).exitCode).toBe(0);
    }
  }, 60000);
});
