// The core-scaling sweep in the report: one table (a row per core count and
// backend: throughput with its interval, efficiency with its interval,
// server CPU per request, p99, client CPU) and one chart of throughput
// against server cores, a line per backend, drawn by the sweep's chart.
import type { CoreScalingResults } from "../results/schema.ts";
import { cpuListText } from "../measure/machine.ts";
import { fmtNum, fmtRate } from "./format.ts";
import { throughputChartSvg } from "./sweep-chart.ts";
import { CLIENT_BOUND_MARK, errorsText } from "./sweep-tables.ts";
import type { Table } from "./table.ts";

export const CORE_SCALING_TITLE = "Many cores: the core-scaling sweep";
export const NO_VERDICT_CORES = "No verdict: this run measured the core-scaling sweep only; the decision gate needs the scenarios (--scenarios all, with --gate-pairs tokio-mt:c-uring-mt for the many-core pair).";

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The backends in the order they first appear. */
const backendsOf = (c: CoreScalingResults) => [...new Set(c.points.flatMap((p) => p.backends.map((b) => b.backend)))];

export function coreScalingTable(c: CoreScalingResults): Table {
  const rows: string[][] = [];
  for (const p of c.points)
    for (const b of p.backends) {
      const mark = b.client_bound ? ` ${CLIENT_BOUND_MARK}` : "";
      rows.push([
        `${p.cores}${p.shared ? " (shared)" : ""}`,
        b.backend,
        b.throughput === null ? `n/a${b.failure ? ` (${b.failure})` : ""}` : `${fmtRate(b.throughput)}${mark}`,
        b.ci95 ? `[${fmtRate(b.ci95[0])}, ${fmtRate(b.ci95[1])}]` : "n/a",
        p.cores === c.reference_cores ? "1 (reference)" : b.efficiency === null ? "n/a" : pct(b.efficiency),
        b.efficiency_ci && p.cores !== c.reference_cores ? `[${pct(b.efficiency_ci[0])}, ${pct(b.efficiency_ci[1])}]` : "",
        b.cpu_us === null ? "n/a" : fmtNum(b.cpu_us),
        b.p99_us === null ? "n/a" : fmtNum(b.p99_us),
        b.client_util === null ? "n/a" : pct(b.client_util),
        errorsText(b.errors),
      ]);
    }
  const where = c.points.map((p) => `${p.cores}: server CPU${p.server_cpus.length > 1 ? "s" : ""} ${cpuListText(p.server_cpus)}, client CPU${p.client_cpus.length > 1 ? "s" : ""} ${cpuListText(p.client_cpus)} (${p.client_threads} load thread${p.client_threads > 1 ? "s" : ""}), ${p.connections} connections`);
  return {
    title: `${CORE_SCALING_TITLE}: throughput against server cores, window ${c.window}, ${c.payload} B payloads (msg/s)`,
    columns: [
      { name: "cores", align: "left" },
      { name: "backend", align: "left" },
      { name: "throughput" },
      { name: "95% CI" },
      { name: "efficiency" },
      { name: "efficiency 95% CI" },
      { name: "server CPU µs/req" },
      { name: "p99 µs" },
      { name: "client CPU" },
      { name: "errors", align: "left" },
    ],
    rows,
    notes: [
      ...(rows.length ? [] : ["Nothing measured."]),
      ...(where.length ? [`Placement per count: ${where.join("; ")}.`] : []),
      `Throughput: median over ${c.rounds} rounds. Efficiency: throughput at N cores over N × the throughput at ${c.reference_cores ?? "the reference"} core${c.reference_cores === 1 ? "" : "s"} (100%: linear scaling). ${CLIENT_BOUND_MARK} client-bound: the busiest client CPU was ≥ ${Math.round(c.client_bound_util * 100)}% busy in most rounds, so the figure (and its efficiency) is a lower bound of the server's. Server CPU: every server thread, per request.`,
      ...c.notes,
      c.method,
    ],
  };
}

/** Throughput against server cores, a line per backend over its 95% interval; client-bound points hollow. */
export function coreScalingChartSvg(c: CoreScalingResults): string {
  return throughputChartSvg({
    points: c.points.map((p) => ({ connections: p.cores, window: c.window, payload: c.payload, backends: p.backends, gains: [] })),
    crossover: [],
    clientBoundUtil: c.client_bound_util,
    names: backendsOf(c),
    title: `Throughput against server cores: ${c.connections_per_core} connections per core, window ${c.window}, ${c.payload} B`,
    xLabel: `server cores (log scale)${c.left_out.length ? `; not measured here: ${c.left_out.map((l) => l.cores).join(", ")}` : ""}`,
    noCrossoverUnit: "cores",
    window: c.window,
    payload: c.payload,
  });
}
