// Do repeated runs agree as their intervals say they should? Each run's
// interval comes from its own rounds; whatever differs between runs and is
// not in those rounds (server instances, the host's state over minutes)
// shows up as estimates that fall outside each other's intervals more often
// than the intervals' confidence allows. For every gate and criterion found
// in several results files: each run's estimate, interval and status; how
// often one run's interval covers another run's estimate, against how often
// it should if every run measured the same thing (two estimates each with
// their own error: for 98.3% intervals about 93%, not 98.3%); the spread of
// the estimates between runs against the spread each run's interval implies
// (about 1 when the intervals are honest); and whether a status flipped
// between a pass and a failure. Pure: results in, data out.
import { tQuantile } from "../stats/student-t.ts";
import type { BenchResults, Criterion, Gate } from "../results/schema.ts";
import type { Table } from "./table.ts";

export interface RunEstimate {
  run: string;
  estimate: number | null;
  ci: [number, number] | null;
  status: string;
  rounds: number | null;
}

export interface CriterionAgreement {
  gate: string;
  kind: string;
  criterion: string;
  runs: RunEstimate[];
  /** Pairs (i, j), i != j, both with figures, where run i's interval holds run j's estimate; and how many pairs. */
  covered: number;
  pairs: number;
  /** The share of such pairs expected if all runs measured the same thing with the errors their intervals state. */
  expectedShare: number | null;
  /** Variance of the estimates between runs over the mean variance each run's interval states; null below 3 runs. */
  varianceRatio: number | null;
  /** The ratio chance alone exceeds in 5% of sets of this many honest runs (the 95% point of F(runs - 1, ∞)). */
  chanceRatio: number | null;
  /** The statuses include a pass and a failure, or a "worse" failure and a pass. */
  flipped: boolean;
}

function phi(x: number): number {
  // Abramowitz-Stegun 7.1.26 on erf: 1.5e-7, plenty for a share.
  const t = 1 / (1 + 0.3275911 * Math.abs(x / Math.SQRT2));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/**
 * The 95% point of F(k, ∞) = chi²(k) / k, by Wilson and Hilferty's cube-root
 * approximation (within 1% from k = 2: 2.36 for k = 4 where the exact is 2.37).
 */
export function chanceRatio(k: number): number {
  const z = 1.6448536;
  const a = 2 / (9 * k);
  return (1 - a + z * Math.sqrt(a)) ** 3;
}

/** The standard error an interval states: its half-width over the t quantile of its rounds. */
function stdError(c: Criterion): number | null {
  if (!c.ci || c.improvement_pct === null || !c.rounds || c.rounds < 2) return null;
  const conf = c.confidence ?? 0.95;
  const t = tQuantile(1 - (1 - conf) / 2, c.rounds - 1);
  return (c.ci[1] - c.ci[0]) / 2 / t;
}

const gateName = (g: Gate) => `${g.kind === "control" ? "A/A " : ""}${g.baseline} → ${g.candidate}`;

/** Every gate and criterion of several runs, side by side. Runs: a label (the file) and its results. */
export function agreement(runs: { label: string; results: BenchResults }[]): CriterionAgreement[] {
  const keys = new Map<string, { gate: string; kind: string; criterion: string }>();
  for (const { results } of runs)
    for (const g of results.gates ?? (results.gate ? [results.gate] : []))
      for (const c of g.criteria) keys.set(`${g.kind}|${g.baseline}|${g.candidate}|${c.id}`, { gate: gateName(g), kind: g.kind ?? "headline", criterion: c.id });
  const out: CriterionAgreement[] = [];
  for (const [key, k] of keys) {
    const [kind, baseline, candidate, id] = key.split("|");
    const found = runs.map(({ label, results }) => {
      const g = (results.gates ?? (results.gate ? [results.gate] : [])).find((x) => (x.kind ?? "headline") === kind && x.baseline === baseline && x.candidate === candidate);
      return { label, c: g?.criteria.find((x) => x.id === id) };
    });
    const est: RunEstimate[] = found.map(({ label, c }) => ({ run: label, estimate: c?.improvement_pct ?? null, ci: c?.ci ?? null, status: c?.status ?? "absent", rounds: c?.rounds ?? null }));
    let covered = 0;
    let pairs = 0;
    let expected = 0;
    let expectedPairs = 0;
    for (let i = 0; i < found.length; i++)
      for (let j = 0; j < found.length; j++) {
        const a = found[i].c;
        const b = found[j].c;
        if (i === j || !a?.ci || b?.improvement_pct == null) continue;
        pairs++;
        if (b.improvement_pct >= a.ci[0] && b.improvement_pct <= a.ci[1]) covered++;
        const sa = stdError(a);
        const sb = stdError(b);
        if (sa !== null && sb !== null && sa + sb > 0) {
          const half = (a.ci[1] - a.ci[0]) / 2;
          // Where b's estimate falls relative to a's interval: both estimates err, independently.
          expected += 2 * phi(half / Math.sqrt(sa * sa + sb * sb)) - 1;
          expectedPairs++;
        }
      }
    const withSe = found.map((f) => ({ e: f.c?.improvement_pct ?? null, se: f.c ? stdError(f.c) : null })).filter((x): x is { e: number; se: number } => x.e !== null && x.se !== null);
    let varianceRatio: number | null = null;
    const chance = withSe.length >= 3 ? chanceRatio(withSe.length - 1) : null;
    if (withSe.length >= 3) {
      const m = withSe.reduce((s, x) => s + x.e, 0) / withSe.length;
      const between = withSe.reduce((s, x) => s + (x.e - m) ** 2, 0) / (withSe.length - 1);
      const within = withSe.reduce((s, x) => s + x.se * x.se, 0) / withSe.length;
      varianceRatio = within > 0 ? between / within : null;
    }
    const statuses = new Set(est.map((e) => e.status));
    const worse = found.some((f) => f.c?.status === "FAIL" && f.c.fail_kind === "worse");
    const flipped = (statuses.has("PASS") && statuses.has("FAIL")) || (worse && statuses.has("PASS"));
    out.push({ ...k, runs: est, covered, pairs, expectedShare: expectedPairs ? expected / expectedPairs : null, varianceRatio, chanceRatio: chance, flipped });
  }
  return out;
}

const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
const share = (x: number) => `${Math.round(x * 100)}%`;

/** The tables: every run's figures per gate and criterion, then how well the runs agree. */
export function agreementTables(rows: CriterionAgreement[]): Table[] {
  const byGate = new Map<string, CriterionAgreement[]>();
  for (const r of rows) byGate.set(r.gate, [...(byGate.get(r.gate) ?? []), r]);
  const tables: Table[] = [];
  for (const [gate, rs] of byGate)
    tables.push({
      title: `${gate}: each run's estimate and interval (improvement, %)`,
      columns: [{ name: "criterion", align: "left" }, { name: "run", align: "left" }, { name: "estimate" }, { name: "interval" }, { name: "status", align: "left" }, { name: "rounds" }],
      rows: rs.flatMap((r) => r.runs.map((e) => [r.criterion, e.run, e.estimate === null ? "n/a" : signed(e.estimate), e.ci ? `[${signed(e.ci[0])}, ${signed(e.ci[1])}]` : "n/a", e.status, e.rounds === null ? "n/a" : String(e.rounds)])),
    });
  tables.push({
    title: "Do the runs agree as their intervals say?",
    columns: [
      { name: "gate", align: "left" },
      { name: "criterion", align: "left" },
      { name: "intervals holding another run's estimate" },
      { name: "expected" },
      { name: "between-run / stated variance" },
      { name: "flipped", align: "left" },
    ],
    rows: rows.map((r) => [
      r.gate,
      r.criterion,
      r.pairs ? `${r.covered} of ${r.pairs} (${share(r.covered / r.pairs)})` : "n/a",
      r.expectedShare === null ? "n/a" : share(r.expectedShare),
      r.varianceRatio === null ? "n/a" : `${r.varianceRatio.toFixed(2)}${r.chanceRatio !== null && r.varianceRatio > r.chanceRatio ? ` (beyond chance: ${r.chanceRatio.toFixed(2)})` : ""}`,
      r.flipped ? "YES: a pass and a failure" : "no",
    ]),
    notes: [
      "Expected: the share of pairs where one run's interval holds another's estimate if every run measured the same thing with the errors its interval states (both estimates err, so it is below the intervals' confidence: about 93% for 98.3% intervals of similar width). Between-run / stated variance: the variance of the estimates over the mean squared standard error the intervals state: about 1 when they are honest; marked when it is beyond what chance gives honest runs in 95% of sets of this size (the 95% point of F(runs − 1, ∞): 2.37 for 5 runs): then the runs differ by more than their intervals allow. Sign-test intervals (C3) state their error only roughly.",
    ],
  });
  return tables;
}
