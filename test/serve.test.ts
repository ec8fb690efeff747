// `bun run serve` as a user runs it: a real child process.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { FramedClient, payload, sameBytes, URING_SKIP_REASON } from "./helpers.ts";

const SERVE = join(ROOT, "bench/cli/serve.ts");

function run(args: string[]) {
  const r = Bun.spawnSync([process.execPath, SERVE, ...args], { stdout: "pipe", stderr: "pipe", timeout: 15000 });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("serve: bad usage exits 2 with usage", () => {
  test.each([
    [["--backend", "nope"], /unknown 'nope'/],
    [["--backend", "epoll", "--port", "99999"], /--port must be at most 65535/],
    [["--backend", "epoll", "--port", "abc"], /--port must be an integer/],
    [["--backend", "epoll", "--frobnicate"], /unknown flag '--frobnicate'/],
    [[], /--backend is required/],
  ])("%p", (args, msg) => {
    const r = run(args as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg as RegExp);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });
});

for (const backend of ["bun", "epoll", "uring"]) {
  test.skipIf(backend === "uring" && URING_SKIP_REASON !== "")(`serve --backend ${backend}: one listening line, echoes, SIGTERM exits 0 with a summary`, async () => {
    const proc = Bun.spawn([process.execPath, SERVE, "--backend", backend, "--port", "0"], { stdout: "pipe", stderr: "pipe" });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const m = text.match(/^listening 127\.0\.0\.1:(\d+) backend=(\S+)\n$/);
    expect(m).not.toBeNull();
    expect(m![2]).toBe(backend);
    const c = await FramedClient.connect(Number(m![1]));
    const p = payload(100, 3);
    c.send(p);
    const [got] = await c.waitFor(1);
    expect(sameBytes(got, p)).toBe(true);
    c.close();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const lines = text.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("listening")).length).toBe(1);
    expect(lines.at(-1)).toMatch(new RegExp(`^summary backend=${backend} connections=1 frames=1 errors=0 `));
  });
}

test("serve: a port in use is one clear line and exit 2", async () => {
  const proc = Bun.spawn([process.execPath, SERVE, "--backend", "epoll", "--port", "0"], { stdout: "pipe" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  const port = new TextDecoder().decode(value).match(/:(\d+) /)![1];
  const r = run(["--backend", "epoll", "--port", port]);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/EADDRINUSE.*pick another --port/);
  expect(r.err.trim().split("\n").length).toBe(1);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
});

/** Whether a process still runs (gone, or a zombie waiting for init to reap it, is not running). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const tokioSkip = (await import("../bench/server/backends.ts")).BACKENDS.tokio.availability();
test.skipIf(!tokioSkip.available)(`serve --backend tokio killed outright (SIGKILL): the Tokio server it runs does not outlive it${tokioSkip.available ? "" : ` (skipped: ${tokioSkip.reason})`}`, async () => {
  const proc = Bun.spawn([process.execPath, SERVE, "--backend", "tokio", "--port", "0"], { stdout: "pipe", stderr: "pipe" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toMatch(/^listening 127\.0\.0\.1:\d+ backend=tokio/);
  const children = Bun.spawnSync(["pgrep", "-P", String(proc.pid)]).stdout.toString().split("\n").filter(Boolean).map(Number);
  expect(children.length).toBe(1);
  expect(running(children[0])).toBe(true);
  proc.kill("SIGKILL");
  await proc.exited;
  for (let i = 0; i < 100 && running(children[0]); i++) await Bun.sleep(20);
  const left = running(children[0]);
  if (left) process.kill(children[0], "SIGKILL");
  expect(left).toBe(false);
});
