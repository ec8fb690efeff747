// One walk over a report's blocks for every format (hyperfine's markup.rs):
// the walk decides which blocks a format shows and in what order; a format
// only says how each kind of block looks (terminal.ts, markdown.ts). Adding
// a format is one object of this shape; adding a kind of block is one method
// in each format, and the compiler lists the formats that lack it.
import type { Gate } from "../results/schema.ts";
import type { Block, Format, ReportDocument } from "./document.ts";
import type { Table } from "./table.ts";

export interface BlockFormat {
  name: Format;
  heading(level: 3 | 4, text: string): string;
  /** The machine context, one "key   value" line each. */
  context(lines: string[]): string;
  definitions(title: string, items: [string, string][]): string;
  table(t: Table): string;
  status(lines: string[]): string;
  warnings(items: string[]): string;
  verdict(gate: Gate, placement?: string): string;
  text(lines: string[]): string;
  image(alt: string, src: string): string;
  /** A folded part: its summary and the blocks inside it, already rendered. */
  details(summary: string, inner: string): string;
  /** Between two blocks. */
  separator: string;
  /** After the last block of a whole document. */
  end: string;
}

function renderBlock(b: Block, f: BlockFormat): string {
  switch (b.kind) {
    case "heading":
      return f.heading(b.level, b.text);
    case "context":
      return f.context(b.lines);
    case "definitions":
      return f.definitions(b.title, b.items);
    case "table":
      return f.table(b.table);
    case "status":
      return f.status(b.lines);
    case "warnings":
      return f.warnings(b.items);
    case "verdict":
      return f.verdict(b.gate, b.placement);
    case "text":
      return f.text(b.lines);
    case "image":
      return f.image(b.alt, b.src);
    case "details":
      return f.details(b.summary, renderBlocks(b.blocks, f));
  }
}

/** The blocks this format shows, rendered and separated; no final separator. */
export function renderBlocks(blocks: Block[], f: BlockFormat): string {
  return blocks
    .filter((b) => b.only === undefined || b.only === f.name)
    .map((b) => renderBlock(b, f))
    .filter(Boolean)
    .join(f.separator);
}

/** A whole document (or its first page only), ended as the format ends one. */
export function renderDocument(doc: ReportDocument, f: BlockFormat, firstPageOnly = false): string {
  return `${renderBlocks(firstPageOnly ? doc.blocks.slice(0, doc.firstPage ?? doc.blocks.length) : doc.blocks, f)}${f.end}`;
}
