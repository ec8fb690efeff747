// Older results files read as the current schema, so that `compare` and the
// report read one shape. Schema 2 (and 1) named a criterion's interval `ci95`
// (it held the gate's confidence, 98.3% by default), had no `trusted` on a
// gate, and gave each backend a 95% bootstrap interval of its median and an
// unpaired relative figure; schema 3 has `ci` with its `confidence`,
// `trusted`, the rounds' range and a paired relative figure.
import type { BackendResult, BenchResults, Criterion, Gate } from "./schema.ts";

type Old = Record<string, unknown>;

function upgradeCriterion(c: Criterion & Old): void {
  if (c.ci === undefined && Array.isArray(c.ci95)) c.ci = c.ci95 as [number, number];
  if (c.ci === undefined) c.ci = null;
  delete c.ci95;
}

function upgradeGate(g: Gate & Old): void {
  for (const c of g.criteria ?? []) upgradeCriterion(c as Criterion & Old);
  for (const c of g.phase0?.rows ?? []) upgradeCriterion(c as Criterion & Old);
  if (typeof g.trusted !== "boolean") g.trusted = !g.untrusted;
}

function upgradeBackend(b: BackendResult & Old): void {
  if (!Array.isArray(b.range)) {
    const xs = (b.rounds ?? []).map((r) => (r.throughput ?? r.latency?.p50) as number).filter((x) => Number.isFinite(x));
    b.range = xs.length ? [Math.min(...xs), Math.max(...xs)] : [NaN, NaN];
  }
  delete b.ci95;
  const rel = b.relative as unknown as { ratio: number; ci95?: unknown; kind?: string } | undefined;
  if (rel && rel.kind === undefined) b.relative = { ratio: rel.ratio, interval: Array.isArray(rel.ci95) ? (rel.ci95 as [number, number]) : null, kind: "ci", confidence: 0.95, rounds: (b.rounds ?? []).length };
}

/** Upgrades a parsed results file in place to the current shape; returns it. */
export function upgradeResults(r: BenchResults): BenchResults {
  r.warnings = (r.warnings ?? []).map((w) => (typeof w === "string" ? { code: "uncoded", text: w, remedy: "" } : w));
  const runs = [r, ...(r.placements ?? [])];
  for (const run of runs) {
    for (const s of run.scenarios ?? []) for (const v of s.variants ?? []) for (const b of v.backends ?? []) upgradeBackend(b as BackendResult & Old);
    if (run.gate) upgradeGate(run.gate as Gate & Old);
    for (const g of run.gates ?? []) upgradeGate(g as Gate & Old);
  }
  return r;
}
