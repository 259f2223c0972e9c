//! JSON-aware mutation: parse a body as JSON, change one thing the contract cares about,
//! write it again. The checker's mutated cases and the parse fuzz targets' custom mutator
//! both use it.

/// A JSON-aware mutation for the parse targets' custom mutator: parse `data` as JSON,
/// change one thing the contract cares about (a key, a value, a type, the nesting),
/// serialize again. `None` when `data` is not JSON (the fuzzer then mutates bytes).
/// Deterministic for a given `seed`.
pub fn mutate_json(data: &[u8], seed: u64) -> Option<Vec<u8>> {
    use serde_json::Value;

    use crate::Profile;
    use crate::generate::{Rng, Source};
    let mut value: Value = serde_json::from_slice(data).ok()?;
    let mut rng = Rng::new(seed);
    let names: Vec<&str> = Profile::seed()
        .properties()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    const VALUES: &[&str] = &[
        "null",
        "true",
        "0",
        "-0",
        "2147483647",
        "2147483648",
        "-2147483649",
        "1e1",
        "13.0",
        "\"\"",
        "\"2016-12-31T23:58:36.0226893+03:00\"",
        "\"2016-12-31T23:59:60Z\"",
        "\"9999-12-31T23:59:59.999999999999-14:00\"",
        "\"2016-12-31T23:58:36+14:01\"",
        "\"a2V5\"",
        "\"a2V5=\"",
        "\"-_8\"",
        "\"\\u0000\"",
        "[]",
        "{}",
        "[null]",
        "\"#microsoft.graph.device\"",
        "\"c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3\"",
    ];
    // Walk to a random container (as a JSON pointer), then change one of its members or
    // elements.
    let mut pointer = String::new();
    {
        let mut node = &value;
        for _ in 0..rng.below(4) {
            let (segment, next) = match node {
                Value::Object(m) if !m.is_empty() => {
                    let k = rng.below(m.len() as u64) as usize;
                    match m.iter().nth(k) {
                        Some((key, v)) => (key.replace('~', "~0").replace('/', "~1"), v),
                        None => break,
                    }
                }
                Value::Array(a) if !a.is_empty() => {
                    let k = rng.below(a.len() as u64) as usize;
                    match a.get(k) {
                        Some(v) => (k.to_string(), v),
                        None => break,
                    }
                }
                _ => break,
            };
            if !(next.is_object() || next.is_array()) {
                break;
            }
            pointer.push('/');
            pointer.push_str(&segment);
            node = next;
        }
    }
    let node = value.pointer_mut(&pointer)?;
    let fresh: Value =
        serde_json::from_str(VALUES[rng.below(VALUES.len() as u64) as usize]).ok()?;
    match node {
        Value::Object(m) => match rng.below(5) {
            0 => {
                // A table name, or one in the wrong case, or an annotation.
                let name = names[rng.below(names.len() as u64) as usize];
                let key = match rng.below(3) {
                    0 => name.to_owned(),
                    1 => name.to_ascii_uppercase(),
                    _ => format!("{name}@odata.type"),
                };
                m.insert(key, fresh);
            }
            1 if !m.is_empty() => {
                let k = rng.below(m.len() as u64) as usize;
                let key = m.keys().nth(k).cloned().unwrap_or_default();
                m.remove(&key);
            }
            2 if !m.is_empty() => {
                let k = rng.below(m.len() as u64) as usize;
                if let Some(v) = m.values_mut().nth(k) {
                    *v = Value::Array(vec![v.take()]);
                }
            }
            _ => {
                let k = rng.below(m.len() as u64 + 1) as usize;
                match m.values_mut().nth(k) {
                    Some(v) => *v = fresh,
                    None => {
                        m.insert("deviceVersion".into(), fresh);
                    }
                }
            }
        },
        Value::Array(a) => match rng.below(3) {
            0 => a.push(fresh),
            1 if !a.is_empty() => {
                a.remove(rng.below(a.len() as u64) as usize);
            }
            _ => *node = Value::Array(vec![node.take()]),
        },
        other => *other = fresh,
    }
    serde_json::to_vec(&value).ok()
}
