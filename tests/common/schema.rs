//! A small JSON Schema (draft 2020-12) validator for the keywords our schemas use: `type`,
//! `const`, `enum`, `properties`, `required`, `additionalProperties`, `items`, `minItems`,
//! `maxItems`, `minimum`, `$ref` to `#/$defs/...`. An unknown keyword is an error, so a
//! schema cannot silently check less than it says.

use serde_json::Value;

/// Every place `instance` breaks `schema`, as `pointer: reason`.
pub fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, schema, instance, "", &mut out);
    out
}

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "$ref",
    "$defs",
];

fn check(root: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        out.push(format!("{at}: schema is not an object"));
        return;
    };
    for k in s.keys() {
        if !KNOWN.contains(&k.as_str()) {
            out.push(format!("{at}: unsupported schema keyword {k}"));
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match r
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
        {
            Some(target) => check(root, target, v, at, out),
            None => out.push(format!("{at}: unresolved $ref {r}")),
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.iter().any(|t| has_type(v, t)) {
            out.push(format!("{at}: expected {types:?}, got {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        out.push(format!("{at}: expected {c}, got {v}"));
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.contains(v)
    {
        out.push(format!("{at}: {v} not in {options:?}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        out.push(format!("{at}: {n} < {min}"));
    }
    if let Value::Object(map) = v {
        let props = s.get("properties").and_then(Value::as_object);
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !map.contains_key(name)
            {
                out.push(format!("{at}: missing {name}"));
            }
        }
        for (k, item) in map {
            let here = format!("{at}/{k}");
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(sub), _) => check(root, sub, item, &here, out),
                (None, Some(Value::Bool(false))) => out.push(format!("{here}: not allowed")),
                (None, Some(extra @ Value::Object(_))) => check(root, extra, item, &here, out),
                (None, _) => {}
            }
        }
    }
    if let Value::Array(items) = v {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            out.push(format!("{at}: fewer than {min} items"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            out.push(format!("{at}: more than {max} items"));
        }
        if let Some(sub) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(root, sub, item, &format!("{at}/{i}"), out);
            }
        }
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        _ => false,
    }
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let schema = serde_json::json!({
        "type": "object", "required": ["a"], "additionalProperties": false,
        "properties": {"a": {"$ref": "#/$defs/n"}, "b": {"type": ["string", "null"]}},
        "$defs": {"n": {"type": "integer", "minimum": 1}}
    });
    assert!(errors(&schema, &serde_json::json!({"a": 2, "b": null})).is_empty());
    assert_eq!(errors(&schema, &serde_json::json!({"a": 0})).len(), 1);
    assert_eq!(
        errors(&schema, &serde_json::json!({"b": 1, "c": 1})).len(),
        3
    );
}

/// Every place `log` breaks the OASIS SARIF 2.1.0 schema kept in `schemas/sarif/` (draft 4,
/// which the validator above does not speak: checked with the `jsonschema` crate, formats
/// such as `uri` included).
pub fn sarif_errors(log: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/sarif/sarif-schema-2.1.0.json"))
            .expect("the SARIF schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    validator
        .iter_errors(log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
