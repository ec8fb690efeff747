// Where the run is: on a terminal, one line updated in place (scenario,
// round, backend, elapsed and remaining time against the budget); in a log
// (CI, a pipe), plain lines, one per finished round.
export class Progress {
  readonly #tty: boolean;
  #shown = false;
  constructor(
    readonly startedAt: number,
    readonly budgetS: number,
    readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.#tty = Boolean(out.isTTY);
  }

  #clock(): string {
    const elapsed = (performance.now() - this.startedAt) / 1000;
    const left = Math.max(0, this.budgetS - elapsed);
    const mmss = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
    return `${mmss(elapsed)} elapsed, ${mmss(Math.ceil(left))} of the budget left`;
  }

  /** The unit being measured now: only shown on a terminal. */
  unit(scenario: string, round: number, backend: string): void {
    if (!this.#tty) return;
    const cols = this.out.columns ?? 100;
    this.out.write(`\r\x1b[K${`${scenario}: round ${round}, ${backend} | ${this.#clock()}`.slice(0, cols - 1)}`);
    this.#shown = true;
  }

  /** A line that stays (a finished round, a warning). */
  line(text: string): void {
    if (this.#shown) this.out.write("\r\x1b[K");
    this.#shown = false;
    this.out.write(`${text}${this.#tty ? "" : ` [${this.#clock()}]`}\n`);
  }
}
