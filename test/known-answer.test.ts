// The gate against known answers, end to end: a server made slower on
// purpose (--inject-delay: it busy-waits before each answer) must be found
// slower by the gate, and two identical servers must not be found different.
// The A/A control is the natural pair: the headline baseline against a
// second instance of itself (NAME#2), differing only by what is injected.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";

const BENCH = join(ROOT, "bench/cli/bench.ts");

function bench(extra: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "iob-ka-"));
  const r = Bun.spawnSync(
    [process.execPath, BENCH, "--scenarios", "ping-pong", "--backends", "epoll", "--rounds", "4", "--iterations", "400", "--warmup", "50", "--micro", "off", "--syscalls", "off", "--json", join(dir, "r.json"), ...extra],
    { stdout: "pipe", stderr: "pipe", timeout: 120000 },
  );
  if (r.exitCode !== 0) throw new Error(`bench exited ${r.exitCode}: ${r.stderr.toString().slice(-1500)}`);
  return { json: JSON.parse(readFileSync(join(dir, "r.json"), "utf8")), out: r.stdout.toString() };
}

const c1 = (gate: { criteria: { id: string }[] }) => gate.criteria.find((c) => c.id === "C1") as unknown as { status: string; improvement_pct: number; ci95: [number, number] };

describe("known answers", () => {
  test("a baseline delayed by 25 µs per request: the identical candidate PASSes C1, and the run is marked untrusted", () => {
    const { json, out } = bench(["--inject-delay", "epoll:25"]);
    const control = json.gates.find((g: { kind: string }) => g.kind === "control");
    expect(control.baseline).toBe("epoll");
    expect(control.candidate).toBe("epoll#2");
    const c = c1(control);
    expect(c.status).toBe("PASS");
    expect(c.ci95[0]).toBeGreaterThan(10);
    // Untouched by the delay: C2-C4 were not run.
    expect(control.criteria.slice(1).every((x: { status: string }) => x.status === "NOT EVALUATED")).toBe(true);
    expect(control.untrusted).toContain("passed C1");
    expect(json.warnings.join("\n")).toMatch(/Fault injection: epoll runs with --inject-delay-us 25/);
    expect(out).toContain("The machine FAILED its A/A check");
  }, 130000);

  test("no injection: the same server twice is not found different", () => {
    const { json } = bench([]);
    const control = json.gates.find((g: { kind: string }) => g.kind === "control");
    const c = c1(control);
    expect(c.status).not.toBe("PASS");
    expect(Math.abs(c.improvement_pct)).toBeLessThan(10);
    expect(control.verdict).not.toBe("PROCEED");
  }, 130000);
});
