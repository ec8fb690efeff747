// The environment readers: each parser on the literal text of every state the
// kernel writes, the reader on a directory laid out like / and on this
// machine, and the warnings each setting produces. Nothing is changed: the
// settings are only read.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  chargesRingsToMemlock,
  environmentLines,
  formatBytes,
  ioUringAccess,
  kernelVersion,
  parseBracketChoice,
  parseMemlock,
  parseMitigations,
  parseProcStatus,
  parseSmt,
  parseSysctlInt,
  readEnvironment,
  ringBytes,
  summarizeGovernors,
  vulnerabilityState,
  type Environment,
} from "../bench/measure/environment.ts";
import { contextLines, machineContext, type MachineContext } from "../bench/measure/machine.ts";
import { environmentWarnings } from "../bench/verdict/warnings.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";

describe("cpufreq governor", () => {
  test("no cpufreq on any CPU (a VM): none", () => {
    expect(summarizeGovernors(new Map([[0, null], [1, null]]))).toEqual({ governor: "none", driver: null });
    expect(summarizeGovernors(new Map())).toEqual({ governor: "none", driver: null });
  });
  test("one governor everywhere", () => {
    expect(summarizeGovernors(new Map([[0, "performance"], [1, "performance"]]), "acpi-cpufreq")).toEqual({ governor: "performance", driver: "acpi-cpufreq" });
    expect(summarizeGovernors(new Map([[0, "schedutil"]]), null).governor).toBe("schedutil");
  });
  test("CPUs that differ, or some without cpufreq: mixed, each CPU named", () => {
    const f = summarizeGovernors(new Map([[1, "powersave"], [0, "performance"]]), "intel_pstate");
    expect(f).toEqual({ governor: "mixed", driver: "intel_pstate", byCpu: { "0": "performance", "1": "powersave" } });
    expect(summarizeGovernors(new Map([[0, "performance"], [1, null]])).byCpu).toEqual({ "0": "performance", "1": null });
  });
});

describe("SMT", () => {
  test("a VM without SMT", () => {
    expect(parseSmt("notsupported\n", "0\n", ["0\n", "1\n"])).toEqual({ control: "notsupported", active: false, siblings: [] });
  });
  test("on and active: sibling groups, each once", () => {
    expect(parseSmt("on\n", "1\n", ["0,4\n", "1,5\n", "0,4\n", "1,5\n"])).toEqual({ control: "on", active: true, siblings: [[0, 4], [1, 5]] });
    expect(parseSmt("on", "1", ["0-1", "0-1"]).siblings).toEqual([[0, 1]]);
  });
  test("off, forceoff, and an old kernel without the files", () => {
    expect(parseSmt("off", "0", ["0"]).control).toBe("off");
    expect(parseSmt("forceoff", "0", []).active).toBe(false);
    expect(parseSmt(null, null, ["", ""])).toEqual({ control: null, active: null, siblings: [] });
  });
});

describe("mitigations", () => {
  test("the first word decides the state", () => {
    expect(vulnerabilityState("Not affected")).toBe("not affected");
    expect(vulnerabilityState("Mitigation: PTI")).toBe("mitigated");
    expect(vulnerabilityState("Vulnerable: Safe RET, no microcode")).toBe("vulnerable");
    expect(vulnerabilityState("Unknown: Dependent on hypervisor status")).toBe("unknown");
    expect(vulnerabilityState("KVM: Mitigation: Split huge pages")).toBe("mitigated");
    expect(vulnerabilityState("Processor vulnerable")).toBe("vulnerable");
  });

  // This VM's files (AMD EPYC guest, Linux 6.18).
  const thisVm = {
    meltdown: "Not affected\n",
    mds: "Not affected\n",
    retbleed: "Not affected\n",
    spec_rstack_overflow: "Vulnerable: Safe RET, no microcode\n",
    spec_store_bypass: "Vulnerable\n",
    spectre_v1: "Mitigation: usercopy/swapgs barriers and __user pointer sanitization\n",
    spectre_v2: "Mitigation: Retpolines; STIBP: disabled; RSB filling; PBRSB-eIBRS: Not affected; BHI: Not affected\n",
  };

  test("a guest with retpolines and a Safe RET thunk in force", () => {
    const m = parseMitigations(thisVm, "mitigations=auto,no_guest_host console=ttyS0 quiet");
    expect(m.bootParam).toBe("auto,no_guest_host");
    expect(m.notAffected).toEqual(["mds", "meltdown", "retbleed"]);
    expect(m.mitigated).toEqual(["spectre_v1", "spectre_v2"]);
    expect(m.vulnerable).toEqual(["spec_rstack_overflow", "spec_store_bypass"]);
    // "Vulnerable: Safe RET, no microcode" still runs the thunk: the cost is paid.
    expect(m.syscallTax).toEqual([
      { name: "spec_rstack_overflow", mechanisms: ["return thunks (every kernel function return)"] },
      { name: "spectre_v2", mechanisms: ["retpolines (every indirect branch in the kernel)"] },
    ]);
    expect(m.raw.spectre_v2).toStartWith("Mitigation: Retpolines;");
  });

  test("an older Intel host: PTI, VERW, legacy IBRS, the BHI loop, untrained return thunk", () => {
    const m = parseMitigations({
      meltdown: "Mitigation: PTI",
      mds: "Mitigation: Clear CPU buffers; SMT vulnerable",
      mmio_stale_data: "Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable",
      spectre_v2: "Mitigation: IBRS; IBPB: conditional; STIBP: conditional; RSB filling; PBRSB-eIBRS: Not affected; BHI: SW loop, KVM: SW loop",
      retbleed: "Mitigation: untrained return thunk; SMT vulnerable",
      reg_file_data_sampling: "Mitigation: Clear Register File",
    });
    const by = Object.fromEntries(m.syscallTax.map((t) => [t.name, t.mechanisms]));
    expect(by.meltdown).toEqual(["PTI (page tables switched on every kernel entry and exit)"]);
    expect(by.mds).toEqual(["VERW (CPU buffers cleared on every return to user space)"]);
    expect(by.reg_file_data_sampling).toEqual(["VERW (CPU buffers cleared on every return to user space)"]);
    // VERW without the microcode that makes it flush costs next to nothing.
    expect(by.mmio_stale_data).toBeUndefined();
    expect(by.spectre_v2).toEqual(["IBRS (legacy, set on every kernel entry)", "BHI loop (branch history cleared on every system call)"]);
    expect(by.retbleed).toEqual(["return thunks (every kernel function return)"]);
    expect(m.bootParam).toBeNull();
  });

  test("enhanced IBRS, VM-exit-only and not-affected entries tax nothing", () => {
    const m = parseMitigations({
      spectre_v2: "Mitigation: Enhanced / Automatic IBRS; IBPB: conditional; RSB filling; PBRSB-eIBRS: SW sequence; BHI: BHI_DIS_S",
      spec_rstack_overflow: "Mitigation: IBPB on VMEXIT only",
      tsa: "Mitigation: Clear CPU buffers: VM",
      srso_like: "Vulnerable: Microcode, no safe RET",
      meltdown: "Not affected",
      itlb_multihit: "KVM: Mitigation: VMX disabled",
      mmio_stale_data: "Unknown: No mitigations",
    });
    expect(m.syscallTax).toEqual([]);
    expect(m.mitigated).toEqual(["itlb_multihit", "spec_rstack_overflow", "spectre_v2", "tsa"]);
    expect(m.unknown).toEqual(["mmio_stale_data"]);
  });

  test("IBPB on every entry, and mitigations=off on the command line", () => {
    const m = parseMitigations({ retbleed: "Mitigation: IBPB", spectre_v2: "Vulnerable; IBPB: disabled; STIBP: disabled" }, "BOOT_IMAGE=/vmlinuz root=/dev/sda1 mitigations=off");
    expect(m.syscallTax).toEqual([{ name: "retbleed", mechanisms: ["IBPB (branch predictors flushed on every kernel entry)"] }]);
    expect(m.bootParam).toBe("off");
  });
});

describe("/proc/self/status, sysctls and io_uring access", () => {
  const status = (seccomp: string, capEff: string, gid = "1000", groups = "27 1000") =>
    `Name:\tbun\nUid:\t1000\t1000\t1000\t1000\nGid:\t${gid}\t${gid}\t${gid}\t${gid}\nGroups:\t${groups} \nCapEff:\t${capEff}\n${seccomp}NoNewPrivs:\t0\n`;

  test("seccomp modes", () => {
    expect(parseProcStatus(status("Seccomp:\t0\nSeccomp_filters:\t0\n", "0")).seccomp).toEqual({ mode: "disabled", filters: 0 });
    expect(parseProcStatus(status("Seccomp:\t2\nSeccomp_filters:\t1\n", "0")).seccomp).toEqual({ mode: "filter", filters: 1 });
    expect(parseProcStatus(status("Seccomp:\t1\n", "0")).seccomp).toEqual({ mode: "strict", filters: null });
    expect(parseProcStatus("Name:\tx\n").seccomp).toEqual({ mode: null, filters: null });
  });

  test("capabilities and groups", () => {
    const root = parseProcStatus(status("Seccomp:\t0\n", "000001ffffffffff", "0", ""));
    expect(root.capEff).toBe(0x1ffffffffffn);
    expect(root.groups).toEqual([0]);
    expect(parseProcStatus(status("Seccomp:\t0\n", "0000000000000000")).groups).toEqual([1000, 27]);
  });

  test("sysctl integers", () => {
    expect(parseSysctlInt("0\n")).toBe(0);
    expect(parseSysctlInt("-1\n")).toBe(-1);
    expect(parseSysctlInt("")).toBeNull();
    expect(parseSysctlInt(null)).toBeNull();
  });

  test("the kernel's rule: 0 all, 2 none, 1 CAP_SYS_ADMIN or the group", () => {
    const user = parseProcStatus(status("Seccomp:\t0\n", "0000000000000000"));
    const admin = parseProcStatus(status("Seccomp:\t0\n", "0000000000200000"));
    expect(ioUringAccess(0, -1, user).allowed).toBe(true);
    expect(ioUringAccess(2, -1, admin).allowed).toBe(false);
    expect(ioUringAccess(1, -1, user).allowed).toBe(false);
    expect(ioUringAccess(1, -1, admin).allowed).toBe(true);
    expect(ioUringAccess(1, 27, user).allowed).toBe(true);
    expect(ioUringAccess(1, 999, user)).toEqual({ disabled: 1, group: 999, allowed: false });
    expect(ioUringAccess(null, null, user).allowed).toBeNull();
  });

  test("RLIMIT_MEMLOCK", () => {
    const limits = (soft: string, hard: string) =>
      `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             7823                 7823                 processes \nMax locked memory         ${soft.padEnd(20)} ${hard.padEnd(20)} bytes     \n`;
    expect(parseMemlock(limits("8388608", "8388608"), false)).toEqual({ soft: 8388608, hard: 8388608, ipcLock: false });
    expect(parseMemlock(limits("65536", "unlimited"))).toEqual({ soft: 65536, hard: "unlimited", ipcLock: null });
    expect(parseMemlock(limits("unlimited", "unlimited")).soft).toBe("unlimited");
    expect(parseMemlock("")).toEqual({ soft: null, hard: null, ipcLock: null });
    expect(formatBytes(65536)).toBe("64 KiB");
    expect(formatBytes(8388608)).toBe("8 MiB");
    expect(formatBytes("unlimited")).toBe("unlimited");
  });

  test("kernels before 5.12 charge rings to the limit", () => {
    expect(kernelVersion("6.1.0-18-amd64")).toEqual([6, 1]);
    expect(chargesRingsToMemlock("5.10.0-28-amd64")).toBe(true);
    expect(chargesRingsToMemlock("5.12.0")).toBe(false);
    expect(chargesRingsToMemlock("6.18.44-fc-v509")).toBe(false);
    expect(chargesRingsToMemlock("4.19.0")).toBe(true);
    expect(chargesRingsToMemlock("weird")).toBe(false);
    // 4096 SQEs (256 KiB), the SQ array, 8192 CQEs (128 KiB).
    expect(ringBytes(4096)).toBe(256 * 1024 + 20 * 1024 + 132 * 1024);
  });
});

describe("transparent huge pages", () => {
  test("the bracketed choice", () => {
    expect(parseBracketChoice("always [madvise] never\n")).toBe("madvise");
    expect(parseBracketChoice("[always] madvise never\n")).toBe("always");
    expect(parseBracketChoice("always defer defer+madvise [madvise] never\n")).toBe("madvise");
    expect(parseBracketChoice("always madvise [never]")).toBe("never");
    expect(parseBracketChoice(null)).toBeNull();
  });
});

describe("readEnvironment", () => {
  const root = mkdtempSync(join(tmpdir(), "iouring-bench-env-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  test("a bare-metal host laid out under a directory", () => {
    for (const cpu of [0, 1, 2, 3]) {
      put(`sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`, cpu === 3 ? "powersave\n" : "performance\n");
      put(`sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_driver`, "intel_pstate\n");
      put(`sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`, cpu < 2 ? "0-1\n" : "2-3\n");
    }
    put("sys/devices/system/cpu/smt/control", "on\n");
    put("sys/devices/system/cpu/smt/active", "1\n");
    put("sys/devices/system/cpu/vulnerabilities/meltdown", "Mitigation: PTI\n");
    put("sys/devices/system/cpu/vulnerabilities/l1tf", "Not affected\n");
    put("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
    put("sys/kernel/mm/transparent_hugepage/defrag", "[always] defer defer+madvise madvise never\n");
    put("proc/sys/kernel/io_uring_disabled", "1\n");
    put("proc/sys/kernel/io_uring_group", "-1\n");
    put("proc/self/status", "Gid:\t1000\t1000\t1000\t1000\nGroups:\t1000\nCapEff:\t0000000000000000\nSeccomp:\t2\nSeccomp_filters:\t1\n");
    put("proc/self/limits", "Max locked memory         65536                65536                bytes     \n");
    put("proc/cmdline", "root=/dev/sda1 ro quiet\n");
    const e = readEnvironment(root);
    expect(e).toEqual({
      cpufreq: { governor: "mixed", driver: "intel_pstate", byCpu: { "0": "performance", "1": "performance", "2": "performance", "3": "powersave" } },
      smt: { control: "on", active: true, siblings: [[0, 1], [2, 3]] },
      mitigations: {
        bootParam: null,
        notAffected: ["l1tf"],
        mitigated: ["meltdown"],
        vulnerable: [],
        unknown: [],
        syscallTax: [{ name: "meltdown", mechanisms: ["PTI (page tables switched on every kernel entry and exit)"] }],
        raw: { l1tf: "Not affected", meltdown: "Mitigation: PTI" },
      },
      ioUring: { disabled: 1, group: -1, allowed: false },
      seccomp: { mode: "filter", filters: 1 },
      memlock: { soft: 65536, hard: 65536, ipcLock: false },
      thp: { enabled: "always", defrag: "always" },
    });
  });

  test("an empty directory: everything unknown, nothing thrown", () => {
    const empty = mkdtempSync(join(root, "empty-"));
    expect(readEnvironment(empty)).toEqual({
      cpufreq: { governor: "none", driver: null },
      smt: { control: null, active: null, siblings: [] },
      mitigations: null,
      ioUring: { disabled: null, group: null, allowed: null },
      seccomp: { mode: null, filters: null },
      memlock: { soft: null, hard: null, ipcLock: null },
      thp: { enabled: null, defrag: null },
    });
  });

  test("this machine reads without throwing, and the context carries it", () => {
    const e = readEnvironment();
    expect(typeof e.cpufreq.governor).toBe("string");
    expect(e.seccomp.mode === null || ["disabled", "strict", "filter"].includes(e.seccomp.mode)).toBe(true);
    const ctx = machineContext({ mode: "off", serverCpu: null, clientCpu: null }, []);
    expect(ctx.environment).toBeDefined();
    // Survives the trip through JSON (the results file).
    expect(JSON.parse(JSON.stringify(ctx.environment))).toEqual(ctx.environment!);
    const lines = contextLines(ctx);
    expect(lines.some((l) => l.startsWith("tuning    cpufreq "))).toBe(true);
    expect(lines.some((l) => l.startsWith("security  "))).toBe(true);
    expect(Array.isArray(environmentWarnings(ctx))).toBe(true);
  });
});

describe("environment lines and warnings", () => {
  const clean: Environment = {
    cpufreq: { governor: "none", driver: null },
    smt: { control: "notsupported", active: false, siblings: [] },
    mitigations: parseMitigations({ meltdown: "Not affected", spectre_v2: "Mitigation: Enhanced / Automatic IBRS; BHI: BHI_DIS_S" }),
    ioUring: { disabled: 0, group: -1, allowed: true },
    seccomp: { mode: "disabled", filters: 0 },
    memlock: { soft: 8388608, hard: 8388608, ipcLock: false },
    thp: { enabled: "madvise", defrag: "madvise" },
  };
  const ctx = (env: Partial<Environment>, over: Partial<MachineContext> = {}): MachineContext => ({ ...SYNTHETIC_CONTEXT, environment: { ...clean, ...env }, ...over });
  const codes = (c: MachineContext, placements?: MachineContext["placement"][]) => environmentWarnings(c, placements).map((w) => w.code);

  test("a clean environment: two context lines, no warning", () => {
    expect(environmentLines(clean)).toEqual([
      "tuning    cpufreq none (no cpufreq); SMT notsupported (inactive); THP madvise (defrag madvise); RLIMIT_MEMLOCK 8 MiB",
      "security  no mitigation taxing system calls (1 mitigated, 0 vulnerable, 1 not affected); seccomp disabled; io_uring allowed",
    ]);
    expect(codes(ctx({}))).toEqual([]);
  });

  test("results from before the environment was recorded: no lines, no warnings", () => {
    expect(environmentWarnings(SYNTHETIC_CONTEXT)).toEqual([]);
    expect(contextLines(SYNTHETIC_CONTEXT).some((l) => l.startsWith("tuning"))).toBe(false);
  });

  test("a governor other than performance", () => {
    expect(codes(ctx({ cpufreq: { governor: "performance", driver: "acpi-cpufreq" } }))).toEqual([]);
    const [w] = environmentWarnings(ctx({ cpufreq: { governor: "schedutil", driver: "acpi-cpufreq" } }));
    expect(w.code).toBe("cpufreq-governor");
    expect(w.text + " " + w.remedy).toContain("cpupower frequency-set -g performance");
    expect(environmentWarnings(ctx({ cpufreq: { governor: "mixed", driver: null, byCpu: { "0": "performance", "1": "powersave" } } }))[0].text).toContain("0: performance, 1: powersave");
  });

  test("cross-core on SMT siblings, for any placement run", () => {
    const smt = { smt: { control: "on", active: true, siblings: [[0, 1], [2, 3]] } };
    expect(codes(ctx(smt))).toEqual(["smt-siblings"]);
    expect(codes(ctx(smt), [{ mode: "cross", serverCpu: 0, clientCpu: 2 }, { mode: "same", serverCpu: 0, clientCpu: 0 }])).toEqual([]);
    expect(environmentWarnings(ctx(smt))[0].remedy).toContain("--server-cpus/--client-cpus");
  });

  test("io_uring denied", () => {
    const [w] = environmentWarnings(ctx({ ioUring: { disabled: 1, group: 1001, allowed: false } }));
    expect(w.code).toBe("io-uring-disabled");
    expect(w.text + " " + w.remedy).toContain("kernel.io_uring_group (1001)");
    expect(codes(ctx({ ioUring: { disabled: 1, group: -1, allowed: true } }))).toEqual([]);
    expect(environmentWarnings(ctx({ ioUring: { disabled: 2, group: null, allowed: false } }))[0].text).toContain("kernel.io_uring_disabled=2");
  });

  test("a seccomp filter", () => {
    const [w] = environmentWarnings(ctx({ seccomp: { mode: "filter", filters: 2 } }));
    expect(w.code).toBe("seccomp-filter");
    expect(w.text + " " + w.remedy).toContain("2 seccomp filters");
    expect(w.text + " " + w.remedy).toContain("io_uring_setup");
  });

  test("RLIMIT_MEMLOCK below a ring, only where the kernel charges it", () => {
    const low = { memlock: { soft: 65536, hard: 65536, ipcLock: false } };
    const [w] = environmentWarnings(ctx(low, { kernel: "5.10.0-28-amd64" }));
    expect(w.code).toBe("memlock-low");
    expect(w.text + " " + w.remedy).toContain("64 KiB");
    expect(codes(ctx(low, { kernel: "6.1.0" }))).toEqual([]);
    expect(codes(ctx({ memlock: { soft: 65536, hard: 65536, ipcLock: true } }, { kernel: "5.10.0" }))).toEqual([]);
    expect(codes(ctx({ memlock: { soft: "unlimited", hard: "unlimited", ipcLock: false } }, { kernel: "5.10.0" }))).toEqual([]);
  });

  test("THP always", () => {
    const [w] = environmentWarnings(ctx({ thp: { enabled: "always", defrag: "always" } }));
    expect(w.code).toBe("thp-always");
    expect(w.text + " " + w.remedy).toContain("direct compaction");
    expect(w.text + " " + w.remedy).toContain("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled");
    expect(codes(ctx({ thp: { enabled: "never", defrag: "madvise" } }))).toEqual([]);
  });

  test("mitigations that tax system calls, and mitigations=off", () => {
    const [w] = environmentWarnings(ctx({ mitigations: parseMitigations({ meltdown: "Mitigation: PTI" }) }));
    expect(w.code).toBe("syscall-mitigations");
    expect(w.text + " " + w.remedy).toContain("meltdown: PTI");
    const off = environmentWarnings(ctx({ mitigations: parseMitigations({ meltdown: "Vulnerable" }, "mitigations=off") }));
    expect(off.map((x) => x.code)).toEqual(["syscall-mitigations"]);
    expect(off[0].text).toContain("mitigations=off");
  });
});
