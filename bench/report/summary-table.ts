// The first page's one table: a row per backend, a column per scenario's
// headline figure with its interval, the scenarios read from the results.
import type { BenchResults, ScenarioResult, VariantResult } from "../results/schema.ts";
import { fmtNum, fmtRate, headlineCell } from "./format.ts";
import type { Table } from "./table.ts";

/** The variant a scenario is summarised by: 100 bytes when it has that size, else its first. */
export function summaryVariant(s: ScenarioResult): VariantResult | undefined {
  return s.variants.find((v) => v.key === "100B") ?? s.variants[0];
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
  return {
    title: "Every backend at a glance: each scenario's headline figure [95% CI]",
    columns: [{ name: "backend", align: "left" }, ...cols.map(({ s, v }) => ({ name: summaryColumn(s, v) }))],
    rows: names.map((n) => [
      n === r.baseline ? `${n} (baseline)` : n,
      ...cols.map(({ v }) => headlineCell(v.backends.find((b) => b.backend === n), v.higherIsBetter ? fmtRate : (x) => fmtNum(x))),
    ]),
    notes: [
      `Median over rounds with its 95% bootstrap interval: p50 latency (lower is better) or completed messages per second (higher is better). ${cols.map(({ s }) => `${s.id}: ${s.name}`).join("; ")}. Every table follows below.`,
    ],
  };
}
