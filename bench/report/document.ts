// The report as data: one walk over BenchResults decides what is shown and in
// what order, as a list of blocks; terminal.ts and markdown.ts only decide how
// each block looks. Order: machine context, backends, per placement the
// scenario tables, the scenarios that did not run, the cost tables (the
// micro-benchmarks and the guide's claims after the last placement), then the
// placement effect, the warnings, and the gates with their verdicts, the
// headline verdict last.
import { contextLines, placementText, type Placement } from "../measure/machine.ts";
import type { BenchResults, Gate } from "../results/schema.ts";
import { costsTable, placementEffectTable, twinTable } from "./cost-tables.ts";
import { gateTable, informationalTable, phase0Table } from "./gate-tables.ts";
import { claimsToTable, microTable } from "./micro-claims-tables.ts";
import { roundsTable } from "./run-tables.ts";
import { scenarioTables } from "./scenario-tables.ts";
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
);

export interface ReportDocument {
  blocks: Block[];
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

export function buildReport(r: BenchResults): ReportDocument {
  const blocks: Block[] = [
    { kind: "heading", level: 3, text: REPORT_TITLE, only: "markdown" },
    { kind: "context", lines: contextLines(r.context) },
    {
      kind: "definitions",
      title: "backends",
      items: r.backends.map((b) => [b.name, b.available ? b.description : `UNAVAILABLE: ${b.reason}. Hint: ${b.hint}`]),
      only: "terminal",
    },
  ];
  const views = placementViews(r);
  // Every placement's gates, the first placement's last: its headline verdict ends the report.
  const gates: Block[][] = [];
  views.forEach(({ placement, view }, i) => {
    if (placement) blocks.push({ kind: "heading", level: 4, text: `Placement: ${placementText(placement)}` });
    blocks.push(...scenarioTables(view).map(tableBlock));
    const status = scenarioStatusLines(view);
    if (status.length) blocks.push({ kind: "status", lines: status });
    blocks.push(...costTables(view, i === views.length - 1).map(tableBlock));
    const rounds = roundsTable(view);
    if (rounds) blocks.push(tableBlock(rounds));
    gates.unshift(gatesInOrder(view).flatMap((g) => gateBlocks(g, g === view.gate, placement)));
  });
  const effect = placementEffectTable(r);
  if (effect) blocks.push(tableBlock(effect));
  if (r.warnings.length) blocks.push({ kind: "warnings", items: r.warnings });
  blocks.push(...gates.flat());
  return { blocks };
}
