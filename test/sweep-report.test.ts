// The connection sweep, the capacity at a p99 target and the idle connections
// as the report shows them, on synthetic results: the exact text of each table
// (terminal and markdown), the chart's shape (well-formed, a line and a band
// per backend, the swept counts as ticks, client-bound points hollow, names
// escaped), and where buildReport puts them: a sweep-only run's first page is
// the crossover with no verdict, a full run folds them after the ladder.
import { describe, expect, test } from "bun:test";
import { noErrors } from "../bench/results/errors.ts";
import { buildReport, capacityTable, crossoverTable, fmtRateCompact, idleTable, renderMarkdownReport, renderTerminalReport, sweepChartSvg, sweepChartsSvg, sweepTables, type Block } from "../bench/report/report.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";
import { renderTerminal } from "../bench/report/terminal.ts";
import type { BackendResult, BenchResults, CapacityResult, Gate, IdleResult, SweepBackend, SweepPoint, SweepResults } from "../bench/results/schema.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";
import { checkXml } from "./xml-check.ts";

const sb = (backend: string, throughput: number | null, extra: Partial<SweepBackend> = {}): SweepBackend => ({
  backend,
  throughput,
  ci95: throughput === null ? null : [throughput * 0.97, throughput * 1.04],
  cpu_us: throughput === null ? null : 2e6 / throughput,
  sched_delay_ms: null,
  rounds_throughput: throughput === null ? [] : [throughput * 0.98, throughput, throughput * 1.01],
  p99_us: throughput === null ? null : 40 + throughput / 5000,
  client_bound: false,
  client_util: 0.5,
  rounds: 5,
  errors: noErrors(),
  ...extra,
});

const point = (connections: number, window: number, backends: SweepBackend[], gain: [number, number, number]): SweepPoint => ({
  connections,
  window,
  payload: 64,
  backends,
  gains: [{ baseline: "epoll", candidate: "uring", estimate_pct: gain[0], ci: [gain[1], gain[2]], rounds: 5 }],
});

function sweep(names = { epoll: "epoll", uring: "uring", bun: "bun" }): SweepResults {
  const { epoll, uring, bun } = names;
  return {
    client: "c",
    connections: [1, 64, 1024],
    windows: [1, 16],
    payloads: [64],
    duration_s: 2,
    warmup_s: 0.5,
    rounds: 5,
    confidence: 0.95,
    client_bound_util: 0.9,
    method: "paired per-round log-ratios of throughput, t interval",
    points: [
      point(1, 1, [sb(epoll, 31000), sb(uring, 30100), sb(bun, 24000)], [-2.9, -8.1, 2.4]),
      point(64, 1, [sb(epoll, 182000), sb(uring, 204000), sb(bun, 120000, { errors: { ...noErrors(), timeout: 3 } })], [12.1, 5.0, 19.3]),
      point(1024, 1, [sb(epoll, 240000), sb(uring, 301000, { client_bound: true, client_util: 0.95 }), sb(bun, null, { failure: "too many open files" })], [25.4, 21.2, 29.9]),
      point(1, 16, [sb(epoll, 250000), sb(uring, 262000), sb(bun, 150000)], [4.8, -1.0, 10.9]),
      point(64, 16, [sb(epoll, 900000), sb(uring, 999600), sb(bun, 400000)], [11.1, 6.0, 16.4]),
      point(1024, 16, [sb(epoll, 1.1e6), sb(uring, 1.25e6), sb(bun, null, { failure: "too many open files" })], [13.6, 8.8, 18.6]),
    ],
    crossover: [
      { baseline: "epoll", candidate: "uring", window: 1, payload: 64, threshold_pct: 20, connections: 1024, estimate_pct: 25.4, ci: [21.2, 29.9], holds_above: true, max_connections: 1024, ahead_at: [1024], note: "io_uring ahead by more than 20% from 1024 connections" },
      { baseline: "epoll", candidate: "uring", window: 16, payload: 64, threshold_pct: 20, connections: null, estimate_pct: 13.6, ci: [8.8, 18.6], holds_above: null, max_connections: 1024, ahead_at: [], note: "no crossover up to 1024 connections" },
    ],
    nofile: { needed: 2100, soft: 65536 },
    client_fds: { before: 12, after: 12 },
    stalls: [],
    elapsed_s: 95.2,
    notes: ["bun stopped at 1024 connections: too many open files."],
  };
}

const CAPACITY: CapacityResult[] = [
  {
    backend: "epoll",
    connections: 64,
    payload: 64,
    slo_p99_us: 500,
    rate: 41000,
    searches: [
      { round: 1, rate: 41000, limited_by: "slo", probes: [] },
      { round: 2, rate: 44000, limited_by: "slo", probes: [] },
    ],
    p99_us: 420,
    cpu_us: 9.5,
    client_bound: false,
  },
  {
    backend: "uring",
    connections: 64,
    payload: 64,
    slo_p99_us: 500,
    rate: 120000,
    searches: [
      { round: 1, rate: 120000, limited_by: "client", probes: [] },
      { round: 2, rate: 125000, limited_by: "client", probes: [] },
    ],
    p99_us: 310,
    cpu_us: 6.25,
    client_bound: true,
  },
  { backend: "bun", connections: 64, payload: 64, slo_p99_us: 500, rate: null, searches: [{ round: 1, rate: null, limited_by: "slo", probes: [] }], p99_us: null, cpu_us: null, client_bound: false },
];

const IDLE: IdleResult[] = [
  {
    backend: "epoll",
    idle: 10000,
    active: 8,
    bytes_per_conn: 1536,
    rss_before_kib: 20480,
    rss_after_kib: 35480,
    fds: { before: 12, open: 10020, after: 12 },
    alone: { p50_us: 30, p99_us: 60 },
    with_idle: { p50_us: 31, p99_us: 66 },
    errors: noErrors(),
  },
  {
    backend: "uring",
    idle: 10000,
    active: 8,
    bytes_per_conn: 2560,
    rss_before_kib: 22528,
    rss_after_kib: 47528,
    fds: { before: 13, open: 10021, after: 15 },
    alone: { p50_us: 28, p99_us: 55 },
    with_idle: { p50_us: 28.5, p99_us: 54 },
    errors: { ...noErrors(), closed: 2 },
  },
  { backend: "bun", idle: 10000, active: 8, bytes_per_conn: null, rss_before_kib: null, rss_after_kib: null, fds: { before: null, open: null, after: null }, alone: null, with_idle: null, errors: noErrors(), failure: "too many open files" },
];

const SWEEP_W1_TERMINAL = [
  "Connection sweep, window 1, 64 B: throughput (msg/s)",
  "connections        epoll [95% CI]        uring [95% CI]             bun [95% CI]           uring vs epoll",
  "-----------  --------------------  --------------------  -----------------------  -----------------------",
  "          1  31.0k [30.1k, 32.2k]  30.1k [29.2k, 31.3k]     24.0k [23.3k, 25.0k]       -2.9% [-8.1, +2.4]",
  "         64     182k [177k, 189k]     204k [198k, 212k]        120k [116k, 125k]     +12.1% [+5.0, +19.3]",
  "      1,024     240k [233k, 250k]    301k [292k, 313k]†  — (too many open files)  +25.4% [+21.2, +29.9] ◀",
  "Completed requests per second: the median over each backend's rounds (5 planned, 2 s measured after 0.5 s of warm-up) with its 95% interval; k = thousand, M = million. Window: requests in flight per connection. Load client: c (c/loadgen.c through bun:ffi).",
  "uring vs epoll: the candidate's throughput over the baseline's, % (positive: the candidate carries more), paired by round, with its 95% interval (the method is under the crossover table).",
  "◀ the crossover: the fewest connections from which the whole interval is above the threshold, there and at every count above (uring vs epoll: +20%).",
  "† client-bound: the load client was busy ≥ 90% of the interval in most rounds; the server may have more to give.",
  "",
  "Connection sweep, window 1, 64 B: server CPU per request and p99 latency (µs)",
  "connections  epoll CPU  epoll p99  uring CPU  uring p99  bun CPU  bun p99  errors",
  "-----------  ---------  ---------  ---------  ---------  -------  -------  --------------",
  "          1       64.5         46       66.4         46     83.3       45  0",
  "         64       11.0         76        9.8         81     16.7       64  bun: 3 timeout",
  "      1,024        8.3         88        6.6        100        —        —  0",
  "CPU: the server's CPU time per request over every round's measured interval. p99: the median over rounds of each round's p99 latency (closed loop: from each request's write). Errors: the load client's count, by kind. —: no figure (the throughput table says why).",
].join("\n");

const SWEEP_W16_THROUGHPUT_MARKDOWN = [
  "#### Connection sweep, window 16, 64 B: throughput (msg/s)",
  "",
  "| connections | epoll [95% CI] | uring [95% CI] | bun [95% CI] | uring vs epoll |",
  "|---:|---:|---:|---:|---:|",
  "| 1 | 250k [243k, 260k] | 262k [254k, 272k] | 150k [146k, 156k] | +4.8% [-1.0, +10.9] |",
  "| 64 | 900k [873k, 936k] | 1.00M [970k, 1.04M] | 400k [388k, 416k] | +11.1% [+6.0, +16.4] |",
  "| 1,024 | 1.10M [1.07M, 1.14M] | 1.25M [1.21M, 1.30M] | — (too many open files) | +13.6% [+8.8, +18.6] |",
  "",
  "Completed requests per second: the median over each backend's rounds (5 planned, 2 s measured after 0.5 s of warm-up) with its 95% interval; k = thousand, M = million. Window: requests in flight per connection. Load client: c (c/loadgen.c through bun:ffi).",
  "uring vs epoll: the candidate's throughput over the baseline's, % (positive: the candidate carries more), paired by round, with its 95% interval (the method is under the crossover table).",
].join("\n");

const CROSSOVER_TERMINAL = [
  "Crossover: the fewest connections from which the candidate's throughput is ahead by more than the threshold",
  "pair            window  payload  threshold  crossover                          gain [95% CI]  holds above  note",
  "--------------  ------  -------  ---------  -----------------  -----------------------------  -----------  -----------------------------------------------------",
  "uring vs epoll       1     64 B      > 20%  1,024 connections          +25.4% [+21.2, +29.9]  yes          io_uring ahead by more than 20% from 1024 connections",
  "uring vs epoll      16     64 B      > 20%  none up to 1,024   +13.6% [+8.8, +18.6] at 1,024  n/a          no crossover up to 1024 connections",
  "Crossover: the fewest connections swept (1, 64, 1,024) from which the whole interval of the candidate's throughput gain over the baseline is above the threshold (the guide's stress criterion, C4), there and at every count above. The gain shown is at the crossover, or with none at the most connections swept. Holds above: every larger count swept stays above the threshold too.",
  "Method: paired per-round log-ratios of throughput, t interval.",
  "Load client: c (c/loadgen.c through bun:ffi); 5 rounds planned, 2 s per point and backend after 0.5 s of warm-up; the sweep took 95 s. Descriptors: 2,100 needed, soft limit 65,536.",
  "bun stopped at 1024 connections: too many open files.",
].join("\n");

const CROSSOVER_MARKDOWN = [
  "#### Crossover: the fewest connections from which the candidate's throughput is ahead by more than the threshold",
  "",
  "| pair | window | payload | threshold | crossover | gain [95% CI] | holds above | note |",
  "|:---|---:|---:|---:|:---|---:|:---|:---|",
  "| uring vs epoll | 1 | 64 B | > 20% | 1,024 connections | +25.4% [+21.2, +29.9] | yes | io_uring ahead by more than 20% from 1024 connections |",
  "| uring vs epoll | 16 | 64 B | > 20% | none up to 1,024 | +13.6% [+8.8, +18.6] at 1,024 | n/a | no crossover up to 1024 connections |",
  "",
  "Crossover: the fewest connections swept (1, 64, 1,024) from which the whole interval of the candidate's throughput gain over the baseline is above the threshold (the guide's stress criterion, C4), there and at every count above. The gain shown is at the crossover, or with none at the most connections swept. Holds above: every larger count swept stays above the threshold too.",
  "Method: paired per-round log-ratios of throughput, t interval.",
  "Load client: c (c/loadgen.c through bun:ffi); 5 rounds planned, 2 s per point and backend after 0.5 s of warm-up; the sweep took 95 s. Descriptors: 2,100 needed, soft limit 65,536.",
  "bun stopped at 1024 connections: too many open files.",
].join("\n");

const CAPACITY_TERMINAL = [
  "Capacity at p99 ≤ 500 µs: the highest open-loop rate each backend carries (requests/s)",
  "backend  connections  payload  p99 target, µs           capacity, req/s  p99 at it, µs  CPU µs/req  each search, req/s  limited by",
  "-------  -----------  -------  --------------  ------------------------  -------------  ----------  ------------------  ----------",
  "epoll             64     64 B             500                    41,000            420         9.5        41.0k, 44.0k  slo",
  "uring             64     64 B             500  ≥ 120,000 (client-bound)            310         6.3          120k, 125k  client",
  "bun               64     64 B             500             < first probe            n/a         n/a             < first  slo",
  "Capacity: the highest rate asked for (requests sent on schedule, open loop) whose p99 latency, counted from each request's intended send time, stayed at or under the target; the lowest over the searches (2 at most), what to provision with. < first probe: even the lowest rate tried missed the target. Each search: its own answer, in round order.",
  "Limited by (each search's reason to stop): slo, p99 went over the target; errors, requests failed; client, the load client could not send faster, so the capacity is at least the figure; max-rate, the highest rate tried passed; budget, the search ran out of time.",
].join("\n");

const IDLE_TERMINAL = [
  "Many idle connections: memory, descriptors and the active connections' latency",
  "backend  idle / active  KiB per idle conn  RSS before → after, KiB  fds before / open / after  p50 alone → with idle, µs  p99 alone → with idle, µs  p99 change  errors",
  "-------  -------------  -----------------  -----------------------  -------------------------  -------------------------  -------------------------  ----------  ---------------------------",
  "epoll       10,000 / 8               1.50          20,480 → 35,480           12 / 10,020 / 12                30.0 → 31.0                60.0 → 66.0      +10.0%  0",
  "uring       10,000 / 8               2.50          22,528 → 47,528   13 / 10,021 / 15 LEAK +2                28.0 → 28.5                55.0 → 54.0       -1.8%  2 closed",
  "bun         10,000 / 8                n/a                      n/a                        n/a                        n/a                        n/a         n/a  FAILED: too many open files",
  "KiB per idle connection: (the server's RSS with the idle connections open − its RSS before) ÷ the idle connections. fds: the server's open descriptors before, with every connection open, and after closing them; LEAK when after is above before.",
  "Latency: the active connections' ping-pong round trip, µs, without the idle connections (half measured before them, half after) and with them open; p99 change: with idle over alone (positive: the idle connections slow the active ones).",
].join("\n");

const IDLE_MARKDOWN = [
  "#### Many idle connections: memory, descriptors and the active connections' latency",
  "",
  "| backend | idle / active | KiB per idle conn | RSS before → after, KiB | fds before / open / after | p50 alone → with idle, µs | p99 alone → with idle, µs | p99 change | errors |",
  "|:---|---:|---:|---:|---:|---:|---:|---:|:---|",
  "| epoll | 10,000 / 8 | 1.50 | 20,480 → 35,480 | 12 / 10,020 / 12 | 30.0 → 31.0 | 60.0 → 66.0 | +10.0% | 0 |",
  "| uring | 10,000 / 8 | 2.50 | 22,528 → 47,528 | 13 / 10,021 / 15 LEAK +2 | 28.0 → 28.5 | 55.0 → 54.0 | -1.8% | 2 closed |",
  "| bun | 10,000 / 8 | n/a | n/a | n/a | n/a | n/a | n/a | FAILED: too many open files |",
  "",
  "KiB per idle connection: (the server's RSS with the idle connections open − its RSS before) ÷ the idle connections. fds: the server's open descriptors before, with every connection open, and after closing them; LEAK when after is above before.",
  "Latency: the active connections' ping-pong round trip, µs, without the idle connections (half measured before them, half after) and with them open; p99 change: with idle over alone (positive: the idle connections slow the active ones).",
].join("\n");

describe("sweep tables", () => {
  const s = sweep();
  const tables = sweepTables(s);

  test("two tables per window and payload: throughput with the gains, then CPU and p99", () => {
    expect(tables.map((t) => t.title)).toEqual([
      "Connection sweep, window 1, 64 B: throughput (msg/s)",
      "Connection sweep, window 1, 64 B: server CPU per request and p99 latency (µs)",
      "Connection sweep, window 16, 64 B: throughput (msg/s)",
      "Connection sweep, window 16, 64 B: server CPU per request and p99 latency (µs)",
    ]);
  });

  test("terminal: the client-bound mark and its note, the crossover mark, errors, the failure in place of a figure", () => {
    expect(tables.slice(0, 2).map(renderTerminal).join("\n\n")).toBe(SWEEP_W1_TERMINAL);
  });

  test("markdown: no crossover and no client-bound point, no note for either", () => {
    expect(renderMarkdown(tables[2])).toBe(SWEEP_W16_THROUGHPUT_MARKDOWN);
  });

  test("compact rates: 3 significant figures, the unit chosen after rounding", () => {
    expect([950, 31040, 182345, 999600, 1.25e6, 2.5e9, null].map(fmtRateCompact)).toEqual(["950", "31.0k", "182k", "1.00M", "1.25M", "2.50G", "n/a"]);
  });
});

describe("crossover, capacity and idle tables", () => {
  test("crossover: found (with the gain there), and none up to the most connections swept", () => {
    expect(renderTerminal(crossoverTable(sweep()))).toBe(CROSSOVER_TERMINAL);
    expect(renderMarkdown(crossoverTable(sweep()))).toBe(CROSSOVER_MARKDOWN);
  });

  test("crossover: a descriptor leak of the bench process is named; no point with figures for both", () => {
    const leaky = { ...sweep(), client_fds: { before: 12, after: 15 } };
    expect(crossoverTable(leaky).notes![2]).toEndWith("LEAK: 3 descriptors of the bench process were not closed (12 before, 15 after).");
    const none = { ...sweep().crossover[1], connections: null, estimate_pct: null, ci: null, max_connections: 0, note: "no point with figures for both" };
    expect(crossoverTable({ ...sweep(), crossover: [none] }).rows).toEqual([["uring vs epoll", "16", "64 B", "> 20%", "no figures for both", "n/a", "n/a", "no point with figures for both"]]);
  });

  test("capacity: a figure, at least a figure when client-bound, below the first probe", () => {
    expect(renderTerminal(capacityTable(CAPACITY))).toBe(CAPACITY_TERMINAL);
  });

  test("idle: memory per connection, descriptors with a leak flagged, latency alone and with idle, a failure", () => {
    expect(renderTerminal(idleTable(IDLE))).toBe(IDLE_TERMINAL);
    expect(renderMarkdown(idleTable(IDLE))).toBe(IDLE_MARKDOWN);
  });
});

describe("sweepChartSvg", () => {
  const s = sweep({ epoll: "epoll", uring: "uring", bun: "a<b&c" });
  const svg = sweepChartSvg(s, { window: 1, payload: 64 });

  test("well-formed XML with an svg root; the title names window, payload and client", () => {
    expect(checkXml(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain("Throughput against connections: window 1, 64 B payload (load client: c (c/loadgen.c through bun:ffi))");
  });

  test("a line and a band per backend, a marker per figure; the client-bound point hollow", () => {
    expect(svg.match(/<path class="series"/g)?.length).toBe(3);
    expect(svg.match(/<path class="band"/g)?.length).toBe(3);
    // 3 + 3 + 2 figures: a<b&c has none at 1,024 connections.
    expect(svg.match(/<circle class="point/g)?.length).toBe(8);
    const hollow = [...svg.matchAll(/<circle class="point client-bound"[^>]*fill="([^"]*)"/g)].map((m) => m[1]);
    expect(hollow).toEqual(["white"]);
  });

  test("x: a tick at each count swept, equally spaced on the log scale", () => {
    const ticks = [...svg.matchAll(/<text class="xtick" x="([^"]*)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), label: m[2] }));
    expect(ticks.map((t) => t.label)).toEqual(["1", "64", "1,024"]);
    // log(64) - log(1) = 6 log 2; log(1024) - log(64) = 4 log 2.
    expect((ticks[1].x - ticks[0].x) / (ticks[2].x - ticks[1].x)).toBeCloseTo(6 / 4, 1);
  });

  test("y: log scale, 1-2-5 ticks pulled in to the figures", () => {
    const ticks = [...svg.matchAll(/<text class="ytick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(ticks).toEqual(["20k", "50k", "100k", "200k", "500k"]);
  });

  test("the crossover as a dashed line with its label; none is said below the plot", () => {
    expect(svg.match(/<line class="crossover"/g)?.length).toBe(1);
    expect(svg).toContain(">uring &gt; epoll +20% from 1,024</text>");
    const w16 = sweepChartSvg(s, { window: 16, payload: 64 });
    expect(w16).not.toContain('class="crossover"');
    expect(w16).toContain(">uring vs epoll: no crossover above +20% up to 1,024 connections</text>");
  });

  test("names escaped; colours as in the other charts, the gate pair thick", () => {
    expect(svg).toContain(">a&lt;b&amp;c</text>");
    expect(svg).not.toContain("a<b&c");
    const series = [...svg.matchAll(/<path class="series" d="[^"]*" fill="none" stroke="([^"]*)" stroke-width="([^"]*)"/g)].map((m) => [m[1], Number(m[2])]);
    expect(series).toEqual([["#1f77b4", 3], ["#ff7f0e", 3], ["#2ca02c", 1.4]]);
  });

  test("one chart per window and payload; a combination without figures says so", () => {
    expect(sweepChartsSvg(s).map((c) => [c.window, c.payload])).toEqual([[1, 64], [16, 64]]);
    const empty = sweepChartSvg(s, { window: 4, payload: 64 });
    expect(checkXml(empty)).toEqual([]);
    expect(empty).toContain("no throughput figures at window 4, 64 B");
  });
});

const noErr = () => noErrors();
const gate: Gate = {
  trusted: true,
  baseline: "epoll",
  candidate: "uring",
  verdict: "PROCEED",
  reason: "two criteria pass.",
  criteria: [{ id: "C1", name: "Single ping-pong latency", metric: "m", threshold_pct: 10, improvement_pct: 12.5, ci: [11, 14], status: "PASS", note: "" }],
};
const lb = (name: string, p50: number): BackendResult => ({
  backend: name,
  rounds: [{ round: 1, latency: { n: 10, p50, p95: p50, p99: p50, p999: p50, mean: p50, min: p50, max: p50 }, errors: noErr() }],
  pooled: { n: 10, p50, p95: p50, p99: p50, p999: p50, mean: p50, min: p50, max: p50 },
  headline: p50,
  range: [p50 - 1, p50 + 1],
  errors: noErr(),
});

const base: BenchResults = {
  schema: "iouring-bench/2",
  context: SYNTHETIC_CONTEXT,
  config: {},
  backends: [{ name: "epoll", description: "epoll", available: true }, { name: "uring", description: "io_uring", available: true }],
  baseline: "epoll",
  scenarios: [],
  warnings: [],
};
const FULL: BenchResults = {
  ...base,
  scenarios: [{ id: 1, slug: "ping-pong", name: "Single ping-pong latency", status: "ok", variants: [{ key: "100B", label: "100 bytes", params: {}, metric: "p50 latency, µs", higherIsBetter: false, backends: [lb("epoll", 50), lb("uring", 40)] }] }],
  gate,
  sweep: sweep(),
  capacity: CAPACITY,
  idle: IDLE,
  warnings: [{ code: "uncoded", text: "a warning", remedy: "" }],
};
const SWEEP_ONLY: BenchResults = { ...base, sweep: sweep(), capacity: CAPACITY, idle: IDLE };

const kind = (b: Block): string => (b.kind === "details" ? `details(${b.blocks.map(kind).join(",")})` : b.only ? `${b.kind}:${b.only}` : b.kind);
const summaries = (bs: Block[]) => bs.flatMap((b) => (b.kind === "details" ? [b.summary] : []));

describe("buildReport with a sweep", () => {
  test("a sweep-only run: no verdict; the first page says why and has the crossover and the capacity", () => {
    const doc = buildReport(SWEEP_ONLY);
    expect(doc.blocks.some((b) => b.kind === "verdict")).toBe(false);
    expect(doc.blocks.slice(0, doc.firstPage).map(kind)).toEqual(["heading:markdown", "text", "text", "table", "table"]);
    const first = renderTerminalReport(SWEEP_ONLY, { firstPageOnly: true });
    expect(first).toBe(
      [
        "Test CPU, 4 cores; Linux 6.1.0; Bun 1.4.5; 2026-01-01T00:00:00.000Z.",
        "cross-core: server on CPU 0, client on CPU 1. Relative figures are against epoll.",
        "",
        "No verdict: this run measured the connection sweep only; the decision gate needs the scenarios (--scenarios all).",
        "",
        CROSSOVER_TERMINAL,
        "",
        CAPACITY_TERMINAL,
      ].join("\n"),
    );
    // The rest: the sweep without the crossover again, the idle connections; the capacity is not repeated.
    const rest = doc.blocks.slice(doc.firstPage);
    expect(summaries(rest)).toEqual(["The machine and the backends", "Where io_uring overtakes epoll: the connection sweep", "Many idle connections"]);
    expect(rest.map(kind)[1]).toBe("details(table,table,table,table)");
  });

  test("a full run: the first page as before, the sweep, capacity and idle folded after the ladder, before the warnings", () => {
    const doc = buildReport(FULL, { sweep: [{ window: 1, payload: 64, src: "bench-x-sweep-w1-64B.svg" }, { window: 16, payload: 64, src: "bench-x-sweep-w16-64B.svg" }] });
    const first = doc.blocks.slice(0, doc.firstPage).map(kind);
    expect(first).toEqual(["heading:markdown", "text", "verdict", "table", "table"]);
    expect(doc.blocks.map(kind).slice(doc.firstPage!)).toEqual([
      "details(context,definitions:terminal)",
      "details(table)",
      "details(table,image:markdown,table,table,image:markdown,table,table)",
      "details(table)",
      "details(table)",
      "warnings",
      "details(table)",
      "verdict",
    ]);
    expect(summaries(doc.blocks)).toEqual([
      "The machine and the backends",
      "Scenario tables",
      "Where io_uring overtakes epoll: the connection sweep",
      "Capacity at p99 ≤ 500 µs",
      "Many idle connections",
      "Every decision gate: the Phase 0 check, the criteria, the guide's cost expectations, the A/A control",
    ]);
  });

  test("markdown links each chart atop its window and payload's tables; the terminal shows no picture", () => {
    const pictures = { sweep: [{ window: 16, payload: 64, src: "bench-x-sweep-w16-64B.svg" }] };
    const md = renderMarkdownReport(FULL, { pictures });
    expect(md).toContain(
      "<details><summary>Where io_uring overtakes epoll: the connection sweep</summary>\n\n#### Crossover: the fewest connections",
    );
    expect(md).toContain("\n\n![Throughput against connections, window 16, 64 B payload, with the crossover](bench-x-sweep-w16-64B.svg)\n\n#### Connection sweep, window 16, 64 B: throughput (msg/s)\n");
    expect(md.match(/!\[Throughput against connections/g)?.length).toBe(1);
    expect(md).toContain(`<details><summary>Capacity at p99 ≤ 500 µs</summary>\n\n${renderMarkdown(capacityTable(CAPACITY))}\n\n</details>`);
    const t = renderTerminalReport(FULL);
    expect(t).toContain(`--- Many idle connections ---\n\n${IDLE_TERMINAL}\n\nwarnings:`);
    expect(t).not.toContain(".svg");
  });

  test("a run without a sweep has none of it", () => {
    const doc = buildReport({ ...FULL, sweep: undefined, capacity: undefined, idle: undefined });
    expect(summaries(doc.blocks).some((x) => /sweep|Capacity|idle/.test(x))).toBe(false);
  });
});
