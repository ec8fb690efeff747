// The client is measured too: every measured interval records the client
// thread's CPU over its wall time (real clock_gettime through bun:ffi), a
// round at 90% or more is client-bound, and the warnings say so with what
// to do. The intervals are a busy loop and a sleep, so the two figures are
// far apart; no timing is asserted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { noErrors } from "../bench/results/errors.ts";
import { SampleStore } from "../bench/run/pool.ts";
import { NO_STALL_PROBE, runScenario } from "../bench/run/rounds.ts";
import type { PlacementRun, ScenarioResult } from "../bench/results/schema.ts";
import type { Scenario, ScenarioEnv } from "../bench/scenarios/types.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { analysisWarnings } from "../bench/verdict/warnings.ts";
import { threadCpuNs } from "../ffi/net.ts";
import { startServer } from "./helpers.ts";

/** epoll's unit spins through its interval, bun's sleeps through it. */
const toy: Scenario<null, null> = {
  slug: "toy-busy",
  number: 7,
  title: "Toy busy client",
  defaults: null,
  budgetWeight: 1,
  quick: null,
  report: { layout: "throughput" },
  async prepare() {
    return { state: null, variants: [{ key: "busy", label: "a busy or idle client", params: { client: "ts" }, metric: "throughput, msg/s", higherIsBetter: true }] };
  },
  async unit(_env, _o, _s, { backend, round, meter }) {
    const m = meter("busy");
    await m.begin();
    if (backend === "epoll") {
      const until = threadCpuNs() + 40e6;
      while (threadCpuNs() < until);
    } else await Bun.sleep(40);
    await m.end(1);
    return { busy: { round, throughput: 1, errors: noErrors() } };
  },
};

describe("the client's CPU over every measured interval", () => {
  let a: ServerProcess, b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startServer("epoll"), startServer("bun")]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("a busy client is near 1 and marked, an idle one near 0", async () => {
    const env: ScenarioEnv = {
      backends: ["epoll", "bun"],
      servers: new Map([
        ["epoll", a],
        ["bun", b],
      ]),
      seed: 1,
      quick: false,
      client: "ts", clientThreads: 1, clientCpus: [],
      log: () => {},
      spawnServer: () => Promise.reject(new Error("not needed")),
      focus: () => {},
    };
    const r = await runScenario(
      toy,
      null,
      env,
      { gated: new Set(["epoll", "bun"]), minRounds: 3, otherRounds: 3, blockRounds: 1, maxRounds: 3, deadlineMs: Infinity, seed: 1, stallBoundMs: Infinity, maxRepeats: 0, countSyscalls: false, sequential: false, confidence: 0.95 },
      { baseline: "epoll", probe: NO_STALL_PROBE, focus: () => {} },
      new SampleStore(),
    );
    const [busy, idle] = ["epoll", "bun"].map((n) => r.variants[0].backends.find((x) => x.backend === n)!);
    for (const x of busy.rounds) expect(x.client_util!).toBeGreaterThan(0.5);
    for (const x of idle.rounds) {
      expect(x.client_util!).toBeLessThan(0.5);
      expect(x.client_bound).toBe(false);
    }
    for (const x of [...busy.rounds, ...idle.rounds]) expect(x.client_bound).toBe(x.client_util! >= 0.9);
  });
});

describe("the client-bound warning", () => {
  const run = (client: string, bound: boolean[]): PlacementRun[] => {
    const s: ScenarioResult = {
      id: 6,
      slug: "throughput-stress",
      name: "Throughput stress",
      status: "ok",
      variants: [
        {
          key: "stress",
          label: "",
          params: { client },
          metric: "throughput, msg/s",
          higherIsBetter: true,
          backends: [
            { backend: "uring", rounds: bound.map((x, i) => ({ round: i + 1, throughput: 1, errors: noErrors(), client_util: x ? 0.97 : 0.5, client_bound: x })), headline: 1, range: [1, 1], errors: noErrors() },
            { backend: "epoll", rounds: bound.map((_, i) => ({ round: i + 1, throughput: 1, errors: noErrors(), client_util: 0.5, client_bound: false })), headline: 1, range: [1, 1], errors: noErrors() },
          ],
        },
      ],
    };
    return [{ placement: { mode: "cross", serverCpu: 0, clientCpu: 1 }, scenarios: [s] }];
  };
  const bound = (runs: PlacementRun[]) => analysisWarnings(runs).filter((w) => w.code === "client-bound");

  test("most rounds bound: one warning naming the backend and the remedy", () => {
    const w = bound(run("ts", [true, true, false]));
    expect(w).toHaveLength(1);
    expect(w[0].text).toContain("uring (2 of 3)");
    expect(w[0].text).not.toContain("epoll");
    expect(w[0].remedy).toContain("--client c");
    // With the C client already running, the remedy is more CPUs for it, or another host.
    expect(bound(run("c", [true, true, true]))[0].remedy).toContain("another host");
  });

  test("a minority of bound rounds is no warning", () => {
    expect(bound(run("ts", [true, false, false]))).toEqual([]);
  });
});
