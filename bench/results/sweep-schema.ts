// The connection sweep's part of the results (bench/results/schema.ts holds
// the rest and re-exports these): bench/run/sweep.ts runs it,
// bench/verdict/sweep.ts analyses it, bench/report/sweep-tables.ts and
// sweep-chart.ts render it.
import type { ClientErrors } from "../results/errors.ts";

/** One backend at one sweep point: medians over its rounds. */
export interface SweepBackend {
  backend: string;
  /** Median over rounds of completed requests per second, or null without a usable round. */
  throughput: number | null;
  /** 95% interval of that median over the rounds. */
  ci95: [number, number] | null;
  /** Server CPU per request, µs, over every round's measured interval. */
  cpu_us: number | null;
  /** Median over rounds of the round's p99 latency (closed loop: from the request's write), µs. */
  p99_us: number | null;
  /** The client thread was busy (>= CLIENT_BOUND_UTIL of the interval) in most rounds: the figure may be the client's limit, not the server's. */
  client_bound: boolean;
  /** Median over rounds of the busiest client CPU's time on the load client (its threads summed) over the interval's wall time. */
  client_util: number | null;
  /**
   * Median over rounds of the worst lateness of a real-time thread on the server's CPU during
   * the unit, ms: how long the server's kernel work kept that CPU from anything else (on a
   * PREEMPT_NONE kernel a long in-kernel batch is not interrupted). Null when not measured.
   */
  sched_delay_ms: number | null;
  /** Each usable round's throughput, in round order (what two runs are compared with). */
  rounds_throughput: number[];
  /** Rounds measured (stalled ones excluded). */
  rounds: number;
  errors: ClientErrors;
  /** Why this backend has no figure here. */
  failure?: string;
}

/** A paired throughput comparison at one point (per-round log-ratios, t interval). */
export interface SweepGain {
  baseline: string;
  candidate: string;
  /** Candidate's throughput over the baseline's, %, positive when higher. */
  estimate_pct: number | null;
  ci: [number, number] | null;
  rounds: number;
}

export interface SweepPoint {
  connections: number;
  /** Requests in flight per connection. */
  window: number;
  /** Payload bytes per request. */
  payload: number;
  backends: SweepBackend[];
  /** Every gate pair at this point. */
  gains: SweepGain[];
}

export interface SweepCrossover {
  baseline: string;
  candidate: string;
  window: number;
  payload: number;
  /** The guide's stress threshold (C4), %. */
  threshold_pct: number;
  /** Smallest connection count at which the interval's lower bound is above the threshold; null: no crossover. */
  connections: number | null;
  /** The gain, %, and its interval: at the crossover, or at the most connections swept when there is none. */
  estimate_pct: number | null;
  ci: [number, number] | null;
  /** Whether every larger count swept stays above the threshold too. */
  holds_above: boolean | null;
  /** Every count whose own 95% interval is above the threshold (not corrected for the others: a crossover needs every count above it too). */
  ahead_at: number[];
  /** The most connections swept with figures for both. */
  max_connections: number;
  /** "io_uring ahead by more than 20% from 256 connections" or "no crossover up to 4096 connections". */
  note: string;
}

export interface SweepResults {
  /** Which load client made every figure ("c": c/loadgen.c through bun:ffi). */
  client: string;
  connections: number[];
  windows: number[];
  payloads: number[];
  /** Seconds measured per point and unit, after a warm-up of warmup_s. */
  duration_s: number;
  warmup_s: number;
  /** Rounds planned; each visits every backend at every point of one connection count, in a seeded order. */
  rounds: number;
  confidence: number;
  /** A unit is client-bound when the client thread was busy at least this share of the interval. */
  client_bound_util: number;
  method: string;
  points: SweepPoint[];
  crossover: SweepCrossover[];
  /** Units a platform stall hit (steal time or the hiccup meter above the bound), per connection count. */
  stalls: { connections: number; round: number; backend: string; stealMs: number; hiccupMs: number; repeated: boolean }[];
  /** The descriptor limit the run needed and had. */
  nofile: { needed: number; soft: number; note?: string };
  /** Descriptors of the bench process before and after the sweep (a leak shows as a difference). */
  client_fds: { before: number; after: number };
  elapsed_s: number;
  notes: string[];
}

/** One probe of the capacity search: an open-loop rate held for a while. */
export interface CapacityProbe {
  /** Requests per second asked for. */
  rate: number;
  /** Requests per second answered. */
  achieved: number;
  /** Latency from each request's intended send time, µs. */
  p99_us: number | null;
  ok: boolean;
  client_bound: boolean;
  /** Why it did not pass, when it did not. */
  why?: string;
}

export interface CapacityResult {
  backend: string;
  connections: number;
  payload: number;
  slo_p99_us: number;
  /** The lowest over the searches of the highest rate that kept p99 under the target: what to provision with; null when even the first probe failed. */
  rate: number | null;
  /** Each search's own answer, in round order. */
  searches: { round: number; rate: number | null; limited_by: "slo" | "errors" | "client" | "max-rate" | "budget"; probes: CapacityProbe[] }[];
  /** p99 at `rate` in the search that found it, µs. */
  p99_us: number | null;
  /** Server CPU per request at `rate`, µs. */
  cpu_us: number | null;
  /** The search stopped because the client, not the server, was saturated: the capacity is at least `rate`. */
  client_bound: boolean;
  failure?: string;
}

/** Many idle connections and a few active ones, on one backend. */
export interface IdleResult {
  backend: string;
  idle: number;
  active: number;
  /** (server RSS with the idle connections open - RSS before) / idle, bytes. */
  bytes_per_conn: number | null;
  rss_before_kib: number | null;
  /** Server RSS with the idle connections open (what bytes_per_conn reads). */
  rss_after_kib: number | null;
  /** Server descriptors before, with every connection open, and after closing them. */
  fds: { before: number | null; open: number | null; after: number | null };
  /** The active connections' ping-pong latency without the idle ones (half before them, half after), and with them, µs. */
  alone: { p50_us: number; p99_us: number } | null;
  with_idle: { p50_us: number; p99_us: number } | null;
  errors: ClientErrors;
  failure?: string;
}
