// The verdict as a picture (forest.ts), the near-zero change helper, and the
// first page's summary table.
import { describe, expect, test } from "bun:test";
import { forestGates, forestScale, gatesForestSvg, STATUS_COLORS } from "../bench/report/forest.ts";
import { changeCell } from "../bench/report/format.ts";
import { informationalTable } from "../bench/report/gate-tables.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";
import type { BenchResults, Criterion, Gate } from "../bench/results/schema.ts";
import { checkXml } from "./xml-check.ts";

const crit = (id: string, status: Criterion["status"], imp: number | null, ci: [number, number] | null, threshold = 10, note = ""): Criterion => ({
  id,
  name: `criterion ${id}`,
  metric: "m",
  threshold_pct: threshold,
  improvement_pct: imp,
  ci,
  status,
  note,
});
const ctl = (id: string, state: "equivalent" | "uninformative" | "drifted", imp: number, ci: [number, number], margin = 2.5): Criterion => ({
  ...crit(id, state.toUpperCase() as Criterion["status"], imp, ci, margin * 4),
  control: state,
  margin_pct: margin,
});

const HEADLINE: Gate = {
  kind: "headline",
  baseline: "tokio",
  candidate: "c-uring",
  verdict: "INCONCLUSIVE",
  reason: "r",
  trusted: true,
  criteria: [
    crit("C1", "PASS", 20, [15, 25]),
    crit("C2", "FAIL", -5, [-8, -2], 15),
    crit("C3", "INCONCLUSIVE", 12, [5, 19], 15),
    crit("C4", "NOT EVALUATED", null, null, 20, "scenario 6 was not run"),
  ],
};
const PAIR: Gate = { kind: "pair", baseline: "bun", candidate: "uring", verdict: "DO NOT PROCEED", reason: "r", trusted: true, criteria: [crit("C1", "CLIENT-BOUND", -40, [-400, 60]), crit("C2", "INVALID", null, null, 15, "errors in uring")] };
const CONTROL: Gate = { kind: "control", baseline: "tokio", candidate: "tokio#2", verdict: "UNINFORMATIVE", reason: "r", trusted: true, criteria: [ctl("C1", "equivalent", 0.5, [-1, 2]), ctl("C2", "uninformative", -1, [-5, 3], 3.75)] };

const results = { gate: HEADLINE, gates: [HEADLINE, CONTROL, PAIR] } as unknown as BenchResults;

describe("forest plot of the gates", () => {
  const gates = forestGates(results);
  const svg = gatesForestSvg(gates);

  test("the headline first, the pairs, the A/A control last and labelled as such", () => {
    expect(gates.map((g) => g.title)).toEqual([
      "Headline gate: c-uring vs tokio: INCONCLUSIVE",
      "Gate: uring vs bun: DO NOT PROCEED",
      "A/A control: tokio#2 vs tokio, the same server twice: uninformative (shaded: the margin)",
    ]);
    for (const g of gates) expect(svg).toContain(`font-weight="bold">${g.title}</text>`);
    expect(svg.match(/<g class="gate control">/g)?.length).toBe(1);
  });

  test("well-formed standalone SVG", () => {
    expect(checkXml(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(checkXml(gatesForestSvg([]))).toEqual([]);
  });

  test("a row per criterion coloured by status, its interval, estimate and status as text", () => {
    const rows = [...svg.matchAll(/<g class="criterion" fill="([^"]*)">([\s\S]*?)<\/g>/g)];
    expect(rows.length).toBe(8);
    expect(rows.map((r) => r[1])).toEqual(
      (["PASS", "FAIL", "INCONCLUSIVE", "NOT EVALUATED", "CLIENT-BOUND", "INVALID", "EQUIVALENT", "UNINFORMATIVE"] as const).map((s) => STATUS_COLORS[s]),
    );
    expect(new Set(Object.values(STATUS_COLORS)).size).toBe(9);
    // The control is never drawn in FAIL's colour.
    expect([STATUS_COLORS.EQUIVALENT, STATUS_COLORS.UNINFORMATIVE, STATUS_COLORS.DRIFTED]).not.toContain(STATUS_COLORS.FAIL);
    expect(svg).toContain(">+20.0 [+15.0, +25.0] PASS</text>");
    expect(svg).toContain(">-5.0 [-8.0, -2.0] FAIL</text>");
    expect(svg).toContain(">NOT EVALUATED</text>");
    expect(svg).toContain(">scenario 6 was not run</text>");
    expect(svg.match(/class="interval"/g)?.length).toBe(6);
    expect(svg.match(/class="estimate"/g)?.length).toBe(6);
    // -400 is beyond the ±100 drawn: an arrow at the left edge says so.
    expect(svg.match(/class="clipped"/g)?.length).toBe(1);
  });

  test("thresholds as ticks, the control's margins as bands, 0 as a reference line, on one scale for every gate", () => {
    const { lo, hi } = forestScale(gates.map((g) => g.gate));
    expect([lo, hi]).toEqual([-100, 100]);
    const sx = (x: number) => 260 + ((x - lo) / (hi - lo)) * (640 - 260);
    const thresholds = [...svg.matchAll(/<line class="threshold" x1="([^"]*)"/g)].map((m) => Number(m[1]));
    expect(thresholds.length).toBe(6);
    expect(thresholds[0]).toBeCloseTo(sx(10), 1);
    expect(thresholds[1]).toBeCloseTo(sx(15), 1);
    const margins = [...svg.matchAll(/<rect class="margin" x="([^"]*)" y="[^"]*" width="([^"]*)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(margins.length).toBe(2);
    expect(Math.abs(margins[0][0] - sx(-2.5))).toBeLessThanOrEqual(0.06);
    expect(Math.abs(margins[0][0] + margins[0][1] - sx(2.5))).toBeLessThanOrEqual(0.11);
    expect(Math.abs(margins[1][0] - sx(-3.75))).toBeLessThanOrEqual(0.06);
    const zero = svg.match(/<line class="zero" x1="([^"]*)"/)!;
    expect(Number(zero[1])).toBeCloseTo(sx(0), 1);
    for (const s of Object.keys(STATUS_COLORS)) expect(svg).toContain(`>${s}</text>`);
  });

  test("a drifted control: the gates it marks say so, the control says what it is", () => {
    const bad = { gate: { ...HEADLINE, trusted: false, untrusted: "x" }, gates: [{ ...CONTROL, verdict: "DRIFTED", criteria: [ctl("C1", "drifted", 4, [3, 5])] }] } as unknown as BenchResults;
    expect(forestGates(bad).map((g) => g.title)).toEqual([
      "Headline gate: c-uring vs tokio: INCONCLUSIVE (NOT TO BE TRUSTED on some criteria)",
      "A/A control: tokio#2 vs tokio, the same server twice: drifted (shaded: the margin)",
    ]);
    expect(gatesForestSvg(forestGates(bad))).toContain(`fill="${STATUS_COLORS.DRIFTED}"`);
  });
});

describe("changes of figures near zero", () => {
  test("a percentage, or — when the baseline is below the floor, n/a when missing", () => {
    expect(changeCell(1.0, 0.6, -40)).toBe("-40.0%");
    expect(changeCell(0.0009, 0.0058, 547.9)).toBe("—");
    expect(changeCell(0.04, 1.2, 2900)).toBe("—");
    expect(changeCell(0.05, 0.06, 20)).toBe("+20.0%");
    expect(changeCell(null, 1, null)).toBe("n/a");
    expect(changeCell(0.2, 0.3, 50, 0.5)).toBe("—");
  });

  test("the cost expectations table: — and no status read from it, the floor stated in the note", () => {
    const g: Gate = {
      ...HEADLINE,
      informational: [
        { name: "context switches per request", scenario: "6: stress", baseline_value: 0.0009, candidate_value: 0.0058, change_pct: 547.9, expected: "30-50% fewer", status: "opposite" },
        { name: "CPU per request, µs", scenario: "6: stress", baseline_value: 0.72, candidate_value: 0.9, change_pct: 25.2, expected: "25-40% less", status: "opposite" },
      ],
    };
    expect(renderMarkdown(informationalTable(g)!)).toBe(
      [
        "#### The guide's cost expectations: c-uring against tokio (informational)",
        "",
        "| measure | scenario | tokio | c-uring | change | expected | status |",
        "|:---|:---|---:|---:|---:|:---|:---|",
        "| context switches per request | 6: stress | 0.00 | 0.01 | — | 30-50% fewer | n/a (too near zero) |",
        "| CPU per request, µs | 6: stress | 0.72 | 0.90 | +25.2% | 25-40% less | opposite |",
        "",
        "Per request. Change: c-uring against tokio; — when tokio's figure is below 0.05 per request, too near zero for a percentage to mean anything.",
      ].join("\n"),
    );
  });
});
