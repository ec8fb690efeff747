// The ablation ladder on synthetic rounds with known gains between the steps:
// each gain's paired interval covers the truth, a drift shared by a round
// cancels, a missing step is a row saying why (not a crash) and the next step
// is compared with the one before it, the best step without extra CPU, the
// report table as exact text, and the claims row naming the step that reached
// about 1 system call per request.
import { describe, expect, test } from "bun:test";
import { evaluateLadder, firstStepNearOneSyscall, LADDER_STEPS, type LadderStep } from "../bench/verdict/ladder.ts";
import { ladderTable } from "../bench/report/ladder-table.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";
import { claimsTable } from "../bench/verdict/claims.ts";
import { seededRandom } from "../bench/stats/stats.ts";
import type { BackendInfoResult, BackendResult, RoundResult, ScenarioResult } from "../bench/results/schema.ts";

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
const ROUNDS = 12;

/** Per step, its factor on the figure relative to the step before (latency: < 1 is faster). */
const STEPS: LadderStep[] = [
  { backend: "a", adds: "the start" },
  { backend: "b", adds: "one thing" },
  { backend: "c", adds: "another" },
  { backend: "d", adds: "a polling thread", extraCpu: true },
];

/** Rounds of each step: a drift shared by every step of a round (±30%), the step's factor, ±1% of its own noise. */
function rounds(base: number, factors: number[], seed: number, pick: (v: number) => Partial<RoundResult>): RoundResult[][] {
  const rnd = seededRandom(seed);
  const drift = Array.from({ length: ROUNDS }, () => 1 + (rnd() * 2 - 1) * 0.3);
  let f = 1;
  return factors.map((k) => {
    f *= k;
    return drift.map((d, r) => ({ round: r + 1, errors: noErr(), ...pick(base * f * d * (1 + (rnd() * 2 - 1) * 0.01)) }));
  });
}

function backend(name: string, rs: RoundResult[], cpu: number, sys: number | null): BackendResult {
  return { backend: name, rounds: rs, headline: NaN, range: [NaN, NaN], errors: noErr(), costs: { requests: 1000, cpu_us: cpu, user_us: cpu / 2, sys_us: cpu / 2, vol_ctx: 0, invol_ctx: 0, syscalls: sys } };
}

const CPU = [10, 8, 7, 30];
const SYS = [2, 1, 1, 0.1];

function scenarios(names: string[]): ScenarioResult[] {
  // Latency: b 20% faster than a, c 10% faster than b, d 30% faster than c.
  const lat = rounds(50, [1, 0.8, 0.9, 0.7], 1, (v) => ({ latency: { n: 100, p50: v, p95: v, p99: v, p999: v, mean: v, min: v, max: v } }));
  // Throughput: b +25%, c +0%, d +50%.
  const thr = rounds(100000, [1, 1.25, 1, 1.5], 2, (v) => ({ throughput: v }));
  const by = (rs: RoundResult[][], scale = 1) => names.map((n) => backend(n, rs[STEPS.findIndex((s) => s.backend === n)].map((r) => (r.latency ? { ...r, latency: { ...r.latency, p50: r.latency.p50 * scale } } : r)), CPU[STEPS.findIndex((s) => s.backend === n)], SYS[STEPS.findIndex((s) => s.backend === n)]));
  return [
    {
      id: 1,
      slug: "ping-pong",
      name: "Single ping-pong latency",
      status: "ok",
      variants: [
        { key: "10B", label: "10B", params: {}, metric: "p50 latency, µs", higherIsBetter: false, backends: by(lat, 0.9) },
        { key: "100B", label: "100B", params: {}, metric: "p50 latency, µs", higherIsBetter: false, backends: by(lat) },
      ],
    },
    { id: 2, slug: "persistent-throughput", name: "Persistent-connection throughput", status: "ok", variants: [{ key: "window", label: "window", params: {}, metric: "throughput, msg/s", higherIsBetter: true, backends: by(thr) }] },
  ];
}

const info = (names: string[]): BackendInfoResult[] => names.map((name) => ({ name, description: name, available: true }));

describe("evaluateLadder", () => {
  const all = STEPS.map((s) => s.backend);
  // 99.9%: these checks are about the pairing, not the coverage rate (test/paired.test.ts simulates that).
  const l = evaluateLadder({ scenarios: scenarios(all), backends: info(all) }, STEPS, 0.999);
  const s1 = l.scenarios.find((s) => s.id === 1)!;
  const s2 = l.scenarios.find((s) => s.id === 2)!;

  test("each step's paired gain over the step before covers the known gain, and is narrow despite the shared drift", () => {
    const truth1 = [20, 10, 30]; // 1 - factor, %
    const truth2 = [25, 0, 50];
    s1.rows.slice(1).forEach((r, i) => {
      expect(r.gain!.over).toBe(STEPS[i].backend);
      expect(r.gain!.ci[0]).toBeLessThanOrEqual(truth1[i]);
      expect(r.gain!.ci[1]).toBeGreaterThanOrEqual(truth1[i]);
      expect(r.gain!.ci[1] - r.gain!.ci[0]).toBeLessThan(3);
      expect(r.gain!.rounds).toBe(ROUNDS);
    });
    s2.rows.slice(1).forEach((r, i) => {
      expect(r.gain!.ci[0]).toBeLessThanOrEqual(truth2[i]);
      expect(r.gain!.ci[1]).toBeGreaterThanOrEqual(truth2[i]);
    });
    // Over the first step: 1 - 0.8 * 0.9 = 28%.
    const c = s1.rows[2].cumulative!;
    expect(c.over).toBe("a");
    expect(c.ci[0]).toBeLessThanOrEqual(28);
    expect(c.ci[1]).toBeGreaterThanOrEqual(28);
    expect(s1.rows[0].gain).toBeUndefined();
    expect(s1.rows[0].cumulative).toBeUndefined();
  });

  test("costs per request ride along; the best step without extra CPU skips the polling one", () => {
    expect(s1.rows.map((r) => r.cpu_us)).toEqual(CPU);
    expect(s1.rows.map((r) => r.syscalls)).toEqual(SYS);
    expect(s1.best_no_extra_cpu).toBe("c");
    // Throughput: c adds nothing over b, so b and c are within noise; either may be best, never d.
    expect(["b", "c"]).toContain(s2.best_no_extra_cpu!);
    expect(l.scenarios.map((s) => s.id)).toEqual([1, 2]); // scenario 6 was not run: no section
  });

  test("a missing step is reported, and the next step is compared with the one before it", () => {
    const names = ["a", "c", "d"];
    const m = evaluateLadder({ scenarios: scenarios(names), backends: info(names) }, STEPS, 0.95);
    const rows = m.scenarios[0].rows;
    expect(rows[1]).toMatchObject({ backend: "b", value: null, missing: "not run" });
    expect(rows[2].gain!.over).toBe("a");
    // 1 - 0.72 = 28%
    expect(rows[2].gain!.ci[0]).toBeLessThanOrEqual(28);
    expect(rows[2].gain!.ci[1]).toBeGreaterThanOrEqual(28);
    const unavailable = evaluateLadder({ scenarios: scenarios(names), backends: [...info(names), { name: "b", description: "b", available: false, reason: "EPERM" }] }, STEPS, 0.95);
    expect(unavailable.scenarios[0].rows[1].missing).toBe("unavailable (EPERM)");
    // Nothing at all: rows saying why, no crash.
    const none = evaluateLadder({ scenarios: [], backends: [] }, LADDER_STEPS, 0.95);
    expect(none.scenarios).toEqual([]);
  });

  test("a branch (after: the step it adds to) is compared with that step, not the one listed before it", () => {
    const branched: LadderStep[] = [...STEPS.slice(0, 3), { ...STEPS[3], after: "b" }];
    const m = evaluateLadder({ scenarios: scenarios(all), backends: info(all) }, branched, 0.999);
    const d = m.scenarios[0].rows[3];
    expect(d.gain!.over).toBe("b");
    // d's figure is a x 0.8 x 0.9 x 0.7; over b that is 1 - 0.9 x 0.7 = 37%.
    expect(d.gain!.ci[0]).toBeLessThanOrEqual(37);
    expect(d.gain!.ci[1]).toBeGreaterThanOrEqual(37);
  });

  test("a step with errors is not used", () => {
    const sc = scenarios(STEPS.map((s) => s.backend));
    sc[1].variants[0].backends[2].errors.mismatch = 3;
    const m = evaluateLadder({ scenarios: sc, backends: info(STEPS.map((s) => s.backend)) }, STEPS, 0.95);
    expect(m.scenarios[1].rows[2].missing).toBe("3 errors in scenario 2: its figures are not used");
    expect(m.scenarios[1].rows[3].gain!.over).toBe("b");
  });
});

describe("ladder table", () => {
  test("exact text", () => {
    const l = {
      confidence: 0.95,
      method: "paired t-interval at 95.0%",
      steps: [
        { backend: "uring-basic", adds: "naive", extra_cpu: false },
        { backend: "uring", adds: "tuned", extra_cpu: false },
        { backend: "uring-sqpoll", adds: "SQPOLL", extra_cpu: true },
      ],
      scenarios: [
        {
          id: 1,
          slug: "ping-pong",
          metric: "p50 latency, µs, geometric mean over the sizes",
          higherIsBetter: false,
          best_no_extra_cpu: "uring",
          rows: [
            { backend: "uring-basic", value: 40, cpu_us: 12.34, syscalls: 2.004 },
            { backend: "uring", value: 30, gain: { over: "uring-basic", estimate_pct: 25, ci: [20, 30] as [number, number], rounds: 6 }, cumulative: { over: "uring-basic", estimate_pct: 25, ci: [20, 30] as [number, number], rounds: 6 }, cpu_us: 10, syscalls: 1 },
            { backend: "uring-sqpoll", value: null, cpu_us: null, syscalls: null, missing: "not run" },
          ],
        },
      ],
      gate_backend: "uring",
      notes: ["A note."],
    };
    expect(renderMarkdown(ladderTable(l)) + "\n").toBe(
      [
        "#### What each io_uring feature buys: the ladder",
        "",
        "| scenario | step | figure | gain over the step before | interval | over uring-basic | CPU µs/req | syscalls/req |",
        "|:---|:---|---:|---:|---:|---:|---:|---:|",
        "| 1 p50 µs | uring-basic | 40.0 |  |  |  | 12.3 | 2.00 |",
        "| 1 p50 µs | uring ◀ | 30.0 | +25.0% vs uring-basic | [+20.0, +30.0] | +25.0% | 10.0 | 1.00 |",
        "| 1 p50 µs | uring-sqpoll (+CPU) | — (not run) |  |  |  | n/a | n/a |",
        "",
        "Each step adds one thing to the one before: uring-basic (naive); uring (tuned); uring-sqpoll (SQPOLL).",
        "Gains: positive is better (lower latency, more msg/s); paired t-interval at 95.0%.",
        "◀ the best step that needs no extra CPU (SQPOLL burns a core; the highest estimated gain over the first step, however wide its interval) per scenario: 1: uring. That is the uring the gates use.",
        "A note.",
        "",
      ].join("\n"),
    );
  });
});

describe("claims: about 1 system call per request", () => {
  const row = (counts: Record<string, number>) => claimsTable({ syscallsPerRequest: counts }).find((r) => r.id === "syscalls_uring")!;
  test("names the first ladder step within 1 ± 0.5 when the ladder ran, and the C twin when counted", () => {
    const r = row({ epoll: 3, uring: 1.001, "c-uring": 1.0, "uring-basic": 2.01, "uring-1enter": 1.002, "uring-taskrun": 1.0 });
    expect(r.verdict).toBe("holds");
    expect(r.how).toContain("c-uring 1.00 (holds)");
    expect(r.how).toContain("the ladder reached about 1 at uring-1enter");
    expect(r.how).toContain("uring-basic 2.01, uring-1enter 1.00, uring-taskrun 1.00, uring 1.00");
    expect(firstStepNearOneSyscall({ "uring-basic": 2.01, "uring-1enter": 1.0 })?.backend).toBe("uring-1enter");
  });
  test("without the ladder, the row is as before", () => {
    expect(row({ epoll: 3, uring: 1, "uring-multishot": 1 }).how).toBe("system calls counted per request for backend uring");
  });
});
