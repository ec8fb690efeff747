// Two hosts: `bun run serve` in one network namespace, `bench --target` in
// another, joined by a veth pair. Needs root and iproute2 (CI has both);
// skipped with the reason otherwise. Everything made here is removed after.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { benchEnv, testDir } from "./helpers.ts";

const id = String(process.pid % 100000);
const SRV = `iob-srv-${id}`, CLI = `iob-cli-${id}`;
const VS = `iobs${id}`, VC = `iobc${id}`;
// Addresses of our own two test hosts, inside namespaces this test creates.
const SUBNET = `10.213.${process.pid % 250}`;
const SRV_ADDR = `${SUBNET}.1`, CLI_ADDR = `${SUBNET}.2`;

function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

const isRoot = process.getuid?.() === 0;
const hasIp = sh(["ip", "-V"]).ok;
const skip = !isRoot ? "needs root (ip netns)" : !hasIp ? "needs iproute2 (ip)" : "";

let server: ReturnType<typeof Bun.spawn> | undefined;

function cleanup(): void {
  server?.kill("SIGKILL");
  sh(["ip", "netns", "del", SRV]);
  sh(["ip", "netns", "del", CLI]);
}
afterAll(cleanup);

test.skipIf(skip !== "")(`bench --target runs the scenarios against a server on another host${skip ? ` (skipped: ${skip})` : ""}`, async () => {
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
    server = Bun.spawn(["ip", "netns", "exec", SRV, process.execPath, join(ROOT, "bench/cli/serve.ts"), "--backend", "epoll", "--host", SRV_ADDR, "--port", "0"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = (server.stdout as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    const m = new TextDecoder().decode(value).match(/^listening (\S+):(\d+) backend=epoll/);
    expect(m).not.toBeNull();
    const port = m![2];

    const dir = testDir();
    const r = Bun.spawnSync(
      ["ip", "netns", "exec", CLI, process.execPath, join(ROOT, "bench/cli/bench.ts"), "--target", `${SRV_ADDR}:${port}`, "--backend-label", "epoll-remote", "--quick", "--rounds", "2", "--json", join(dir, "r.json")],
      { stdout: "pipe", stderr: "pipe", timeout: 170000, env: benchEnv() },
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toMatch(new RegExp(`^target\\s+epoll-remote at ${SRV_ADDR.replace(/\./g, "\\.")}:${port}`, "m"));
    const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    expect(json.context.target).toEqual({ host: SRV_ADDR, port: Number(port), label: "epoll-remote" });
    expect(json.scenarios.map((s: { id: number }) => s.id)).toEqual([1, 2, 3, 4, 6]);
    for (const s of json.scenarios)
      for (const v of s.variants) {
        expect(v.backends.map((b: { backend: string }) => b.backend)).toEqual(["epoll-remote"]);
        expect(v.backends[0].errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
        expect(v.backends[0].costs).toBeUndefined();
      }
    expect(json.warnings.filter((w: { code: string }) => w.code === "scenario-skipped").map((w: { text: string }) => w.text).join("\n")).toMatch(/Scenario 5 skipped/);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  } finally {
    cleanup();
  }
  expect(sh(["ip", "netns", "list"]).out).not.toContain(SRV);
}, 180000);
