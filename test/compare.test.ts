// `bun run compare OLD.json NEW.json`: Welch's interval against known answers
// (scipy 1.17: stats.ttest_ind(new, old, equal_var=False).confidence_interval()),
// comparisons of synthetic runs whose changes are known, and the CLI as a real
// child process on synthetic files written to a temporary directory.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareRuns, figuresTable, renderComparisonMarkdown, renderComparisonTerminal, welchLogInterval } from "../bench/report/compare.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";
import { seededRandom } from "../bench/stats/stats.ts";
import type { BackendResult, BenchResults, Criterion, Gate, ScenarioResult, VariantResult } from "../bench/results/schema.ts";
import { ROOT } from "../ffi/build.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Per-round figures around `level` with ±10% uniform noise, seeded. */
function noisy(level: number, rounds: number, seed: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: rounds }, () => level * (0.9 + 0.2 * rand()));
}

function backend(name: string, figures: number[], latency: boolean): BackendResult {
  return {
    backend: name,
    rounds: figures.map((x, i) =>
      latency
        ? { round: i + 1, latency: { n: 1000, p50: x, p95: 1.5 * x, p99: 2 * x, p999: 3 * x, mean: 1.1 * x, min: 0.8 * x, max: 5 * x }, errors: noErr() }
        : { round: i + 1, throughput: x, errors: noErr() },
    ),
    headline: median(figures),
    range: [Math.min(...figures), Math.max(...figures)],
    errors: noErr(),
  };
}

const latencyVariant = (key: string, backends: BackendResult[]): VariantResult => ({ key, label: key, params: {}, metric: "p50 latency, µs", higherIsBetter: false, backends });
const throughputVariant = (backends: BackendResult[]): VariantResult => ({ key: "window", label: "window", params: {}, metric: "throughput, msg/s", higherIsBetter: true, backends });

function criterion(id: string, status: Criterion["status"], improvement: number): Criterion {
  return { id, name: `criterion ${id}`, metric: "m", threshold_pct: 10, improvement_pct: improvement, ci: [improvement - 5, improvement + 5], status, note: "", confidence: 0.95 };
}

function gate(verdict: Gate["verdict"], c1: Criterion["status"], kind: Gate["kind"] = "headline"): Gate {
  return { kind, baseline: "epoll", candidate: "uring", verdict, reason: "r", trusted: true, criteria: [criterion("C1", c1, c1 === "PASS" ? 25 : 2), criterion("C2", "INCONCLUSIVE", 12)] };
}

/**
 * A run of scenario 1 (10B, latency) and scenario 2 (throughput) with epoll
 * and uring over 8 rounds; uringLatency and uringThroughput multiply every
 * uring round (the noise is the same seeded draw in every run).
 */
function run(opts: { uringLatency?: number; uringThroughput?: number; gate?: Gate; context?: Partial<BenchResults["context"]>; rounds?: number } = {}): BenchResults {
  const n = opts.rounds ?? 8;
  const lat = (name: string, seed: number, scale = 1) => backend(name, noisy(20, n, seed).map((x) => x * scale), true);
  const thr = (name: string, seed: number, scale = 1) => backend(name, noisy(300_000, n, seed).map((x) => x * scale), false);
  const scenarios: ScenarioResult[] = [
    { id: 1, slug: "ping-pong", name: "Single ping-pong latency", status: "ok", variants: [latencyVariant("10B", [lat("epoll", 1), lat("uring", 2, opts.uringLatency)])] },
    { id: 2, slug: "persistent-throughput", name: "Persistent-connection throughput", status: "ok", variants: [throughputVariant([thr("epoll", 3), thr("uring", 4, opts.uringThroughput)])] },
  ];
  const g = opts.gate ?? gate("INCONCLUSIVE", "INCONCLUSIVE");
  return {
    schema: "iouring-bench/2",
    context: { ...SYNTHETIC_CONTEXT, cpuIdle: { driver: "haltpoll", governor: "haltpoll", requested: "poll", pmQos: "held at 0" }, ...opts.context },
    config: { rounds: n },
    backends: [],
    baseline: "epoll",
    scenarios,
    gate: g,
    gates: [g],
    warnings: [],
  };
}

/** The same run as schema iouring-bench/1 wrote it: no slugs, no gate kind, no cpuIdle. */
function asSchema1(r: BenchResults): BenchResults {
  const { cpuIdle: _cpuIdle, ...context } = r.context;
  const strip = ({ kind: _kind, ...g }: Gate): Gate => g;
  return {
    ...r,
    schema: "iouring-bench/1",
    context: context as BenchResults["context"],
    scenarios: r.scenarios.map(({ slug: _slug, ...s }) => s as ScenarioResult),
    gate: r.gate && strip(r.gate),
    gates: r.gates?.map(strip),
  };
}

const figure = (c: ReturnType<typeof compareRuns>, slug: string, variant: string, name: string) =>
  c.scenarios.find((s) => s.slug === slug)!.figures.find((f) => f.variant === variant && f.backend === name)!;

describe("welchLogInterval", () => {
  test("matches scipy's Welch interval on the logs", () => {
    // Logs 0,1,2 (OLD) and 1,3,5,7 (NEW): df = 216/53, se = sqrt(2).
    const w = welchLogInterval([0, 1, 2].map(Math.exp), [1, 3, 5, 7].map(Math.exp))!;
    expect(w.df).toBeCloseTo(4.0754716981132075, 12);
    expect(w.se).toBeCloseTo(Math.SQRT2, 12);
    expect(w.meanLogRatio).toBeCloseTo(3, 12);
    expect(w.loLog).toBeCloseTo(-0.8979754510831279, 9);
    expect(w.hiLog).toBeCloseTo(6.897975451083128, 9);
    const v = welchLogInterval([100, 120, 90, 105], [110, 95, 130, 102, 99])!;
    expect(v.df).toBeCloseTo(6.670039088760964, 9);
    expect(v.loLog).toBeCloseTo(-0.16250499666598062, 9);
    expect(v.hiLog).toBeCloseTo(0.2260827705439774, 9);
    expect([v.nOld, v.nNew, v.confidence]).toEqual([4, 5, 0.95]);
  });

  test("no interval with fewer than 2 usable rounds in either run; no spread at all is an exact difference", () => {
    expect(welchLogInterval([10], [8, 9, 10])).toBeNull();
    expect(welchLogInterval([10, NaN, 0, -1], [8, 9])).toBeNull();
    const exact = welchLogInterval([10, 10, 10], [8, 8])!;
    expect(exact.loLog).toBeCloseTo(Math.log(0.8), 12);
    expect(exact.hiLog).toBeCloseTo(Math.log(0.8), 12);
  });
});

describe("compareRuns", () => {
  test("a backend 20% faster in every round is better, with an interval that excludes 0 and holds -20%", () => {
    const c = compareRuns(run(), run({ uringLatency: 0.8, uringThroughput: 1.2 }));
    const lat = figure(c, "ping-pong", "10B", "uring");
    expect(lat.status).toBe("better");
    expect(lat.changePct!).toBeCloseTo(-20, 9);
    expect(lat.intervalPct![1]).toBeLessThan(0);
    expect(lat.intervalPct![0]).toBeLessThan(-20);
    expect(lat.intervalPct![1]).toBeGreaterThan(-20);
    expect([lat.welch!.nOld, lat.welch!.nNew]).toEqual([8, 8]);
    const thr = figure(c, "persistent-throughput", "window", "uring");
    expect(thr.status).toBe("better");
    expect(thr.changePct!).toBeCloseTo(20, 9);
    expect(thr.intervalPct![0]).toBeGreaterThan(0);
    // The backend that did not change, measured with the same rounds.
    expect(figure(c, "ping-pong", "10B", "epoll").status).toBe("no clear change");
  });

  test("slower latency and lower throughput are worse", () => {
    const c = compareRuns(run(), run({ uringLatency: 1.25, uringThroughput: 0.8 }));
    expect(figure(c, "ping-pong", "10B", "uring").status).toBe("worse");
    expect(figure(c, "persistent-throughput", "window", "uring").status).toBe("worse");
  });

  test("identical runs: no clear change anywhere, no verdict changed, nothing in the context differs", () => {
    const c = compareRuns(run(), run());
    const all = c.scenarios.flatMap((s) => s.figures);
    expect(all).toHaveLength(4);
    for (const f of all) {
      expect(f.status).toBe("no clear change");
      expect(f.changePct).toBe(0);
      expect(f.intervalPct![0]).toBeLessThan(0);
      expect(f.intervalPct![1]).toBeGreaterThan(0);
    }
    expect(c.changedVerdicts).toEqual([]);
    expect(c.contextDifferences).toEqual([]);
    expect(renderComparisonTerminal(c)).toContain("Verdicts that changed: none");
  });

  test("a verdict that changed is reported, and called out before everything else", () => {
    const c = compareRuns(run({ gate: gate("DO NOT PROCEED", "FAIL") }), run({ gate: gate("PROCEED", "PASS") }));
    expect(c.changedVerdicts).toEqual([
      { gate: "headline epoll → uring", item: "verdict", old: "DO NOT PROCEED", new: "PROCEED" },
      { gate: "headline epoll → uring", item: "C1 criterion C1", old: "FAIL", new: "PASS" },
    ]);
    const g = c.gates[0];
    expect(g.verdictChanged).toBe(true);
    expect(g.criteria.map((x) => [x.id, x.changed])).toEqual([["C1", true], ["C2", false]]);
    const text = renderComparisonTerminal(c);
    const at = (s: string) => text.indexOf(s);
    expect(at("Verdicts that changed")).toBeGreaterThan(0);
    expect(at("Verdicts that changed")).toBeLessThan(at("Scenario 1 (ping-pong)"));
    expect(at("Scenario 1 (ping-pong)")).toBeLessThan(at("Gate headline epoll → uring: DO NOT PROCEED → PROCEED (changed)"));
    expect(text).toContain("+2.0% [-3.0, +7.0]");
    expect(text).toContain("+25.0% [+20.0, +30.0]");
  });

  test("gates are matched by baseline, candidate and kind", () => {
    const c = compareRuns(run({ gate: gate("INCONCLUSIVE", "FAIL", "pair") }), run({ gate: gate("INCONCLUSIVE", "FAIL", "headline") }));
    expect(c.gates).toEqual([]);
    expect(c.gatesOnlyOld).toEqual(["pair epoll → uring"]);
    expect(c.gatesOnlyNew).toEqual(["headline epoll → uring"]);
  });

  test("the context that differs is listed, the usual suspects first, and nothing that is the same", () => {
    const newer = run({
      context: { kernel: "6.18.44", ioUringDisabledSysctl: "2", date: "2026-02-02T00:00:00.000Z", cpuIdle: { driver: "haltpoll", governor: "menu", requested: "poll", pmQos: "held at 0" } },
    });
    const c = compareRuns(run(), newer);
    expect(c.contextDifferences).toEqual([
      { field: "kernel", old: "6.1.0", new: "6.18.44" },
      { field: "cpuIdle.governor", old: "haltpoll", new: "menu" },
      { field: "ioUringDisabledSysctl", old: SYNTHETIC_CONTEXT.ioUringDisabledSysctl, new: "2" },
    ]);
    const text = renderComparisonTerminal(c);
    expect(text).toContain("Context that differs");
    expect(text).toMatch(/kernel\s+6\.1\.0\s+6\.18\.44/);
  });

  test("schema 1 against schema 2: scenarios by number, gates without kind, what schema 1 lacks is n/a", () => {
    const c = compareRuns(asSchema1(run({ gate: gate("DO NOT PROCEED", "FAIL") })), run({ uringLatency: 0.8, gate: gate("PROCEED", "PASS") }));
    expect(c.scenarios.map((s) => [s.id, s.matchedBy])).toEqual([[1, "id"], [2, "id"]]);
    expect(figure(c, "ping-pong", "10B", "uring").status).toBe("better");
    expect(c.gates).toHaveLength(1);
    expect(c.gates[0].oldKind).toBeNull();
    expect(c.changedVerdicts.map((v) => v.item)).toEqual(["verdict", "C1 criterion C1"]);
    expect(c.contextDifferences).toContainEqual({ field: "schema", old: "iouring-bench/1", new: "iouring-bench/2" });
    expect(c.contextDifferences).toContainEqual({ field: "cpuIdle.driver", old: "n/a", new: "haltpoll" });
  });

  test("one round in a run: no interval, and the note says why; stalled rounds are left out", () => {
    const c = compareRuns(run({ rounds: 1 }), run());
    const f = figure(c, "ping-pong", "10B", "uring");
    expect([f.status, f.intervalPct]).toEqual(["n/a", null]);
    expect(f.note).toContain("1 usable round(s) in OLD, 8 in NEW");
    const stalled = run();
    stalled.scenarios[0].variants[0].backends[1].rounds[0].stalled = true;
    const s = figure(compareRuns(run(), stalled), "ping-pong", "10B", "uring");
    expect(s.welch!.nNew).toBe(7);
    expect(s.note).toContain("stalled rounds left out: 0 in OLD, 1 in NEW");
  });

  test("a figures table in markdown, exactly", () => {
    const c = compareRuns(run({ rounds: 2 }), run({ rounds: 2, uringLatency: 0.5 }));
    const t = figuresTable({ ...c.scenarios[0], figures: c.scenarios[0].figures.filter((f) => f.backend === "uring") }, c);
    const f = c.scenarios[0].figures.find((x) => x.backend === "uring")!;
    const [lo, hi] = f.intervalPct!.map((x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`);
    expect(renderMarkdown(t)).toBe(
      [
        "#### Scenario 1 (ping-pong): p50 latency, µs, lower is better",
        "",
        "| variant | backend | OLD | NEW | change | 95% interval | status | rounds | note |",
        "|:---|:---|---:|---:|---:|---:|:---|---:|:---|",
        `| 10B | uring | ${f.old!.toFixed(1)} | ${f.new!.toFixed(1)} | -50.0% | [${lo}, ${hi}] | ${f.status} | 2/2 |  |`,
      ].join("\n"),
    );
  });
});

describe("bun run compare (child process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "iob-compare-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const OLD = file("old.json", JSON.stringify(run({ gate: gate("DO NOT PROCEED", "FAIL") })));
  const NEW = file("new.json", JSON.stringify(run({ uringLatency: 0.8, gate: gate("PROCEED", "PASS"), context: { kernel: "6.18.44" } })));

  function compare(...args: string[]): { code: number | null; out: string; err: string } {
    const r = Bun.spawnSync([process.execPath, join(ROOT, "bench/cli/compare.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  }

  /** Exit 2, nothing on stdout, one line saying what is wrong and where the help is; no stack trace. */
  function expectUsageError(r: ReturnType<typeof compare>, what: RegExp): void {
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).not.toMatch(/\n\s+at /);
    const lines = r.err.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^compare: /);
    expect(lines[0]).toMatch(what);
    expect(lines[0]).toMatch(/\(see bun run compare --help\)$/);
  }

  test("two results files: exit 0 and the comparison on stdout", () => {
    const r = compare(OLD, NEW);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Verdicts that changed");
    expect(r.out).toMatch(/10B\s+uring\s+[\d.]+\s+[\d.]+\s+-20\.0%\s+\[-\d+\.\d%, -\d+\.\d%\]\s+better/);
    expect(r.out).toMatch(/kernel\s+6\.1\.0\s+6\.18\.44/);
  });

  test("a missing file, a file that is not JSON, JSON that is not a results file, an unknown schema: exit 2", () => {
    expectUsageError(compare(join(dir, "nope.json"), NEW), /OLD file '.*nope\.json' does not exist/);
    expectUsageError(compare(OLD, file("text.json", "not { json")), /NEW file '.*text\.json' is not JSON/);
    expectUsageError(compare(file("plain.json", JSON.stringify({ hello: 1 })), NEW), /is not an iouring-bench results file \(it has no "schema"/);
    expectUsageError(compare(OLD, file("v9.json", JSON.stringify({ ...run(), schema: "iouring-bench/9" }))), /has schema "iouring-bench\/9"; compare reads iouring-bench\/1 and iouring-bench\/2 and iouring-bench\/3/);
    expectUsageError(compare(OLD), /needs two results files/);
    expectUsageError(compare(OLD, NEW, "--colour"), /unknown flag '--colour'/);
  });

  test("a schema 1 file against a schema 2 file works", () => {
    const r = compare(file("old1.json", JSON.stringify(asSchema1(run()))), NEW);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/cpuIdle\.driver\s+n\/a\s+haltpoll/);
  });

  test("--markdown FILE writes GitHub markdown tables", () => {
    const md = join(dir, "cmp.md");
    const r = compare("--markdown", md, OLD, NEW);
    expect(r.code).toBe(0);
    expect(existsSync(md)).toBe(true);
    const text = readFileSync(md, "utf8");
    expect(text.startsWith("### iouring-bench: two runs compared\n")).toBe(true);
    const lines = text.split("\n");
    const cells = (l: string) => l.replace(/\\\|/g, "").split("|").length - 2;
    let tables = 0;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith("|") || (i > 0 && lines[i - 1].startsWith("|"))) continue;
      tables++;
      // A table: its title as a #### heading and a blank line, a header, the alignment row, rows of as many cells.
      expect(lines[i - 2]).toMatch(/^#### /);
      expect(lines[i - 1]).toBe("");
      expect(lines[i + 1]).toMatch(/^\|(:---|---:)(\|(:---|---:))*\|$/);
      const n = cells(lines[i]);
      expect(cells(lines[i + 1])).toBe(n);
      for (let j = i + 2; j < lines.length && lines[j].startsWith("|"); j++) expect(cells(lines[j])).toBe(n);
    }
    expect(tables).toBe(5); // verdicts, context, scenarios 1 and 2, the gate
    expect(text).toContain("| headline epoll → uring | verdict | DO NOT PROCEED | PROCEED |");
  });
});
