// The machine kept quiet for one placement run, as one resource the run
// holds and releases however it ends: idle CPUs kept polling (PM QoS 0, with
// root), the client's threads pinned to its CPU, and the stall probe (steal
// time and a hiccup meter on the measured CPUs) that the round runner reads
// around every unit.
import * as net from "../../ffi/net.ts";
import { HiccupMeter } from "../measure/hiccup.ts";
import { clientCpusOf, cpuListText, serverCpusOf, type Placement } from "../measure/machine.ts";
import { CpuStallWatch, type StallReading } from "../measure/interval.ts";
import { holdPmQos, pinProcessThreads, readPmQos, type PmQosHold } from "../measure/quiet.ts";
import { warning, type RunWarning } from "../results/warnings.ts";
import type { StallProbe } from "./rounds.ts";

/** The probe the round runner reads around every unit: the stall watch a remote server's host runs too (measure/interval.ts). */
class Probe implements StallProbe {
  #watch: CpuStallWatch;
  #stop?: () => StallReading;
  constructor(cpus: number[], hiccups: HiccupMeter | undefined) {
    this.#watch = new CpuStallWatch(cpus, hiccups);
  }
  begin(): void {
    // A unit that threw never ended its interval: close it, so the watch does not keep it open.
    this.#stop?.();
    this.#stop = this.#watch.start();
  }
  end(): StallReading {
    const seen = this.#stop?.() ?? { stealMs: 0, hiccupMs: 0 };
    this.#stop = undefined;
    return seen;
  }
}

export class QuietMachine implements Disposable {
  readonly probe: StallProbe;
  /** What the run records of the PM QoS request: "held at 0 (0 now)", "not held: why", or "not held" (not asked). */
  readonly pmQos: string;
  #qos?: PmQosHold;
  #hiccups?: HiccupMeter;

  private constructor(qos: PmQosHold | undefined, hiccups: HiccupMeter | undefined, cpus: number[]) {
    this.#qos = qos;
    this.#hiccups = hiccups;
    this.pmQos = !qos ? "not held" : qos.held ? `held at 0 (${readPmQos()} now)` : `not held: ${qos.reason}`;
    this.probe = new Probe(cpus, hiccups);
  }

  /** Quiets the machine for a placement; what could not be done is pushed to `warnings`. */
  static hold(opts: { idle: "poll" | "default"; placement: Placement; hiccup: boolean }, warnings: RunWarning[]): QuietMachine {
    const { placement } = opts;
    const qos = opts.idle === "poll" ? holdPmQos() : undefined;
    if (qos && !qos.held) warnings.push(warning("pm-qos-not-held", `CPUs could not be kept polling (${qos.reason}): idle CPUs halt and every wake-up adds tens of µs and noise on a VM.`, qos.remedy));
    const client = clientCpusOf(placement);
    if (client.length) {
      // The JS thread on the set's first CPU; Bun's other threads (and the load client's, which inherit or are pinned) within the set.
      net.pinThisThread(client[0]);
      const pin = pinProcessThreads(client);
      if (pin.failed) warnings.push(warning("pinning-failed", `${pin.failed} of the client's threads could not be pinned to CPU ${cpuListText(client)}${pin.error ? ` (${pin.error})` : ""}.`));
    }
    const watched = [...new Set([...serverCpusOf(placement), ...client])];
    const hiccups = opts.hiccup && watched.length ? new HiccupMeter(watched) : undefined;
    return new QuietMachine(qos, hiccups, watched);
  }

  release(): void {
    this.#hiccups?.stop();
    this.#hiccups = undefined;
    if (this.#qos?.held) this.#qos.release();
    this.#qos = undefined;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
