// The decision gate's tables (the gate, the Phase 0 check, the guide's cost
// expectations) and the verdict line, written by verdictLine alone.
import type { Criterion, Gate } from "../results/schema.ts";
import { CHANGE_FLOOR, changeCell, fmtNum, signed } from "./format.ts";
import type { Table } from "./table.ts";

function improvementCells(c: Criterion): [string, string] {
  return [c.improvement_pct === null ? "n/a" : signed(c.improvement_pct), c.ci95 ? `[${signed(c.ci95[0])}, ${signed(c.ci95[1])}]` : "n/a"];
}

/** The confidence of a gate's intervals, as a column name: "95% CI", or "98.3% CI" for a share of 95% over several looks. */
export function intervalName(g: Gate): string {
  const conf = g.criteria.find((c) => c.confidence !== undefined)?.confidence;
  return conf === undefined ? "95% CI" : `${(conf * 100).toFixed(conf >= 0.9995 ? 2 : 1).replace(/\.0+$/, "")}% CI`;
}

/** The decision gate: one row per criterion. */
export function gateTable(g: Gate): Table {
  const control = g.kind === "control";
  const ci = intervalName(g);
  const method = g.method ? ` Intervals: ${g.method}.` : "";
  return {
    title: control
      ? `A/A control: ${g.candidate} vs ${g.baseline}, the same server twice (improvement, %)`
      : `Decision gate: ${g.candidate} vs ${g.baseline} (improvement, %)`,
    columns: [
      { name: "id", align: "left" },
      { name: "criterion", align: "left" },
      { name: "threshold" },
      { name: "improvement" },
      { name: ci },
      { name: "status", align: "left" },
      { name: "note", align: "left" },
    ],
    rows: g.criteria.map((c) => [c.id, c.name, `> ${c.threshold_pct}`, ...improvementCells(c), c.status, c.note]),
    notes: [
      control
        ? `Two instances of one server, measured like any pair: no criterion may PASS and every interval should cover 0. When one does not, the machine alone makes differences that large, and every verdict of this run is marked not to be trusted.${method}`
        : `Improvement: positive means ${g.candidate} is better than ${g.baseline}. PASS: the whole ${ci.replace(" CI", "")} interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); INCONCLUSIVE: the interval spans it; NOT ASSESSABLE: its rounds varied by more than the threshold. The guide proceeds on 2 or more PASS.${method}`,
    ],
  };
}

/** The guide's Phase 0 check: the epoll server against the baseline, expected 15-30% better. */
export function phase0Table(g: Gate): Table | undefined {
  const p = g.phase0;
  if (!p) return undefined;
  const [lo, hi] = p.expected_pct;
  return {
    title: `Phase 0 check: ${p.backend} vs ${g.baseline} (improvement, %)`,
    columns: [
      { name: "id", align: "left" },
      { name: "metric", align: "left" },
      { name: "expected" },
      { name: "improvement" },
      { name: intervalName(g) },
      { name: "status", align: "left" },
      { name: "note", align: "left" },
    ],
    rows: p.rows.map((c) => [c.id, c.name, `${lo}-${hi}`, ...improvementCells(c), c.status, c.note]),
    notes: [`The guide expects a non-blocking epoll server to be ${lo}-${hi}% better than the current implementation. Status is against ${lo}%: PASS when the whole interval is above it.`],
  };
}

/** The guide's per-request cost expectations for one gate, informational. */
export function informationalTable(g: Gate): Table | undefined {
  if (!g.informational?.length) return undefined;
  return {
    title: `The guide's cost expectations: ${g.candidate} against ${g.baseline} (informational)`,
    columns: [{ name: "measure", align: "left" }, { name: "scenario", align: "left" }, { name: g.baseline }, { name: g.candidate }, { name: "change" }, { name: "expected", align: "left" }, { name: "status", align: "left" }],
    rows: g.informational.map((x) => {
      const change = changeCell(x.baseline_value, x.candidate_value, x.change_pct);
      return [
        x.name,
        x.scenario,
        x.baseline_value === null ? "n/a" : fmtNum(x.baseline_value, 2),
        x.candidate_value === null ? "n/a" : fmtNum(x.candidate_value, 2),
        change,
        x.expected,
        // A status read from a percentage that means nothing would contradict the —.
        change === "—" ? "n/a (too near zero)" : x.status,
      ];
    }),
    notes: [`Per request. Change: ${g.candidate} against ${g.baseline}; — when ${g.baseline}'s figure is below ${CHANGE_FLOOR} per request, too near zero for a percentage to mean anything.`],
  };
}

/** How a format sets the verdict line: the emphasis of its head, and where the placement goes. */
export interface VerdictStyle {
  strong: (head: string) => string;
  /** In the head, "(uring vs bun, cross)", rather than after the reason, "... [cross]". */
  placementInHead: boolean;
}

export const PLAIN_VERDICT: VerdictStyle = { strong: (s) => s, placementInHead: false };

/** The verdict line of a gate: "Verdict (candidate vs baseline): VERDICT. reason". */
export function verdictLine(g: Gate, style: VerdictStyle, placement?: string): string {
  const who = `${g.candidate} vs ${g.baseline}${placement && style.placementInHead ? `, ${placement}` : ""}`;
  const control = g.kind === "control";
  const head = control ? `A/A control (${who})` : `Verdict (${who})`;
  const trust = control
    ? g.untrusted
      ? " The machine FAILED its A/A check: no verdict of this run is to be trusted."
      : " The machine passed its A/A check: no criterion passed and every interval covers 0."
    : g.untrusted
      ? ` NOT TO BE TRUSTED: ${g.untrusted}.`
      : "";
  const line = `${style.strong(`${head}: ${g.verdict}.`)} ${g.reason}${trust}`;
  return placement && !style.placementInHead ? `${line} [${placement}]` : line;
}

export function verdictText(g: Gate): string {
  return verdictLine(g, PLAIN_VERDICT);
}
