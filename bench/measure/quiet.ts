// Keeping the machine quiet while a latency is measured, and noticing when it
// was not. On this VM an idle vCPU halts (cpuidle driver haltpoll) and waking
// it costs ~40-50 µs per hop; a PM QoS request of 0 µs on /dev/cpu_dma_latency
// keeps idle CPUs polling instead. The hypervisor also takes a CPU away for
// ~100 ms now and then: the steal column of /proc/stat shows it, and a timed
// unit that contains such a stall should be flagged (StealWatch).
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from "node:fs";
import { cpus } from "node:os";
import { clockTicksPerSecond } from "./procstat.ts";

// ---- PM QoS: /dev/cpu_dma_latency ----

export const PM_QOS_PATH = "/dev/cpu_dma_latency";

export type PmQosHold =
  | { held: true; path: string; release(): void }
  | { held: false; path: string; reason: string; remedy: string };

// Descriptors of requests still held, closed at exit. The kernel drops a
// request when its descriptor is closed, and closes every descriptor of a
// process that dies (a signal, a crash, process.exit), so a hold never
// outlives the process; the exit hook only releases it a little earlier and
// keeps the rule "whoever opens it closes it".
const openHolds = new Set<number>();
let exitHookInstalled = false;

function closeAllHolds(): void {
  for (const fd of openHolds) {
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing to release
    }
  }
  openHolds.clear();
}

function errText(e: unknown): { code: string; text: string } {
  const err = e as NodeJS.ErrnoException;
  const code = typeof err?.code === "string" ? err.code : "error";
  // Node's messages repeat the code and the call: "ENOENT: no such file or directory, open '/x'".
  const message = String(err?.message ?? e).replace(/^[A-Z]+: /, "").replace(/, (open|write) .*$|, (open|write)$/, "");
  return { code, text: `${code} (${message})` };
}

function pmQosRemedy(code: string, path: string): string {
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `run as root, or: sudo chown "$(id -un)" ${path} (until the next reboot)`;
    case "ENOENT":
      if (path !== PM_QOS_PATH) return `no file ${path}`;
      return `this kernel has no ${path} (PM QoS); instead disable the deep idle states: echo 1 | sudo tee /sys/devices/system/cpu/cpu*/cpuidle/state[1-9]*/disable`;
    default:
      return `check that ${path} is the PM QoS device (a character device, 10:259 on Linux)`;
  }
}

/**
 * Asks the kernel for 0 µs wake-up latency (idle CPUs poll instead of halting)
 * and holds the request until release() or the end of the process. Never
 * throws: a failure says why and what to do. `path` is for tests.
 */
export function holdPmQos(path: string = PM_QOS_PATH): PmQosHold {
  let fd: number;
  try {
    // O_RDWR without O_CREAT/O_TRUNC: the device must exist; nothing is created.
    fd = openSync(path, "r+");
  } catch (e) {
    const { code, text } = errText(e);
    return { held: false, path, reason: `open ${path}: ${text}`, remedy: pmQosRemedy(code, path) };
  }
  try {
    // The device takes a binary int32 in native byte order (or a hex string).
    const n = writeSync(fd, new Uint8Array(new Int32Array([0]).buffer));
    if (n !== 4) throw Object.assign(new Error(`wrote ${n} of 4 bytes`), { code: "EIO" });
  } catch (e) {
    closeSync(fd);
    const { code, text } = errText(e);
    return { held: false, path, reason: `write ${path}: ${text}`, remedy: pmQosRemedy(code, path) };
  }
  openHolds.add(fd);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", closeAllHolds);
  }
  let released = false;
  return {
    held: true,
    path,
    release(): void {
      if (released) return;
      released = true;
      openHolds.delete(fd);
      closeSync(fd);
    },
  };
}

/**
 * The latency every CPU must currently meet, µs (int32; 2000000000 means no
 * request), or null when the device cannot be read. Opening the device adds a
 * "default" request for the moment it is open, which changes nothing.
 */
export function readPmQos(path: string = PM_QOS_PATH): number | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const buf = new ArrayBuffer(4);
    if (readSync(fd, new Uint8Array(buf), 0, 4, null) !== 4) return null;
    return new Int32Array(buf)[0];
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

// ---- cpuidle ----

const CPU_SYSFS = "/sys/devices/system/cpu";

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

export interface CpuIdleInfo {
  /** e.g. "haltpoll", "intel_idle", "acpi_idle"; null when the kernel has no cpuidle. */
  driver: string | null;
  /** e.g. "haltpoll", "menu", "teo"; null when absent. */
  governor: string | null;
}

export function cpuIdleInfo(): CpuIdleInfo {
  const dir = `${CPU_SYSFS}/cpuidle`;
  return {
    driver: readTrimmed(`${dir}/current_driver`),
    governor: readTrimmed(`${dir}/current_governor`) ?? readTrimmed(`${dir}/current_governor_ro`),
  };
}

export interface IdleState {
  /** Directory name: "state0", "state1", ... */
  state: string;
  /** e.g. "POLL", "haltpoll idle", "C1". */
  name: string;
  /** `disable` is 1: the governor will not choose this state. */
  disabled: boolean;
  /** Exit latency, µs: states above the PM QoS limit are not entered. */
  latencyUs: number;
  /** Times this state was entered since boot. */
  usage: number;
}

/** The idle states of one CPU, in order; [] when the CPU has none (or no cpuidle). */
export function idleStates(cpu: number): IdleState[] {
  const dir = `${CPU_SYSFS}/cpu${cpu}/cpuidle`;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^state\d+$/.test(n));
  } catch {
    return [];
  }
  names.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  return names.map((state) => ({
    state,
    name: readTrimmed(`${dir}/${state}/name`) ?? "",
    disabled: readTrimmed(`${dir}/${state}/disable`) === "1",
    latencyUs: Number(readTrimmed(`${dir}/${state}/latency`) ?? NaN),
    usage: Number(readTrimmed(`${dir}/${state}/usage`) ?? NaN),
  }));
}

// ---- steal time ----

/**
 * Cumulative steal (8th value of the `cpuN` line) of each requested CPU, in
 * USER_HZ ticks, from the text of /proc/stat. Throws for a CPU with no line
 * (not present or offline): a steal figure of 0 for it would be a lie.
 */
export function parseStealTicks(procStat: string, cpus: readonly number[]): number[] {
  const byCpu = new Map<number, number>();
  for (const line of procStat.split("\n")) {
    const m = /^cpu(\d+)\s/.exec(line);
    if (!m) continue;
    // cpuN user nice system idle iowait irq softirq steal ...
    const steal = Number(line.trim().split(/\s+/)[8] ?? 0);
    byCpu.set(Number(m[1]), Number.isFinite(steal) ? steal : 0);
  }
  return cpus.map((cpu) => {
    const v = byCpu.get(cpu);
    if (v === undefined) throw new Error(`/proc/stat has no line for cpu${cpu} (not present or offline)`);
    return v;
  });
}

/** Cumulative steal of each CPU since boot, in USER_HZ ticks (one read of /proc/stat). */
export function stealTicks(cpus: readonly number[]): number[] {
  return parseStealTicks(readFileSync("/proc/stat", "utf8"), cpus);
}

export interface StealReport {
  cpus: number[];
  /** Steal time of each CPU during the unit, ms (resolution one tick: 10 ms). */
  stealMs: number[];
  /** The largest of stealMs (0 when no CPU was watched). */
  maxMs: number;
}

/** `const w = StealWatch.start([0, 1]); ...timed unit...; const r = w.stop()`: steal during the unit. */
export class StealWatch {
  readonly cpus: number[];
  readonly #before: number[];

  private constructor(cpus: number[]) {
    this.cpus = cpus;
    this.#before = stealTicks(cpus);
  }

  static start(cpus: readonly number[]): StealWatch {
    return new StealWatch([...cpus]);
  }

  /** Steal since start(); may be called again (each call measures from start()). */
  stop(): StealReport {
    const after = stealTicks(this.cpus);
    const msPerTick = 1000 / clockTicksPerSecond();
    const stealMs = after.map((t, i) => Math.max(0, t - this.#before[i]) * msPerTick);
    return { cpus: this.cpus, stealMs, maxMs: stealMs.length ? Math.max(...stealMs) : 0 };
  }
}

// ---- CPU affinity of the whole process ----

/** "0-2,5" -> [0, 1, 2, 5] (the kernel's cpu list format). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

/** CPUs online now (/sys/devices/system/cpu/online), e.g. [0, 1]. */
export function onlineCpus(): number[] {
  const list = readTrimmed(`${CPU_SYSFS}/online`);
  if (list) return parseCpuList(list);
  return Array.from({ length: navigator.hardwareConcurrency || 1 }, (_, i) => i);
}

/** Cpus_allowed_list of every thread of a process, by thread id. */
export function threadAffinities(pid: number = process.pid): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const status = readTrimmed(`/proc/${pid}/task/${tid}/status`);
    const m = status && /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
    if (m) out.set(Number(tid), parseCpuList(m[1]));
  }
  return out;
}

export interface PinResult {
  /** Threads whose allowed CPUs are exactly the requested ones afterwards. */
  pinned: number;
  /** Threads whose allowed CPUs are not (the call failed for them). */
  failed: number;
  /** What went wrong, with taskset's own message; absent when every thread is pinned. */
  error?: string;
}

/**
 * Pins every existing thread of this process (Bun has helper threads besides
 * the JS thread) to `cpu` with `taskset -a -p -c LIST PID`; threads created
 * later inherit the affinity of the thread that creates them. Checks the
 * result in /proc/PID/task/*\/status. Never throws.
 */
export function pinProcessThreads(cpu: number | number[], pid: number = process.pid): PinResult {
  const cpus = [...new Set(Array.isArray(cpu) ? cpu : [cpu])].sort((a, b) => a - b);
  if (cpus.length === 0 || cpus.some((c) => !Number.isInteger(c) || c < 0)) {
    return { pinned: 0, failed: threadAffinities(pid).size, error: `invalid CPU list: ${JSON.stringify(cpu)}` };
  }
  let error: string | undefined;
  try {
    const r = Bun.spawnSync(["taskset", "-a", "-p", "-c", cpus.join(","), String(pid)], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      error = `taskset -a -p -c ${cpus.join(",")} ${pid} exited ${r.exitCode}: ${r.stderr.toString().trim() || "(no message)"}`;
    }
  } catch (e) {
    error = `taskset not runnable (${(e as Error).message}); install util-linux`;
  }
  const want = cpus.join(",");
  let pinned = 0, failed = 0;
  for (const allowed of threadAffinities(pid).values()) {
    if (allowed.join(",") === want) pinned++;
    else failed++;
  }
  if (!error && failed > 0) error = `${failed} thread(s) not pinned to ${want}`;
  if (!error && pinned === 0) error = `no thread of pid ${pid} found in /proc`;
  return error ? { pinned, failed, error } : { pinned, failed };
}

/** The CPUs this process may use (its threads' allowed CPUs, before the run pins any). */
export function allowedCpus(): number[] {
  const sets = [...threadAffinities(process.pid).values()];
  const all = sets.length ? [...new Set(sets.flat())] : Array.from({ length: cpus().length }, (_, i) => i);
  return all.sort((a, b) => a - b);
}
