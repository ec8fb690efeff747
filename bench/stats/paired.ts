// Paired comparison of two backends measured in the same rounds.
//
// Every round measures every backend once (in a random order), and rounds
// share drift: on this VM a large part of the round-to-round variance is
// common to all backends of a round (per-round logs of two backends correlate
// 0.6-0.8). Comparing the backends' rounds as two independent samples keeps
// that drift in the error; comparing them round by round cancels it. So the
// unit of analysis is the per-round log-ratio d_r = ln(c_r / b_r) of candidate
// to baseline, and the interval is a Student t interval on the mean of the
// d_r (exact for normal d_r, and the small-sample multiplier matters: 2.78 at
// n = 5, not 1.96). A percentile bootstrap over rounds is provided for
// comparison; it under-covers at the round counts we can afford (see
// test/paired.test.ts for the simulated coverage). The mean of log-ratios
// is not robust: rounds hit by a hypervisor stall keep the interval valid
// (it widens) but can take away most of its power, so such rounds are better
// detected and repeated than averaged in.
//
// Everything here is pure: no I/O, no clocks, randomness only from a seed.
import { tQuantile } from "./student-t.ts";
import { percentileInterval, seededRandom } from "./stats.ts";

export { tQuantile };

/** A confidence interval on the candidate's improvement over the baseline. */
export interface PairedInterval {
  /** Rounds used (after dropping incomplete ones). */
  n: number;
  /** Mean of the per-round log-ratios ln(candidate / baseline) (their median for paired-sign). */
  meanLog: number;
  /** Sample standard deviation (n - 1) of the per-round log-ratios. */
  sdLog: number;
  /**
   * Improvement in %, positive when the candidate is better:
   * higher-is-better (exp(meanLog) - 1) * 100, lower-is-better
   * (1 - exp(meanLog)) * 100. It is the ratio of geometric means.
   */
  estimatePct: number;
  /** Lower bound of the improvement in % (NaN when n < 2). */
  lo: number;
  /** Upper bound of the improvement in % (NaN when n < 2). */
  hi: number;
  /** Two-sided confidence of [lo, hi], e.g. 0.95. */
  confidence: number;
  method: "paired-t" | "paired-bootstrap" | "paired-sign";
}

export type Verdict = "PASS" | "FAIL" | "INCONCLUSIVE";
export type FailKind = "worse" | "not better enough";

// ---------------------------------------------------------------------------
// Per-round log-ratios
// ---------------------------------------------------------------------------

function usable(v: number | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

/** The paired rounds of a comparison: the log-ratios and which rounds were kept or dropped. */
export interface PairedRounds {
  /** Per-round log-ratio, averaged over variants, for the kept rounds in order. */
  d: number[];
  /** Round indices (0-based) behind d. */
  kept: number[];
  /** Round indices dropped because some variant's value was missing or unusable. */
  dropped: number[];
}

/**
 * Per-round log-ratios with the rounds kept and dropped; see pairedLogRatios.
 * Throws when base and cand have different numbers of variants.
 */
export function pairedRounds(base: ReadonlyArray<ReadonlyArray<number>>, cand: ReadonlyArray<ReadonlyArray<number>>): PairedRounds {
  if (base.length !== cand.length) {
    throw new RangeError(`pairedLogRatios: ${base.length} baseline variants but ${cand.length} candidate variants`);
  }
  const out: PairedRounds = { d: [], kept: [], dropped: [] };
  const variants = base.length;
  if (variants === 0) return out;
  let rounds = 0;
  for (let v = 0; v < variants; v++) rounds = Math.max(rounds, base[v].length, cand[v].length);
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    let ok = true;
    for (let v = 0; v < variants && ok; v++) {
      const b = base[v][r];
      const c = cand[v][r];
      if (usable(b) && usable(c)) sum += Math.log(c / b);
      else ok = false;
    }
    if (ok) {
      out.d.push(sum / variants);
      out.kept.push(r);
    } else out.dropped.push(r);
  }
  return out;
}

/**
 * Per-round paired log-ratios d_r = ln(c_r / b_r).
 *
 * Inputs are indexed [variant][round]: one variant for most criteria, one per
 * payload size for the ping-pong criterion. With several variants d_r is the
 * mean over variants of ln(c_{v,r} / b_{v,r}), i.e. the log of the ratio of
 * geometric means over sizes, taken jointly within each round so that the
 * round's shared drift still cancels.
 *
 * A round is dropped as a whole (for every variant) when any variant's value
 * for that round, in either stack, is missing (array too short or a hole),
 * non-finite, zero or negative: a partial round would weight sizes unevenly
 * and a zero throughput has no log. Use pairedRounds to see which rounds
 * were dropped. Rounds are matched by index, so both stacks' arrays must list
 * rounds in the same order.
 */
export function pairedLogRatios(base: ReadonlyArray<ReadonlyArray<number>>, cand: ReadonlyArray<ReadonlyArray<number>>): number[] {
  return pairedRounds(base, cand).d;
}

// ---------------------------------------------------------------------------
// Intervals
// ---------------------------------------------------------------------------

/** Improvement in % (positive = candidate better) for a mean log-ratio. */
export function logRatioToPct(logRatio: number, higherIsBetter: boolean): number {
  return higherIsBetter ? Math.expm1(logRatio) * 100 : -Math.expm1(logRatio) * 100;
}

/**
 * The log-ratio at which the improvement equals thresholdPct: ln(1 + T/100)
 * when higher is better, ln(1 - T/100) when lower is better (-Infinity for
 * T >= 100, which a lower-is-better metric can never exceed).
 */
export function pctToLogRatio(thresholdPct: number, higherIsBetter: boolean): number {
  if (higherIsBetter) return Math.log1p(thresholdPct / 100);
  return thresholdPct >= 100 ? -Infinity : Math.log1p(-thresholdPct / 100);
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
}

function meanSd(d: ArrayLike<number>): { n: number; mean: number; sd: number } {
  const n = d.length;
  if (n === 0) return { n, mean: NaN, sd: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += d[i];
  const m = s / n;
  if (n < 2) return { n, mean: m, sd: NaN };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (d[i] - m) * (d[i] - m);
  return { n, mean: m, sd: Math.sqrt(ss / (n - 1)) };
}

/** Turns an interval on the mean log-ratio into one on the improvement in %. */
function toInterval(
  n: number,
  meanLog: number,
  sdLog: number,
  logLo: number,
  logHi: number,
  confidence: number,
  higherIsBetter: boolean,
  method: PairedInterval["method"],
): PairedInterval {
  // Improvement is increasing in the log-ratio when higher is better and
  // decreasing when lower is better, so the bounds swap.
  const a = logRatioToPct(logLo, higherIsBetter);
  const b = logRatioToPct(logHi, higherIsBetter);
  return {
    n,
    meanLog,
    sdLog,
    estimatePct: logRatioToPct(meanLog, higherIsBetter),
    lo: higherIsBetter ? a : b,
    hi: higherIsBetter ? b : a,
    confidence,
    method,
  };
}

/**
 * Paired t interval: mean(d) +- t_{1-(1-confidence)/2, n-1} * sd(d)/sqrt(n)
 * on the log scale, mapped to the improvement in % (bounds swap for
 * lower-is-better). It assumes the rounds are independent and the d_r roughly
 * normal; it is exact then, and the shared drift of a round cancels in d_r.
 * With n < 2 the bounds are NaN (no spread can be estimated).
 */
export function pairedT(d: ArrayLike<number>, confidence: number, higherIsBetter: boolean): PairedInterval {
  checkConfidence(confidence);
  const { n, mean, sd } = meanSd(d);
  if (n < 2) return toInterval(n, mean, sd, NaN, NaN, confidence, higherIsBetter, "paired-t");
  const half = (tQuantile(1 - (1 - confidence) / 2, n - 1) * sd) / Math.sqrt(n);
  return toInterval(n, mean, sd, mean - half, mean + half, confidence, higherIsBetter, "paired-t");
}

/**
 * Percentile bootstrap of mean(d): round indices are resampled with
 * replacement (seeded mulberry32 from stats.ts), the mean recomputed
 * `iterations` times, and the (1-confidence)/2 and 1-(1-confidence)/2
 * percentiles (linear interpolation) taken, then mapped to % like pairedT.
 * For comparison only: at 5-10 rounds its bounds sit on the extreme rounds
 * and it under-covers (it has no small-sample correction; its spread is
 * sqrt((n-1)/n) of the t interval's standard error and uses normal-like
 * quantiles). With n < 2 the bounds are NaN.
 */
export function pairedBootstrap(
  d: ArrayLike<number>,
  confidence: number,
  higherIsBetter: boolean,
  seed = 1,
  iterations = 5000,
): PairedInterval {
  checkConfidence(confidence);
  const { n, mean, sd } = meanSd(d);
  if (n < 2 || iterations < 1) return toInterval(n, mean, sd, NaN, NaN, confidence, higherIsBetter, "paired-bootstrap");
  const rnd = seededRandom(seed);
  const means = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d[Math.floor(rnd() * n)];
    means[i] = s / n;
  }
  const [logLo, logHi] = percentileInterval(means, confidence);
  return toInterval(n, mean, sd, logLo, logHi, confidence, higherIsBetter, "paired-bootstrap");
}

// ---------------------------------------------------------------------------
// Sequential looks, planning, verdicts
// ---------------------------------------------------------------------------

/**
 * Confidence to use at each of `plannedLooks` looks so that the whole
 * sequential procedure keeps its error rate at most 1 - confidence
 * (Bonferroni): 1 - (1 - confidence) / plannedLooks.
 *
 * Why: when the analysis is repeated after each block of rounds and stopped
 * at the first decisive look, the procedure errs only if at least one look's
 * interval misses the truth. By the union bound, P(some look misses) <= sum
 * over looks of P(that look misses) = plannedLooks * (alpha / plannedLooks) =
 * alpha, whatever the dependence between looks (they share rounds, so they
 * are strongly positively correlated). Stopping early can only remove looks,
 * which cannot raise that probability. It is conservative for the same reason:
 * the looks overlap, so the actual error is below alpha (the simulation in
 * test/paired.test.ts measures it), and each look's interval is wider than
 * alpha-spending or a confidence sequence would need. The number of looks must
 * be fixed before the first round; looking more often than planned voids the
 * guarantee.
 */
export function lookConfidence(confidence: number, plannedLooks: number): number {
  checkConfidence(confidence);
  if (!(Number.isInteger(plannedLooks) && plannedLooks >= 1)) throw new RangeError(`plannedLooks must be a positive integer, got ${plannedLooks}`);
  return 1 - (1 - confidence) / plannedLooks;
}

/**
 * Advice: the number of rounds at which, if the observed mean and standard
 * deviation of d held, the paired t interval at `confidence` would clear the
 * threshold (lie wholly above it, or wholly below): the smallest n >= 2 with
 * t_{1-(1-confidence)/2, n-1} * sd / sqrt(n) < |mean - threshold| on the log
 * scale. It is a plug-in figure, not a power calculation: with the observed
 * gap it gives a decisive interval about half the time. Infinity when the
 * mean is exactly on the threshold; NaN with fewer than two rounds; 2 when
 * sd is 0 and the mean is off the threshold.
 */
export function requiredRounds(d: ArrayLike<number>, thresholdPct: number, confidence: number, higherIsBetter: boolean): number {
  checkConfidence(confidence);
  const { n, mean, sd } = meanSd(d);
  if (n < 2 || !Number.isFinite(thresholdPct)) return NaN;
  const gap = Math.abs(mean - pctToLogRatio(thresholdPct, higherIsBetter));
  if (gap === 0) return Infinity;
  if (sd === 0 || gap === Infinity) return 2;
  const p = 1 - (1 - confidence) / 2;
  const clears = (k: number) => (tQuantile(p, k - 1) * sd) / Math.sqrt(k) < gap;
  // Start just below the normal approximation (the t multiplier is larger, so
  // the answer is at least that) and step up; the step count is small.
  const z = tQuantile(p, Infinity);
  let k = Math.max(2, Math.floor(((z * sd) / gap) ** 2));
  if (!Number.isFinite(k) || k > 1e12) return Infinity;
  while (k > 2 && clears(k - 1)) k--;
  while (!clears(k)) k++;
  return k;
}

/**
 * PASS when the whole interval is above the threshold (lo > threshold), FAIL
 * when it is wholly below (hi < threshold), INCONCLUSIVE otherwise (including
 * NaN bounds). A two-sided interval at confidence 1 - alpha makes each of
 * PASS and FAIL a one-sided test at alpha / 2.
 */
export function judge(interval: PairedInterval, thresholdPct: number): Verdict {
  if (interval.lo > thresholdPct) return "PASS";
  if (interval.hi < thresholdPct) return "FAIL";
  return "INCONCLUSIVE";
}

/**
 * For a FAIL: "worse" when the whole interval is below 0 (the candidate is
 * slower than the baseline), "not better enough" otherwise (it may be better,
 * but not by the threshold).
 */
export function failKind(interval: PairedInterval): FailKind {
  return interval.hi < 0 ? "worse" : "not better enough";
}

// ---------------------------------------------------------------------------
// A robust interval for figures that flip between modes (tail percentiles)
// ---------------------------------------------------------------------------

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomHalfCdf(k: number, n: number): number {
  let term = Math.pow(0.5, n);
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term *= (n - i + 1) / i;
    sum += term;
  }
  return sum;
}

/**
 * The median of the per-round log-ratios with its distribution-free
 * interval: the order statistics d(k+1) and d(n-k), k the largest with
 * P(Binomial(n, 1/2) <= k) <= (1 - confidence) / 2 (the sign test's
 * interval; coverage at least `confidence` whatever the distribution). A
 * tail percentile of one round is bimodal on a VM (a round either meets a
 * millisecond hiccup or not): the mean of log-ratios follows the rare modes,
 * the median does not. Too few rounds for the confidence: NaN bounds.
 */
export function pairedSign(d: ArrayLike<number>, confidence: number, higherIsBetter: boolean): PairedInterval {
  checkConfidence(confidence);
  const n = d.length;
  const sorted = Float64Array.from(d).sort();
  const { sd } = meanSd(d);
  const med = n === 0 ? NaN : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const alpha = (1 - confidence) / 2;
  let k = -1;
  while (k + 1 < n / 2 && binomHalfCdf(k + 1, n) <= alpha) k++;
  if (k < 0) return toInterval(n, med, sd, NaN, NaN, confidence, higherIsBetter, "paired-sign");
  return toInterval(n, med, sd, sorted[k], sorted[n - 1 - k], confidence, higherIsBetter, "paired-sign");
}

// ---------------------------------------------------------------------------
// What more rounds could do, and equivalence
// ---------------------------------------------------------------------------

/**
 * The smallest number of rounds at which the sign test's interval exists at
 * this confidence: 0.5^n <= (1 - confidence) / 2 (7 rounds at 98.3%). A look
 * before it cannot decide a criterion that uses the sign test.
 */
export function minSignRounds(confidence: number): number {
  checkConfidence(confidence);
  return Math.ceil(Math.log((1 - confidence) / 2) / Math.log(0.5));
}

/**
 * The half-width, on the log scale, of a t interval at `confidence` over n
 * rounds whose log-ratios spread with this standard deviation: the closest a
 * true value may sit to a threshold for n rounds to tell on which side it is
 * (about half the time: it is a plug-in figure, as requiredRounds is).
 */
export function halfWidthAt(sdLog: number, n: number, confidence: number): number {
  checkConfidence(confidence);
  if (!(n >= 2) || !Number.isFinite(sdLog)) return NaN;
  return (tQuantile(1 - (1 - confidence) / 2, n - 1) * sdLog) / Math.sqrt(n);
}

/**
 * The smallest difference from the threshold, in % of improvement, that
 * `rounds` paired rounds could resolve if the log-ratios keep their spread:
 * the half-width at that many rounds, mapped to % around the threshold (the
 * wider of its two sides, so the figure never flatters).
 */
export function resolvablePct(sdLog: number, rounds: number, thresholdPct: number, confidence: number, higherIsBetter: boolean): number {
  const h = halfWidthAt(sdLog, rounds, confidence);
  if (!Number.isFinite(h)) return NaN;
  const t = pctToLogRatio(thresholdPct, higherIsBetter);
  const at = logRatioToPct(t, higherIsBetter);
  return Math.max(Math.abs(logRatioToPct(t + h, higherIsBetter) - at), Math.abs(logRatioToPct(t - h, higherIsBetter) - at));
}

/**
 * Whether even `rounds` rounds could not tell a candidate no better than the
 * baseline from one exactly at the threshold: the interval's half-width there
 * reaches from the threshold to 0 (on the log scale). Then the machine is too
 * noisy for the criterion at that budget, whatever the estimate.
 */
export function tooNoisy(sdLog: number, rounds: number, thresholdPct: number, confidence: number, higherIsBetter: boolean): boolean {
  const h = halfWidthAt(sdLog, rounds, confidence);
  return Number.isFinite(h) && h >= Math.abs(pctToLogRatio(thresholdPct, higherIsBetter));
}

export type Equivalence = "equivalent" | "uninformative" | "drifted";

/**
 * Two one-sided tests on an interval: "equivalent" when the whole interval
 * lies inside ±marginPct (the difference is smaller than the margin),
 * "drifted" when it lies wholly outside (the difference is larger), else
 * "uninformative" (it straddles a margin, or there is no interval). With a
 * two-sided interval at confidence 1 - alpha each side is a one-sided test at
 * alpha / 2, so the chance of calling "drifted" when the true difference is
 * inside the margin is at most alpha / 2.
 */
export function equivalence(interval: Pick<PairedInterval, "lo" | "hi">, marginPct: number): Equivalence {
  const { lo, hi } = interval;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return "uninformative";
  if (lo > -marginPct && hi < marginPct) return "equivalent";
  if (lo >= marginPct || hi <= -marginPct) return "drifted";
  return "uninformative";
}

/**
 * Advice for an uninformative equivalence test: the rounds at which the
 * interval would fit inside ±marginPct if the mean and spread of d held
 * (Infinity when the estimate itself is at or beyond the margin: more rounds
 * would show a drift, not equivalence); NaN below two rounds.
 */
export function roundsToEquivalence(d: ArrayLike<number>, marginPct: number, confidence: number, higherIsBetter: boolean): number {
  checkConfidence(confidence);
  const { n, mean, sd } = meanSd(d);
  if (n < 2) return NaN;
  // The margin on the log scale, on the side the estimate is (the two sides differ slightly).
  const side = logRatioToPct(mean, higherIsBetter) >= 0 ? 1 : -1;
  const m = Math.abs(pctToLogRatio(side * marginPct, higherIsBetter));
  const gap = m - Math.abs(mean);
  if (gap <= 0) return Infinity;
  if (sd === 0) return 2;
  // The half-width falls as rounds grow: double until it fits, then bisect.
  const fits = (k: number) => halfWidthAt(sd, k, confidence) < gap;
  let hi = 2;
  while (!fits(hi)) {
    if (hi > 1e6) return Infinity;
    hi *= 2;
  }
  let lo = Math.max(2, hi >> 1);
  if (fits(lo)) return lo;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
