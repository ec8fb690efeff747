// The claims table on synthetic inputs: every verdict, every n/a reason, the
// counted-calls estimate of the per-request overhead, and the exact markdown.
import { describe, expect, test } from "bun:test";
import { claimsTable, networkShareOf, verdictFor, type ClaimRow, type ClaimsInput } from "../bench/verdict/claims.ts";
import { claimsToTable } from "../bench/report/micro-claims-tables.ts";
import type { ScenarioResult } from "../bench/results/schema.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";
import type { MicroId, MicroStatus } from "../bench/results/schema.ts";

function micro(p50: Partial<Record<MicroId, number>>, status: Partial<Record<MicroId, MicroStatus>> = {}): ClaimsInput["micro"] {
  return {
    benchmarks: Object.entries(p50).map(([id, ns]) => ({ id: id as MicroId, p50Ns: ns as number, status: status[id as MicroId] ?? "ok" })),
  };
}

const byId = (rows: ClaimRow[], id: ClaimRow["id"]) => rows.find((r) => r.id === id)!;

describe("verdictFor", () => {
  test("inside the range, bounds included, holds", () => {
    expect(verdictFor(3, [3, 5])).toBe("holds");
    expect(verdictFor(4, [3, 5])).toBe("holds");
    expect(verdictFor(5, [3, 5])).toBe("holds");
  });
  test("below and above", () => {
    expect(verdictFor(2.99, [3, 5])).toBe("lower than claimed");
    expect(verdictFor(5.01, [3, 5])).toBe("higher than claimed");
  });
  test("not a number is n/a", () => {
    expect(verdictFor(NaN, [3, 5])).toBe("n/a");
  });
});

describe("claimsTable", () => {
  test("one row per claim, in the guide's order, all n/a without input", () => {
    const rows = claimsTable({});
    expect(rows.map((r) => r.id)).toEqual([
      "epoll_wait", "read", "write", "syscall_overhead", "network_share", "syscalls_epoll", "syscalls_uring", "syscall_reduction",
    ]);
    for (const r of rows) {
      expect(r.verdict).toBe("n/a");
      expect(r.measured).toBeNull();
      expect(r.measuredText).toMatch(/^n\/a \(.+\)$/);
    }
    expect(byId(rows, "epoll_wait").measuredText).toBe("n/a (no micro-benchmark results)");
    expect(byId(rows, "network_share").measuredText).toBe("n/a (scenario 5 not run)");
    expect(byId(rows, "syscalls_epoll").measuredText).toBe("n/a (no per-request system call counts yet: the perf counting pass provides them)");
  });

  test("micro rows: holds, lower and higher, converted from ns to µs", () => {
    const rows = claimsTable({ micro: micro({ epoll_wait: 4000, read: 2000, write: 12_500 }) });
    expect(byId(rows, "epoll_wait")).toMatchObject({ measured: 4, measuredText: "4.00 µs", verdict: "holds", claimed: "3-5 µs" });
    expect(byId(rows, "read")).toMatchObject({ measured: 2, measuredText: "2.00 µs", verdict: "lower than claimed" });
    expect(byId(rows, "write")).toMatchObject({ measured: 12.5, measuredText: "12.5 µs", verdict: "higher than claimed" });
    // No counts: the overhead is the sum of one epoll_wait, one read and one write.
    const o = byId(rows, "syscall_overhead");
    expect(o.measured).toBeCloseTo(18.5, 9);
    expect(o.verdict).toBe("lower than claimed");
    expect(o.how).toContain("1 epoll_wait + 1 read + 1 write");
  });

  test("a micro-benchmark that failed its check or is missing is n/a, and so is the overhead", () => {
    const rows = claimsTable({ micro: micro({ epoll_wait: 4000, write: 6000 }, { epoll_wait: "check failed" }) });
    expect(byId(rows, "epoll_wait").measuredText).toBe("n/a (epoll_wait micro-benchmark check failed)");
    expect(byId(rows, "read").measuredText).toBe("n/a (no read micro-benchmark)");
    expect(byId(rows, "write").verdict).toBe("holds");
    expect(byId(rows, "syscall_overhead").measuredText).toBe("n/a (epoll_wait micro-benchmark check failed)");
  });

  test("with counted system calls the overhead is count x mean cost", () => {
    const rows = claimsTable({ micro: micro({ epoll_wait: 10_000, read: 20_000, write: 30_000 }), syscallsPerRequest: { epoll: 2, uring: 1 } });
    const o = byId(rows, "syscall_overhead");
    expect(o.measured).toBeCloseTo(40, 9); // 2 calls x 20 µs mean
    expect(o.verdict).toBe("holds");
    expect(o.how).toContain("2.00 system calls per request counted for epoll");
  });

  test("network share: holds inside 75-80%, lower and higher outside", () => {
    expect(byId(claimsTable({ scenario5: { networkSharePct: 77 } }), "network_share")).toMatchObject({ verdict: "holds", measuredText: "77.0%" });
    expect(byId(claimsTable({ scenario5: { networkSharePct: 60 } }), "network_share").verdict).toBe("lower than claimed");
    expect(byId(claimsTable({ scenario5: { networkSharePct: 95.25 } }), "network_share")).toMatchObject({ verdict: "higher than claimed", measuredText: "95.3%" });
    expect(byId(claimsTable({ scenario5: { networkSharePct: NaN } }), "network_share").measuredText).toBe("n/a (scenario 5 gave no network share)");
    expect(byId(claimsTable({ scenario5: { networkSharePct: 77, backend: "epoll" } }), "network_share").how).toContain("(epoll)");
  });

  test("system calls per request and the reduction", () => {
    const rows = claimsTable({ syscallsPerRequest: { epoll: 3.1, uring: 1.65 } });
    expect(byId(rows, "syscalls_epoll")).toMatchObject({ measured: 3.1, measuredText: "3.10 calls", verdict: "holds" });
    expect(byId(rows, "syscalls_uring")).toMatchObject({ measured: 1.65, verdict: "higher than claimed" });
    const red = byId(rows, "syscall_reduction");
    expect(red.measured).toBeCloseTo(100 * (1 - 1.65 / 3.1), 9);
    expect(red.verdict).toBe("holds"); // 46.8%
    expect(byId(claimsTable({ syscallsPerRequest: { epoll: 3, uring: 1 } }), "syscall_reduction").verdict).toBe("higher than claimed"); // 66.7%
    expect(byId(claimsTable({ syscallsPerRequest: { epoll: 2, uring: 2 } }), "syscall_reduction").verdict).toBe("lower than claimed");
    expect(byId(claimsTable({ syscallsPerRequest: { epoll: 2, uring: 0.2 } }), "syscalls_uring").verdict).toBe("lower than claimed");
  });

  test("counts: a missing backend, another backend name, zero calls", () => {
    const only = claimsTable({ syscallsPerRequest: { epoll: 3 } });
    expect(byId(only, "syscalls_uring").measuredText).toBe("n/a (no system call count for backend uring)");
    expect(byId(only, "syscall_reduction").measuredText).toBe("n/a (no system call count for backend uring)");
    const named = claimsTable({ syscallsPerRequest: { "c-epoll": 3, "c-uring": 1.5 }, epollBackend: "c-epoll", uringBackend: "c-uring" });
    expect(byId(named, "syscalls_uring").verdict).toBe("holds");
    expect(byId(named, "syscall_reduction").measured).toBeCloseTo(50, 9);
    expect(byId(claimsTable({ syscallsPerRequest: { epoll: 0, uring: 0 } }), "syscall_reduction").measuredText).toBe("n/a (epoll made no system calls per request)");
  });

  test("pure: the same input gives the same rows and is not modified", () => {
    const input: ClaimsInput = { micro: micro({ epoll_wait: 700, read: 800, write: 5000 }), scenario5: { networkSharePct: 81 }, syscallsPerRequest: { epoll: 3, uring: 1 } };
    const copy = structuredClone(input);
    expect(claimsTable(input)).toEqual(claimsTable(input));
    expect(input).toEqual(copy);
  });
});

describe("networkShareOf", () => {
  const noErr = { timeout: 0, closed: 0, mismatch: 0, io: 0 };
  const s5 = (status: ScenarioResult["status"], share: number | undefined): { scenarios: ScenarioResult[] } => ({
    scenarios: [
      {
        id: 5, slug: "request-overhead", name: "Request-response overhead", status,
        variants: [
          { key: "echo", label: "echo", params: {}, metric: "p50", higherIsBetter: false, backends: [{ backend: "epoll", rounds: [], headline: 1, range: [1, 1], errors: noErr, extra: { network_share_pct: 99 } }] },
          {
            key: "order", label: "order", params: {}, metric: "p50", higherIsBetter: false,
            backends: [
              { backend: "bun", rounds: [], headline: 1, range: [1, 1], errors: noErr, extra: { network_share_pct: 70 } },
              { backend: "epoll", rounds: [], headline: 1, range: [1, 1], errors: noErr, extra: share === undefined ? {} : { network_share_pct: share } },
            ],
          },
        ],
      },
    ],
  });
  test("the order variant's figure for the backend asked for", () => {
    expect(networkShareOf(s5("ok", 78.5), "epoll")).toEqual({ networkSharePct: 78.5, backend: "epoll" });
    expect(networkShareOf(s5("ok", 78.5), "bun")).toEqual({ networkSharePct: 70, backend: "bun" });
  });
  test("undefined when the scenario, the backend or the figure is missing", () => {
    expect(networkShareOf({ scenarios: [] }, "epoll")).toBeUndefined();
    expect(networkShareOf(s5("failed", 78.5), "epoll")).toBeUndefined();
    expect(networkShareOf(s5("ok", undefined), "epoll")).toBeUndefined();
    expect(networkShareOf(s5("ok", 78.5), "uring")).toBeUndefined();
  });
});

describe("claimsToTable", () => {
  test("exact markdown of a small table", () => {
    const rows = claimsTable({ micro: micro({ epoll_wait: 700 }), scenario5: { networkSharePct: 77.5 } }).filter((r) => r.id === "epoll_wait" || r.id === "network_share" || r.id === "syscalls_uring");
    expect(renderMarkdown(claimsToTable(rows))).toBe(
      [
        "#### The guide's claims against this machine",
        "",
        "| claim | guide | measured | verdict | how measured |",
        "|:---|---:|---:|:---|:---|",
        "| epoll_wait system call | 3-5 µs | 0.70 µs | lower than claimed | micro-benchmark p50: epoll_wait(timeout 0) on 1 ready socket, via bun:ffi |",
        "| Network I/O share of end-to-end latency | 75-80% | 77.5% | holds | scenario 5, order requests: 100% - server processing / p50 round trip |",
        "| System calls per request with io_uring | ≈ 1 | n/a (no per-request system call counts yet: the perf counting pass provides them) | n/a | system calls counted per request for backend uring |",
        "",
        "Ranges include their bounds; \"≈ 3\" and \"≈ 1\" are taken as ±0.5 calls, \"47%\" as 42-52%.",
        "Micro-benchmark times are p50 per operation on loopback TCP, each including one bun:ffi crossing (a few ns).",
      ].join("\n"),
    );
  });
});
