// The first page's one table: a row per backend, a column per scenario's
// headline figure, the scenarios read from the results. The baseline's row
// gives its figure; every other row its ratio to the baseline, paired round
// by round at the gates' confidence, as the scenario tables and the gates do.
import type { BenchResults, ScenarioResult, VariantResult } from "../results/schema.ts";
import { headlineVariantOf } from "../scenarios/index.ts";
import { fmtNum, fmtRatio, ratioNote } from "./format.ts";
import { fmtRateCompact } from "./sweep-tables.ts";
import type { Table } from "./table.ts";

/** The variant a scenario is summarised by: the one it declares its headline, else its first. */
export function summaryVariant(s: ScenarioResult): VariantResult | undefined {
  return headlineVariantOf(s);
}

/** Its column name: "1 p50 µs (100B)", "2 msg/s"; the variant named when the scenario has several. */
export function summaryColumn(s: ScenarioResult, v: VariantResult): string {
  return `${s.id} ${v.higherIsBetter ? "msg/s" : "p50 µs"}${s.variants.length > 1 ? ` (${v.key})` : ""}`;
}

export function summaryTable(r: BenchResults): Table | undefined {
  const cols = r.scenarios.flatMap((s) => {
    const v = summaryVariant(s);
    return v && v.backends.length ? [{ s, v }] : [];
  });
  if (!cols.length) return undefined;
  const seen = new Set(cols.flatMap(({ v }) => v.backends.map((b) => b.backend)));
  const names = [...r.backends.map((b) => b.name).filter((n) => seen.has(n)), ...[...seen].filter((n) => !r.backends.some((b) => b.name === n))];
  const cell = (v: VariantResult, n: string) => {
    const b = v.backends.find((x) => x.backend === n);
    if (!b || b.failure || b.unsupported) return "n/a";
    if (n === r.baseline) return v.higherIsBetter ? fmtRateCompact(b.headline) : fmtNum(b.headline);
    return fmtRatio(b, r.baseline);
  };
  return {
    title: `Every backend at a glance: ${r.baseline}'s figure, the others against it`,
    columns: [{ name: "backend", align: "left" }, ...cols.map(({ s, v }) => ({ name: summaryColumn(s, v) }))],
    rows: names.map((n) => [n === r.baseline ? `${n} (baseline)` : n, ...cols.map(({ v }) => cell(v, n))]),
    notes: [
      `${r.baseline}: median over rounds of the p50 latency (lower is better) or the completed messages per second (higher is better; k thousand, M million).`,
      ratioNote(cols.map(({ v }) => v), r.baseline, "Below 1.00 is faster for latency, above 1.00 for throughput."),
      `${cols.map(({ s }) => `${s.id}: ${s.name}`).join("; ")}. Every table follows below.`,
    ],
  };
}
