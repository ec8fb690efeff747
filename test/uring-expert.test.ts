// io_uring as an expert runs it, checked on real sockets and a real ring:
// every uring loop still echoes byte for byte (0 B to 1 MiB, one and many
// connections); the rings report the set-up they asked for or a documented
// fallback; and in steady ping-pong the `uring` and `c-uring` loops make about
// one system call per request (counted with perf, skipped when perf cannot).
import { describe, expect, test } from "bun:test";
import {
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQPOLL,
  IORING_SETUP_TASKRUN_FLAG,
  probeSetupFlags,
  Ring,
  setupFlagNames,
} from "../ffi/uring.ts";
import { URING, URING_SKIP_REASON } from "./helpers.ts";
import { ringBackendSuite, syscallsPerRequestTest } from "./ring-backends.ts";

const SIZES = [0, 1, 10, 100, 1000, 4096, 16 * 1024, 65536, 256 * 1024, 1 << 20];

const LOOPS = ["uring", "uring-sqpoll", "uring-defer", "uring-multishot", "c-uring"];

/** The set-up a ring without exact flags should end with here: proxy.c's, or its documented fallback. */
function expectedTuned(): { flags: number; fallbackErrno: number } {
  if (probeSetupFlags(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) === 0) return { flags: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, fallbackErrno: 0 };
  if (probeSetupFlags(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG) === 0) return { flags: IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, fallbackErrno: 22 };
  return { flags: 0, fallbackErrno: 22 };
}

/** What each backend's `stats` line must say about its ring. */
const EXPECTED_FLAGS: Record<string, () => number> = {
  uring: () => expectedTuned().flags,
  "c-uring": () => expectedTuned().flags,
  "uring-sqpoll": () => IORING_SETUP_SQPOLL,
  "uring-defer": () => IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
  "uring-multishot": () => 0,
};

describe.skipIf(!URING.available)(`ring set-up${URING_SKIP_REASON ? ` (skipped: ${URING_SKIP_REASON})` : ""}`, () => {
  test("a ring without exact flags takes proxy.c's set-up or its fallback, and says which", () => {
    using ring = new Ring(8);
    const want = expectedTuned();
    expect(setupFlagNames(ring.setup.setupFlags)).toBe(setupFlagNames(want.flags));
    expect(ring.setup.setupFallbackErrno).toBe(want.fallbackErrno);
    // Registered (5.18+), or the errno of the refusal: never 0.
    expect(ring.setup.ringFdRegistered === 1 || ring.setup.ringFdRegistered < 0).toBe(true);
  });

  test("exact flags are taken as asked, or refused with the errno", () => {
    using plain = new Ring(8, { flags: 0 });
    expect(plain.setup.setupFlags).toBe(0);
    expect(plain.setup.setupFallbackErrno).toBe(0);
    const defer = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (probeSetupFlags(defer) === 0) {
      using r = new Ring(8, { flags: defer });
      expect(r.setup.setupFlags).toBe(defer);
    }
  });

  test("a ring with provided buffers is destroyed after a drain, and can be made again", () => {
    for (let i = 0; i < 3; i++) {
      const r = new Ring(8);
      r.setupBuffers(4, 4096);
      r.close();
    }
  });
});

for (const name of LOOPS)
  ringBackendSuite(name, SIZES, 100, "its stats line reports the ring set-up", (st) => {
    expect(st.ringFlags).toBe(setupFlagNames(EXPECTED_FLAGS[name]()));
    expect(st.ringSetupFlags).toBe(EXPECTED_FLAGS[name]());
    const reg = st.ringFdRegistered as number;
    expect(reg === 1 || reg < 0).toBe(true);
  });

// A count, not a timing; at least one: a loop that is not entering the kernel is not serving these requests.
for (const name of ["uring", "c-uring"]) syscallsPerRequestTest(name, 0.9, 1.2, "about one system call per ping-pong request");
