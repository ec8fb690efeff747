// What a user sees after a typo: `bench/cli/bench.ts`, `serve.ts` and
// `compare.ts` given bad flags or a port in use exit 2 with ONE line on stderr
// saying what is wrong and naming the fix (did you mean ...?, the value's
// range) and where the help is; never the whole usage, never a stack trace,
// nothing on stdout.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BACKENDS } from "../bench/server/backends.ts";
import { ROOT } from "../ffi/build.ts";
import { Listener } from "../ffi/net.ts";

const BUN = process.execPath;
const MAIN = join(ROOT, "bench/cli/bench.ts");
const SERVE = join(ROOT, "bench/cli/serve.ts");

interface Outcome {
  code: number | null;
  out: string;
  err: string;
}

async function run(cmd: string[]): Promise<Outcome> {
  const p = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(t);
  return { code, out, err };
}

/** Exit 2, nothing on stdout, exactly one stderr line saying what is wrong and where the help is, no stack trace. */
function expectUsageError(r: Outcome, prefix: RegExp, what: RegExp, help = /\(see bun run (bench|serve|compare) --help\)$/): void {
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.err).not.toMatch(/error: |Error: |SysError|TypeError|\^/);
  const lines = r.err.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(prefix);
  expect(lines[0]).toMatch(what);
  expect(lines[0]).toMatch(help);
}

// Rejected by the flag parser (bench/cli/args.ts).
const PARSER_CASES: [string[], RegExp][] = [
  [["--scenarios", "9"], /--scenarios: unknown '9'.*\(one of all, ping-pong, 1, persistent-throughput, 2, /],
  [["--scenarios", "1,x"], /--scenarios: unknown 'x'/],
  [["--backends", "foo"], /--backends: unknown 'foo'.* \(one of .*\bbun\b.*\buring\b/],
  [["--backends", "urng"], /--backends: unknown 'urng'; did you mean 'uring'\?/],
  [["--scenarios", "ping-pnog"], /--scenarios: unknown 'ping-pnog'; did you mean 'ping-pong'\?/],
  [["--placment", "same"], /unknown flag '--placment'; did you mean --placement\?/],
  [["--budget", "3x"], /--budget must be a duration \(e\.g\. 90s, 3m; a plain number is in s\), not '3x'/],
  [["--budget", "5s"], /--budget must be at least 10 s, not 5 s/],
  [["--json", "-", "--export-csv", "-"], /only one output can go to standard output/],
  [["--backends", "bun,nope"], /--backends: unknown 'nope'/],
  [["--cpu-idle", "sleep"], /--cpu-idle: unknown 'sleep'.* \(one of poll, default, both\)/],
  [["--control", "maybe"], /--control: unknown 'maybe'/],
  [["--budget", "3"], /--budget must be at least 10 s, not 3 s/],
  [["--rounds", "0"], /--rounds must be at least 1, not 0/],
  [["--rounds", "-3"], /--rounds must be at least 1, not -3/],
  [["--rounds", "abc"], /--rounds must be an integer, not 'abc'/],
  [["--rounds", "2.5"], /--rounds must be an integer, not '2.5'/],
  [["--rounds"], /--rounds needs a value/],
  [["--rounds", "--quick"], /--rounds needs a value/],
  // bench has no --port: each server listens on an ephemeral port (serve takes --port).
  [["--port", "99999"], /unknown flag '--port'/],
  [["--port", "8080"], /unknown flag '--port'/],
  [["--frobnicate"], /unknown flag '--frobnicate' \(see/],
  [["--sizes", ","], /--sizes needs at least one item/],
  [["extra"], /unexpected argument 'extra'/],
];

// Rejected by bench/cli/bench-plan.ts, after parsing: one line too.
const VALUE_CASES: [string[], RegExp][] = [
  [["--sizes", "abc"], /--sizes: 'abc' is not a payload size in bytes \(0 to 1048576\)/],
  [["--sizes", "10,-5"], /--sizes: '-5' is not a payload size/],
  [["--sizes", "2000000"], /--sizes: '2000000' is not a payload size/],
  [["--sizes", "1.5"], /--sizes: '1.5' is not a payload size/],
  [["--target", "127.0.0.1:99999"], /--target '127.0.0.1:99999' is not HOST:PORT with a port from 1 to 65535/],
  [["--target", "localhost:abc"], /--target 'localhost:abc' is not HOST:PORT/],
  [["--target", "nohost"], /--target 'nohost' is not HOST:PORT/],
  [["--baseline", "nope"], /--baseline nope is neither a backend \(bun, .*\) nor a --target label/],
  [["--target", "a=127.0.0.1:7000,127.0.0.1:7001"], /with several targets, name each one LABEL=HOST:PORT/],
  [["--target", "a=127.0.0.1:7000,a=127.0.0.1:7001"], /the label 'a' is used twice/],
  [["--target", "bad label=127.0.0.1:7000"], /the label 'bad label' must be letters/],
  [["--inject-delay", "bun"], /--inject-delay 'bun' is not BACKEND:MICROS/],
  [["--inject-delay", "nope:100"], /--inject-delay 'nope:100' is not BACKEND:MICROS/],
  [["--corrupt", "bun:0"], /--corrupt 'bun:0' is not BACKEND:N/],
  [["--gate-pairs", "bun-uring"], /--gate-pairs: 'bun-uring' is not baseline:candidate/],
  // Where the results go is checked before anything is measured.
  [["--out-dir", "/proc/iob-no-such"], /--out-dir \/proc\/iob-no-such: cannot be created \(ENOENT\)/],
  [["--json", "/nonexistent-iob/r.json"], /--json \/nonexistent-iob\/r.json: its folder \/nonexistent-iob does not exist/],
  [["--markdown", "/etc/hostname/r.md"], /--markdown \/etc\/hostname\/r.md: its folder \/etc\/hostname is not a folder/],
  [["--server-cpus", "999"], /--server-cpus: CPU 999 cannot be used by this process/],
  [["--sweep-cores", "0"], /--sweep-cores: '0' is not an integer from 1 to 1024/],
];

const results = new Map<string, Outcome>();
const key = (args: string[]) => args.join(" ");

/** Every invocation at once (each is a Bun start-up, most of the cost). */
beforeAll(async () => {
  const all = [...PARSER_CASES, ...VALUE_CASES].map(([args]) => args);
  const outs = await Promise.all(all.map((args) => run([BUN, MAIN, ...args])));
  all.forEach((args, i) => results.set(key(args), outs[i]));
}, 60_000);

describe("bench/cli/bench.ts: bad flags", () => {
  for (const [args, what] of [...PARSER_CASES, ...VALUE_CASES]) {
    test(`${key(args)} -> exit 2, one line: what is wrong, the fix, where the help is`, () => {
      expectUsageError(results.get(key(args))!, /^bench: /, what);
    });
  }
});

describe("help and version", () => {
  test("every command's help: grouped, under 100 columns, with examples and exit codes; --version names the commit", async () => {
    for (const c of ["bench", "serve", "compare", "micro"]) {
      const r = await run([BUN, join(ROOT, `bench/cli/${c}.ts`), "--help"]);
      expect(r.code).toBe(0);
      const lines = r.out.trimEnd().split("\n");
      expect(lines[0]).toStartWith(`usage: bun run ${c}`);
      for (const l of lines) expect(l.length).toBeLessThan(100);
      expect(r.out).not.toMatch(/STRING|VALUE/);
      expect(r.out).toContain("Exit codes:");
      if (c !== "micro") expect(r.out).toContain("Examples:");
    }
    const b = await run([BUN, MAIN, "--help"]);
    for (const g of ["What to run:", "How long:", "Placement:", "Outputs:", "Fault injection"]) expect(b.out).toContain(g);
    const v = await run([BUN, MAIN, "--version"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^iouring-bench \d+\.\d+\.\d+( \(git [0-9a-f]+\))?\n$/);
  }, 60_000);

  test("a bad $IOURING_BENCH_SERVER_WARMUP is a usage error too, naming the variable", async () => {
    const p = Bun.spawn([BUN, MAIN, "--quick"], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, IOURING_BENCH_SERVER_WARMUP: "lots" } });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expectUsageError({ code, out, err }, /^bench: /, /\$IOURING_BENCH_SERVER_WARMUP must be a number of round trips \(0 or more\), not 'lots'/);
  });

  test("the same names for the same things: bench accepts --backend, serve --backends, both --corrupt and --inject-delay", async () => {
    // Parsed: each fails only later, on what its value means, not as an unknown flag.
    const bench = await run([BUN, MAIN, "--backend", "nope"]);
    expectUsageError(bench, /^bench: /, /--backends: unknown 'nope'/);
    const serve = await run([BUN, SERVE, "--backends", "nope"]);
    expectUsageError(serve, /^serve: /, /--backend: unknown 'nope'/);
    const corrupt = await run([BUN, SERVE, "--backend", "epoll", "--corrupt", "0"]);
    expectUsageError(corrupt, /^serve: /, /--corrupt must be at least 1, not 0/);
    const delay = await run([BUN, SERVE, "--backend", "epoll", "--inject-delay", "x"]);
    expectUsageError(delay, /^serve: /, /--inject-delay must be an integer, not 'x'/);
  }, 60_000);
});

describe("bench/cli/serve.ts: port in use", () => {
  const available = Object.values(BACKENDS).filter((b) => b.availability().available);
  test(`every available backend (${available.map((b) => b.name).join(", ")}): exit 2, one line naming the port`, async () => {
    using held = new Listener("127.0.0.1", 0);
    const outs = await Promise.all(available.map((b) => run([BUN, SERVE, "--backend", b.name, "--port", String(held.port)])));
    outs.forEach((r, i) => {
      const name = available[i].name;
      expect({ name, code: r.code }).toEqual({ name, code: 2 });
      expect(r.out).toBe("");
      expect(r.err).not.toMatch(/\n\s+at /);
      const lines = r.err.trimEnd().split("\n");
      expect({ name, lines: lines.length }).toEqual({ name, lines: 1 });
      expect(lines[0]).toMatch(new RegExp(`^(serve|tokio-echo): listen 127\\.0\\.0\\.1:${held.port}: .*(EADDRINUSE|Address already in use).*port ${held.port} is in use.*pick another --port or 0$`));
    });
  }, 60_000);

  test("bad values for serve's own flags: exit 2, one line", async () => {
    const cases: [string[], RegExp][] = [
      [["--backend", "epoll", "--port", "65536"], /--port must be at most 65535, not 65536/],
      [["--backend", "epoll", "--port", "-1"], /--port must be at least 0, not -1/],
      [["--backend", "epoll", "--max-pending", "10"], /--max-pending must be at least 1024, not 10/],
      [["--backend", "epoll", "--max-frame", "x"], /--max-frame must be an integer, not 'x'/],
      [["--backend", "nope"], /--backend: unknown 'nope'/],
      [["--backend", "c-urng"], /--backend: unknown 'c-urng'; did you mean 'c-uring'\?/],
      [["--port", "7000"], /--backend is required/],
    ];
    const outs = await Promise.all(cases.map(([args]) => run([BUN, SERVE, ...args])));
    outs.forEach((r, i) => expectUsageError(r, /^serve: /, cases[i][1]));
  }, 60_000);
});
