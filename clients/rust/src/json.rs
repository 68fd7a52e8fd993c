//! JSON encoding exactly as Go's `encoding/json` writes it (spec 03-insert, serialization),
//! and the raw-member scanning the unique key needs (spec 04-unique).

use crate::Error;
use serde_json::Value;

/// Encodes a value as Go's `json.Marshal` would encode the equivalent Go value.
pub fn encode(value: &Value) -> Result<String, Error> {
    let mut out = String::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

fn encode_into(value: &Value, out: &mut String) -> Result<(), Error> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                let f = n
                    .as_f64()
                    .ok_or_else(|| Error::validation("args", "json", "a number JSON cannot represent"))?;
                out.push_str(&format_float(f)?);
            }
        }
        Value::String(s) => encode_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_string(k, out);
                out.push(':');
                encode_into(v, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Go's float64 form: shortest round-trip digits, exponent notation below 1e-6 and from 1e21.
pub fn format_float(f: f64) -> Result<String, Error> {
    if !f.is_finite() {
        return Err(Error::validation(
            "args",
            "json",
            "NaN and infinities have no JSON form",
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        // Rust writes `1e21` and `1e-7`; Go writes `1e+21` and `1e-7`.
        Ok(match s.split_once('e') {
            Some((mant, exp)) if !exp.starts_with('-') => format!("{mant}e+{exp}"),
            _ => s,
        })
    } else {
        Ok(format!("{f}"))
    }
}

/// Writes a JSON string the way Go does with HTML escaping on.
pub fn encode_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// Compacts pre-encoded JSON as Go does when marshalling a `json.Marshaler`: whitespace
/// dropped, `<>&` and U+2028/U+2029 inside strings escaped, every other byte kept.
pub fn compact(raw: &str) -> Result<String, Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(raw)
        .map_err(|_| Error::validation("args", "json", "not valid JSON"))?;
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            if escaped {
                escaped = false;
                out.push(c);
                continue;
            }
            match c {
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '<' | '>' | '&' => out.push_str(&format!("\\u{:04x}", c as u32)),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                _ => out.push(c),
            }
        } else {
            match c {
                ' ' | '\t' | '\n' | '\r' => {}
                '"' => {
                    in_string = true;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }
    Ok(out)
}

/// The members of an encoded JSON object in source order: unescaped key and raw value text.
/// Returns None when the text is not an object.
pub fn object_members(encoded: &str) -> Option<Vec<(String, &str)>> {
    let b = encoded.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        return Some(members);
    }
    loop {
        let key_end = skip_value(b, i)?;
        let key: String = serde_json::from_str(&encoded[i..key_end]).ok()?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, i + 1);
        let end = skip_value(b, start)?;
        members.push((key, &encoded[start..end]));
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(members),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// End offset of the JSON value starting at `i` (assumes valid JSON).
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => {
            let mut j = i + 1;
            while j < b.len() {
                match b[j] {
                    b'\\' => j += 2,
                    b'"' => return Some(j + 1),
                    _ => j += 1,
                }
            }
            None
        }
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_value(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            Some(j)
        }
    }
}

/// A key as the canonical args write it: verbatim when printable ASCII without `"` or `\`.
pub fn canonical_key(key: &str, out: &mut String) {
    if key
        .bytes()
        .all(|c| (0x20..=0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        out.push('"');
        out.push_str(key);
        out.push('"');
    } else {
        encode_string(key, out);
    }
}
