// `serve` with a control channel, or with several backends: one child
// process per backend, each on its own port and pinned to its own CPU set,
// started as bench starts its own (spawnOptionsFor, ServerProcess), and this
// process answering the control channel for all of them. The children are
// the servers; this process only reads them (/proc, perf), watches their
// CPUs for stalls, holds the idle state a bench would hold, and relays
// their lines: `listening` each, then `control` and `targets`, their
// `stats` and `summary` lines, and `exited` when one ends by itself.
import { controlLine, exitedLine, listeningLine, targetsLine } from "./lines.ts";
import { writeSync } from "node:fs";
import { HiccupMeter } from "../measure/hiccup.ts";
import { CpuStallWatch } from "../measure/interval.ts";
import { machineContext } from "../measure/machine.ts";
import { allowedCpus, cpuIdleInfo, holdPmQos, readPmQos, type PmQosHold } from "../measure/quiet.ts";
import type { ServedBackendInfo } from "../protocol/control.ts";
import { ControlServer } from "./control-server.ts";
import { ownSignals, ServerProcess, ServerStartError, type ServerSpawnOptions } from "./process.ts";

export interface ServedSpec {
  label: string;
  spawn: ServerSpawnOptions;
  /** Its CPU set (taskset); empty: not pinned. */
  cpus: number[];
}

export interface ServeManyOptions {
  backends: ServedSpec[];
  /** Where the control channel listens; undefined: no control channel. */
  control?: { host: string; port: number };
  /** Hiccup threads on the backends' CPUs (the stall figures of each interval). */
  hiccup: boolean;
  /** poll: hold PM QoS 0 while serving (as bench does for its own servers). */
  cpuIdle: "poll" | "default";
  argv: string[];
}

const say = (line: string) => writeSync(1, `${line}\n`);

function exitText(s: ServerProcess): string {
  const sig = s.proc.signalCode;
  return sig ? `killed by ${sig}` : `exit ${s.exitCode}`;
}

export async function serveMany(o: ServeManyOptions): Promise<never> {
  // This process stops its children itself, in order, with their summaries.
  ownSignals();
  const children: { spec: ServedSpec; proc: ServerProcess }[] = [];
  let stopping = false;
  let qos: PmQosHold | undefined;
  let hiccups: HiccupMeter | undefined;
  let control: ControlServer | undefined;
  const release = () => {
    control?.stop();
    try {
      hiccups?.stop();
    } catch {
      // a meter thread that will not join is no reason to keep serving
    }
    if (qos?.held) qos.release();
  };
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) await c.proc.stop();
    release();
    say(`stopped signal=${signal}`);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGUSR1", () => {
    for (const c of children) if (!c.proc.exited) c.proc.proc.kill("SIGUSR1");
  });

  const every = allowedCpus();
  const infos = (): ServedBackendInfo[] =>
    children.map(({ spec, proc }) => ({
      label: spec.label,
      backend: spec.spawn.backend,
      host: proc.host,
      port: proc.port,
      pid: proc.pid,
      cpus: spec.cpus.length ? spec.cpus : every,
      exited: proc.exited,
      ...(proc.exited ? { exit: exitText(proc) } : {}),
    }));

  const giveUp = async (why: string): Promise<never> => {
    stopping = true;
    for (const c of children) await c.proc.stop();
    release();
    process.stderr.write(`${why}\n`);
    process.exit(2);
  };
  for (const spec of o.backends) {
    try {
      const proc = await ServerProcess.start({ ...spec.spawn, cpus: spec.cpus.length ? spec.cpus : undefined, onLine: (l) => say(l) });
      children.push({ spec, proc });
      void proc.proc.exited.then(() => {
        if (stopping) return;
        say(exitedLine(spec.label, proc.proc.signalCode ? String(proc.proc.signalCode) : null, proc.exitCode));
        if (children.every((c) => c.proc.exited)) {
          release();
          process.exit(1);
        }
      });
    } catch (e) {
      // The backend's own one-line error (a port in use, io_uring missing) is the user's answer.
      await giveUp(e instanceof ServerStartError && e.stderr.trim() ? e.stderr.trim() : (e as Error).message);
    }
  }
  // The control port once every backend listens: a data port in use is named first; no `listening` line before all is up.
  if (o.control) {
    try {
      control = ControlServer.start({
        ...o.control,
        backends: infos,
        context: () => ({
          ...machineContext({ mode: "off", serverCpu: null, clientCpu: null }, o.argv),
          cpuIdle: { ...cpuIdleInfo(), requested: o.cpuIdle, pmQos: !qos ? "not held" : qos.held ? `held at 0 (${readPmQos()} now)` : `not held: ${qos.reason}` },
          serving: infos().map((b) => ({ label: b.label, backend: b.backend, port: b.port, cpus: b.cpus })),
        }),
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const inUse = err.code === "EADDRINUSE" || /in use/i.test(err.message);
      await giveUp(`serve: control channel: listen ${o.control.host}:${o.control.port}: ${inUse ? `EADDRINUSE: port ${o.control.port} is in use; pick another --control-port, or --control off` : err.message}`);
    }
  }
  for (const c of children) say(listeningLine(c.proc.host, c.proc.port, c.spec.label));

  if (control) {
    if (o.cpuIdle === "poll") qos = holdPmQos();
    const cpus = [...new Set(infos().flatMap((b) => b.cpus))].sort((a, b) => a - b);
    if (o.hiccup) {
      try {
        hiccups = new HiccupMeter(cpus);
      } catch (e) {
        process.stderr.write(`serve: no hiccup meter (${(e as Error).message}); stalls are read from steal time only\n`);
      }
    }
    control.watchStalls(new CpuStallWatch(cpus, hiccups));
    say(controlLine(control.host, control.port));
  }
  say(targetsLine(children.map((c) => ({ label: c.spec.label, host: c.proc.host, port: c.proc.port }))));
  // Serve until a signal; the children keep the event loop alive.
  await new Promise<never>(() => {});
  throw new Error("unreachable");
}
