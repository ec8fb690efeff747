// The benchmark client's side of the order workload: a deterministic request
// stream and a checker for the answers.
import { validateOrder, isOrderId, type OrderId } from "../protocol/orderbook.ts";

export const DEFAULT_SYMBOL = "ACME";
/** Prices are whole cents around 100.00. */
const MID_CENTS = 10_000;

/** A 32-bit integer hash (lowbias32): cheap, well mixed, and the same on every run. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

const utf8 = new TextEncoder();

/**
 * Request i of the stream (its id is i, so i must be unique within a run and
 * a safe integer). Even i buy, odd i sell; about one in ten is a market order.
 * Orders 2k and 2k+1 share a qty (1..10), so buy and sell volume balance.
 * Buy limits are 99.98..100.03 and sell limits 99.97..100.02: the ranges
 * overlap enough that about half the orders trade (some partially, some
 * sweeping levels) and the rest rest, while every resting price can still be
 * crossed, so the book stays a few orders deep over millions of requests
 * instead of growing (which would change the cost per request during a run).
 */
export function makeOrderPayload(i: number, symbol: string = DEFAULT_SYMBOL): Uint8Array {
  const h = mix32(i + 0x9e3779b9);
  const isBuy = (i & 1) === 0;
  const qty = 1 + (mix32(Math.floor(i / 2) ^ 0x5bd1e995) % 10);
  const isMarket = h % 10 === 0;
  const offsetCents = -2 + ((h >>> 8) % 6);
  const side = isBuy ? "buy" : "sell";
  const sym = JSON.stringify(symbol);
  const json = isMarket
    ? `{"id":${i},"symbol":${sym},"side":"${side}","type":"market","qty":${qty}}`
    : `{"id":${i},"symbol":${sym},"side":"${side}","type":"limit","price":${(MID_CENTS + (isBuy ? offsetCents : -offsetCents)) / 100},"qty":${qty}}`;
  return utf8.encode(json);
}

const STATUSES = new Set(["accepted", "partially_filled", "filled", "rejected"]);
const utf8Decoder = new TextDecoder();

function show(x: unknown): string {
  return JSON.stringify(x) ?? String(x);
}

/**
 * Null when `response` (a payload) is a well-formed answer to `request` (a
 * payload); otherwise what is wrong. A request the engine must refuse (bad
 * JSON, bad fields) must be answered "rejected" with the id it carried (null if
 * unreadable); a valid one may be answered with any status consistent with it.
 */
export function checkOrderResponse(request: Uint8Array, response: Uint8Array): string | null {
  let expectedId: OrderId | null = null;
  let reqQty: number | null = null;
  let reqSide: string | null = null;
  let reqLimit: number | null = null;
  let mustReject = false;
  try {
    const v = validateOrder(JSON.parse(utf8Decoder.decode(request)));
    if (v.ok) {
      expectedId = v.order.id;
      reqQty = v.order.qty;
      reqSide = v.order.side;
      reqLimit = v.order.price;
    } else {
      expectedId = v.id;
      mustReject = true;
    }
  } catch {
    mustReject = true;
  }

  let r: unknown;
  try {
    r = JSON.parse(utf8Decoder.decode(response));
  } catch (e) {
    return `response is not JSON: ${(e as Error).message}`;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return `response is not a JSON object: ${show(r)}`;
  const res = r as Record<string, unknown>;
  if (res.id !== expectedId) return `id ${show(res.id)} does not match the request's ${show(expectedId)}`;
  if (typeof res.status !== "string" || !STATUSES.has(res.status)) return `invalid status ${show(res.status)}`;
  const status = res.status;
  if (!Array.isArray(res.trades)) return `trades is not an array: ${show(res.trades)}`;
  const trades = res.trades as unknown[];
  if (res.reason !== undefined && typeof res.reason !== "string") return `reason is not a string: ${show(res.reason)}`;
  if (status === "rejected") {
    if (typeof res.reason !== "string") return "rejected without a reason";
    if (trades.length > 0) return `rejected with ${trades.length} trades`;
    return null;
  }
  if (mustReject) return `invalid request answered ${status}, expected rejected`;

  let filled = 0;
  for (let k = 0; k < trades.length; k++) {
    const t = trades[k] as Record<string, unknown>;
    if (typeof t !== "object" || t === null) return `trade ${k} is not an object: ${show(t)}`;
    if (t.taker !== expectedId) return `trade ${k} taker ${show(t.taker)} is not the request id ${show(expectedId)}`;
    if (!isOrderId(t.maker)) return `trade ${k} maker ${show(t.maker)} is not a valid id`;
    if (t.maker === t.taker) return `trade ${k} matches the order with itself`;
    const price = t.price;
    if (typeof price !== "number" || !Number.isFinite(price) || price <= 0) return `trade ${k} price ${show(price)} is not positive`;
    if (typeof t.qty !== "number" || !Number.isFinite(t.qty) || t.qty <= 0) return `trade ${k} qty ${show(t.qty)} is not positive`;
    if (reqLimit !== null && (reqSide === "buy" ? price > reqLimit : price < reqLimit)) {
      return `trade ${k} at ${price} is worse than the ${reqSide} limit ${reqLimit}`;
    }
    filled += t.qty;
  }
  const qty = reqQty as number;
  if (filled > qty) return `trades total ${filled}, more than the requested qty ${qty}`;
  if (status === "filled" && filled !== qty) return `filled but trades total ${filled} of ${qty}`;
  if (status === "partially_filled" && (filled === 0 || filled === qty)) return `partially_filled but trades total ${filled} of ${qty}`;
  if (status === "accepted" && trades.length > 0) return `accepted with ${trades.length} trades`;
  return null;
}
