// Statistics on synthetic data with known answers.
import { describe, expect, test } from "bun:test";
import { compareToBaseline } from "../bench/results/summary.ts";
import type { BackendResult } from "../bench/results/schema.ts";
import { bootstrapOneSample, bootstrapTwoSample, improvementHigherBetter, improvementLowerBetter, median, seededRandom, summarize } from "../bench/stats/stats.ts";
import { noErrors } from "../bench/results/errors.ts";

describe("summarize", () => {
  test("percentiles of 1..1000", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    const s = summarize(xs.reverse());
    expect(s.n).toBe(1000);
    expect(s.min).toBe(1);
    expect(s.max).toBe(1000);
    // simple-statistics 7.12 interpolates linearly (R type 7): value at (n-1)p.
    expect(s.p50).toBeCloseTo(500.5, 9);
    expect(s.p95).toBeCloseTo(950.05, 9);
    expect(s.p99).toBeCloseTo(990.01, 9);
    expect(s.p999).toBeCloseTo(999.001, 9);
    expect(summarize([5, 1, 9]).p50).toBe(5);
    expect(s.mean).toBeCloseTo(500.5, 10);
  });
  test("scale converts units, empty input is NaN", () => {
    expect(summarize([1000, 3000], 1e-3).max).toBe(3);
    expect(Number.isNaN(summarize([]).p50)).toBe(true);
  });
});

describe("seeded bootstrap", () => {
  test("same seed, same numbers; another seed, others", () => {
    const a = seededRandom(42), b = seededRandom(42), c = seededRandom(43);
    const xa = [a(), a(), a()], xb = [b(), b(), b()], xc = [c(), c(), c()];
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  test("a known 20% difference: the interval holds it and excludes 0", () => {
    const rnd = seededRandom(5);
    const base = Array.from({ length: 10 }, () => 100 + (rnd() - 0.5) * 4);
    const cand = Array.from({ length: 10 }, () => 80 + (rnd() - 0.5) * 4);
    const r = bootstrapTwoSample(base, cand, improvementLowerBetter, { seed: 9 });
    expect(r.estimate).toBeGreaterThan(17);
    expect(r.estimate).toBeLessThan(23);
    expect(r.lo).toBeLessThan(20);
    expect(r.hi).toBeGreaterThan(20);
    expect(r.lo).toBeGreaterThan(10);
    expect(bootstrapTwoSample(base, cand, improvementLowerBetter, { seed: 9 })).toEqual(r);
  });

  test("no difference: the interval straddles 0", () => {
    const rnd = seededRandom(6);
    const a = Array.from({ length: 12 }, () => 50 + rnd() * 10);
    const b = Array.from({ length: 12 }, () => 50 + rnd() * 10);
    const r = bootstrapTwoSample(a, b, improvementHigherBetter, { seed: 1 });
    expect(r.lo).toBeLessThan(0);
    expect(r.hi).toBeGreaterThan(0);
  });

  test("one-sample interval of the median", () => {
    const r = bootstrapOneSample([1, 2, 3, 4, 5, 6, 7, 8, 9], median, { seed: 3 });
    expect(r.estimate).toBe(5);
    expect(r.lo).toBeLessThanOrEqual(5);
    expect(r.hi).toBeGreaterThanOrEqual(5);
    expect(Number.isNaN(bootstrapOneSample([1], median).lo)).toBe(true);
  });
});

test("compareToBaseline: paired ratios per round at the given confidence, baseline 1; a range below 5 rounds", () => {
  const mk = (backend: string, p50s: number[]): BackendResult => ({
    backend,
    rounds: p50s.map((p, i) => ({ round: i + 1, latency: { n: 1, p50: p, p95: p, p99: p, p999: p, mean: p, min: p, max: p }, errors: noErrors() })),
    headline: NaN,
    range: [NaN, NaN],
    errors: noErrors(),
  });
  const rs = [mk("bun", [100, 102, 98, 101, 99]), mk("uring", [50, 51, 49, 50, 50])];
  compareToBaseline(rs, "bun", 0.95);
  expect(rs[0].relative!.ratio).toBe(1);
  expect(rs[1].headline).toBe(50);
  expect(rs[1].range).toEqual([49, 51]);
  const rel = rs[1].relative!;
  expect(rel.kind).toBe("ci");
  expect(rel.confidence).toBe(0.95);
  expect(rel.rounds).toBe(5);
  // The geometric mean of the per-round ratios 50/100, 51/102, 49/98, 50/101, 50/99.
  const d = [50 / 100, 51 / 102, 49 / 98, 50 / 101, 50 / 99].map(Math.log);
  expect(rel.ratio).toBeCloseTo(Math.exp(d.reduce((a, b) => a + b) / 5), 12);
  expect(rel.interval![0]).toBeLessThan(rel.ratio);
  expect(rel.interval![1]).toBeGreaterThan(rel.ratio);
  // A stalled round is left out of the pairing, as the gates leave it out.
  rs[1].rounds[2].stalled = true;
  compareToBaseline(rs, "bun", 0.95);
  expect(rs[1].relative!.rounds).toBe(4);
  expect(rs[1].relative!.kind).toBe("range");
  expect(rs[1].relative!.interval).toEqual([Math.min(...[0, 1, 3, 4].map((i) => Math.exp(d[i]))), Math.max(...[0, 1, 3, 4].map((i) => Math.exp(d[i])))]);
  expect(rs[1].range).toEqual([50, 51]);
});
