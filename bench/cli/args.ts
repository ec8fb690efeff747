// Command-line parsing shared by `serve` and `bench`: every flag is declared
// once with its type; anything else is a usage error (exit 2, no stack trace).

export type FlagType = "string" | "int" | "number" | "bool" | "list";

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  /** Allowed values for string flags (or list items). */
  choices?: readonly string[];
  min?: number;
  max?: number;
  placeholder?: string;
}

export class UsageError extends Error {}

export type Parsed = Record<string, string | number | boolean | string[] | undefined>;

export function parseArgs(argv: string[], specs: Record<string, FlagSpec>): Parsed {
  const out: Parsed = {};
  for (const [name, s] of Object.entries(specs)) if (s.default !== undefined) out[name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      out.help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const s = specs[name];
    if (!s) throw new UsageError(`unknown flag '--${name}'`);
    if (s.type === "bool") {
      if (value !== undefined && value !== "true" && value !== "false") throw new UsageError(`--${name} takes no value`);
      out[name] = value !== "false";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
    }
    out[name] = convert(name, s, value);
  }
  return out;
}

function convert(name: string, s: FlagSpec, value: string): string | number | string[] {
  if (s.type === "int" || s.type === "number") {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || (s.type === "int" && !Number.isInteger(n))) {
      throw new UsageError(`--${name} must be ${s.type === "int" ? "an integer" : "a number"}, not '${value}'`);
    }
    if (s.min !== undefined && n < s.min) throw new UsageError(`--${name} must be at least ${s.min}, not ${n}`);
    if (s.max !== undefined && n > s.max) throw new UsageError(`--${name} must be at most ${s.max}, not ${n}`);
    return n;
  }
  if (s.type === "list") {
    const items = value.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
    if (items.length === 0) throw new UsageError(`--${name} needs at least one item`);
    if (s.choices) for (const it of items) if (!s.choices.includes(it)) throw new UsageError(`--${name}: unknown '${it}' (one of ${s.choices.join(", ")})`);
    return items;
  }
  if (s.choices && !s.choices.includes(value)) throw new UsageError(`--${name}: unknown '${value}' (one of ${s.choices.join(", ")})`);
  return value;
}

export function usageText(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`usage: ${command} [flags]`, "", summary, "", "flags:"];
  for (const [name, s] of Object.entries(specs)) {
    const ph = s.type === "bool" ? "" : ` ${s.placeholder ?? s.type.toUpperCase()}`;
    const def = s.default !== undefined && s.type !== "bool" ? ` (default ${Array.isArray(s.default) ? s.default.join(",") : s.default})` : "";
    const ch = s.choices ? ` [${s.choices.join("|")}]` : "";
    lines.push(`  --${name}${ph}`.padEnd(30) + `${s.help}${ch}${def}`);
  }
  lines.push(`  -h, --help`.padEnd(30) + "this text");
  return lines.join("\n");
}

/** Parses or exits: usage errors print the message and the usage to stderr and exit 2. */
export function parseOrExit(argv: string[], command: string, summary: string, specs: Record<string, FlagSpec>): Parsed {
  try {
    const p = parseArgs(argv, specs);
    if (p.help) {
      console.log(usageText(command, summary, specs));
      process.exit(0);
    }
    return p;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${command}: ${e.message}\n\n${usageText(command, summary, specs)}\n`);
      process.exit(2);
    }
    throw e;
  }
}
