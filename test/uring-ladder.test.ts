// The ladder's own backends (bench/verdict/ladder.ts): each echoes byte for
// byte (0 B to 1 MiB, one connection and many), says in its stats line that
// its ring is set up as its step asks (flags, ring fd not registered before
// the `uring` step), and makes the system calls its step is about: the naive
// loop 2 per ping-pong request, one enter per request 1 (counted with perf,
// skipped when perf cannot count).
import { describe, expect, test } from "bun:test";
import { IORING_SETUP_COOP_TASKRUN, IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_SQPOLL, IORING_SETUP_TASKRUN_FLAG, probeSetupFlags, Ring, setupFlagNames } from "../ffi/uring.ts";
import { URING, URING_SKIP_REASON } from "./helpers.ts";
import { ringBackendSuite, syscallsPerRequestTest } from "./ring-backends.ts";

const SIZES = [0, 1, 10, 100, 1000, 65536, 1 << 20];

function tunedFlags(): number {
  if (probeSetupFlags(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) === 0) return IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (probeSetupFlags(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG) === 0) return IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  return 0;
}

/** Each new step: its ring flags, and whether its ring fd is registered. */
const STEPS: Record<string, { flags: () => number; registered: boolean }> = {
  "uring-basic": { flags: () => 0, registered: false },
  "uring-1enter": { flags: () => 0, registered: false },
  "uring-taskrun": { flags: tunedFlags, registered: false },
};

describe.skipIf(!URING.available)(`a ring without a registered fd${URING_SKIP_REASON ? ` (skipped: ${URING_SKIP_REASON})` : ""}`, () => {
  test("gives its registration back (io_uring_unregister_ring_fd), and the rings after it register as before", () => {
    {
      using plain = new Ring(8, { flags: 0, registerRingFd: false });
      expect(plain.setup.ringFdRegistered).toBe(0);
      using tuned = new Ring(8, { registerRingFd: false });
      expect(tuned.setup.ringFdRegistered).toBe(0);
      expect(tuned.setup.setupFlags).toBe(tunedFlags());
    }
    using after = new Ring(8);
    expect(after.setup.ringFdRegistered).toBe(1);
  });
});

for (const [name, want] of Object.entries(STEPS))
  ringBackendSuite(name, SIZES, 300, "its stats line reports the ring set-up its step asks for", (st) => {
    expect(st.ringFlags).toBe(setupFlagNames(want.flags()));
    const reg = st.ringFdRegistered as number;
    if (want.registered) expect(reg === 1 || reg < 0).toBe(true);
    else expect(reg).toBe(0);
  });

// A count, not a timing. Up to two for the naive loop: the inline send satisfies the wait, so a second
// enter waits for the next request, unless that request was already in (on this VM 1.5-2.0).
syscallsPerRequestTest("uring-basic", 1.3, 2.2, "more than one system call per ping-pong request, up to two (the inline send satisfies the wait)");
syscallsPerRequestTest("uring-1enter", 0.9, 1.2, "about one system call per ping-pong request");
