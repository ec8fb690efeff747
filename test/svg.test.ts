// The latency distribution SVG: well-formed, one line per backend, small.
import { describe, expect, test } from "bun:test";
import { seededRandom } from "../bench/measure/stats.ts";
import { latencyDistributionSvg, percentilePoints } from "../bench/report/svg.ts";

/** A small XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function checkXml(xml: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) problems.push(`unescaped & in ${JSON.stringify(text)}`);
    if (text.includes(">")) problems.push(`stray > in ${JSON.stringify(text)}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) {
      problems.push(`malformed tag at ${lt}: ${xml.slice(lt, lt + 40)}`);
      break;
    }
    const [, close, name, , self] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    i = lt + m[0].length;
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(", ")}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

function samples(n: number, base: number, seed: number): Float64Array {
  const rnd = seededRandom(seed);
  // A long tail: mostly near base, rarely far above.
  return Float64Array.from({ length: n }, () => base * (1 + rnd()) + (rnd() < 0.01 ? base * 20 * rnd() : 0));
}

describe("latencyDistributionSvg", () => {
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
  ]);

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
    expect(polylines.length).toBe(4);
    for (const n of polylines) expect(n).toBeLessThanOrEqual(500);
    for (const t of ["0%", "90%", "99%", "99.9%", "99.99%"]) expect(svg).toContain(`>${t}</text>`);
    expect(svg).toContain("latency (µs)");
    expect(svg).toContain("percentile");
    expect(svg.length).toBeLessThan(60000);
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
