// `bun run compare OLD.json NEW.json [--markdown FILE]`: what changed between
// two results files (bench/report/compare.ts builds the comparison; the
// terminal and markdown renderers draw it). With three files or more (or
// --agreement), whether repeated runs agree as their intervals say
// (bench/report/agreement.ts). Only this file reads argv and the
// files; a file that cannot be compared is a usage error (exit 2, one line
// saying what is wrong, then the usage).
import { readFileSync, writeFileSync } from "node:fs";
import { agreement, agreementTables } from "../report/agreement.ts";
import { compareRuns, renderComparisonMarkdown, renderComparisonTerminal } from "../report/compare.ts";
import { renderMarkdown } from "../report/markdown.ts";
import { renderTerminal } from "../report/terminal.ts";
import type { BenchResults } from "../results/schema.ts";
import { upgradeResults } from "../results/upgrade.ts";
import { ROOT } from "../../ffi/build.ts";
import { parseArgs, usageExit as exitWithUsage, UsageError, usageText, versionText, type FlagSpec } from "./args.ts";

const COMMAND = "bun run compare";
const SUMMARY =
  "Compares two results files (results/*.json, schema iouring-bench/1, /2 or /3): each headline figure's change, NEW against OLD, " +
  "with a Welch interval; every gate's verdicts and criteria; and the context that differs.";
const SPECS: Record<string, FlagSpec> = {
  markdown: { type: "string", help: "also write the comparison as markdown here", placeholder: "FILE" },
  agreement: { type: "bool", help: "repeated runs of one set-up (2 files or more; the default with 3 or more): does each run's interval hold the others' estimates as often as it should?" },
};
/** The results schemas this comparison reads. */
const READABLE = ["iouring-bench/1", "iouring-bench/2", "iouring-bench/3"];

function usage(): string {
  return usageText(COMMAND, SUMMARY, SPECS, {
    synopsis: "OLD.json NEW.json [flags]  |  RUN.json RUN.json RUN.json ... [flags]",
    examples: [
      ["bun run compare results/bench-A.json results/latest.json", "what moved between an older run and the latest"],
      ["bun run compare results/bench-*.json", "three runs or more of one set-up: do they agree as their intervals say?"],
    ],
    exitCodes: ["0  compared", "1  the markdown could not be written", "2  usage error, or a file that is not a results file"],
  });
}

function usageExit(message: string): never {
  exitWithUsage("compare", COMMAND, message);
}

/** The two file names, and the flags (with their values) for parseArgs. */
function splitArgv(argv: string[]): { files: string[]; flags: string[] } {
  const files: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "-V" || a.startsWith("--")) {
      flags.push(a);
      const spec = SPECS[a.slice(2)];
      // `--markdown FILE`: the next word is the flag's value, not a file to compare.
      if (spec && spec.type !== "bool" && !a.includes("=") && i + 1 < argv.length) flags.push(argv[++i]);
    } else files.push(a);
  }
  return { files, flags };
}

/** Reads one results file, or says in one line why it cannot be compared. */
function readResults(path: string, role: string): BenchResults {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`${role} file '${path}' does not exist`);
    if (code === "EISDIR") throw new UsageError(`${role} file '${path}' is a directory, not a results file`);
    throw new UsageError(`cannot read ${role} file '${path}' (${code ?? String(e)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${role} file '${path}' is not JSON`);
  }
  const schema = data !== null && typeof data === "object" ? (data as { schema?: unknown }).schema : undefined;
  if (typeof schema !== "string" || !schema.startsWith("iouring-bench/")) {
    throw new UsageError(`${role} file '${path}' is not an iouring-bench results file (it has no "schema" starting with "iouring-bench/")`);
  }
  if (!READABLE.includes(schema)) {
    throw new UsageError(`${role} file '${path}' has schema "${schema}"; compare reads ${READABLE.join(" and ")}`);
  }
  const r = data as BenchResults;
  if (!Array.isArray(r.scenarios) || r.context === null || typeof r.context !== "object") {
    throw new UsageError(`${role} file '${path}' says ${schema} but has no "scenarios" list or no "context"`);
  }
  return upgradeResults(r);
}

let markdownFile: string | undefined;
let oldR: BenchResults, newR: BenchResults, files: string[];
let agreementRuns: { label: string; results: BenchResults }[] | undefined;
try {
  const split = splitArgv(process.argv.slice(2));
  const args = parseArgs(split.flags, SPECS);
  if (args.help) {
    console.log(usage());
    process.exit(0);
  }
  if (args.version) {
    console.log(versionText(ROOT));
    process.exit(0);
  }
  markdownFile = args.markdown as string | undefined;
  files = split.files;
  if (files.length > 2 || (args.agreement && files.length === 2)) agreementRuns = files.map((f, i) => ({ label: f, results: readResults(f, `run ${i + 1}`) }));
  else if (files.length !== 2) throw new UsageError(`needs two results files, OLD and NEW (got ${files.length})`);
  else {
    oldR = readResults(files[0], "OLD");
    newR = readResults(files[1], "NEW");
  }
} catch (e) {
  if (e instanceof UsageError) usageExit(e.message);
  throw e;
}

let markdownText: () => string;
if (agreementRuns) {
  const tables = agreementTables(agreement(agreementRuns));
  console.log(tables.map(renderTerminal).join("\n\n"));
  markdownText = () => `${tables.map((t) => renderMarkdown(t)).join("\n\n")}\n`;
} else {
  const comparison = compareRuns(oldR!, newR!, { old: files[0], new: files[1] });
  console.log(renderComparisonTerminal(comparison));
  markdownText = () => renderComparisonMarkdown(comparison);
}
if (markdownFile !== undefined) {
  try {
    writeFileSync(markdownFile, markdownText());
  } catch (e) {
    process.stderr.write(`compare: cannot write --markdown '${markdownFile}' (${(e as NodeJS.ErrnoException).code ?? String(e)})\n`);
    process.exit(1);
  }
  process.stderr.write(`compare: wrote ${markdownFile}\n`);
}
process.exit(0);
