// The report as data: one walk over BenchResults decides what is shown and in
// what order, as a list of blocks; terminal.ts and markdown.ts only decide how
// each block looks. The first page answers the question: a line of context,
// the headline verdict, the headline gate's table (and, in markdown, the
// forest plot of every gate), the A/A control's one line, and one table of
// every backend's headline figure per scenario. The full report follows: the
// machine context and backends, per placement the scenario tables, the
// scenarios that did not run, the cost tables (the micro-benchmarks and the
// guide's claims after the last placement) and how the rounds went, then the
// placement effect, the ladder, the connection sweep (its crossover, charts
// and tables), the capacity at a p99 target and the idle connections, the
// warnings, and every gate with its verdict, the headline verdict last. A
// sweep-only run (bench --sweep) has no verdict: its first page is the
// crossover and the capacity instead. In markdown each part of the full
// report folds (<details>); the terminal shows everything.
import { contextLines, placementText, type Placement } from "../measure/machine.ts";
import type { BenchResults, CoreScalingResults, Gate } from "../results/schema.ts";
import { warningText } from "../results/warnings.ts";
import { costsTable, placementEffectTable, twinTable } from "./cost-tables.ts";
import { gateTable, informationalTable, phase0Table } from "./gate-tables.ts";
import { ladderTable } from "./ladder-table.ts";
import { claimsToTable, microTable } from "./micro-claims-tables.ts";
import { roundsTable } from "./run-tables.ts";
import { scenarioTables } from "./scenario-tables.ts";
import { summaryTable } from "./summary-table.ts";
import { CORE_SCALING_TITLE, coreScalingTable, NO_VERDICT_CORES } from "./core-scaling.ts";
import { capacityTable, capacityTitle, crossoverTable, IDLE_TITLE, idleTable, sweepComboTables, sweepCombos, SWEEP_TITLE } from "./sweep-tables.ts";
import type { Table } from "./table.ts";

export type Format = "terminal" | "markdown";

export type Block = {
  /** Shown in this format only (e.g. the title in markdown, the backend list on the terminal). */
  only?: Format;
} & (
  | { kind: "heading"; level: 3 | 4; text: string }
  /** The machine context, one "key   value" line each (contextLines). */
  | { kind: "context"; lines: string[] }
  /** Named items under a title, e.g. each backend and what it is. */
  | { kind: "definitions"; title: string; items: [string, string][] }
  | { kind: "table"; table: Table }
  /** One line per scenario that failed, was skipped or carries a note. */
  | { kind: "status"; lines: string[] }
  | { kind: "warnings"; items: string[] }
  /** A gate's verdict; placement (its mode) when the run had several. */
  | { kind: "verdict"; gate: Gate; placement?: string }
  /** Plain lines of prose. */
  | { kind: "text"; lines: string[] }
  /** A picture beside the report (a file name relative to where the markdown is written). */
  | { kind: "image"; alt: string; src: string }
  /** Blocks under a summary: folded in markdown (<details>), a heading then the blocks on the terminal. */
  | { kind: "details"; summary: string; blocks: Block[] }
);

export interface ReportDocument {
  blocks: Block[];
  /** How many of the blocks make the first page (the answer); all of them when absent. */
  firstPage?: number;
}

/** Pictures written beside the report, as the markdown should link them. */
export interface ReportPictures {
  /** The forest plot of the gates (bench-<stamp>-gates.svg). */
  gates?: string;
  /** The latency distributions (bench-<stamp>.svg). */
  latency?: string;
  /** The connection sweep's charts, one per window and payload (sweepChartSvg). */
  sweep?: { window: number; payload: number; src: string }[];
  /** The core-scaling sweep's chart (bench-<stamp>-cores.svg). */
  cores?: string;
}

export const REPORT_TITLE = "iouring-bench results";

/** One line per scenario that failed, was skipped or carries a note. */
export function scenarioStatusLines(r: BenchResults): string[] {
  return r.scenarios
    .filter((s) => s.status !== "ok" || s.variants.length === 0)
    .map((s) => `Scenario ${s.id} (${s.name}): ${s.status}${s.note ? `: ${s.note}` : ""}`);
}

/** Gates in report order: the extra pairs first, then the A/A control, the headline gate (and its verdict) last. */
function gatesInOrder(r: BenchResults): Gate[] {
  if (!r.gate) return [];
  const others = (r.gates ?? []).filter((g) => !(g.baseline === r.gate!.baseline && g.candidate === r.gate!.candidate));
  return [...others.filter((g) => g.kind !== "control"), ...others.filter((g) => g.kind === "control"), r.gate];
}

/** Each placement's results as a BenchResults view (one element without --placement both). */
function placementViews(r: BenchResults): { placement?: Placement; view: BenchResults }[] {
  if (!r.placements || r.placements.length < 2) return [{ view: r }];
  return r.placements.map((p) => ({
    placement: p.placement,
    view: { ...r, scenarios: p.scenarios, gate: p.gate, gates: p.gates, context: { ...r.context, placement: p.placement }, placements: undefined },
  }));
}

function costTables(r: BenchResults, withMicroAndClaims: boolean): Table[] {
  const out = r.scenarios.map(costsTable).filter((t): t is Table => t !== undefined);
  const twins = twinTable(r);
  if (twins) out.push(twins);
  if (withMicroAndClaims && r.micro) out.push(microTable(r.micro));
  if (withMicroAndClaims && r.claims?.length) out.push(claimsToTable(r.claims));
  return out;
}

const tableBlock = (table: Table): Block => ({ kind: "table", table });

/**
 * A gate's tables (the Phase 0 check for the headline gate, the criteria, the
 * guide's cost expectations) and its verdict; with a placement, the tables'
 * titles and the verdict name it.
 */
export function gateBlocks(g: Gate, headline: boolean, placement?: Placement): Block[] {
  const p0 = headline ? phase0Table(g) : undefined;
  const info = informationalTable(g);
  const tables = [...(p0 ? [p0] : []), gateTable(g), ...(info ? [info] : [])];
  const suffix = placement ? ` [${placementText(placement)}]` : "";
  return [
    ...tables.map((t) => tableBlock(suffix ? { ...t, title: `${t.title}${suffix}` } : t)),
    { kind: "verdict", gate: g, placement: placement?.mode },
  ];
}

/** What was asked of idle CPUs and whether it was held: "poll (PM QoS held at 0)", "poll requested but NOT held (EACCES ...)". */
function idleText(i: NonNullable<BenchResults["context"]["cpuIdle"]>): string {
  if (!i.requested.includes("poll")) return i.requested;
  if (i.pmQos.startsWith("held")) return `${i.requested} (PM QoS ${i.pmQos})`;
  return `${i.requested} requested but NOT held (${i.pmQos.replace(/^not held: /, "")})`;
}

/** The first page's context: the machine in one line, where it ran in another. */
export function shortContext(r: BenchResults): string[] {
  const c = r.context;
  const runs = r.placements && r.placements.length > 1 ? r.placements.map((p) => placementText(p.placement)).join(", then ") : placementText(c.placement);
  return [
    `${c.cpuModel}, ${c.cores} cores${c.virtualized ? ", virtual machine" : ""}; Linux ${c.kernel}; Bun ${c.bun}; ${c.date}.`,
    `${runs}${c.cpuIdle ? `; idle CPUs: ${idleText(c.cpuIdle)}` : ""}. Relative figures are against ${r.baseline}.`,
  ];
}

/** A `bench --sweep` run without the scenarios: it has no verdict to give, so its first page is the crossover and the capacity. */
const sweepOnly = (r: BenchResults) => r.scenarios.length === 0 && r.sweep !== undefined;

export const NO_VERDICT_LINE = "No verdict: this run measured the connection sweep only; the decision gate needs the scenarios (--scenarios all).";

/** A `bench --sweep-cores` run without the scenarios or the connection sweep: its first page is the scaling table. */
const coresOnly = (r: BenchResults) => r.scenarios.length === 0 && r.sweep === undefined && r.core_scaling !== undefined;

function coreScalingBlocks(c: CoreScalingResults, pictures: ReportPictures): Block[] {
  const image: Block[] = pictures.cores ? [{ kind: "image", alt: "Throughput against server cores, a line per thread-per-core backend", src: pictures.cores, only: "markdown" }] : [];
  return [...image, tableBlock(coreScalingTable(c))];
}

function firstPage(r: BenchResults, pictures: ReportPictures): Block[] {
  const blocks: Block[] = [{ kind: "heading", level: 3, text: REPORT_TITLE, only: "markdown" }, { kind: "text", lines: shortContext(r) }];
  if (coresOnly(r)) {
    blocks.push({ kind: "text", lines: [NO_VERDICT_CORES] }, ...coreScalingBlocks(r.core_scaling!, pictures));
    return blocks;
  }
  if (sweepOnly(r)) {
    blocks.push({ kind: "text", lines: [NO_VERDICT_LINE] }, tableBlock(crossoverTable(r.sweep!)));
    if (r.capacity?.length) blocks.push(tableBlock(capacityTable(r.capacity)));
    return blocks;
  }
  const views = placementViews(r);
  for (const { placement, view } of views) if (view.gate) blocks.push({ kind: "verdict", gate: view.gate, placement: placement?.mode });
  if (r.gate) blocks.push(tableBlock(gateTable(r.gate)));
  if (pictures.gates) blocks.push({ kind: "image", alt: "Every decision gate: each criterion's improvement and interval against its threshold", src: pictures.gates, only: "markdown" });
  for (const { placement, view } of views) {
    const control = (view.gates ?? []).find((g) => g.kind === "control");
    if (control) blocks.push({ kind: "verdict", gate: control, placement: placement?.mode });
  }
  const summary = summaryTable(r);
  if (summary) blocks.push(tableBlock(summary));
  return blocks;
}

const details = (summary: string, blocks: Block[]): Block[] => (blocks.length ? [{ kind: "details", summary, blocks }] : []);

/**
 * The sweep, the capacity and the idle connections, each folded: the
 * crossover first (unless the first page has it), then per window and
 * payload its chart and tables. A sweep-only run has the capacity table on
 * its first page already.
 */
function sweepBlocks(r: BenchResults, pictures: ReportPictures): Block[] {
  const onFirstPage = sweepOnly(r);
  const out: Block[] = [];
  if (r.sweep) {
    const s = r.sweep;
    const perCombo = sweepCombos(s).flatMap(({ window, payload }): Block[] => {
      const src = pictures.sweep?.find((p) => p.window === window && p.payload === payload)?.src;
      const image: Block[] = src ? [{ kind: "image", alt: `Throughput against connections, window ${window}, ${payload} B payload, with the crossover`, src, only: "markdown" }] : [];
      return [...image, ...sweepComboTables(s, window, payload).map(tableBlock)];
    });
    out.push(...details(SWEEP_TITLE, [...(onFirstPage ? [] : [tableBlock(crossoverTable(s))]), ...perCombo]));
  }
  if (r.capacity?.length && !onFirstPage) out.push(...details(capacityTitle(r.capacity), [tableBlock(capacityTable(r.capacity))]));
  if (r.idle?.length) out.push(...details(IDLE_TITLE, [tableBlock(idleTable(r.idle))]));
  return out;
}

export function buildReport(r: BenchResults, pictures: ReportPictures = {}): ReportDocument {
  const rest: Block[] = [
    ...details("The machine and the backends", [
      { kind: "context", lines: contextLines(r.context) },
      {
        kind: "definitions",
        title: "backends",
        items: r.backends.map((b) => [b.name, b.available ? b.description : `UNAVAILABLE: ${b.reason}. Hint: ${b.hint}`]),
        only: "terminal",
      },
    ]),
  ];
  const views = placementViews(r);
  // Every placement's gates, the first placement's last: its headline verdict ends the report.
  const gates: Block[][] = [];
  views.forEach(({ placement, view }, i) => {
    const suffix = placement ? ` [${placementText(placement)}]` : "";
    if (placement) rest.push({ kind: "heading", level: 4, text: `Placement: ${placementText(placement)}` });
    const status = scenarioStatusLines(view);
    const latency: Block[] = i === 0 && pictures.latency ? [{ kind: "image", alt: "Latency distributions and ratios to the headline baseline", src: pictures.latency, only: "markdown" }] : [];
    rest.push(...details(`Scenario tables${suffix}`, [...latency, ...scenarioTables(view).map(tableBlock), ...(status.length ? [{ kind: "status", lines: status } as Block] : [])]));
    const last = i === views.length - 1;
    rest.push(...details(`Server costs per request${last && (r.micro || r.claims?.length) ? ", micro-benchmarks and the guide's claims" : ""}${suffix}`, costTables(view, last).map(tableBlock)));
    const rounds = roundsTable(view);
    if (rounds) rest.push(...details(`How the rounds went${suffix}`, [tableBlock(rounds)]));
    gates.unshift(gatesInOrder(view).flatMap((g) => gateBlocks(g, g === view.gate, placement)));
  });
  const effect = placementEffectTable(r);
  if (effect) rest.push(...details("Placement effect", [tableBlock(effect)]));
  if (r.ladder) rest.push(...details("What each io_uring feature buys: the ladder", [tableBlock(ladderTable(r.ladder))]));
  rest.push(...sweepBlocks(r, pictures));
  if (r.core_scaling && !coresOnly(r)) rest.push(...details(CORE_SCALING_TITLE, coreScalingBlocks(r.core_scaling, pictures)));
  if (r.warnings.length) rest.push({ kind: "warnings", items: r.warnings.map(warningText) });
  const all = gates.flat();
  // The headline verdict stays outside the fold: the report ends with the answer.
  const headline = all.length && all[all.length - 1].kind === "verdict" ? all.pop() : undefined;
  rest.push(...details("Every decision gate: the Phase 0 check, the criteria, the guide's cost expectations, the A/A control", all));
  if (headline) rest.push(headline);
  const first = firstPage(r, pictures);
  return { blocks: [...first, ...rest], firstPage: first.length };
}
