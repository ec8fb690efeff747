// The tables of the scenarios' results: latency percentiles, throughput,
// connection reuse, open-loop latency and request overhead. Which scenario gets
// which is decided in scenario-layout.ts.
import type { BenchResults, BackendResult, ScenarioResult, VariantResult } from "../results/schema.ts";
import { median } from "../stats/stats.ts";
import { mostlyClientBound } from "../results/summary.ts";
import { backendNames, combinedErrors, errorsCell, extraOf, fmtNum, fmtRate, fmtRatio, headlineCell, paramsText, ratioNote, roundsOf } from "./format.ts";
import { scenarioReportSpec } from "./scenario-layout.ts";
import type { Table } from "./table.ts";

/** Latency percentiles per backend, over every sample of every round. */
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
      { name: `p50 vs ${baseline}` },
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
      `Percentiles over all ${rounds} rounds' samples (${v.params.iterations} round trips per round).`,
      ratioNote([v], baseline, "Ratios of the rounds' p50; below 1.00 is faster."),
    ],
  };
}

/** Throughput per backend (scenarios 2 and 6, and any variant where higher is better). */
/** The client's CPU over the rounds' measured intervals: "62%", with † when most rounds were client-bound. */
function clientCell(b: BackendResult): string {
  const u = b.rounds.map((r) => r.client_util).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (!u.length) return "n/a";
  return `${Math.round(median(u) * 100)}%${mostlyClientBound(b.rounds) ? " †" : ""}`;
}

export function throughputTable(s: ScenarioResult, v: VariantResult, baseline: string): Table {
  // Shown when the rounds recorded the client's CPU (every run since the sweep; not older JSON).
  const client = v.backends.some((b) => b.rounds.some((r) => r.client_util !== undefined));
  const loadClient = v.params.client === "c" ? "the C load client (c/loadgen.c)" : "the TypeScript load client (bench/clients/load.ts)";
  return {
    title: `Scenario ${s.id}: ${s.name}, ${v.label} (msg/s)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "throughput" },
      { name: "slowest round" },
      { name: "fastest round" },
      { name: `vs ${baseline}` },
      ...(client ? [{ name: "client CPU" }] : []),
      { name: "errors", align: "left" },
    ],
    rows: v.backends.map((b) => {
      const t = b.rounds.map((r) => r.throughput).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return [
        b.backend,
        b.failure ? "n/a" : fmtRate(b.headline),
        t.length ? fmtRate(Math.min(...t)) : "n/a",
        t.length ? fmtRate(Math.max(...t)) : "n/a",
        fmtRatio(b, baseline),
        ...(client ? [clientCell(b)] : []),
        errorsCell(b),
      ];
    }),
    notes: [
      `Completed messages per second: median over ${roundsOf([v])} rounds.${paramsText(v)}`,
      ratioNote([v], baseline, "Above 1.00 is faster."),
      ...(client
        ? [`Client CPU: the busiest client CPU's time spent on the load client over the measured interval (its threads summed; median over rounds), ${loadClient}; † client-bound (≥ 90%) in most rounds: the figure may be the client's limit, not the server's.`]
        : []),
    ],
  };
}

/** A new connection per request against a reused one (scenario 3). */
export function connectionTable(s: ScenarioResult, baseline: string): Table {
  const nv = s.variants.find((v) => v.key === "new-connection");
  const rv = s.variants.find((v) => v.key === "reused-connection");
  const ms = (x: number) => fmtNum(x);
  return {
    title: `Scenario ${s.id}: ${s.name}, time per request (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "new connection p50 (range)" },
      { name: "reused p50 (range)" },
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
      `Median over ${roundsOf([nv, rv])} rounds of each round's p50 time per request, the lowest and highest round in parentheses. connect p50/p99: medians over rounds of the connection set-up time (new connection only). new ÷ reused: what a fresh connection costs against a reused one.`,
      ratioNote([nv, rv], baseline, "Below 1.00 is faster."),
    ],
  };
}

/** Open-loop latency (scenario 4), corrected (from the intended send time) and uncorrected. */
export function openLoopTable(s: ScenarioResult, v: VariantResult, baseline: string): Table {
  const rates = v.backends.map((b) => `${b.backend} ${fmtRate(extraOf(b, "rate_per_s"))}`).join(", ");
  return {
    title: `Scenario ${s.id}: ${s.name}, ${v.label} (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "p50 (range)" },
      { name: "p95" },
      { name: "p99" },
      { name: "p99.9" },
      { name: "max" },
      { name: "uncorr. p50" },
      { name: "uncorr. p95" },
      { name: "uncorr. p99" },
      { name: "uncorr. p99.9" },
      { name: "uncorr. max" },
      { name: `p50 vs ${baseline}` },
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
      `Corrected latency counts from each request's intended send time, so a stalled server is charged for the requests it delayed; uncorrected counts from the actual send time, as a closed-loop tool would. p50: median over ${roundsOf([v])} rounds of the round p50, the lowest and highest round in parentheses; the other percentiles are over all samples of all rounds.`,
      ratioNote([v], baseline, "Below 1.00 is faster."),
      `Rate, requests/s (median over rounds): ${rates}.`,
    ],
  };
}

/** The guide's claim for the network share of end-to-end latency, %. */
export const GUIDE_NETWORK_SHARE: [number, number] = [75, 80];

/** Request-response overhead, echo against order matching (scenario 5). */
export function overheadTable(s: ScenarioResult, baseline: string): Table {
  const ev = s.variants.find((v) => v.key === "echo");
  const ov = s.variants.find((v) => v.key === "order");
  const [clo, chi] = GUIDE_NETWORK_SHARE;
  const ms = (x: number) => fmtNum(x);
  return {
    title: `Scenario ${s.id}: ${s.name}, time per request (µs)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "echo RT p50 (range)" },
      { name: "order RT p50 (range)" },
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
      `RT: median over ${roundsOf([ev, ov])} rounds of the round p50 round-trip time, the lowest and highest round in parentheses. Server processing: the server's own time per request (median over rounds). Network share: the part of the order round trip not spent processing, against the guide's claim that network I/O is ${clo}-${chi}% of end-to-end latency.`,
      ratioNote([ev, ov], baseline, "Below 1.00 is faster."),
    ],
  };
}

/** The tables of one scenario, in the layout it asks for. */
export function tablesForScenario(s: ScenarioResult, baseline: string): Table[] {
  if (s.variants.length === 0) return [];
  switch (scenarioReportSpec(s.slug).layout) {
    case "connection-reuse":
      return [connectionTable(s, baseline)];
    case "overhead":
      return [overheadTable(s, baseline)];
    case "open-loop":
      return s.variants.map((v) => openLoopTable(s, v, baseline));
    case "throughput":
      return s.variants.map((v) => throughputTable(s, v, baseline));
    case "by-metric":
      return s.variants.map((v) => (v.higherIsBetter ? throughputTable(s, v, baseline) : latencyTable(s, v, baseline)));
  }
}

export function scenarioTables(r: BenchResults): Table[] {
  return r.scenarios.flatMap((s) => tablesForScenario(s, r.baseline));
}
