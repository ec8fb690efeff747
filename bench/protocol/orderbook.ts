// The order workload's matching engine: validation of a NewOrderRequest, one
// price-time priority book per symbol, and the JSON answer. No I/O, so every
// backend (and the client's checker) runs exactly the same logic.
//
// Input decisions:
// - `id` is a non-empty string or a safe integer. 7 and "7" are different ids;
//   integers must be safe so that they survive a JSON round trip unchanged.
// - `qty` is a positive safe integer (a count of units, not a fraction): fills
//   then subtract exactly, so "filled" means the trade quantities sum to qty
//   with no floating-point remainder left resting forever.
// - `price` is a positive finite number, required for limit orders and absent
//   or null for market orders. Prices are compared as given (no tick rounding).
// - Unknown extra fields are ignored.

export type OrderId = string | number;
export type Side = "buy" | "sell";
export type OrderType = "limit" | "market";
export type OrderStatus = "accepted" | "partially_filled" | "filled" | "rejected";

export interface NewOrder {
  id: OrderId;
  symbol: string;
  side: Side;
  type: OrderType;
  /** null for market orders. */
  price: number | null;
  qty: number;
}

export interface Trade {
  /** The resting order; the trade executes at its price. */
  maker: OrderId;
  /** The incoming order. */
  taker: OrderId;
  price: number;
  qty: number;
}

export interface OrderResult {
  /** null when the request's id could not be read. */
  id: OrderId | null;
  status: OrderStatus;
  trades: Trade[];
  reason?: string;
}

export type Validation = { ok: true; order: NewOrder } | { ok: false; id: OrderId | null; reason: string };

export const REASON_DUPLICATE_ID = "duplicate id";
export const REASON_NO_LIQUIDITY = "no liquidity";

export function isOrderId(x: unknown): x is OrderId {
  return (typeof x === "string" && x.length > 0) || Number.isSafeInteger(x);
}

function isPositiveFinite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x > 0;
}

export function isValidQty(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) > 0;
}

export function validateOrder(x: unknown): Validation {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return { ok: false, id: null, reason: "request must be a JSON object" };
  const r = x as Record<string, unknown>;
  const rawId = r.id;
  if (rawId === undefined) return { ok: false, id: null, reason: "missing field id" };
  if (!isOrderId(rawId)) return { ok: false, id: null, reason: "id must be a non-empty string or a safe integer" };
  const id = rawId;
  const fail = (reason: string): Validation => ({ ok: false, id, reason });
  const { symbol, side, type, price, qty } = r;
  if (symbol === undefined) return fail("missing field symbol");
  if (typeof symbol !== "string" || symbol.length === 0) return fail("symbol must be a non-empty string");
  if (side === undefined) return fail("missing field side");
  if (side !== "buy" && side !== "sell") return fail('side must be "buy" or "sell"');
  if (type === undefined) return fail("missing field type");
  if (type !== "limit" && type !== "market") return fail('type must be "limit" or "market"');
  if (qty === undefined) return fail("missing field qty");
  if (!isValidQty(qty)) return fail("qty must be a positive integer");
  if (type === "limit") {
    if (price === undefined || price === null) return fail("limit order requires price");
    if (!isPositiveFinite(price)) return fail("price must be a positive finite number");
    return { ok: true, order: { id, symbol, side, type, price, qty } };
  }
  if (price !== undefined && price !== null) return fail("market order must not have a price");
  return { ok: true, order: { id, symbol, side, type, price: null, qty } };
}

// fatal: a payload that is not UTF-8 is refused rather than silently mended
// with U+FFFD, which could turn garbage into a valid-looking symbol.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes and validates the JSON request at bytes[off..off+len) (the payload, no frame header). */
export function parseOrder(bytes: Uint8Array, off: number, len: number): Validation {
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(off, off + len));
  } catch {
    return { ok: false, id: null, reason: "invalid JSON: payload is not valid UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, id: null, reason: `invalid JSON: ${(e as Error).message}` };
  }
  return validateOrder(value);
}

export function rejection(id: OrderId | null, reason: string): OrderResult {
  return { id, status: "rejected", trades: [], reason };
}

interface RestingOrder {
  readonly id: OrderId;
  remaining: number;
}

/** Orders resting at one price, oldest first. */
class PriceLevel {
  /** Consumed entries before `head` are dropped in batches, so a fill never shifts the array. */
  orders: RestingOrder[] = [];
  head = 0;
  totalQty = 0;
  constructor(readonly price: number) {}

  get isEmpty(): boolean {
    return this.head === this.orders.length;
  }
  get front(): RestingOrder {
    return this.orders[this.head];
  }
  push(o: RestingOrder): void {
    this.orders.push(o);
    this.totalQty += o.remaining;
  }
  popFront(): void {
    this.head++;
    if (this.head >= 64 && this.head * 2 >= this.orders.length) {
      this.orders = this.orders.slice(this.head);
      this.head = 0;
    }
  }
  *live(): IterableIterator<RestingOrder> {
    for (let i = this.head; i < this.orders.length; i++) yield this.orders[i];
  }
}

/**
 * One side of a book. Levels are kept sorted so that the best one is last:
 * taking the best level (the common case when a level is exhausted) is a pop,
 * not a shift. Sorting is by key = price * sign, ascending, so one binary
 * search serves both sides (bids: sign 1, best = highest; asks: sign -1, best = lowest).
 */
class BookSide {
  readonly levels: PriceLevel[] = [];
  constructor(readonly sign: 1 | -1) {}

  get best(): PriceLevel | undefined {
    return this.levels[this.levels.length - 1];
  }
  removeBest(): void {
    this.levels.pop();
  }
  /** The level at `price`, created in order if absent. */
  levelAt(price: number): PriceLevel {
    const levels = this.levels;
    const key = price * this.sign;
    // The newest price is most often at or near the top of the book.
    const top = levels[levels.length - 1];
    if (top === undefined || top.price * this.sign < key) {
      const level = new PriceLevel(price);
      levels.push(level);
      return level;
    }
    if (top.price === price) return top;
    let lo = 0;
    let hi = levels.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (levels[mid].price * this.sign < key) lo = mid + 1;
      else hi = mid;
    }
    if (levels[lo].price === price) return levels[lo];
    const level = new PriceLevel(price);
    levels.splice(lo, 0, level);
    return level;
  }
}

export interface DepthLevel {
  price: number;
  qty: number;
  /** Resting order ids at this price, oldest first. */
  orders: OrderId[];
}

/** One symbol's limit order book with price-time priority. */
export class OrderBook {
  readonly bids = new BookSide(1);
  readonly asks = new BookSide(-1);
  /** Ids resting in this book: a new order with one of them is refused. */
  readonly #restingIds = new Set<OrderId>();

  constructor(readonly symbol: string) {}

  /** Matches a validated order of this book's symbol and rests a limit remainder. */
  submit(order: NewOrder): OrderResult {
    if (this.#restingIds.has(order.id)) return rejection(order.id, REASON_DUPLICATE_ID);
    const isBuy = order.side === "buy";
    const opposite = isBuy ? this.asks : this.bids;
    const isMarket = order.type === "market";
    if (isMarket && opposite.best === undefined) return rejection(order.id, REASON_NO_LIQUIDITY);

    const trades: Trade[] = [];
    let remaining = order.qty;
    const limit = order.price as number;
    for (let level = opposite.best; level !== undefined && remaining > 0; level = opposite.best) {
      if (!isMarket && (isBuy ? level.price > limit : level.price < limit)) break;
      while (remaining > 0 && !level.isEmpty) {
        const maker = level.front;
        const q = maker.remaining < remaining ? maker.remaining : remaining;
        trades.push({ maker: maker.id, taker: order.id, price: level.price, qty: q });
        maker.remaining -= q;
        level.totalQty -= q;
        remaining -= q;
        if (maker.remaining === 0) {
          level.popFront();
          this.#restingIds.delete(maker.id);
        }
      }
      if (level.isEmpty) opposite.removeBest();
    }

    if (remaining > 0 && !isMarket) {
      (isBuy ? this.bids : this.asks).levelAt(limit).push({ id: order.id, remaining });
      this.#restingIds.add(order.id);
    }
    const status: OrderStatus = remaining === 0 ? "filled" : trades.length > 0 ? "partially_filled" : "accepted";
    return { id: order.id, status, trades };
  }

  hasResting(id: OrderId): boolean {
    return this.#restingIds.has(id);
  }
  get restingCount(): number {
    return this.#restingIds.size;
  }
  bestBid(): number | undefined {
    return this.bids.best?.price;
  }
  bestAsk(): number | undefined {
    return this.asks.best?.price;
  }
  /** The side's levels, best first (a copy, for inspection and tests). */
  depth(side: Side): DepthLevel[] {
    const levels = (side === "buy" ? this.bids : this.asks).levels;
    const out: DepthLevel[] = [];
    for (let i = levels.length - 1; i >= 0; i--) {
      const l = levels[i];
      out.push({ price: l.price, qty: l.totalQty, orders: [...l.live()].map((o) => o.id) });
    }
    return out;
  }
}

/** Every symbol's book; one per server. */
export class MatchingEngine {
  readonly #books = new Map<string, OrderBook>();

  book(symbol: string): OrderBook | undefined {
    return this.#books.get(symbol);
  }
  get symbols(): string[] {
    return [...this.#books.keys()];
  }

  submit(order: NewOrder): OrderResult {
    let book = this.#books.get(order.symbol);
    if (book === undefined) {
      // A market order cannot fill against a book that does not exist; refusing
      // it here also keeps rejected orders from creating books.
      if (order.type === "market") return rejection(order.id, REASON_NO_LIQUIDITY);
      book = new OrderBook(order.symbol);
      this.#books.set(order.symbol, book);
    }
    return book.submit(order);
  }

  /** Parses, validates and executes the request payload at bytes[off..off+len). Never throws on bad input. */
  submitPayload(bytes: Uint8Array, off: number, len: number): OrderResult {
    const v = parseOrder(bytes, off, len);
    return v.ok ? this.submit(v.order) : rejection(v.id, v.reason);
  }
}

/**
 * The answer as JSON: {"id","status","trades":[{"maker","taker","price","qty"}],"reason"?}.
 * Results are built only by this module, with their keys in that order and
 * `reason` only on rejections, so JSON.stringify yields exactly this shape (and
 * measured no slower than assembling the string by hand).
 */
export function serializeResult(r: OrderResult): string {
  return JSON.stringify(r);
}
