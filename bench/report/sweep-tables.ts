// The connection sweep's tables (bench/verdict/sweep.ts analyses it): per
// window and payload one throughput table (a column per backend, a column per
// gate pair's paired gain) and one cost table (server CPU and p99 per
// backend); the crossover, where a candidate gets ahead of its baseline by
// more than the guide's threshold; the capacity at a p99 target; and many
// idle connections. Throughput is written compactly (182k [176k, 190k]) so
// five backends still fit on a line.
import { errorCount, type ClientErrors } from "../results/errors.ts";
import type { CapacityResult, IdleResult, SweepBackend, SweepCrossover, SweepGain, SweepResults } from "../results/schema.ts";
import { fmtNum, fmtRate, signed } from "./format.ts";
import type { Table } from "./table.ts";

export const SWEEP_TITLE = "Where io_uring overtakes epoll: the connection sweep";
export const IDLE_TITLE = "Many idle connections";
/** Marks a client-bound figure. */
export const CLIENT_BOUND_MARK = "†";
/** Marks the crossover in a gain column. */
export const CROSSOVER_MARK = "◀";

/** The load clients a sweep names (SweepResults.client), as a reader should know them. */
const CLIENTS: Record<string, string> = { c: "c (c/loadgen.c through bun:ffi)" };
export const clientText = (client: string) => CLIENTS[client] ?? client;

/** A rate with 3 significant figures and a unit: 950, 31.0k, 182k, 1.25M. */
export function fmtRateCompact(x: number | null | undefined): string {
  if (x == null || !Number.isFinite(x)) return "n/a";
  const units = ["", "k", "M", "G"];
  let v = Math.abs(x);
  let u = 0;
  // Rounded before the unit is chosen: 999,600 is 1.00M, not 1000k.
  while (u < units.length - 1 && Number(v.toPrecision(3)) >= 1000) {
    v /= 1000;
    u++;
  }
  return `${x < 0 ? "-" : ""}${u === 0 ? String(Math.round(v)) : v.toPrecision(3)}${units[u]}`;
}

/** A confidence as a percentage: 0.95 -> "95", 0.983 -> "98.3". */
export const confidenceText = (c: number) => (c * 100).toFixed(1).replace(/\.0$/, "");

/** "3 timeout, 1 closed", or "0". */
export function errorsText(e: ClientErrors): string {
  if (errorCount(e) === 0) return "0";
  return Object.entries(e)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
}

const pairName = (p: { baseline: string; candidate: string }) => `${p.candidate} vs ${p.baseline}`;
const orNa = (x: number | null, digits: number) => (x === null ? "n/a" : fmtNum(x, digits));
const intervalText = (ci: [number, number] | null) => (ci && Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? `[${signed(ci[0])}, ${signed(ci[1])}]` : null);
const unique = <T>(xs: T[]) => [...new Set(xs)];
/** Prose from the results as one sentence: its own full stop, not two. */
const sentence = (x: string) => x.replace(/\.\s*$/, "") + ".";

/** The window and payload combinations measured, in the order the run declared them (any others after). */
export function sweepCombos(s: SweepResults): { window: number; payload: number }[] {
  const seen = s.points.map((p) => `${p.window}/${p.payload}`);
  const declared = s.windows.flatMap((window) => s.payloads.map((payload) => ({ window, payload })));
  const rest = s.points.map((p) => ({ window: p.window, payload: p.payload }));
  const out: { window: number; payload: number }[] = [];
  for (const c of [...declared, ...rest]) {
    const key = `${c.window}/${c.payload}`;
    if (seen.includes(key) && !out.some((o) => `${o.window}/${o.payload}` === key)) out.push(c);
  }
  return out;
}

/** Backends in the order they first appear. */
export const sweepBackends = (s: SweepResults) => unique(s.points.flatMap((p) => p.backends.map((b) => b.backend)));

const pointsOf = (s: SweepResults, window: number, payload: number) => s.points.filter((p) => p.window === window && p.payload === payload).sort((a, b) => a.connections - b.connections);

/** "182k [176k, 190k]", the client-bound mark after it; the failure when there is no figure. */
function throughputCell(b: SweepBackend | undefined): string {
  if (!b) return "—";
  if (b.throughput === null) return b.failure ? `— (${b.failure})` : "n/a";
  const ci = b.ci95 && Number.isFinite(b.ci95[0]) && Number.isFinite(b.ci95[1]) ? ` [${fmtRateCompact(b.ci95[0])}, ${fmtRateCompact(b.ci95[1])}]` : "";
  return `${fmtRateCompact(b.throughput)}${ci}${b.client_bound ? CLIENT_BOUND_MARK : ""}`;
}

/** "+12.3% [+5.0, +19.1]", the crossover mark after it. */
function gainCell(g: SweepGain | undefined, crossover: boolean): string {
  if (!g || g.estimate_pct === null) return "n/a";
  const ci = intervalText(g.ci) ?? `(n/a: ${g.rounds} paired round${g.rounds === 1 ? "" : "s"})`;
  return `${signed(g.estimate_pct)}% ${ci}${crossover ? ` ${CROSSOVER_MARK}` : ""}`;
}

/** Where a line of the sweep's analysis applies: "window 1, 64 B". */
const comboText = (window: number, payload: number) => `window ${window}, ${payload} B`;

/** Per window and payload: throughput with the gains, then CPU and p99 per backend. */
export function sweepTables(s: SweepResults): Table[] {
  return sweepCombos(s).flatMap(({ window, payload }) => sweepComboTables(s, window, payload));
}

/** One window and payload's two tables: throughput with the gains, then CPU and p99 per backend. */
export function sweepComboTables(s: SweepResults, window: number, payload: number): [Table, Table] {
  const names = sweepBackends(s);
  const pairs = unique(s.points.flatMap((p) => p.gains.map(pairName))).map((n) => s.points.flatMap((p) => p.gains).find((g) => pairName(g) === n)!);
  const conf = confidenceText(s.confidence);
  const busy = `${Math.round(s.client_bound_util * 100)}%`;
  const points = pointsOf(s, window, payload);
  const crossings = s.crossover.filter((c) => c.window === window && c.payload === payload && c.connections !== null);
  const at = (conns: number, name: string) => points.find((p) => p.connections === conns)?.backends.find((b) => b.backend === name);
  const clientBound = points.some((p) => p.backends.some((b) => b.client_bound && b.throughput !== null));
  const marked = crossings.filter((c) => points.some((p) => p.connections === c.connections && p.gains.some((g) => pairName(g) === pairName(c))));
  const throughput: Table = {
    title: `Connection sweep, ${comboText(window, payload)}: throughput (msg/s)`,
    columns: [{ name: "connections" }, ...names.map((n) => ({ name: `${n} [95% CI]` })), ...pairs.map((g) => ({ name: pairName(g) }))],
    rows: points.map((p) => [
      fmtRate(p.connections),
      ...names.map((n) => throughputCell(at(p.connections, n))),
      ...pairs.map((pair) => gainCell(p.gains.find((g) => pairName(g) === pairName(pair)), crossings.some((c) => pairName(c) === pairName(pair) && c.connections === p.connections))),
    ]),
    notes: [
      `Completed requests per second: the median over each backend's rounds (${s.rounds} planned, ${s.duration_s} s measured after ${s.warmup_s} s of warm-up) with its 95% interval; k = thousand, M = million. Window: requests in flight per connection. Load client: ${clientText(s.client)}.`,
      ...(pairs.length ? [`${pairs.map(pairName).join(", ")}: the candidate's throughput over the baseline's, % (positive: the candidate carries more), paired by round, with its ${conf}% interval (the method is under the crossover table).`] : []),
      ...(marked.length ? [`${CROSSOVER_MARK} the crossover: the fewest connections from which the whole interval is above the threshold, there and at every count above (${marked.map((c) => `${pairName(c)}: +${c.threshold_pct}%`).join(", ")}).`] : []),
      ...(clientBound ? [`${CLIENT_BOUND_MARK} client-bound: the load client was busy ≥ ${busy} of the interval in most rounds; the server may have more to give.`] : []),
    ],
  };
  // The scheduling delay is shown only when the run measured it (a hiccup meter on the server's CPU).
  const delays = points.some((p) => p.backends.some((b) => b.sched_delay_ms !== null && b.sched_delay_ms !== undefined));
  const perBackend = (b: SweepBackend | undefined): string[] => {
    if (!b || b.throughput === null) return delays ? ["—", "—", "—"] : ["—", "—"];
    return [orNa(b.cpu_us, 1), orNa(b.p99_us, 0), ...(delays ? [orNa(b.sched_delay_ms ?? null, 1)] : [])];
  };
  const cost: Table = {
    title: `Connection sweep, ${comboText(window, payload)}: server CPU per request and p99 latency (µs)`,
    columns: [{ name: "connections" }, ...names.flatMap((n) => [{ name: `${n} CPU` }, { name: `${n} p99` }, ...(delays ? [{ name: `${n} delay, ms` }] : [])]), { name: "errors", align: "left" }],
    rows: points.map((p) => {
      const errors = names.flatMap((n) => {
        const b = at(p.connections, n);
        return b && errorCount(b.errors) > 0 ? [`${n}: ${errorsText(b.errors)}`] : [];
      });
      return [
        fmtRate(p.connections),
        ...names.flatMap((n) => perBackend(at(p.connections, n))),
        errors.length ? errors.join("; ") : "0",
      ];
    }),
    notes: [
      `CPU: the server's CPU time per request over every round's measured interval. p99: the median over rounds of each round's p99 latency (closed loop: from each request's write). Errors: the load client's count, by kind. —: no figure (the throughput table says why).`,
      ...(delays
        ? ["Delay: the worst lateness of a real-time thread on the server's CPU during a unit (median over rounds), ms: how long the server's kernel work kept that CPU from every other thread (a PREEMPT_NONE kernel does not interrupt a long in-kernel batch)."]
        : []),
    ],
  };
  return [throughput, cost];
}

function crossoverCell(c: SweepCrossover): string {
  if (c.connections !== null) return `${fmtRate(c.connections)} connections`;
  return c.max_connections > 0 ? `none up to ${fmtRate(c.max_connections)}` : "no figures for both";
}

/** The gain at the crossover; with none, at the most connections swept. */
function crossoverGain(c: SweepCrossover): string {
  if (c.estimate_pct === null) return "n/a";
  const ci = intervalText(c.ci);
  return `${signed(c.estimate_pct)}%${ci ? ` ${ci}` : ""}${c.connections === null ? ` at ${fmtRate(c.max_connections)}` : ""}`;
}

/** A row per gate pair, window and payload: where the candidate gets ahead by more than the threshold. */
export function crossoverTable(s: SweepResults): Table {
  const leak = s.client_fds.after > s.client_fds.before ? ` LEAK: ${s.client_fds.after - s.client_fds.before} descriptors of the bench process were not closed (${s.client_fds.before} before, ${s.client_fds.after} after).` : "";
  return {
    title: "Crossover: the fewest connections from which the candidate's throughput is ahead by more than the threshold",
    columns: [
      { name: "pair", align: "left" },
      { name: "window" },
      { name: "payload" },
      { name: "threshold" },
      { name: "crossover", align: "left" },
      { name: `gain [${confidenceText(s.confidence)}% CI]` },
      { name: "holds above", align: "left" },
      { name: "note", align: "left" },
    ],
    rows: s.crossover.map((c) => [
      pairName(c),
      String(c.window),
      `${c.payload} B`,
      `> ${c.threshold_pct}%`,
      crossoverCell(c),
      crossoverGain(c),
      c.holds_above === null ? "n/a" : c.holds_above ? "yes" : "no",
      c.note,
    ]),
    notes: [
      `Crossover: the fewest connections swept (${s.connections.map(fmtRate).join(", ")}) from which the whole interval of the candidate's throughput gain over the baseline is above the threshold (the guide's stress criterion, C4), there and at every count above. The gain shown is at the crossover, or with none at the most connections swept. Holds above: every larger count swept stays above the threshold too.`,
      `Method: ${sentence(s.method)}`,
      `Load client: ${clientText(s.client)}; ${s.rounds} rounds planned, ${s.duration_s} s per point and backend after ${s.warmup_s} s of warm-up; the sweep took ${fmtNum(s.elapsed_s, 0)} s. Descriptors: ${fmtRate(s.nofile.needed)} needed, soft limit ${fmtRate(s.nofile.soft)}${s.nofile.note ? ` (${s.nofile.note})` : ""}.${leak}`,
      ...s.notes,
    ],
  };
}

/** The p99 targets of the capacity searches: "500" or "500, 1000". */
export const sloText = (c: CapacityResult[]) => unique(c.map((x) => x.slo_p99_us)).map((x) => fmtNum(x, 0)).join(", ");

export const capacityTitle = (c: CapacityResult[]) => `Capacity at p99 ≤ ${sloText(c)} µs`;

function capacityCell(c: CapacityResult): string {
  if (c.failure) return `FAILED: ${c.failure}`;
  if (c.rate === null) return "< first probe";
  return c.client_bound ? `≥ ${fmtRate(c.rate)} (client-bound)` : fmtRate(c.rate);
}

/** A row per backend (and connections, payload): the highest open-loop rate that kept p99 under the target. */
export function capacityTable(c: CapacityResult[]): Table {
  const searches = Math.max(0, ...c.map((x) => x.searches.length));
  return {
    title: `${capacityTitle(c)}: the highest open-loop rate each backend carries (requests/s)`,
    columns: [
      { name: "backend", align: "left" },
      { name: "connections" },
      { name: "payload" },
      { name: "p99 target, µs" },
      { name: "capacity, req/s" },
      { name: "p99 at it, µs" },
      { name: "CPU µs/req" },
      { name: "each search, req/s" },
      { name: "limited by", align: "left" },
    ],
    rows: c.map((x) => [
      x.backend,
      fmtRate(x.connections),
      `${x.payload} B`,
      fmtNum(x.slo_p99_us, 0),
      capacityCell(x),
      orNa(x.p99_us, 0),
      orNa(x.cpu_us, 1),
      x.searches.map((z) => (z.rate === null ? "< first" : fmtRateCompact(z.rate))).join(", ") || "n/a",
      unique(x.searches.map((z) => z.limited_by)).join(", ") || "n/a",
    ]),
    notes: [
      `Capacity: the highest rate asked for (requests sent on schedule, open loop) whose p99 latency, counted from each request's intended send time, stayed at or under the target; the lowest over the searches (${searches} at most), what to provision with. < first probe: even the lowest rate tried missed the target. Each search: its own answer, in round order.`,
      "Limited by (each search's reason to stop): slo, p99 went over the target; errors, requests failed; client, the load client could not send faster, so the capacity is at least the figure; max-rate, the highest rate tried passed; budget, the search ran out of time.",
    ],
  };
}

const orDash = (x: number | null) => (x === null ? "?" : fmtRate(x));

function fdsCell(f: IdleResult["fds"]): string {
  if (f.before === null && f.open === null && f.after === null) return "n/a";
  const leak = f.before !== null && f.after !== null && f.after > f.before ? ` LEAK +${f.after - f.before}` : "";
  return `${orDash(f.before)} / ${orDash(f.open)} / ${orDash(f.after)}${leak}`;
}

const arrow = (a: number | null | undefined, b: number | null | undefined, digits: number) => (a == null && b == null ? "n/a" : `${a == null ? "?" : fmtNum(a, digits)} → ${b == null ? "?" : fmtNum(b, digits)}`);

function p99Change(i: IdleResult): string {
  const a = i.alone?.p99_us, b = i.with_idle?.p99_us;
  if (a == null || b == null || !(a > 0)) return "n/a";
  return `${signed((b / a - 1) * 100)}%`;
}

/** A row per backend: what holding many idle connections costs, in memory, descriptors and the active ones' latency. */
export function idleTable(i: IdleResult[]): Table {
  return {
    title: `${IDLE_TITLE}: memory, descriptors and the active connections' latency`,
    columns: [
      { name: "backend", align: "left" },
      { name: "idle / active" },
      { name: "KiB per idle conn" },
      { name: "RSS before → after, KiB" },
      { name: "fds before / open / after" },
      { name: "p50 alone → with idle, µs" },
      { name: "p99 alone → with idle, µs" },
      { name: "p99 change" },
      { name: "errors", align: "left" },
    ],
    rows: i.map((x) => [
      x.backend,
      `${fmtRate(x.idle)} / ${fmtRate(x.active)}`,
      x.bytes_per_conn === null ? "n/a" : fmtNum(x.bytes_per_conn / 1024, 2),
      x.rss_before_kib === null && x.rss_after_kib === null ? "n/a" : `${orDash(x.rss_before_kib)} → ${orDash(x.rss_after_kib)}`,
      fdsCell(x.fds),
      arrow(x.alone?.p50_us, x.with_idle?.p50_us, 1),
      arrow(x.alone?.p99_us, x.with_idle?.p99_us, 1),
      p99Change(x),
      x.failure ? `FAILED: ${x.failure}` : errorsText(x.errors),
    ]),
    notes: [
      "KiB per idle connection: (the server's RSS with the idle connections open − its RSS before) ÷ the idle connections. fds: the server's open descriptors before, with every connection open, and after closing them; LEAK when after is above before.",
      "Latency: the active connections' ping-pong round trip, µs, without the idle connections (half measured before them, half after) and with them open; p99 change: with idle over alone (positive: the idle connections slow the active ones).",
    ],
  };
}
