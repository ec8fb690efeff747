// The report's document model and its two renderings on a synthetic run with
// both placements: which blocks, in which order, and the exact text of the
// placement effect, the warnings, the gates and the verdicts (each placement's,
// the headline last) in both formats.
import { describe, expect, test } from "bun:test";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";
import { buildReport, renderMarkdownReport, renderTerminalReport, type Block } from "../bench/report/report.ts";
import { PLAIN_VERDICT, verdictLine } from "../bench/report/gate-tables.ts";
import { tablesForScenario } from "../bench/report/scenario-tables.ts";
import type { BackendResult, BenchResults, Gate, ScenarioResult } from "../bench/results/schema.ts";

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });

const gate = (verdict: Gate["verdict"], reason: string): Gate => ({
  trusted: true,
  baseline: "bun",
  candidate: "uring",
  verdict,
  reason,
  criteria: [{ id: "C1", name: "Single ping-pong latency", metric: "m", threshold_pct: 10, improvement_pct: 12.5, ci: [11, 14], status: "PASS", note: "3 rounds" }],
  phase0: { backend: "epoll", expected_pct: [15, 30], rows: [{ id: "P1", name: "p50 | latency", metric: "m", threshold_pct: 15, improvement_pct: 20, ci: [16, 24], status: "PASS", note: "" }] },
  informational: [{ name: "CPU per request, µs", scenario: "1: 100B", baseline_value: 20, candidate_value: 13, change_pct: -35, expected: "-25% to -40%", status: "as expected" }],
});

const lb = (name: string, p50: number): BackendResult => ({
  backend: name,
  rounds: [1, 2].map((round) => ({ round, latency: { n: 10, p50, p95: p50, p99: p50, p999: p50, mean: p50, min: p50, max: p50 }, errors: noErr() })),
  pooled: { n: 20, p50, p95: p50 * 2, p99: p50 * 3, p999: p50 * 4, mean: p50, min: p50 / 2, max: p50 * 5 },
  headline: p50,
  range: [p50 - 1, p50 + 1],
  // Against bun's 50 µs, two rounds: a range, not an interval.
  relative: name === "bun" ? { ratio: 1, interval: null, kind: "ci", confidence: 0.95, rounds: 2 } : { ratio: p50 / 50, interval: [(p50 - 1) / 50, (p50 + 1) / 50], kind: "range", rounds: 2 },
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
  warnings: [{ code: "cpufreq-governor", text: "CPU frequency scaling is on;", remedy: "consider the performance governor" }],
};

const INFO_NOTE = "Per request. Change: uring against bun; — when bun's figure is below 0.05 per request, too near zero for a percentage to mean anything.";
const DETAILS_GATES = "Every decision gate: the Phase 0 check, the criteria, the guide's cost expectations, the A/A control";

const TERMINAL_TAIL = [
    "--- Placement effect ---",
    "",
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
    `--- ${DETAILS_GATES} ---`,
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
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
    "",
    "The guide's cost expectations: uring against bun (informational) [same core: server on CPU 0, client on CPU 0]",
    "measure              scenario    bun  uring  change  expected      status",
    "-------------------  --------  -----  -----  ------  ------------  -----------",
    "CPU per request, µs  1: 100B   20.00  13.00  -35.0%  -25% to -40%  as expected",
    INFO_NOTE,
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
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
    "",
    "The guide's cost expectations: uring against bun (informational) [cross-core: server on CPU 0, client on CPU 1]",
    "measure              scenario    bun  uring  change  expected      status",
    "-------------------  --------  -----  -----  ------  ------------  -----------",
    "CPU per request, µs  1: 100B   20.00  13.00  -35.0%  -25% to -40%  as expected",
    INFO_NOTE,
    "",
    "Verdict (uring vs bun): PROCEED. the cross-core run passes. [cross]",
  ].join("\n");

const MARKDOWN_TAIL = [
    "<details><summary>Placement effect</summary>",
    "",
    "#### Placement effect: scenario 1 p50, cross against same (µs)",
    "",
    "| size | backend | cross | same | cross / same |",
    "|:---|:---|---:|---:|---:|",
    "| 100B | bun | 50.0 | 25.0 | 2.00 |",
    "| 100B | uring | 40.0 | 20.0 | 2.00 |",
    "",
    "On virtual machines a wake-up across cores can cost more than the rest of the round trip; compare the verdicts of both placements before concluding.",
    "",
    "</details>",
    "",
    "#### Warnings",
    "",
    "- CPU frequency scaling is on; consider the performance governor",
    "",
    `<details><summary>${DETAILS_GATES}</summary>`,
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
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
    "",
    "#### The guide's cost expectations: uring against bun (informational) [same core: server on CPU 0, client on CPU 0]",
    "",
    "| measure | scenario | bun | uring | change | expected | status |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| CPU per request, µs | 1: 100B | 20.00 | 13.00 | -35.0% | -25% to -40% | as expected |",
    "",
    INFO_NOTE,
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
    "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
    "",
    "#### The guide's cost expectations: uring against bun (informational) [cross-core: server on CPU 0, client on CPU 1]",
    "",
    "| measure | scenario | bun | uring | change | expected | status |",
    "|:---|:---|---:|---:|---:|:---|:---|",
    "| CPU per request, µs | 1: 100B | 20.00 | 13.00 | -35.0% | -25% to -40% | as expected |",
    "",
    INFO_NOTE,
    "",
    "</details>",
    "",
    "**Verdict (uring vs bun, cross): PROCEED.** the cross-core run passes.",
  ].join("\n");

describe("document", () => {
  test("blocks in order: the first page (title in markdown, context, verdicts, headline gate, summary), then the folded parts, warnings, the headline verdict last", () => {
    const doc = buildReport(RESULTS);
    const kind = (b: Block): string => (b.kind === "details" ? `details(${b.blocks.map(kind).join(",")})` : b.only ? `${b.kind}:${b.only}` : b.kind);
    expect(doc.firstPage).toBe(6);
    expect(doc.blocks.map(kind)).toEqual([
      "heading:markdown", "text", "verdict", "verdict", "table", "table",
      "details(context,definitions:terminal)",
      "heading", "details(table)",
      "heading", "details(table)",
      "details(table)", "warnings",
      "details(table,table,table,verdict,table,table,table)", "verdict",
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

const TERMINAL_FIRST_PAGE = [
  "Test CPU, 4 cores; Linux 6.1.0; Bun 1.4.5; 2026-01-01T00:00:00.000Z.",
  "cross-core: server on CPU 0, client on CPU 1, then same core: server on CPU 0, client on CPU 0. Relative figures are against bun.",
  "",
  "Verdict (uring vs bun): PROCEED. the cross-core run passes. [cross]",
  "",
  "Verdict (uring vs bun): INCONCLUSIVE. the same-core run is not settled. [same]",
  "",
  "Decision gate: uring vs bun (improvement, %)",
  "id  criterion                 threshold  improvement          95% CI  status  note",
  "--  ------------------------  ---------  -----------  --------------  ------  --------",
  "C1  Single ping-pong latency       > 10        +12.5  [+11.0, +14.0]  PASS    3 rounds",
  "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
  "",
  "Every backend at a glance: bun's figure, the others against it",
  "backend                 1 p50 µs",
  "--------------  ----------------",
  "bun (baseline)              50.0",
  "uring           0.80 (0.78–0.82)",
  "bun: median over rounds of the p50 latency (lower is better) or the completed messages per second (higher is better; k thousand, M million).",
  "vs bun: paired round by round as the gates pair them (stalled rounds left out), the geometric mean of the per-round ratios; with 2-4 rounds, the lowest and highest ratio in parentheses instead: too few rounds for an interval. Below 1.00 is faster for latency, above 1.00 for throughput.",
  "1: Single ping-pong latency. Every table follows below.",
].join("\n");

describe("both placements", () => {
  test("terminal: the first page, exact text, then the machine and backends, placement headings, effect, warnings, gates and verdicts", () => {
    const t = renderTerminalReport(RESULTS);
    expect(renderTerminalReport(RESULTS, { firstPageOnly: true })).toBe(TERMINAL_FIRST_PAGE);
    expect(t.startsWith(`${TERMINAL_FIRST_PAGE}\n\n--- The machine and the backends ---\n\nmachine   Test CPU, 4 cores, host test\n`)).toBe(true);
    expect(t).toContain("backends\n  bun      Bun.listen\n  uring    UNAVAILABLE: io_uring disabled. Hint: sysctl kernel.io_uring_disabled=0\n\n=== Placement: cross-core: server on CPU 0, client on CPU 1 ===\n\n--- Scenario tables [cross-core: server on CPU 0, client on CPU 1] ---\n\nScenario 1:");
    expect(t).toContain("\n\n=== Placement: same core: server on CPU 0, client on CPU 0 ===\n\n--- Scenario tables [same core: server on CPU 0, client on CPU 0] ---\n\nScenario 1:");
    expect(t).not.toContain("iouring-bench results");
    expect(t.endsWith(`\n\n${TERMINAL_TAIL}`)).toBe(true);
  });

  test("markdown: title, context lines, verdicts, gate and summary tables, then folded parts, warnings, gates and verdicts, exact text", () => {
    const md = renderMarkdownReport(RESULTS);
    const first = renderMarkdownReport(RESULTS, { firstPageOnly: true });
    expect(first).toBe(
      [
        "### iouring-bench results",
        "",
        "Test CPU, 4 cores; Linux 6.1.0; Bun 1.4.5; 2026-01-01T00:00:00.000Z.  ",
        "cross-core: server on CPU 0, client on CPU 1, then same core: server on CPU 0, client on CPU 0. Relative figures are against bun.",
        "",
        "**Verdict (uring vs bun, cross): PROCEED.** the cross-core run passes.",
        "",
        "**Verdict (uring vs bun, same): INCONCLUSIVE.** the same-core run is not settled.",
        "",
        "#### Decision gate: uring vs bun (improvement, %)",
        "",
        "| id | criterion | threshold | improvement | 95% CI | status | note |",
        "|:---|:---|---:|---:|---:|:---|:---|",
        "| C1 | Single ping-pong latency | > 10 | +12.5 | [+11.0, +14.0] | PASS | 3 rounds |",
        "",
        "Improvement: positive means uring is better than bun. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.",
        "",
        "#### Every backend at a glance: bun's figure, the others against it",
        "",
        "| backend | 1 p50 µs |",
        "|:---|---:|",
        "| bun (baseline) | 50.0 |",
        "| uring | 0.80 (0.78–0.82) |",
        "",
        "bun: median over rounds of the p50 latency (lower is better) or the completed messages per second (higher is better; k thousand, M million).",
        "vs bun: paired round by round as the gates pair them (stalled rounds left out), the geometric mean of the per-round ratios; with 2-4 rounds, the lowest and highest ratio in parentheses instead: too few rounds for an interval. Below 1.00 is faster for latency, above 1.00 for throughput.",
        "1: Single ping-pong latency. Every table follows below.",
        "",
      ].join("\n"),
    );
    expect(md.startsWith(`${first}\n<details><summary>The machine and the backends</summary>\n\n| | |\n|:---|:---|\n| machine | Test CPU, 4 cores, host test |\n`)).toBe(true);
    expect(md).toContain("\n\n#### Placement: same core: server on CPU 0, client on CPU 0\n\n<details><summary>Scenario tables [same core: server on CPU 0, client on CPU 0]</summary>\n\n#### Scenario 1:");
    expect(md).not.toContain("Bun.listen");
    expect(md.endsWith(`\n\n${MARKDOWN_TAIL}\n`)).toBe(true);
  });

  test("markdown links the pictures: the gates after the headline gate, the latency distributions atop the scenario tables", () => {
    const md = renderMarkdownReport(RESULTS, { pictures: { gates: "bench-x-gates.svg", latency: "bench-x.svg" } });
    expect(md).toContain("PASS.\n\n![Every decision gate: each criterion's improvement and interval against its threshold](bench-x-gates.svg)\n\n#### Every backend at a glance");
    expect(md).toContain("<details><summary>Scenario tables [cross-core: server on CPU 0, client on CPU 1]</summary>\n\n![Latency distributions and ratios to the headline baseline](bench-x.svg)\n\n#### Scenario 1:");
    expect(md.match(/!\[/g)?.length).toBe(2);
    expect(renderTerminalReport(RESULTS, { pictures: { gates: "g.svg" } })).not.toContain("g.svg");
  });
});
