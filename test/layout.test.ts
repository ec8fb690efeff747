// The layout keeps its promise: every source file lives in a room (a folder
// for one concern), a room imports only from rooms below it, no import
// cycle exists, and no source file grows past the size where it stops being
// one concern. Read from the files themselves, as a newcomer would.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../ffi/build.ts";

/** Rooms from the bottom up; a room may import its own level and below. */
const LEVEL: Record<string, number> = {
  ffi: 0,
  "bench/stats": 1,
  "bench/protocol": 1,
  "bench/measure": 1,
  "bench/results": 1,
  "bench/clients": 2,
  "bench/server": 2,
  "bench/scenarios": 4,
  "bench/verdict": 5,
  "bench/micro": 5,
  "bench/report": 6,
  "bench/run": 7,
  "bench/cli": 8,
};

function sources(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const files = [...sources(join(ROOT, "ffi")), ...sources(join(ROOT, "bench"))];
const roomOf = (file: string) => {
  const rel = relative(ROOT, file);
  return Object.keys(LEVEL).find((r) => rel === r || rel.startsWith(`${r}/`));
};

/** Relative imports of a file, static and dynamic, resolved to absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) out.push(resolve(dirname(file), m[1]));
  return out;
}

describe("layout", () => {
  test("every source file is in a room", () => {
    expect(files.filter((f) => !roomOf(f)).map((f) => relative(ROOT, f))).toEqual([]);
  });

  test("no room imports from a room above it", () => {
    const bad: string[] = [];
    for (const f of files)
      for (const target of importsOf(f)) {
        const from = roomOf(f)!, to = roomOf(target);
        if (to && LEVEL[to] > LEVEL[from]) bad.push(`${relative(ROOT, f)} -> ${relative(ROOT, target)}`);
      }
    expect(bad).toEqual([]);
  });

  test("no import cycle", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(ROOT, x)).join(" -> "));
        return;
      }
      state.set(f, "open");
      for (const t of graph.get(f)!) visit(t, [...path, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test("no source file over 450 lines (a guide of about 400, not a rule)", () => {
    const long = files.map((f) => [relative(ROOT, f), readFileSync(f, "utf8").split("\n").length] as const).filter(([, n]) => n > 450);
    expect(long).toEqual([]);
  });

  test("statistics are pure: nothing in bench/stats reads files, the clock, the network or the FFI", () => {
    const impure = files
      .filter((f) => relative(ROOT, f).startsWith("bench/stats/"))
      .filter((f) => /from\s+["'](node:|bun:|\.\.\/\.\.\/ffi|\.\.\/measure)|performance\.now|Date\.now|Bun\.(spawn|file|nanoseconds)/.test(readFileSync(f, "utf8")));
    expect(impure.map((f) => relative(ROOT, f))).toEqual([]);
    expect(files.some((f) => relative(ROOT, f) === "bench/stats/paired.ts")).toBe(true);
  });

  test("no address arithmetic outside ffi/", () => {
    const bad = files.filter((f) => !relative(ROOT, f).startsWith("ffi/")).filter((f) => /\.addr\b/.test(readFileSync(f, "utf8").replace(/\/\/.*$/gm, "")));
    expect(bad.map((f) => relative(ROOT, f))).toEqual([]);
  });

  test("C headers declare, or define only static inline helpers: a function with a body in a header would be compiled into every shim that includes it (what c/loop_common.c is for)", () => {
    const cDir = join(ROOT, "c");
    const bad: string[] = [];
    for (const h of readdirSync(cDir).filter((f) => f.endsWith(".h"))) {
      const lines = readFileSync(join(cDir, h), "utf8").split("\n");
      lines.forEach((line, i) => {
        // A definition: a line at column 0 naming a function, the next line its opening brace.
        if (/^[A-Za-z_].*\)\s*$/.test(line) && lines[i + 1]?.trim() === "{" && !/^static inline\b/.test(line)) bad.push(`c/${h}:${i + 1}: ${line}`);
      });
    }
    expect(bad).toEqual([]);
  });
});
