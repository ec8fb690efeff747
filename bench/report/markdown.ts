// The report as GitHub-flavoured markdown: one unit per table, `|` escaped in
// cells, #### headings, the verdict's head in bold, the parts of the full
// report folded in <details>.
import type { Block, ReportDocument } from "./document.ts";
import { verdictLine, type VerdictStyle } from "./gate-tables.ts";
import { renderBlocks, renderDocument, type BlockFormat } from "./render.ts";
import type { Table } from "./table.ts";

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

const MARKDOWN_VERDICT: VerdictStyle = { strong: (s) => `**${s}**`, placementInHead: true };

function escapeHtml(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
}

export const MARKDOWN: BlockFormat = {
  name: "markdown",
  heading: (level, text) => `${"#".repeat(level)} ${text}`,
  // A two-column table: the line's first word, then the rest.
  context: (lines) =>
    [
      "| | |",
      "|:---|:---|",
      ...lines.map((l) => {
        const [k, ...rest] = l.split(/\s+/);
        return `| ${k} | ${escapeMarkdown(rest.join(" "))} |`;
      }),
    ].join("\n"),
  definitions: (title, items) => [`#### ${title}`, "", ...items.map(([k, v]) => `- ${k}: ${v}`)].join("\n"),
  table: (t) => renderMarkdown(t),
  status: (lines) => lines.map((l) => `- ${l}`).join("\n"),
  warnings: (items) => ["#### Warnings", "", ...items.map((w) => `- ${w}`)].join("\n"),
  verdict: (gate, placement) => verdictLine(gate, MARKDOWN_VERDICT, placement),
  text: (lines) => lines.join("  \n"),
  image: (alt, src) => `![${alt.replace(/[[\]]/g, "")}](${encodeURI(src)})`,
  // The blank lines let GitHub render the markdown inside the HTML block.
  details: (summary, inner) => [`<details><summary>${escapeHtml(summary)}</summary>`, inner, "</details>"].join("\n\n"),
  separator: "\n\n",
  end: "\n",
};

/** Blocks separated by a blank line, without a final newline. */
export function renderMarkdownBlocks(blocks: Block[]): string {
  return renderBlocks(blocks, MARKDOWN);
}

/** The whole document (or its first page only), ending with a newline. */
export function renderMarkdownDocument(doc: ReportDocument, firstPageOnly = false): string {
  return renderDocument(doc, MARKDOWN, firstPageOnly);
}
