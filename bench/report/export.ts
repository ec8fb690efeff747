// The one export step: every file a run writes, from its results (the JSON,
// the source of truth) and its samples. Each output format is one object in
// OUTPUTS: the files it writes into the output folder on every run, and the
// flag that asks for a copy elsewhere ("-": standard output, where that makes
// sense). The CLI never names a file format: adding one is its object here
// (or in a file of its own) and one line in OUTPUTS; its flag comes with it.
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { BenchResults } from "../results/schema.ts";
import { resultsCsv } from "./csv.ts";
import type { ReportPictures } from "./document.ts";
import { forestGates, gatesForestSvg } from "./forest.ts";
import { renderMarkdownReport } from "./report.ts";
import { sweepChartsSvg } from "./sweep-chart.ts";
import { coreScalingChartSvg } from "./core-scaling.ts";
import { latencyDistributionSvg, latencySeriesFromSamples, type SampleSource } from "./svg.ts";
import { updateGuideFile } from "./update-guide.ts";

/** What the formats render from: the results, the pictures' files, and where the markdown should link them from. */
export interface ExportContext {
  results: BenchResults;
  /** Every standard file's path, by the name it has in OUTPUTS' standard lists (e.g. "latency"). */
  standardPaths: Map<string, string>;
  pictures: (fromFile: string) => ReportPictures;
}

export interface OutputFormat {
  /** Stable name, in messages. */
  name: string;
  /** The flag that writes a copy at a path; stdout: "-" writes it to standard output. */
  flag?: { name: string; help: string; stdout?: boolean };
  /** The files written into the output folder on every run: a key, the file name, and the text (undefined: nothing to write this run). */
  standard(r: BenchResults, stamp: string, samples: Map<string, SampleSource>): { key: string; file: string; text: string | undefined }[];
  /** The text for a path the flag named; absent: the text of its (first) standard file, written once and copied. */
  at?(ctx: ExportContext, path: string): string | undefined;
}

const jsonText = (r: BenchResults) => `${JSON.stringify(r, null, 2)}\n`;

const JSON_FORMAT: OutputFormat = {
  name: "JSON",
  flag: { name: "json", help: "also write the JSON results (the source of truth) here; - for standard output", stdout: true },
  standard: (r, stamp) => [{ key: "json", file: `bench-${stamp}.json`, text: jsonText(r) }],
};

const LATENCY_FORMAT: OutputFormat = {
  name: "latency distributions (SVG)",
  flag: { name: "svg", help: "also write the latency distribution picture here" },
  standard: (r, stamp, samples) => {
    const series = latencySeriesFromSamples(r, samples);
    return [{ key: "latency", file: `bench-${stamp}.svg`, text: series.length ? latencyDistributionSvg(series, { baseline: r.gate?.baseline ?? r.baseline, candidate: r.gate?.candidate }) : undefined }];
  },
};

const FOREST_FORMAT: OutputFormat = {
  name: "gates (SVG)",
  flag: { name: "forest", help: "also write the forest plot of the gates here" },
  standard: (r, stamp) => {
    const gates = forestGates(r);
    return [{ key: "gates", file: `bench-${stamp}-gates.svg`, text: gates.length ? gatesForestSvg(gates) : undefined }];
  },
};

const SWEEP_FORMAT: OutputFormat = {
  name: "sweep charts (SVG)",
  standard: (r, stamp) => (r.sweep ? sweepChartsSvg(r.sweep).map((c) => ({ key: `sweep-w${c.window}-p${c.payload}`, file: `bench-${stamp}-sweep-w${c.window}-p${c.payload}.svg`, text: c.svg })) : []),
};

const CORES_FORMAT: OutputFormat = {
  name: "core-scaling chart (SVG)",
  standard: (r, stamp) => (r.core_scaling?.points.length ? [{ key: "cores", file: `bench-${stamp}-cores.svg`, text: coreScalingChartSvg(r.core_scaling) }] : []),
};

const MARKDOWN_FORMAT: OutputFormat = {
  name: "markdown",
  flag: { name: "markdown", help: "also write the report as markdown here (it links the pictures from there); - for standard output", stdout: true },
  // Rendered last (after the pictures it links), see exportResults.
  standard: () => [],
  at: (ctx, path) => renderMarkdownReport(ctx.results, { pictures: ctx.pictures(path) }),
};

const CSV_FORMAT: OutputFormat = {
  name: "CSV",
  flag: { name: "export-csv", help: "write every scenario table and gate as CSV here, one row per backend x scenario x variant; - for standard output", stdout: true },
  standard: () => [],
  at: (ctx) => resultsCsv(ctx.results),
};

/** Every output format, in the order they are written (the markdown after the pictures it links). */
export const OUTPUTS: readonly OutputFormat[] = [JSON_FORMAT, LATENCY_FORMAT, FOREST_FORMAT, SWEEP_FORMAT, CORES_FORMAT, MARKDOWN_FORMAT, CSV_FORMAT];

export interface ExportPlan {
  /** The output folder (created when missing). */
  outDir: string;
  /** A copy per format flag given: flag name -> path or "-". */
  copies: Map<string, string>;
  /** The report's first page (or, with full, all of it) put between the markers in this file. */
  updateGuide?: { file: string; full: boolean };
  /** Only a run that finished replaces latest.json. */
  finished: boolean;
}

export interface Exported {
  /** Every file written, in order. */
  written: string[];
  /** What goes to standard output ("-" copies), in order. */
  stdout: string[];
  /** Files that could not be written, with why. */
  failed: { path: string; error: string }[];
}

/** Why a folder cannot take files ("does not exist", ...), or null when it can. */
function unwritable(dir: string): string | null {
  try {
    if (!statSync(dir).isDirectory()) return "is not a folder";
    accessSync(dir, constants.W_OK);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be written (${(e as NodeJS.ErrnoException).code})`;
  }
}

/**
 * Before anything is measured: the output folder made and writable, and the
 * folder of every copy and of the guide there. The problem as one line
 * naming the flag, or undefined.
 */
export function outputProblem(plan: Omit<ExportPlan, "finished">): string | undefined {
  try {
    mkdirSync(plan.outDir, { recursive: true });
  } catch (e) {
    return `--out-dir ${plan.outDir}: cannot be created (${(e as NodeJS.ErrnoException).code}); give a folder you can write to`;
  }
  const out = unwritable(plan.outDir);
  if (out) return `--out-dir ${plan.outDir} ${out}; give a folder you can write to`;
  for (const [flag, path] of plan.copies) {
    if (path === "-") continue;
    const problem = unwritable(dirname(resolve(path)));
    if (problem) return `--${flag} ${path}: its folder ${dirname(resolve(path))} ${problem}`;
  }
  if (plan.updateGuide) {
    const problem = unwritable(dirname(resolve(plan.updateGuide.file)));
    if (problem) return `--update-guide ${plan.updateGuide.file}: its folder ${problem}`;
  }
  return undefined;
}

/** Writes every format: the standard files into the output folder, the copies asked for, latest.json, the guide. */
export function exportResults(results: BenchResults, samples: Map<string, SampleSource>, plan: ExportPlan): Exported {
  const out: Exported = { written: [], stdout: [], failed: [] };
  const write = (path: string, text: string) => {
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true });
      writeFileSync(path, text);
      out.written.push(path);
    } catch (e) {
      out.failed.push({ path, error: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  };
  const stamp = results.context.date.replace(/[:.]/g, "-");
  const standardPaths = new Map<string, string>();
  const texts = new Map<string, string>();
  const firstKey = new Map<OutputFormat, string>();
  for (const f of OUTPUTS)
    for (const s of f.standard(results, stamp, samples)) {
      if (!firstKey.has(f)) firstKey.set(f, s.key);
      if (s.text === undefined) continue;
      const path = join(plan.outDir, s.file);
      standardPaths.set(s.key, path);
      texts.set(s.key, s.text);
      write(path, s.text);
    }
  const pictures = (fromFile: string): ReportPictures => {
    const rel = (p: string) => relative(dirname(resolve(fromFile)), p) || basename(p);
    const sweep = [...standardPaths].filter(([k]) => k.startsWith("sweep-"));
    return {
      gates: standardPaths.has("gates") ? rel(standardPaths.get("gates")!) : undefined,
      latency: standardPaths.has("latency") ? rel(standardPaths.get("latency")!) : undefined,
      cores: standardPaths.has("cores") ? rel(standardPaths.get("cores")!) : undefined,
      sweep: sweep.length ? sweep.map(([k, p]) => ({ window: Number(k.match(/-w(\d+)/)![1]), payload: Number(k.match(/-p(\d+)/)![1]), src: rel(p) })) : undefined,
    };
  };
  const ctx: ExportContext = { results, standardPaths, pictures };
  const md = join(plan.outDir, `bench-${stamp}.md`);
  write(md, renderMarkdownReport(results, { pictures: pictures(md) }));
  if (plan.finished && texts.has("json")) write(join(plan.outDir, "latest.json"), texts.get("json")!);
  for (const f of OUTPUTS) {
    const path = f.flag && plan.copies.get(f.flag.name);
    if (!path) continue;
    // A copy of a standard file is that file's text (for the latency picture the samples are gone by now).
    const key = firstKey.get(f);
    const text = f.at ? f.at(ctx, path === "-" ? md : path) : key !== undefined ? texts.get(key) : undefined;
    if (text === undefined) continue;
    if (path === "-") out.stdout.push(text);
    else write(path, text);
  }
  if (plan.updateGuide) {
    try {
      updateGuideFile(plan.updateGuide.file, renderMarkdownReport(results, { firstPageOnly: !plan.updateGuide.full, pictures: pictures(plan.updateGuide.file) }));
      out.written.push(plan.updateGuide.file);
    } catch (e) {
      out.failed.push({ path: plan.updateGuide.file, error: (e as Error).message });
    }
  }
  return out;
}
