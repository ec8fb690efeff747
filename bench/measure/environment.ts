// The settings that shape an epoll-against-io_uring comparison before a single
// request is sent: how the CPUs clock and share cores, which CPU-vulnerability
// mitigations tax every kernel entry (io_uring's gain is making fewer of them),
// whether io_uring is allowed at all, a seccomp filter, the locked-memory limit
// old kernels charge rings to, and transparent huge pages. Parsers take the
// files' text (tests feed literals); readEnvironment() reads them under `root`.
import { readdirSync, readFileSync } from "node:fs";
import { parseCpuList } from "./quiet.ts";

export interface CpuFreq {
  /** The scaling governor of every CPU: "performance", "schedutil", ...; "none" when the kernel has no cpufreq (many VMs); "mixed" when CPUs differ. */
  governor: string;
  /** scaling_driver of the first CPU with cpufreq ("acpi-cpufreq", "intel_pstate", ...), or null. */
  driver: string | null;
  /** With "mixed": each CPU's governor (null: that CPU has none), by CPU number. */
  byCpu?: Record<string, string | null>;
}

export interface Smt {
  /** /sys/devices/system/cpu/smt/control: on, off, forceoff, notsupported, notimplemented; null when absent. */
  control: string | null;
  /** smt/active: whether any core runs two hardware threads now; null when absent. */
  active: boolean | null;
  /** CPUs sharing one core (thread_siblings_list), only groups of two or more. */
  siblings: number[][];
}

export type VulnerabilityState = "not affected" | "mitigated" | "vulnerable" | "unknown";

/** A mitigation in force that adds work to every kernel entry or exit (or to every branch inside the kernel). */
export interface SyscallTax {
  /** The vulnerability file's name: "meltdown", "spectre_v2", ... */
  name: string;
  /** The mechanisms and what they add to: "PTI (page tables switched on every kernel entry and exit)", ... */
  mechanisms: string[];
}

export interface Mitigations {
  /** `mitigations=` on the kernel command line ("auto", "off", ...), or null when not given. */
  bootParam: string | null;
  notAffected: string[];
  mitigated: string[];
  vulnerable: string[];
  /** "Unknown: ..." and anything else (e.g. a guest that cannot see the host's state). */
  unknown: string[];
  /** Those whose mitigation taxes system calls; io_uring's advantage grows with this cost. */
  syscallTax: SyscallTax[];
  /** Each file's text, by name. */
  raw: Record<string, string>;
}

export interface IoUringAccess {
  /** kernel.io_uring_disabled: 0 allowed, 1 only root or kernel.io_uring_group, 2 nobody; null when the sysctl does not exist. */
  disabled: number | null;
  /** kernel.io_uring_group (-1: none); null when absent (kernels before 6.6). */
  group: number | null;
  /** Whether this process (and the servers it starts, with its credentials) may create a ring; null when unknown. */
  allowed: boolean | null;
}

export interface Seccomp {
  /** /proc/self/status Seccomp: 0 disabled, 1 strict, 2 filter. */
  mode: "disabled" | "strict" | "filter" | null;
  /** Seccomp_filters: filters attached (Linux 5.9+), null when not reported. */
  filters: number | null;
}

export type Limit = number | "unlimited";

export interface MemLock {
  /** RLIMIT_MEMLOCK soft limit in bytes, or "unlimited"; null when /proc/self/limits has no line. */
  soft: Limit | null;
  hard: Limit | null;
  /** CAP_IPC_LOCK is in effect: the kernel does not charge io_uring memory to the limit. */
  ipcLock: boolean | null;
}

export interface Thp {
  /** /sys/kernel/mm/transparent_hugepage/enabled: always, madvise, never; null when absent. */
  enabled: string | null;
  /** transparent_hugepage/defrag: always, defer, defer+madvise, madvise, never. */
  defrag: string | null;
}

export interface Environment {
  cpufreq: CpuFreq;
  smt: Smt;
  /** null when the kernel has no /sys/devices/system/cpu/vulnerabilities. */
  mitigations: Mitigations | null;
  ioUring: IoUringAccess;
  seccomp: Seccomp;
  memlock: MemLock;
  thp: Thp;
}

// ---- parsers: the text of one file (or of one file per CPU) in, a value out ----

/** Governors of each CPU (null: no cpufreq directory for it) -> the CpuFreq summary. */
export function summarizeGovernors(byCpu: ReadonlyMap<number, string | null>, driver: string | null = null): CpuFreq {
  const present = [...byCpu.values()].filter((g): g is string => g !== null && g !== "");
  if (present.length === 0) return { governor: "none", driver: null };
  const distinct = new Set(present);
  if (distinct.size === 1 && present.length === byCpu.size) return { governor: present[0], driver };
  const all: Record<string, string | null> = {};
  for (const [cpu, g] of [...byCpu].sort((a, b) => a[0] - b[0])) all[String(cpu)] = g || null;
  return { governor: "mixed", driver, byCpu: all };
}

/** "[madvise]" out of "always [madvise] never" (sysfs marks the choice in brackets); a single word stands for itself. */
export function parseBracketChoice(text: string | null): string | null {
  if (text === null) return null;
  const m = /\[([^\]]+)\]/.exec(text);
  if (m) return m[1];
  const t = text.trim();
  return t && !/\s/.test(t) ? t : null;
}

export function parseSmt(control: string | null, active: string | null, siblingLists: readonly string[]): Smt {
  const groups = new Map<string, number[]>();
  for (const list of siblingLists) {
    const cpus = parseCpuList(list);
    if (cpus.length > 1) groups.set(cpus.join(","), cpus);
  }
  return {
    control: control?.trim() || null,
    active: active === null || active.trim() === "" ? null : active.trim() === "1",
    siblings: [...groups.values()].sort((a, b) => a[0] - b[0]),
  };
}

export function vulnerabilityState(text: string): VulnerabilityState {
  if (/^Not affected/i.test(text)) return "not affected";
  // itlb_multihit speaks for KVM: "KVM: Mitigation: Split huge pages", "KVM: Vulnerable".
  if (/^(KVM: )?Mitigation/i.test(text)) return "mitigated";
  if (/^(KVM: )?Vulnerable|^Processor vulnerable/i.test(text)) return "vulnerable";
  return "unknown";
}

// What each mitigation adds to a system call. Matched against the file's text,
// not its first word: "Vulnerable: Safe RET, no microcode" still runs the Safe
// RET thunk on every kernel return. Host-only parts (VM exits) are left out.
const TAXES: { test: (name: string, text: string) => boolean; what: string }[] = [
  { test: (_, t) => /\bPTI\b/.test(t), what: "PTI (page tables switched on every kernel entry and exit)" },
  {
    // "attempted, no microcode": VERW without the microcode that makes it flush costs next to nothing.
    test: (_, t) => /Clear CPU buffers(?!: VM| attempted)|Clear Register File/i.test(t),
    what: "VERW (CPU buffers cleared on every return to user space)",
  },
  { test: (_, t) => /^Mitigation: IBRS\b/.test(t), what: "IBRS (legacy, set on every kernel entry)" },
  { test: (_, t) => /^Mitigation: IBPB\s*$/.test(t), what: "IBPB (branch predictors flushed on every kernel entry)" },
  { test: (_, t) => /BHI: SW loop/.test(t), what: "BHI loop (branch history cleared on every system call)" },
  { test: (_, t) => /retpoline/i.test(t), what: "retpolines (every indirect branch in the kernel)" },
  {
    test: (_, t) => /untrained return thunk|\bUnret\b|Stuffing|return thunks|(?<!no )Safe RET/i.test(t),
    what: "return thunks (every kernel function return)",
  },
];

/** The files of /sys/devices/system/cpu/vulnerabilities (name -> text) and the kernel command line -> Mitigations. */
export function parseMitigations(files: Readonly<Record<string, string>>, cmdline: string | null = null): Mitigations {
  const out: Mitigations = {
    bootParam: cmdline ? (/(?:^|\s)mitigations=(\S+)/.exec(cmdline)?.[1] ?? null) : null,
    notAffected: [],
    mitigated: [],
    vulnerable: [],
    unknown: [],
    syscallTax: [],
    raw: {},
  };
  for (const name of Object.keys(files).sort()) {
    const text = files[name].trim();
    out.raw[name] = text;
    const state = vulnerabilityState(text);
    (state === "not affected" ? out.notAffected : state === "mitigated" ? out.mitigated : state === "vulnerable" ? out.vulnerable : out.unknown).push(name);
    if (state === "not affected") continue;
    const mechanisms = TAXES.filter((t) => t.test(name, text)).map((t) => t.what);
    if (mechanisms.length) out.syscallTax.push({ name, mechanisms: [...new Set(mechanisms)] });
  }
  return out;
}

/** The one word of a sysctl file as an integer, or null. */
export function parseSysctlInt(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return text.trim() !== "" && Number.isInteger(n) ? n : null;
}

export interface ProcStatus {
  seccomp: Seccomp;
  /** Effective capabilities (CapEff), or null when absent. */
  capEff: bigint | null;
  /** Effective GID and supplementary groups. */
  groups: number[];
}

const CAP_IPC_LOCK = 14n;
const CAP_SYS_ADMIN = 21n;

export const hasCap = (capEff: bigint | null, bit: bigint): boolean | null => (capEff === null ? null : ((capEff >> bit) & 1n) === 1n);

/** The lines of /proc/self/status that matter here. */
export function parseProcStatus(text: string): ProcStatus {
  const field = (key: string) => new RegExp(`^${key}:[ \\t]*(.*)$`, "m").exec(text)?.[1].trim() ?? null;
  const modeNum = parseSysctlInt(field("Seccomp"));
  const mode = modeNum === 0 ? "disabled" : modeNum === 1 ? "strict" : modeNum === 2 ? "filter" : null;
  const cap = field("CapEff");
  const gid = field("Gid")?.split(/\s+/)[1];
  const groups = [gid, ...(field("Groups")?.split(/\s+/) ?? [])].filter((g) => g !== undefined && g !== "").map(Number);
  return {
    seccomp: { mode, filters: parseSysctlInt(field("Seccomp_filters")) },
    capEff: cap && /^[0-9a-f]+$/i.test(cap) ? BigInt(`0x${cap}`) : null,
    groups: [...new Set(groups)],
  };
}

/** The kernel's io_uring_allowed(): 0 everyone, 2 nobody, 1 CAP_SYS_ADMIN or a member of kernel.io_uring_group. */
export function ioUringAccess(disabled: number | null, group: number | null, status: ProcStatus | null): IoUringAccess {
  let allowed: boolean | null;
  if (disabled === null || disabled === 0) allowed = disabled === 0 ? true : null;
  else if (disabled >= 2) allowed = false;
  else if (status === null) allowed = null;
  else allowed = hasCap(status.capEff, CAP_SYS_ADMIN) === true || (group !== null && group >= 0 && status.groups.includes(group));
  return { disabled, group, allowed };
}

/** RLIMIT_MEMLOCK from the text of /proc/self/limits ("Max locked memory  8388608  8388608  bytes"). */
export function parseMemlock(limits: string, ipcLock: boolean | null = null): MemLock {
  const m = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(limits);
  const value = (s: string | undefined): Limit | null => (s === undefined ? null : s === "unlimited" ? "unlimited" : Number.isFinite(Number(s)) ? Number(s) : null);
  return { soft: value(m?.[1]), hard: value(m?.[2]), ipcLock };
}

// ---- reading the machine ----

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Everything above, from the files under `root` ("" for this machine; tests pass a directory laid out like / ). Never throws. */
export function readEnvironment(root = ""): Environment {
  const cpuDir = `${root}/sys/devices/system/cpu`;
  const cpus = listDir(cpuDir)
    .filter((n) => /^cpu\d+$/.test(n))
    .map((n) => Number(n.slice(3)))
    .sort((a, b) => a - b);
  const governors = new Map<number, string | null>();
  let driver: string | null = null;
  for (const cpu of cpus) {
    governors.set(cpu, readText(`${cpuDir}/cpu${cpu}/cpufreq/scaling_governor`)?.trim() ?? null);
    driver ??= readText(`${cpuDir}/cpu${cpu}/cpufreq/scaling_driver`)?.trim() || null;
  }
  const vulnDir = `${cpuDir}/vulnerabilities`;
  const vulnNames = listDir(vulnDir);
  const vulnFiles: Record<string, string> = {};
  for (const name of vulnNames) {
    const text = readText(`${vulnDir}/${name}`);
    if (text !== null) vulnFiles[name] = text;
  }
  const statusText = readText(`${root}/proc/self/status`);
  const status = statusText === null ? null : parseProcStatus(statusText);
  const thpDir = `${root}/sys/kernel/mm/transparent_hugepage`;
  return {
    cpufreq: summarizeGovernors(governors, driver),
    smt: parseSmt(
      readText(`${cpuDir}/smt/control`),
      readText(`${cpuDir}/smt/active`),
      cpus.map((cpu) => readText(`${cpuDir}/cpu${cpu}/topology/thread_siblings_list`) ?? ""),
    ),
    mitigations: vulnNames.length ? parseMitigations(vulnFiles, readText(`${root}/proc/cmdline`)) : null,
    ioUring: ioUringAccess(parseSysctlInt(readText(`${root}/proc/sys/kernel/io_uring_disabled`)), parseSysctlInt(readText(`${root}/proc/sys/kernel/io_uring_group`)), status),
    seccomp: status?.seccomp ?? { mode: null, filters: null },
    memlock: parseMemlock(readText(`${root}/proc/self/limits`) ?? "", status ? hasCap(status.capEff, CAP_IPC_LOCK) : null),
    thp: { enabled: parseBracketChoice(readText(`${thpDir}/enabled`)), defrag: parseBracketChoice(readText(`${thpDir}/defrag`)) },
  };
}

// ---- what it means for these results ----

/** Memory a ring of `entries` SQ entries (CQ twice as large) takes: SQEs, the SQ index array, CQEs, and the rings' headers. */
export function ringBytes(entries: number): number {
  const page = 4096;
  const up = (n: number) => Math.ceil(n / page) * page;
  return up(entries * 64) + up(entries * 4 + 64 * 3) + up(2 * entries * 16 + 64 * 3);
}

/** The ring the io_uring servers create (bench/server/uring-server.ts, c/loop_uring.c): 4096 entries. */
export const BENCH_RING_ENTRIES = 4096;

/** [major, minor] of a kernel release ("6.1.0-18-amd64" -> [6, 1]), or null. */
export function kernelVersion(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Kernels before 5.12 charge io_uring ring memory to RLIMIT_MEMLOCK (later ones to the memory cgroup). */
export function chargesRingsToMemlock(release: string): boolean {
  const v = kernelVersion(release);
  return v !== null && (v[0] < 5 || (v[0] === 5 && v[1] < 12));
}

export function formatBytes(n: Limit | null): string {
  if (n === null) return "unknown";
  if (n === "unlimited") return "unlimited";
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} B`;
}

/** Two short lines for the report's context block ("key  value"). */
export function environmentLines(e: Environment): string[] {
  const smt = e.smt.control === null ? "unknown" : `${e.smt.control}${e.smt.active === null ? "" : e.smt.active ? " (active)" : " (inactive)"}`;
  const thp = e.thp.enabled === null ? "unknown" : `${e.thp.enabled}${e.thp.defrag ? ` (defrag ${e.thp.defrag})` : ""}`;
  const freq = e.cpufreq.governor === "none" ? "none (no cpufreq)" : `${e.cpufreq.governor}${e.cpufreq.driver ? ` (${e.cpufreq.driver})` : ""}`;
  const seccomp = e.seccomp.mode === "filter" ? `filter (${e.seccomp.filters ?? "?"} attached)` : (e.seccomp.mode ?? "unknown");
  const uring = e.ioUring.allowed === null ? "unknown" : e.ioUring.allowed ? "allowed" : "denied to this process";
  const group = e.ioUring.group !== null && e.ioUring.group >= 0 ? ` (kernel.io_uring_group=${e.ioUring.group})` : "";
  const m = e.mitigations;
  let mit = "mitigations unknown";
  if (m) {
    const tax = m.syscallTax.length ? `mitigations taxing system calls: ${m.syscallTax.map((t) => t.name).join(", ")}` : "no mitigation taxing system calls";
    const counts = `${m.mitigated.length} mitigated, ${m.vulnerable.length} vulnerable, ${m.notAffected.length} not affected${m.unknown.length ? `, ${m.unknown.length} unknown` : ""}`;
    mit = `${tax} (${counts}${m.bootParam ? `; mitigations=${m.bootParam}` : ""})`;
  }
  return [
    `tuning    cpufreq ${freq}; SMT ${smt}; THP ${thp}; RLIMIT_MEMLOCK ${formatBytes(e.memlock.soft)}`,
    `security  ${mit}; seccomp ${seccomp}; io_uring ${uring}${group}`,
  ];
}
