// Command-line parsing shared by every command: each flag is declared once
// with its type, its group in the help and what its value is. A usage error
// is one line naming the fix (did you mean ...?) and where the help is, on
// stderr, exit 2; never the whole usage, never a stack trace.
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { wrapText as wrap } from "../report/terminal.ts";
import { cpuListText } from "../measure/machine.ts";
import { parseCpuList } from "../measure/quiet.ts";

export type FlagType = "string" | "int" | "number" | "bool" | "list" | "duration";

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  /** Allowed values for string flags (or list items). */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** What the value is, in the help: "N", "FILE", "a,b", "B:US" (the type's name is never shown). */
  placeholder?: string;
  /** The help's group ("What to run", "Outputs", ...); flags without one go under "Other". */
  group?: string;
  /** duration: the unit a plain number is in, and the one the value is given back in. */
  unit?: "s" | "ms";
  /** Older or neighbouring names that mean this flag (accepted, not shown). */
  aliases?: string[];
}

export class UsageError extends Error {}

/** A CPU list flag ("0-3,6") as CPUs, each one this process may use. */
export function cpuListFlag(value: string | undefined, flag: string, allowed: number[]): number[] | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value.trim())) throw new UsageError(`${flag} '${value}' is not a CPU list (e.g. 0-3 or 0,2,4)`);
  const set = [...new Set(parseCpuList(value))].sort((a, b) => a - b);
  const refused = set.filter((c) => !allowed.includes(c));
  if (refused.length) throw new UsageError(`${flag}: CPU ${cpuListText(refused)} cannot be used by this process (it may use ${cpuListText(allowed)}: see taskset -p $$)`);
  return set;
}


export type Parsed = Record<string, string | number | boolean | string[] | undefined>;

/** Levenshtein distance, for did-you-mean. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The closest of the candidates when it is close enough to be a typo, else undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let dist = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) || word.startsWith(c) ? Math.min(2, editDistance(word, c)) : editDistance(word, c);
    if (d < dist) [best, dist] = [c, d];
  }
  return best !== undefined && dist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600 };

/** "90s", "3m", "500ms", "1.5s" (or a plain number in the flag's unit) in the flag's unit. */
export function parseDuration(value: string, unit: "s" | "ms"): number {
  const m = value.trim().match(/^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/);
  if (!m) return NaN;
  const seconds = m[2] ? Number(m[1]) * UNITS[m[2]] : unit === "s" ? Number(m[1]) : Number(m[1]) / 1000;
  return unit === "s" ? seconds : seconds * 1000;
}

function nameOf(specs: Record<string, FlagSpec>, given: string): string | undefined {
  if (specs[given]) return given;
  return Object.entries(specs).find(([, s]) => s.aliases?.includes(given))?.[0];
}

export function parseArgs(argv: string[], specs: Record<string, FlagSpec>): Parsed {
  const out: Parsed = {};
  for (const [name, s] of Object.entries(specs)) if (s.default !== undefined) out[name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      out.help = true;
      continue;
    }
    if (arg === "--version" || arg === "-V") {
      out.version = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      const flagLike = didYouMean(arg.replace(/^-+/, ""), Object.keys(specs));
      throw new UsageError(`unexpected argument '${arg}'${flagLike && arg.startsWith("-") ? `; did you mean --${flagLike}?` : ""}`);
    }
    let given = arg.slice(2);
    let value: string | undefined;
    const eq = given.indexOf("=");
    if (eq >= 0) {
      value = given.slice(eq + 1);
      given = given.slice(0, eq);
    }
    const name = nameOf(specs, given);
    if (!name) {
      const near = didYouMean(given, Object.keys(specs));
      throw new UsageError(`unknown flag '--${given}'${near ? `; did you mean --${near}?` : ""}`);
    }
    const s = specs[name];
    if (s.type === "bool") {
      if (value !== undefined && value !== "true" && value !== "false") throw new UsageError(`--${name} takes no value`);
      out[name] = value !== "false";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || (value.startsWith("--") && value.length > 2)) throw new UsageError(`--${name} needs a value${s.placeholder ? ` (${s.placeholder})` : ""}`);
    }
    out[name] = convert(name, s, value);
  }
  return out;
}

function choiceError(name: string, item: string, choices: readonly string[]): UsageError {
  const near = didYouMean(item, choices);
  return new UsageError(`--${name}: unknown '${item}'${near ? `; did you mean '${near}'?` : ""} (one of ${choices.join(", ")})`);
}

function convert(name: string, s: FlagSpec, value: string): string | number | string[] {
  if (s.type === "int" || s.type === "number" || s.type === "duration") {
    const n = s.type === "duration" ? parseDuration(value, s.unit ?? "s") : Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || (s.type === "int" && !Number.isInteger(n))) {
      const what = s.type === "int" ? "an integer" : s.type === "duration" ? `a duration (e.g. 90s, 3m${s.unit === "ms" ? ", 5ms" : ""}; a plain number is in ${s.unit ?? "s"})` : "a number";
      throw new UsageError(`--${name} must be ${what}, not '${value}'`);
    }
    const u = s.type === "duration" ? ` ${s.unit ?? "s"}` : "";
    if (s.min !== undefined && n < s.min) throw new UsageError(`--${name} must be at least ${s.min}${u}, not ${n}${u}`);
    if (s.max !== undefined && n > s.max) throw new UsageError(`--${name} must be at most ${s.max}${u}, not ${n}${u}`);
    return n;
  }
  if (s.type === "list") {
    const items = value.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
    if (items.length === 0) throw new UsageError(`--${name} needs at least one item`);
    if (s.choices) for (const it of items) if (!s.choices.includes(it)) throw choiceError(name, it, s.choices);
    return items;
  }
  if (s.choices && !s.choices.includes(value)) throw choiceError(name, value, s.choices);
  return value;
}

const WIDTH = 99;
const FLAG_COLUMN = 28;

export interface UsageExtras {
  /** Shown after the synopsis: what the command takes besides flags. */
  synopsis?: string;
  examples?: [string, string][];
  exitCodes?: string[];
  /** Groups in this order; others after them. */
  groups?: string[];
}

/** The help: groups of flags, examples and exit codes, every line under 100 columns. */
export function usageText(command: string, summary: string, specs: Record<string, FlagSpec>, extras: UsageExtras = {}): string {
  const lines = [`usage: ${command} ${extras.synopsis ?? "[flags]"}`, "", ...wrap(summary, WIDTH)];
  const byGroup = new Map<string, [string, FlagSpec][]>();
  for (const [name, s] of Object.entries(specs)) byGroup.set(s.group ?? "Other", [...(byGroup.get(s.group ?? "Other") ?? []), [name, s]]);
  const order = [...(extras.groups ?? []).filter((g) => byGroup.has(g)), ...[...byGroup.keys()].filter((g) => !(extras.groups ?? []).includes(g))];
  for (const g of order) {
    lines.push("", `${g}:`);
    for (const [name, s] of byGroup.get(g)!) {
      const ph = s.type === "bool" ? "" : ` ${s.placeholder ?? (s.choices ? s.choices.join("|") : "VALUE")}`;
      const def = s.default !== undefined && s.type !== "bool" ? ` (default ${Array.isArray(s.default) ? s.default.join(", ") : s.default}${s.type === "duration" ? ` ${s.unit ?? "s"}` : ""})` : "";
      const ch = s.choices && s.placeholder ? ` (one of: ${s.choices.join(", ")})` : "";
      const head = `  --${name}${ph}`;
      const body = wrap(`${s.help}${ch}${def}`, WIDTH - FLAG_COLUMN);
      if (head.length < FLAG_COLUMN) lines.push(head.padEnd(FLAG_COLUMN) + body[0], ...body.slice(1).map((l) => " ".repeat(FLAG_COLUMN) + l));
      else lines.push(head, ...body.map((l) => " ".repeat(FLAG_COLUMN) + l));
    }
  }
  lines.push("", "  -h, --help".padEnd(FLAG_COLUMN) + "this text", "  -V, --version".padEnd(FLAG_COLUMN) + "the version and git commit");
  if (extras.examples?.length) {
    lines.push("", "Examples:");
    for (const [cmd, what] of extras.examples) lines.push(`  ${cmd}`, ...wrap(what, WIDTH - 6).map((l) => `      ${l}`));
  }
  if (extras.exitCodes?.length) lines.push("", "Exit codes:", ...extras.exitCodes.map((c) => `  ${c}`));
  return lines.join("\n");
}

/** "iouring-bench 0.1.0 (git 1a2b3c4)": the package's version and, in a checkout, its commit. */
export function versionText(root: string): string {
  let version = "unknown";
  try {
    version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  } catch {
    // not in a checkout
  }
  let commit = "";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    // not a git checkout
  }
  return `iouring-bench ${version}${commit ? ` (git ${commit})` : ""}`;
}

/** The one line a usage error prints: what is wrong, then where the help is. */
export function usageErrorLine(prefix: string, command: string, message: string): string {
  return `${prefix}: ${message} (see ${command} --help)`;
}

/** Parses or exits: --help prints the help (exit 0), --version the version (exit 0), a usage error one line (exit 2). */
export function parseOrExit(argv: string[], command: string, summary: string, specs: Record<string, FlagSpec>, opts: UsageExtras & { prefix: string; root?: string }): Parsed {
  try {
    const p = parseArgs(argv, specs);
    if (p.help) {
      console.log(usageText(command, summary, specs, opts));
      process.exit(0);
    }
    if (p.version) {
      console.log(versionText(opts.root ?? join(import.meta.dir, "../..")));
      process.exit(0);
    }
    return p;
  } catch (e) {
    if (e instanceof UsageError) usageExit(opts.prefix, command, e.message);
    throw e;
  }
}

/** Prints the one usage-error line and exits 2. */
export function usageExit(prefix: string, command: string, message: string): never {
  process.stderr.write(`${usageErrorLine(prefix, command, message)}\n`);
  process.exit(2);
}
