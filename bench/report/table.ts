// A table as data, rendered for the terminal (aligned columns) or as
// GitHub-flavoured markdown (one unit per table, `|` escaped in cells).

export interface Table {
  title: string;
  columns: { name: string; align?: "left" | "right" }[];
  rows: string[][];
  /** Lines printed under the table (units, what the relative column means). */
  notes?: string[];
}

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

export function escapeMarkdown(cell: string): string {
  return cell.replace(/\|/g, "\\|");
}

export function renderMarkdown(t: Table, headingLevel = 4): string {
  const lines = [`${"#".repeat(headingLevel)} ${t.title}`, ""];
  lines.push(`| ${t.columns.map((c) => escapeMarkdown(c.name)).join(" | ")} |`);
  lines.push(`|${t.columns.map((c) => (c.align === "left" ? ":---" : "---:")).join("|")}|`);
  for (const r of t.rows) lines.push(`| ${r.map(escapeMarkdown).join(" | ")} |`);
  if (t.notes?.length) {
    lines.push("");
    for (const n of t.notes) lines.push(n);
  }
  return lines.join("\n");
}
