// A table as data: the report's tables are built as this and rendered by
// terminal.ts (renderTerminal: aligned columns) or markdown.ts (renderMarkdown:
// GitHub-flavoured markdown, one unit per table, `|` escaped in cells).

export interface Table {
  title: string;
  columns: { name: string; align?: "left" | "right" }[];
  rows: string[][];
  /** Lines printed under the table (units, what the relative column means). */
  notes?: string[];
}
