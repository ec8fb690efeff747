// The results as CSV for spreadsheets (hyperfine's --export-csv): one row per
// backend × scenario × variant (per placement when the run had several), then
// one row per gate criterion, in one file with one header; a column a row
// kind does not use is empty. Units are in the column names. Figures are the
// JSON's (the markdown rounds them for reading), cut to 6 significant digits.
import type { BackendResult, BenchResults, Gate, ScenarioResult, VariantResult } from "../results/schema.ts";

export const CSV_COLUMNS = [
  "row",
  "placement",
  "scenario_id",
  "scenario",
  "variant",
  "backend",
  "baseline",
  "metric",
  "higher_is_better",
  "headline",
  "rounds",
  "rounds_min",
  "rounds_max",
  "vs_baseline_ratio",
  "vs_baseline_lo",
  "vs_baseline_hi",
  "vs_baseline_kind",
  "confidence",
  "p50_us",
  "p95_us",
  "p99_us",
  "p999_us",
  "throughput_msg_per_s",
  "server_cpu_us_per_request",
  "context_switches_per_request",
  "syscalls_per_request",
  "client_cpu_share",
  "errors",
  "failure",
  "gate",
  "criterion",
  "threshold_pct",
  "improvement_pct",
  "ci_lo_pct",
  "ci_hi_pct",
  "status",
  "trusted",
  "note",
] as const;

type Column = (typeof CSV_COLUMNS)[number];
type Row = Partial<Record<Column, string | number | boolean | null | undefined>>;

/** A field as RFC 4180 wants it: quoted when it holds a comma, a quote or a line break. */
export function csvField(x: string | number | boolean | null | undefined): string {
  if (x === null || x === undefined) return "";
  if (typeof x === "number") return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : "";
  const s = String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : undefined;
};

function backendRow(placement: string, s: ScenarioResult, v: VariantResult, b: BackendResult, baseline: string): Row {
  const p = b.pooled;
  const utils = b.rounds.map((r) => r.client_util).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const tps = b.rounds.filter((r) => !r.stalled).map((r) => r.throughput).filter((x): x is number => x !== undefined);
  const rel = b.backend === baseline ? undefined : b.relative;
  return {
    row: "backend",
    placement,
    scenario_id: s.id,
    scenario: s.slug,
    variant: v.key,
    backend: b.backend,
    baseline,
    metric: v.metric,
    higher_is_better: v.higherIsBetter,
    headline: b.headline,
    rounds: b.rounds.length,
    rounds_min: b.range?.[0],
    rounds_max: b.range?.[1],
    vs_baseline_ratio: b.backend === baseline ? 1 : rel?.ratio,
    vs_baseline_lo: rel?.interval?.[0],
    vs_baseline_hi: rel?.interval?.[1],
    vs_baseline_kind: rel?.kind,
    confidence: rel?.kind === "ci" ? rel.confidence : undefined,
    p50_us: p?.p50,
    p95_us: p?.p95,
    p99_us: p?.p99,
    p999_us: p?.p999,
    throughput_msg_per_s: tps.length ? median(tps) : undefined,
    server_cpu_us_per_request: b.costs?.cpu_us,
    context_switches_per_request: b.costs ? b.costs.vol_ctx + b.costs.invol_ctx : undefined,
    syscalls_per_request: b.costs?.syscalls,
    client_cpu_share: utils.length ? median(utils) : undefined,
    errors: Object.values(b.errors).reduce((a, n) => a + n, 0),
    failure: b.failure ?? b.unsupported,
  };
}

function gateRows(placement: string, g: Gate): Row[] {
  return g.criteria.map((c) => ({
    row: g.kind === "control" ? "control" : "gate",
    placement,
    backend: g.candidate,
    baseline: g.baseline,
    gate: `${g.baseline} -> ${g.candidate}`,
    criterion: c.id,
    metric: c.metric,
    threshold_pct: g.kind === "control" ? c.margin_pct : c.threshold_pct,
    improvement_pct: c.improvement_pct,
    ci_lo_pct: c.ci?.[0],
    ci_hi_pct: c.ci?.[1],
    confidence: c.confidence,
    rounds: c.rounds,
    status: c.status,
    trusted: g.kind === "control" ? undefined : !c.untrusted,
    note: c.note,
  }));
}

/** The whole CSV file: the header, then every row, each line ended by CRLF as RFC 4180 asks. */
export function resultsCsv(r: BenchResults): string {
  const runs = r.placements && r.placements.length > 1 ? r.placements : [{ placement: r.context.placement, scenarios: r.scenarios, gates: r.gates ?? (r.gate ? [r.gate] : []) }];
  const rows: Row[] = [];
  for (const run of runs) {
    const where = run.placement.mode;
    for (const s of run.scenarios) for (const v of s.variants) for (const b of v.backends) rows.push(backendRow(where, s, v, b, r.baseline));
    for (const g of run.gates ?? []) rows.push(...gateRows(where, g));
  }
  const lines = [CSV_COLUMNS.join(","), ...rows.map((row) => CSV_COLUMNS.map((c) => csvField(row[c])).join(","))];
  return `${lines.join("\r\n")}\r\n`;
}
