// The CSV export (bench/report/csv.ts): a header with units, one row per
// backend × scenario × variant and per gate criterion, RFC 4180 quoting that
// a spreadsheet reads back, and the same figures as the markdown report.
import { describe, expect, test } from "bun:test";
import { CSV_COLUMNS, csvField, resultsCsv } from "../bench/report/csv.ts";
import { renderMarkdownReport } from "../bench/report/report.ts";
import type { BackendResult, BenchResults, RoundResult } from "../bench/results/schema.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });

function backend(name: string, p50s: number[], ratio?: [number, number, number]): BackendResult {
  const rounds: RoundResult[] = p50s.map((p50, i) => ({ round: i + 1, latency: { n: 100, p50, p95: p50 * 2, p99: p50 * 3, p999: p50 * 4, mean: p50, min: p50 / 2, max: p50 * 5 }, errors: noErr(), client_util: 0.5 }));
  return {
    backend: name,
    rounds,
    pooled: { n: 300, p50: p50s[1], p95: p50s[1] * 2, p99: p50s[1] * 3, p999: p50s[1] * 4, mean: p50s[1], min: 1, max: 99 },
    headline: p50s[1],
    range: [Math.min(...p50s), Math.max(...p50s)],
    relative: ratio ? { ratio: ratio[0], interval: [ratio[1], ratio[2]], kind: "range", rounds: 3 } : { ratio: 1, interval: null, kind: "ci", confidence: 0.983, rounds: 3 },
    costs: { requests: 300, cpu_us: 5.125, user_us: 2, sys_us: 3.125, vol_ctx: 1, invol_ctx: 0.01, syscalls: 3 },
    errors: noErr(),
  };
}

const R: BenchResults = {
  schema: "iouring-bench/3",
  context: SYNTHETIC_CONTEXT,
  config: {},
  backends: [
    { name: "tokio", description: "t", available: true },
    { name: "c-uring", description: "c", available: true },
  ],
  baseline: "tokio",
  scenarios: [
    {
      id: 1,
      slug: "ping-pong",
      name: "Single ping-pong latency",
      status: "ok",
      variants: [{ key: "100B", label: "100 B", params: {}, metric: "p50 latency, µs", higherIsBetter: false, backends: [backend("tokio", [9.3, 9.4, 9.6]), backend("c-uring", [9.0, 9.1, 9.2], [0.97, 0.95, 0.99])] }],
    },
  ],
  gates: [
    {
      kind: "headline",
      baseline: "tokio",
      candidate: "c-uring",
      verdict: "DO NOT PROCEED",
      reason: "r",
      trusted: true,
      criteria: [{ id: "C1", name: "Single ping-pong latency", metric: "scenario 1 p50", threshold_pct: 10, improvement_pct: 3.2, ci: [2.2, 4.1], status: "FAIL", note: 'per 10B/100B/1000B: geometric mean, "paired"; whole interval below 10%', rounds: 13, confidence: 0.983 }],
    },
  ],
  warnings: [],
};
R.gate = R.gates![0];

/** A small RFC 4180 reader: what a spreadsheet does with the file. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      (row = []), (field = ""), i++;
    } else field += ch;
  }
  return rows;
}

describe("resultsCsv", () => {
  const text = resultsCsv(R);
  const rows = parseCsv(text);
  const header = rows[0];
  const get = (r: string[], c: string) => r[header.indexOf(c)];

  test("a header with the units, a row per backend × scenario × variant, then the gate's criteria; every row as wide as the header", () => {
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(header).toContain("p50_us");
    expect(header).toContain("throughput_msg_per_s");
    expect(header).toContain("server_cpu_us_per_request");
    expect(rows.length).toBe(1 + 2 + 1);
    for (const r of rows) expect(r.length).toBe(header.length);
    expect(rows.slice(1).map((r) => [get(r, "row"), get(r, "backend")])).toEqual([
      ["backend", "tokio"],
      ["backend", "c-uring"],
      ["gate", "c-uring"],
    ]);
    expect(text.endsWith("\r\n")).toBe(true);
  });

  test("the same figures as the markdown report", () => {
    const md = renderMarkdownReport(R);
    const cu = rows[2];
    expect(Number(get(cu, "vs_baseline_ratio")).toFixed(2)).toBe("0.97");
    expect(md).toContain(`| c-uring | ${Number(get(cu, "vs_baseline_ratio")).toFixed(2)} (${Number(get(cu, "vs_baseline_lo")).toFixed(2)}–${Number(get(cu, "vs_baseline_hi")).toFixed(2)}) |`);
    expect(md).toContain(`| tokio (baseline) | ${Number(get(rows[1], "headline")).toFixed(1)} |`);
    const g = rows[3];
    expect(md).toContain(`| C1 | Single ping-pong latency | > ${get(g, "threshold_pct")} | +${Number(get(g, "improvement_pct")).toFixed(1)} | [+${Number(get(g, "ci_lo_pct")).toFixed(1)}, +${Number(get(g, "ci_hi_pct")).toFixed(1)}] | FAIL |`);
    expect(get(cu, "server_cpu_us_per_request")).toBe("5.125");
    expect(get(cu, "context_switches_per_request")).toBe("1.01");
    expect(get(g, "trusted")).toBe("true");
  });

  test("quoting: commas and quotes survive the trip; numbers to 6 significant digits, none for non-finite", () => {
    expect(get(rows[3], "note")).toBe('per 10B/100B/1000B: geometric mean, "paired"; whole interval below 10%');
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "x"')).toBe('"say ""x"""');
    expect(csvField(1 / 3)).toBe("0.333333");
    expect(csvField(NaN)).toBe("");
    expect(csvField(null)).toBe("");
    expect(csvField(true)).toBe("true");
  });
});
