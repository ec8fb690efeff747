// The machine kept quiet for one placement run, as one resource the run
// holds and releases however it ends: idle CPUs kept polling (PM QoS 0, with
// root), the client's threads pinned to its CPU, and the stall probe (steal
// time and a hiccup meter on the measured CPUs) that the round runner reads
// around every unit.
import * as net from "../../ffi/net.ts";
import { HiccupMeter } from "../measure/hiccup.ts";
import { clientCpusOf, cpuListText, serverCpusOf, type Placement } from "../measure/machine.ts";
import { holdPmQos, pinProcessThreads, readPmQos, StealWatch, type PmQosHold } from "../measure/quiet.ts";
import { warning, type RunWarning } from "../results/warnings.ts";
import type { StallProbe } from "./rounds.ts";

class Probe implements StallProbe {
  #steal?: StealWatch;
  constructor(
    readonly cpus: number[],
    readonly hiccups: HiccupMeter | undefined,
  ) {}
  begin(): void {
    this.#steal = StealWatch.start(this.cpus);
    this.hiccups?.read();
  }
  end() {
    const steal = this.#steal?.stop().maxMs ?? 0;
    const h = this.hiccups?.read() ?? [];
    return { stealMs: steal, hiccupMs: h.length ? Math.max(...h.map((x) => x.maxLateUs)) / 1000 : 0, hiccupByCpu: Object.fromEntries(h.map((x) => [x.cpu, x.maxLateUs / 1000])) };
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
