// Two hosts without a second machine: `bun run serve` in one network
// namespace, `bench --target` in another, joined by a veth pair. Needs root
// and iproute2 (CI has both); skipped with the reason otherwise. Checks what
// a user of two real hosts relies on: every cost table carries the remote
// server's own figures (read on its host through serve's control channel)
// and both hosts are in the machine section; a server that does not answer
// on a control port keeps client-side figures, with the note; a server
// killed on its host mid-run is reported as killed. Everything made here is
// removed after, whether the test passes or not.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { perfAvailable } from "../bench/measure/accounting.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import { benchEnv, LineLog, testDir, URING_SKIP_REASON } from "./helpers.ts";

const id = String(process.pid % 100000);
const SRV = `iob-srv-${id}`, CLI = `iob-cli-${id}`;
const VS = `iobs${id}`, VC = `iobc${id}`;
// Addresses of our own two test hosts, inside namespaces this test creates.
const SUBNET = `10.213.${process.pid % 250}`;
const SRV_ADDR = `${SUBNET}.1`, CLI_ADDR = `${SUBNET}.2`;
// The guide's pair where this machine has it: tokio (else epoll) against c-uring (else bun).
const BASE = BACKENDS.tokio.availability().available ? "tokio" : "epoll";
const CAND = URING_SKIP_REASON ? "bun" : "c-uring";

function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

const isRoot = process.getuid?.() === 0;
const hasIp = sh(["ip", "-V"]).ok;
const skip = !isRoot ? "needs root (ip netns)" : !hasIp ? "needs iproute2 (ip)" : "";

/** A `serve` in the server namespace, its stdout as lines. */
class Serve {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly out: LineLog;
  constructor(args: string[]) {
    this.proc = Bun.spawn(["ip", "netns", "exec", SRV, process.execPath, join(ROOT, "bench/cli/serve.ts"), "--host", SRV_ADDR, ...args], { stdout: "pipe", stderr: "pipe" });
    this.out = new LineLog(this.proc.stdout as ReadableStream<Uint8Array>);
  }
  line(re: RegExp): Promise<RegExpMatchArray> {
    return this.out.wait(re);
  }
  /** Pids of its backends (they are children of serve, and die with it only when they are its own). */
  pids(): number[] {
    return sh(["pgrep", "-P", String(this.proc.pid)]).out.split("\n").filter(Boolean).map(Number);
  }
  async stop(): Promise<void> {
    this.proc.kill("SIGTERM");
    const done = await Promise.race([this.proc.exited, Bun.sleep(8000).then(() => null)]);
    if (done === null) {
      for (const p of this.pids()) sh(["kill", "-KILL", String(p)]);
      this.proc.kill("SIGKILL");
    }
  }
}

const serves: Serve[] = [];
async function cleanup(): Promise<void> {
  for (const s of serves.splice(0)) await s.stop();
  sh(["ip", "netns", "del", SRV]);
  sh(["ip", "netns", "del", CLI]);
}
afterAll(cleanup);

/** `bench` in the client namespace; `onLine` sees its stderr lines as they come. */
async function bench(args: string[], onLine?: (l: string) => void): Promise<{ code: number; out: string; err: string; json: any }> {
  const file = join(testDir(), "r.json");
  const p = Bun.spawn(["ip", "netns", "exec", CLI, process.execPath, join(ROOT, "bench/cli/bench.ts"), "--quick", "--json", file, ...args], { stdout: "pipe", stderr: "pipe", env: benchEnv() });
  const out = new Response(p.stdout as ReadableStream).text();
  let err = "";
  for await (const c of p.stderr as ReadableStream<Uint8Array>) {
    const text = new TextDecoder().decode(c);
    err += text;
    if (onLine) for (const l of text.split("\n")) onLine(l);
  }
  const code = await p.exited;
  let json: any = null;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // no results: the assertions on the exit code say why
  }
  return { code, out: await out, err, json };
}

const backendsOf = (json: any) => json.scenarios.flatMap((s: any) => s.variants.flatMap((v: any) => v.backends.map((b: any) => ({ scenario: s.id, variant: v.key, ...b }))));

test.skipIf(skip !== "")(`serve --backend ${BASE},${CAND} in one namespace, bench --target in another${skip ? ` (skipped: ${skip})` : ""}`, async () => {
  try {
    for (const cmd of [
      ["ip", "netns", "add", SRV],
      ["ip", "netns", "add", CLI],
      ["ip", "link", "add", VS, "type", "veth", "peer", "name", VC],
      ["ip", "link", "set", VS, "netns", SRV],
      ["ip", "link", "set", VC, "netns", CLI],
      ["ip", "-n", SRV, "addr", "add", `${SRV_ADDR}/24`, "dev", VS],
      ["ip", "-n", CLI, "addr", "add", `${CLI_ADDR}/24`, "dev", VC],
      ["ip", "-n", SRV, "link", "set", VS, "up"],
      ["ip", "-n", CLI, "link", "set", VC, "up"],
      ["ip", "-n", SRV, "link", "set", "lo", "up"],
      ["ip", "-n", CLI, "link", "set", "lo", "up"],
    ]) {
      const r = sh(cmd);
      expect(r.ok ? "" : `${cmd.join(" ")}: ${r.out}`).toBe("");
    }
    // The pair on 7000 and 7001, both on CPU 0 (the client takes CPU 1); the control channel on 17000.
    const pair = new Serve(["--backend", `${BASE},${CAND}`, "--port", "7000", "--server-cpus", "0"]);
    serves.push(pair);
    await pair.line(new RegExp(`^listening ${SRV_ADDR.replace(/\./g, "\\.")}:7001 backend=${CAND}$`));
    expect((await pair.line(/^control (\S+)$/))[1]).toBe(`${SRV_ADDR}:17000`);
    expect((await pair.line(/^targets (\S+)$/))[1]).toBe(`${BASE}=${SRV_ADDR}:7000,${CAND}=${SRV_ADDR}:7001`);
    // Your own server, as far as a bench can tell: no control port answers for it.
    const mute = new Serve(["--backend", "epoll", "--port", "7100", "--control", "off"]);
    serves.push(mute);
    await mute.line(/^listening \S+:7100 backend=epoll$/);

    // 1. Every cost table has the remote server's figures, read on its host; both hosts are in the report.
    // (--stall-bound 0: every unit counts as stalled, so the stall records show the server host's own watch.)
    const targets = `${BASE}=${SRV_ADDR}:7000,${CAND}=${SRV_ADDR}:7001`;
    const a = await bench(["--target", targets, "--baseline", BASE, "--candidate", CAND, "--scenarios", "1,6", "--rounds", "3", "--syscalls", "on", "--stall-bound", "0"]);
    expect(a.code).toBe(0);
    const rows = backendsOf(a.json);
    expect(rows.length).toBeGreaterThanOrEqual(8);
    const perf = perfAvailable();
    for (const b of rows) {
      expect({ at: `${b.scenario}/${b.variant}/${b.backend}`, failure: b.failure ?? null, measured_on: b.costs?.measured_on }).toEqual({ at: `${b.scenario}/${b.variant}/${b.backend}`, failure: null, measured_on: "server-host" });
      expect(b.costs.cpu_us).toBeGreaterThan(0);
      expect(b.costs.vol_ctx).toBeGreaterThan(0);
      if (perf.ok) expect(b.costs.syscalls).toBeGreaterThan(0);
      expect(b.resources.before.fds).toBeGreaterThan(3);
      expect(b.resources.after.fds).toBeGreaterThan(3);
    }
    const stalls = a.json.scenarios.flatMap((s: any) => s.stalls ?? []);
    expect(stalls.length).toBeGreaterThan(0);
    for (const s of stalls) expect(s.serverHost).toEqual({ stealMs: expect.any(Number), hiccupMs: expect.any(Number) });
    expect(a.json.context.targets.map((t: any) => t.figures)).toEqual(["server-host", "server-host"]);
    expect(a.json.context.serverHosts).toHaveLength(1);
    expect(a.json.context.serverHosts[0]).toMatchObject({ control: `${SRV_ADDR}:17000`, labels: [BASE, CAND] });
    expect(a.json.context.serverHosts[0].context.serving.map((b: any) => [b.label, b.port, b.cpus])).toEqual([
      [BASE, 7000, [0]],
      [CAND, 7001, [0]],
    ]);
    expect(a.json.context.serverHosts[0].context.cpuIdle.pmQos).toMatch(/^held at 0/);
    expect(a.out).toMatch(/^client {4}host /m);
    expect(a.out).toMatch(new RegExp(`^server {4}host \\S+, read through its control channel ${SRV_ADDR.replace(/\./g, "\\.")}:17000; serves ${BASE}, ${CAND}$`, "m"));
    expect(a.out).toContain(`Measured on the server's host (serve's control channel read them there, by the same code): ${BASE}, ${CAND}.`);
    expect(a.json.warnings.map((w: any) => w.code)).not.toContain("client-side-only");

    // 2. No control channel answers: client-side figures, and the note says why.
    const b = await bench(["--target", `mine=${SRV_ADDR}:7100`, "--scenarios", "1", "--rounds", "2"]);
    expect(b.code).toBe(0);
    for (const r of backendsOf(b.json)) {
      expect(r.failure).toBeUndefined();
      expect(r.costs).toBeUndefined();
      expect(r.rounds.every((x: any) => x.client_util > 0)).toBe(true);
    }
    expect(b.json.context.target).toMatchObject({ label: "mine", figures: "none" });
    expect(b.json.context.serverHosts).toBeUndefined();
    const note = b.json.warnings.find((w: any) => w.code === "client-side-only");
    expect(note?.text).toContain(`Target mine (${SRV_ADDR}:7100) has client-side figures only (no control port answered at ${SRV_ADDR}:17100`);
    expect(b.out).toMatch(/^target {4}mine at \S+ \(remote; server-side costs not available\)$/m);

    // 3. A server killed on its host mid-run is reported as killed, and the run goes on.
    // The candidate's process: serve's child listening on 7001 (pids are not per namespace).
    const pid = pair.pids().find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").includes("--port 7001"));
    expect(pid).toBeGreaterThan(0);
    let killed = false;
    const c = await bench(["--target", targets, "--baseline", BASE, "--candidate", CAND, "--scenarios", "1,6", "--rounds", "4"], (l) => {
      if (!killed && /^scenario 6: round 1 done/.test(l)) {
        process.kill(pid!, "SIGKILL");
        killed = true;
      }
    });
    expect(killed).toBe(true);
    expect(c.code).toBe(0);
    const dead = backendsOf(c.json).find((x: any) => x.scenario === 6 && x.backend === CAND);
    expect(dead.failure).toMatch(new RegExp(`^server exited \\(on its host, ${CAND}: killed by SIGKILL\\) before round [34]$`));
    expect(backendsOf(c.json).find((x: any) => x.scenario === 6 && x.backend === BASE).failure).toBeUndefined();
    await pair.line(new RegExp(`^exited backend=${CAND} signal=SIGKILL$`));
  } finally {
    await cleanup();
  }
  expect(sh(["ip", "netns", "list"]).out).not.toContain(SRV);
}, 120000);
