// Statistics written once for every scenario: latency summaries, a seeded
// random source, and the bootstrap used for confidence intervals.
// simple-statistics provides the primitives; it has no bootstrap, so the
// resampling loop is here (on sampleWithReplacement with a seeded source).
import { mean, quantileSorted, sampleWithReplacement } from "simple-statistics";

/** Percentiles and moments of one set of latencies, in the unit given. */
export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  mean: number;
  min: number;
  max: number;
}

/**
 * Summarises samples (any unit). Percentiles are simple-statistics'
 * quantileSorted, which in 7.12 interpolates linearly between neighbours
 * (R type 7, numpy's default); older releases used a nearest-rank rule, so the
 * version is pinned in package.json.
 */
export function summarize(samples: ArrayLike<number>, scale = 1): LatencySummary {
  const n = samples.length;
  if (n === 0) return { n: 0, p50: NaN, p95: NaN, p99: NaN, p999: NaN, mean: NaN, min: NaN, max: NaN };
  const sorted = Float64Array.from(samples as ArrayLike<number>).sort();
  const arr = sorted as unknown as number[];
  const q = (p: number) => quantileSorted(arr, p) * scale;
  return {
    n,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    p999: q(0.999),
    mean: mean(arr) * scale,
    min: sorted[0] * scale,
    max: sorted[n - 1] * scale,
  };
}

/** mulberry32: a small, fast, seedable PRNG in [0, 1), so a run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapResult {
  estimate: number;
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  iterations?: number;
  seed?: number;
  confidence?: number;
}

/**
 * The bootstrap distribution of a statistic of independent groups: each group
 * is resampled with replacement (in order, from one seeded source) and the
 * statistic recomputed, `iterations` times, in resampling order. Null when a
 * group has fewer than two values. For combining several bootstraps (the
 * gate's C1 takes a geometric mean over payload sizes).
 */
export function bootstrapReplicates(
  groups: number[][],
  statistic: (groups: number[][]) => number,
  opts: BootstrapOptions = {},
): { estimate: number; replicates: Float64Array | null } {
  const estimate = statistic(groups);
  if (groups.some((g) => g.length < 2)) return { estimate, replicates: null };
  const iterations = opts.iterations ?? 5000;
  const rnd = seededRandom(opts.seed ?? 1);
  const replicates = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) replicates[i] = statistic(groups.map((g) => sampleWithReplacement(g, g.length, rnd)));
  return { estimate, replicates };
}

/** Lower and upper percentile bounds of a distribution (sorts it in place). */
export function percentileInterval(dist: Float64Array, confidence = 0.95): [number, number] {
  const alpha = (1 - confidence) / 2;
  dist.sort();
  const arr = dist as unknown as number[];
  return [quantileSorted(arr, alpha), quantileSorted(arr, 1 - alpha)];
}

/**
 * Percentile bootstrap: the statistic on the data with the 2.5 and 97.5
 * percentiles of its bootstrap distribution (NaN when a group is too small).
 */
function bootstrapGroups(groups: number[][], statistic: (groups: number[][]) => number, opts: BootstrapOptions): BootstrapResult {
  const { estimate, replicates } = bootstrapReplicates(groups, statistic, opts);
  if (!replicates) return { estimate, lo: NaN, hi: NaN };
  const [lo, hi] = percentileInterval(replicates, opts.confidence);
  return { estimate, lo, hi };
}

/**
 * Bootstrap of a statistic comparing two independent groups, for example the
 * per-round medians of baseline and candidate.
 */
export function bootstrapTwoSample(
  a: number[],
  b: number[],
  statistic: (a: number[], b: number[]) => number,
  opts: BootstrapOptions = {},
): BootstrapResult {
  return bootstrapGroups([a, b], ([x, y]) => statistic(x, y), opts);
}

/** Bootstrap interval of a statistic of one sample. */
export function bootstrapOneSample(a: number[], statistic: (a: number[]) => number, opts: BootstrapOptions = {}): BootstrapResult {
  return bootstrapGroups([a], ([x]) => statistic(x), opts);
}

/** Median of a small array (copies). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Improvement of candidate over baseline in %, for a metric where lower is
 * better (latency): positive means the candidate is faster.
 */
export function improvementLowerBetter(baseline: number[], candidate: number[]): number {
  return (1 - median(candidate) / median(baseline)) * 100;
}

/** Improvement in % for a metric where higher is better (throughput). */
export function improvementHigherBetter(baseline: number[], candidate: number[]): number {
  return (median(candidate) / median(baseline) - 1) * 100;
}
