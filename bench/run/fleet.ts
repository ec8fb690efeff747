// The servers of one run: each label's process (a backend, `NAME#2` for the
// A/A control's second instance), your own servers (--target), and the extra
// servers a scenario starts (order mode). The fleet starts them, pauses all
// but the one measured, renews them (fresh processes for a new round), sums
// what each instance counted, and stops them.
//
// Why renew: two processes of one server differ by more than their rounds
// do (memory placement, address-space layout, which pages share cache sets):
// on this VM the paired ping-pong ratio of two runs differed by 1.4% (SD)
// where one run's rounds put it within ±0.3%. A server kept for the whole run
// bakes one draw of that into every round, and the interval misses it; a
// fresh process per round makes it part of the round-to-round spread the
// interval is built from (README, "Method").
//
// Why prime: a new process of a server whose loop runs in JavaScriptCore
// answers more slowly until about 14,000 round trips have passed through it
// (docs/method.md: same-core ping-pong 5.2-5.5 µs for the first 13,000, then
// 4.8-4.9). A fresh server per round would measure every round in that
// warm-up; each new process of such a backend is driven through `prime`
// round trips (in C, 100 B, verified) before anything measures it. Servers
// in C and Tokio have no such warm-up and are not primed.
import { NativeBuffer } from "../../ffi/memory.ts";
import { PingPongClient } from "../clients/ping-pong.ts";
import { BACKENDS } from "../server/backends.ts";
import { ServerProcess, type ServerHandle, type ServerSpawnOptions } from "../server/process.ts";

/** Round trips per C call while priming (the latencies are discarded). */
const PRIME_BATCH = 1000;

export interface InstanceSummary {
  /** Processes this label ran (1 without renewals). */
  instances: number;
  /** Counters of every instance's exit summary, summed (the last instance's other fields). */
  summary: Record<string, string> | null;
  /** Instances that did not stop cleanly: exit code and whether they were killed. */
  unclean: { exitCode: number | null; killed: boolean }[];
}

/** Summary fields that are not counters. */
const NOT_SUMMED = new Set(["backend", "signal"]);

function addSummaries(a: Record<string, string> | null, b: Record<string, string> | null): Record<string, string> | null {
  if (!a || !b) return b ?? a;
  const out = { ...b };
  for (const [k, v] of Object.entries(a)) {
    if (NOT_SUMMED.has(k)) continue;
    const x = Number(v);
    const y = Number(b[k]);
    if (/^-?\d+$/.test(v) && /^-?\d+$/.test(b[k] ?? "") && Number.isSafeInteger(x + y)) out[k] = String(x + y);
  }
  return out;
}

export class ServerFleet {
  /** What scenarios see: every label's current server, local or yours. */
  readonly servers = new Map<string, ServerHandle>();
  #local = new Map<string, ServerProcess>();
  #options = new Map<string, ServerSpawnOptions>();
  #extra = new Set<ServerProcess>();
  #done = new Map<string, InstanceSummary>();
  #cpus: readonly number[] | undefined;
  #prime = 0;
  #primeAtStart = true;
  #primeNs: NativeBuffer | undefined;
  /** Processes primed, the time priming took (s), and why any could not be. */
  readonly primed = { processes: 0, seconds: 0, failures: [] as string[] };

  /**
   * Round trips to drive through every new process of a backend that warms up
   * (0: none); `atStart: false` when every round renews the servers anyway
   * (the first processes are replaced before anything measures them).
   */
  primeWith(roundTrips: number, opts: { atStart: boolean } = { atStart: true }): void {
    this.#prime = Math.max(0, Math.floor(roundTrips));
    this.#primeAtStart = opts.atStart;
  }

  /** A new process of a backend that warms up: `#prime` echo round trips before it is measured. */
  #primeIfNeeded(label: string, s: ServerProcess): void {
    const o = this.#options.get(label);
    if (!this.#prime || !o || (o.mode ?? "echo") !== "echo" || !BACKENDS[o.backend]?.warmsUp) return;
    const t0 = performance.now();
    this.#primeNs ??= new NativeBuffer(PRIME_BATCH * 8);
    let c: PingPongClient | undefined;
    try {
      c = new PingPongClient(s.host, s.port, 100, 2000, 1);
      c.setPayload(100);
      for (let done = 0; done < this.#prime; ) {
        const got = c.roundTripsInC(Math.min(PRIME_BATCH, this.#prime - done), this.#primeNs);
        // A wrong or missing answer is the measurement's to find and report: stop priming.
        if (got <= 0) throw new Error(`priming ${label}: answer ${done + 1} failed (${got})`);
        done += got;
      }
      this.primed.processes++;
    } catch (e) {
      this.primed.failures.push((e as Error).message);
    } finally {
      c?.close();
      this.primed.seconds += (performance.now() - t0) / 1000;
    }
  }

  /** The CPUs new server processes are pinned to (undefined or empty: not pinned). */
  placeOn(cpus: readonly number[] | undefined): void {
    this.#cpus = cpus?.length ? cpus : undefined;
  }

  /** Starts a label's server; the options are kept for its renewals. */
  async start(label: string, options: Omit<ServerSpawnOptions, "cpu">): Promise<ServerProcess> {
    const s = await ServerProcess.start({ ...options, cpus: this.#cpus });
    this.#options.set(label, options);
    this.#local.set(label, s);
    this.servers.set(label, s);
    this.#done.set(label, { instances: 1, summary: null, unclean: [] });
    if (this.#primeAtStart) this.#primeIfNeeded(label, s);
    return s;
  }

  /** Your server: measured, never paused, renewed or stopped. */
  addTarget(label: string, handle: ServerHandle): void {
    this.servers.set(label, handle);
  }

  /** A scenario's extra server (kept until the fleet stops, paused like the others). */
  async startExtra(options: Omit<ServerSpawnOptions, "cpu">): Promise<ServerProcess> {
    const s = await ServerProcess.start({ ...options, cpus: this.#cpus });
    this.#extra.add(s);
    return s;
  }

  isLocal(label: string): boolean {
    return this.#local.has(label);
  }

  /** Whether a label's server can be renewed (it is ours). */
  renewable(label: string): boolean {
    return this.#local.has(label);
  }

  /** Pause every server this run owns but these (undefined: let every one run). */
  focus(keep: ServerHandle[] | undefined): void {
    for (const s of [...this.#local.values(), ...this.#extra]) {
      if (s.exited) continue;
      if (!keep || keep.includes(s)) s.resume();
      else s.pause();
    }
    for (const s of this.#extra) if (s.exited) this.#extra.delete(s);
  }

  async #retire(label: string, s: ServerProcess): Promise<void> {
    const r = await s.stop();
    const d = this.#done.get(label)!;
    d.summary = addSummaries(d.summary, r.summary);
    if (r.killed || r.exitCode !== 0) d.unclean.push({ exitCode: r.exitCode, killed: r.killed });
  }

  /**
   * Fresh processes for these labels: each old one is stopped (its summary
   * kept) and a new one started with the same options, all at once. Labels
   * that are not ours are left as they are. Returns the labels whose new
   * process did not start, with why. A server that has exited is not
   * renewed: its death is for the round runner to see and report.
   */
  async renew(labels: string[]): Promise<Map<string, Error>> {
    const failed = new Map<string, Error>();
    this.focus(undefined);
    const renewed = labels.filter((l) => this.#local.has(l) && !this.#local.get(l)!.exited);
    await Promise.all(
      renewed.map(async (label) => {
        await this.#retire(label, this.#local.get(label)!);
        try {
          const s = await ServerProcess.start({ ...this.#options.get(label)!, cpus: this.#cpus });
          this.#local.set(label, s);
          this.servers.set(label, s);
          this.#done.get(label)!.instances++;
        } catch (e) {
          failed.set(label, e as Error);
        }
      }),
    );
    // One at a time, once every new process is up: priming is CPU work on the servers' CPU.
    for (const label of renewed) if (!failed.has(label)) this.#primeIfNeeded(label, this.#local.get(label)!);
    return failed;
  }

  /** Stops every server this run owns; per label, what its instances counted and how they stopped. */
  async stopAll(): Promise<Map<string, InstanceSummary>> {
    this.focus(undefined);
    for (const [label, s] of this.#local) await this.#retire(label, s);
    this.#local.clear();
    for (const s of this.#extra) await s.stop();
    this.#extra.clear();
    return this.#done;
  }

  /** Kills what is left without waiting (an interrupted run). */
  kill(): void {
    for (const s of [...this.#local.values(), ...this.#extra]) {
      s.resume();
      s.kill();
    }
  }
}
