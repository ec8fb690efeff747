//! The order workload (`--mode order`), answer for answer the same as
//! bench/protocol/orderbook.ts: validation of a NewOrderRequest, one
//! price-time priority book per symbol, and the JSON answer
//! `{"id","status","trades":[{"maker","taker","price","qty"}],"reason"?}`
//! with the bytes JavaScript's JSON.stringify would produce.
//!
//! serde_json checks the syntax and walks the object (as `RawValue`s, so a
//! value is only looked at when it is one of the six fields). Field values are
//! then read the way JavaScript sees them:
//! - numbers are f64, parsed from their text by Rust's correctly rounded
//!   parser (as JSON.parse does; 1e400 is Infinity, not an error);
//! - strings are JavaScript strings, kept as WTF-8 bytes: a lone surrogate
//!   escape (`"\ud800"`) is a valid string, as in JavaScript, and is written
//!   back as the same escape. Equal strings have equal bytes.
//! Only the text after `invalid JSON: ` differs from the TypeScript servers:
//! it is serde_json's error message rather than JavaScriptCore's.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::Write;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

const REASON_DUPLICATE_ID: &str = "duplicate id";
const REASON_NO_LIQUIDITY: &str = "no liquidity";
/// Number.MAX_SAFE_INTEGER.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// An order id: a non-empty string (WTF-8) or a safe integer. 7 and "7" differ; -0 is 0.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Id {
    Num(i64),
    Str(Vec<u8>),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Buy,
    Sell,
}

#[derive(Debug)]
struct NewOrder {
    id: Id,
    symbol: Vec<u8>,
    side: Side,
    /// None for a market order.
    price: Option<f64>,
    qty: u64,
}

struct Trade {
    maker: Id,
    price: f64,
    qty: u64,
}

/// What the engine answers; `reason` is set only on rejections.
pub struct OrderResult {
    id: Option<Id>,
    status: &'static str,
    trades: Vec<Trade>,
    reason: Option<Cow<'static, str>>,
}

impl OrderResult {
    pub fn is_rejected(&self) -> bool {
        self.status == "rejected"
    }
}

fn rejection(id: Option<Id>, reason: impl Into<Cow<'static, str>>) -> OrderResult {
    OrderResult { id, status: "rejected", trades: Vec::new(), reason: Some(reason.into()) }
}

// --- reading the request ---

/// A field's value as JavaScript sees it.
enum JsValue {
    Str(Vec<u8>),
    Num(f64),
    Null,
    /// true, false, an array or an object: none of them is a valid field value.
    Other,
}

/// Decodes a JSON string token (quotes included, syntax already checked by
/// serde_json) into WTF-8: escapes of UTF-16 surrogate pairs become the
/// character, lone surrogates their 3-byte generalized UTF-8 form.
fn decode_string(token: &str) -> Vec<u8> {
    let b = &token.as_bytes()[1..token.len() - 1];
    if !b.contains(&b'\\') {
        return b.to_vec();
    }
    let hex4 = |i: usize| -> u32 { u32::from_str_radix(std::str::from_utf8(&b[i..i + 4]).unwrap_or("0"), 16).unwrap_or(0) };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = b[i + 1];
        i += 2;
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        // \uXXXX
        let mut cp = hex4(i);
        i += 4;
        if (0xD800..0xDC00).contains(&cp) && i + 6 <= b.len() && b[i] == b'\\' && b[i + 1] == b'u' {
            let lo = hex4(i + 2);
            if (0xDC00..0xE000).contains(&lo) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
        }
        push_code_point(&mut out, cp);
    }
    out
}

/// UTF-8 encoding of any code point, surrogates included (WTF-8).
fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[0xE0 | (cp >> 12) as u8, 0x80 | ((cp >> 6) & 0x3F) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else {
        out.extend_from_slice(&[0xF0 | (cp >> 18) as u8, 0x80 | ((cp >> 12) & 0x3F) as u8, 0x80 | ((cp >> 6) & 0x3F) as u8, 0x80 | (cp & 0x3F) as u8]);
    }
}

fn js_value(raw: &RawValue) -> JsValue {
    let t = raw.get();
    match t.as_bytes().first() {
        Some(b'"') => JsValue::Str(decode_string(t)),
        // serde_json checked the number's syntax; every JSON number is a Rust float literal.
        Some(b'-') | Some(b'0'..=b'9') => JsValue::Num(t.parse::<f64>().unwrap_or(f64::NAN)),
        Some(b'n') => JsValue::Null,
        _ => JsValue::Other,
    }
}

/// The request object's fields that matter (the last one wins when a key repeats, as in JSON.parse).
#[derive(Default)]
struct Fields<'a> {
    id: Option<&'a RawValue>,
    symbol: Option<&'a RawValue>,
    side: Option<&'a RawValue>,
    typ: Option<&'a RawValue>,
    price: Option<&'a RawValue>,
    qty: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'a>, M::Error> {
                let mut fields = Fields::default();
                // Keys as raw tokens too: a key with a lone surrogate is a valid key in JavaScript.
                while let Some(key) = map.next_key::<&'de RawValue>()? {
                    let k = key.get();
                    let name: Cow<[u8]> = if k.contains('\\') { Cow::Owned(decode_string(k)) } else { Cow::Borrowed(&k.as_bytes()[1..k.len() - 1]) };
                    let slot = match &*name {
                        b"id" => &mut fields.id,
                        b"symbol" => &mut fields.symbol,
                        b"side" => &mut fields.side,
                        b"type" => &mut fields.typ,
                        b"price" => &mut fields.price,
                        b"qty" => &mut fields.qty,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value::<&'de RawValue>()?);
                }
                Ok(fields)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

fn is_safe_integer(x: f64) -> bool {
    x.is_finite() && x.trunc() == x && x.abs() <= MAX_SAFE
}

/// validateOrder's checks, in its order, with its reasons.
fn validate(f: &Fields) -> Result<NewOrder, (Option<Id>, &'static str)> {
    let id = match f.id.map(js_value) {
        None => return Err((None, "missing field id")),
        Some(JsValue::Str(s)) if !s.is_empty() => Id::Str(s),
        // `as` turns -0 into 0: JavaScript's Set and JSON.stringify do not tell them apart either.
        Some(JsValue::Num(n)) if is_safe_integer(n) => Id::Num(n as i64),
        Some(_) => return Err((None, "id must be a non-empty string or a safe integer")),
    };
    let symbol = match f.symbol.map(js_value) {
        None => return Err((Some(id), "missing field symbol")),
        Some(JsValue::Str(s)) if !s.is_empty() => s,
        Some(_) => return Err((Some(id), "symbol must be a non-empty string")),
    };
    let side = match f.side.map(js_value) {
        None => return Err((Some(id), "missing field side")),
        Some(JsValue::Str(s)) if s == b"buy" => Side::Buy,
        Some(JsValue::Str(s)) if s == b"sell" => Side::Sell,
        Some(_) => return Err((Some(id), "side must be \"buy\" or \"sell\"")),
    };
    let is_limit = match f.typ.map(js_value) {
        None => return Err((Some(id), "missing field type")),
        Some(JsValue::Str(s)) if s == b"limit" => true,
        Some(JsValue::Str(s)) if s == b"market" => false,
        Some(_) => return Err((Some(id), "type must be \"limit\" or \"market\"")),
    };
    let qty = match f.qty.map(js_value) {
        None => return Err((Some(id), "missing field qty")),
        Some(JsValue::Num(n)) if is_safe_integer(n) && n > 0.0 => n as u64,
        Some(_) => return Err((Some(id), "qty must be a positive integer")),
    };
    let price = f.price.map(js_value);
    if is_limit {
        let p = match price {
            None | Some(JsValue::Null) => return Err((Some(id), "limit order requires price")),
            Some(JsValue::Num(p)) if p.is_finite() && p > 0.0 => p,
            Some(_) => return Err((Some(id), "price must be a positive finite number")),
        };
        Ok(NewOrder { id, symbol, side, price: Some(p), qty })
    } else {
        match price {
            None | Some(JsValue::Null) => Ok(NewOrder { id, symbol, side, price: None, qty }),
            Some(_) => Err((Some(id), "market order must not have a price")),
        }
    }
}

/// parseOrder: UTF-8 (fatal, a leading BOM dropped as TextDecoder does), JSON, then validateOrder.
fn parse_order(payload: &[u8]) -> Result<NewOrder, (Option<Id>, Cow<'static, str>)> {
    let text = match std::str::from_utf8(payload) {
        Ok(t) => t,
        Err(_) => return Err((None, Cow::Borrowed("invalid JSON: payload is not valid UTF-8"))),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw: &RawValue = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err((None, Cow::Owned(format!("invalid JSON: {}", e)))),
    };
    if !raw.get().starts_with('{') {
        return Err((None, Cow::Borrowed("request must be a JSON object")));
    }
    let fields: Fields = match serde_json::from_str(raw.get()) {
        Ok(f) => f,
        Err(e) => return Err((None, Cow::Owned(format!("invalid JSON: {}", e)))),
    };
    validate(&fields).map_err(|(id, reason)| (id, Cow::Borrowed(reason)))
}

// --- matching ---

struct Resting {
    id: Id,
    remaining: u64,
}

/// Price levels keyed by the price's bits: for positive finite f64 the bit
/// patterns sort as the numbers do, and equal bits are equal prices.
type Levels = BTreeMap<u64, VecDeque<Resting>>;

#[derive(Default)]
struct OrderBook {
    bids: Levels,
    asks: Levels,
    resting: HashSet<Id>,
}

impl OrderBook {
    fn submit(&mut self, o: NewOrder) -> OrderResult {
        if self.resting.contains(&o.id) {
            return rejection(Some(o.id), REASON_DUPLICATE_ID);
        }
        let is_buy = o.side == Side::Buy;
        let OrderBook { bids, asks, resting } = self;
        let (opposite, own) = if is_buy { (asks, bids) } else { (bids, asks) };
        if o.price.is_none() && opposite.is_empty() {
            return rejection(Some(o.id), REASON_NO_LIQUIDITY);
        }
        let mut trades = Vec::new();
        let mut remaining = o.qty;
        while remaining > 0 {
            // Best level: the lowest ask for a buy, the highest bid for a sell.
            let best = if is_buy { opposite.keys().next() } else { opposite.keys().next_back() };
            let key = match best {
                Some(k) => *k,
                None => break,
            };
            let price = f64::from_bits(key);
            if let Some(limit) = o.price {
                if if is_buy { price > limit } else { price < limit } {
                    break;
                }
            }
            let level = opposite.get_mut(&key).expect("level present");
            while remaining > 0 {
                let maker = match level.front_mut() {
                    Some(m) => m,
                    None => break,
                };
                let q = maker.remaining.min(remaining);
                maker.remaining -= q;
                remaining -= q;
                trades.push(Trade { maker: maker.id.clone(), price, qty: q });
                if maker.remaining == 0 {
                    let gone = level.pop_front().expect("front present");
                    resting.remove(&gone.id);
                }
            }
            if level.is_empty() {
                opposite.remove(&key);
            }
        }
        if remaining > 0 {
            if let Some(limit) = o.price {
                own.entry(limit.to_bits()).or_insert_with(VecDeque::new).push_back(Resting { id: o.id.clone(), remaining });
                resting.insert(o.id.clone());
            }
        }
        let status = if remaining == 0 {
            "filled"
        } else if !trades.is_empty() {
            "partially_filled"
        } else {
            "accepted"
        };
        OrderResult { id: Some(o.id), status, trades, reason: None }
    }
}

/// Every symbol's book; one per server, shared by its connections.
#[derive(Default)]
pub struct MatchingEngine {
    books: HashMap<Vec<u8>, OrderBook>,
}

impl MatchingEngine {
    fn submit(&mut self, o: NewOrder) -> OrderResult {
        if !self.books.contains_key(&o.symbol) {
            // A market order cannot fill against a book that does not exist; a rejected order creates no book.
            if o.price.is_none() {
                return rejection(Some(o.id), REASON_NO_LIQUIDITY);
            }
            self.books.insert(o.symbol.clone(), OrderBook::default());
        }
        self.books.get_mut(&o.symbol).expect("book present").submit(o)
    }

    /// Parses, validates and executes one request payload. Never panics on bad input.
    pub fn submit_payload(&mut self, payload: &[u8]) -> OrderResult {
        match parse_order(payload) {
            Ok(o) => self.submit(o),
            Err((id, reason)) => rejection(id, reason),
        }
    }
}

// --- the answer, as JSON.stringify writes it ---

/// A JavaScript string (WTF-8) as JSON.stringify quotes it: `"` `\` and
/// control characters escaped (short forms where JSON has them, else \u00xx),
/// lone surrogates as \udxxx, everything else as is.
fn write_js_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=0x1F => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
            // A surrogate (WTF-8: ED A0..BF xx), necessarily lone.
            0xED if i + 2 < s.len() && s[i + 1] >= 0xA0 => {
                let cp = ((c as u32 & 0x0F) << 12) | ((s[i + 1] as u32 & 0x3F) << 6) | (s[i + 2] as u32 & 0x3F);
                out.extend_from_slice(b"\\u");
                for shift in [12u32, 8, 4, 0] {
                    out.push(HEX[((cp >> shift) & 15) as usize]);
                }
                i += 3;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out.push(b'"');
}

/// A finite number as JavaScript's Number::toString (and so JSON.stringify)
/// writes it: the shortest digits that round-trip, as plain decimals from
/// 1e-7 up to 1e21 (100, 101.5, 0.000001), else in exponent form (1e+21, 1e-7).
pub fn write_js_number(out: &mut Vec<u8>, x: f64) {
    if x == 0.0 {
        out.push(b'0'); // -0 too
        return;
    }
    if x < 0.0 {
        out.push(b'-');
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.015e2", "5e-1".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_at(sci.find('e').expect("exponent"));
    let exp: i32 = exp[1..].parse().expect("exponent digits");
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    let k = digits.len() as i32;
    let n = exp + 1; // the decimal point's position after the first n digits
    if k <= n && n <= 21 {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat(b'0').take((n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat(b'0').take((-n) as usize));
        out.extend_from_slice(&digits);
    } else {
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e >= 0 { '+' } else { '-' }, e.abs());
    }
}

fn write_id(out: &mut Vec<u8>, id: &Id) {
    match id {
        Id::Num(n) => {
            let _ = write!(out, "{}", n);
        }
        Id::Str(s) => write_js_string(out, s),
    }
}

/// serializeResult: `{"id","status","trades":[{"maker","taker","price","qty"}],"reason"?}`.
pub fn write_result(out: &mut Vec<u8>, r: &OrderResult) {
    out.extend_from_slice(b"{\"id\":");
    match &r.id {
        Some(id) => write_id(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(r.status.as_bytes());
    out.extend_from_slice(b"\",\"trades\":[");
    for (k, t) in r.trades.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"maker\":");
        write_id(out, &t.maker);
        out.extend_from_slice(b",\"taker\":");
        write_id(out, r.id.as_ref().expect("a result with trades has an id"));
        out.extend_from_slice(b",\"price\":");
        write_js_number(out, t.price);
        let _ = write!(out, ",\"qty\":{}}}", t.qty);
    }
    out.push(b']');
    if let Some(reason) = &r.reason {
        out.extend_from_slice(b",\"reason\":");
        write_js_string(out, reason.as_bytes());
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: &mut MatchingEngine, req: &str) -> String {
        let mut out = Vec::new();
        write_result(&mut out, &e.submit_payload(req.as_bytes()));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_as_javascript_prints_them() {
        let cases: &[(f64, &str)] = &[
            (100.0, "100"),
            (101.5, "101.5"),
            (99.97, "99.97"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (2.5e300, "2.5e+300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (x, want) in cases {
            let mut out = Vec::new();
            write_js_number(&mut out, *x);
            assert_eq!(String::from_utf8(out).unwrap(), *want, "{:e}", x);
        }
    }

    #[test]
    fn strings_as_json_stringify_writes_them() {
        let mut e = MatchingEngine::default();
        assert_eq!(
            answer(&mut e, r#"{"id":"a\"b\\c\u00e9\n\u001f\u007f/","symbol":"S","side":"buy","type":"limit","price":1,"qty":1}"#),
            "{\"id\":\"a\\\"b\\\\c\u{e9}\\n\\u001f\u{7f}/\",\"status\":\"accepted\",\"trades\":[]}"
        );
        assert_eq!(
            answer(&mut e, r#"{"id":"x\ud800","symbol":"S","side":"buy","type":"limit","price":1,"qty":1}"#),
            r#"{"id":"x\ud800","status":"accepted","trades":[]}"#
        );
        // A high surrogate followed by an escape that is not a low one stays lone.
        assert_eq!(
            answer(&mut e, r#"{"id":"\uD83D\u0041","symbol":"S","side":"buy","type":"limit","price":1,"qty":1}"#),
            r#"{"id":"\ud83dA","status":"accepted","trades":[]}"#
        );
        assert_eq!(
            answer(&mut e, r#"{"id":"\ud83d\ude00","symbol":"S","side":"buy","type":"limit","price":1,"qty":1}"#),
            "{\"id\":\"\u{1f600}\",\"status\":\"accepted\",\"trades\":[]}"
        );
    }

    #[test]
    fn matching_and_rejections() {
        let mut e = MatchingEngine::default();
        assert_eq!(answer(&mut e, r#"{"id":"a","symbol":"S","side":"sell","type":"limit","price":101,"qty":1}"#), r#"{"id":"a","status":"accepted","trades":[]}"#);
        assert_eq!(answer(&mut e, r#"{"id":"b","symbol":"S","side":"sell","type":"limit","price":100,"qty":1}"#), r#"{"id":"b","status":"accepted","trades":[]}"#);
        assert_eq!(
            answer(&mut e, r#"{"id":7,"symbol":"S","side":"buy","type":"limit","price":101.5,"qty":3}"#),
            r#"{"id":7,"status":"partially_filled","trades":[{"maker":"b","taker":7,"price":100,"qty":1},{"maker":"a","taker":7,"price":101,"qty":1}]}"#
        );
        assert_eq!(answer(&mut e, r#"{"id":7.0,"symbol":"S","side":"buy","type":"limit","price":1,"qty":1}"#), r#"{"id":7,"status":"rejected","trades":[],"reason":"duplicate id"}"#);
        assert_eq!(answer(&mut e, r#"{"id":"7","symbol":"S","side":"buy","type":"limit","price":1,"qty":1}"#), r#"{"id":"7","status":"accepted","trades":[]}"#);
        assert_eq!(answer(&mut e, r#"{"id":"m","symbol":"T","side":"buy","type":"market","qty":1}"#), r#"{"id":"m","status":"rejected","trades":[],"reason":"no liquidity"}"#);
        assert_eq!(answer(&mut e, "[1,2]"), r#"{"id":null,"status":"rejected","trades":[],"reason":"request must be a JSON object"}"#);
        assert_eq!(answer(&mut e, r#"{"id":1e400}"#), r#"{"id":null,"status":"rejected","trades":[],"reason":"id must be a non-empty string or a safe integer"}"#);
        assert_eq!(answer(&mut e, r#"{"id":-0,"symbol":"S","side":"buy","type":"limit","price":1e400,"qty":1}"#), r#"{"id":0,"status":"rejected","trades":[],"reason":"price must be a positive finite number"}"#);
        assert_eq!(answer(&mut e, r#"{"id":1,"id":2,"symbol":"S","side":"sell","type":"market","price":null,"qty":1}"#), r#"{"id":2,"status":"filled","trades":[{"maker":7,"taker":2,"price":101.5,"qty":1}]}"#);
        assert!(answer(&mut e, "{oops").starts_with(r#"{"id":null,"status":"rejected","trades":[],"reason":"invalid JSON: "#));
        assert_eq!(answer(&mut e, "\u{feff}{\"id\":3}"), r#"{"id":3,"status":"rejected","trades":[],"reason":"missing field symbol"}"#);
        let mut out = Vec::new();
        write_result(&mut out, &e.submit_payload(&[0x7b, 0xff, 0x7d]));
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"id":null,"status":"rejected","trades":[],"reason":"invalid JSON: payload is not valid UTF-8"}"#);
        assert!(answer(&mut e, &"[".repeat(100_000)).contains("invalid JSON: "));
    }
}
