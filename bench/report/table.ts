// A table as data: the report's tables are built as this and rendered by
// terminal.ts (renderTerminal: aligned columns) or markdown.ts (renderMarkdown:
// GitHub-flavoured markdown, one unit per table, `|` escaped in cells).

export interface Table {
  title: string;
  /** wide: prose (a note) that a terminal too narrow for the table prints under it, row by row, instead of in a column. */
  columns: { name: string; align?: "left" | "right"; wide?: boolean }[];
  rows: string[][];
  /** Lines printed under the table (units, what the relative column means). */
  notes?: string[];
}
