// Renders BenchResults (the JSON) for the terminal and as markdown: the
// entry points. document.ts builds the report once from the results;
// terminal.ts and markdown.ts render it.
import type { BenchResults, Gate } from "../results/schema.ts";
import { buildReport, gateBlocks } from "./document.ts";
import { renderMarkdownBlocks, renderMarkdownDocument } from "./markdown.ts";
import { renderTerminalDocument } from "./terminal.ts";

export { buildReport, scenarioStatusLines, type Block, type ReportDocument } from "./document.ts";
export { C_TWINS, costsTable, placementEffectTable, twinTable } from "./cost-tables.ts";
export { extraOf, fmtNum, fmtRate, fmtRatio } from "./format.ts";
export { gateTable, informationalTable, phase0Table, verdictLine, verdictText } from "./gate-tables.ts";
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

export function renderTerminalReport(r: BenchResults): string {
  return renderTerminalDocument(buildReport(r));
}

export function renderMarkdownReport(r: BenchResults): string {
  return renderMarkdownDocument(buildReport(r));
}

/** The gate as markdown: Phase 0 table (for the headline gate), gate table, the guide's cost expectations and the verdict. */
export function renderGateMarkdown(g: Gate, headline = true): string {
  return renderMarkdownBlocks(gateBlocks(g, headline));
}
