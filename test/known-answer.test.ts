// The gate against known answers, end to end: a server made slower on
// purpose (--inject-delay: it busy-waits before each answer) must be found
// slower by the gate, and two identical servers must not be found different.
// The A/A control is the natural pair: the headline baseline against a
// second instance of itself (NAME#2), differing only by what is injected.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { benchEnv, testDir } from "./helpers.ts";

const BENCH = join(ROOT, "bench/cli/bench.ts");

function bench(extra: string[]) {
  const dir = testDir("iob-ka-");
  const r = Bun.spawnSync(
    [process.execPath, BENCH, "--scenarios", "ping-pong", "--backends", "epoll", "--rounds", "5", "--iterations", "400", "--warmup", "50", "--micro", "off", "--syscalls", "off", "--json", join(dir, "r.json"), ...extra],
    { stdout: "pipe", stderr: "pipe", timeout: 120000, env: benchEnv() },
  );
  if (r.exitCode !== 0) throw new Error(`bench exited ${r.exitCode}: ${r.stderr.toString().slice(-1500)}`);
  // The report wraps to the terminal's width: phrases are matched with the line breaks flattened.
  return { json: JSON.parse(readFileSync(join(dir, "r.json"), "utf8")), out: r.stdout.toString().replace(/\s+/g, " ") };
}

type Crit = { id: string; status: string; improvement_pct: number; ci: [number, number]; control?: string; margin_pct?: number; untrusted?: string };
const c1 = (gate: { criteria: Crit[] }) => gate.criteria.find((c) => c.id === "C1")!;

describe("known answers", () => {
  // 200 µs against round trips of 10-60 µs: an offset far past the margin, whatever a busy host does to single rounds.
  test("a control handicapped by 200 µs per request: drifted on C1 (never a PASS or FAIL), only C1 untrusted in the gate beside it", () => {
    const { json, out } = bench(["--backends", "epoll,uring", "--inject-delay", "epoll#2:200"]);
    const control = json.gates.find((g: { kind: string }) => g.kind === "control");
    expect(control.baseline).toBe("epoll");
    expect(control.candidate).toBe("epoll#2");
    const c = c1(control);
    expect(c.control).toBe("drifted");
    expect(c.status).toBe("DRIFTED");
    expect(c.margin_pct).toBe(2.5);
    // The second instance is slower: the whole interval below -2.5%.
    expect(c.ci[1]).toBeLessThan(-2.5);
    expect(control.verdict).toBe("DRIFTED");
    // Untouched by the delay: C2-C4 were not run, so they confirm nothing.
    expect(control.criteria.slice(1).every((x: Crit) => x.control === "uninformative")).toBe(true);
    const gate = json.gates.find((g: { kind: string }) => g.kind === "headline");
    expect(gate.trusted).toBe(false);
    expect(c1(gate).untrusted).toContain("the A/A control drifted on C1");
    expect(gate.criteria.filter((x: Crit) => x.untrusted).map((x: Crit) => x.id)).toEqual(["C1"]);
    expect(json.warnings.find((w: { code: string }) => w.code === "fault-injection").text).toMatch(/Fault injection: epoll#2 runs with --inject-delay-us 200/);
    expect(out).toContain("A/A control (epoll#2 vs epoll): DRIFTED.");
    expect(out).toContain("NOT TO BE TRUSTED on C1");
  }, 130000);

  test("no injection: two instances of the same server do not drift, and nothing is marked untrusted", () => {
    const { json, out } = bench([]);
    const control = json.gates.find((g: { kind: string }) => g.kind === "control");
    const c = c1(control);
    // Not drifted: equivalent, or uninformative on a host busy enough to make single rounds jump (the margin,
    // not the estimate, is what is tested: a busy neighbour can move one instance's rounds by more than 10%).
    expect(c.control).not.toBe("drifted");
    expect(["EQUIVALENT", "UNINFORMATIVE"]).toContain(control.verdict);
    expect(json.gates.every((g: { trusted: boolean }) => g.trusted)).toBe(true);
    expect(out).not.toContain("NOT TO BE TRUSTED");
  }, 130000);
});
