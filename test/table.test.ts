import { expect, test } from "bun:test";
import { renderMarkdown } from "../bench/report/markdown.ts";
import { renderTerminal, wrapText } from "../bench/report/terminal.ts";
import type { Table } from "../bench/report/table.ts";

const t: Table = {
  title: "Scenario 1: x (µs)",
  columns: [{ name: "backend", align: "left" }, { name: "p50" }, { name: "note", align: "left" }],
  rows: [
    ["bun", "10.0", "a|b"],
    ["uring", "9.5", ""],
  ],
  notes: ["Lower is better."],
};

test("markdown: exact text, pipes escaped, alignment row", () => {
  expect(renderMarkdown(t)).toBe(
    ["#### Scenario 1: x (µs)", "", "| backend | p50 | note |", "|:---|---:|:---|", "| bun | 10.0 | a\\|b |", "| uring | 9.5 |  |", "", "Lower is better."].join("\n"),
  );
});

test("terminal: aligned columns", () => {
  expect(renderTerminal(t)).toBe(
    ["Scenario 1: x (µs)", "backend   p50  note", "-------  ----  ----", "bun      10.0  a|b", "uring     9.5", "Lower is better."].join("\n"),
  );
});

test("terminal: a table wider than the terminal wraps its widest text column, and its notes, at word boundaries", () => {
  const wide: Table = {
    title: "Decision gate",
    columns: [{ name: "id", align: "left" }, { name: "improvement" }, { name: "status", align: "left" }, { name: "note", align: "left" }],
    rows: [
      ["C1", "+2.8", "FAIL", "per 10B/100B/1000B: geometric mean of the per-round ratios; 98.3% paired t-interval over 6 rounds; whole interval below 10%: not better by enough"],
      ["C2", "+12.7", "INCONCLUSIVE", "short"],
    ],
    notes: ["Improvement: positive means the candidate is better than the baseline; the whole interval decides, and the note says how many rounds would settle an undecided one."],
  };
  const out = renderTerminal(wide, { width: 80 });
  const lines = out.split("\n");
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  // The note column starts where the header's "note" does on every line of a wrapped row.
  const at = lines[1].indexOf("note");
  const rows = lines.slice(3, -2);
  expect(rows.length).toBeGreaterThan(2);
  for (const l of rows.slice(1)) if (l.startsWith(" ")) expect(l.slice(0, at).trim()).toBe("");
  // Nothing is lost: the words come back in order.
  const noteWords = rows.map((l) => l.slice(at).trim()).join(" ").split(/\s+/);
  expect(noteWords.slice(0, 6)).toEqual(["per", "10B/100B/1000B:", "geometric", "mean", "of", "the"]);
  expect(out).toContain("enough");
  // Wide enough: unchanged.
  expect(renderTerminal(wide, { width: 1000 }).split("\n").length).toBe(6);
});

test("wrapText: words in lines of at most the width; a longer word stands alone", () => {
  expect(wrapText("aa bb cc dd", 5)).toEqual(["aa bb", "cc dd"]);
  expect(wrapText("abcdefgh ij", 4)).toEqual(["abcdefgh", "ij"]);
  expect(wrapText("", 10)).toEqual([""]);
});

test("terminal: too wide with figures and their intervals, each interval goes under its figure; a table that fits is left alone", () => {
  const ratios: Table = {
    title: "ratios",
    columns: [{ name: "backend", align: "left" }, { name: "1 p50" }, { name: "2 msg/s" }, { name: "errors" }],
    rows: [
      ["bun", "1.02 [1.01, 1.04]", "0.97 (0.95–0.99)", "0"],
      ["tokio (baseline)", "9.8", "1.24M", "0"],
    ],
  };
  const narrow = renderTerminal(ratios, { width: 55 }).split("\n");
  for (const l of narrow) expect(l.length).toBeLessThanOrEqual(55);
  expect(narrow.slice(3)).toEqual([
    "bun                       1.02         0.97       0",
    "                  [1.01, 1.04]  (0.95–0.99)",
    "tokio (baseline)           9.8        1.24M       0",
  ]);
  const wide = renderTerminal(ratios, { width: 120 });
  expect(wide).toContain("1.02 [1.01, 1.04]");
});
