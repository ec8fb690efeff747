// Renders BenchResults (the JSON) as tables for the terminal and markdown.
import { errorCount } from "../clients/ping-pong.ts";
import { microTable } from "../micro/index.ts";
import { claimsToTable } from "../verdict/claims.ts";
import { contextLines, placementText } from "../measure/machine.ts";
import type { BenchResults, BackendResult, Criterion, Gate, ScenarioResult, VariantResult } from "../results/schema.ts";
import { median } from "../measure/stats.ts";
import { renderMarkdown, renderTerminal, type Table } from "./table.ts";

export function fmtNum(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 100000) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(digits);
}

export function fmtRatio(b: BackendResult, baseline: string): string {
  if (b.backend === baseline && b.relative) return "1.00 (baseline)";
  if (!b.relative) return "n/a";
  const [lo, hi] = b.relative.ci95;
  const ci = Number.isFinite(lo) ? ` [${lo.toFixed(2)}, ${hi.toFixed(2)}]` : "";
  return `${b.relative.ratio.toFixed(2)}${ci}`;
}

function errorsCell(b: BackendResult): string {
  const n = errorCount(b.errors);
  if (b.failure) return `FAILED: ${b.failure}`;
  if (n === 0) return "0";
  return Object.entries(b.errors)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${c} ${k}`)
    .join(", ");
}

export function latencyTable(s: ScenarioResult, v: VariantResult, baseline: string): Table {
  const rounds = Math.max(0, ...v.backends.map((b) => b.rounds.length));
  return {
    title: `Scenario ${s.id}: ${s.name}, ${v.label} (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "p50" },
      { name: "p95" },
      { name: "p99" },
      { name: "p99.9" },
      { name: "mean" },
      { name: "min" },
      { name: "max" },
      { name: `p50 vs ${baseline} [95% CI]` },
      { name: "errors", align: "left" },
    ],
    rows: v.backends.map((b) => {
      const p = b.pooled;
      return [
        b.backend,
        fmtNum(p?.p50),
        fmtNum(p?.p95),
        fmtNum(p?.p99),
        fmtNum(p?.p999),
        fmtNum(p?.mean),
        fmtNum(p?.min),
        fmtNum(p?.max),
        fmtRatio(b, baseline),
        errorsCell(b),
      ];
    }),
    notes: [
      `Percentiles over all ${rounds} rounds' samples (${v.params.iterations} round trips per round). Ratio: median of round p50s against ${baseline}'s; below 1.00 is faster.`,
    ],
  };
}

/** A count per second: whole numbers with thousands separators. */
export function fmtRate(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  return Math.round(x).toLocaleString("en-US");
}

/** The headline (median over rounds) with its 95% interval. */
function headlineCell(b: BackendResult | undefined, fmt: (x: number) => string): string {
  if (!b || b.failure || !Number.isFinite(b.headline)) return "n/a";
  const [lo, hi] = b.ci95;
  return Number.isFinite(lo) && Number.isFinite(hi) ? `${fmt(b.headline)} [${fmt(lo)}, ${fmt(hi)}]` : fmt(b.headline);
}

/** A scenario-specific figure: the backend's median over rounds, else the median of its rounds' values. */
export function extraOf(b: BackendResult | undefined, key: string): number | undefined {
  if (!b) return undefined;
  const v = b.extra?.[key];
  if (v !== undefined && Number.isFinite(v)) return v;
  const xs = b.rounds.map((r) => r.extra?.[key]).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length ? median(xs) : undefined;
}

function paramsText(v: VariantResult): string {
  const e = Object.entries(v.params);
  return e.length ? ` Parameters: ${e.map(([k, x]) => `${k} ${x}`).join(", ")}.` : "";
}

function roundsOf(vs: (VariantResult | undefined)[]): number {
  return Math.max(0, ...vs.flatMap((v) => (v ? v.backends.map((b) => b.rounds.length) : [])));
}

/** Backends of several variants, in first-seen order. */
function backendNames(vs: (VariantResult | undefined)[]): string[] {
  return [...new Set(vs.flatMap((v) => (v ? v.backends.map((b) => b.backend) : [])))];
}

/** Scenarios 2 and 6: throughput per backend. */
export function throughputTable(s: ScenarioResult, v: VariantResult, baseline: string): Table {
  return {
    title: `Scenario ${s.id}: ${s.name}, ${v.label} (msg/s)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "throughput [95% CI]" },
      { name: "slowest round" },
      { name: "fastest round" },
      { name: `vs ${baseline} [95% CI]` },
      { name: "errors", align: "left" },
    ],
    rows: v.backends.map((b) => {
      const t = b.rounds.map((r) => r.throughput).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return [
        b.backend,
        headlineCell(b, fmtRate),
        t.length ? fmtRate(Math.min(...t)) : "n/a",
        t.length ? fmtRate(Math.max(...t)) : "n/a",
        fmtRatio(b, baseline),
        errorsCell(b),
      ];
    }),
    notes: [
      `Completed messages per second: median over ${roundsOf([v])} rounds with a 95% bootstrap interval. Ratio: against ${baseline}'s median; above 1.00 is faster.${paramsText(v)}`,
    ],
  };
}

function combinedErrors(parts: [string, BackendResult | undefined][]): string {
  const cells = parts.filter(([, b]) => b).map(([k, b]) => [k, errorsCell(b!)] as const);
  if (cells.every(([, c]) => c === "0")) return "0";
  return cells.filter(([, c]) => c !== "0").map(([k, c]) => `${k}: ${c}`).join("; ");
}

/** Scenario 3: a new connection per request against a reused one. */
export function connectionTable(s: ScenarioResult, baseline: string): Table {
  const nv = s.variants.find((v) => v.key === "new-connection");
  const rv = s.variants.find((v) => v.key === "reused-connection");
  const ms = (x: number) => fmtNum(x);
  return {
    title: `Scenario ${s.id}: ${s.name}, time per request (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "new connection p50 [95% CI]" },
      { name: "reused p50 [95% CI]" },
      { name: "new ÷ reused" },
      { name: "connect p50" },
      { name: "connect p99" },
      { name: `new vs ${baseline}` },
      { name: `reused vs ${baseline}` },
      { name: "errors", align: "left" },
    ],
    rows: backendNames([nv, rv]).map((name) => {
      const n = nv?.backends.find((b) => b.backend === name);
      const r = rv?.backends.find((b) => b.backend === name);
      const ok = (b?: BackendResult) => b && !b.failure && Number.isFinite(b.headline);
      const ratio = ok(n) && ok(r) && r!.headline > 0 ? (n!.headline / r!.headline).toFixed(2) : "n/a";
      return [
        name,
        headlineCell(n, ms),
        headlineCell(r, ms),
        ratio,
        fmtNum(extraOf(n, "connect_p50_us")),
        fmtNum(extraOf(n, "connect_p99_us")),
        n ? fmtRatio(n, baseline) : "n/a",
        r ? fmtRatio(r, baseline) : "n/a",
        combinedErrors([["new", n], ["reused", r]]),
      ];
    }),
    notes: [
      `Median over ${roundsOf([nv, rv])} rounds of each round's p50 time per request, with a 95% bootstrap interval. connect p50/p99: medians over rounds of the connection set-up time (new connection only). new ÷ reused: what a fresh connection costs against a reused one. Ratios vs ${baseline}: below 1.00 is faster.`,
    ],
  };
}

/** Scenario 4: open-loop latency, corrected (from the intended send time) and uncorrected. */
export function openLoopTable(s: ScenarioResult, v: VariantResult, baseline: string): Table {
  const rates = v.backends.map((b) => `${b.backend} ${fmtRate(extraOf(b, "rate_per_s"))}`).join(", ");
  return {
    title: `Scenario ${s.id}: ${s.name}, ${v.label} (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "p50 [95% CI]" },
      { name: "p95" },
      { name: "p99" },
      { name: "p99.9" },
      { name: "max" },
      { name: "uncorr. p50" },
      { name: "uncorr. p95" },
      { name: "uncorr. p99" },
      { name: "uncorr. p99.9" },
      { name: "uncorr. max" },
      { name: `p50 vs ${baseline} [95% CI]` },
      { name: "errors", align: "left" },
    ],
    rows: v.backends.map((b) => {
      const p = b.pooled;
      const u = b.pooledUncorrected;
      return [
        b.backend,
        headlineCell(b, (x) => fmtNum(x)),
        fmtNum(p?.p95),
        fmtNum(p?.p99),
        fmtNum(p?.p999),
        fmtNum(p?.max),
        fmtNum(u?.p50),
        fmtNum(u?.p95),
        fmtNum(u?.p99),
        fmtNum(u?.p999),
        fmtNum(u?.max),
        fmtRatio(b, baseline),
        errorsCell(b),
      ];
    }),
    notes: [
      `Corrected latency counts from each request's intended send time, so a stalled server is charged for the requests it delayed; uncorrected counts from the actual send time, as a closed-loop tool would. p50: median over ${roundsOf([v])} rounds of the round p50 with a 95% bootstrap interval; the other percentiles are over all samples of all rounds.`,
      `Rate, requests/s (median over rounds): ${rates}.`,
    ],
  };
}

/** The guide's claim for the network share of end-to-end latency, %. */
export const GUIDE_NETWORK_SHARE: [number, number] = [75, 80];

/** Scenario 5: request-response overhead, echo against order matching. */
export function overheadTable(s: ScenarioResult, baseline: string): Table {
  const ev = s.variants.find((v) => v.key === "echo");
  const ov = s.variants.find((v) => v.key === "order");
  const [clo, chi] = GUIDE_NETWORK_SHARE;
  const ms = (x: number) => fmtNum(x);
  return {
    title: `Scenario ${s.id}: ${s.name}, time per request (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "echo RT p50 [95% CI]" },
      { name: "order RT p50 [95% CI]" },
      { name: "server processing" },
      { name: "network share, %" },
      { name: "guide's claim, %", align: "left" },
      { name: `echo vs ${baseline}` },
      { name: `order vs ${baseline}` },
      { name: "errors", align: "left" },
    ],
    rows: backendNames([ev, ov]).map((name) => {
      const e = ev?.backends.find((b) => b.backend === name);
      const o = ov?.backends.find((b) => b.backend === name);
      const pick = (key: string) => extraOf(o, key) ?? extraOf(e, key);
      const share = pick("network_share_pct");
      const where = share === undefined ? "" : share < clo ? " (below)" : share > chi ? " (above)" : " (within)";
      return [
        name,
        headlineCell(e, ms),
        headlineCell(o, ms),
        fmtNum(pick("server_processing_us")),
        fmtNum(share),
        `${clo}-${chi}${where}`,
        e ? fmtRatio(e, baseline) : "n/a",
        o ? fmtRatio(o, baseline) : "n/a",
        combinedErrors([["echo", e], ["order", o]]),
      ];
    }),
    notes: [
      `RT: median over ${roundsOf([ev, ov])} rounds of the round p50 round-trip time, with a 95% bootstrap interval. Server processing: the server's own time per request (median over rounds). Network share: the part of the order round trip not spent processing, against the guide's claim that network I/O is ${clo}-${chi}% of end-to-end latency. Ratios vs ${baseline}: below 1.00 is faster.`,
    ],
  };
}

/** The tables of one scenario, chosen by its id (unknown ids: one generic table per variant). */
export function tablesForScenario(s: ScenarioResult, baseline: string): Table[] {
  if (s.variants.length === 0) return [];
  if (s.id === 3) return [connectionTable(s, baseline)];
  if (s.id === 5) return [overheadTable(s, baseline)];
  return s.variants.map((v) => {
    if (s.id === 4) return openLoopTable(s, v, baseline);
    if (s.id === 2 || s.id === 6 || v.higherIsBetter) return throughputTable(s, v, baseline);
    return latencyTable(s, v, baseline);
  });
}

export function scenarioTables(r: BenchResults): Table[] {
  return r.scenarios.flatMap((s) => tablesForScenario(s, r.baseline));
}

/** One line per scenario that failed, was skipped or carries a note. */
export function scenarioStatusLines(r: BenchResults): string[] {
  return r.scenarios
    .filter((s) => s.status !== "ok" || s.variants.length === 0)
    .map((s) => `Scenario ${s.id} (${s.name}): ${s.status}${s.note ? `: ${s.note}` : ""}`);
}

const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

function improvementCells(c: Criterion): [string, string] {
  return [c.improvement_pct === null ? "n/a" : signed(c.improvement_pct), c.ci95 ? `[${signed(c.ci95[0])}, ${signed(c.ci95[1])}]` : "n/a"];
}

/** The decision gate: one row per criterion. */
export function gateTable(g: Gate): Table {
  return {
    title: `Decision gate: ${g.candidate} vs ${g.baseline} (improvement, %)`,
    columns: [
      { name: "id", align: "left" },
      { name: "criterion", align: "left" },
      { name: "threshold" },
      { name: "improvement" },
      { name: "95% CI" },
      { name: "status", align: "left" },
      { name: "note", align: "left" },
    ],
    rows: g.criteria.map((c) => [c.id, c.name, `> ${c.threshold_pct}`, ...improvementCells(c), c.status, c.note]),
    notes: [
      `Improvement: positive means ${g.candidate} is better than ${g.baseline}. PASS: the whole 95% interval is above the threshold; FAIL: the whole interval is below it; INCONCLUSIVE: the interval spans it. The guide proceeds on 2 or more PASS.`,
    ],
  };
}

/** The guide's Phase 0 check: the epoll server against the baseline, expected 15-30% better. */
export function phase0Table(g: Gate): Table | undefined {
  const p = g.phase0;
  if (!p) return undefined;
  const [lo, hi] = p.expected_pct;
  return {
    title: `Phase 0 check: ${p.backend} vs ${g.baseline} (improvement, %)`,
    columns: [
      { name: "id", align: "left" },
      { name: "metric", align: "left" },
      { name: "expected" },
      { name: "improvement" },
      { name: "95% CI" },
      { name: "status", align: "left" },
      { name: "note", align: "left" },
    ],
    rows: p.rows.map((c) => [c.id, c.name, `${lo}-${hi}`, ...improvementCells(c), c.status, c.note]),
    notes: [`The guide expects a non-blocking epoll server to be ${lo}-${hi}% better than the current implementation. Status is against ${lo}%: PASS when the whole interval is above it.`],
  };
}

export function verdictText(g: Gate): string {
  return `Verdict (${g.candidate} vs ${g.baseline}): ${g.verdict}. ${g.reason}`;
}

/** Per-request server costs of one scenario: a row per variant and backend. */
export function costsTable(s: ScenarioResult): Table | undefined {
  const rows: string[][] = [];
  for (const v of s.variants)
    for (const b of v.backends) {
      const c = b.costs;
      if (!c) continue;
      const res = b.resources;
      const fds = res?.before && res?.after ? `${res.before.fds} -> ${res.after.fds}` : "n/a";
      const rss = res?.after ? `${Math.round(res.after.rssKiB / 1024)} (${Math.round(res.after.peakRssKiB / 1024)})` : "n/a";
      rows.push([
        v.key,
        b.backend,
        fmtNum(c.cpu_us, 2),
        `${fmtNum(c.user_us, 2)} / ${fmtNum(c.sys_us, 2)}`,
        `${fmtNum(c.vol_ctx, 2)} / ${fmtNum(c.invol_ctx, 2)}`,
        c.syscalls === null ? `n/a (${c.syscalls_note ?? "not counted"})` : fmtNum(c.syscalls, 2),
        fds,
        rss,
      ]);
    }
  if (!rows.length) return undefined;
  return {
    title: `Scenario ${s.id}: ${s.name}, server cost per request`,
    columns: [
      { name: "variant", align: "left" },
      { name: "backend", align: "left" },
      { name: "CPU µs" },
      { name: "user / sys µs" },
      { name: "ctx switches vol / invol" },
      { name: "syscalls" },
      { name: "fds before -> after" },
      { name: "RSS MiB after (peak)" },
    ],
    rows,
    notes: [
      "Per request, over exactly the measured intervals: CPU of all server threads (schedstat), split by the kernel's user/system ticks; context switches summed over threads; syscalls from a separate, untimed perf pass (raw_syscalls:sys_enter).",
    ],
  };
}

/** The guide's per-request cost expectations for one gate, informational. */
export function informationalTable(g: Gate): Table | undefined {
  if (!g.informational?.length) return undefined;
  return {
    title: `The guide's cost expectations: ${g.candidate} against ${g.baseline} (informational)`,
    columns: [{ name: "measure", align: "left" }, { name: "scenario", align: "left" }, { name: g.baseline }, { name: g.candidate }, { name: "change" }, { name: "expected", align: "left" }, { name: "status", align: "left" }],
    rows: g.informational.map((x) => [
      x.name,
      x.scenario,
      x.baseline_value === null ? "n/a" : fmtNum(x.baseline_value, 2),
      x.candidate_value === null ? "n/a" : fmtNum(x.candidate_value, 2),
      x.change_pct === null ? "n/a" : `${signed(x.change_pct)}%`,
      x.expected,
      x.status,
    ]),
  };
}

/** Gates in report order: the extra pairs first, the headline gate (and its verdict) last. */
function gatesInOrder(r: BenchResults): Gate[] {
  if (!r.gate) return [];
  const others = (r.gates ?? []).filter((g) => !(g.baseline === r.gate!.baseline && g.candidate === r.gate!.candidate));
  return [...others, r.gate];
}

/** FFI backends and their C twins: what the Bun + FFI layer costs. */
export const C_TWINS: [string, string][] = [
  ["epoll", "c-epoll"],
  ["uring", "c-uring"],
];

/**
 * Each FFI backend against its C twin: scenario 1 p50 (ratio above 1.00: the
 * FFI loop is slower) and scenario 6 throughput (below 1.00: it is slower).
 */
export function twinTable(r: BenchResults): Table | undefined {
  const rows: string[][] = [];
  const find = (id: number, key: string, backend: string) =>
    r.scenarios.find((s) => s.id === id)?.variants.find((v) => v.key === key)?.backends.find((b) => b.backend === backend && !b.failure);
  for (const [ffi, twin] of C_TWINS) {
    const s1 = r.scenarios.find((s) => s.id === 1);
    for (const v of s1?.variants ?? []) {
      const a = find(1, v.key, ffi), b = find(1, v.key, twin);
      if (a && b) rows.push([`${ffi} / ${twin}`, `1: p50, ${v.key}`, fmtNum(a.headline), fmtNum(b.headline), (a.headline / b.headline).toFixed(2), "<= 1.10"]);
    }
    const a6 = find(6, "stress", ffi), b6 = find(6, "stress", twin);
    if (a6 && b6) rows.push([`${ffi} / ${twin}`, "6: msg/s", fmtRate(a6.headline), fmtRate(b6.headline), (a6.headline / b6.headline).toFixed(2), ">= 0.90"]);
  }
  if (!rows.length) return undefined;
  return {
    title: "The Bun + FFI layer: each TypeScript loop against its C twin",
    columns: [{ name: "pair", align: "left" }, { name: "measure", align: "left" }, { name: "FFI loop" }, { name: "C twin" }, { name: "ratio" }, { name: "target" }],
    rows,
    notes: ["Medians over rounds. Same loop, same kernel interface: the ratio is what running it in TypeScript through bun:ffi costs. Latency ratios above 1 and throughput ratios below 1 mean the FFI loop is slower."],
  };
}

function costTables(r: BenchResults, withMicroAndClaims = true): Table[] {
  const out = r.scenarios.map(costsTable).filter((t): t is Table => t !== undefined);
  const twins = twinTable(r);
  if (twins) out.push(twins);
  if (withMicroAndClaims && r.micro) out.push(microTable(r.micro));
  if (withMicroAndClaims && r.claims?.length) out.push(claimsToTable(r.claims));
  return out;
}

function gateTables(g: Gate, headline: boolean): Table[] {
  const p0 = headline ? phase0Table(g) : undefined;
  const info = informationalTable(g);
  return [...(p0 ? [p0] : []), gateTable(g), ...(info ? [info] : [])];
}

function backendLines(r: BenchResults): string[] {
  return r.backends.map((b) => `  ${b.name.padEnd(8)} ${b.available ? b.description : `UNAVAILABLE: ${b.reason}. Hint: ${b.hint}`}`);
}

/** Each placement's results as a BenchResults view (one element without --placement both). */
function placementViews(r: BenchResults): { title?: string; view: BenchResults }[] {
  if (!r.placements || r.placements.length < 2) return [{ view: r }];
  return r.placements.map((p) => ({
    title: `Placement: ${placementText(p.placement)}`,
    view: { ...r, scenarios: p.scenarios, gate: p.gate, gates: p.gates, context: { ...r.context, placement: p.placement }, placements: undefined },
  }));
}

/** Scenario 1 p50 per backend and size under each placement: how much the cross-core wake-up costs here. */
export function placementEffectTable(r: BenchResults): Table | undefined {
  if (!r.placements || r.placements.length < 2) return undefined;
  const [a, b] = r.placements;
  const s1a = a.scenarios.find((s) => s.id === 1), s1b = b.scenarios.find((s) => s.id === 1);
  if (!s1a || !s1b) return undefined;
  const rows: string[][] = [];
  for (const va of s1a.variants) {
    const vb = s1b.variants.find((v) => v.key === va.key);
    for (const ba of va.backends) {
      const bb = vb?.backends.find((x) => x.backend === ba.backend);
      const pa = ba.pooled?.p50, pb = bb?.pooled?.p50;
      rows.push([va.key, ba.backend, fmtNum(pa), fmtNum(pb), pa && pb ? (pa / pb).toFixed(2) : "n/a"]);
    }
  }
  return {
    title: `Placement effect: scenario 1 p50, ${a.placement.mode} against ${b.placement.mode} (µs)`,
    columns: [{ name: "size", align: "left" }, { name: "backend", align: "left" }, { name: a.placement.mode }, { name: b.placement.mode }, { name: `${a.placement.mode} / ${b.placement.mode}` }],
    rows,
    notes: ["On virtual machines a wake-up across cores can cost more than the rest of the round trip; compare the verdicts of both placements before concluding."],
  };
}

export function renderTerminalReport(r: BenchResults): string {
  const parts = [contextLines(r.context).join("\n"), ["backends", ...backendLines(r)].join("\n")];
  const views = placementViews(r);
  for (const { title, view } of views) {
    if (title) parts.push(`=== ${title} ===`);
    for (const t of scenarioTables(view)) parts.push(renderTerminal(t));
    const status = scenarioStatusLines(view);
    if (status.length) parts.push(status.join("\n"));
    for (const t of costTables(view, view === views[views.length - 1].view)) parts.push(renderTerminal(t));
  }
  const effect = placementEffectTable(r);
  if (effect) parts.push(renderTerminal(effect));
  if (r.warnings.length) parts.push(["warnings:", ...r.warnings.map((w) => `  - ${w}`)].join("\n"));
  // Every placement's gates; the headline (first placement, first pair) comes last.
  for (const { title, view } of [...views].reverse()) {
    for (const g of gatesInOrder(view)) {
      for (const t of gateTables(g, g === view.gate)) parts.push(renderTerminal(withPlacement(t, title)));
      parts.push(title ? `${verdictText(g)} [${view.context.placement.mode}]` : verdictText(g));
    }
  }
  return parts.join("\n\n");
}

function withPlacement(t: Table, title?: string): Table {
  return title ? { ...t, title: `${t.title} [${title.replace(/^Placement: /, "")}]` } : t;
}

/** The gate as markdown: Phase 0 table, gate table and verdict. */
export function renderGateMarkdown(g: Gate, headline = true): string {
  return [...gateTables(g, headline).map((t) => renderMarkdown(t)), `**Verdict (${g.candidate} vs ${g.baseline}): ${g.verdict}.** ${g.reason}`].join("\n\n");
}

export function renderMarkdownReport(r: BenchResults): string {
  const c = r.context;
  const parts = [
    "### iouring-bench results",
    "",
    "| | |",
    "|:---|:---|",
    ...contextLines(c).map((l) => {
      const [k, ...rest] = l.split(/\s+/);
      return `| ${k} | ${rest.join(" ").replace(/\|/g, "\\|")} |`;
    }),
  ].join("\n");
  const views = placementViews(r);
  const sections: string[] = [];
  for (const { title, view } of views) {
    if (title) sections.push(`#### ${title}`);
    sections.push(...scenarioTables(view).map((t) => renderMarkdown(t)));
    const status = scenarioStatusLines(view);
    if (status.length) sections.push(status.map((l) => `- ${l}`).join("\n"));
    sections.push(...costTables(view, view === views[views.length - 1].view).map((t) => renderMarkdown(t)));
  }
  const effect = placementEffectTable(r);
  if (effect) sections.push(renderMarkdown(effect));
  const warn = r.warnings.length ? ["#### Warnings", "", ...r.warnings.map((w) => `- ${w}`)].join("\n") : "";
  const gates: string[] = [];
  for (const { title, view } of [...views].reverse())
    for (const g of gatesInOrder(view)) {
      gates.push(...gateTables(g, g === view.gate).map((t) => renderMarkdown(withPlacement(t, title))));
      gates.push(`**Verdict (${g.candidate} vs ${g.baseline}${title ? `, ${view.context.placement.mode}` : ""}): ${g.verdict}.** ${g.reason}`);
    }
  return [parts, ...sections, warn, ...gates].filter(Boolean).join("\n\n") + "\n";
}
