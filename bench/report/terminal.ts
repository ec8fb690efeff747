// The report for the terminal: aligned columns, plain headings, the verdict
// as a plain line; nothing folds (a details block is its summary as a heading,
// then its blocks).
import type { Block, ReportDocument } from "./document.ts";
import { PLAIN_VERDICT, verdictLine } from "./gate-tables.ts";
import type { Table } from "./table.ts";

export function renderTerminal(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.name.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((cell, i) => (t.columns[i].align === "left" ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const lines = [t.title, fmt(t.columns.map((c) => c.name)), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of t.rows) lines.push(fmt(r));
  for (const n of t.notes ?? []) lines.push(n);
  return lines.join("\n");
}

function renderBlock(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `=== ${b.text} ===`;
    case "context":
    case "status":
      return b.lines.join("\n");
    case "definitions":
      return [b.title, ...b.items.map(([k, v]) => `  ${k.padEnd(8)} ${v}`)].join("\n");
    case "table":
      return renderTerminal(b.table);
    case "warnings":
      return ["warnings:", ...b.items.map((w) => `  - ${w}`)].join("\n");
    case "verdict":
      return verdictLine(b.gate, PLAIN_VERDICT, b.placement);
    case "text":
      return b.lines.join("\n");
    case "image":
      return `${b.alt}: ${b.src}`;
    case "details":
      return [`--- ${b.summary} ---`, renderTerminalBlocks(b.blocks)].join("\n\n");
  }
}

function renderTerminalBlocks(blocks: Block[]): string {
  return blocks
    .filter((b) => b.only === undefined || b.only === "terminal")
    .map(renderBlock)
    .join("\n\n");
}

/** Blocks separated by a blank line, no final newline (console.log adds it); the first page only, or all. */
export function renderTerminalDocument(doc: ReportDocument, firstPageOnly = false): string {
  return renderTerminalBlocks(firstPageOnly ? doc.blocks.slice(0, doc.firstPage ?? doc.blocks.length) : doc.blocks);
}
