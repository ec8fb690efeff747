// Runs one scenario in rounds. A round visits every backend once, in an order
// drawn anew for each round from a seeded source (recorded), so that no
// backend always goes first. During a backend's turn every other server is
// paused (SIGSTOP): the measured server's CPU has nothing else on it. Each
// unit is watched for platform stalls (steal time, a hiccup meter) and
// repeated, a bounded number of times, when one hit it. Rounds come in
// blocks: after the first `minRounds` and after every block the caller
// looks at the criteria this scenario decides, and the scenario stops when
// they are settled, at `maxRounds`, or when its time is up. With a `renew`
// hook every round starts with fresh server processes (run/fleet.ts says why).
import { threadCpuNs } from "../../ffi/net.ts";
import { CLIENT_BOUND_UTIL, NO_METER, type Meter, type ResourceSnapshot } from "../measure/accounting.ts";
import { costSample, type IntervalFigures, type StallReading } from "../measure/interval.ts";
import { errorCount, noErrors } from "../results/errors.ts";
import { seededRandom } from "../stats/stats.ts";
import type { RoundResult, ScenarioResult, StallEvent, VariantResult } from "../results/schema.ts";
import type { Scenario, ScenarioEnv, Unit } from "../scenarios/types.ts";
import type { ServerHandle } from "../server/process.ts";
import { finishVariants, newVariant, SampleStore } from "./pool.ts";

export type { StallReading } from "../measure/interval.ts";

export interface StallProbe {
  begin(): void;
  end(): StallReading;
}

/** A meter on a server's accounting: the interval's figures, and the requests it carried. */
class AccountedMeter implements Meter {
  figures?: IntervalFigures;
  requests = 0;
  #interval: ReturnType<NonNullable<ServerHandle["accounting"]>["interval"]>;
  constructor(server: ServerHandle, perf: boolean) {
    this.#interval = server.accounting!.interval({ perf });
  }
  begin(): Promise<void> {
    return this.#interval.begin();
  }
  async end(requests: number): Promise<void> {
    this.requests = requests;
    this.figures = await this.#interval.end();
  }
}

/** The larger of the client host's reading and the server host's (a remote server's, read there). */
export function worseStall(a: StallReading, b: StallReading | undefined): StallReading {
  if (!b) return a;
  return { stealMs: Math.max(a.stealMs, b.stealMs), hiccupMs: Math.max(a.hiccupMs, b.hiccupMs), hiccupByCpu: a.hiccupByCpu };
}

/** The resolution of steal time in /proc/stat (USER_HZ 100). */
const STEAL_TICK_MS = 10;

export const NO_STALL_PROBE: StallProbe = { begin() {}, end: () => ({ stealMs: 0, hiccupMs: 0 }) };

/**
 * Whether a unit was hit by a platform stall. Steal time comes in ticks of 10 ms, summed over
 * many small gaps: one tick is at its resolution and says little; the hiccup meter's longest
 * single gap is the sharper sign.
 */
export const isStalled = (seen: StallReading, boundMs: number): boolean => seen.hiccupMs > boundMs || seen.stealMs >= Math.max(2 * STEAL_TICK_MS, boundMs);

export interface RoundPlan {
  /** Backends in a gate: measured in every round. */
  gated: Set<string>;
  /** Rounds before the first look (and all the rounds of backends in no gate, and of scenarios no criterion reads). */
  minRounds: number;
  /** Rounds the backends in no gate get. */
  otherRounds: number;
  /** Rounds per block after the first look. */
  blockRounds: number;
  maxRounds: number;
  /** performance.now() after which no new round starts once minRounds are done. */
  deadlineMs: number;
  seed: number;
  /** A unit whose probe saw more than this (ms) is repeated. */
  stallBoundMs: number;
  /** Repeats of one unit at most; a unit still stalled after them is kept and marked. */
  maxRepeats: number;
  countSyscalls: boolean;
  /** Whether a look can end the scenario; false for scenarios no criterion reads. */
  sequential: boolean;
  /** Confidence of the relative figures (the gates' per-look confidence). */
  confidence: number;
}

export interface RoundHooks {
  /** Pause every local server but these (undefined: let every server run). */
  focus(servers: ServerHandle[] | undefined): void;
  /** Backend the ratios are relative to. */
  baseline: string;
  probe: StallProbe;
  /** After a block: is every criterion that reads this scenario settled? (and why not) */
  look?(partial: ScenarioResult, look: number): { settled: boolean; note: string };
  /** Where the run is: the unit about to be measured, and a line per finished round. */
  progress?: { unit(scenario: string, round: number, backend: string): void; line(text: string): void };
  /** Fresh server processes for these labels before a round; the labels whose new server did not start, with why. */
  renew?(labels: string[]): Promise<Map<string, Error>>;
}

/**
 * The most latency samples a unit keeps for pooled percentiles and plots. A
 * throughput unit times a million requests or more; keeping them all cost
 * 1.4 GB over a default run. Every k-th sample in send order is kept
 * (systematic, so no part of the unit is favoured); 50 000 still put a p99.9
 * on 50 samples per round.
 */
export const MAX_KEPT_PER_UNIT = 50_000;

/** A copy of at most `max` samples: every k-th when there are more. */
export function strided(xs: ArrayLike<number>, max: number): Float64Array {
  if (xs.length <= max) return Float64Array.from(xs);
  const step = xs.length / max;
  const out = new Float64Array(max);
  for (let i = 0; i < max; i++) out[i] = xs[Math.floor(i * step)];
  return out;
}

/** Fisher-Yates on a copy, from the given source. */
export function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function failed(def: Scenario, note: string): ScenarioResult {
  return { id: def.number, slug: def.slug, name: def.title, status: "failed", note, variants: [] };
}

export async function runScenario(def: Scenario, o: unknown, env: ScenarioEnv, plan: RoundPlan, hooks: RoundHooks, samples: SampleStore): Promise<ScenarioResult> {
  const t0 = performance.now();
  hooks.focus(undefined);
  const prepared = await def.prepare(env, o);
  if (prepared.failure) {
    await def.cleanup?.(prepared.state);
    return failed(def, prepared.failure);
  }
  const variants: VariantResult[] = prepared.variants.map((v) => newVariant(v, env.backends));
  for (const u of prepared.unsupported ?? []) {
    const b = variants.find((v) => v.key === u.variant)?.backends.find((x) => x.backend === u.backend);
    if (b) b.unsupported = u.why;
  }
  const serverFor = (label: string) => env.servers.get(label);
  const serversOf = (label: string): ServerHandle[] => [serverFor(label), prepared.extraServers?.get(label)].filter((s): s is ServerHandle => s !== undefined);
  const resources = new Map<string, { before: ResourceSnapshot | null; after: ResourceSnapshot | null }>();
  // A server's figures are read where it runs (server.accounting); one without any has client-side figures only.
  const resourcesOf = (s: ServerHandle | undefined, fdsAtMost?: number | null, tries = 1) =>
    s?.accounting && !s.exited ? s.accounting.resources(fdsAtMost, tries).catch((e) => (env.log(`${s.backend}: resources: ${(e as Error).message}`), null)) : Promise.resolve(null);
  for (const b of env.backends) resources.set(b, { before: await resourcesOf(serverFor(b)), after: null });
  const out: ScenarioResult = {
    id: def.number,
    slug: def.slug,
    name: def.title,
    status: "ok",
    variants,
    orders: [],
    stalls: [],
  };
  const stalls: StallEvent[] = out.stalls!;
  const dead = new Set<string>();
  const rnd = seededRandom(plan.seed * 1000003 + def.number);
  let round = 0;
  let looks = 0;
  let stopped = "";
  let lastNote = "";
  const roundMs: number[] = [];
  const markDead = (backend: string, why: string) => {
    dead.add(backend);
    for (const v of variants) {
      const b = v.backends.find((x) => x.backend === backend)!;
      b.failure ??= why;
    }
    env.log(`scenario ${def.number}: ${backend}: ${why}`);
  };

  const measureUnit = async (backend: string, server: ServerHandle, r: number): Promise<{ got: Record<string, RoundResult>; meters: Map<string, AccountedMeter> }> => {
    const meters = new Map<string, AccountedMeter>();
    const clientUtil = new Map<string, number>();
    const pending = new Map<string, { samples: Float64Array; series: "corrected" | "uncorrected" }[]>();
    const unit: Unit = {
      backend,
      server,
      round: r,
      meter(key, s = server): Meter {
        // A server nobody reads has client-side figures only: the client's own CPU still is read.
        const inner: Meter = s.accounting ? new AccountedMeter(s, false) : NO_METER;
        if (inner instanceof AccountedMeter) meters.set(key, inner);
        let t0 = 0;
        let c0 = 0;
        return {
          begin() {
            t0 = performance.now();
            c0 = threadCpuNs();
            return inner.begin();
          },
          end(requests) {
            const wallNs = (performance.now() - t0) * 1e6;
            if (wallNs > 0) clientUtil.set(key, (threadCpuNs() - c0) / wallNs);
            return inner.end(requests);
          },
        };
      },
      keep(key, samplesNs, series = "corrected") {
        let list = pending.get(key);
        if (!list) pending.set(key, (list = []));
        list.push({ samples: strided(samplesNs, MAX_KEPT_PER_UNIT), series });
      },
    };
    const got = await def.unit(env, o, prepared.state, unit);
    // Kept only once the unit is accepted (a stalled unit that is repeated leaves nothing behind).
    for (const [key, list] of pending) for (const p of list) samples.add(p.series, def.slug, key, backend, p.samples);
    // The client's CPU over each measured interval, unless the unit's client measured it itself (the C load client);
    // client-bound follows from it, in this one place.
    for (const [key, res] of Object.entries(got)) {
      res.client_util ??= clientUtil.get(key);
      if (res.client_util !== undefined) res.client_bound = res.client_util >= CLIENT_BOUND_UTIL;
    }
    return { got, meters };
  };

  while (!stopped) {
    round++;
    const tr = performance.now();
    const visiting = env.backends.filter((b) => !dead.has(b) && (plan.gated.has(b) || round <= plan.otherRounds));
    if (hooks.renew) {
      const failed = await hooks.renew(visiting);
      for (const [b, e] of failed) markDead(b, `a fresh server for round ${round} did not start: ${e.message}`);
      for (const b of visiting) {
        const s = serverFor(b);
        // Descriptors are compared within one process: the instance that ends the scenario, from its start.
        if (s && !s.exited && s.accounting) resources.get(b)!.before = await resourcesOf(s);
      }
    }
    const order = shuffled(visiting.filter((b) => !dead.has(b)), rnd);
    out.orders!.push(order);
    for (const backend of order) {
      const server = serverFor(backend);
      if (!server || server.exited) {
        markDead(backend, server ? `server exited (${server.exitReason ?? `code ${server.exitCode}`}) before round ${round}` : "server not started");
        continue;
      }
      hooks.focus(serversOf(backend));
      hooks.progress?.unit(`scenario ${def.number} (${def.slug})`, round, backend);
      try {
        let attempt = 0;
        for (;;) {
          hooks.probe.begin();
          // Buffers kept per attempt: a repeated unit replaces what its stalled attempt kept.
          const mark = samples.mark();
          const { got, meters } = await measureUnit(backend, server, round);
          // A remote server's host watched its own CPUs over each measured interval: the worst counts too.
          const there = [...meters.values()].map((m) => m.figures?.stall).filter((x) => x !== undefined);
          const serverHost = there.length ? { stealMs: Math.max(...there.map((x) => x.stealMs)), hiccupMs: Math.max(...there.map((x) => x.hiccupMs)) } : undefined;
          const seen = worseStall(hooks.probe.end(), serverHost);
          const stalled = isStalled(seen, plan.stallBoundMs);
          if (stalled) stalls.push({ round, backend, stealMs: seen.stealMs, hiccupMs: seen.hiccupMs, repeated: attempt < plan.maxRepeats, ...(serverHost ? { serverHost } : {}) });
          if (stalled && attempt < plan.maxRepeats) {
            samples.rollback(mark);
            attempt++;
            continue;
          }
          for (const v of variants) {
            const res = got[v.key];
            if (!res) continue;
            const m = meters.get(v.key);
            if (m?.figures) res.costs = costSample(m.figures, m.requests);
            if (stalled) res.stalled = true;
            if (attempt) res.repeats = attempt;
            v.backends.find((b) => b.backend === backend)!.rounds.push(res);
          }
          break;
        }
      } catch (e) {
        env.log(`scenario ${def.number}: ${backend} round ${round}: ${(e as Error).message}`);
        for (const v of variants) v.backends.find((b) => b.backend === backend)!.rounds.push({ round, errors: { ...noErrors(), io: 1 } });
      }
      // The measurements block the JS thread; between them, let queued signals
      // (Ctrl-C) and child-exit events run.
      await new Promise<void>((r) => setImmediate(r));
    }
    roundMs.push(performance.now() - tr);
    const now = performance.now();
    const nextRound = roundMs.length ? Math.max(...roundMs.slice(-3)) : 0;
    if (round >= plan.minRounds) {
      const atLook = round === plan.minRounds || (round - plan.minRounds) % plan.blockRounds === 0;
      if (!plan.sequential) stopped = "fixed rounds (no criterion reads this scenario)";
      else if (atLook && hooks.look) {
        looks++;
        const partial: ScenarioResult = { ...out, variants: variants.map((v) => ({ ...v, backends: v.backends.map((b) => ({ ...b })) })) };
        finishVariants(def.slug, partial.variants, samples, { baseline: hooks.baseline, confidence: plan.confidence }, null, resources, plan.countSyscalls);
        const l = hooks.look(partial, looks);
        lastNote = l.note;
        if (l.settled) stopped = `settled after look ${looks}: ${l.note}`;
      }
      if (!stopped && round >= plan.maxRounds) stopped = `reached the most rounds (${plan.maxRounds})${lastNote ? `; ${lastNote}` : ""}`;
      if (!stopped && now + nextRound > plan.deadlineMs) stopped = `its share of the time budget was used${lastNote ? `; ${lastNote}` : ""}`;
    }
    hooks.progress?.line(`scenario ${def.number}: round ${round} done (${order.length} backends, ${((performance.now() - tr) / 1000).toFixed(1)} s)`);
  }
  out.sequential = { rounds: round, looks, stopped, elapsed_s: (performance.now() - t0) / 1000 };

  // The client has just closed its connections: give each server a moment to
  // see the closes before its descriptors are counted.
  hooks.focus(undefined);
  for (const b of env.backends) {
    const s = serverFor(b);
    const r = resources.get(b)!;
    if (!s || s.exited || !s.accounting) continue;
    r.after = await resourcesOf(s, r.before?.fds, 50);
  }

  // One more, untimed pass per backend counts system calls with perf.
  const syscalls = new Map<string, Map<string, { perRequest: number | null; note?: string }>>();
  if (plan.countSyscalls) {
    for (const backend of env.backends) {
      const server = serverFor(backend);
      if (!server || server.exited || !server.accounting || dead.has(backend)) continue;
      hooks.focus(serversOf(backend));
      const meters = new Map<string, AccountedMeter>();
      const unit: Unit = {
        backend,
        server,
        round: 0,
        meter(key, s = server) {
          if (!s.accounting) return NO_METER;
          const m = new AccountedMeter(s, true);
          meters.set(key, m);
          return m;
        },
        keep() {},
      };
      try {
        await def.unit(env, o, prepared.state, unit);
      } catch (e) {
        env.log(`scenario ${def.number}: counting pass ${backend}: ${(e as Error).message}`);
      }
      for (const [key, m] of meters) {
        let byBackend = syscalls.get(key);
        if (!byBackend) syscalls.set(key, (byBackend = new Map()));
        const count = m.figures?.syscalls;
        byBackend.set(backend, count != null && m.requests > 0 ? { perRequest: count / m.requests } : { perRequest: null, note: m.figures?.syscallsNote ?? "no count" });
      }
    }
    hooks.focus(undefined);
  }
  await def.cleanup?.(prepared.state);
  finishVariants(def.slug, variants, samples, { baseline: hooks.baseline, confidence: plan.confidence }, syscalls, resources, plan.countSyscalls);
  for (const v of variants)
    for (const b of v.backends) if (b.costs && serverFor(b.backend)?.accounting?.where === "server-host") b.costs.measured_on = "server-host";
  if (variants.every((v) => v.backends.every((b) => b.failure || b.unsupported))) out.status = "failed";
  if (variants.some((v) => v.backends.some((b) => !b.failure && errorCount(b.errors) > 0)))
    out.note = "errors occurred: see the errors column";
  return out;
}
