// Fault injection by delay (serve --inject-delay-us): every backend kind
// (a TypeScript loop, the C twins, tokio) busy-waits before answering each
// frame. A lower bound on each round trip proves the delay happens; it is not
// a performance assertion. Answers must stay byte-correct.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { encodeFrame } from "../bench/protocol/frame.ts";
import { BACKENDS, commandOf } from "../bench/server/backends.ts";
import { injectDelayArgs } from "../bench/server/modes.ts";
import { concatBytes } from "./fixtures.ts";
import { FramedClient, payload, sameBytes, startServer, URING_SKIP_REASON } from "./helpers.ts";

const DELAY_US = 2000;
const ROUND_TRIPS = 20;
const SERVE = join(ROOT, "bench/cli/serve.ts");
const tokio = BACKENDS.tokio.availability();
const TOKIO_SKIP = tokio.available ? "" : `tokio not built: ${tokio.reason}`;

interface Case {
  label: string;
  backend: string;
  skip: string;
  /** Start the backend's own executable with the flag appended, as bench does. */
  own?: boolean;
}

const CASES: Case[] = [
  { label: "epoll", backend: "epoll", skip: "" },
  { label: "uring", backend: "uring", skip: URING_SKIP_REASON },
  { label: "c-epoll", backend: "c-epoll", skip: "" },
  { label: "c-uring", backend: "c-uring", skip: URING_SKIP_REASON },
  { label: "tokio via serve", backend: "tokio", skip: TOKIO_SKIP },
  { label: "tokio as bench starts it", backend: "tokio", skip: TOKIO_SKIP, own: true },
];

describe("serve --inject-delay-us: each answer waits, and is still right", () => {
  for (const c of CASES) {
    test.skipIf(c.skip !== "")(`${c.label}: every round trip >= ${DELAY_US} µs, answers byte-correct${c.skip ? ` (skipped: ${c.skip})` : ""}`, async () => {
      const server = await startServer(c.backend, {
        extraArgs: injectDelayArgs(DELAY_US),
        ...(c.own ? { command: commandOf(BACKENDS[c.backend]) } : {}),
      });
      try {
        // One request in flight: the measuring client, which compares every
        // answer with its request (and a sequence number) byte for byte.
        {
          using client = new PingPongClient(server.host, server.port, 100);
          client.setPayload(100);
          for (let i = 0; i < ROUND_TRIPS; i++) {
            const ns = client.roundTrip(i);
            expect(ns).toBeGreaterThanOrEqual(DELAY_US * 1000); // negative would be an RT_* error
          }
        }
        // Five frames in one write: the delay is per frame, not per read.
        const fc = await FramedClient.connect(server.port, server.host);
        const sent = [0, 1, 2, 3, 4].map((i) => payload(50 + i, i));
        const all = concatBytes(sent.map(encodeFrame));
        const t0 = Bun.nanoseconds();
        fc.writeRaw(all);
        const got = await fc.waitFor(sent.length);
        const elapsedNs = Bun.nanoseconds() - t0;
        expect(got.length).toBe(sent.length);
        for (let i = 0; i < sent.length; i++) expect(sameBytes(got[i], sent[i])).toBe(true);
        expect(elapsedNs).toBeGreaterThanOrEqual(sent.length * DELAY_US * 1000);
        fc.close();
      } finally {
        const r = await server.stop();
        expect(r.exitCode).toBe(0);
      }
    });
  }
});

describe("serve --inject-delay (once --inject-delay-us, still accepted): a bad value is a usage error", () => {
  const run = (args: string[]) => {
    const r = Bun.spawnSync([process.execPath, SERVE, ...args], { stdout: "pipe", stderr: "pipe", timeout: 15000 });
    return { code: r.exitCode, err: r.stderr.toString() };
  };
  test.each([
    ["-1", /--inject-delay must be at least 0/],
    ["1.5", /--inject-delay must be an integer/],
    ["soon", /--inject-delay must be an integer/],
    ["2000000", /--inject-delay must be at most 1000000/],
  ])("epoll --inject-delay-us %p: exit 2, one line and where the help is", (value, msg) => {
    const r = run(["--backend", "epoll", "--inject-delay-us", value as string]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg as RegExp);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/\(see bun run serve --help\)$/m);
  });

  test.skipIf(TOKIO_SKIP !== "").each([["-1"], ["1.5"]])("tokio's own executable --inject-delay-us %p: exit 2 with the usage", (value) => {
    const r = Bun.spawnSync([...commandOf(BACKENDS.tokio)!, "--inject-delay-us", value], { stdout: "pipe", stderr: "pipe", timeout: 15000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toMatch(/--inject-delay-us wants an integer/);
    expect(r.stderr.toString()).toMatch(/usage: tokio-echo/);
  });

  test("injectDelayArgs: what bench passes as extraArgs", () => {
    expect(injectDelayArgs(2000)).toEqual(["--inject-delay-us", "2000"]);
    expect(injectDelayArgs(0)).toEqual([]);
    expect(() => injectDelayArgs(-1)).toThrow(RangeError);
    expect(() => injectDelayArgs(1.5)).toThrow(RangeError);
  });
});
