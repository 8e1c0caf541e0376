//! `/docs`: the OpenAPI document rendered as one self-contained HTML page (no scripts, no
//! external assets), so it works with no internet.

use serde_json::Value;
use std::fmt::Write;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}\
h2{border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2.5rem}\
.op{border:1px solid #dde;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}\
.m{display:inline-block;min-width:4rem;font-weight:700;font-family:monospace}\
.get{color:#1a7f37}.post{color:#0550ae}.put{color:#9a6700}.delete{color:#cf222e}\
code,.p{font-family:ui-monospace,monospace}table{border-collapse:collapse;margin:.4rem 0}\
td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}.roles{color:#57606a}\
pre{background:#f6f8fa;padding:.5rem;overflow:auto}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A short type label for a schema: a link to a component, or its JSON type.
fn type_label(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", type_label(items));
    }
    for key in ["oneOf", "allOf", "anyOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let mut labels: Vec<String> = parts.iter().map(type_label).collect();
            labels.dedup();
            return labels.join(" | ");
        }
    }
    match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        Some(Value::String(t)) => t.clone(),
        _ => "any".into(),
    }
}

/// A schema's own description, or that of the alternative that carries one (utoipa puts a
/// nullable field's description on its `$ref`, inside `oneOf`).
fn description(schema: &Value) -> &str {
    let own = text(schema, "description");
    if !own.is_empty() {
        return own;
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|key| schema.get(*key).and_then(Value::as_array))
        .flatten()
        .map(description)
        .find(|d| !d.is_empty())
        .unwrap_or("")
}

/// The constraints written inline on a schema: format, pattern, enumeration, bounds, examples.
fn constraints(schema: &Value) -> String {
    let code = |v: &Value| match v {
        Value::String(s) => format!("<code>{}</code>", esc(s)),
        other => format!("<code>{}</code>", esc(&other.to_string())),
    };
    let mut parts = Vec::new();
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        parts.push(format!("format {}", code(&Value::from(f))));
    }
    if let Some(p) = schema.get("pattern") {
        parts.push(format!("pattern {}", code(p)));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(code).collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    for (key, label) in [
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
    ] {
        if let Some(v) = schema.get(key) {
            parts.push(format!("{label} {v}"));
        }
    }
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        let alternatives: Vec<String> = alternatives.iter().map(constraints).collect();
        parts.push(format!("any of: {}", alternatives.join(" | ")));
    }
    let examples = schema.get("examples").and_then(Value::as_array);
    if let Some(example) = schema.get("example").or(examples.and_then(|e| e.first())) {
        parts.push(format!("e.g. {}", code(example)));
    }
    parts.join("; ")
}

/// A type label followed by its inline constraints.
fn type_cell(schema: &Value) -> String {
    let c = constraints(schema);
    if c.is_empty() {
        type_label(schema)
    } else {
        format!("{} ({c})", type_label(schema))
    }
}

fn schema_table(out: &mut String, schema: &Value) {
    let about = description(schema);
    if !about.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(about));
    }
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        let _ = write!(out, "<p>{}</p>", type_cell(schema));
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str(
        "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
    );
    for (name, p) in props {
        let _ = write!(
            out,
            "<tr><td class=p>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            type_cell(p),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                ""
            },
            esc(description(p))
        );
    }
    out.push_str("</table>");
    if let Some(example) = schema.get("example") {
        let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
        let _ = write!(out, "<p>Example:</p><pre>{}</pre>", esc(&pretty));
    }
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<div class=op id=\"{m}-{id}\"><span class=\"m {m}\">{M}</span> <code>{p}</code><p>{d}</p>",
        m = method,
        M = method.to_uppercase(),
        id = esc(text(op, "operationId")),
        p = esc(path),
        // utoipa puts a handler's first doc paragraph in `summary`, the rest in `description`.
        d = esc(format!("{}\n{}", text(op, "summary"), text(op, "description")).trim())
            .replace('\n', "<br>")
    );
    let roles: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("bearer").and_then(Value::as_array))
        .flatten()
        .filter_map(|r| r.as_str().map(esc))
        .collect();
    if !roles.is_empty() {
        let _ = write!(out, "<p class=roles>Roles: {}</p>", roles.join(", "));
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>",
        );
        for p in params {
            let _ = write!(
                out,
                "<tr><td class=p>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(text(p, "name")),
                esc(text(p, "in")),
                p.get("schema").map(type_cell).unwrap_or_default(),
                esc(text(p, "description"))
            );
        }
        out.push_str("</table>");
    }
    if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
        let optional = op.pointer("/requestBody/required") == Some(&Value::Bool(false));
        let _ = write!(
            out,
            "<p>Body{}: {}</p>",
            if optional {
                " (optional: may be empty)"
            } else {
                ""
            },
            type_label(schema)
        );
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><tr><th>status</th><th>description</th><th>body</th></tr>");
        for (status, r) in responses {
            let body = r
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|c| c.get("schema"))
                .map(type_label)
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                esc(text(r, "description")),
                body
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
}

/// Renders the whole document: operations grouped by tag, then every schema.
pub fn render(doc: &Value) -> String {
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let mut out = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>{t} API reference</title>\
         <style>{STYLE}</style><h1>{t} API reference</h1><p>{d}</p>\
         <p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>",
        t = esc(title),
        d = esc(doc
            .pointer("/info/description")
            .and_then(Value::as_str)
            .unwrap_or("")),
    );
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let tags: Vec<Value> = doc
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for tag in &tags {
        let name = text(tag, "name");
        let _ = write!(
            out,
            "<h2>{}</h2><p>{}</p>",
            esc(name),
            esc(text(tag, "description"))
        );
        for (path, item) in &paths {
            for method in ["get", "post", "put", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let tagged = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|x| x == name));
                if tagged {
                    operation(&mut out, method, path, op);
                }
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            let _ = write!(out, "<h3 id=\"schema-{0}\">{0}</h3>", esc(name));
            schema_table(&mut out, schema);
        }
    }
    out.push_str("</html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_operations_and_escapes() {
        let doc = json!({
            "info": {"title": "t<x>", "description": "d"},
            "tags": [{"name": "a", "description": "tag a"}],
            "paths": {"/v1/x/{id}": {"post": {"tags": ["a"], "operationId": "make",
                "summary": "Make one.", "description": "Really", "security": [{"bearer": ["admin"]}],
                "responses": {"201": {"description": "made"}}}}},
            "components": {"schemas": {
                "X": {"type": "object", "required": ["n"], "example": {"n": "A_1"},
                    "properties": {
                        "n": {"$ref": "#/components/schemas/Code", "description": "a name"},
                        "d": {"oneOf": [{"type": "null"},
                            {"$ref": "#/components/schemas/Code", "description": "maybe"}]}}},
                "Code": {"type": "string", "description": "A code.", "pattern": "^[A-Z_1]+$",
                    "examples": ["A_1"]},
                "Unit": {"type": "string", "enum": ["kg", "t"]}}}
        });
        let html = render(&doc);
        assert!(html.contains("t&lt;x&gt; API reference"));
        assert!(html.contains("<code>/v1/x/{id}</code>"));
        assert!(html.contains("Roles: admin"));
        assert!(html.contains("<p>Make one.<br>Really</p>"));
        assert!(html.contains("id=\"schema-X\""));
        assert!(html.contains("<td>yes</td>"));
        assert!(html.contains("<a href=\"#schema-Code\">Code</a></td><td>yes</td><td>a name</td>"));
        assert!(
            html.contains("null | <a href=\"#schema-Code\">Code</a></td><td></td><td>maybe</td>")
        );
        assert!(html.contains("pattern <code>^[A-Z_1]+$</code>; e.g. <code>A_1</code>"));
        assert!(html.contains("one of <code>kg</code>, <code>t</code>"));
        assert!(html.contains("<pre>{\n  &quot;n&quot;: &quot;A_1&quot;\n}</pre>"));
        assert!(!html.contains("<script"));
    }
}
