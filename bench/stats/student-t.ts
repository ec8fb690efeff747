// Student's t distribution, for the paired intervals (paired.ts): the
// quantile by inverting the CDF, which is a regularized incomplete beta
// function evaluated by its continued fraction (Numerical Recipes' betacf).
// Pure functions, accurate to better than 1e-9 against scipy (test/paired.test.ts).
import { gammaln } from "simple-statistics";

const EPS = 1e-15;
const TINY = 1e-300;

/**
 * Regularized incomplete beta I_x(a, b) by its continued fraction (modified
 * Lentz), with x and y = 1 - x passed separately so that neither loses digits
 * when computed by the caller.
 */
function incompleteBeta(x: number, y: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnFront = gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log(y);
  // The fraction converges quickly for x < (a + 1) / (a + b + 2); otherwise
  // use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a).
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaFraction(y, b, a)) / b;
}

function betaFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  // Iterations grow like sqrt(max(a, b)); for df = 1e8 that is ~10^4.
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Upper tail of the standard normal, P(Z > z) for z >= 0, via erfc = Q(1/2, z^2/2). */
function normalUpperTail(z: number): number {
  const x = (z * z) / 2;
  const a = 0.5;
  const lnFront = -x + a * Math.log(x) - 0.5 * Math.log(Math.PI); // gammaln(1/2) = ln sqrt(pi)
  if (x === 0) return 0.5;
  if (x < a + 1) {
    // Series for the lower regularized gamma P(a, x).
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let i = 0; i < 1000; i++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 0.5 * (1 - sum * Math.exp(lnFront));
  }
  // Continued fraction for the upper regularized gamma Q(a, x).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return 0.5 * Math.exp(lnFront) * h;
}

/**
 * Above this many degrees of freedom the quantile comes from the normal one
 * and the Cornish-Fisher expansion in 1/df instead of the beta function,
 * whose log-gamma differences lose digits for huge df (about 5e-8 at 1e8).
 */
const EXPANSION_DF = 1e6;

/** P(T > t) for t >= 0 under Student's t with df degrees of freedom. */
function tUpperTail(t: number, df: number): number {
  if (df === Infinity) return normalUpperTail(t);
  const t2 = t * t;
  return 0.5 * incompleteBeta(df / (df + t2), t2 / (df + t2), df / 2, 0.5);
}

function tDensity(t: number, df: number): number {
  if (df === Infinity) return Math.exp(-(t * t) / 2) / Math.sqrt(2 * Math.PI);
  const lnC = gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * Math.log(df * Math.PI);
  return Math.exp(lnC - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/**
 * Student t quantile: the t with P(T <= t) = p for df degrees of freedom
 * (df need not be an integer, so Welch's df works; df = Infinity gives the
 * normal quantile). Solved by Newton steps on the upper tail, kept inside a
 * bisection bracket, to about 1e-12 relative; the CDF is the regularized
 * incomplete beta (continued fraction) with simple-statistics' gammaln.
 * Above 1e6 degrees of freedom it uses the normal quantile with the
 * Cornish-Fisher expansion in 1/df (error far below 1e-9 there).
 * p = 0 and p = 1 give -Infinity and Infinity; p outside [0, 1] or df <= 0
 * gives NaN.
 */
export function tQuantile(p: number, df: number): number {
  if (!(p >= 0 && p <= 1) || !(df > 0)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  if (df > EXPANSION_DF && df !== Infinity) {
    const z = tQuantile(p, Infinity);
    const z2 = z * z;
    return z + (z * (z2 + 1)) / (4 * df) + (z * (5 * z2 * z2 + 16 * z2 + 3)) / (96 * df * df);
  }
  const q = 1 - p; // target upper tail, in (0, 0.5)
  // Bracket: tail(lo) > q >= tail(hi).
  let lo = 0;
  let hi = 1;
  while (tUpperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) return Infinity;
  }
  let t = (lo + hi) / 2;
  for (let i = 0; i < 300; i++) {
    const f = tUpperTail(t, df) - q;
    if (f > 0) lo = t;
    else hi = t;
    const pdf = tDensity(t, df);
    let next = pdf > 0 ? t + f / pdf : NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-13 * Math.max(1, Math.abs(t)) || hi - lo <= 1e-14 * Math.max(1, hi)) return next;
    t = next;
  }
  return t;
}

