// Is the verdict calibrated as it runs? The whole procedure (looks at 6/13/20,
// the sign test's first look at 7, stopping once settled, every gate and the
// A/A control evaluated by the real code) on simulated rounds with the
// spreads measured here (gate-simulation.ts). Seeded: the rates are the same
// every run, so the bounds below can be tight; each leaves room for the
// simulation's own error (about 2 standard errors at these counts).
import { describe, expect, test } from "bun:test";
import { minSignRounds } from "../bench/stats/paired.ts";
import { byId, CONFIDENCE, MEASURED, simulate, simulateOnce } from "./gate-simulation.ts";
import { seededRandom } from "../bench/stats/stats.ts";

const SIMS = 300;
/** One-sided error the gate allows per criterion: half of 1 - 95% (each PASS and FAIL is a one-sided test). */
const ALPHA_SIDE = 0.025;
const slack = (p: number) => 2 * Math.sqrt((p * (1 - p)) / SIMS);

describe("the A/A control's false alarms (README: Method)", () => {
  for (const id of ["C1", "C2", "C4", "C3"]) {
    test(`${id}: identical servers and a real 0.5% offset drift in at most 5% of runs; an offset four margins wide drifts almost always`, () => {
      const def = byId(id);
      const m = MEASURED[id];
      expect(simulate(def, { ...m, improvementPct: 0, controlOffsetPct: 0 }, SIMS).drifted).toBeLessThanOrEqual(0.05);
      expect(simulate(def, { ...m, improvementPct: 0, controlOffsetPct: 0.5 }, SIMS, 2).drifted).toBeLessThanOrEqual(0.05);
      // A handicap far beyond the margin is found (C3's bimodal tails are harder: most runs).
      expect(simulate(def, { ...m, improvementPct: 0, controlOffsetPct: def.threshold }, SIMS, 3).drifted).toBeGreaterThanOrEqual(id === "C3" ? 0.6 : 0.95);
    });
  }

  test("C1 with identical servers is confirmed equivalent in most runs, not merely left uninformative", () => {
    expect(simulate(byId("C1"), { ...MEASURED.C1, improvementPct: 0, controlOffsetPct: 0 }, SIMS, 4).equivalent).toBeGreaterThanOrEqual(0.9);
  });
});

describe("the gate's errors at the threshold, with its looks and stopping", () => {
  for (const id of ["C1", "C2", "C4", "C3"]) {
    test(`${id}: a true gain exactly at the threshold PASSes, and FAILs, each in at most ${ALPHA_SIDE * 100}% of runs (plus simulation error)`, () => {
      const r = simulate(byId(id), { ...MEASURED[id], improvementPct: byId(id).threshold, controlOffsetPct: 0 }, SIMS, 5);
      expect(r.pass).toBeLessThanOrEqual(ALPHA_SIDE + slack(ALPHA_SIDE));
      expect(r.fail).toBeLessThanOrEqual(ALPHA_SIDE + slack(ALPHA_SIDE));
    });
  }

  test("a gain twice the threshold passes, and no gain fails, in most runs (the procedure has power)", () => {
    for (const id of ["C1", "C2", "C4"]) {
      const def = byId(id);
      expect(simulate(def, { ...MEASURED[id], improvementPct: 2 * def.threshold, controlOffsetPct: 0 }, 100, 6).pass).toBeGreaterThanOrEqual(0.95);
      expect(simulate(def, { ...MEASURED[id], improvementPct: 0, controlOffsetPct: 0 }, 100, 7).fail).toBeGreaterThanOrEqual(0.95);
    }
  });
});

describe("C3's looks", () => {
  test("its first look is where the sign test can reach the confidence (7 rounds at 98.3%), and a clear gain can stop there", () => {
    expect(minSignRounds(CONFIDENCE)).toBe(7);
    // Without hiccups and with tight rounds (the control settles too), a gain of 40% is settled at the first look.
    const rnd = seededRandom(8);
    const o = simulateOnce(byId("C3"), { sd: 0.005, improvementPct: 40, controlOffsetPct: 0 }, rnd);
    expect(o.gate.status).toBe("PASS");
    expect(o.rounds).toBe(7);
  });
});
