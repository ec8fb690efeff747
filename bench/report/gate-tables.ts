// The decision gate's tables (the gate, the Phase 0 check, the guide's cost
// expectations) and the verdict line, written by verdictLine alone.
import type { Criterion, Gate } from "../results/schema.ts";
import { CHANGE_FLOOR, changeCell, fmtNum, signed } from "./format.ts";
import type { Table } from "./table.ts";

function improvementCells(c: Criterion): [string, string] {
  return [c.improvement_pct === null ? "n/a" : signed(c.improvement_pct), c.ci ? `[${signed(c.ci[0])}, ${signed(c.ci[1])}]` : "n/a"];
}

/** The confidence of a gate's intervals, as a column name: "95% CI", or "98.3% CI" for a share of 95% over several looks. */
export function intervalName(g: Gate): string {
  const conf = g.criteria.find((c) => c.confidence !== undefined)?.confidence;
  return conf === undefined ? "95% CI" : `${(conf * 100).toFixed(conf >= 0.9995 ? 2 : 1).replace(/\.0+$/, "")}% CI`;
}

/** A criterion's status as shown: fragile and untrusted marks beside PASS/FAIL. */
export function statusCell(c: Criterion): string {
  const marks = [...(c.fragile ? ["fragile"] : []), ...(c.untrusted ? ["untrusted"] : [])];
  return marks.length ? `${c.status} (${marks.join(", ")})` : c.status;
}

/** What more rounds could do for an undecided criterion, in words. */
export function undecidedText(c: Criterion): string {
  const u = c.undecided;
  if (!u) return "";
  const resolve = u.resolvable_pct === null ? "" : `; ${u.max_rounds} rounds (this run's most) resolve about ±${u.resolvable_pct.toFixed(1)}% around the threshold`;
  if (u.too_noisy) return `too noisy for this machine: even ${u.max_rounds} rounds could not tell no gain from the threshold${resolve}`;
  if (u.rounds_to_settle === null) return `undecided: the estimate sits too close to the threshold for more rounds to settle it${resolve}`;
  return `undecided: about ${u.rounds_to_settle} paired rounds would likely settle it (likely ${u.likely})${resolve}`;
}

/** The decision gate: one row per criterion. The A/A control has its own table (controlTable). */
export function gateTable(g: Gate): Table {
  if (g.kind === "control") return controlTable(g);
  const ci = intervalName(g);
  const method = g.method ? ` Intervals: ${g.method}.` : "";
  return {
    title: `Decision gate: ${g.candidate} vs ${g.baseline} (improvement, %)`,
    columns: [
      { name: "id", align: "left" },
      { name: "criterion", align: "left" },
      { name: "threshold" },
      { name: "improvement" },
      { name: ci },
      { name: "status", align: "left" },
      { name: "note", align: "left", wide: true },
    ],
    rows: g.criteria.map((c) => [c.id, c.name, `> ${c.threshold_pct}`, ...improvementCells(c), statusCell(c), [c.note, undecidedText(c), c.untrusted ? `untrusted: ${c.untrusted}` : ""].filter(Boolean).join("; ")]),
    notes: [
      ...(g.kind === "headline" && g.why ? [`The headline gate: ${g.why}.`] : []),
      `Improvement: positive means ${g.candidate} is better than ${g.baseline}. PASS: the whole ${ci.replace(" CI", "")} interval is above the threshold; FAIL: the whole interval is below it (the note says whether the candidate is worse or only not better by enough); fragile: with one round left out the interval would reach the threshold (decided, by a margin one round carries). INCONCLUSIVE: the interval spans the threshold; the note says how many rounds would likely settle it, or that this machine is too noisy for it. CLIENT-BOUND: the load client was the limit in most rounds, so the figure is the client's: not counted. The guide proceeds on 2 or more PASS.${method}`,
    ],
  };
}

/** The A/A control: each criterion's difference between two instances of one server against its margin. */
export function controlTable(g: Gate): Table {
  return {
    title: `A/A control: ${g.candidate} vs ${g.baseline}, the same server twice (difference, %)`,
    columns: [
      { name: "id", align: "left" },
      { name: "criterion", align: "left" },
      { name: "margin" },
      { name: "difference" },
      { name: intervalName(g) },
      { name: "state", align: "left" },
      { name: "note", align: "left", wide: true },
    ],
    rows: g.criteria.map((c) => [c.id, c.name, c.margin_pct === undefined ? "n/a" : `±${c.margin_pct}`, ...improvementCells(c), c.control ?? c.status.toLowerCase(), c.note]),
    notes: [
      "Two instances of one server measured like any pair; difference: positive when the second did better. The question is whether they differ by little enough not to matter, not whether they differ at all: equivalent, the whole interval inside ±margin (a quarter of the criterion's threshold); uninformative, the interval reaches past the margin (more rounds would settle it; nothing is marked); drifted, the whole interval outside (or the control passed): the machine alone made a difference that large, and that criterion is marked untrusted in this run's gates.",
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
      { name: "note", align: "left", wide: true },
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

/** The verdict line of a gate: "Verdict (candidate vs baseline): VERDICT. reason"; the A/A control's: its state. */
export function verdictLine(g: Gate, style: VerdictStyle, placement?: string): string {
  const who = `${g.candidate} vs ${g.baseline}${placement && style.placementInHead ? `, ${placement}` : ""}`;
  let line: string;
  if (g.kind === "control") {
    // Not a verdict: a check of the machine, in words (DRIFTED stands out; equivalent and uninformative do not).
    const state = g.verdict === "DRIFTED" ? "DRIFTED" : g.verdict.toLowerCase();
    line = `${style.strong(`A/A control (${who}): ${state}.`)} ${cap(g.reason)}`;
  } else {
    const trust = g.trusted === false ? ` NOT TO BE TRUSTED on ${g.criteria.filter((c) => c.untrusted).map((c) => c.id).join(", ")}: ${g.untrusted}.` : "";
    line = `${style.strong(`Verdict (${who}): ${g.verdict}.`)} ${g.reason}${trust}`;
  }
  return placement && !style.placementInHead ? `${line} [${placement}]` : line;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function verdictText(g: Gate): string {
  return verdictLine(g, PLAIN_VERDICT);
}
