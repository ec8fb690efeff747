// The load client: its schedule arithmetic, and real runs against a real
// server (answers verified byte for byte by the client itself).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LoadClient, untilNextSend } from "../bench/clients/load.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { startServer } from "./helpers.ts";

describe("open-loop schedule", () => {
  test("a send that is already due waits 0; only the end of the schedule is -1", () => {
    expect(untilNextSend(1000, 100, 5, 10, 1200)).toBe(300);
    // Late (flushing overran the gap): due now, never "nothing left".
    expect(untilNextSend(1000, 100, 5, 10, 1700)).toBe(0);
    expect(untilNextSend(1000, 100, 10, 10, 1700)).toBe(-1);
    for (let now = 0; now < 5000; now += 37) expect(untilNextSend(0, 33.3, 7, 8, now)).toBeGreaterThanOrEqual(0);
  });
});

describe("against a real server", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer("epoll");
  });
  afterAll(async () => {
    await server.stop();
  });

  test("closed loop: every request answered and verified, windows honoured", () => {
    using lc = new LoadClient(server, 4, 37, 8);
    const r = lc.runClosed(500, 8);
    expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
    expect(r.completed).toBe(2000);
    expect(r.latencyNs.length).toBe(2000);
  });

  test("open loop: every scheduled request sent once and answered, lag recorded per send", () => {
    using lc = new LoadClient(server, 3, 100, 1024);
    const r = lc.runOpen(3000, 20000);
    expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
    expect(r.sent).toBe(3000);
    expect(r.completed).toBe(3000);
    expect(r.sendLagNs!.length).toBe(3000);
    for (const x of r.sendLagNs!) expect(x).toBeGreaterThanOrEqual(0);
    // Corrected latency can never be below the uncorrected one for the same request set.
    const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);
    expect(sum(r.latencyNs)).toBeGreaterThanOrEqual(sum(r.uncorrectedNs!));
  });

  test("a server that answers wrongly is a mismatch, not a result", async () => {
    const bad = await startServer("epoll", { extraArgs: ["--corrupt-every", "50"] });
    try {
      using lc = new LoadClient(bad, 2, 100, 8);
      const r = lc.runClosed(100, 8);
      expect(r.errors.mismatch).toBeGreaterThan(0);
    } finally {
      await bad.stop();
    }
  });
});
