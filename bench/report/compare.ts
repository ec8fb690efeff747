// Two runs compared (`bun run compare OLD.json NEW.json`): what moved between
// an older results file and a newer one, as data first (compareRuns builds a
// Comparison), then tables from it, drawn by terminal.ts's renderTerminal and
// markdown.ts's renderMarkdown like the benchmark's own tables.
//
// The two runs were measured at different moments, so their rounds are
// independent samples, not pairs: a figure's change gets a Welch t interval on
// the logs of the per-round figures (the ratio of the rounds' geometric
// means), not the paired interval the gates use within one run. Both runs'
// rounds may be few, so the t quantile (Welch's fractional degrees of freedom)
// matters; it comes from student-t.ts.
import { placementText, type MachineContext, type Placement } from "../measure/machine.ts";
import { median } from "../stats/stats.ts";
import type { BackendResult, BenchResults, Criterion, Gate, ScenarioResult, VariantResult } from "../results/schema.ts";
import { errorCount } from "../results/errors.ts";
import { roundHeadline } from "../results/summary.ts";
import { COMPARE_CONFIDENCE, welchLogInterval, type WelchLogInterval } from "../stats/welch.ts";
import { compareSweeps, sweepComparisonParts, type SweepComparison } from "./compare-sweep.ts";
import { fmtNum, fmtRate, signed } from "./format.ts";
import type { Block } from "./document.ts";
import { MARKDOWN } from "./markdown.ts";
import { renderBlocks } from "./render.ts";
import { TERMINAL } from "./terminal.ts";
import type { Table } from "./table.ts";

export { COMPARE_CONFIDENCE, welchLogInterval, type WelchLogInterval } from "../stats/welch.ts";

function usable(x: number | undefined | null): x is number {
  return typeof x === "number" && Number.isFinite(x) && x > 0;
}

export type ChangeStatus = "better" | "worse" | "no clear change" | "n/a";

/** One backend in one variant of one scenario, present in both runs. */
export interface FigureChange {
  variant: string;
  backend: string;
  metric: string;
  higherIsBetter: boolean;
  /** Each run's headline (median over its rounds); null when it has none. */
  old: number | null;
  new: number | null;
  /** NEW headline against OLD's, % (new / old - 1); whether up is good is higherIsBetter. */
  changePct: number | null;
  /** Welch interval of the change, % of OLD, from the unstalled rounds; null with fewer than 2 in either run. */
  intervalPct: [number, number] | null;
  welch: WelchLogInterval | null;
  status: ChangeStatus;
  /** Why there is no interval; errors, failures, stalled rounds left out. */
  note: string;
}

/** A backend measured in one run only, in these variants (all: every variant that run has). */
export type OneSided = { backend: string; variants: string[]; all: boolean };

export interface ScenarioChange {
  /** By slug when both runs have one, else by the guide's number (schema 1 has no slug). */
  matchedBy: "slug" | "id";
  id: number;
  slug: string | null;
  name: string;
  figures: FigureChange[];
  onlyOld: OneSided[];
  onlyNew: OneSided[];
}

/** changed: both present and their status differs. */
export type CriterionChange = { id: string; name: string; old: Criterion | null; new: Criterion | null; changed: boolean };

export interface GateChange {
  /** NEW's kind, else OLD's; null when neither has one (schema 1). */
  kind: string | null;
  oldKind: string | null;
  newKind: string | null;
  baseline: string;
  candidate: string;
  oldVerdict: string;
  newVerdict: string;
  verdictChanged: boolean;
  criteria: CriterionChange[];
  /** Each run's `untrusted` mark (its A/A control misbehaved). */
  oldUntrusted?: string;
  newUntrusted?: string;
}

/** A gate's verdict or a criterion's status that is not what it was (item: "verdict" or the criterion). */
export type VerdictChange = { gate: string; item: string; old: string; new: string };
export type ContextDifference = { field: string; old: string; new: string };
/** label: "OLD" or "NEW", the tables' column names; file: where it was read from. */
export type RunInfo = { label: string; file: string | null; schema: string; date: string; gitCommit: string };

export interface Comparison {
  old: RunInfo;
  new: RunInfo;
  confidence: number;
  /** Gate verdicts first, then criteria statuses, in gate order. */
  changedVerdicts: VerdictChange[];
  /** Context fields and settings whose value differs, the usual suspects first. */
  contextDifferences: ContextDifference[];
  scenarios: ScenarioChange[];
  /** Scenarios ("id slug") and gates ("kind baseline → candidate") in one run only. */
  scenariosOnlyOld: string[];
  scenariosOnlyNew: string[];
  gates: GateChange[];
  gatesOnlyOld: string[];
  gatesOnlyNew: string[];
  /** Both runs swept (--sweep): their points and crossovers. */
  sweep: SweepComparison | null;
}

const NA = "n/a";

const runInfo = (r: BenchResults, label: string, file?: string): RunInfo => ({ label, file: file ?? null, schema: r.schema, date: r.context?.date ?? NA, gitCommit: r.context?.gitCommit ?? NA });
/** What a scenario is called in lists: its number and slug (schema 1: its name). */
const scenarioLabel = (s: ScenarioResult) => `${s.id} ${s.slug ?? s.name}`;

/** By slug when both runs have one, else by the guide's number (schema 1 has no slug). */
function sameScenario(o: ScenarioResult, n: ScenarioResult): boolean {
  return o.slug !== undefined && n.slug !== undefined ? o.slug === n.slug : o.id === n.id;
}

const headlineOf = (b: BackendResult, figures: number[]) => (usable(b.headline) ? b.headline : figures.length ? median(figures) : null);
const errorsOf = (b: BackendResult) => (b.errors ? errorCount(b.errors) : 0);

/** The per-round figures an interval may use: rounds a stall did not hit, with a usable figure. */
function roundFigures(b: BackendResult, higherIsBetter: boolean): { figures: number[]; stalled: number } {
  const rounds = b.rounds ?? [];
  const kept = rounds.filter((r) => !r.stalled);
  return { figures: kept.map((r) => roundHeadline(r, higherIsBetter)).filter(usable), stalled: rounds.length - kept.length };
}

function figureChange(v: VariantResult, oldB: BackendResult, newB: BackendResult, confidence: number): FigureChange {
  const o = roundFigures(oldB, v.higherIsBetter);
  const n = roundFigures(newB, v.higherIsBetter);
  const old = headlineOf(oldB, o.figures);
  const neu = headlineOf(newB, n.figures);
  const notes: string[] = [];
  if (oldB.failure) notes.push(`failed in OLD: ${oldB.failure}`);
  if (newB.failure) notes.push(`failed in NEW: ${newB.failure}`);
  const failed = Boolean(oldB.failure || newB.failure);
  const welch = failed ? null : welchLogInterval(o.figures, n.figures, confidence);
  if (!failed && !welch) notes.push(`no interval: ${o.figures.length} usable round(s) in OLD, ${n.figures.length} in NEW (needs 2 in each)`);
  const [eo, en] = [errorsOf(oldB), errorsOf(newB)];
  if (eo || en) notes.push(`errors: ${eo} in OLD, ${en} in NEW`);
  if (o.stalled || n.stalled) notes.push(`stalled rounds left out: ${o.stalled} in OLD, ${n.stalled} in NEW`);
  // better/worse only when the whole interval is on one side of 0 (of a log-ratio of 0).
  const [up, down] = [welch !== null && welch.loLog > 0, welch !== null && welch.hiLog < 0];
  const status: ChangeStatus = !welch ? NA : up || down ? (up === v.higherIsBetter ? "better" : "worse") : "no clear change";
  const intervalPct: [number, number] | null = welch ? [Math.expm1(welch.loLog) * 100, Math.expm1(welch.hiLog) * 100] : null;
  const { key: variant, metric, higherIsBetter } = v;
  const changePct = old !== null && neu !== null ? (neu / old - 1) * 100 : null;
  return { variant, backend: oldB.backend, metric, higherIsBetter, old, new: neu, changePct, intervalPct, welch, status, note: notes.join("; ") };
}

/** [variant, backend] pairs grouped by backend, in first-seen order. */
function oneSided(pairs: [string, string][], variantCount: number): OneSided[] {
  const by = new Map<string, string[]>();
  for (const [v, b] of pairs) by.set(b, [...(by.get(b) ?? []), v]);
  return [...by].map(([backend, variants]) => ({ backend, variants, all: variants.length === variantCount }));
}

function scenarioChange(os: ScenarioResult, ns: ScenarioResult, confidence: number): ScenarioChange {
  const oldVariants = os.variants ?? [];
  const newVariants = ns.variants ?? [];
  const figures: FigureChange[] = [];
  const onlyOld: [string, string][] = [];
  const onlyNew: [string, string][] = [];
  for (const nv of newVariants) {
    const ov = oldVariants.find((v) => v.key === nv.key);
    for (const nb of nv.backends) {
      const ob = ov?.backends.find((b) => b.backend === nb.backend);
      if (ob) figures.push(figureChange(nv, ob, nb, confidence));
      else onlyNew.push([nv.key, nb.backend]);
    }
  }
  for (const ov of oldVariants) {
    const nv = newVariants.find((v) => v.key === ov.key);
    for (const ob of ov.backends) if (!nv?.backends.some((b) => b.backend === ob.backend)) onlyOld.push([ov.key, ob.backend]);
  }
  const matchedBy = os.slug !== undefined && ns.slug !== undefined ? "slug" : "id";
  const [fromOld, fromNew] = [oneSided(onlyOld, oldVariants.length), oneSided(onlyNew, newVariants.length)];
  return { matchedBy, id: ns.id, slug: ns.slug ?? os.slug ?? null, name: ns.name, figures, onlyOld: fromOld, onlyNew: fromNew };
}

/** Every gate of a run: `gates` when present (the headline among them), else the single `gate`. */
const gatesOf = (r: BenchResults): Gate[] => (r.gates?.length ? r.gates : r.gate ? [r.gate] : []);

const gateName = (g: { kind?: string | null; baseline: string; candidate: string }) => `${g.kind ?? "gate"} ${g.baseline} → ${g.candidate}`;

/** Same pair, and the same kind when both runs record one (schema 1 does not). */
function sameGate(a: Gate, b: Gate): boolean {
  return a.baseline === b.baseline && a.candidate === b.candidate && (a.kind === undefined || b.kind === undefined || a.kind === b.kind);
}

function gateChange(og: Gate, ng: Gate): GateChange {
  const criteria: CriterionChange[] = [];
  for (const nc of ng.criteria ?? []) {
    const oc = (og.criteria ?? []).find((c) => c.id === nc.id) ?? null;
    criteria.push({ id: nc.id, name: nc.name, old: oc, new: nc, changed: oc !== null && oc.status !== nc.status });
  }
  for (const oc of og.criteria ?? []) if (!criteria.some((c) => c.id === oc.id)) criteria.push({ id: oc.id, name: oc.name, old: oc, new: null, changed: false });
  const [oldKind, newKind] = [og.kind ?? null, ng.kind ?? null];
  const untrusted = { ...(og.untrusted ? { oldUntrusted: og.untrusted } : {}), ...(ng.untrusted ? { newUntrusted: ng.untrusted } : {}) };
  const { baseline, candidate } = ng;
  return { kind: newKind ?? oldKind, oldKind, newKind, baseline, candidate, oldVerdict: og.verdict, newVerdict: ng.verdict, verdictChanged: og.verdict !== ng.verdict, criteria, ...untrusted };
}

/** One-to-one matches in NEW's order; what is left over is in one run only. */
function matchAll<T>(olds: T[], news: T[], same: (o: T, n: T) => boolean): { pairs: [T, T][]; onlyOld: T[]; onlyNew: T[] } {
  const left = [...olds];
  const pairs: [T, T][] = [];
  const onlyNew: T[] = [];
  for (const n of news) {
    const i = left.findIndex((o) => same(o, n));
    if (i < 0) onlyNew.push(n);
    else pairs.push([left.splice(i, 1)[0], n]);
  }
  return { pairs, onlyOld: left, onlyNew };
}

/** The context fields that most often explain a change, listed first in this order; any other that differs follows. */
const KEY_FIELDS = ["kernel", "liburing", "cpuModel", "cores", "virtualized", "bun", "cpuIdle.driver", "cpuIdle.governor", "cpuIdle.pmQos", "cpuIdle.requested", "placement", "gitCommit"];

function show(x: unknown): string {
  if (x === undefined) return NA;
  if (x === null) return "none";
  if (Array.isArray(x) && x.length === 0) return "(none)";
  if (Array.isArray(x)) return x.every((e) => typeof e !== "object" || e === null) ? x.join(" ") : JSON.stringify(x);
  return typeof x === "object" ? JSON.stringify(x) : String(x);
}

/** Dotted paths to leaves (arrays are leaves), e.g. "cpuIdle.driver". */
function flatten(obj: object | undefined, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, `${prefix}${k}.`, out);
    else out.set(`${prefix}${k}`, v);
  }
  return out;
}

function differences(o: Map<string, unknown>, n: Map<string, unknown>, keys: string[]): ContextDifference[] {
  return keys.map((field) => ({ field, old: show(o.get(field)), new: show(n.get(field)) })).filter((d) => d.old !== d.new);
}

/** Context fields (the date aside, which the header shows), settings and placements run that differ; a field one run lacks is n/a. */
export function contextDifferences(oldR: BenchResults, newR: BenchResults): ContextDifference[] {
  // The placement as the report words it; cpuIdle keeps its parts, so that a changed governor is its own row.
  const ctx = (r: BenchResults) => {
    const { date: _date, placement, cpuIdle, ...rest } = (r.context ?? {}) as Partial<MachineContext>;
    return flatten({ ...rest, cpuIdle: cpuIdle ?? { driver: undefined, governor: undefined, pmQos: undefined, requested: undefined }, placement: placement ? placementText(placement as Placement) : undefined });
  };
  const [oc, nc] = [ctx(oldR), ctx(newR)];
  const others = [...new Set([...oc.keys(), ...nc.keys()])].filter((k) => !KEY_FIELDS.includes(k)).sort();
  // A group of fields one run does not record at all (a newer schema's) is one row, not one per field.
  const top = (k: string) => k.split(".")[0];
  const [oTop, nTop] = [new Set([...oc.keys()].map(top)), new Set([...nc.keys()].map(top))];
  const oneRun = [...new Set(others.map(top))].filter((t) => oTop.has(t) !== nTop.has(t) && others.filter((k) => top(k) === t).length > 1);
  const recorded = (has: boolean, t: string) => (has ? `recorded (${others.filter((k) => top(k) === t).length} fields)` : NA);
  const out = [...(oldR.schema !== newR.schema ? [{ field: "schema", old: oldR.schema, new: newR.schema }] : []), ...differences(oc, nc, [...KEY_FIELDS, ...others.filter((k) => !oneRun.includes(top(k)))])];
  out.push(...oneRun.map((t) => ({ field: t, old: recorded(oTop.has(t), t), new: recorded(nTop.has(t), t) })));
  // The settings: other rounds or iterations move figures too. Settings that
  // one run does not record at all (schema 1 against 2) get one row, not one each.
  const [os, ns] = [flatten(oldR.config, "config."), flatten(newR.config, "config.")];
  out.push(...differences(os, ns, [...os.keys()].filter((k) => ns.has(k)).sort()));
  const oneSide = (a: Map<string, unknown>, b: Map<string, unknown>) => [...a.keys()].filter((k) => !b.has(k)).map((k) => k.slice("config.".length)).join(" ") || "-";
  if ([...os.keys(), ...ns.keys()].some((k) => !os.has(k) || !ns.has(k))) out.push({ field: "config (settings recorded in one run only)", old: oneSide(os, ns), new: oneSide(ns, os) });
  const shape = (r: BenchResults) => (r.placements?.length ? r.placements.map((p) => `${p.placement.mode}/${p.cpuIdle ?? NA}`).join(", ") : undefined);
  out.push(...differences(new Map([["placements run", shape(oldR)]]), new Map([["placements run", shape(newR)]]), ["placements run"]));
  return out;
}

/** Compares two results files' data: NEW (newR) against OLD (oldR); `files` only names them in the report. */
export function compareRuns(oldR: BenchResults, newR: BenchResults, files: { old?: string; new?: string } = {}, confidence = COMPARE_CONFIDENCE): Comparison {
  const sc = matchAll(oldR.scenarios ?? [], newR.scenarios ?? [], sameScenario);
  const gm = matchAll(gatesOf(oldR), gatesOf(newR), sameGate);
  const gates = gm.pairs.map(([o, n]) => gateChange(o, n));
  const changedVerdicts: VerdictChange[] = [
    ...gates.filter((g) => g.verdictChanged).map((g) => ({ gate: gateName(g), item: "verdict", old: g.oldVerdict, new: g.newVerdict })),
    ...gates.flatMap((g) => g.criteria.filter((c) => c.changed).map((c) => ({ gate: gateName(g), item: `${c.id} ${c.name}`, old: c.old!.status, new: c.new!.status }))),
  ];
  return {
    old: runInfo(oldR, "OLD", files.old),
    new: runInfo(newR, "NEW", files.new),
    confidence,
    changedVerdicts,
    contextDifferences: contextDifferences(oldR, newR),
    scenarios: sc.pairs.map(([o, n]) => scenarioChange(o, n, confidence)),
    scenariosOnlyOld: sc.onlyOld.map(scenarioLabel),
    scenariosOnlyNew: sc.onlyNew.map(scenarioLabel),
    gates,
    gatesOnlyOld: gm.onlyOld.map(gateName),
    gatesOnlyNew: gm.onlyNew.map(gateName),
    sweep: compareSweeps(oldR.sweep, newR.sweep, confidence),
  };
}

const pct = (x: number) => `${signed(x)}%`;
const left = (name: string) => ({ name, align: "left" as const });
const confText = (c: number) => `${+(c * 100).toFixed(1)}%`;

export function changedVerdictsTable(c: Comparison): Table {
  return {
    title: "Verdicts that changed",
    columns: [left("gate"), left("what"), left(c.old.label), left(c.new.label)],
    rows: c.changedVerdicts.map((v) => [v.gate, v.item, v.old, v.new]),
  };
}

export function contextTable(c: Comparison): Table {
  return {
    title: "Context that differs (a change here can explain a change in the figures)",
    columns: [left("field"), left(c.old.label), left(c.new.label)],
    rows: c.contextDifferences.map((d) => [d.field, d.old, d.new]),
  };
}

export function figuresTable(s: ScenarioChange, c: Comparison): Table {
  const metrics = [...new Set(s.figures.map((f) => `${f.metric}, ${f.higherIsBetter ? "higher" : "lower"} is better`))];
  const fmt = (f: FigureChange, x: number | null) => (x === null ? NA : f.metric.includes("/s") ? fmtRate(x) : fmtNum(x, 1));
  return {
    title: `Scenario ${s.id} (${s.slug ?? s.name}): ${metrics.join("; ")}`,
    columns: [left("variant"), left("backend"), { name: c.old.label }, { name: c.new.label }, { name: "change" }, { name: `${confText(c.confidence)} interval` }, left("status"), { name: "rounds" }, left("note")],
    rows: s.figures.map((f) => {
      const interval = f.intervalPct ? `[${pct(f.intervalPct[0])}, ${pct(f.intervalPct[1])}]` : NA;
      const change = f.changePct === null ? NA : pct(f.changePct);
      return [f.variant, f.backend, fmt(f, f.old), fmt(f, f.new), change, interval, f.status, f.welch ? `${f.welch.nOld}/${f.welch.nNew}` : NA, f.note];
    }),
  };
}

function improvementCell(cr: Criterion | null): string {
  if (!cr) return "absent";
  if (cr.improvement_pct === null || !Number.isFinite(cr.improvement_pct)) return NA;
  const ci = cr.ci && cr.ci.every(Number.isFinite) ? ` [${signed(cr.ci[0])}, ${signed(cr.ci[1])}]` : "";
  const conf = cr.confidence !== undefined && cr.confidence !== COMPARE_CONFIDENCE && ci ? ` at ${confText(cr.confidence)}` : "";
  return `${pct(cr.improvement_pct)}${ci}${conf}`;
}

export function gateChangeTable(g: GateChange, c: Comparison): Table {
  const verdict = g.verdictChanged ? `${g.oldVerdict} → ${g.newVerdict} (changed)` : `${g.newVerdict} in both`;
  const notes: string[] = [];
  if (g.oldKind !== g.newKind) notes.push(`Kind: ${g.oldKind ?? NA} in ${c.old.label}, ${g.newKind ?? NA} in ${c.new.label}.`);
  if (g.oldUntrusted) notes.push(`${c.old.label} marked this gate untrusted: ${g.oldUntrusted}`);
  if (g.newUntrusted) notes.push(`${c.new.label} marked this gate untrusted: ${g.newUntrusted}`);
  return {
    title: `Gate ${gateName(g)}: ${verdict}`,
    columns: [left("criterion"), left(`${c.old.label} status`), left(`${c.new.label} status`), { name: `${c.old.label} improvement` }, { name: `${c.new.label} improvement` }, left("changed")],
    rows: g.criteria.map((cr) => [`${cr.id} ${cr.name}`, cr.old?.status ?? "absent", cr.new?.status ?? "absent", improvementCell(cr.old), improvementCell(cr.new), cr.changed ? "yes" : ""]),
    ...(notes.length ? { notes } : {}),
  };
}

/** A part of the comparison: a table, or lines of text (a table with no rows says so in one line). */
type Section = { table: Table } | { lines: string[] };

/** The comparison as report blocks, drawn by the same walk and formats as the benchmark's report (render.ts). */
export function comparisonBlocks(c: Comparison): Block[] {
  return comparisonSections(c).map((s): Block => ("table" in s ? { kind: "table", table: s.table } : { kind: "text", lines: s.lines }));
}

/** In order: the runs, the verdicts that changed, the context that differs, the figures, every gate. */
function comparisonSections(c: Comparison): Section[] {
  const run = (r: RunInfo) => `${r.label} ${r.file ?? "(data)"}: ${r.schema}, ${r.date}, commit ${r.gitCommit}`;
  const out: Section[] = [{ lines: [run(c.old), run(c.new)] }];
  out.push(c.changedVerdicts.length ? { table: changedVerdictsTable(c) } : { lines: ["Verdicts that changed: none (every gate verdict and criterion status in both runs is the same)."] });
  out.push(c.contextDifferences.length ? { table: contextTable(c) } : { lines: ["Context that differs: nothing but the date."] });
  out.push(...c.scenarios.filter((s) => s.figures.length).map((s) => ({ table: figuresTable(s, c) })));
  const sided = (xs: OneSided[]) => xs.map((x) => (x.all ? x.backend : `${x.backend} (${x.variants.join(", ")})`)).join(", ");
  const only = [
    ...(c.scenariosOnlyOld.length ? [`Scenarios only in ${c.old.label}: ${c.scenariosOnlyOld.join(", ")}.`] : []),
    ...(c.scenariosOnlyNew.length ? [`Scenarios only in ${c.new.label}: ${c.scenariosOnlyNew.join(", ")}.`] : []),
    ...c.scenarios.flatMap((s) => [
      ...(s.onlyOld.length ? [`Scenario ${s.id}, measured only in ${c.old.label}: ${sided(s.onlyOld)}.`] : []),
      ...(s.onlyNew.length ? [`Scenario ${s.id}, measured only in ${c.new.label}: ${sided(s.onlyNew)}.`] : []),
    ]),
  ];
  out.push({
    lines: [
      `change: ${c.new.label}'s headline (median over its rounds) against ${c.old.label}'s. Interval: ${confText(c.confidence)} Welch t interval on the logs of the per-round figures (p50 latency or throughput; stalled rounds left out), i.e. on the ratio of the rounds' geometric means; the two runs' rounds are independent, not paired. better/worse: the whole interval is on one side of 0, else no clear change. Each interval stands alone: among 20 rows without a real change, about one is expected to look changed.`,
      ...only,
    ],
  });
  if (c.sweep) {
    const parts = sweepComparisonParts(c.sweep, { old: c.old.label, new: c.new.label }, c.confidence);
    out.push(...parts.tables.map((table) => ({ table })), { lines: parts.lines });
  }
  out.push(...c.gates.map((g) => ({ table: gateChangeTable(g, c) })));
  const gatesOnly = [
    ...(c.gates.length ? [] : ["No gate is in both runs."]),
    ...(c.gatesOnlyOld.length ? [`Gates only in ${c.old.label}: ${c.gatesOnlyOld.join(", ")}.`] : []),
    ...(c.gatesOnlyNew.length ? [`Gates only in ${c.new.label}: ${c.gatesOnlyNew.join(", ")}.`] : []),
  ];
  if (gatesOnly.length) out.push({ lines: gatesOnly });
  return out;
}

/** For the terminal: blocks separated by a blank line, no final newline. */
export function renderComparisonTerminal(c: Comparison): string {
  return renderBlocks(comparisonBlocks(c), TERMINAL);
}

/** GitHub markdown: a title, the tables under #### headings, text as lines; ends with a newline. */
export function renderComparisonMarkdown(c: Comparison): string {
  return `${renderBlocks([{ kind: "heading", level: 3, text: "iouring-bench: two runs compared" }, ...comparisonBlocks(c)], MARKDOWN)}\n`;
}
