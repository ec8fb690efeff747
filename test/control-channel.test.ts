// serve's control channel as a bench on another host meets it: a real
// `serve` with two backends (child processes) and its control port, spoken
// to over real TCP by a plain line client written here (not the bench's).
// The figures are checked for what they must be (the backend's pid, CPU
// counted while it echoed, descriptors open), never for a timing.
import type { Socket } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { PidInterval } from "../bench/measure/interval.ts";
import { perfAvailable } from "../bench/measure/accounting.ts";
import { listeningPid } from "../bench/measure/procstat.ts";
import { controlPortCandidates, defaultControlPort, MAX_CONTROL_LINE, parseControlLine } from "../bench/protocol/control.ts";
import { Listener } from "../ffi/net.ts";
import { benchEnv, FramedClient, LineLog, payload, sameBytes, testDir, URING_SKIP_REASON } from "./helpers.ts";

const SERVE = join(ROOT, "bench/cli/serve.ts");
// c-uring where io_uring is, else the Bun backend: two backends either way.
const SECOND = URING_SKIP_REASON ? "bun" : "c-uring";

describe("the control protocol (pure)", () => {
  test("the default control port and where a bench looks for it", () => {
    expect(defaultControlPort(7000)).toBe(17000);
    expect(defaultControlPort(60000)).toBe(50000);
    const c = controlPortCandidates(7001);
    expect(c[0]).toBe(17001);
    expect(c).toContain(17000);
    expect(c).toHaveLength(16);
    expect(controlPortCandidates(1)).toEqual([10001]);
  });

  test("requests parse; anything else is an error naming the commands", () => {
    expect(parseControlLine("begin u1 tokio")).toEqual({ cmd: "begin", id: "u1", backend: "tokio" });
    expect(parseControlLine("syscalls u2")).toEqual({ cmd: "syscalls", id: "u2" });
    expect(parseControlLine("end u1")).toEqual({ cmd: "end", id: "u1" });
    expect(parseControlLine("resources c-uring 12")).toEqual({ cmd: "resources", backend: "c-uring", fdsAtMost: 12 });
    expect(parseControlLine("context")).toEqual({ cmd: "context" });
    expect(parseControlLine("frobnicate")).toEqual({ error: expect.stringMatching(/unknown command 'frobnicate'; commands: hello, begin/) });
    expect(parseControlLine("begin")).toEqual({ error: "usage: begin ID [BACKEND]" });
    expect(parseControlLine("begin a/b")).toEqual({ error: expect.stringMatching(/is not an id or a label/) });
  });
});

/** A line client: one request, one answer line. */
class LineClient {
  #buf = "";
  #waiting: ((l: string | null) => void)[] = [];
  closed = false;
  socket!: Socket<undefined>;
  static async connect(port: number): Promise<LineClient> {
    const c = new LineClient();
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => {
          c.#buf += d.toString();
          let nl: number;
          while ((nl = c.#buf.indexOf("\n")) >= 0) {
            const line = c.#buf.slice(0, nl);
            c.#buf = c.#buf.slice(nl + 1);
            c.#waiting.shift()?.(line);
          }
        },
        close: () => {
          c.closed = true;
          for (const w of c.#waiting.splice(0)) w(null);
        },
      },
    });
    return c;
  }
  next(): Promise<string | null> {
    return new Promise((r) => this.#waiting.push(r));
  }
  ask(line: string): Promise<string | null> {
    const got = this.next();
    this.socket.write(`${line}\n`);
    return got;
  }
  async json(line: string): Promise<any> {
    const got = await this.ask(line);
    expect(got ?? "(closed)").toStartWith("{");
    return JSON.parse(got!);
  }
  close() {
    this.socket.end();
  }
}

describe(`serve --backend epoll,${SECOND}: a control channel for both`, () => {
  let proc: ReturnType<typeof Bun.spawn>;
  let log: LineLog;
  const waitLine = (re: RegExp) => log.wait(re);
  let lines: string[] = [];
  let ports: Record<string, number> = {};
  let controlPort = 0;

  beforeAll(async () => {
    proc = Bun.spawn([process.execPath, SERVE, "--backend", `epoll,${SECOND}`, "--port", "0", "--control-port", "0", "--server-cpus", "0"], { stdout: "pipe", stderr: "pipe" });
    log = new LineLog(proc.stdout as ReadableStream<Uint8Array>);
    lines = log.lines;
    for (const b of ["epoll", SECOND]) ports[b] = Number((await waitLine(new RegExp(`^listening 127\\.0\\.0\\.1:(\\d+) backend=${b}$`)))[1]);
    controlPort = Number((await waitLine(/^control 127\.0\.0\.1:(\d+)$/))[1]);
    await waitLine(/^targets /);
  });
  afterAll(async () => {
    proc?.kill("SIGTERM");
    await proc?.exited;
  });

  test("prints a listening line per backend, then control and targets; hello lists both with their pids", async () => {
    expect(lines.slice(0, 4).map((l) => l.split(" ")[0])).toEqual(["listening", "listening", "control", "targets"]);
    expect(lines[3]).toBe(`targets epoll=127.0.0.1:${ports.epoll},${SECOND}=127.0.0.1:${ports[SECOND]}`);
    {
      const c = await LineClient.connect(controlPort);
      const hello = await c.json("hello");
      expect(hello.protocol).toBe(1);
      expect(hello.backends.map((b: { label: string; port: number; cpus: number[]; exited: boolean }) => [b.label, b.port, b.cpus, b.exited])).toEqual([
        ["epoll", ports.epoll, [0], false],
        [SECOND, ports[SECOND], [0], false],
      ]);
      // The data ports belong to the backends' own processes; the control port to serve's, none of theirs.
      for (const b of hello.backends) expect(listeningPid(b.port)).toBe(b.pid);
      expect(listeningPid(controlPort)).toBe(proc.pid);
      expect(hello.backends.map((b: { pid: number }) => b.pid)).not.toContain(proc.pid);
      c.close();
    }
  });

  test("begin/end: the backend's CPU, context switches, descriptors and stalls over the interval, as the local reader gives them", async () => {
    const c = await LineClient.connect(controlPort);
    const hello = await c.json("hello");
    const pid = hello.backends.find((b: { label: string }) => b.label === SECOND).pid;
    const data = await FramedClient.connect(ports[SECOND]);
    expect(await c.ask(`begin t1 ${SECOND}`)).toBe("ok begin t1");
    const local = new PidInterval(pid, { resources: true });
    await local.begin();
    const p = payload(64, 1);
    for (let i = 0; i < 200; i++) {
      data.send(p);
      const [got] = await data.waitFor(i + 1);
      expect(sameBytes(got, p)).toBe(true);
    }
    const mine = await local.end();
    const f = await c.json("end t1");
    expect(f.id).toBe("t1");
    expect(f.backend).toBe(SECOND);
    expect(f.pid).toBe(pid);
    // 200 answers cost the server CPU and at least one wake-up each round trip of a blocked loop.
    expect(f.cpu.cpuNs).toBeGreaterThan(0);
    expect(f.cpu.voluntaryCtxt).toBeGreaterThan(0);
    expect(f.resources.fds).toBeGreaterThan(3);
    expect(f.stall.hiccupByCpu).toHaveProperty("0");
    // The same reader, so the same fields (the stall watch is serve's alone: the local one watched nothing).
    expect(Object.keys(f).filter((k) => k !== "id" && k !== "backend" && k !== "stall").sort()).toEqual(Object.keys(mine).sort());
    expect(Object.keys(f.cpu).sort()).toEqual(Object.keys(mine.cpu).sort());
    data.close();
    c.close();
  });

  test("a request it does not know is an error and the connection stays usable; a huge or binary line closes only that connection", async () => {
    const c = await LineClient.connect(controlPort);
    expect(await c.ask("frobnicate now")).toMatch(/^error unknown command 'frobnicate'; commands: /);
    expect(await c.ask("end nothing-open")).toMatch(/^error no interval 'nothing-open' is open/);
    expect(await c.ask("begin t2")).toBe("error name the backend: one of epoll, " + SECOND);
    expect(await c.ask("begin t2 nope")).toMatch(/^error no backend 'nope' here/);
    expect((await c.json("hello")).protocol).toBe(1);

    const huge = await LineClient.connect(controlPort);
    const answer = huge.next();
    huge.socket.write("x".repeat(MAX_CONTROL_LINE + 10));
    expect(await answer).toMatch(/^error request line longer than 1024 bytes; closing this connection$/);
    expect(await huge.next()).toBeNull();
    expect(huge.closed).toBe(true);

    const binary = await LineClient.connect(controlPort);
    expect(await binary.ask("hello\x00\xff")).toMatch(/outside printable ASCII; closing/);
    expect(await binary.next()).toBeNull();

    // The first connection and the data path never noticed.
    expect((await c.json("hello")).backends).toHaveLength(2);
    const data = await FramedClient.connect(ports.epoll);
    data.send(payload(10, 2));
    expect((await data.waitFor(1)).length).toBe(1);
    data.close();
    c.close();
  });

  const perf = perfAvailable();
  test(`syscalls: a counting pass with perf${perf.ok ? "" : ` (perf missing here: its reason is the answer's note)`}`, async () => {
    const c = await LineClient.connect(controlPort);
    const data = await FramedClient.connect(ports.epoll);
    expect(await c.ask("syscalls s1 epoll")).toBe("ok syscalls s1");
    for (let i = 0; i < 50; i++) {
      data.send(payload(32, 3));
      await data.waitFor(i + 1);
    }
    const f = await c.json("end s1");
    if (perf.ok) expect(f.syscalls).toBeGreaterThanOrEqual(50);
    else expect(f.syscallsNote).toBe(perf.reason);
    // A perf process each: four at once at the most.
    for (let i = 0; i < 4; i++) expect(await c.ask(`syscalls p${i} epoll`)).toBe(`ok syscalls p${i}`);
    expect(await c.ask("syscalls p4 epoll")).toBe("error 4 counting passes are open, the most at once; end one first");
    for (let i = 0; i < 4; i++) expect((await c.json(`end p${i}`)).id).toBe(`p${i}`);
    data.close();
    c.close();
  }, 30000);

  test("context: this host's machine context, its idle state, mitigations and what it serves", async () => {
    const c = await LineClient.connect(controlPort);
    const ctx = await c.json("context");
    expect(ctx.kernel).toBeString();
    expect(ctx.cores).toBeGreaterThan(0);
    expect(ctx.cpuIdle.requested).toBe("poll");
    expect(ctx.cpuIdle.pmQos).toMatch(/^(held at 0|not held)/);
    expect(ctx.environment).toHaveProperty("mitigations");
    expect(ctx.serving.map((b: { label: string }) => b.label)).toEqual(["epoll", SECOND]);
    c.close();
  });

  test("a backend killed on its host: `exited` on stdout, `error exited` to the control channel, the other one still served", async () => {
    const c = await LineClient.connect(controlPort);
    const victim = (await c.json("hello")).backends.find((b: { label: string }) => b.label === SECOND);
    process.kill(victim.pid, "SIGKILL");
    await waitLine(new RegExp(`^exited backend=${SECOND} signal=SIGKILL$`));
    expect(await c.ask(`begin k1 ${SECOND}`)).toBe(`error exited ${SECOND}: killed by SIGKILL`);
    expect((await c.json("hello")).backends.find((b: { label: string }) => b.label === SECOND)).toMatchObject({ exited: true, exit: "killed by SIGKILL" });
    expect(await c.ask("begin k2 epoll")).toBe("ok begin k2");
    expect((await c.json("end k2")).backend).toBe("epoll");
    c.close();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await waitLine(/^stopped signal=SIGTERM$/);
    expect(lines.filter((l) => l.startsWith("summary backend=epoll "))).toHaveLength(1);
    expect(lines.at(-1)).toBe("stopped signal=SIGTERM");
  });
});

/** A port P with P, P + 1 and P + 10000 free here now (the ports a serve of two backends takes). */
function freeBase(): number {
  for (let i = 0; i < 50; i++) {
    const p = 20000 + Math.floor(Math.random() * 25000);
    try {
      for (const q of [p, p + 1, p + 10000]) new Listener("127.0.0.1", q).close();
      return p;
    } catch {
      // taken: another
    }
  }
  throw new Error("no free ports");
}

test("bench --target finds a serve's control channel from the data port and reads its costs there (loopback)", async () => {
  const base = freeBase();
  const serve = Bun.spawn([process.execPath, SERVE, "--backend", `epoll,${SECOND}`, "--port", String(base), "--server-cpus", "0"], { stdout: "pipe", stderr: "pipe" });
  try {
    const out = new LineLog(serve.stdout as ReadableStream<Uint8Array>);
    expect((await out.wait(/^control (\S+)$/))[1]).toBe(`127.0.0.1:${base + 10000}`);
    const file = join(testDir(), "r.json");
    const r = Bun.spawnSync(
      [process.execPath, join(ROOT, "bench/cli/bench.ts"), "--target", `a=127.0.0.1:${base},b=127.0.0.1:${base + 1}`, "--baseline", "a", "--candidate", "b", "--scenarios", "1", "--rounds", "2", "--quick", "--json", file],
      { stdout: "pipe", stderr: "pipe", env: benchEnv(), timeout: 60000 },
    );
    expect(r.exitCode).toBe(0);
    const json = JSON.parse(readFileSync(file, "utf8"));
    for (const v of json.scenarios[0].variants) for (const b of v.backends) expect([b.backend, b.costs?.measured_on, b.costs?.cpu_us > 0]).toEqual([b.backend, "server-host", true]);
    expect(json.backends.find((b: { name: string }) => b.name === "b").description).toContain(`through serve's control channel at 127.0.0.1:${base + 10000} (${SECOND}, pid `);
    expect(json.context.serverHosts[0].labels).toEqual(["a", "b"]);
  } finally {
    serve.kill("SIGTERM");
    await serve.exited;
  }
}, 60000);
