// Many idle connections and a few active ones, per backend: the active
// connections' ping-pong latency alone (before and after), then with `idle`
// more connections open (each has sent one request, so the server has taken it in as a real
// client's), and what the idle ones cost the server in memory. A server that
// keeps a buffer or an armed receive per connection shows it here.
import { CLoadClient } from "../clients/c-load.ts";
import { addErrors, noErrors } from "../results/errors.ts";
import { resourcesOnceFdsAtMost, resourceSnapshot } from "../measure/accounting.ts";
import { seededRandom, summarize } from "../stats/stats.ts";
import type { IdleResult } from "../results/schema.ts";
import { shuffled } from "./rounds.ts";
import type { SweepContext } from "./sweep-context.ts";

export interface IdlePlan {
  idle: number;
  active: number;
  /** Measured ping-pong time of the active connections, ms (each phase). */
  durationMs: number;
}

const PAYLOAD = 32;
/** The idle connections' one request each is spread over this long, so the server takes them in as arrivals, not as one burst. */
const SPREAD_MS = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runIdle(plan: IdlePlan, ctx: SweepContext): Promise<IdleResult[]> {
  const out: IdleResult[] = [];
  const rnd = seededRandom(ctx.seed * 104729 + 3);
  for (const backend of shuffled(ctx.backends, rnd)) {
    const res: IdleResult = { backend, idle: plan.idle, active: plan.active, bytes_per_conn: null, rss_before_kib: null, rss_after_kib: null, fds: { before: null, open: null, after: null }, alone: null, with_idle: null, errors: noErrors() };
    out.push(res);
    const server = ctx.servers.get(backend);
    if (!server || server.exited) {
      res.failure = "server not running";
      continue;
    }
    ctx.focus([server]);
    ctx.progress.unit("idle connections", 1, backend);
    const snap = () => (server.pid > 0 ? resourceSnapshot(server.pid) : null);
    const samples = (lc: CLoadClient, ms: number) => {
      const r = lc.closed(PAYLOAD, 1, 20, ms);
      addErrors(res.errors, r.errors);
      return r.latencyNs;
    };
    const figures = (ns: Float64Array) => {
      const s = summarize(ns, 1e-3);
      return s.n ? { p50_us: s.p50, p99_us: s.p99 } : null;
    };
    try {
      // The run before this one has just closed its connections: wait until the server has seen every close.
      let before = snap();
      for (let i = 0; i < 50 && before; i++) {
        await sleep(20);
        const again = snap();
        if (!again || again.fds >= before.fds) break;
        before = again;
      }
      res.rss_before_kib = before?.rssKiB ?? null;
      res.fds.before = before?.fds ?? null;
      {
        using active = new CLoadClient(server, plan.active, PAYLOAD, 1, 5000);
        // Alone before and after the idle connections (half the time each), so drift over the
        // measurement does not pass for the idle connections' effect.
        const aloneBefore = samples(active, plan.durationMs / 2);
        {
          using idle = new CLoadClient(server, plan.idle, PAYLOAD, 1, 10000);
          // One request per idle connection: the open loop sends request i on connection i mod idle.
          const r = idle.open(PAYLOAD, plan.idle / (SPREAD_MS / 1000), 0, SPREAD_MS);
          addErrors(res.errors, r.errors);
          if (r.completed < plan.idle) res.failure = `${r.completed} of ${plan.idle} idle connections answered`;
          const open = snap();
          res.rss_after_kib = open?.rssKiB ?? null;
          res.fds.open = open?.fds ?? null;
          if (before && open) res.bytes_per_conn = ((open.rssKiB - before.rssKiB) * 1024) / plan.idle;
          res.with_idle = figures(samples(active, plan.durationMs));
        }
        const aloneAfter = samples(active, plan.durationMs / 2);
        const both = new Float64Array(aloneBefore.length + aloneAfter.length);
        both.set(aloneBefore);
        both.set(aloneAfter, aloneBefore.length);
        res.alone = figures(both);
      }
      // The server sees the closes asynchronously: wait for its descriptors to come back.
      res.fds.after = server.pid > 0 ? ((await resourcesOnceFdsAtMost(server.pid, res.fds.before, 100))?.fds ?? null) : null;
    } catch (e) {
      res.failure = (e as Error).message;
      ctx.log(`idle connections: ${backend}: ${(e as Error).message}`);
    }
  }
  ctx.focus(undefined);
  return out.sort((a, b) => ctx.backends.indexOf(a.backend) - ctx.backends.indexOf(b.backend));
}
