import { expect, test } from "bun:test";
import { renderMarkdown } from "../bench/report/markdown.ts";
import { renderTerminal } from "../bench/report/terminal.ts";
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
