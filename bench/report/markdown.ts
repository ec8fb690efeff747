// The report as GitHub-flavoured markdown: one unit per table, `|` escaped in
// cells, #### headings, the verdict's head in bold, the parts of the full
// report folded in <details>.
import type { Block, ReportDocument } from "./document.ts";
import { verdictLine, type VerdictStyle } from "./gate-tables.ts";
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

function renderBlock(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `${"#".repeat(b.level)} ${b.text}`;
    case "context":
      // A two-column table: the line's first word, then the rest.
      return [
        "| | |",
        "|:---|:---|",
        ...b.lines.map((l) => {
          const [k, ...rest] = l.split(/\s+/);
          return `| ${k} | ${escapeMarkdown(rest.join(" "))} |`;
        }),
      ].join("\n");
    case "definitions":
      return [`#### ${b.title}`, "", ...b.items.map(([k, v]) => `- ${k}: ${v}`)].join("\n");
    case "table":
      return renderMarkdown(b.table);
    case "status":
      return b.lines.map((l) => `- ${l}`).join("\n");
    case "warnings":
      return ["#### Warnings", "", ...b.items.map((w) => `- ${w}`)].join("\n");
    case "verdict":
      return verdictLine(b.gate, MARKDOWN_VERDICT, b.placement);
    case "text":
      return b.lines.join("  \n");
    case "image":
      return `![${b.alt.replace(/[[\]]/g, "")}](${encodeURI(b.src)})`;
    case "details":
      // The blank lines let GitHub render the markdown inside the HTML block.
      return [`<details><summary>${escapeHtml(b.summary)}</summary>`, renderMarkdownBlocks(b.blocks), "</details>"].join("\n\n");
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
}

/** Blocks separated by a blank line, without a final newline. */
export function renderMarkdownBlocks(blocks: Block[]): string {
  return blocks
    .filter((b) => b.only === undefined || b.only === "markdown")
    .map(renderBlock)
    .filter(Boolean)
    .join("\n\n");
}

/** The whole document (or its first page only), ending with a newline. */
export function renderMarkdownDocument(doc: ReportDocument, firstPageOnly = false): string {
  return `${renderMarkdownBlocks(firstPageOnly ? doc.blocks.slice(0, doc.firstPage ?? doc.blocks.length) : doc.blocks)}\n`;
}
