// The latency distribution SVG: well-formed, one line per backend, small.
import { describe, expect, test } from "bun:test";
import { seededRandom } from "../bench/stats/stats.ts";
import { checkXml } from "./xml-check.ts";
import { COLORS, latencyDistributionSvg, logTicks, percentilePoints, quantilePoints, ratioAxis } from "../bench/report/svg.ts";

function samples(n: number, base: number, seed: number): Float64Array {
  const rnd = seededRandom(seed);
  // A long tail: mostly near base, rarely far above.
  return Float64Array.from({ length: n }, () => base * (1 + rnd()) + (rnd() < 0.01 ? base * 20 * rnd() : 0));
}

describe("latencyDistributionSvg", () => {
  const opts = { baseline: "bun", candidate: "uring" };
  const svg = latencyDistributionSvg([
    { title: "Scenario 1: 100-byte payload", lines: [{ backend: "bun", samplesUs: samples(20000, 30, 1) }, { backend: "uring", samplesUs: samples(20000, 25, 2) }] },
    {
      title: "Scenario 4: open loop <p99 & tail>",
      lines: [
        { backend: "bun", samplesUs: samples(5000, 60, 3) },
        { backend: "a<b>&\"c'", samplesUs: samples(3000, 50, 4) },
        { backend: "empty", samplesUs: new Float64Array(0) },
      ],
    },
  ], opts);

  test("well-formed XML with an svg root", () => {
    expect(checkXml(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  });

  test("each backend named in a legend, text escaped", () => {
    for (const name of ["bun", "uring", "empty (no samples)"]) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain(">a&lt;b&gt;&amp;&quot;c&apos;</text>");
    expect(svg).toContain("Scenario 4: open loop &lt;p99 &amp; tail&gt;");
  });

  test("a polyline per backend with samples, at most 500 points each; percentile ticks and axis labels", () => {
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(" ").length);
    // Distributions: 2 + 2 (the empty line draws none); ratios to bun: uring, a<b>&"c'.
    expect(polylines.length).toBe(6);
    for (const n of polylines) expect(n).toBeLessThanOrEqual(500);
    for (const t of ["0%", "90%", "99%", "99.9%", "99.99%"]) expect(svg).toContain(`>${t}</text>`);
    expect(svg).toContain("latency (µs, log scale)");
    expect(svg).toContain("percentile");
    expect(svg.length).toBeLessThan(60000);
  });

  test("log-scale latency axis: decade ticks equally spaced, labels 1, 10, 100 ...", () => {
    const first = svg.slice(0, svg.indexOf('<g class="ratio">'));
    const ticks = [...first.matchAll(/<text class="ytick" x="[^"]*" y="([^"]*)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ y: Number(m[1]), v: Number(m[2]) }));
    const decades = ticks.filter((t) => Math.log10(t.v) % 1 === 0);
    expect(decades.map((t) => t.v)).toEqual([10, 100, 1000]);
    const gaps = decades.slice(1).map((t, i) => decades[i].y - t.y);
    for (const g of gaps) expect(Math.abs(g - gaps[0])).toBeLessThan(0.2);
    // 2 and 5 between the decades sit at log10(2) and log10(5) of a decade.
    const two = ticks.find((t) => t.v === 20)!;
    expect((decades[0].y - two.y) / gaps[0]).toBeCloseTo(Math.log10(2), 2);
  });

  test("every backend its own colour and dash; the headline pair thick, the rest thin", () => {
    const legend = [...svg.matchAll(/<line x1="[^"]*" y1="[^"]*" x2="[^"]*" y2="[^"]*" stroke="([^"]*)" stroke-width="([^"]*)"(?: stroke-dasharray="([^"]*)")?\/>\s*<text [^>]*>([^<]*)<\/text>/g)].map((m) => ({ name: m[4], color: m[1], width: Number(m[2]), dash: m[3] ?? "" }));
    const byName = new Map(legend.map((l) => [l.name, l]));
    const names = ["bun", "uring", "a&lt;b&gt;&amp;&quot;c&apos;", "empty (no samples)"];
    const styles = names.map((n) => byName.get(n)!);
    expect(new Set(styles.map((s) => s.color)).size).toBe(4);
    expect(new Set(styles.map((s) => s.dash)).size).toBe(4);
    expect(styles.map((s) => s.width)).toEqual([3, 3, 1.4, 1.4]);
    expect(svg).toContain("thick: the headline gate");
    // Ten backends, ten colours: none shares one (bun and tokio were both blue).
    const ten = latencyDistributionSvg([{ title: "t", lines: Array.from({ length: 10 }, (_, i) => ({ backend: `b${i}`, samplesUs: samples(100, 10 + i, i) })) }]);
    expect(new Set([...ten.matchAll(/<polyline fill="none" stroke="([^"]*)"/g)].map((m) => m[1])).size).toBe(10);
    expect(COLORS.length).toBe(10);
  });

  test("markers at p50 (circles) and p99 (squares) on every line with samples", () => {
    expect(svg.match(/class="marker-p50"/g)?.length).toBe(4);
    expect(svg.match(/class="marker-p99"/g)?.length).toBe(4);
  });

  test("a ratio panel per series against the baseline, its axis around 1.00", () => {
    expect(svg.match(/<g class="ratio">/g)?.length).toBe(2);
    const rticks = [...svg.matchAll(/<text class="rtick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(rticks).toContain("1.00");
    expect(svg).toContain("÷ bun at the same percentile (below 1.00: faster)");
    // Without the baseline among the lines there is no ratio panel.
    expect(latencyDistributionSvg([{ title: "t", lines: [{ backend: "x", samplesUs: samples(100, 10, 1) }] }], opts)).not.toContain('class="ratio"');
  });

  test("ratio axis: symmetric on a log scale around 1, a nice bound, one tick between", () => {
    expect(ratioAxis([0.9, 1.3])).toEqual({ lo: 1 / 1.5, hi: 1.5, ticks: [1 / 1.5, 1 / 1.25, 1, 1.25, 1.5] });
    expect(ratioAxis([1.02])).toEqual({ lo: 1 / 1.1, hi: 1.1, ticks: [1 / 1.1, 1, 1.1] });
    expect(ratioAxis([0.3])).toEqual({ lo: 0.2, hi: 5, ticks: [0.2, 0.5, 1, 2, 5] });
  });

  test("log ticks: decades, with 2 and 5 when the range is at most two decades", () => {
    expect(logTicks(12, 850)).toEqual({ min: 10, max: 1000, ticks: [10, 20, 50, 100, 200, 500, 1000] });
    expect(logTicks(3, 25000).ticks).toEqual([1, 10, 100, 1000, 10000, 100000]);
  });

  test("from the results JSON's pooled percentiles: the maximum a decade past p99.9", () => {
    expect(quantilePoints([{ p: 0, us: 5 }, { p: 0.5, us: 10 }, { p: 0.999, us: 40 }, { p: 1, us: 90 }])).toEqual([
      { x: 0, y: 5 },
      { x: Math.log10(1 / (1 - 0.5)), y: 10 },
      { x: Math.log10(1 / (1 - 0.999)), y: 40 },
      { x: Math.log10(1 / (1 - 0.999)) + 1, y: 90 },
    ]);
  });

  test("no series: still a valid document", () => {
    expect(checkXml(latencyDistributionSvg([]))).toEqual([]);
  });
});

describe("percentilePoints", () => {
  test("starts at the minimum (x = 0), ends at the maximum (x = log10 n), y never falls", () => {
    const xs = Float64Array.from({ length: 10000 }, (_, i) => 10000 - i);
    const pts = percentilePoints(xs);
    expect(pts.length).toBeLessThanOrEqual(500);
    expect(pts[0]).toEqual({ x: 0, y: 1 });
    expect(pts[pts.length - 1]).toEqual({ x: 4, y: 10000 });
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i].x).toBeGreaterThan(pts[i - 1].x);
      expect(pts[i].y).toBeGreaterThanOrEqual(pts[i - 1].y);
    }
    // The 99th percentile sits at x = 2.
    const p99 = pts.find((p) => Math.abs(p.x - 2) < 1e-9);
    if (p99) expect(p99.y).toBe(9901);
  });
  test("small and empty inputs, non-finite samples ignored", () => {
    expect(percentilePoints(new Float64Array(0))).toEqual([]);
    expect(percentilePoints(Float64Array.from([5, NaN, 3]))).toEqual([{ x: 0, y: 3 }, { x: Math.log10(2), y: 5 }]);
  });
});
