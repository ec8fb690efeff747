// The report's document model and its two renderings on a synthetic run with
// both placements: which blocks, in which order, and the exact text of the
// placement effect, the warnings, the gates and the verdicts (each placement's,
// the headline last) in both formats.
import { describe, expect, test } from "bun:test";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";
import { buildReport, renderMarkdownReport, renderTerminalReport } from "../bench/report/report.ts";
import { PLAIN_VERDICT, verdictLine } from "../bench/report/gate-tables.ts";
import { tablesForScenario } from "../bench/report/scenario-tables.ts";
import type { BackendResult, BenchResults, Gate, ScenarioResult } from "../bench/results/schema.ts";

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });

const gate = (verdict: Gate["verdict"], reason: string): Gate => ({
  baseline: "bun",
  candidate: "uring",
  verdict,
  reason,
  criteria: [{ id: "C1", name: "Single ping-pong latency", metric: "m", threshold_pct: 10, improvement_pct: 12.5, ci95: [11, 14], status: "PASS", note: "3 rounds" }],
  phase0: { backend: "epoll", expected_pct: [15, 30], rows: [{ id: "P1", name: "p50 | latency", metric: "m", threshold_pct: 15, improvement_pct: 20, ci95: [16, 24], status: "PASS", note: "" }] },
  informational: [{ name: "CPU per request, µs", scenario: "1: 100B", baseline_value: 20, candidate_value: 13, change_pct: -35, expected: "-25% to -40%", status: "as expected" }],
});

const lb = (name: string, p50: number): BackendResult => ({
  backend: name,
  rounds: [1, 2].map((round) => ({ round, latency: { n: 10, p50, p95: p50, p99: p50, p999: p50, mean: p50, min: p50, max: p50 }, errors: noErr() })),
  pooled: { n: 20, p50, p95: p50 * 2, p99: p50 * 3, p999: p50 * 4, mean: p50, min: p50 / 2, max: p50 * 5 },
  headline: p50,
  ci95: [p50 - 1, p50 + 1],
  errors: noErr(),
});

const SLUGS: Record<number, string> = { 1: "ping-pong", 6: "throughput-stress" };
const scenario = (id: number, higherIsBetter: boolean, k = 1): ScenarioResult =>
  ({
    id,
    slug: SLUGS[id] ?? `scenario-${id}`,
    name: "Single ping-pong latency",
    status: "ok",
    variants: [{ key: "100B", label: "100 bytes", params: { iterations: 10 }, metric: "p50 latency, µs", higherIsBetter, backends: [lb("bun", 50 * k), lb("uring", 40 * k)] }],
  }) as ScenarioResult;

const CROSS = gate("PROCEED", "the cross-core run passes.");
const SAME = gate("INCONCLUSIVE", "the same-core run is not settled.");

const RESULTS: BenchResults = {
  schema: "iouring-bench/2",
  context: SYNTHETIC_CONTEXT,
  config: {},
  backends: [
    { name: "bun", description: "Bun.listen", available: true },
    { name: "uring", description: "", available: false, reason: "io_uring disabled", hint: "sysctl kernel.io_uring_disabled=0" },
  ],
  baseline: "bun",
  scenarios: [scenario(1, false)],
  gate: CROSS,
  placements: [
    { placement: { mode: "cross", serverCpu: 0, clientCpu: 1 }, scenarios: [scenario(1, false)], gate: CROSS },
    { placement: { mode: "same", serverCpu: 0, clientCpu: 0 }, scenarios: [scenario(1, false, 0.5)], gate: SAME },
  ],
  warnings: ["CPU frequency scaling is on; consider the performance governor"],
};

const TERMINAL_TAIL = [
    "Placement effect: scenario 1 p50, cross against same (µs)",
    "size  backend  cross  same  cross / same",
    "----  -------  -----  ----  ------------",
    "100B  bun       50.0  25.0          2.00",
    "100B  uring     40.0  20.0          2.00",
    "On virtual machines a wake-up across cores can cost more than the rest of the round trip; compare the verdicts of both placements before concluding.",
    "",
    "warnings:",
    "  - CPU frequency scaling is on; consider the performance governor",
    "",
    "Phase 0 check: epoll vs bun (improvement, %) [same core: server on CPU 0, client on CPU 0]",
    "id  metric         expected  improvement          95% CI  status  note",
    "--  -------------  --------  -----------  --------------  ------  ----",
    "P1  p50 | latency     15-30        +20.0  [+16.0, +24.0]  PASS",
    "The guide expects a non-blocking epoll server to be 15-30% better than the current implementation. Status is against 15%: PASS when the whole interval is above it.",
    "",
    "Decision gate: uring vs bun (improvement, %) [same core: server on CPU 0, client on CPU 0]",
    "id  criterion                 threshold  improvement          95% CI  status  note",
    "--  ------------------------  ---------  -----------  --------------  ------  --------",
    "C1  Single ping-pong latency       > 10        +12.5  [+11.0, +14.0]  PASS    3 rounds",
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); INCONCLUSIVE: the interval spans it; NOT ASSESSABLE: its rounds varied by more than the threshold. The guide proceeds on 2 or more PASS.",
    "",
    "The guide's cost expectations: uring against bun (informational) [same core: server on CPU 0, client on CPU 0]",
    "measure              scenario    bun  uring  change  expected      status",
    "-------------------  --------  -----  -----  ------  ------------  -----------",
    "CPU per request, µs  1: 100B   20.00  13.00  -35.0%  -25% to -40%  as expected",
    "",
    "Verdict (uring vs bun): INCONCLUSIVE. the same-core run is not settled. [same]",
    "",
    "Phase 0 check: epoll vs bun (improvement, %) [cross-core: server on CPU 0, client on CPU 1]",
    "id  metric         expected  improvement          95% CI  status  note",
    "--  -------------  --------  -----------  --------------  ------  ----",
    "P1  p50 | latency     15-30        +20.0  [+16.0, +24.0]  PASS",
    "The guide expects a non-blocking epoll server to be 15-30% better than the current implementation. Status is against 15%: PASS when the whole interval is above it.",
    "",
    "Decision gate: uring vs bun (improvement, %) [cross-core: server on CPU 0, client on CPU 1]",
    "id  criterion                 threshold  improvement          95% CI  status  note",
    "--  ------------------------  ---------  -----------  --------------  ------  --------",
    "C1  Single ping-pong latency       > 10        +12.5  [+11.0, +14.0]  PASS    3 rounds",
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); INCONCLUSIVE: the interval spans it; NOT ASSESSABLE: its rounds varied by more than the threshold. The guide proceeds on 2 or more PASS.",
    "",
    "The guide's cost expectations: uring against bun (informational) [cross-core: server on CPU 0, client on CPU 1]",
    "measure              scenario    bun  uring  change  expected      status",
    "-------------------  --------  -----  -----  ------  ------------  -----------",
    "CPU per request, µs  1: 100B   20.00  13.00  -35.0%  -25% to -40%  as expected",
    "",
    "Verdict (uring vs bun): PROCEED. the cross-core run passes. [cross]",
  ].join("\n");

const MARKDOWN_TAIL = [
    "#### Placement effect: scenario 1 p50, cross against same (µs)",
    "",
    "| size | backend | cross | same | cross / same |",
    "|:---|:---|---:|---:|---:|",
    "| 100B | bun | 50.0 | 25.0 | 2.00 |",
    "| 100B | uring | 40.0 | 20.0 | 2.00 |",
    "",
    "On virtual machines a wake-up across cores can cost more than the rest of the round trip; compare the verdicts of both placements before concluding.",
    "",
    "#### Warnings",
    "",
    "- CPU frequency scaling is on; consider the performance governor",
    "",
    "#### Phase 0 check: epoll vs bun (improvement, %) [same core: server on CPU 0, client on CPU 0]",
    "",
    "| id | metric | expected | improvement | 95% CI | status | note |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| P1 | p50 \\| latency | 15-30 | +20.0 | [+16.0, +24.0] | PASS |  |",
    "",
    "The guide expects a non-blocking epoll server to be 15-30% better than the current implementation. Status is against 15%: PASS when the whole interval is above it.",
    "",
    "#### Decision gate: uring vs bun (improvement, %) [same core: server on CPU 0, client on CPU 0]",
    "",
    "| id | criterion | threshold | improvement | 95% CI | status | note |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| C1 | Single ping-pong latency | > 10 | +12.5 | [+11.0, +14.0] | PASS | 3 rounds |",
    "",
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); INCONCLUSIVE: the interval spans it; NOT ASSESSABLE: its rounds varied by more than the threshold. The guide proceeds on 2 or more PASS.",
    "",
    "#### The guide's cost expectations: uring against bun (informational) [same core: server on CPU 0, client on CPU 0]",
    "",
    "| measure | scenario | bun | uring | change | expected | status |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| CPU per request, µs | 1: 100B | 20.00 | 13.00 | -35.0% | -25% to -40% | as expected |",
    "",
    "**Verdict (uring vs bun, same): INCONCLUSIVE.** the same-core run is not settled.",
    "",
    "#### Phase 0 check: epoll vs bun (improvement, %) [cross-core: server on CPU 0, client on CPU 1]",
    "",
    "| id | metric | expected | improvement | 95% CI | status | note |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| P1 | p50 \\| latency | 15-30 | +20.0 | [+16.0, +24.0] | PASS |  |",
    "",
    "The guide expects a non-blocking epoll server to be 15-30% better than the current implementation. Status is against 15%: PASS when the whole interval is above it.",
    "",
    "#### Decision gate: uring vs bun (improvement, %) [cross-core: server on CPU 0, client on CPU 1]",
    "",
    "| id | criterion | threshold | improvement | 95% CI | status | note |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| C1 | Single ping-pong latency | > 10 | +12.5 | [+11.0, +14.0] | PASS | 3 rounds |",
    "",
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); INCONCLUSIVE: the interval spans it; NOT ASSESSABLE: its rounds varied by more than the threshold. The guide proceeds on 2 or more PASS.",
    "",
    "#### The guide's cost expectations: uring against bun (informational) [cross-core: server on CPU 0, client on CPU 1]",
    "",
    "| measure | scenario | bun | uring | change | expected | status |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| CPU per request, µs | 1: 100B | 20.00 | 13.00 | -35.0% | -25% to -40% | as expected |",
    "",
    "**Verdict (uring vs bun, cross): PROCEED.** the cross-core run passes.",
  ].join("\n");

describe("document", () => {
  test("blocks in order: title (markdown only), context, backends (terminal only), each placement, effect, warnings, gates last", () => {
    const kinds = buildReport(RESULTS).blocks.map((b) => (b.only ? `${b.kind}:${b.only}` : b.kind));
    expect(kinds).toEqual([
      "heading:markdown", "context", "definitions:terminal",
      "heading", "table",
      "heading", "table",
      "table", "warnings",
      "table", "table", "table", "verdict",
      "table", "table", "table", "verdict",
    ]);
  });

  test("scenario layout from the registry: unknown scenarios get a table by metric direction, 1 and 6 theirs", () => {
    expect(tablesForScenario(scenario(1, false), "bun")[0].title).toBe("Scenario 1: Single ping-pong latency, 100 bytes (µs)");
    expect(tablesForScenario(scenario(6, false), "bun")[0].title).toBe("Scenario 6: Single ping-pong latency, 100 bytes (msg/s)");
    expect(tablesForScenario(scenario(42, true), "bun")[0].title).toBe("Scenario 42: Single ping-pong latency, 100 bytes (msg/s)");
    expect(tablesForScenario(scenario(42, false), "bun")[0].title).toBe("Scenario 42: Single ping-pong latency, 100 bytes (µs)");
    expect(tablesForScenario({ ...scenario(4, false), variants: [] }, "bun")).toEqual([]);
  });

  test("the verdict line: one function, the placement after the reason in plain text", () => {
    expect(verdictLine(SAME, PLAIN_VERDICT)).toBe("Verdict (uring vs bun): INCONCLUSIVE. the same-core run is not settled.");
    expect(verdictLine(SAME, PLAIN_VERDICT, "same")).toBe("Verdict (uring vs bun): INCONCLUSIVE. the same-core run is not settled. [same]");
  });
});

describe("both placements", () => {
  test("terminal: backends listed, placement headings, then effect, warnings, gates and verdicts, exact text", () => {
    const t = renderTerminalReport(RESULTS);
    expect(t).toContain("backends\n  bun      Bun.listen\n  uring    UNAVAILABLE: io_uring disabled. Hint: sysctl kernel.io_uring_disabled=0\n\n=== Placement: cross-core: server on CPU 0, client on CPU 1 ===\n\nScenario 1:");
    expect(t).toContain("\n\n=== Placement: same core: server on CPU 0, client on CPU 0 ===\n\nScenario 1:");
    expect(t).not.toContain("iouring-bench results");
    expect(t.endsWith(`\n\n${TERMINAL_TAIL}`)).toBe(true);
  });

  test("markdown: title and context table, no backend list, then effect, warnings, gates and verdicts, exact text", () => {
    const md = renderMarkdownReport(RESULTS);
    expect(md.startsWith("### iouring-bench results\n\n| | |\n|:---|:---|\n| machine | Test CPU, 4 cores, host test |\n")).toBe(true);
    expect(md).toContain("\n\n#### Placement: same core: server on CPU 0, client on CPU 0\n\n#### Scenario 1:");
    expect(md).not.toContain("Bun.listen");
    expect(md.endsWith(`\n\n${MARKDOWN_TAIL}\n`)).toBe(true);
  });
});
