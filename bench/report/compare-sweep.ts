// Two sweeps compared (`bun run compare`): each point's throughput per
// backend, NEW against OLD, with the same Welch t interval on the logs of the
// per-round figures as the scenarios' (compare.ts), and every crossover
// answer side by side. The figures table lists only the clear changes: a
// sweep has about a hundred figures, and among them about one in twenty
// looks changed without a real change.
import type { SweepBackend, SweepCrossover, SweepResults } from "../results/schema.ts";
import { welchLogInterval, type WelchLogInterval } from "../stats/welch.ts";
import { fmtRate, signed } from "./format.ts";
import type { Table } from "./table.ts";

export interface SweepFigureChange {
  connections: number;
  window: number;
  payload: number;
  backend: string;
  old: number | null;
  new: number | null;
  changePct: number | null;
  intervalPct: [number, number] | null;
  welch: WelchLogInterval | null;
  status: "better" | "worse" | "no clear change" | "n/a";
}

export interface SweepCrossoverChange {
  pair: string;
  window: number;
  payload: number;
  old: string;
  new: string;
  changed: boolean;
}

export interface SweepComparison {
  figures: SweepFigureChange[];
  crossovers: SweepCrossoverChange[];
  /** Points (connections × window × payload) in one sweep only. */
  onlyOld: number;
  onlyNew: number;
}

const key = (p: { connections: number; window: number; payload: number }) => `${p.connections}/${p.window}/${p.payload}`;

function figureChange(at: { connections: number; window: number; payload: number }, o: SweepBackend, n: SweepBackend, confidence: number): SweepFigureChange {
  const figures = (b: SweepBackend) => (b.rounds_throughput ?? []).filter((x) => Number.isFinite(x) && x > 0);
  const welch = o.failure || n.failure ? null : welchLogInterval(figures(o), figures(n), confidence);
  const changePct = o.throughput && n.throughput ? (n.throughput / o.throughput - 1) * 100 : null;
  const status = !welch ? "n/a" : welch.loLog > 0 ? "better" : welch.hiLog < 0 ? "worse" : "no clear change";
  const intervalPct: [number, number] | null = welch ? [Math.expm1(welch.loLog) * 100, Math.expm1(welch.hiLog) * 100] : null;
  return { ...at, backend: o.backend, old: o.throughput, new: n.throughput, changePct, intervalPct, welch, status };
}

const crossoverText = (c: SweepCrossover | undefined) =>
  !c ? "absent" : c.connections !== null ? `from ${c.connections} connections` : c.max_connections ? `none up to ${c.max_connections}` : "no figures for both";

/** null unless both runs have a sweep. */
export function compareSweeps(o: SweepResults | undefined, n: SweepResults | undefined, confidence: number): SweepComparison | null {
  if (!o || !n) return null;
  const newPoints = new Map(n.points.map((p) => [key(p), p]));
  const oldKeys = new Set(o.points.map(key));
  const figures = o.points.flatMap((op) => {
    const np = newPoints.get(key(op));
    if (!np) return [];
    return op.backends.flatMap((ob) => {
      const nb = np.backends.find((b) => b.backend === ob.backend);
      return nb ? [figureChange(op, ob, nb, confidence)] : [];
    });
  });
  const pairKey = (c: SweepCrossover) => `${c.candidate} vs ${c.baseline}|${c.window}|${c.payload}`;
  const oldX = new Map(o.crossover.map((c) => [pairKey(c), c]));
  const newX = new Map(n.crossover.map((c) => [pairKey(c), c]));
  const crossovers = [...new Set([...oldX.keys(), ...newX.keys()])].map((k) => {
    const [pair, window, payload] = k.split("|");
    const [a, b] = [crossoverText(oldX.get(k)), crossoverText(newX.get(k))];
    return { pair, window: Number(window), payload: Number(payload), old: a, new: b, changed: a !== b };
  });
  return { figures, crossovers, onlyOld: o.points.filter((p) => !newPoints.has(key(p))).length, onlyNew: n.points.filter((p) => !oldKeys.has(key(p))).length };
}

const pct = (x: number) => `${signed(x)}%`;

/** The crossover answers side by side, then the figures that changed clearly; lines say what was compared. */
export function sweepComparisonParts(s: SweepComparison, labels: { old: string; new: string }, confidence: number): { tables: Table[]; lines: string[] } {
  const conf = `${+(confidence * 100).toFixed(1)}%`;
  const clear = s.figures.filter((f) => f.status === "better" || f.status === "worse");
  const tables: Table[] = [
    {
      title: "Sweep: the crossover in each run",
      columns: [{ name: "pair", align: "left" }, { name: "window" }, { name: "payload" }, { name: labels.old, align: "left" }, { name: labels.new, align: "left" }, { name: "changed", align: "left" }],
      rows: s.crossovers.map((c) => [c.pair, String(c.window), `${c.payload} B`, c.old, c.new, c.changed ? "yes" : ""]),
    },
  ];
  if (clear.length)
    tables.push({
      title: "Sweep: throughput that changed clearly (msg/s)",
      columns: [{ name: "connections" }, { name: "window" }, { name: "payload" }, { name: "backend", align: "left" }, { name: labels.old }, { name: labels.new }, { name: "change" }, { name: `${conf} interval` }, { name: "status", align: "left" }],
      rows: clear.map((f) => [
        fmtRate(f.connections),
        String(f.window),
        `${f.payload} B`,
        f.backend,
        f.old === null ? "n/a" : fmtRate(f.old),
        f.new === null ? "n/a" : fmtRate(f.new),
        f.changePct === null ? "n/a" : pct(f.changePct),
        f.intervalPct ? `[${pct(f.intervalPct[0])}, ${pct(f.intervalPct[1])}]` : "n/a",
        f.status,
      ]),
    });
  const none = s.figures.filter((f) => f.status === "n/a").length;
  const lines = [
    `Sweep: ${s.figures.length} figures compared (point × backend in both runs), ${clear.length} changed clearly (the whole ${conf} Welch interval on one side of 0; each stands alone, so about one in twenty changes without a real change)${none ? `; ${none} without an interval (fewer than 2 rounds in a run, a failure, or a file from before per-round figures were kept)` : ""}.`,
    ...(s.onlyOld ? [`Sweep points only in ${labels.old}: ${s.onlyOld}.`] : []),
    ...(s.onlyNew ? [`Sweep points only in ${labels.new}: ${s.onlyNew}.`] : []),
  ];
  return { tables, lines };
}
