// Renders BenchResults (the JSON) for the terminal and as markdown: the
// entry points. document.ts builds the report once from the results;
// terminal.ts and markdown.ts render it.
import type { BenchResults, Gate } from "../results/schema.ts";
import { buildReport, gateBlocks, type ReportPictures } from "./document.ts";
import { renderMarkdownBlocks, renderMarkdownDocument } from "./markdown.ts";
import { renderTerminalDocument } from "./terminal.ts";

export { buildReport, scenarioStatusLines, shortContext, type Block, type ReportDocument, type ReportPictures } from "./document.ts";
export { forestGates, gatesForestSvg } from "./forest.ts";
export { summaryTable } from "./summary-table.ts";
export { C_TWINS, costsTable, placementEffectTable, twinTable } from "./cost-tables.ts";
export { extraOf, fmtNum, fmtRate, fmtRatio } from "./format.ts";
export { gateTable, informationalTable, phase0Table, verdictLine, verdictText } from "./gate-tables.ts";
export { sweepChartSvg, sweepChartsSvg } from "./sweep-chart.ts";
export { capacityTable, crossoverTable, fmtRateCompact, idleTable, sweepComboTables, sweepCombos, sweepTables } from "./sweep-tables.ts";
export { CLAIMS_TITLE, claimsToTable, microTable } from "./micro-claims-tables.ts";
export {
  connectionTable,
  GUIDE_NETWORK_SHARE,
  latencyTable,
  openLoopTable,
  overheadTable,
  scenarioTables,
  tablesForScenario,
  throughputTable,
} from "./scenario-tables.ts";

export interface RenderOptions {
  /** Only the first page: the context, the verdicts, the headline gate, the A/A control and the summary table. */
  firstPageOnly?: boolean;
  /** Pictures the markdown links, relative to where it is written. */
  pictures?: ReportPictures;
}

export function renderTerminalReport(r: BenchResults, opts: RenderOptions = {}): string {
  return renderTerminalDocument(buildReport(r), opts.firstPageOnly);
}

export function renderMarkdownReport(r: BenchResults, opts: RenderOptions = {}): string {
  return renderMarkdownDocument(buildReport(r, opts.pictures), opts.firstPageOnly);
}

/** The gate as markdown: Phase 0 table (for the headline gate), gate table, the guide's cost expectations and the verdict. */
export function renderGateMarkdown(g: Gate, headline = true): string {
  return renderMarkdownBlocks(gateBlocks(g, headline));
}
