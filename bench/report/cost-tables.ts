// Tables of what the servers cost: per-request CPU, context switches and
// system calls, each FFI loop against its C twin, and the effect of where the
// server and the client were placed.
import type { BenchResults, ScenarioResult } from "../results/schema.ts";
import { fmtNum, fmtRate } from "./format.ts";
import { C_TWINS } from "../server/relations.ts";
import { placementEffectSource, twinSources } from "./scenario-layout.ts";
import type { Table } from "./table.ts";

/** Per-request server costs of one scenario: a row per variant and backend. */
export function costsTable(s: ScenarioResult): Table | undefined {
  const rows: string[][] = [];
  for (const v of s.variants)
    for (const b of v.backends) {
      const c = b.costs;
      if (!c) continue;
      const res = b.resources;
      const fds = res?.before && res?.after ? `${res.before.fds} -> ${res.after.fds}` : "n/a";
      const rss = res?.after ? `${Math.round(res.after.rssKiB / 1024)} (${Math.round(res.after.peakRssKiB / 1024)})` : "n/a";
      rows.push([
        v.key,
        b.backend,
        fmtNum(c.cpu_us, 2),
        `${fmtNum(c.user_us, 2)} / ${fmtNum(c.sys_us, 2)}`,
        `${fmtNum(c.vol_ctx, 2)} / ${fmtNum(c.invol_ctx, 2)}`,
        c.syscalls === null ? `n/a (${c.syscalls_note ?? "not counted"})` : fmtNum(c.syscalls, 2),
        fds,
        rss,
      ]);
    }
  if (!rows.length) return undefined;
  const remote = [...new Set(s.variants.flatMap((v) => v.backends.filter((b) => b.costs?.measured_on === "server-host").map((b) => b.backend)))];
  return {
    title: `Scenario ${s.id}: ${s.name}, server cost per request`,
    columns: [
      { name: "variant", align: "left" },
      { name: "backend", align: "left" },
      { name: "CPU µs" },
      { name: "user / sys µs" },
      { name: "ctx switches vol / invol" },
      { name: "syscalls" },
      { name: "fds before -> after" },
      { name: "RSS MiB after (peak)" },
    ],
    rows,
    notes: [
      "Per request, over exactly the measured intervals: CPU of all server threads (schedstat), split by the kernel's user/system ticks; context switches summed over threads; syscalls from a separate, untimed perf pass (raw_syscalls:sys_enter).",
      ...(remote.length ? [`Measured on the server's host (serve's control channel read them there, by the same code): ${remote.join(", ")}.`] : []),
    ],
  };
}

export { C_TWINS } from "../server/relations.ts";

/**
 * Each FFI backend against its C twin: the ping-pong p50 (ratio above 1.00:
 * the FFI loop is slower) and the stress throughput (below 1.00: it is
 * slower); scenario-layout.ts names the scenarios.
 */
export function twinTable(r: BenchResults): Table | undefined {
  const rows: string[][] = [];
  const find = (slug: string, key: string, backend: string) =>
    r.scenarios.find((s) => s.slug === slug)?.variants.find((v) => v.key === key)?.backends.find((b) => b.backend === backend && !b.failure);
  for (const [ffi, twin] of C_TWINS) {
    for (const src of twinSources()) {
      if (src.twin.measure === "p50") {
        for (const v of r.scenarios.find((s) => s.slug === src.slug)?.variants ?? []) {
          const a = find(src.slug, v.key, ffi), b = find(src.slug, v.key, twin);
          if (a && b) rows.push([`${ffi} / ${twin}`, `${src.number}: p50, ${v.key}`, fmtNum(a.headline), fmtNum(b.headline), (a.headline / b.headline).toFixed(2), "<= 1.05"]);
        }
      } else {
        const a = find(src.slug, src.twin.variant, ffi), b = find(src.slug, src.twin.variant, twin);
        if (a && b) rows.push([`${ffi} / ${twin}`, `${src.number}: msg/s`, fmtRate(a.headline), fmtRate(b.headline), (a.headline / b.headline).toFixed(2), ">= 0.95"]);
      }
    }
  }
  if (!rows.length) return undefined;
  return {
    title: "The Bun + FFI layer: each TypeScript loop against its C twin",
    columns: [{ name: "pair", align: "left" }, { name: "measure", align: "left" }, { name: "FFI loop" }, { name: "C twin" }, { name: "ratio" }, { name: "target" }],
    rows,
    notes: ["Medians over rounds. Same loop, same kernel interface: the ratio is what running it in TypeScript through bun:ffi costs. Latency ratios above 1 and throughput ratios below 1 mean the FFI loop is slower."],
  };
}

/** The ping-pong p50 per backend and size under each placement: how much the cross-core wake-up costs here. */
export function placementEffectTable(r: BenchResults): Table | undefined {
  if (!r.placements || r.placements.length < 2) return undefined;
  const [a, b] = r.placements;
  const src = placementEffectSource();
  const s1a = a.scenarios.find((s) => s.slug === src?.slug), s1b = b.scenarios.find((s) => s.slug === src?.slug);
  if (!src || !s1a || !s1b) return undefined;
  const rows: string[][] = [];
  for (const va of s1a.variants) {
    const vb = s1b.variants.find((v) => v.key === va.key);
    for (const ba of va.backends) {
      const bb = vb?.backends.find((x) => x.backend === ba.backend);
      const pa = ba.pooled?.p50, pb = bb?.pooled?.p50;
      rows.push([va.key, ba.backend, fmtNum(pa), fmtNum(pb), pa && pb ? (pa / pb).toFixed(2) : "n/a"]);
    }
  }
  return {
    title: `Placement effect: scenario ${src.number} p50, ${a.placement.mode} against ${b.placement.mode} (µs)`,
    columns: [{ name: "size", align: "left" }, { name: "backend", align: "left" }, { name: a.placement.mode }, { name: b.placement.mode }, { name: `${a.placement.mode} / ${b.placement.mode}` }],
    rows,
    notes: ["On virtual machines a wake-up across cores can cost more than the rest of the round trip; compare the verdicts of both placements before concluding."],
  };
}
