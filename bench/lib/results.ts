// The result data: JSON is the source of truth; the terminal and markdown
// tables are renderings of it (bench/lib/report.ts). Field meanings are
// documented in the README ("Results JSON").
import type { ClientErrors } from "./client.ts";
import type { MachineContext } from "./machine.ts";
import type { LatencySummary } from "./stats.ts";

export const SCHEMA = "iouring-bench/1";

/** One backend in one round of one variant. */
export interface RoundResult {
  round: number;
  /** Latency in µs (latency scenarios). */
  latency?: LatencySummary;
  /** Completed requests per second (throughput scenarios). */
  throughput?: number;
  errors: ClientErrors;
}

export interface BackendResult {
  backend: string;
  rounds: RoundResult[];
  /** Percentiles over every sample of every round, µs. */
  pooled?: LatencySummary;
  /** Round-level figure compared across backends: median of the rounds' p50 (latency) or throughput. */
  headline: number;
  /** 95% bootstrap interval of the headline over the rounds. */
  ci95: [number, number];
  /** Headline relative to the baseline backend (baseline = 1), with its 95% interval. */
  relative?: { ratio: number; ci95: [number, number] };
  errors: ClientErrors;
  /** Set when this backend could not be measured in this variant. */
  failure?: string;
}

export interface VariantResult {
  key: string;
  label: string;
  params: Record<string, number | string>;
  /** What the headline is: "p50 latency, µs" or "throughput, msg/s". */
  metric: string;
  higherIsBetter: boolean;
  backends: BackendResult[];
}

export interface ScenarioResult {
  id: number;
  name: string;
  status: "ok" | "failed" | "skipped";
  note?: string;
  variants: VariantResult[];
}

export interface BackendInfoResult {
  name: string;
  description: string;
  available: boolean;
  reason?: string;
  hint?: string;
  /** The server's exit summary, as counted by the server. */
  serverSummary?: Record<string, string>;
}

export interface BenchResults {
  schema: string;
  context: MachineContext;
  config: Record<string, unknown>;
  backends: BackendInfoResult[];
  baseline: string;
  scenarios: ScenarioResult[];
  warnings: string[];
}
