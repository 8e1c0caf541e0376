//! The hash chain of API.md: `hash = SHA-256(prev_hash || canonical JSON of the entry without
//! hash and prev_hash)`, RFC 8785 canonical JSON (keys sorted, no whitespace), postings in
//! account-then-asset order.
//!
//! The canonical form is written out by hand, key by key, so that it never depends on how a
//! JSON library orders map keys.

use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One posting as it is hashed and exported: the amount as a normalized decimal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPosting {
    pub account: String,
    pub asset: String,
    pub amount: String,
}

/// The hashed fields of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry<'a> {
    pub seq: i64,
    pub id: &'a str,
    /// `YYYY-MM-DD`; `None` for entries written before effective dates existed, which are
    /// hashed (and exported) without the field.
    pub effective_date: Option<&'a str>,
    pub kind: &'a str,
    /// RFC 3339 with six fractional digits, as exported.
    pub recorded_at: &'a str,
    pub reference: Option<&'a str>,
    pub postings: &'a [ChainPosting],
}

/// A JSON string literal as RFC 8785 writes it (the ECMAScript JSON.stringify escapes).
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The RFC 8785 form of the entry's hashed fields; keys in sorted order:
/// effective_date (when the entry has one), id, kind, postings (account, amount, asset),
/// recorded_at, reference, seq.
pub fn canonical_json(e: &ChainEntry<'_>) -> String {
    let mut out = String::with_capacity(160 + 96 * e.postings.len());
    out.push('{');
    if let Some(d) = e.effective_date {
        out.push_str("\"effective_date\":");
        string(&mut out, d);
        out.push(',');
    }
    out.push_str("\"id\":");
    string(&mut out, e.id);
    out.push_str(",\"kind\":");
    string(&mut out, e.kind);
    out.push_str(",\"postings\":[");
    for (i, p) in e.postings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"account\":");
        string(&mut out, &p.account);
        out.push_str(",\"amount\":");
        string(&mut out, &p.amount);
        out.push_str(",\"asset\":");
        string(&mut out, &p.asset);
        out.push('}');
    }
    out.push_str("],\"recorded_at\":");
    string(&mut out, e.recorded_at);
    out.push_str(",\"reference\":");
    match e.reference {
        Some(r) => string(&mut out, r),
        None => out.push_str("null"),
    }
    out.push_str(",\"seq\":");
    out.push_str(&e.seq.to_string());
    out.push('}');
    out
}

/// The RFC 8785 canonical form of any JSON value (what the idempotency fingerprint of a
/// request body covers): object keys sorted by their UTF-16 code units, no whitespace,
/// strings escaped as above, numbers as ECMAScript writes the IEEE 754 double they denote.
/// (serde_json, built without `float_roundtrip`, may read a number of more than 15
/// significant digits a unit in the last place off; no request body takes such a number,
/// every one of them is refused as a wrong type before its fingerprint is compared.)
pub fn canonical_value(v: &serde_json::Value) -> String {
    let mut out = String::new();
    value(&mut out, v);
    out
}

fn value(out: &mut String, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number(out, n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k);
                out.push(':');
                value(out, v);
            }
            out.push('}');
        }
    }
}

/// A double as ECMAScript's `Number.prototype.toString` writes it (RFC 8785 section 3.2.2.3):
/// the shortest digits that read back to it, plain from 1e-6 to below 1e21, else with an
/// exponent. JSON has no NaN or infinity, so they never come here.
fn number(out: &mut String, x: f64) {
    if x == 0.0 || !x.is_finite() {
        out.push('0');
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e3", "5e-7".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n - 1 < 0 { '-' } else { '+' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

/// The entry's hash, chained to `prev_hash`.
pub fn entry_hash(prev_hash: &str, e: &ChainEntry<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical_json(e).as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn sample(postings: &[ChainPosting]) -> ChainEntry<'_> {
        ChainEntry {
            seq: 7,
            id: "0190-x",
            effective_date: None,
            kind: "lot_received",
            recorded_at: "2026-03-01T12:00:00.123456Z",
            reference: Some("ref\"1\n\u{1}é"),
            postings,
        }
    }

    #[test]
    fn canonical_json_is_sorted_compact_and_parses_back() {
        let postings = [ChainPosting {
            account: "inventory:NV1:GA".into(),
            asset: "GA".into(),
            amount: "-12.5".into(),
        }];
        let text = canonical_json(&sample(&postings));
        assert_eq!(
            text,
            "{\"id\":\"0190-x\",\"kind\":\"lot_received\",\"postings\":[{\"account\":\"inventory:NV1:GA\",\
             \"amount\":\"-12.5\",\"asset\":\"GA\"}],\"recorded_at\":\"2026-03-01T12:00:00.123456Z\",\
             \"reference\":\"ref\\\"1\\n\\u0001é\",\"seq\":7}"
        );
        // Same value as a generic JSON library reads it, and a sorted-key re-serialization of
        // that value gives the same text (serde_json's Map is ordered by key here).
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["reference"], "ref\"1\n\u{1}é");
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
    }

    #[test]
    fn any_value_canonicalizes_as_rfc_8785_says() {
        let postings = [ChainPosting {
            account: "inventory:NV1:GA".into(),
            asset: "GA".into(),
            amount: "-12.5".into(),
        }];
        let e = sample(&postings);
        // The same canonicalization as the entries' own.
        let v: Value = serde_json::from_str(&canonical_json(&e)).unwrap();
        assert_eq!(canonical_value(&v), canonical_json(&e));
        // RFC 8785's examples: keys by UTF-16 code units, numbers as ECMAScript writes them.
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":1,"\r":2,"\ud83d\ude00":3,"1":4,"\u0080":5,"\u00f6":6,"\ufb33":7}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_value(&v),
            "{\"\\r\":2,\"1\":4,\"\u{80}\":5,\"ö\":6,\"€\":1,\"😀\":3,\"\u{fb33}\":7}"
        );
        for (text, canonical) in [
            ("0", "0"),
            ("-0.0", "0"),
            ("1", "1"),
            ("-1.50", "-1.5"),
            ("1e2", "100"),
            ("1e21", "1e+21"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1.5e-7", "1.5e-7"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("1E30", "1e+30"),
            ("9007199254740993", "9007199254740992"),
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(canonical_value(&v), canonical, "{text}");
        }
        let v: Value = serde_json::from_str(r#"[true, null, "a\u0001"]"#).unwrap();
        assert_eq!(canonical_value(&v), r#"[true,null,"a\u0001"]"#);
    }

    #[test]
    fn an_effective_date_is_the_first_key_and_changes_the_hash() {
        let e = sample(&[]);
        let dated = ChainEntry {
            effective_date: Some("2026-02-28"),
            ..e.clone()
        };
        let text = canonical_json(&dated);
        assert!(text.starts_with("{\"effective_date\":\"2026-02-28\",\"id\":"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(canonical_value(&v), text);
        // Without it, the form (and hash) of an entry from before effective dates.
        assert!(!canonical_json(&e).contains("effective_date"));
        assert_ne!(
            entry_hash(GENESIS_HASH, &e),
            entry_hash(GENESIS_HASH, &dated)
        );
    }

    #[test]
    fn hash_chains_on_prev_hash() {
        let e = sample(&[]);
        let a = entry_hash(GENESIS_HASH, &e);
        assert_eq!(a.len(), 64);
        assert_ne!(a, entry_hash(&a, &e));
        let mut h = Sha256::new();
        h.update(GENESIS_HASH.as_bytes());
        h.update(canonical_json(&e).as_bytes());
        assert_eq!(a, hex::encode(h.finalize()));
    }
}
