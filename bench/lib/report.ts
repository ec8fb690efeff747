// Renders BenchResults (the JSON) as tables for the terminal and markdown.
import { errorCount } from "./client.ts";
import { contextLines } from "./machine.ts";
import type { BenchResults, BackendResult, ScenarioResult, VariantResult } from "./results.ts";
import { renderMarkdown, renderTerminal, type Table } from "./table.ts";

export function fmtNum(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 100000) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(digits);
}

export function fmtRatio(b: BackendResult, baseline: string): string {
  if (b.backend === baseline && b.relative) return "1.00 (baseline)";
  if (!b.relative) return "n/a";
  const [lo, hi] = b.relative.ci95;
  const ci = Number.isFinite(lo) ? ` [${lo.toFixed(2)}, ${hi.toFixed(2)}]` : "";
  return `${b.relative.ratio.toFixed(2)}${ci}`;
}

function errorsCell(b: BackendResult): string {
  const n = errorCount(b.errors);
  if (b.failure) return `FAILED: ${b.failure}`;
  if (n === 0) return "0";
  return Object.entries(b.errors)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${c} ${k}`)
    .join(", ");
}

export function latencyTable(s: ScenarioResult, v: VariantResult, baseline: string): Table {
  const rounds = Math.max(0, ...v.backends.map((b) => b.rounds.length));
  return {
    title: `Scenario ${s.id}: ${s.name}, ${v.label} (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "p50" },
      { name: "p95" },
      { name: "p99" },
      { name: "p99.9" },
      { name: "mean" },
      { name: "min" },
      { name: "max" },
      { name: `p50 vs ${baseline} [95% CI]` },
      { name: "errors", align: "left" },
    ],
    rows: v.backends.map((b) => {
      const p = b.pooled;
      return [
        b.backend,
        fmtNum(p?.p50),
        fmtNum(p?.p95),
        fmtNum(p?.p99),
        fmtNum(p?.p999),
        fmtNum(p?.mean),
        fmtNum(p?.min),
        fmtNum(p?.max),
        fmtRatio(b, baseline),
        errorsCell(b),
      ];
    }),
    notes: [
      `Percentiles over all ${rounds} rounds' samples (${v.params.iterations} round trips per round). Ratio: median of round p50s against ${baseline}'s; below 1.00 is faster.`,
    ],
  };
}

export function scenarioTables(r: BenchResults): Table[] {
  const out: Table[] = [];
  for (const s of r.scenarios) for (const v of s.variants) out.push(latencyTable(s, v, r.baseline));
  return out;
}

function backendLines(r: BenchResults): string[] {
  return r.backends.map((b) => `  ${b.name.padEnd(8)} ${b.available ? b.description : `UNAVAILABLE: ${b.reason}. Hint: ${b.hint}`}`);
}

export function renderTerminalReport(r: BenchResults): string {
  const parts = [contextLines(r.context).join("\n"), ["backends", ...backendLines(r)].join("\n")];
  for (const t of scenarioTables(r)) parts.push(renderTerminal(t));
  if (r.warnings.length) parts.push(["warnings:", ...r.warnings.map((w) => `  - ${w}`)].join("\n"));
  return parts.join("\n\n");
}

export function renderMarkdownReport(r: BenchResults): string {
  const c = r.context;
  const parts = [
    "### iouring-bench results",
    "",
    "| | |",
    "|:---|:---|",
    ...contextLines(c).map((l) => {
      const [k, ...rest] = l.split(/\s+/);
      return `| ${k} | ${rest.join(" ").replace(/\|/g, "\\|")} |`;
    }),
  ].join("\n");
  const tables = scenarioTables(r).map((t) => renderMarkdown(t));
  const warn = r.warnings.length ? ["#### Warnings", "", ...r.warnings.map((w) => `- ${w}`)].join("\n") : "";
  return [parts, ...tables, warn].filter(Boolean).join("\n\n") + "\n";
}
