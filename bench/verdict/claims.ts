// The guide's numeric claims next to what this machine measured. Pure: inputs
// (micro-benchmark results, scenario 5's network share, per-request system call
// counts) in, rows out; every input is optional and a row without its input
// says "n/a (why)". bench/report/micro-claims-tables.ts renders the rows
// (claimsToTable).
//
// Verdicts compare the measured value with the claimed range, bounds included:
// "holds" inside it, "lower than claimed" / "higher than claimed" outside. The
// guide's "about 3" and "about 1" system calls per request are taken as
// 2.5-3.5 and 0.5-1.5, its "47% fewer" as 42-52%.
import type { BenchResults, ClaimRow, ClaimVerdict, MicroBenchResult, MicroId } from "../results/schema.ts";
import { headlineVariantOf } from "../scenarios/index.ts";
import { firstStepNearOneSyscall, LADDER_STEPS } from "./ladder.ts";

// The row types are part of the JSON contract (bench/results/schema.ts).
export type { ClaimRow, ClaimVerdict } from "../results/schema.ts";

/**
 * What the claims are checked against. Every field is optional.
 * - micro: runMicro()'s results (only id, status and p50Ns of each benchmark are read);
 *   epoll_wait, read and write use the p50 per operation of the benchmarks with
 *   those ids, and only when their result check passed (status "ok").
 * - scenario5: scenario 5's order variant, `network_share_pct` of the backend
 *   reported (the share of the round trip the server did not spend processing).
 * - syscallsPerRequest: system calls per request by backend name, from a
 *   counting pass (perf/strace); `epollBackend` and `uringBackend` name the two
 *   compared (default "epoll" and "uring").
 */
export interface ClaimsInput {
  micro?: { benchmarks: Pick<MicroBenchResult, "id" | "status" | "p50Ns">[] };
  scenario5?: { networkSharePct: number; backend?: string };
  syscallsPerRequest?: Record<string, number>;
  epollBackend?: string;
  uringBackend?: string;
}

export function verdictFor(value: number, [lo, hi]: [number, number]): ClaimVerdict {
  if (!Number.isFinite(value)) return "n/a";
  if (value < lo) return "lower than claimed";
  if (value > hi) return "higher than claimed";
  return "holds";
}

/** µs with 2 decimals below 10, 1 below 100, none above. */
function fmtUs(us: number): string {
  return us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0);
}

function withUnit(value: number, unit: string): string {
  if (unit === "µs") return `${fmtUs(value)} µs`;
  if (unit === "%") return `${value.toFixed(1)}%`;
  return `${value.toFixed(2)} ${unit}`;
}

type Measured = { value: number; how: string } | { na: string; how: string };

function row(id: ClaimRow["id"], claim: string, claimed: string, range: [number, number], unit: string, m: Measured): ClaimRow {
  if ("na" in m) return { id, claim, claimed, range, unit, measured: null, measuredText: `n/a (${m.na})`, verdict: "n/a", how: m.how };
  return { id, claim, claimed, range, unit, measured: m.value, measuredText: withUnit(m.value, unit), verdict: verdictFor(m.value, range), how: m.how };
}

/** p50 per operation in µs of a passing micro-benchmark, or why it is missing. */
function microUs(input: ClaimsInput, id: MicroId): number | string {
  if (!input.micro) return "no micro-benchmark results";
  const b = input.micro.benchmarks.find((x) => x.id === id);
  if (!b) return `no ${id} micro-benchmark`;
  if (b.status !== "ok") return `${id} micro-benchmark ${b.status}`;
  if (!Number.isFinite(b.p50Ns) || b.p50Ns <= 0) return `${id} micro-benchmark has no time`;
  return b.p50Ns / 1000;
}

const NO_COUNTS = "no per-request system call counts yet: the perf counting pass provides them";

function count(input: ClaimsInput, backend: string): number | string {
  if (!input.syscallsPerRequest) return NO_COUNTS;
  const n = input.syscallsPerRequest[backend];
  if (n === undefined) return `no system call count for backend ${backend}`;
  if (!Number.isFinite(n) || n < 0) return `invalid system call count for backend ${backend}`;
  return n;
}

/**
 * Beside the expert loop's count: its C twin's when counted, and, when the
 * ladder ran (its steps were counted), the first step that made about 1.
 */
function uringExtras(input: ClaimsInput): string {
  const counts = input.syscallsPerRequest ?? {};
  const parts: string[] = [];
  const twin = count(input, "c-uring");
  if (typeof twin === "number") parts.push(`c-uring ${twin.toFixed(2)} (${verdictFor(twin, [0.5, 1.5])})`);
  // The ladder ran when its first step (a ladder-only backend) was counted.
  const counted = LADDER_STEPS.filter((s) => typeof count(input, s.backend) === "number");
  if (counted[0] === LADDER_STEPS[0]) {
    const first = firstStepNearOneSyscall(counts);
    const trail = counted.map((s) => `${s.backend} ${counts[s.backend].toFixed(2)}`).join(", ");
    parts.push(first ? `the ladder reached about 1 at ${first.backend} (${first.adds}): ${trail}` : `no ladder step reached about 1: ${trail}`);
  }
  return parts.length ? `; ${parts.join("; ")}` : "";
}

/** One row per claim, in the guide's order. */
export function claimsTable(input: ClaimsInput): ClaimRow[] {
  const epollName = input.epollBackend ?? "epoll";
  const uringName = input.uringBackend ?? "uring";
  const rows: ClaimRow[] = [];
  const micro = (id: MicroId, how: string): Measured => {
    const v = microUs(input, id);
    return typeof v === "string" ? { na: v, how } : { value: v, how };
  };

  const waitUs = microUs(input, "epoll_wait");
  const readUs = microUs(input, "read");
  const writeUs = microUs(input, "write");
  rows.push(
    row("epoll_wait", "epoll_wait system call", "3-5 µs", [3, 5], "µs",
      micro("epoll_wait", "micro-benchmark p50: epoll_wait(timeout 0) on 1 ready socket, via bun:ffi")),
    row("read", "read system call", "5-10 µs", [5, 10], "µs",
      micro("read", "micro-benchmark p50: 100 B non-blocking read on loopback TCP, data already queued")),
    row("write", "write system call", "5-10 µs", [5, 10], "µs",
      micro("write", "micro-benchmark p50: 100 B write on loopback TCP, delivered to the peer's queue")),
  );

  // System-call overhead of one request-response cycle.
  {
    const parts: [string, number | string][] = [["epoll_wait", waitUs], ["read", readUs], ["write", writeUs]];
    const missing = parts.find(([, v]) => typeof v === "string");
    const epollCount = count(input, epollName);
    let m: Measured;
    if (missing) {
      m = { na: missing[1] as string, how: "needs the epoll_wait, read and write micro-benchmarks" };
    } else {
      const sum = (waitUs as number) + (readUs as number) + (writeUs as number);
      m =
        typeof epollCount === "number"
          ? {
              value: (epollCount * sum) / 3,
              how: `${epollCount.toFixed(2)} system calls per request counted for ${epollName} x ${fmtUs(sum / 3)} µs, the mean p50 of epoll_wait, read and write`,
            }
          : { value: sum, how: "server side, 1 epoll_wait + 1 read + 1 write per request: sum of their micro-benchmark p50s" };
    }
    rows.push(row("syscall_overhead", "System-call overhead per request-response cycle", "34-56 µs", [34, 56], "µs", m));
  }

  {
    const how = `scenario 5, order requests: 100% - server processing / p50 round trip${input.scenario5?.backend ? ` (${input.scenario5.backend})` : ""}`;
    const s = input.scenario5;
    const m: Measured =
      s === undefined ? { na: "scenario 5 not run", how }
      : !Number.isFinite(s.networkSharePct) ? { na: "scenario 5 gave no network share", how }
      : { value: s.networkSharePct, how };
    rows.push(row("network_share", "Network I/O share of end-to-end latency", "75-80%", [75, 80], "%", m));
  }

  const ce = count(input, epollName);
  const cu = count(input, uringName);
  const countHow = (b: string) => `system calls counted per request for backend ${b}`;
  rows.push(
    row("syscalls_epoll", "System calls per request with epoll", "≈ 3", [2.5, 3.5], "calls",
      typeof ce === "number" ? { value: ce, how: countHow(epollName) } : { na: ce, how: countHow(epollName) }),
    row("syscalls_uring", "System calls per request with io_uring", "≈ 1", [0.5, 1.5], "calls",
      typeof cu === "number" ? { value: cu, how: countHow(uringName) + uringExtras(input) } : { na: cu, how: countHow(uringName) + uringExtras(input) }),
  );
  {
    const how = `100% x (1 - ${uringName} / ${epollName}) of the counted system calls per request`;
    let m: Measured;
    if (typeof ce === "string") m = { na: ce, how };
    else if (typeof cu === "string") m = { na: cu, how };
    else if (ce === 0) m = { na: `${epollName} made no system calls per request`, how };
    else m = { value: 100 * (1 - cu / ce), how };
    rows.push(row("syscall_reduction", "Fewer system calls with io_uring", "47%", [42, 52], "%", m));
  }
  return rows;
}

/**
 * ClaimsInput.scenario5 from a bench run: the median over rounds of
 * `network_share_pct` for `backend` in scenario 5's order variant; undefined
 * when scenario 5, that variant or that backend's figure is absent.
 */
export function networkShareOf(results: Pick<BenchResults, "scenarios">, backend: string): ClaimsInput["scenario5"] {
  const v = results.scenarios.find((s) => s.slug === "request-overhead" && s.status === "ok")?.variants.find((x) => x.key === "order");
  const share = v?.backends.find((b) => b.backend === backend && !b.failure)?.extra?.network_share_pct;
  return share === undefined || !Number.isFinite(share) ? undefined : { networkSharePct: share, backend };
}

/** The claims table of a run: its micro-benchmarks, scenario 5's network share, and scenario 1's system calls per request (its headline variant). */
export function claimsOfResults(r: Pick<BenchResults, "scenarios" | "micro" | "baseline">): ClaimRow[] {
  const s1 = r.scenarios.find((s) => s.slug === "ping-pong");
  const costs = (s1 ? headlineVariantOf(s1)?.backends : undefined) ?? [];
  const syscallsPerRequest = Object.fromEntries(costs.filter((b) => b.costs?.syscalls != null).map((b) => [b.backend, b.costs!.syscalls as number]));
  return claimsTable({ micro: r.micro, scenario5: networkShareOf(r, r.baseline), syscallsPerRequest });
}
