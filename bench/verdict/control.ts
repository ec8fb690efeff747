// The A/A control: the headline baseline against a second instance of
// itself, measured like any pair. Its question is not "is the difference
// zero?" (two instances of one server can differ by a real, harmless 0.5%,
// and with tight intervals "excludes 0" would then fire in almost every run)
// but "is it small enough not to matter?": an equivalence test per criterion
// against a margin of a quarter of its threshold (criteria.ts). Each control
// criterion is equivalent (its interval inside ±margin), uninformative (it
// reaches past a margin: more rounds would tell) or drifted (wholly outside,
// or the control passed). Only a drifted criterion marks that criterion
// untrusted in the other gates, with the offset it saw; the rest of the run
// stands. Calibration (false drifts with identical servers and with a 0.5%
// offset) is simulated in test/gate-calibration.test.ts.
import { equivalence, roundsToEquivalence, type Equivalence } from "../stats/paired.ts";
import type { ControlStatus, Criterion, Gate } from "../results/schema.ts";
import { CRITERIA, controlMargin, DEFAULT_MAX_ROUNDS } from "./criteria.ts";
import { evaluateAll, evaluateCriterion, evaluateGate, GATE_METHOD, type Evaluated, type GateInput, type GateOptions, type GatePair, type PartResult } from "./gate.ts";

const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;
const interval = (lo: number, hi: number) => `[${pct(lo)}, ${pct(hi)}]`;
const list = (xs: string[]) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`);
const RANK: Record<Equivalence, number> = { equivalent: 0, uninformative: 1, drifted: 2 };

function partState(p: PartResult, margin: number): Equivalence {
  return p.status === "PASS" ? "drifted" : equivalence(p.interval, margin);
}

function partText(p: PartResult, state: Equivalence, margin: number, confidence: number, higherIsBetter: boolean, maxRounds?: number): string {
  const i = p.interval;
  const label = p.label === "p50" || p.label === "throughput" ? "" : `${p.label} `;
  if (!Number.isFinite(i.lo)) return `${label}no interval yet (${i.n} rounds${i.method === "paired-sign" ? "; the sign test needs more at this confidence" : ""})`;
  const shown = `${label}${pct(i.estimatePct)} ${interval(i.lo, i.hi)}`;
  if (state === "equivalent") return `${shown}, inside ±${margin}%`;
  if (state === "drifted") return `${shown}, beyond ±${margin}%`;
  const n = roundsToEquivalence(p.d, margin, confidence, higherIsBetter);
  // Rounds far beyond what a run allows are not advice: say the machine is too noisy for this margin.
  // Only an estimate at or past the margin is "at the margin"; otherwise a count that never settles is the
  // spread's doing (C3: a sign-test median inside the margin while a few wild rounds pull the mean outside it).
  const reach = (maxRounds ?? DEFAULT_MAX_ROUNDS) * 5;
  const more = !Number.isFinite(n) && Math.abs(i.estimatePct) >= margin
    ? "its estimate sits at the margin: more rounds are unlikely to settle it"
    : !Number.isFinite(n) || n > reach
      ? `too noisy for this machine to confirm within ±${margin}% (${!Number.isFinite(n) || n > 1000 ? "more than 1000" : `about ${n}`} rounds would be needed)`
      : `about ${n} rounds would likely settle it`;
  return `${shown} reaches past ±${margin}%; ${more}`;
}

/** A control criterion: its equivalence state from every part (C3: p95 and p99 both), shown by the part furthest from equivalent. */
function controlCriterion(e: Evaluated, baseline: string, opts: GateOptions): Criterion {
  const margin = controlMargin(e.def);
  const c = e.criterion;
  // Not measured (its scenario not run): it confirms nothing, and it is not a sign of noise either.
  if (!e.parts.length) return { ...c, control: "uninformative", margin_pct: margin, status: "NOT EVALUATED", note: `not evaluated: ${c.note}` };
  const states = e.parts.map((p) => partState(p, margin));
  const worst = states.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
  const idx = e.parts.map((_, i) => i).filter((i) => states[i] === worst).reduce((a, b) => (Math.abs(e.parts[b].interval.estimatePct) > Math.abs(e.parts[a].interval.estimatePct) ? b : a));
  const shown = e.parts[idx].interval;
  const texts = e.parts.map((p, i) => partText(p, states[i], margin, opts.confidence, e.def.higherIsBetter, opts.maxRounds));
  const head =
    worst === "drifted"
      ? `two instances of ${baseline} differed by more than the margin: `
      : worst === "equivalent"
        ? `two instances of ${baseline} differed by less than the margin: `
        : "not settled: ";
  const out: Criterion = {
    ...c,
    improvement_pct: Number.isFinite(shown.estimatePct) ? shown.estimatePct : null,
    ci: Number.isFinite(shown.lo) && Number.isFinite(shown.hi) ? [shown.lo, shown.hi] : null,
    status: worst.toUpperCase() as ControlStatus,
    control: worst,
    margin_pct: margin,
    note: `${head}${texts.join("; ")} (${(opts.confidence * 100).toFixed(1)}% ${shown.method === "paired-sign" ? "sign-test" : "paired t"} interval over ${shown.n} rounds)`,
  };
  delete out.fail_kind;
  delete out.undecided;
  delete out.fragile;
  if (out.parts) out.parts = out.parts.map((p, i) => ({ ...p, status: states[i].toUpperCase() as ControlStatus }));
  return out;
}

/** The control's overall state and its sentence. */
function controlVerdict(cs: Criterion[]): Pick<Gate, "verdict" | "reason"> {
  const by = (s: Equivalence) => cs.filter((c) => c.control === s);
  const drifted = by("drifted");
  const notRun = cs.filter((c) => c.status === "NOT EVALUATED");
  const open = by("uninformative").filter((c) => !notRun.includes(c));
  const eq = by("equivalent");
  const measured = cs.filter((c) => c.improvement_pct !== null);
  if (!measured.length) return { verdict: "NOT EVALUATED", reason: `No criterion of the control could be evaluated: ${cs.map((c) => `${c.id} (${c.note})`).join("; ")}.` };
  const largest = measured.reduce((a, b) => (Math.abs(b.improvement_pct!) > Math.abs(a.improvement_pct!) ? b : a));
  const parts: string[] = [];
  if (eq.length) parts.push(`equivalent on ${list(eq.map((c) => `${c.id} (±${c.margin_pct}%)`))}`);
  if (open.length) parts.push(`uninformative on ${list(open.map((c) => c.id))}: ${open.map((c) => `${c.id} ${c.note.replace(/^not settled: /, "")}`).join("; ")}`);
  if (notRun.length) parts.push(`not evaluated: ${notRun.map((c) => `${c.id} (${c.note.replace(/^not evaluated: /, "")})`).join(", ")}`);
  if (drifted.length) parts.push(`DRIFTED on ${list(drifted.map((c) => c.id))}: ${drifted.map((c) => `${c.id} ${c.improvement_pct !== null && c.ci ? `${pct(c.improvement_pct)} ${interval(c.ci[0], c.ci[1])}` : ""} beyond ±${c.margin_pct}%`).join("; ")}`);
  const verdict: ControlStatus = drifted.length ? "DRIFTED" : open.length ? "UNINFORMATIVE" : "EQUIVALENT";
  const tail = drifted.length
    ? ` Those criteria are not to be trusted in this run's gates; the others stand.`
    : open.length
      ? " No criterion drifted: every verdict stands, the uninformative criteria confirm nothing either way."
      : " Every verdict of this run stands.";
  return { verdict, reason: `${parts.join("; ")}; largest offset ${pct(largest.improvement_pct!)} (${largest.id}).${tail}` };
}

/** The A/A control as a gate: each criterion's equivalence state, never a PASS or FAIL. */
export function evaluateControl(r: GateInput, pair: GatePair, opts: GateOptions): Gate {
  const evals = evaluateAll(r, pair.baseline, pair.candidate, { ...opts, clientBound: false });
  const criteria = evals.map((e) => controlCriterion(e, pair.baseline, opts));
  return { kind: "control", ...(pair.why ? { why: pair.why } : {}), baseline: pair.baseline, candidate: pair.candidate, ...controlVerdict(criteria), criteria, method: GATE_METHOD, trusted: true };
}

/** Marks, in each gate, the criteria on which the control drifted; a gate with one is not trusted. */
export function applyControl(gates: Gate[], control: Gate): void {
  const drifted = control.criteria.filter((c) => c.control === "drifted");
  if (!drifted.length) return;
  for (const g of gates) {
    if (g.kind === "control") continue;
    const marks: string[] = [];
    for (const c of g.criteria) {
      const d = drifted.find((x) => x.id === c.id);
      if (!d) continue;
      c.untrusted = `the A/A control drifted on ${c.id}: two instances of ${control.baseline} differed by ${d.improvement_pct !== null ? pct(d.improvement_pct) : "n/a"}${d.ci ? ` ${interval(d.ci[0], d.ci[1])}` : ""}, beyond ±${d.margin_pct}%`;
      marks.push(c.untrusted);
    }
    if (marks.length) {
      g.trusted = false;
      g.untrusted = marks.join("; ");
    }
  }
}

/** Every gate, in the order given; the A/A control, when there is one, marks the criteria it drifted on. */
export function evaluateGatePairs(r: GateInput, pairs: GatePair[], opts: GateOptions): Gate[] {
  const gates = pairs.map((p) => (p.kind === "control" ? evaluateControl(r, p, opts) : evaluateGate(r, p, opts)));
  const control = gates.find((g) => g.kind === "control");
  if (control) applyControl(gates, control);
  return gates;
}

/** At a look: is every criterion that reads this scenario settled in every gate (the control: equivalent or drifted)? */
export function scenarioSettled(r: GateInput, slug: string, pairs: GatePair[], opts: GateOptions): { settled: boolean; note: string } {
  const defs = CRITERIA.filter((d) => d.scenario === slug);
  const open: string[] = [];
  for (const p of pairs)
    for (const d of defs) {
      if (p.kind === "control") {
        const c = controlCriterion(evaluateCriterion(r, d, p.baseline, p.candidate, { ...opts, clientBound: false }), p.baseline, opts);
        if (c.control === "uninformative") open.push(`${d.id} A/A ${p.baseline}→${p.candidate}`);
      } else if (evaluateCriterion(r, d, p.baseline, p.candidate, opts).criterion.status === "INCONCLUSIVE") open.push(`${d.id} ${p.baseline}→${p.candidate}`);
    }
  return { settled: open.length === 0, note: open.length ? `still open: ${open.join(", ")}` : `${defs.map((d) => d.id).join(", ")} settled in every gate` };
}
