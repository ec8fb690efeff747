// The scenario registry is the one list the CLI, the runner, the report and
// the JSON read: every scenario in it is a choice of --scenarios, and a new
// scenario object (here a toy one, defined in this file) runs in rounds
// against a real server, lands in the results with its slug, and gets its
// table in the report, with no other file touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BENCH_FLAGS, planFromFlags } from "../bench/cli/bench-plan.ts";
import { parseArgs } from "../bench/cli/args.ts";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { noErrors } from "../bench/results/errors.ts";
import { summarize } from "../bench/stats/stats.ts";
import { SampleStore } from "../bench/run/pool.ts";
import { ServerFleet } from "../bench/run/fleet.ts";
import { MAX_KEPT_PER_UNIT, NO_STALL_PROBE, runScenario, shuffled, strided } from "../bench/run/rounds.ts";
import { seededRandom } from "../bench/stats/stats.ts";
import { findScenario, SCENARIOS } from "../bench/scenarios/index.ts";
import type { Scenario, ScenarioEnv } from "../bench/scenarios/types.ts";
import { tablesForScenario } from "../bench/report/scenario-tables.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { startServer } from "./helpers.ts";

describe("every registered scenario", () => {
  test("is a --scenarios choice by slug and by number, and in the default list", () => {
    const choices = BENCH_FLAGS.scenarios.choices!;
    for (const s of SCENARIOS) {
      expect(choices).toContain(s.slug);
      expect(choices).toContain(String(s.number));
      expect(BENCH_FLAGS.scenarios.default).toContain(s.slug);
      expect(findScenario(s.slug)).toBe(s);
      expect(findScenario(String(s.number))).toBe(s);
    }
  });

  test("becomes part of the plan when asked for, with its own defaults", () => {
    for (const s of SCENARIOS) {
      const plan = planFromFlags(parseArgs(["--scenarios", s.slug, "--backends", "epoll"], BENCH_FLAGS), ["--scenarios", s.slug, "--backends", "epoll"], () => {});
      expect(plan.scenarios.map((x) => x.def)).toEqual([s]);
      expect(plan.scenarios[0].options).toMatchObject(s.defaults);
    }
  });

  test("its own flags are bench flags that set its options, and only its options (the scenario declares them; nothing else names them)", () => {
    const values: Record<string, [string, unknown]> = { int: ["17", 17], number: ["1234.5", 1234.5], list: ["12,34", ["12", "34"]] };
    for (const s of SCENARIOS)
      for (const [name, f] of Object.entries(s.flags ?? {})) {
        expect(BENCH_FLAGS[name]).toMatchObject({ type: f.type, help: f.help, group: "Scenario options" });
        const [given, parsed] = values[f.type];
        const argv = ["--scenarios", "all", "--backends", "epoll", `--${name}`, given];
        const plan = planFromFlags(parseArgs(argv, BENCH_FLAGS), argv, () => {});
        for (const x of plan.scenarios) {
          const expected = x.def === s ? (f.toOption ? f.toOption(parsed as number | string[]) : parsed) : (x.def.defaults as Record<string, unknown>)[f.option];
          expect({ scenario: x.def.slug, flag: name, value: (x.options as Record<string, unknown>)[f.option] }).toEqual({ scenario: x.def.slug, flag: name, value: expected });
        }
      }
  });

  test("has a table in the report, titled with its number and title", () => {
    for (const s of SCENARIOS) {
      const variants = [{ key: "k", label: "a variant", params: {}, metric: "m", higherIsBetter: false, backends: [{ backend: "epoll", rounds: [], headline: 10, range: [9, 11] as [number, number], errors: noErrors() }] }];
      const tables = tablesForScenario({ id: s.number, slug: s.slug, name: s.title, status: "ok", variants }, "epoll");
      expect(tables.length).toBeGreaterThan(0);
      expect(tables[0].title).toStartWith(`Scenario ${s.number}: ${s.title}`);
    }
  });
});

// A seventh scenario, as a user would add one: one object.
const toy: Scenario<{ requests: number }, null> = {
  slug: "toy-echo",
  number: 7,
  title: "Toy echo",
  defaults: { requests: 50 },
  quick: { requests: 20 },
  budgetWeight: 1,
  report: { layout: "by-metric" },
  async prepare(_env, o) {
    return { state: null, variants: [{ key: "100B", label: "100-byte echo", params: { ...o }, metric: "p50 latency, µs", higherIsBetter: false }] };
  },
  async unit(env, o, _st, { server, round, meter, keep }) {
    using c = new PingPongClient(server.host, server.port, 100, 2000, env.seed + round);
    c.setPayload(100);
    const errors = noErrors();
    const ns = new Float64Array(o.requests);
    const m = meter("100B");
    await m.begin();
    for (let i = 0; i < o.requests; i++) {
      const t = c.roundTrip(i);
      if (t < 0) {
        errors.io++;
        break;
      }
      ns[i] = t;
    }
    await m.end(o.requests);
    keep("100B", ns);
    return { "100B": { round, latency: summarize(ns, 1e-3), errors } };
  },
};

test("the order of each round: a seeded shuffle, the same for the same seed, every backend once, none always first", () => {
  const names = ["a", "b", "c", "d"];
  const draw = (seed: number) => {
    const rnd = seededRandom(seed);
    return Array.from({ length: 200 }, () => shuffled(names, rnd));
  };
  const x = draw(5);
  expect(draw(5)).toEqual(x);
  expect(draw(6)).not.toEqual(x);
  for (const o of x) expect([...o].sort()).toEqual(names);
  const firsts = new Map<string, number>();
  for (const o of x) firsts.set(o[0], (firsts.get(o[0]) ?? 0) + 1);
  // 200 rounds: each backend goes first about 50 times (binomial; 25-75 holds with overwhelming probability).
  for (const n of names) {
    expect(firsts.get(n)!).toBeGreaterThan(25);
    expect(firsts.get(n)!).toBeLessThan(75);
  }
});

describe("a new scenario object", () => {
  let a: ServerProcess, b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startServer("epoll"), startServer("bun")]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("runs in rounds against real servers in a seeded random order, pauses the others, and lands in the JSON and the report", async () => {
    const servers = new Map<string, ServerProcess>([["epoll", a], ["bun", b]]);
    const focused: string[][] = [];
    const env: ScenarioEnv = {
      backends: ["epoll", "bun"],
      servers,
      seed: 3,
      quick: false,
      client: "ts", clientThreads: 1, clientCpus: [],
      log: () => {},
      spawnServer: () => Promise.reject(new Error("not needed")),
      focus: () => {},
    };
    const result = await runScenario(
      toy,
      toy.defaults,
      env,
      { gated: new Set(["epoll", "bun"]), minRounds: 4, otherRounds: 4, blockRounds: 1, maxRounds: 4, deadlineMs: Infinity, seed: 3, stallBoundMs: Infinity, maxRepeats: 0, countSyscalls: false, sequential: false, confidence: 0.95 },
      {
        baseline: "epoll",
        probe: NO_STALL_PROBE,
        focus: (keep) => focused.push(keep?.map((s) => s.backend) ?? []),
      },
      new SampleStore(),
    );
    expect(result.slug).toBe("toy-echo");
    expect(result.id).toBe(7);
    expect(result.status).toBe("ok");
    expect(result.orders!.length).toBe(4);
    for (const o of result.orders!) expect([...o].sort()).toEqual(["bun", "epoll"]);
    expect(result.sequential!.rounds).toBe(4);
    // During each unit only that backend's server runs.
    expect(focused.filter((f) => f.length === 1).length).toBe(8);
    const v = result.variants[0];
    for (const bk of v.backends) {
      expect(bk.rounds.length).toBe(4);
      expect(bk.errors).toEqual(noErrors());
      expect(bk.pooled!.n).toBe(200);
      expect(bk.costs!.requests).toBe(200);
    }
    expect(v.backends.find((x) => x.backend === "epoll")!.relative!.ratio).toBe(1);
    const json = JSON.parse(JSON.stringify(result));
    expect(json.slug).toBe("toy-echo");
    expect(tablesForScenario(result, "epoll")[0].title).toBe("Scenario 7: Toy echo, 100-byte echo (µs)");
  });

  test("with fresh servers: every round is measured on new processes, and descriptors are compared within the last one", async () => {
    const fleet = new ServerFleet();
    await fleet.start("epoll", { backend: "epoll" });
    await fleet.start("bun", { backend: "bun" });
    const seen = new Map<string, Set<number>>([["epoll", new Set()], ["bun", new Set()]]);
    const env: ScenarioEnv = { backends: ["epoll", "bun"], servers: fleet.servers, seed: 3, quick: false, client: "ts", clientThreads: 1, clientCpus: [], log: () => {}, spawnServer: () => Promise.reject(new Error("not needed")), focus: () => {} };
    const counting: Scenario<{ requests: number }, null> = {
      ...toy,
      async unit(e, o, st, u) {
        seen.get(u.backend)!.add(u.server.pid);
        return toy.unit(e, o, st, u);
      },
    };
    try {
      const result = await runScenario(
        counting,
        toy.defaults,
        env,
        { gated: new Set(["epoll", "bun"]), minRounds: 3, otherRounds: 3, blockRounds: 1, maxRounds: 3, deadlineMs: Infinity, seed: 3, stallBoundMs: Infinity, maxRepeats: 0, countSyscalls: false, sequential: false, confidence: 0.95 },
        { baseline: "epoll", probe: NO_STALL_PROBE, focus: (keep) => fleet.focus(keep), renew: (l) => fleet.renew(l) },
        new SampleStore(),
      );
      // Three rounds, three processes per backend.
      for (const pids of seen.values()) expect(pids.size).toBe(3);
      for (const b of result.variants[0].backends) {
        expect(b.errors).toEqual(noErrors());
        expect(b.resources!.before!.fds).toBe(b.resources!.after!.fds);
      }
    } finally {
      const done = await fleet.stopAll();
      expect(done.get("epoll")!.instances).toBe(4);
    }
  });
});

test("a unit keeps at most MAX_KEPT_PER_UNIT latency samples, every k-th in send order", () => {
  const small = [3, 1, 2];
  expect([...strided(small, 5)]).toEqual(small);
  const big = Float64Array.from({ length: 1000 }, (_, i) => i);
  const kept = strided(big, 100);
  expect(kept.length).toBe(100);
  expect([...kept.slice(0, 3)]).toEqual([0, 10, 20]);
  expect(kept[99]).toBe(990);
  expect(MAX_KEPT_PER_UNIT).toBeGreaterThanOrEqual(10000);
});

test("samples are kept per scenario and variant: two scenarios naming a variant alike stay apart", () => {
  const store = new SampleStore();
  store.add("corrected", "ping-pong", "echo", "epoll", Float64Array.of(1, 2));
  store.add("corrected", "request-overhead", "echo", "epoll", Float64Array.of(100, 200, 300));
  expect([...store.get("corrected", "ping-pong", "echo", "epoll")!]).toEqual([1, 2]);
  expect([...store.get("corrected", "request-overhead", "echo", "epoll")!]).toEqual([100, 200, 300]);
  expect(store.backends("corrected", "toy-echo", "echo")).toEqual([]);
});

test("a scenario declares its budget weight, headline variant and pictures; nothing else names them", () => {
  for (const s of SCENARIOS) expect(s.budgetWeight).toBeGreaterThan(0);
  expect(findScenario("ping-pong")!.headlineVariant).toBe("100B");
  expect(SCENARIOS.filter((s) => s.report.distribution).map((s) => s.slug)).toEqual(["ping-pong", "latency-under-load"]);
  expect(SCENARIOS.filter((s) => s.report.costView).map((s) => s.slug)).toEqual(["ping-pong", "throughput-stress"]);
});
