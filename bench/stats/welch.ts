// The interval two runs' figures are compared with (compare.ts, compare-sweep.ts):
// the runs were measured at different moments, so their rounds are independent
// samples, and a change gets a Welch t interval on the logs of the per-round
// figures, the t quantile at Welch's fractional degrees of freedom.
import { tQuantile } from "./student-t.ts";

const usable = (x: number | undefined | null): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;

/** Two-sided confidence of every figure's interval. */
export const COMPARE_CONFIDENCE = 0.95;

/**
 * NEW against OLD for two independent samples of positive figures:
 * meanLogRatio = mean ln(new) - mean ln(old) (the log of the ratio of the
 * geometric means), its standard error sqrt(s_old²/n_old + s_new²/n_new), the
 * Welch-Satterthwaite degrees of freedom, and [loLog, hiLog] at `confidence`.
 */
export interface WelchLogInterval {
  nOld: number;
  nNew: number;
  meanLogRatio: number;
  se: number;
  df: number;
  loLog: number;
  hiLog: number;
  confidence: number;
}

function meanAndVariance(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  // Two passes: the deviations are small next to the mean (logs of similar
  // figures), so summing squares of deviations keeps the digits.
  const ss = xs.reduce((s, x) => s + (x - mean) * (x - mean), 0);
  return { mean, variance: ss / (xs.length - 1) };
}

/**
 * Welch t interval on ln(new) - ln(old), from the per-round figures of two
 * runs (each figure finite and positive). null when either run has fewer than
 * 2 such rounds: its spread, and so any interval, is unknown.
 */
export function welchLogInterval(oldFigures: number[], newFigures: number[], confidence = COMPARE_CONFIDENCE): WelchLogInterval | null {
  const a = oldFigures.filter(usable).map(Math.log);
  const b = newFigures.filter(usable).map(Math.log);
  if (a.length < 2 || b.length < 2) return null;
  const o = meanAndVariance(a);
  const n = meanAndVariance(b);
  const vOld = o.variance / a.length;
  const vNew = n.variance / b.length;
  const se = Math.sqrt(vOld + vNew);
  const d = n.mean - o.mean;
  // Both runs without any spread: the difference is known exactly (width 0);
  // the degrees of freedom are then those of the pooled test, for the record.
  const df = se > 0 ? (vOld + vNew) ** 2 / ((vOld * vOld) / (a.length - 1) + (vNew * vNew) / (b.length - 1)) : a.length + b.length - 2;
  const half = se > 0 ? tQuantile(1 - (1 - confidence) / 2, df) * se : 0;
  return { nOld: a.length, nNew: b.length, meanLogRatio: d, se, df, loLog: d - half, hiLog: d + half, confidence };
}

