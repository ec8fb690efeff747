// The micro-benchmarks run for real (quick budget): every benchmark gives a
// positive finite time and passes its result check. No timing thresholds: the
// machine is shared and the figures are what they are.
import { describe, expect, test } from "bun:test";
import { claimsTable } from "../bench/verdict/claims.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";
import { renderTerminal } from "../bench/report/terminal.ts";
import { microTable } from "../bench/report/micro-claims-tables.ts";
import { runMicro } from "../bench/micro/index.ts";
import type { MicroId, MicroResults } from "../bench/results/schema.ts";
import { URING } from "./helpers.ts";

const ALL: MicroId[] = [
  "js_empty", "ffi_noop", "getppid_ffi", "getppid_c", "epoll_wait", "write_read", "write", "read", "uring_nop", "json_parse", "json_serialize", "match",
];

function expectTimed(r: MicroResults, id: MicroId): void {
  const b = r.benchmarks.find((x) => x.id === id);
  expect(b, `benchmark ${id}`).toBeDefined();
  if (!b) return;
  if (id === "uring_nop" && !URING.available) {
    expect(b.status).toBe("skipped");
    return;
  }
  expect(`${b.id}: ${b.status}: ${b.check}`).toBe(`${b.id}: ok: ${b.check}`);
  for (const t of [b.avgNs, b.p50Ns, b.p99Ns, b.minNs, b.maxNs]) {
    expect(Number.isFinite(t)).toBe(true);
    expect(t).toBeGreaterThan(0);
  }
  expect(b.calls).toBeGreaterThan(0);
  expect(b.samples).toBeGreaterThan(0);
}

describe("runMicro", () => {
  test("quick: every benchmark ran, timed and checked", async () => {
    const r = await runMicro({ quick: true, argv: ["--quick"] });
    expect(r.quick).toBe(true);
    expect(r.context.placement).toEqual({ mode: "off", serverCpu: null, clientCpu: null });
    expect(r.benchmarks.map((b) => b.id)).toEqual(ALL);
    for (const id of ALL) expectTimed(r, id);
    expect(r.warnings.filter((w) => !w.includes("skipped"))).toEqual([]);
    // Per-operation figures of the K-op benchmarks are divided by K.
    for (const id of ["write", "read", "getppid_c"] as const) expect(r.benchmarks.find((b) => b.id === id)!.opsPerCall).toBeGreaterThan(1);

    // The results render, and feed the claims table.
    const t = microTable(r);
    expect(t.rows.length).toBe(ALL.length);
    expect(renderTerminal(t)).toContain("epoll_wait(timeout 0)");
    expect(renderMarkdown(t)).toContain("| ok: ");
    const claims = claimsTable({ micro: r });
    for (const id of ["epoll_wait", "read", "write", "syscall_overhead"] as const) {
      const row = claims.find((c) => c.id === id)!;
      expect(row.measured).not.toBeNull();
      expect(row.verdict).not.toBe("n/a");
    }
    // Nothing leaked into a JSON round trip: the results are plain data.
    expect(JSON.parse(JSON.stringify(r)).benchmarks.length).toBe(ALL.length);
  });

  test("full path: group/bench declared, run by mitata's run({ format: 'quiet' }), filtered to one", async () => {
    const r = await runMicro({ filter: /^ffiNoop/ });
    expect(r.quick).toBe(false);
    expect(r.engine).toContain("run(");
    expect(r.benchmarks.map((b) => b.id)).toEqual(["ffi_noop"]);
    expectTimed(r, "ffi_noop");
    expect(r.benchmarks[0].batched).toBe(true);
  });
});
