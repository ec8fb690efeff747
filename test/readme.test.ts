// The README keeps its promises: a first screen under 200 lines, a quick start
// of exactly two commands (the benchmark and the tests) that package.json
// defines, links that lead somewhere, and no flag that no command takes (a
// renamed flag left behind in the docs is a user's first error).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { BENCH_FLAGS } from "../bench/cli/bench-plan.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DOCS = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"));

describe("README", () => {
  test("under 200 lines; the quick start is two commands that package.json defines", () => {
    expect(README.split("\n").length).toBeLessThan(200);
    const quick = README.slice(README.indexOf("## Quick start"));
    const block = quick.slice(quick.indexOf("```sh") + 5, quick.indexOf("```", quick.indexOf("```sh") + 5)).trim().split("\n");
    expect(block.map((l) => l.split("#")[0].trim())).toEqual(["npm run bench", "npm test"]);
    const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
    for (const s of ["bench", "test", "bench:quick", "doctor", "compare", "serve"]) expect(scripts[s]).toBeDefined();
    expect(README).toContain("npm run bench:quick");
    expect(README).toContain("npm run doctor");
  });

  test("every link to docs/ leads to a file, and every page in docs/ is linked", () => {
    const links = [...README.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]);
    for (const l of links) expect(existsSync(join(ROOT, l))).toBe(true);
    for (const d of DOCS) expect(links).toContain(`docs/${d}`);
  });

  test("every flag the README and docs name for bench is one bench takes (or serve, compare, doctor)", async () => {
    const serve = readFileSync(join(ROOT, "bench/cli/serve.ts"), "utf8");
    const other = readFileSync(join(ROOT, "bench/cli/compare.ts"), "utf8") + readFileSync(join(ROOT, "bench/server/backends.ts"), "utf8") + serve;
    const known = new Set([...Object.keys(BENCH_FLAGS), ...Object.values(BENCH_FLAGS).flatMap((f) => f.aliases ?? []), "help", "version", "agreement"]);
    const texts = [README, ...DOCS.map((d) => readFileSync(join(ROOT, "docs", d), "utf8"))].join("\n");
    const unknown = [...new Set([...texts.matchAll(/(?<![\w-])--([a-z][a-z0-9-]+)/g)].map((m) => m[1]))].filter((f) => !known.has(f) && !other.includes(`"${f}"`) && !other.includes(` ${f}:`));
    // Flags of other tools the docs quote (perf, taskset, npm, setpriv, ...).
    const foreign = ["event", "inh-caps", "bounding-set", "nofile", "reuid", "regid", "clear-groups", "release", "offline", "target-dir", "no-audit", "no-fund", "loglevel", "quiet", "noEmit", "timeout", "preload"];
    expect(unknown.filter((f) => !foreign.includes(f))).toEqual([]);
  });
});
