// The report for the terminal: aligned columns that fit the terminal (the
// widest text column wraps), plain headings, the verdict as a plain line;
// nothing folds (a details block is its summary as a heading, then its blocks).
import type { ReportDocument } from "./document.ts";
import { PLAIN_VERDICT, verdictLine } from "./gate-tables.ts";
import { renderBlocks, renderDocument, type BlockFormat } from "./render.ts";
import type { Table } from "./table.ts";

/** Columns a terminal table and its notes aim to fit: $COLUMNS when set (at least 80), else 120. */
export function terminalWidth(): number {
  const c = Number(process.env.COLUMNS);
  return Number.isFinite(c) && c >= 80 ? c : 120;
}

/** Words of `text` in lines of at most `width` characters (a longer word stands alone). */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

/** `text` wrapped under a hanging label: the label padded to `indent` on the first line, `indent` spaces before the others. */
export function hanging(label: string, text: string, indent: number, width: number): string[] {
  return wrapText(text, width - indent).map((l, i) => (i ? " ".repeat(indent) : label.padEnd(indent)) + l);
}

const GAP = 2;
/** A figure followed by its interval or range: "1.02 [1.01, 1.04]", "+3.1 (2.9–3.4)". */
const FIGURE_AND_INTERVAL = /^(\S+) ([[(].+[\])])$/;

/** A wrapped column keeps at least this many characters. */
const MIN_WRAPPED = 24;

/** A table in aligned columns; `opts` may be anything (the function is passed to Array.map), only a `width` in it is read. */
export function renderTerminal(t: Table, opts?: { width?: number } | number): string {
  const width = (typeof opts === "object" ? opts?.width : undefined) ?? terminalWidth();
  // Too wide with its prose column: the prose goes under the table, each row's after its first cell.
  const wide = t.columns.findIndex((c) => c.wide);
  if (wide > 0) {
    const full = t.columns.reduce((s, c, i) => s + Math.max(c.name.length, ...t.rows.map((r) => (r[i] ?? "").length)) + GAP, 0);
    if (full > width) {
      const keep = (r: string[]) => r.filter((_, i) => i !== wide);
      const grid = renderTerminal({ ...t, columns: keep(t.columns as never) as unknown as Table["columns"], rows: t.rows.map(keep), notes: [] }, { width });
      const label = Math.max(...t.rows.map((r) => r[0].length)) + 2;
      const prose = t.rows.filter((r) => r[wide]).flatMap((r) => hanging(`${r[0]}:`, r[wide], label, width));
      return [grid, ...(prose.length ? [`${t.columns[wide].name}s:`, ...prose] : []), ...(t.notes ?? []).flatMap((n) => wrapText(n, width))].join("\n");
    }
  }
  const cellWidth = t.columns.map((_, i) => Math.max(0, ...t.rows.map((r) => (r[i] ?? "").length)));
  const widths = t.columns.map((c, i) => Math.max(c.name.length, cellWidth[i]));
  const total = () => widths.reduce((s, w) => s + w, 0) + GAP * (widths.length - 1);
  // Too wide: first the headers longer than their cells go on two lines or more...
  const heads = t.columns.map((c) => [c.name]);
  for (let i = 0; i < widths.length && total() > width; i++) {
    const longestWord = Math.max(...t.columns[i].name.split(" ").map((w) => w.length));
    const w = Math.max(cellWidth[i], longestWord, Math.ceil(t.columns[i].name.length / 3));
    if (w < widths[i]) {
      heads[i] = wrapText(t.columns[i].name, w);
      widths[i] = Math.max(w, ...heads[i].map((l) => l.length));
    }
  }
  // ...then the widest text columns (left-aligned, not the first) wrap, widest first.
  const wrapped = new Set<number>();
  const candidates = t.columns.map((_, i) => i).filter((i) => i > 0 && t.columns[i].align === "left").sort((a, b) => widths[b] - widths[a]);
  // A second pass lets them narrower still (never below a word of their header).
  for (const least of [MIN_WRAPPED, MIN_WRAPPED / 2])
    for (const i of candidates) {
      if (total() <= width) break;
      const target = Math.max(least, ...heads[i].map((l) => l.length), widths[i] - (total() - width));
      if (target < widths[i]) {
        widths[i] = target;
        wrapped.add(i);
      }
    }
  // ...then figures with their intervals ("1.02 [1.01, 1.04]") put the interval under the figure, widest first.
  const split = new Set<number>();
  const parts = (cell: string) => FIGURE_AND_INTERVAL.exec(cell)?.slice(1) ?? [cell];
  const numeric = t.columns.map((_, i) => i).filter((i) => i > 0 && t.columns[i].align !== "left" && t.rows.some((r) => FIGURE_AND_INTERVAL.test(r[i] ?? "")));
  for (const i of numeric.sort((a, b) => widths[b] - widths[a])) {
    if (total() <= width) break;
    const w = Math.max(...heads[i].map((l) => l.length), ...t.rows.flatMap((r) => parts(r[i] ?? "").map((x) => x.length)));
    if (w < widths[i]) {
      widths[i] = w;
      split.add(i);
    }
  }
  const pad = (cell: string, i: number) => (t.columns[i].align === "left" ? cell.padEnd(widths[i]) : cell.padStart(widths[i]));
  const fmt = (cells: string[]) => cells.map(pad).join(" ".repeat(GAP)).trimEnd();
  /** Cells of several lines each as lines of the table; a header's lines sit at the bottom, over the rule. */
  const block = (cells: string[][], bottom: boolean) => {
    const height = Math.max(...cells.map((c) => c.length));
    const at = (c: string[], k: number) => (bottom ? (c[k - (height - c.length)] ?? "") : (c[k] ?? ""));
    return Array.from({ length: height }, (_, k) => fmt(cells.map((c) => at(c, k))));
  };
  const lines = [...wrapText(t.title, width), ...block(heads, true), widths.map((w) => "-".repeat(w)).join(" ".repeat(GAP))];
  for (const r of t.rows) lines.push(...block(t.columns.map((_, i) => (wrapped.has(i) ? wrapText(r[i] ?? "", widths[i]) : split.has(i) ? parts(r[i] ?? "") : [r[i] ?? ""])), false));
  for (const n of t.notes ?? []) lines.push(...wrapText(n, width));
  return lines.join("\n");
}

/** Lines of prose wrapped to the terminal; each wrapped line after the first indented by `indent`. */
function prose(lines: string[], indent = 0): string {
  const width = terminalWidth();
  return lines
    .flatMap((l) => {
      if (l.length <= width) return [l];
      // What fits on the first line stays as written (a context key keeps its padding); the rest wraps under the indent.
      const head = wrapText(l.slice(indent), width - indent);
      return [l.slice(0, indent) + head[0], ...head.slice(1).map((x) => " ".repeat(indent) + x)];
    })
    .join("\n");
}

export const TERMINAL: BlockFormat = {
  name: "terminal",
  heading: (_level, text) => `=== ${text} ===`,
  // "key       value": a wrapped value stays under its column.
  context: (lines) => prose(lines, 10),
  definitions: (title, items) => {
    const key = Math.max(8, ...items.map(([k]) => k.length));
    return [title, prose(items.map(([k, v]) => `  ${k.padEnd(key)} ${v}`), key + 3)].join("\n");
  },
  table: (t) => renderTerminal(t),
  status: (lines) => prose(lines),
  // "  - text", wrapped lines under the text (prose() keeps a line's first columns as its key: not here).
  warnings: (items) => ["warnings:", ...items.map((w) => wrapText(w, terminalWidth() - 6).map((l, i) => (i ? "      " : "  - ") + l).join("\n"))].join("\n"),
  verdict: (gate, placement) => prose([verdictLine(gate, PLAIN_VERDICT, placement)]),
  text: (lines) => prose(lines),
  image: (alt, src) => `${alt}: ${src}`,
  details: (summary, inner) => [`--- ${summary} ---`, inner].join("\n\n"),
  separator: "\n\n",
  // console.log adds the newline.
  end: "",
};

/** Blocks separated by a blank line, no final newline (console.log adds it); the first page only, or all. */
export function renderTerminalDocument(doc: ReportDocument, firstPageOnly = false): string {
  return renderDocument(doc, TERMINAL, firstPageOnly);
}

export { renderBlocks };
