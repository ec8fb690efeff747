// What a scenario is: one object that says what it measures and how one
// backend is measured once (a "unit"). Rounds, their order, pauses of the
// other servers, stalls, budgets and pooling belong to the runner
// (bench/run/); a scenario only fills in the figures of its variants.
import type { Meter } from "../measure/accounting.ts";
import type { RoundResult } from "../results/schema.ts";
import type { ServerHandle, ServerProcess } from "../server/process.ts";

/** One compared figure of a scenario (a payload size, a connection mode ...). */
export interface VariantSpec {
  key: string;
  label: string;
  params: Record<string, number | string>;
  /** What the headline is: "p50 latency, µs" or "throughput, msg/s". */
  metric: string;
  higherIsBetter: boolean;
}

/** What the runner gives every scenario. */
export interface ScenarioEnv {
  /** Backends to measure (labels: a backend name, `NAME#2` for a second instance, or a --target label). */
  backends: string[];
  servers: Map<string, ServerHandle>;
  seed: number;
  quick: boolean;
  /** Client choice for one-in-flight loops: the TypeScript loop, or the C reference loop. */
  client: "ts" | "c";
  /** The C load client's threads and the CPUs they go on, one per CPU in turn (one thread: the JS thread, already on the first). */
  clientThreads: number;
  clientCpus: readonly number[];
  log: (msg: string) => void;
  /** Starts another server for a backend label (e.g. in order mode), placed like the others. */
  spawnServer: (label: string, mode: string) => Promise<ServerProcess>;
  /** Lets only this backend's servers run (the others are paused), for work outside a unit such as calibration. */
  focus: (label: string) => void;
}

/** One backend measured once in one round. */
export interface Unit {
  backend: string;
  server: ServerHandle;
  round: number;
  /** The meter of a variant's measured interval (on `server`, default the backend's): call begin/end around exactly what is timed. */
  meter(variantKey: string, server?: ServerHandle): Meter;
  /** Keeps a unit's latency samples (ns) for pooled percentiles and plots. */
  keep(variantKey: string, samplesNs: Float64Array, series?: "corrected" | "uncorrected"): void;
}

/** What prepare() decided before the rounds. */
export interface Prepared<S> {
  state: S;
  variants: VariantSpec[];
  /** Extra servers a backend's units use (scenario 5's order servers): kept running during its turn only. */
  extraServers?: Map<string, ServerHandle>;
  /** Backends that do not do what a variant asks, with a short why (e.g. "echo only"), per variant key: shown as n/a, not as a failure. */
  unsupported?: { variant: string; backend: string; why: string }[];
  /** Set when the scenario cannot run at all. */
  failure?: string;
}

export type ScenarioLayout =
  /** A table per variant: throughput when higher is better, else latency percentiles. */
  | "by-metric"
  /** A throughput table per variant. */
  | "throughput"
  /** A table per variant: latency from the intended send time and from the actual one. */
  | "open-loop"
  /** One table: a new connection per request against a reused one. */
  | "connection-reuse"
  /** One table: echo against order matching, and the network's share. */
  | "overhead";

/** How the report shows the scenario. */
export interface ScenarioReportSpec {
  layout: ScenarioLayout;
  /** Read by the C-twin table (each FFI loop against its C twin): the p50 of every variant, or the throughput of one variant. */
  twin?: { measure: "p50" } | { measure: "msg/s"; variant: string };
  /** Its pooled p50 is compared across placements (the placement effect table). */
  placementEffect?: boolean;
  /** Its headline variant's latency samples are drawn in the latency distribution picture, under this name. */
  distribution?: string;
  /** Its headline variant's per-request costs are compared with the guide's expectations, labelled so ("6: 64 connections"). */
  costView?: string;
}

/**
 * A bench flag that sets one of a scenario's options (`--sizes` sets
 * ping-pong's `sizes`). The CLI lists it in the help and passes the value
 * through `toOption` (which throws a RangeError naming what is wrong);
 * not given, the scenario's own default stays.
 */
export interface ScenarioFlag<O = any> {
  type: "int" | "number" | "list";
  help: string;
  min?: number;
  max?: number;
  placeholder?: string;
  /** The option it sets. */
  option: keyof O & string;
  toOption?(value: number | string[]): unknown;
}

export interface Scenario<O = any, S = any> {
  /** Stable name in code, flags and JSON (`ping-pong`). */
  slug: string;
  /** The guide's number for it (1-6), shown to people. */
  number: number;
  title: string;
  defaults: O;
  quick: O;
  /** Its share of the run's time budget against the other scenarios': more for those that decide criteria and have long units. */
  budgetWeight: number;
  /** Bench flags that set its options, by flag name. */
  flags?: Record<string, ScenarioFlag<O>>;
  /** The variant that stands for the scenario where one figure must (the summary table, the cost expectations, the latency picture); default: its first. */
  headlineVariant?: string;
  report: ScenarioReportSpec;
  /**
   * The client under `--client auto` (the default): "c" where the TypeScript client would be the
   * limit (the throughput scenarios: the C load client), else "ts".
   */
  autoClient?: "ts" | "c";
  /** Needs something only a local server gives (its own processing time, a second mode): not run against --target servers. */
  localOnly?: string;
  prepare(env: ScenarioEnv, o: O): Promise<Prepared<S>>;
  unit(env: ScenarioEnv, o: O, state: S, u: Unit): Promise<Record<string, RoundResult>>;
  cleanup?(state: S): Promise<void>;
}
