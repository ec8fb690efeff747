// The decision gate on synthetic results with known answers: every criterion
// status, every verdict, C3's both-must-pass rule, the paired analysis (a
// drift shared by both backends cancels), a decision one round carries kept
// and marked fragile, stalled rounds left out, CLIENT-BOUND throughput, the
// A/A control as an equivalence test, and what more rounds could do for an
// undecided criterion.
import { describe, expect, test } from "bun:test";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";
import { evaluateGate, type GatePair } from "../bench/verdict/gate.ts";
import { evaluateControl, evaluateGatePairs, scenarioSettled } from "../bench/verdict/control.ts";
import { requiredRounds, pairedLogRatios } from "../bench/stats/paired.ts";
import type { BackendInfoResult, BackendResult, BenchResults, Criterion, Gate, RoundResult, ScenarioResult, VariantResult } from "../bench/results/schema.ts";
import { seededRandom } from "../bench/stats/stats.ts";

// ---- synthetic results ----
const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });

/** n values uniformly spread in center ± spread, reproducibly. */
function around(center: number, spread: number, n: number, seed: number): number[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => center + (rnd() * 2 - 1) * spread);
}

function lat(p50: number, p95 = p50 * 1.5, p99 = p50 * 2): RoundResult["latency"] {
  return { n: 1000, p50, p95, p99, p999: p99 * 1.5, mean: p50 * 1.1, min: p50 * 0.8, max: p99 * 3 };
}

function backend(name: string, rounds: RoundResult[], more: Partial<BackendResult> = {}): BackendResult {
  return { backend: name, rounds, headline: NaN, range: [NaN, NaN], errors: noErr(), ...more };
}

function variant(key: string, backends: BackendResult[], higherIsBetter = false): VariantResult {
  return { key, label: key, params: {}, metric: higherIsBetter ? "throughput, msg/s" : "p50 latency, µs", higherIsBetter, backends };
}

/** Per backend: the per-round p50 values of the 100B variant; 10B and 1000B are scaled copies. */
function s1(per: Record<string, number[]>): ScenarioResult {
  const sizes: [string, number][] = [["10B", 0.9], ["100B", 1], ["1000B", 1.3]];
  return {
    id: 1,
    slug: "ping-pong",
    name: "Single ping-pong latency",
    status: "ok",
    variants: sizes.map(([key, k]) => variant(key, Object.entries(per).map(([b, xs]) => backend(b, xs.map((x, i) => ({ round: i + 1, latency: lat(x * k), errors: noErr() })))))),
  };
}

function throughputScenario(id: 2 | 6, per: Record<string, number[]>): ScenarioResult {
  const key = id === 2 ? "window" : "stress";
  const name = id === 2 ? "Persistent-connection throughput" : "Throughput stress";
  return {
    id,
    slug: id === 2 ? "persistent-throughput" : "throughput-stress",
    name,
    status: "ok",
    variants: [variant(key, Object.entries(per).map(([b, xs]) => backend(b, xs.map((x, i) => ({ round: i + 1, throughput: x, errors: noErr() })))), true)],
  };
}

/** Per backend: per-round [p95, p99] of the corrected latency. */
function s4(per: Record<string, { p95: number[]; p99: number[] }>): ScenarioResult {
  return {
    id: 4,
    slug: "latency-under-load",
    name: "Latency percentiles under load",
    status: "ok",
    variants: [
      variant(
        "open-loop",
        Object.entries(per).map(([b, v]) =>
          backend(
            b,
            v.p95.map((p95, i) => ({ round: i + 1, latency: lat(p95 / 2, p95, v.p99[i]), uncorrected: lat(p95 / 2.2, p95 * 0.8, v.p99[i] * 0.7), extra: { rate_per_s: 20000 }, errors: noErr() })),
          ),
        ),
      ),
    ],
  };
}

const CONTEXT = SYNTHETIC_CONTEXT;

function info(name: string, available = true): BackendInfoResult {
  return { name, description: `${name} backend`, available, reason: available ? undefined : "io_uring_setup: EPERM", hint: available ? undefined : "set kernel.io_uring_disabled=0" };
}

function results(scenarios: ScenarioResult[], backends: BackendInfoResult[] = [info("bun"), info("uring")]): BenchResults {
  return { schema: "iouring-bench/2", context: CONTEXT, config: {}, backends, baseline: "bun", scenarios, warnings: [] };
}

const N = 8;
const base1 = around(100, 2, N, 1);
const s1Of = (cand: number[], extra: Record<string, number[]> = {}) => s1({ bun: base1, uring: cand, ...extra });
const C1_PASS = around(80, 2, N, 2); // ~20% faster, threshold 10
const C1_FAIL = around(99, 2, N, 3); // ~1%
const C1_INC = around(89, 12, N, 4); // ~11% with a wide spread

const baseTp = around(10000, 200, N, 5);
const s2Of = (cand: number[], extra: Record<string, number[]> = {}) => throughputScenario(2, { bun: baseTp, uring: cand, ...extra });
const s6Of = (cand: number[], extra: Record<string, number[]> = {}) => throughputScenario(6, { bun: baseTp, uring: cand, ...extra });
const TP_PASS = around(13000, 200, N, 6); // +30%: passes C2 (15) and C4 (20)
const TP_FAIL = around(10300, 200, N, 7); // +3%
const C2_INC = around(11700, 1500, N, 8); // ~+17% with a wide spread, threshold 15

const baseP95 = around(200, 4, N, 9);
const baseP99 = around(400, 8, N, 10);
const P95_PASS = around(150, 4, N, 11); // 25%
const P99_PASS = around(300, 8, N, 12); // 25%
const P99_FAIL = around(390, 8, N, 13); // 2.5%
const P99_INC = around(340, 60, N, 14); // ~15% with a wide spread
const s4Of = (p95: number[], p99: number[]) => s4({ bun: { p95: baseP95, p99: baseP99 }, uring: { p95, p99 } });

const OPTS = { confidence: 0.95 };
const HEAD: GatePair = { baseline: "bun", candidate: "uring", kind: "headline" };
const pair = (baseline: string, candidate: string, kind: GatePair["kind"] = "pair"): GatePair => ({ baseline, candidate, kind });
const gateOf = (scenarios: ScenarioResult[], backends?: BackendInfoResult[]) => evaluateGate(results(scenarios, backends), HEAD, OPTS);
const byId = (g: Gate, id: string): Criterion => g.criteria.find((c) => c.id === id)!;

/** All four criteria at chosen outcomes. */
function allFour(o: { c1: number[]; c2: number[]; c3: [number[], number[]]; c4: number[] }): ScenarioResult[] {
  return [s1Of(o.c1), s2Of(o.c2), s4Of(o.c3[0], o.c3[1]), s6Of(o.c4)];
}

describe("criterion status", () => {
  test("C1: PASS, FAIL, INCONCLUSIVE from the geometric mean over sizes", () => {
    const pass = byId(gateOf([s1Of(C1_PASS)]), "C1");
    expect(pass.status).toBe("PASS");
    expect(pass.improvement_pct!).toBeGreaterThan(17);
    expect(pass.improvement_pct!).toBeLessThan(23);
    expect(pass.ci![0]).toBeGreaterThan(10);
    expect(pass.ci![0]).toBeLessThanOrEqual(pass.improvement_pct!);
    expect(pass.ci![1]).toBeGreaterThanOrEqual(pass.improvement_pct!);
    expect(pass.note).toContain("10B");
    expect(pass.note).toContain("1000B");
    expect(byId(gateOf([s1Of(C1_FAIL)]), "C1").status).toBe("FAIL");
    const inc = byId(gateOf([s1Of(C1_INC)]), "C1");
    expect(inc.status).toBe("INCONCLUSIVE");
    expect(inc.ci![0]).toBeLessThan(10);
    expect(inc.ci![1]).toBeGreaterThan(10);
  });

  test("C1 is the geometric mean over sizes of the per-round ratios", () => {
    const r = results([s1({ bun: [100, 100, 100], uring: [80, 80, 80] })]);
    // Make the sizes differ: 10B 0.5, 100B 0.8, 1000B 1.0 of the baseline.
    const [v10, , v1000] = r.scenarios[0].variants;
    for (const rr of v10.backends[1].rounds) rr.latency!.p50 = v10.backends[0].rounds[0].latency!.p50 * 0.5;
    for (const rr of v1000.backends[1].rounds) rr.latency!.p50 = v1000.backends[0].rounds[0].latency!.p50;
    const c1 = byId(evaluateGate(r, HEAD, OPTS), "C1");
    expect(c1.improvement_pct!).toBeCloseTo((1 - Math.cbrt(0.5 * 0.8 * 1)) * 100, 9);
  });

  test("C2 and C4: throughput, higher is better, thresholds 15% and 20%", () => {
    const g = gateOf([s2Of(TP_PASS), s6Of(TP_PASS)]);
    expect(byId(g, "C2").status).toBe("PASS");
    expect(byId(g, "C4").status).toBe("PASS");
    expect(byId(g, "C2").improvement_pct!).toBeGreaterThan(25);
    const f = gateOf([s2Of(TP_FAIL), s6Of(TP_FAIL)]);
    expect(byId(f, "C2").status).toBe("FAIL");
    expect(byId(f, "C4").status).toBe("FAIL");
    expect(byId(gateOf([s2Of(C2_INC)]), "C2").status).toBe("INCONCLUSIVE");
    // 23% passes C2's 15% but not C4's 20% for sure.
    const mid = around(12300, 1500, N, 21);
    expect(byId(gateOf([s6Of(mid)]), "C4").status).toBe("INCONCLUSIVE");
  });

  test("INVALID: errors or a failure in either backend, naming the backend and the errors", () => {
    const s = s2Of(TP_PASS);
    const cand = s.variants[0].backends[1];
    cand.errors.timeout = 3;
    cand.rounds[2].errors.timeout = 3;
    const c2 = byId(gateOf([s]), "C2");
    expect(c2.status).toBe("INVALID");
    expect(c2.note).toContain("uring");
    expect(c2.note).toContain("3 timeout");
    expect(c2.improvement_pct).toBeNull();

    const s1b = s1Of(C1_PASS);
    s1b.variants[1].backends[0].failure = "server exited (code 1) before round 3";
    const c1 = byId(gateOf([s1b]), "C1");
    expect(c1.status).toBe("INVALID");
    expect(c1.note).toContain("bun 100B");
    expect(c1.note).toContain("server exited");

    const failed = { ...s6Of(TP_PASS), status: "failed" as const, note: "the load generator crashed" };
    const c4 = byId(gateOf([failed]), "C4");
    expect(c4.status).toBe("INVALID");
    expect(c4.note).toContain("load generator crashed");
  });

  test("NOT EVALUATED: scenario missing or skipped, backend missing, with the reason", () => {
    const g = gateOf([s1Of(C1_PASS), { id: 2, slug: "persistent-throughput", name: "Persistent-connection throughput", status: "skipped", note: "not selected with --scenarios", variants: [] }]);
    expect(byId(g, "C2").status).toBe("NOT EVALUATED");
    expect(byId(g, "C2").note).toContain("skipped: not selected");
    expect(byId(g, "C3").status).toBe("NOT EVALUATED");
    expect(byId(g, "C3").note).toBe("scenario 4 was not run");
    expect(byId(g, "C4").note).toBe("scenario 6 was not run");

    const onlyBase = throughputScenario(2, { bun: baseTp });
    const c2 = byId(gateOf([onlyBase], [info("bun"), info("uring"), info("epoll")]), "C2");
    expect(c2.status).toBe("NOT EVALUATED");
    expect(c2.note).toContain("uring");
  });
});

describe("C3: p95 and p99 must both pass", () => {
  test("both pass: PASS, the smaller improvement is reported", () => {
    const smallerP99 = around(310, 8, N, 15); // ~22.5% < p95's 25%
    const c3 = byId(gateOf([s4Of(P95_PASS, smallerP99)]), "C3");
    expect(c3.status).toBe("PASS");
    expect(c3.improvement_pct!).toBeGreaterThan(20);
    expect(c3.improvement_pct!).toBeLessThan(24);
    expect(c3.note).toMatch(/p95 \+2\d\.\d% PASS; p99 \+2\d\.\d% PASS/);
  });

  test("p95 passes, p99 fails: FAIL", () => {
    const c3 = byId(gateOf([s4Of(P95_PASS, P99_FAIL)]), "C3");
    expect(c3.status).toBe("FAIL");
    expect(c3.improvement_pct!).toBeLessThan(5); // p99's, the smaller
    expect(c3.note).toContain("p95");
    expect(c3.note).toContain("FAIL");
  });

  test("p95 passes, p99 inconclusive: INCONCLUSIVE", () => {
    const c3 = byId(gateOf([s4Of(P95_PASS, P99_INC)]), "C3");
    expect(c3.status).toBe("INCONCLUSIVE");
    expect(c3.note).toContain("PASS");
    expect(c3.note).toContain("INCONCLUSIVE");
  });

  test("p95 fails, p99 passes: FAIL", () => {
    expect(byId(gateOf([s4Of(around(195, 4, N, 16), P99_PASS)]), "C3").status).toBe("FAIL");
  });
});

describe("verdict", () => {
  test("PROCEED with 2 or more PASS", () => {
    const g = gateOf(allFour({ c1: C1_PASS, c2: TP_PASS, c3: [P95_PASS, P99_FAIL], c4: TP_FAIL }));
    expect(g.criteria.map((c) => c.status)).toEqual(["PASS", "PASS", "FAIL", "FAIL"]);
    expect(g.verdict).toBe("PROCEED");
    expect(g.reason).toContain("C1 and C2");
  });

  test("DO NOT PROCEED when PASS + INCONCLUSIVE < 2", () => {
    const g = gateOf(allFour({ c1: C1_PASS, c2: TP_FAIL, c3: [P95_PASS, P99_FAIL], c4: TP_FAIL }));
    expect(g.criteria.map((c) => c.status)).toEqual(["PASS", "FAIL", "FAIL", "FAIL"]);
    expect(g.verdict).toBe("DO NOT PROCEED");
    const none = gateOf(allFour({ c1: C1_FAIL, c2: TP_FAIL, c3: [P95_PASS, P99_FAIL], c4: TP_FAIL }));
    expect(none.verdict).toBe("DO NOT PROCEED");
  });

  test("INCONCLUSIVE otherwise, with the rounds that would likely settle it", () => {
    const g = gateOf(allFour({ c1: C1_PASS, c2: C2_INC, c3: [P95_PASS, P99_FAIL], c4: TP_FAIL }));
    expect(g.criteria.map((c) => c.status)).toEqual(["PASS", "INCONCLUSIVE", "FAIL", "FAIL"]);
    expect(g.verdict).toBe("INCONCLUSIVE");
    const m = g.reason.match(/about (\d+) paired rounds \(--max-rounds (\d+), with a --budget to match\)/i);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    // The rounds at which C2's paired interval would clear 15% if its mean and spread hold.
    const d = pairedLogRatios([baseTp], [C2_INC]);
    expect(Number(m![1])).toBe(requiredRounds(d, 15, 0.95, true));
    expect(Number(m![1])).toBeGreaterThan(N);
    expect(g.reason).toContain("C2");
  });

  test("INCONCLUSIVE from C3's open percentile carries a rounds estimate too", () => {
    const g = gateOf(allFour({ c1: C1_PASS, c2: TP_FAIL, c3: [P95_PASS, P99_INC], c4: TP_FAIL }));
    expect(g.verdict).toBe("INCONCLUSIVE");
    expect(g.reason).toMatch(/about \d+ paired rounds/i);
  });

  test("criteria not evaluated that could still decide it keep the verdict INCONCLUSIVE", () => {
    const g = gateOf([s1Of(C1_PASS)]);
    expect(g.criteria.map((c) => c.status)).toEqual(["PASS", "NOT EVALUATED", "NOT EVALUATED", "NOT EVALUATED"]);
    expect(g.verdict).toBe("INCONCLUSIVE");
    expect(g.reason).toContain("C2, C3 and C4");
    // Two passes decide it whatever the rest would say.
    expect(gateOf([s1Of(C1_PASS), s2Of(TP_PASS)]).verdict).toBe("PROCEED");
    // Three failures decide it too: one missing criterion cannot make two.
    const three = gateOf([s1Of(C1_FAIL), s2Of(TP_FAIL), s4Of(P95_PASS, P99_FAIL)]);
    expect(three.verdict).toBe("DO NOT PROCEED");
  });

  test("NOT EVALUATED when io_uring is unavailable or nothing could be evaluated", () => {
    const unavailable = gateOf([s1({ bun: base1 })], [info("bun"), info("uring", false)]);
    expect(unavailable.verdict).toBe("NOT EVALUATED");
    expect(unavailable.reason).toContain("unavailable");
    expect(unavailable.reason).toContain("EPERM");
    const notRun = evaluateGate(results([s1Of(C1_PASS)], [info("bun")]), HEAD, OPTS);
    expect(notRun.verdict).toBe("NOT EVALUATED");
    const nothing = gateOf([]);
    expect(nothing.verdict).toBe("NOT EVALUATED");
    expect(nothing.reason).toContain("No criterion could be evaluated");
    const self = evaluateGate(results([s1Of(C1_PASS)]), pair("uring", "uring"), OPTS);
    expect(self.verdict).toBe("NOT EVALUATED");
    expect(self.reason).toContain("baseline itself");
    const invalid = s2Of(TP_PASS);
    invalid.variants[0].backends[1].errors.io = 1;
    expect(gateOf([invalid]).verdict).toBe("NOT EVALUATED");
  });
});

describe("determinism and pairs", () => {
  const scen = () => allFour({ c1: C1_INC, c2: C2_INC, c3: [P95_PASS, P99_INC], c4: TP_FAIL });
  test("the same results give the same gate (no resampling: a t-interval)", () => {
    const a = evaluateGate(results(scen()), HEAD, OPTS);
    const b = evaluateGate(results(scen()), HEAD, OPTS);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    // A lower confidence (more looks planned: a Bonferroni share) gives a wider interval.
    const wide = evaluateGate(results(scen()), HEAD, { confidence: 0.9833 });
    expect(byId(wide, "C1").ci![1] - byId(wide, "C1").ci![0]).toBeGreaterThan(byId(a, "C1").ci![1] - byId(a, "C1").ci![0]);
    expect(byId(wide, "C1").confidence).toBe(0.9833);
  });

  test("evaluateGatePairs evaluates each pair like evaluateGate", () => {
    const epoll = around(85, 2, N, 30);
    const r = results([s1Of(C1_PASS, { epoll })], [info("bun"), info("uring"), info("epoll")]);
    const gates = evaluateGatePairs(r, [HEAD, pair("epoll", "uring")], OPTS);
    expect(gates.map((g) => [g.baseline, g.candidate, g.kind])).toEqual([["bun", "uring", "headline"], ["epoll", "uring", "pair"]]);
    expect(JSON.stringify(gates[1])).toBe(JSON.stringify(evaluateGate(r, pair("epoll", "uring"), OPTS)));
    expect(gates[1].phase0).toBeUndefined(); // the baseline is epoll itself
  });
});

describe("paired rounds", () => {
  test("a drift shared by both backends in each round cancels: PASS where an unpaired view of the same rounds spans the threshold", () => {
    // Each round's conditions move both backends alike by up to ±40%; the candidate is always 20% faster.
    const drift = around(1, 0.4, N, 50);
    const base = drift.map((k) => 100 * k);
    const cand = drift.map((k, i) => 80 * k * (1 + (i % 2 ? 0.01 : -0.01)));
    const c1 = byId(gateOf([s1({ bun: base, uring: cand })]), "C1");
    expect(c1.status).toBe("PASS");
    expect(c1.ci![0]).toBeGreaterThan(17);
    expect(c1.ci![1]).toBeLessThan(23);
    // The same values unpaired: the rounds of either backend spread over ±40%.
    const spreadPct = ((Math.max(...base) - Math.min(...base)) / 100) * 100;
    expect(spreadPct).toBeGreaterThan(40);
  });

  test("rounds are paired by their round number, whatever order they were stored in", () => {
    const s = s2Of(TP_PASS);
    const a = byId(gateOf([s]), "C2");
    s.variants[0].backends[1].rounds.reverse();
    const b = byId(gateOf([s]), "C2");
    expect(b.improvement_pct).toBeCloseTo(a.improvement_pct!, 12);
    expect(b.ci).toEqual(a.ci);
  });

  test("a decision one round carries is kept and marked fragile, never erased", () => {
    // Seven rounds 9% better (below the 10% threshold) and one 40% better: at a low confidence the
    // interval clears 10% with all eight, and falls below it without the eighth.
    const base = [100, 100, 100, 100, 100, 100, 100, 100];
    const cand = [91, 91.2, 90.8, 91.1, 90.9, 91, 91.05, 60];
    const r = results([s1({ bun: base, uring: cand })]);
    const c1 = byId(evaluateGate(r, HEAD, { confidence: 0.5 }), "C1");
    expect(c1.status).toBe("PASS");
    expect(c1.ci![0]).toBeGreaterThan(10);
    expect(c1.fragile).toBe(true);
    expect(c1.note).toContain("fragile");
    // A decision no single round carries is not fragile.
    expect(byId(gateOf([s1Of(C1_PASS)]), "C1").fragile).toBeUndefined();
  });

  test("a round a platform stall hit is left out, and the note says so", () => {
    const s = s2Of(TP_PASS);
    const stalled = s.variants[0].backends[1].rounds[3];
    stalled.throughput = 100; // the vCPU was away: a meaningless figure
    stalled.stalled = true;
    const c2 = byId(gateOf([s]), "C2");
    expect(c2.status).toBe("PASS");
    expect(c2.rounds).toBe(N - 1);
    expect(c2.note).toContain("1 stalled round left out");
  });

  test("two kinds of FAIL: worse (interval below 0) and not better by enough", () => {
    const worse = byId(gateOf([s2Of(around(8000, 100, N, 51))]), "C2");
    expect(worse.status).toBe("FAIL");
    expect(worse.fail_kind).toBe("worse");
    expect(worse.note).toContain("the candidate is worse");
    const notEnough = byId(gateOf([s2Of(TP_FAIL)]), "C2");
    expect(notEnough.status).toBe("FAIL");
    expect(notEnough.fail_kind).toBe("not better enough");
    const g = gateOf(allFour({ c1: C1_FAIL, c2: around(8000, 100, N, 51), c3: [P95_PASS, P99_FAIL], c4: TP_FAIL }));
    expect(g.verdict).toBe("DO NOT PROCEED");
    expect(g.reason).toContain("C2 fails: the candidate is worse");
    expect(g.reason).toContain("C1, C3 and C4 fail: not better by their thresholds");
  });

  test("undecided: INCONCLUSIVE with the rounds that would settle it and what the most rounds could resolve", () => {
    const c2 = byId(evaluateGate(results([s2Of(C2_INC)]), HEAD, { confidence: 0.95, maxRounds: 20 }), "C2");
    expect(c2.status).toBe("INCONCLUSIVE");
    const u = c2.undecided!;
    expect(u.max_rounds).toBe(20);
    expect(u.too_noisy).toBe(false);
    expect(u.rounds_to_settle).toBe(requiredRounds(pairedLogRatios([baseTp], [C2_INC]), 15, 0.95, true));
    // The half-width 20 rounds would give with this spread, in % around the threshold.
    expect(u.resolvable_pct!).toBeGreaterThan(0);
    expect(u.resolvable_pct!).toBeLessThan(c2.ci![1] - c2.ci![0]);
  });

  test("too noisy for this machine: even the most rounds could not tell no gain from the threshold; it still could pass, so it is not counted as a failure", () => {
    const wild = around(100, 90, N, 52);
    const s4 = s4Of(P95_PASS, wild.map((x) => x * 4));
    const c3 = byId(evaluateGate(results([s4]), HEAD, { confidence: 0.95, maxRounds: 20 }), "C3");
    expect(c3.status).toBe("INCONCLUSIVE");
    expect(c3.undecided!.too_noisy).toBe(true);
    expect(c3.undecided!.resolvable_pct!).toBeGreaterThan(15);
    // With C1 passing and C2, C4 failing, C3 could still make the second pass: undecided, and the reason says it is too noisy.
    const g = evaluateGate(results(allFour({ c1: C1_PASS, c2: TP_FAIL, c3: [P95_PASS, wild.map((x) => x * 4)], c4: TP_FAIL })), HEAD, { confidence: 0.95, maxRounds: 20 });
    expect(g.verdict).toBe("INCONCLUSIVE");
    expect(g.reason).toContain("C3 is too noisy for this machine");
    // An interval wholly beyond the threshold decides, however wide its rounds spread.
    const wideButAbove = around(50, 20, N, 53);
    const pass = byId(evaluateGate(results([s1Of(wideButAbove)]), HEAD, { confidence: 0.95, maxRounds: 6 }), "C1");
    expect(pass.ci![0]).toBeGreaterThan(10);
    expect(pass.status).toBe("PASS");
  });
});

describe("CLIENT-BOUND: a throughput the load client limited", () => {
  const bound = (s: ScenarioResult, backend: string, util: number, rounds = N) => {
    const b = s.variants[0].backends.find((x) => x.backend === backend)!;
    b.rounds.slice(0, rounds).forEach((r) => {
      r.client_util = util;
      r.client_bound = util >= 0.9;
    });
    b.rounds.forEach((r, i) => (r.costs = { requests: 1000, cpuNs: (backend === "bun" ? 600 : 400) * 1000, utimeTicks: 1, stimeTicks: 1, voluntaryCtxt: 0, involuntaryCtxt: 0, wallNs: 1e6 + i } as never));
    return s;
  };
  test("either side client-bound in most rounds: CLIENT-BOUND, with each side's client CPU and server CPU per message, not counted", () => {
    const s6 = bound(bound(s6Of(TP_PASS), "uring", 0.97), "bun", 0.8);
    const c4 = byId(gateOf([s6]), "C4");
    expect(c4.status).toBe("CLIENT-BOUND");
    expect(c4.client_bound!.bound).toEqual(["candidate"]);
    expect(c4.client_bound!.candidate_client_util).toBeCloseTo(0.97, 9);
    expect(c4.client_bound!.baseline_client_util).toBeCloseTo(0.8, 9);
    expect(c4.client_bound!.baseline_cpu_us).toBeCloseTo(0.6, 9);
    expect(c4.client_bound!.candidate_cpu_us).toBeCloseTo(0.4, 9);
    expect(c4.ci).not.toBeNull(); // the interval is kept, for what it is worth
    expect(c4.note).toContain("more CPUs");
    // Client-bound in a minority of rounds: the criterion is judged as usual.
    expect(byId(gateOf([bound(s6Of(TP_PASS), "uring", 0.97, 3)]), "C4").status).toBe("PASS");
    // C1 is latency: never client-bound.
    expect(byId(gateOf([s1Of(C1_PASS)]), "C1").client_bound).toBeUndefined();
  });

  test("the verdict: a client-bound criterion is neither a pass nor a failure", () => {
    // C1 PASS, C2 and C3 FAIL, C4 client-bound: it could make the second pass elsewhere, not here.
    const cb = bound(s6Of(TP_PASS), "uring", 0.97);
    const g = gateOf([s1Of(C1_PASS), s2Of(TP_FAIL), s4Of(P95_PASS, P99_FAIL), cb]);
    expect(g.criteria.map((c) => c.status)).toEqual(["PASS", "FAIL", "FAIL", "CLIENT-BOUND"]);
    expect(g.verdict).toBe("INCONCLUSIVE");
    expect(g.reason).toContain("only the client-bound C4 could still give the last one");
    expect(g.reason).toContain("another host");
    // C1 failing and C2 undecided: even a pass of C2 leaves the second to C4.
    const open = gateOf([s1Of(C1_FAIL), s2Of(C2_INC), s4Of(P95_PASS, P99_FAIL), bound(s6Of(TP_PASS), "uring", 0.97)]);
    expect(open.verdict).toBe("INCONCLUSIVE");
    expect(open.reason).toContain("even if C2 passed, the last pass could only come from the client-bound C4, which this machine cannot measure");
    // With C1 failing too, not even C4 could make two passes.
    const no = gateOf([s1Of(C1_FAIL), s2Of(TP_FAIL), s4Of(P95_PASS, P99_FAIL), bound(s6Of(TP_PASS), "uring", 0.97)]);
    expect(no.verdict).toBe("DO NOT PROCEED");
    expect(no.reason).toContain("C4 measured the load client");
  });
});

describe("the A/A control: an equivalence test per criterion", () => {
  const twin = (xs: number[], k = 1) => xs.map((x, i) => x * k * (1 + (i % 2 ? 0.003 : -0.003)));
  const withControl = (bun2: { c1: number[]; tp: number[] }) =>
    results([s1({ bun: base1, uring: C1_PASS, "bun#2": bun2.c1 }), throughputScenario(2, { bun: baseTp, uring: TP_PASS, "bun#2": bun2.tp })], [info("bun"), info("uring"), info("bun#2")]);
  const PAIRS: GatePair[] = [HEAD, pair("bun", "bun#2", "control")];

  test("two instances within the margins: equivalent, never PASS or FAIL; every gate trusted", () => {
    const gates = evaluateGatePairs(withControl({ c1: twin(base1), tp: twin(baseTp) }), PAIRS, OPTS);
    const control = gates[1];
    expect(control.kind).toBe("control");
    const [c1, c2] = control.criteria;
    expect(c1.control).toBe("equivalent");
    expect(c1.status).toBe("EQUIVALENT");
    expect(c1.margin_pct).toBe(2.5);
    expect(c2.margin_pct).toBe(3.75);
    expect(c1.ci![0]).toBeGreaterThan(-2.5);
    expect(c1.ci![1]).toBeLessThan(2.5);
    expect(control.criteria.some((c) => ["PASS", "FAIL"].includes(c.status))).toBe(false);
    expect(gates.every((g) => g.trusted)).toBe(true);
    expect(gates[0].verdict).toBe("PROCEED");
  });

  test("a real offset inside the margin (0.5%) with a tight interval that excludes 0 is still equivalent", () => {
    const gates = evaluateGatePairs(withControl({ c1: twin(base1, 1.005), tp: twin(baseTp, 0.995) }), PAIRS, OPTS);
    const c1 = gates[1].criteria[0];
    expect(c1.ci![1]).toBeLessThan(0); // excludes 0: the old rule's false alarm
    expect(c1.control).toBe("equivalent");
    expect(gates[0].trusted).toBe(true);
    expect(gates[0].criteria.every((c) => c.untrusted === undefined)).toBe(true);
  });

  test("drifted: the interval wholly beyond the margin marks that criterion, and only it, untrusted in the other gates", () => {
    const gates = evaluateGatePairs(withControl({ c1: base1.map((x) => x * 0.95), tp: twin(baseTp) }), PAIRS, OPTS);
    const control = gates[1];
    expect(control.criteria[0].control).toBe("drifted");
    expect(control.criteria[1].control).toBe("equivalent");
    expect(control.verdict).toBe("DRIFTED");
    expect(gates[0].trusted).toBe(false);
    expect(byId(gates[0], "C1").untrusted).toContain("the A/A control drifted on C1");
    expect(byId(gates[0], "C1").untrusted).toContain("+5.0%");
    expect(byId(gates[0], "C2").untrusted).toBeUndefined();
    expect(gates[0].untrusted).toContain("beyond ±2.5%");
  });

  test("a control that passes a criterion has drifted", () => {
    const gates = evaluateGatePairs(withControl({ c1: base1.map((x) => x * 0.7), tp: twin(baseTp) }), PAIRS, OPTS);
    expect(gates[1].criteria[0].control).toBe("drifted");
    expect(gates[0].trusted).toBe(false);
  });

  test("uninformative: an interval that reaches past the margin marks nothing and says how many rounds would settle it; no interval is uninformative too", () => {
    const noisy = base1.map((x, i) => x * (1 + (i % 2 ? 0.06 : -0.06)));
    const gates = evaluateGatePairs(withControl({ c1: noisy, tp: twin(baseTp) }), PAIRS, OPTS);
    const c1 = gates[1].criteria[0];
    expect(c1.control).toBe("uninformative");
    expect(c1.note).toMatch(/about \d+ rounds would likely settle it/);
    expect(gates[0].trusted).toBe(true);
    // C3 and C4 were not run: not evaluated (they confirm nothing), not counted as uninformative.
    expect(gates[1].criteria[2].control).toBe("uninformative");
    expect(gates[1].criteria[2].status).toBe("NOT EVALUATED");
    expect(gates[1].criteria[2].note).toContain("not evaluated");
    expect(gates[1].verdict).toBe("UNINFORMATIVE");
    expect(gates[1].reason).toContain("uninformative on C1");
    expect(gates[1].reason).not.toContain("uninformative on C1, C3");
  });

  test("criteria whose scenarios were not run leave an otherwise equivalent control equivalent, and say so", () => {
    const gates = evaluateGatePairs(withControl({ c1: twin(base1), tp: twin(baseTp) }), PAIRS, OPTS);
    expect(gates[1].verdict).toBe("EQUIVALENT");
    expect(gates[1].reason).toMatch(/not evaluated: C3 \(.+\), C4 \(/);
    expect(gates[0].trusted).toBe(true);
  });

  test("uninformative beyond what a run can reach: the note says the machine is too noisy for the margin rather than advise hundreds of rounds", () => {
    const noisy = base1.map((x, i) => x * Math.exp(i % 2 ? 0.12 : -0.12));
    const c1 = evaluateGatePairs(withControl({ c1: noisy, tp: twin(baseTp) }), PAIRS, { ...OPTS, maxRounds: 6 })[1].criteria[0];
    expect(c1.control).toBe("uninformative");
    expect(c1.note).toMatch(/too noisy for this machine to confirm within ±2\.5% \(about \d+ rounds would be needed\)/);
    // A spread so wide that even 1000 rounds would not do, around an estimate of zero: still noise, not an estimate at the margin.
    const wild = base1.map((x, i) => x * Math.exp(i % 2 ? 0.9 : -0.9));
    const w1 = evaluateGatePairs(withControl({ c1: wild, tp: twin(baseTp) }), PAIRS, { ...OPTS, maxRounds: 6 })[1].criteria[0];
    expect(w1.control).toBe("uninformative");
    expect(w1.note).toMatch(/too noisy for this machine to confirm within ±2\.5% \(more than 1000 rounds would be needed\)/);
  });

  test("C3 uninformative because a few wild rounds pull the mean past the margin while the median sits inside it: called noise, not an estimate at the margin", () => {
    // Most rounds within 1% of the first instance, one at 2.5x: the sign test's median stays near 0, the mean does not.
    const wildTail = baseP99.map((x, i) => x * (i % 7 === 3 ? 2.5 : i % 2 ? 1.01 : 0.99));
    const r = results([s4({ bun: { p95: baseP95, p99: baseP99 }, "bun#2": { p95: twin(baseP95), p99: wildTail } })], [info("bun"), info("bun#2")]);
    const c3 = byId(evaluateControl(r, pair("bun", "bun#2", "control"), OPTS), "C3");
    expect(c3.control).toBe("uninformative");
    expect(Math.abs(c3.parts![1].improvement_pct!)).toBeLessThan(3.75);
    expect(c3.note).toMatch(/p99 [^;]+ reaches past ±3\.75%; too noisy for this machine to confirm within ±3\.75% \(more than 1000 rounds would be needed\)/);
    expect(c3.note).not.toContain("at the margin");
  });

  test("C3 checks p95 and p99 both: a drift in either drifts the criterion", () => {
    const r = results([s4({ bun: { p95: baseP95, p99: baseP99 }, "bun#2": { p95: twin(baseP95), p99: baseP99.map((x) => x * 0.9) } })], [info("bun"), info("bun#2")]);
    const c3 = byId(evaluateControl(r, pair("bun", "bun#2", "control"), OPTS), "C3");
    expect(c3.parts!.map((p) => p.status)).toEqual(["EQUIVALENT", "DRIFTED"]);
    expect(c3.control).toBe("drifted");
    expect(c3.note).toContain("p95");
    expect(c3.note).toContain("p99");
    expect(c3.improvement_pct!).toBeGreaterThan(5); // the p99 shown, the part that drifted
  });
});

describe("sequential looks", () => {
  test("a scenario is settled when every criterion reading it is decided in every gate, and the control is not uninformative", () => {
    const r = results([s2Of(TP_PASS)]);
    expect(scenarioSettled(r, "persistent-throughput", [HEAD], OPTS).settled).toBe(true);
    const open = scenarioSettled(results([s2Of(C2_INC)]), "persistent-throughput", [HEAD], OPTS);
    expect(open.settled).toBe(false);
    expect(open.note).toContain("C2 bun→uring");
    // A scenario no criterion reads is settled at once.
    expect(scenarioSettled(r, "connection-reuse", [HEAD], OPTS).settled).toBe(true);
    // The A/A control: settled once equivalent (or drifted), open while uninformative.
    const twins = results([throughputScenario(2, { bun: baseTp, uring: TP_PASS, "bun#2": baseTp.map((x, i) => x * (1 + (i % 2 ? 0.002 : -0.002))) })], [info("bun"), info("uring"), info("bun#2")]);
    expect(scenarioSettled(twins, "persistent-throughput", [HEAD, pair("bun", "bun#2", "control")], OPTS).settled).toBe(true);
    const wide = results([throughputScenario(2, { bun: baseTp, uring: TP_PASS, "bun#2": baseTp.map((x, i) => x * (1 + (i % 2 ? 0.08 : -0.08))) })], [info("bun"), info("uring"), info("bun#2")]);
    const l = scenarioSettled(wide, "persistent-throughput", [HEAD, pair("bun", "bun#2", "control")], OPTS);
    expect(l.settled).toBe(false);
    expect(l.note).toContain("C2 A/A bun→bun#2");
  });
});

describe("phase 0: epoll against the baseline, expected 15-30%", () => {
  const withEpoll = (epollCenter: number) =>
    evaluateGate(results([s1Of(C1_PASS, { epoll: around(epollCenter, 1, N, 40) })], [info("bun"), info("uring"), info("epoll")]), HEAD, OPTS);
  test("rows for the four metrics, threshold 15, band position in the note", () => {
    const g = withEpoll(80);
    expect(g.phase0!.backend).toBe("epoll");
    expect(g.phase0!.expected_pct).toEqual([15, 30]);
    expect(g.phase0!.rows.map((r) => r.id)).toEqual(["C1", "C2", "C3", "C4"]);
    expect(g.phase0!.rows.every((r) => r.threshold_pct === 15)).toBe(true);
    expect(g.phase0!.rows[0].status).toBe("PASS");
    expect(g.phase0!.rows[0].note).toStartWith("expected 15-30%: within the band");
    expect(g.phase0!.rows[1].status).toBe("NOT EVALUATED");
  });
  test("above and below the band", () => {
    expect(withEpoll(60).phase0!.rows[0].note).toStartWith("expected 15-30%: above the band");
    expect(withEpoll(95).phase0!.rows[0].note).toStartWith("expected 15-30%: below the band");
  });
  test("absent without an epoll backend", () => {
    expect(gateOf([s1Of(C1_PASS)]).phase0).toBeUndefined();
  });
});
