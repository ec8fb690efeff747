// The build rule lives in scripts/setup.sh alone (ffi/build.ts asks it with
// --check): a shim is stale when its .so is missing or older than its
// source, the parts compiled into it, or a header they include, directly or
// through another header. Checked on a copy of the tree, so nothing here
// rebuilds the real shims.
import { describe, expect, test } from "bun:test";
import { cpSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { testDir } from "./helpers.ts";

function copyTree(): string {
  const d = testDir("iob-build-");
  for (const sub of ["c", "scripts", "build"]) cpSync(join(ROOT, sub), join(d, sub), { recursive: true, preserveTimestamps: true });
  // Everything built after everything it is made of.
  const later = new Date(Date.now() + 60_000);
  for (const so of ["epoll", "hiccup", "loadgen", "loop_epoll", "loop_uring", "micro", "net", "uring"]) utimesSync(join(d, "build", `${so}.so`), later, later);
  return d;
}

const check = (d: string) => {
  const r = Bun.spawnSync(["bash", join(d, "scripts/setup.sh"), "--check"], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stale: r.stderr.toString().replace(/^stale: /, "").trim().split(/\s+/).filter(Boolean).sort() };
};

const touch = (path: string) => {
  const t = new Date(Date.now() + 120_000);
  utimesSync(path, t, t);
};

describe("setup.sh --check: the one build rule", () => {
  test("every shim newer than what it is made of: up to date, nothing built", () => {
    expect(check(copyTree())).toEqual({ code: 0, stale: [] });
  });

  test("a header included through another (clock.h via loop_common.h): every shim that reaches it is stale", () => {
    const d = copyTree();
    touch(join(d, "c/clock.h"));
    expect(check(d)).toEqual({ code: 1, stale: ["c/hiccup.c", "c/loadgen.c", "c/loop_epoll.c", "c/loop_uring.c", "c/net.c"] });
  });

  test("a part (loop_common.c) makes both loop libraries stale, and is no library itself", () => {
    const d = copyTree();
    touch(join(d, "c/loop_common.c"));
    expect(check(d)).toEqual({ code: 1, stale: ["c/loop_epoll.c", "c/loop_uring.c"] });
  });

  test("a missing library is stale", () => {
    const d = copyTree();
    rmSync(join(d, "build/micro.so"));
    expect(check(d)).toEqual({ code: 1, stale: ["c/micro.c"] });
  });
});
