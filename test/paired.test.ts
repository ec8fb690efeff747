// The paired analysis (bench/measure/paired.ts): unit tests with known
// answers, then the validation of the method on SYNTHETIC rounds whose truth
// is known. Every simulation is seeded, so the figures quoted in comments are
// the ones these tests compute; the assertions are chosen to be true of the
// method (with Monte Carlo margin), not tuned to a seed.
import { describe, expect, test } from "bun:test";
import {
  failKind,
  judge,
  logRatioToPct,
  lookConfidence,
  pairedBootstrap,
  pairedLogRatios,
  pairedRounds,
  pairedSign,
  pairedT,
  pctToLogRatio,
  requiredRounds,
  tQuantile,
  type PairedInterval,
} from "../bench/stats/paired.ts";
import { seededRandom } from "../bench/stats/stats.ts";

// ---------------------------------------------------------------------------
// Simulation model
// ---------------------------------------------------------------------------

/**
 * Noise of one criterion, on the log scale. Per round r: a drift
 * s_r ~ N(0, sigmaShared) common to both backends, independent noise
 * e ~ N(0, sigmaInd) per backend, and with probability outlierProb per
 * backend-round a stall that multiplies the value by U(1.5, 3) (latency,
 * outlierSign +1) or divides it by that (throughput, outlierSign -1).
 */
interface Noise {
  sigmaShared: number;
  sigmaInd: number;
  outlierProb: number;
  outlierSign: 1 | -1;
}

// Noise sizes measured on this VM.
const THROUGHPUT: Noise = { sigmaShared: 0.15, sigmaInd: 0.08, outlierProb: 0, outlierSign: -1 };
const LATENCY_P50: Noise = { sigmaShared: 0.03, sigmaInd: 0.02, outlierProb: 0, outlierSign: 1 };
const withStalls = (n: Noise): Noise => ({ ...n, outlierProb: 0.1 });

const MAX_ROUNDS = 32;

/** Seeded generator of rounds; writes into preallocated typed arrays. */
class Rounds {
  private rnd: () => number;
  private spare = NaN;
  /** log b_r and log c_r (mu = 0: only ratios matter), and d_r = their difference. */
  readonly logB = new Float64Array(MAX_ROUNDS);
  readonly logC = new Float64Array(MAX_ROUNDS);
  readonly d = new Float64Array(MAX_ROUNDS);

  constructor(seed: number) {
    this.rnd = seededRandom(seed);
  }

  /** Standard normal by Box-Muller (both values used). */
  gauss(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = this.rnd();
    while (u === 0) u = this.rnd();
    const v = this.rnd();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  private stall(noise: Noise): number {
    return this.rnd() < noise.outlierProb ? noise.outlierSign * Math.log(1.5 + 1.5 * this.rnd()) : 0;
  }

  /** Simulates n rounds with true log-ratio delta = ln(c/b); returns d for those rounds (a view). */
  run(n: number, delta: number, noise: Noise): Float64Array {
    for (let r = 0; r < n; r++) {
      const shared = noise.sigmaShared * this.gauss();
      this.logB[r] = shared + noise.sigmaInd * this.gauss() + this.stall(noise);
      this.logC[r] = delta + shared + noise.sigmaInd * this.gauss() + this.stall(noise);
      this.d[r] = this.logC[r] - this.logB[r];
    }
    return this.d.subarray(0, n);
  }
}

const covers = (iv: PairedInterval, truthPct: number) => iv.lo <= truthPct && iv.hi >= truthPct;

/** Welch (unpaired) interval width on the log scale: what treating the backends' rounds as independent samples gives. */
function welchLogWidth(logB: Float64Array, logC: Float64Array, n: number, confidence: number): number {
  let mb = 0;
  let mc = 0;
  for (let r = 0; r < n; r++) {
    mb += logB[r];
    mc += logC[r];
  }
  mb /= n;
  mc /= n;
  let vb = 0;
  let vc = 0;
  for (let r = 0; r < n; r++) {
    vb += (logB[r] - mb) ** 2;
    vc += (logC[r] - mc) ** 2;
  }
  const sb = vb / (n - 1) / n;
  const sc = vc / (n - 1) / n;
  const df = (sb + sc) ** 2 / (sb ** 2 / (n - 1) + sc ** 2 / (n - 1));
  return 2 * tQuantile(1 - (1 - confidence) / 2, df) * Math.sqrt(sb + sc);
}

/** Width of a paired interval on the log scale (independent of direction). */
const logWidth = (iv: PairedInterval) => Math.abs(pctToLogRatio(iv.hi, true) - pctToLogRatio(iv.lo, true));

const medianOf = (xs: Float64Array) => {
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------
// Unit tests
// ---------------------------------------------------------------------------

describe("tQuantile", () => {
  // Reference values from scipy.stats.t.ppf (scipy 1.17).
  const table: [p: number, df: number, t: number][] = [
    [0.975, 1, 12.706204736],
    [0.995, 1, 63.656741163],
    [0.9995, 1, 636.619248769],
    [0.975, 2, 4.30265273],
    [0.975, 4, 2.776445105],
    [0.975, 9, 2.262157163],
    [0.995, 9, 3.249835542],
    [1 - 0.05 / 6, 5, 3.534110704],
    [1 - 0.05 / 6, 9, 2.933324088],
    [1 - 0.05 / 6, 15, 2.693739319],
    [1 - 0.05 / 6, 19, 2.625105913],
    [0.95, 30, 1.697260887],
    [0.6, 3, 0.276670662],
    [0.9, 1.5, 2.196398418], // non-integer df (Welch)
    [0.999999, 2, 707.105720516],
    [0.975, 1000, 1.962339081],
    [0.975, 1e6, 1.959966357],
    [0.975, 1e8, 1.959964008],
    [0.975, Infinity, 1.959963985],
    [0.999, Infinity, 3.090232306],
  ];
  test.each(table)("t(%p, %p) = %p", (p, df, t) => {
    expect(Math.abs(tQuantile(p, df) - t)).toBeLessThan(1e-6 * Math.max(1, Math.abs(t)));
  });
  test("symmetry, median, edges", () => {
    expect(tQuantile(0.025, 4)).toBeCloseTo(-2.776445105, 8);
    expect(tQuantile(0.5, 7)).toBe(0);
    expect(tQuantile(0, 3)).toBe(-Infinity);
    expect(tQuantile(1, 3)).toBe(Infinity);
    expect(Number.isNaN(tQuantile(1.5, 3))).toBe(true);
    expect(Number.isNaN(tQuantile(0.9, 0))).toBe(true);
    expect(Number.isNaN(tQuantile(NaN, 3))).toBe(true);
  });
  test("decreases towards the normal quantile as df grows", () => {
    let prev = Infinity;
    for (const df of [1, 2, 3, 5, 10, 30, 100, 1e4, 1e6, 1e7, 1e9]) {
      const t = tQuantile(0.975, df);
      expect(t).toBeLessThan(prev);
      expect(t).toBeGreaterThan(1.959963984);
      prev = t;
    }
  });
});

describe("pairedLogRatios", () => {
  test("one variant: ln(c/b) per round", () => {
    const d = pairedLogRatios([[100, 200, 50]], [[110, 180, 50]]);
    expect(d).toHaveLength(3);
    expect(d[0]).toBeCloseTo(Math.log(1.1), 12);
    expect(d[1]).toBeCloseTo(Math.log(0.9), 12);
    expect(d[2]).toBe(0);
  });
  test("several sizes: mean of log-ratios per round (geometric mean over sizes)", () => {
    // Round 0: sizes improve by 1.2 and 0.9 -> sqrt(1.08). Round 1: 1.5 and 1.5.
    const base = [
      [10, 40],
      [1000, 2000],
    ];
    const cand = [
      [12, 60],
      [900, 3000],
    ];
    const d = pairedLogRatios(base, cand);
    expect(d[0]).toBeCloseTo(0.5 * Math.log(1.08), 12);
    expect(d[1]).toBeCloseTo(Math.log(1.5), 12);
  });
  test("a drift common to both backends in a round cancels", () => {
    const b = [100, 100, 100, 100];
    const c = [120, 120, 120, 120];
    const drift = [1, 0.6, 1.7, 0.9];
    const d = pairedLogRatios([b.map((x, r) => x * drift[r])], [c.map((x, r) => x * drift[r])]);
    for (const x of d) expect(x).toBeCloseTo(Math.log(1.2), 12);
  });
  test("rounds with a missing, non-finite or non-positive value in any variant are dropped whole", () => {
    const base = [
      [100, 100, NaN, 100, 100, 100, 100],
      [10, 10, 10, 10, 0, 10, 10],
    ];
    const cand = [
      [110, Infinity, 110, 110, 110, -1, 110],
      [11, 11, 11, 11, 11, 11], // round 6 missing
    ];
    const res = pairedRounds(base, cand);
    expect(res.kept).toEqual([0, 3]);
    expect(res.dropped).toEqual([1, 2, 4, 5, 6]);
    expect(res.d).toHaveLength(2);
    for (const x of res.d) expect(x).toBeCloseTo(Math.log(1.1), 12);
    expect(pairedLogRatios(base, cand)).toEqual(res.d);
    // A hole in a sparse array counts as missing.
    const sparse: number[] = [];
    sparse[1] = 5;
    expect(pairedRounds([sparse], [[5, 5]])).toEqual({ d: [0], kept: [1], dropped: [0] });
  });
  test("no variants gives no rounds; unequal variant counts throw", () => {
    expect(pairedLogRatios([], [])).toEqual([]);
    expect(() => pairedLogRatios([[1]], [[1], [2]])).toThrow(RangeError);
  });
});

describe("pairedT and the improvement's direction", () => {
  // d = 0.1, 0.2, 0.3: mean 0.2, sd 0.1, half-width t(0.975, 2) * 0.1 / sqrt(3).
  const d = [0.1, 0.2, 0.3];
  const half = (4.30265273 * 0.1) / Math.sqrt(3);
  test("higher is better (throughput): candidate 22% better, bounds from exp", () => {
    const iv = pairedT(d, 0.95, true);
    expect(iv).toMatchObject({ n: 3, confidence: 0.95, method: "paired-t" });
    expect(iv.meanLog).toBeCloseTo(0.2, 12);
    expect(iv.sdLog).toBeCloseTo(0.1, 12);
    expect(iv.estimatePct).toBeCloseTo((Math.exp(0.2) - 1) * 100, 9);
    expect(iv.lo).toBeCloseTo((Math.exp(0.2 - half) - 1) * 100, 6);
    expect(iv.hi).toBeCloseTo((Math.exp(0.2 + half) - 1) * 100, 6);
  });
  test("lower is better (latency): the same ratios are a loss, and the bounds swap", () => {
    const iv = pairedT(d, 0.95, false);
    expect(iv.estimatePct).toBeCloseTo((1 - Math.exp(0.2)) * 100, 9);
    expect(iv.estimatePct).toBeLessThan(0);
    expect(iv.lo).toBeCloseTo((1 - Math.exp(0.2 + half)) * 100, 6);
    expect(iv.hi).toBeCloseTo((1 - Math.exp(0.2 - half)) * 100, 6);
    expect(iv.lo).toBeLessThan(iv.estimatePct);
    expect(iv.hi).toBeGreaterThan(iv.estimatePct);
  });
  test("a candidate with half the latency is 50% better; with twice the throughput 100% better", () => {
    const lat = pairedLogRatios([[10, 20, 30]], [[5, 10, 15]]);
    expect(pairedT(lat, 0.95, false).estimatePct).toBeCloseTo(50, 9);
    const thr = pairedLogRatios([[10, 20, 30]], [[20, 40, 60]]);
    expect(pairedT(thr, 0.95, true).estimatePct).toBeCloseTo(100, 9);
    // No spread: the interval collapses onto the estimate.
    const iv = pairedT(thr, 0.95, true);
    expect(iv.lo).toBeCloseTo(100, 9);
    expect(iv.hi).toBeCloseTo(100, 9);
  });
  test("fewer than two rounds: no interval", () => {
    const one = pairedT([0.1], 0.95, true);
    expect(one.n).toBe(1);
    expect(one.estimatePct).toBeCloseTo((Math.exp(0.1) - 1) * 100, 9);
    expect(Number.isNaN(one.lo) && Number.isNaN(one.hi)).toBe(true);
    const none = pairedT([], 0.95, false);
    expect(none.n).toBe(0);
    expect(Number.isNaN(none.estimatePct)).toBe(true);
    expect(judge(one, 0)).toBe("INCONCLUSIVE");
    expect(() => pairedT(d, 1, true)).toThrow(RangeError);
  });
  test("logRatioToPct and pctToLogRatio are inverses", () => {
    for (const hib of [true, false]) for (const pct of [-40, 0, 15, 30]) expect(logRatioToPct(pctToLogRatio(pct, hib), hib)).toBeCloseTo(pct, 10);
    expect(pctToLogRatio(100, false)).toBe(-Infinity);
  });
});

describe("pairedBootstrap", () => {
  test("seeded: same seed same interval; estimate and spread as pairedT", () => {
    const d = [0.05, 0.12, -0.02, 0.2, 0.1, 0.07];
    const a = pairedBootstrap(d, 0.95, true, 7, 2000);
    expect(pairedBootstrap(d, 0.95, true, 7, 2000)).toEqual(a);
    expect(pairedBootstrap(d, 0.95, true, 8, 2000)).not.toEqual(a);
    expect(a.method).toBe("paired-bootstrap");
    const t = pairedT(d, 0.95, true);
    expect(a.estimatePct).toBe(t.estimatePct);
    expect(a.sdLog).toBe(t.sdLog);
    expect(a.lo).toBeLessThan(a.estimatePct);
    expect(a.hi).toBeGreaterThan(a.estimatePct);
    // Narrower than t at n = 6 (that is why it under-covers).
    expect(a.hi - a.lo).toBeLessThan(t.hi - t.lo);
    const lower = pairedBootstrap(d, 0.95, false, 7, 2000);
    expect(lower.lo).toBeCloseTo(logRatioToPct(pctToLogRatio(a.hi, true), false), 9);
  });
  test("agrees with the t interval when there are many rounds", () => {
    const sim = new Rounds(5);
    const d = Array.from({ length: 400 }, () => 0.1 + 0.1 * sim.gauss());
    const b = pairedBootstrap(d, 0.95, true, 1, 4000);
    const t = pairedT(d, 0.95, true);
    expect(Math.abs(b.lo - t.lo)).toBeLessThan(0.1 * (t.hi - t.lo));
    expect(Math.abs(b.hi - t.hi)).toBeLessThan(0.1 * (t.hi - t.lo));
  });
  test("fewer than two rounds: no interval", () => {
    const iv = pairedBootstrap([0.3], 0.9, true, 1, 100);
    expect(Number.isNaN(iv.lo) && Number.isNaN(iv.hi)).toBe(true);
  });
});

describe("lookConfidence, requiredRounds, judge, failKind", () => {
  test("Bonferroni split over the planned looks", () => {
    expect(lookConfidence(0.95, 1)).toBeCloseTo(0.95, 15);
    expect(lookConfidence(0.95, 3)).toBeCloseTo(1 - 0.05 / 3, 15);
    expect(lookConfidence(0.9, 4)).toBeCloseTo(0.975, 15);
    expect(() => lookConfidence(0.95, 0)).toThrow(RangeError);
    expect(() => lookConfidence(0.95, 2.5)).toThrow(RangeError);
  });
  test("requiredRounds: the first n at which the interval would clear the threshold", () => {
    const d = [0.3, 0.1, 0.25, 0.05, 0.2, 0.15]; // mean 0.175, sd 0.0935
    for (const [thr, hib] of [
      [10, true],
      [15, true],
      [-30, false],
      [25, true],
    ] as [number, boolean][]) {
      const n = requiredRounds(d, thr, 0.95, hib);
      const iv = pairedT(d, 0.95, hib);
      const gap = Math.abs(iv.meanLog - pctToLogRatio(thr, hib));
      const halfAt = (k: number) => (tQuantile(0.975, k - 1) * iv.sdLog) / Math.sqrt(k);
      expect(Number.isInteger(n)).toBe(true);
      expect(halfAt(n)).toBeLessThan(gap);
      if (n > 2) expect(halfAt(n - 1)).toBeGreaterThanOrEqual(gap);
    }
    // Mean exactly on the threshold: never.
    expect(requiredRounds([0.1, -0.1], 0, 0.95, true)).toBe(Infinity);
    expect(requiredRounds([0.1, -0.1], 0, 0.95, false)).toBe(Infinity);
    expect(Number.isNaN(requiredRounds([0.1], 0, 0.95, true))).toBe(true);
    // Six rounds already clear 5% here (so the advice is at most 6), not 10%
    // (the advice is 8).
    expect(requiredRounds(d, 5, 0.95, true)).toBeLessThanOrEqual(6);
    expect(judge(pairedT(d, 0.95, true), 5)).toBe("PASS");
    expect(requiredRounds(d, 10, 0.95, true)).toBe(8);
    expect(judge(pairedT(d, 0.95, true), 10)).toBe("INCONCLUSIVE");
  });
  const iv = (lo: number, hi: number): PairedInterval => ({ n: 5, meanLog: 0, sdLog: 0, estimatePct: (lo + hi) / 2, lo, hi, confidence: 0.95, method: "paired-t" });
  test("judge: PASS above, FAIL below, INCONCLUSIVE straddling or on the threshold", () => {
    expect(judge(iv(16, 40), 15)).toBe("PASS");
    expect(judge(iv(15, 40), 15)).toBe("INCONCLUSIVE");
    expect(judge(iv(5, 20), 15)).toBe("INCONCLUSIVE");
    expect(judge(iv(-3, 14.9), 15)).toBe("FAIL");
    expect(judge(iv(NaN, NaN), 15)).toBe("INCONCLUSIVE");
  });
  test("failKind: worse when the whole interval is below 0", () => {
    expect(failKind(iv(-20, -1))).toBe("worse");
    expect(failKind(iv(-3, 14.9))).toBe("not better enough");
    expect(failKind(iv(2, 10))).toBe("not better enough");
  });
});

// ---------------------------------------------------------------------------
// Validation on simulated rounds
// ---------------------------------------------------------------------------

const RUNS = 1000;
const BOOT_ITER = 2000;

describe("simulated A/A coverage at n = 10 (95%)", () => {
  // Measured with these seeds (1000 runs; Monte Carlo SE about 0.7 points):
  //   no stalls, throughput noise: paired t 95.5%, paired bootstrap 90.5%
  //   no stalls, latency p50 noise: paired t 95.7%, paired bootstrap 90.8%
  //   stalls (10% per backend-round), latency: paired t 98.3%, bootstrap 87.4%
  // Without stalls d_r is exactly normal, so t is exact; the bootstrap's
  // spread is sqrt((n-1)/n) too small and uses normal-like tails. Other runs
  // of the same model gave the bootstrap 83% at n = 5, 85% at n = 6, 92% at
  // n = 16: it needs far more rounds than we run. With stalls, t over-covers
  // (the rare large d_r inflate sd), the bootstrap under-covers further.
  function coverage(noise: Noise, seed: number, higherIsBetter: boolean, viaRatios: boolean) {
    const sim = new Rounds(seed);
    let t = 0;
    let boot = 0;
    for (let i = 0; i < RUNS; i++) {
      let d: ArrayLike<number> = sim.run(10, 0, noise);
      if (viaRatios) {
        // The full path: raw per-round figures -> pairedLogRatios.
        const base = [Array.from(sim.logB.subarray(0, 10), (x) => 1000 * Math.exp(x))];
        const cand = [Array.from(sim.logC.subarray(0, 10), (x) => 1000 * Math.exp(x))];
        d = pairedLogRatios(base, cand);
      }
      if (covers(pairedT(d, 0.95, higherIsBetter), 0)) t++;
      if (covers(pairedBootstrap(d, 0.95, higherIsBetter, i + 1, BOOT_ITER), 0)) boot++;
    }
    return { t: t / RUNS, boot: boot / RUNS };
  }
  test("throughput noise: t covers 93-97%, the bootstrap less", () => {
    const c = coverage(THROUGHPUT, 11, true, true);
    expect(c.t).toBeGreaterThanOrEqual(0.93);
    expect(c.t).toBeLessThanOrEqual(0.97);
    expect(c.boot).toBeLessThan(c.t);
    expect(c.boot).toBeLessThan(0.93);
  });
  test("latency noise: t covers 93-97%, the bootstrap less", () => {
    const c = coverage(LATENCY_P50, 12, false, false);
    expect(c.t).toBeGreaterThanOrEqual(0.93);
    expect(c.t).toBeLessThanOrEqual(0.97);
    expect(c.boot).toBeLessThan(0.93);
  });
  test("with stalls: t stays at or above nominal, the bootstrap does not", () => {
    const c = coverage(withStalls(LATENCY_P50), 13, false, false);
    expect(c.t).toBeGreaterThanOrEqual(0.95);
    expect(c.boot).toBeLessThan(0.93);
  });
});

describe("paired vs unpaired on data with shared drift", () => {
  // Median 95% interval widths on the log scale over 1000 runs of n = 10 A/A:
  //   throughput noise: paired 0.158, unpaired (Welch) 0.313 (1.99x)
  //   latency p50 noise: paired 0.039, unpaired 0.066 (1.67x)
  //   35% of each backend's variance shared: paired 0.157, unpaired 0.183 (1.17x)
  function widths(noise: Noise, seed: number) {
    const sim = new Rounds(seed);
    const paired = new Float64Array(RUNS);
    const unpaired = new Float64Array(RUNS);
    for (let i = 0; i < RUNS; i++) {
      const d = sim.run(10, 0, noise);
      paired[i] = logWidth(pairedT(d, 0.95, true));
      unpaired[i] = welchLogWidth(sim.logB, sim.logC, 10, 0.95);
    }
    return { paired: medianOf(paired), unpaired: medianOf(unpaired) };
  }
  test("throughput noise: the paired interval is about half as wide", () => {
    const w = widths(THROUGHPUT, 21);
    expect(w.paired).toBeLessThan(w.unpaired);
    expect(w.unpaired / w.paired).toBeGreaterThan(1.5);
  });
  test("latency noise: narrower too", () => {
    const w = widths(LATENCY_P50, 22);
    expect(w.paired).toBeLessThan(w.unpaired);
  });
  test("even with only 35% of the variance shared", () => {
    const w = widths({ ...THROUGHPUT, sigmaShared: 0.08 * Math.sqrt(0.35 / 0.65) }, 23);
    expect(w.paired).toBeLessThan(w.unpaired);
  });
});

describe("power and false passes (throughput, Bonferroni over 3 looks)", () => {
  const conf = lookConfidence(0.95, 3); // 0.98333 per look
  // Simulated PASS rate of a true +30% against a 15% threshold, 1000 runs per n:
  //   n:     6    7    8    9   10   11   12   13   14   15   16   18   20
  //   sim: .301 .435 .547 .567 .689 .736 .810 .848 .878 .907 .925 .968 .980
  //   exact (noncentral t, scipy): 6 .323, 10 .684, 11 .750, 12 .805, 13 .849, 16 .935
  // So 12 rounds is the smallest n with 80% power, and only just (80.5%
  // exactly; another seed could put the simulated figure under 80%); 13
  // rounds give 85%. An A/A never passed a 10% threshold at any n (0/1000).
  function passRate(n: number, delta: number, thresholdPct: number, seed: number, noise = THROUGHPUT) {
    const sim = new Rounds(seed);
    let pass = 0;
    for (let i = 0; i < RUNS; i++) if (judge(pairedT(sim.run(n, delta, noise), conf, true), thresholdPct) === "PASS") pass++;
    return pass / RUNS;
  }
  test("a true +30% passes a 15% threshold in >= 80% of runs from n = 12", () => {
    const rates = new Map<number, number>();
    for (let n = 6; n <= 20; n++) rates.set(n, passRate(n, Math.log(1.3), 15, 100 + n));
    const smallest = [...rates].find(([, r]) => r >= 0.8)?.[0];
    expect(smallest).toBe(12);
    expect(rates.get(12)!).toBeGreaterThanOrEqual(0.8);
    expect(rates.get(20)!).toBeGreaterThan(0.95);
  });
  test("an A/A passes a 10% threshold in at most 1% of runs (measured: never)", () => {
    for (let n = 6; n <= 20; n++) expect(passRate(n, 0, 10, 200 + n)).toBeLessThanOrEqual(0.01);
  });
  test("stalls cost power (the mean of log-ratios is not robust to them)", () => {
    // Throughput with stalls (value divided by U(1.5, 3) in 10% of
    // backend-rounds): a true +30% passes 15% in only 14% of runs at n = 12
    // (21% at n = 20), against 81% without stalls. The interval stays valid
    // (coverage above), but it is too wide to decide.
    const clean = passRate(12, Math.log(1.3), 15, 112);
    const stalled = passRate(12, Math.log(1.3), 15, 312, withStalls(THROUGHPUT));
    expect(stalled).toBeLessThan(0.5);
    expect(stalled).toBeLessThan(clean);
  });
});

describe("sequential looks after 6, 10 and 16 rounds (A/A, two-sided around 0)", () => {
  // Stop at the first look whose interval excludes 0; an A/A that does so is
  // a false finding. 4000 runs each. Measured:
  //   Bonferroni (98.33% per look), throughput noise: 3.45% (per look 59/38/41)
  //   Bonferroni, latency p50 noise with stalls: 1.0%
  //   uncorrected (95% per look), throughput noise: 10.85% (optional stopping)
  //   uncorrected, latency with stalls: 5.2%
  const LOOKS = [6, 10, 16];
  function anyLookExcludesZero(noise: Noise, confidence: number, seed: number, runs = 4000) {
    const sim = new Rounds(seed);
    let errors = 0;
    for (let i = 0; i < runs; i++) {
      const d = sim.run(16, 0, noise);
      for (const n of LOOKS) {
        const iv = pairedT(d.subarray(0, n), confidence, true);
        if (iv.lo > 0 || iv.hi < 0) {
          errors++;
          break;
        }
      }
    }
    return errors / runs;
  }
  test("with a Bonferroni split the error stays <= 5%", () => {
    const conf = lookConfidence(0.95, LOOKS.length);
    expect(anyLookExcludesZero(THROUGHPUT, conf, 31)).toBeLessThanOrEqual(0.05);
    expect(anyLookExcludesZero(withStalls(LATENCY_P50), conf, 32)).toBeLessThanOrEqual(0.05);
  });
  test("without it, optional stopping inflates the error well past 5%", () => {
    expect(anyLookExcludesZero(THROUGHPUT, 0.95, 31)).toBeGreaterThan(0.08);
  });
});

// ---------------------------------------------------------------------------
// The sign-test interval (tail percentiles: figures that flip between modes)
// ---------------------------------------------------------------------------

describe("pairedSign: the median per-round ratio with a distribution-free interval", () => {
  test("the bounds are the order statistics the binomial gives: n = 20 at 98.3% -> d(5) and d(16)", () => {
    const d = Array.from({ length: 20 }, (_, i) => (i - 10) / 100); // -0.10 .. +0.09
    const iv = pairedSign(d, 1 - 0.05 / 3, true);
    expect(iv.method).toBe("paired-sign");
    expect(iv.lo).toBeCloseTo(logRatioToPct(-0.06, true), 10);
    expect(iv.hi).toBeCloseTo(logRatioToPct(0.05, true), 10);
    expect(iv.estimatePct).toBeCloseTo(logRatioToPct(-0.005, true), 10);
  });

  test("too few rounds for the confidence: no interval (6 rounds cannot reach 98.3%)", () => {
    expect(Number.isNaN(pairedSign([0.1, 0.2, 0.1, 0.3, 0.2, 0.1], 1 - 0.05 / 3, true).lo)).toBe(true);
    expect(Number.isFinite(pairedSign([0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.2, 0.1], 0.95, true).lo)).toBe(true);
  });

  test("bimodal tails (a quarter of the rounds meet a 15x hiccup in either backend): an A/A interval covers 0 at least 95% of the time, and stays narrow", () => {
    const rnd = seededRandom(77);
    let covered = 0;
    const widths: number[] = [];
    const runs = 1000;
    for (let k = 0; k < runs; k++) {
      const d = Array.from({ length: 20 }, () => {
        const b = Math.log(1 + 0.05 * rnd()) + (rnd() < 0.25 ? Math.log(15) : 0);
        const c = Math.log(1 + 0.05 * rnd()) + (rnd() < 0.25 ? Math.log(15) : 0);
        return c - b;
      });
      const iv = pairedSign(d, 0.95, false);
      if (iv.lo <= 0 && iv.hi >= 0) covered++;
      widths.push(iv.hi - iv.lo);
      // The t-interval of the same rounds is ruled by the flips.
    }
    expect(covered / runs).toBeGreaterThanOrEqual(0.95);
    widths.sort((a, b) => a - b);
    // Measured: the median width is a few % while the flips are 1400%.
    expect(widths[runs / 2]).toBeLessThan(10);
  });
});
