// The renderers on small synthetic results, against exact expected text.
import { describe, expect, test } from "bun:test";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";
import { renderGateMarkdown, renderMarkdownReport, renderTerminalReport } from "../bench/report/report.ts";
import { gateTable } from "../bench/report/gate-tables.ts";
import { scenarioTables } from "../bench/report/scenario-tables.ts";
import type { BackendResult, BenchResults, Gate, RoundResult } from "../bench/results/schema.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });

const CONTEXT = SYNTHETIC_CONTEXT;

const GATE: Gate = {
  trusted: true,
  baseline: "bun",
  candidate: "uring",
  verdict: "INCONCLUSIVE",
  reason: "1 of 4 criteria pass (C1), 1 is inconclusive (C2); about 20 rounds (--rounds 20, now 5) would likely settle C2 (likely PASS), and with it the verdict, if the current estimates hold.",
  criteria: [
    { id: "C1", name: "Single ping-pong latency", metric: "m", threshold_pct: 10, improvement_pct: 20.34, ci: [19.71, 20.96], status: "PASS", note: "5 rounds; whole interval above 10%" },
    { id: "C2", name: "Persistent-connection throughput", metric: "m", threshold_pct: 15, improvement_pct: 17.04, ci: [9.1, 22.4], status: "INCONCLUSIVE", note: "5 rounds; interval spans 15%" },
    { id: "C3", name: "Latency percentiles under load", metric: "m", threshold_pct: 15, improvement_pct: -2.5, ci: [-4.25, -0.75], status: "FAIL", note: "p95 +1.0% [+0.5%, +1.5%] FAIL; p99 -2.5% [-4.3%, -0.8%] FAIL; both must pass (5 rounds)" },
    { id: "C4", name: "Throughput stress", metric: "m", threshold_pct: 20, improvement_pct: null, ci: null, status: "NOT EVALUATED", note: "scenario 6 was not run" },
  ],
};

const GATE_MD = [
  "#### Decision gate: uring vs bun (improvement, %)",
  "",
  "| id | criterion | threshold | improvement | 95% CI | status | note |",
  "|:---|:---|---:|---:|---:|:---|:---|",
  "| C1 | Single ping-pong latency | > 10 | +20.3 | [+19.7, +21.0] | PASS | 5 rounds; whole interval above 10% |",
  "| C2 | Persistent-connection throughput | > 15 | +17.0 | [+9.1, +22.4] | INCONCLUSIVE | 5 rounds; interval spans 15% |",
  "| C3 | Latency percentiles under load | > 15 | -2.5 | [-4.3, -0.8] | FAIL | p95 +1.0% [+0.5%, +1.5%] FAIL; p99 -2.5% [-4.3%, -0.8%] FAIL; both must pass (5 rounds) |",
  "| C4 | Throughput stress | > 20 | n/a | n/a | NOT EVALUATED | scenario 6 was not run |",
  "",
  "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
].join("\n");

const VERDICT_MD =
  "**Verdict (uring vs bun): INCONCLUSIVE.** 1 of 4 criteria pass (C1), 1 is inconclusive (C2); about 20 rounds (--rounds 20, now 5) would likely settle C2 (likely PASS), and with it the verdict, if the current estimates hold.";

function tp(name: string, xs: number[], more: Partial<BackendResult>): BackendResult {
  const rounds: RoundResult[] = xs.map((x, i) => ({ round: i + 1, throughput: x, errors: noErr() }));
  return { backend: name, rounds, headline: NaN, range: [NaN, NaN], errors: noErr(), ...more };
}

const RESULTS: BenchResults = {
  schema: "iouring-bench/1",
  context: CONTEXT,
  config: {},
  backends: [
    { name: "bun", description: "Bun.listen", available: true },
    { name: "uring", description: "liburing", available: true },
  ],
  baseline: "bun",
  scenarios: [
    {
      id: 2, slug: "persistent-throughput",
      name: "Persistent-connection throughput",
      status: "ok",
      variants: [
        {
          key: "window",
          label: "1000 messages",
          params: { messages: 1000 },
          metric: "throughput, msg/s",
          higherIsBetter: true,
          backends: [
            tp("bun", [9000, 10000, 11000], { headline: 10000, range: [9000, 11000], relative: { ratio: 1, interval: null, kind: "ci", confidence: 0.983, rounds: 3 } }),
            tp("uring", [11500, 12000, 125000], { headline: 12000, range: [11500, 125000], relative: { ratio: 1.2, interval: [1.05, 12.5], kind: "range", rounds: 3 }, errors: { ...noErr(), timeout: 2 } }),
          ],
        },
      ],
    },
    { id: 6, slug: "throughput-stress", name: "Throughput stress", status: "skipped", note: "not selected", variants: [] },
  ],
  gate: GATE,
  warnings: [{ code: "uncoded", text: "a warning", remedy: "" }],
};

describe("markdown", () => {
  test("gate table: exact text", () => {
    expect(renderMarkdown(gateTable(GATE))).toBe(GATE_MD);
  });

  test("gate section: the table then the verdict", () => {
    expect(renderGateMarkdown(GATE)).toBe(`${GATE_MD}\n\n${VERDICT_MD}`);
  });

  test("scenario 2 table: exact text", () => {
    expect(renderMarkdown(scenarioTables(RESULTS)[0])).toBe(
      [
        "#### Scenario 2: Persistent-connection throughput, 1000 messages (msg/s)",
        "",
        "| backend | throughput | slowest round | fastest round | vs bun | errors |",
        "|:---|---:|---:|---:|---:|:---|",
        "| bun | 10,000 | 9,000 | 11,000 | 1.00 (baseline) | 0 |",
        "| uring | 12,000 | 11,500 | 125,000 | 1.20 (1.05–12.50) | 2 timeout |",
        "",
        "Completed messages per second: median over 3 rounds. Parameters: messages 1000.",
        "vs bun: paired round by round as the gates pair them (stalled rounds left out), the geometric mean of the per-round ratios; with 2-4 rounds, the lowest and highest ratio in parentheses instead: too few rounds for an interval. Above 1.00 is faster.",
      ].join("\n"),
    );
  });

  test("whole report: the first page with the verdict and the gate, then context, scenario tables, skipped scenarios, warnings, the folded gate and the verdict last", () => {
    const md = renderMarkdownReport(RESULTS);
    expect(md.startsWith("### iouring-bench results\n")).toBe(true);
    expect(md).toContain(`\n\n${VERDICT_MD}\n\n${GATE_MD}\n\n#### Every backend at a glance`);
    expect(md).toContain("| backend | 2 msg/s |\n|:---|---:|\n| bun (baseline) | 10.0k |\n| uring | 1.20 (1.05–12.50) |");
    expect(md.endsWith(`${GATE_MD}\n\n</details>\n\n${VERDICT_MD}\n`)).toBe(true);
    expect(md).toContain("- Scenario 6 (Throughput stress): skipped: not selected");
    expect(md.indexOf("#### Scenario 2")).toBeLessThan(md.lastIndexOf("#### Decision gate"));
    expect(md.indexOf("#### Warnings")).toBeLessThan(md.lastIndexOf("#### Decision gate"));
  });

  test("without a gate the report has no gate section", () => {
    const md = renderMarkdownReport({ ...RESULTS, gate: undefined });
    expect(md).not.toContain("Decision gate");
    expect(md).not.toContain("Verdict");
  });
});

describe("terminal", () => {
  test("the verdict is the last line", () => {
    const t = renderTerminalReport(RESULTS);
    const lines = t.split("\n");
    expect(lines[lines.length - 1]).toBe(`Verdict (uring vs bun): INCONCLUSIVE. ${GATE.reason}`);
    expect(lines[3]).toBe(`Verdict (uring vs bun): INCONCLUSIVE. ${GATE.reason}`);
    expect(t.indexOf("Decision gate: uring vs bun")).toBeLessThan(t.indexOf("Scenario 2:"));
    expect(t.lastIndexOf("Decision gate: uring vs bun")).toBeGreaterThan(t.indexOf("Scenario 2:"));
    expect(t).toContain("C2  Persistent-connection throughput       > 15        +17.0   [+9.1, +22.4]  INCONCLUSIVE");
  });
});

describe("scenario 3, 4 and 5 tables", () => {
  const lat = (p50: number): RoundResult["latency"] => ({ n: 100, p50, p95: p50 * 2, p99: p50 * 3, p999: p50 * 4, mean: p50, min: p50 / 2, max: p50 * 5 });
  const lb = (name: string, p50: number, more: Partial<BackendResult> = {}): BackendResult => ({
    backend: name,
    rounds: [1, 2, 3].map((round) => ({ round, latency: lat(p50), errors: noErr() })),
    headline: p50,
    range: [p50 - 1, p50 + 1],
    errors: noErr(),
    ...more,
  });
  const v = (key: string, backends: BackendResult[]) => ({ key, label: key, params: {}, metric: "p50 latency, µs", higherIsBetter: false, backends });
  const r: BenchResults = {
    ...RESULTS,
    gate: undefined,
    scenarios: [
      {
        id: 3, slug: "connection-reuse",
        name: "Connection reuse",
        status: "ok",
        variants: [
          v("new-connection", [lb("bun", 90, { extra: { connect_p50_us: 40, connect_p99_us: 80 } }), lb("uring", 60, { extra: { connect_p50_us: 30, connect_p99_us: 70 } })]),
          v("reused-connection", [lb("bun", 30), lb("uring", 20, { errors: { ...noErr(), closed: 1 } })]),
        ],
      },
      {
        id: 4, slug: "latency-under-load",
        name: "Latency percentiles under load",
        status: "ok",
        variants: [
          v("open-loop", [
            lb("bun", 50, { pooled: lat(50), pooledUncorrected: lat(40), extra: { rate_per_s: 20000 } }),
            lb("uring", 40, { pooled: lat(40), pooledUncorrected: lat(35), extra: { rate_per_s: 20000 } }),
          ]),
        ],
      },
      {
        id: 5, slug: "request-overhead",
        name: "Request-response overhead",
        status: "ok",
        variants: [
          v("echo", [lb("bun", 30), lb("uring", 25), lb("c-uring", 24)]),
          v("order", [lb("bun", 40, { extra: { server_processing_us: 10, network_share_pct: 75 } }), lb("uring", 33, { extra: { server_processing_us: 9, network_share_pct: 72.7 } }), lb("c-uring", NaN, { rounds: [], unsupported: "echo only" })]),
        ],
      },
    ],
  };
  const md = scenarioTables(r).map((t) => renderMarkdown(t));

  test("scenario 3: new and reused per request, connect p50/p99 and their ratio, errors of both", () => {
    expect(md[0]).toContain("| backend | new connection p50 (range) | reused p50 (range) | new ÷ reused | connect p50 | connect p99 | new vs bun | reused vs bun | errors |");
    expect(md[0]).toContain("| bun | 90.0 (89.0–91.0) | 30.0 (29.0–31.0) | 3.00 | 40.0 | 80.0 | n/a | n/a | 0 |");
    expect(md[0]).toContain("| uring | 60.0 (59.0–61.0) | 20.0 (19.0–21.0) | 3.00 | 30.0 | 70.0 | n/a | n/a | reused: 1 closed |");
  });

  test("scenario 4: corrected and uncorrected percentiles, the rate under the table", () => {
    expect(md[1]).toContain("| backend | p50 (range) | p95 | p99 | p99.9 | max | uncorr. p50 | uncorr. p95 | uncorr. p99 | uncorr. p99.9 | uncorr. max |");
    expect(md[1]).toContain("| uring | 40.0 (39.0–41.0) | 80.0 | 120.0 | 160.0 | 200.0 | 35.0 | 70.0 | 105.0 | 140.0 | 175.0 |");
    expect(md[1]).toContain("Rate, requests/s (median over rounds): bun 20,000, uring 20,000.");
  });

  test("scenario 5: echo and order RT, server processing, network share beside the guide's 75-80%", () => {
    expect(md[2]).toContain("| bun | 30.0 (29.0–31.0) | 40.0 (39.0–41.0) | 10.0 | 75.0 | 75-80 (within) |");
    expect(md[2]).toContain("| uring | 25.0 (24.0–26.0) | 33.0 (32.0–34.0) | 9.0 | 72.7 | 75-80 (below) |");
    // A backend that serves echo only: its order cells are n/a, and it is not a failure.
    expect(md[2]).toMatch(/\| c-uring \| 24\.0 \(23\.0–25\.0\) \| n\/a \|.*\| order: n\/a \(echo only\) \|$/m);
    expect(md[2]).not.toContain("FAILED");
  });
});
