//! /openapi.json states the formats, enumerations and headers of API.md precisely enough for
//! generated clients and for schema-driven tests.

use crate::helpers::spawn_app;
use reqwest::Method;
use serde_json::{json, Value};

async fn document() -> Value {
    let app = spawn_app().await;
    app.request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

fn reference(name: &str) -> Value {
    json!(format!("#/components/schemas/{name}"))
}

#[tokio::test]
async fn string_formats_are_named_schemas() {
    let doc = document().await;
    let decimal = schema(&doc, "Decimal");
    assert_eq!(decimal["type"], "string");
    assert_eq!(decimal["pattern"], r"^-?[0-9]+(\.[0-9]+)?$");
    assert_eq!(schema(&doc, "Code")["pattern"], "^[A-Z0-9_]{1,32}$");
    assert_eq!(schema(&doc, "Hash")["pattern"], "^[0-9a-f]{64}$");
    assert_eq!(schema(&doc, "Id")["format"], "uuid");
    assert_eq!(schema(&doc, "IsoDate")["format"], "date");
    assert_eq!(schema(&doc, "Timestamp")["format"], "date-time");

    let submission = &schema(&doc, "Submission")["properties"];
    assert_eq!(submission["quantity"]["$ref"], reference("Decimal"));
    assert!(submission["quantity"]["description"].is_string());
    assert_eq!(submission["material"]["$ref"], reference("Code"));
    assert_eq!(submission["justification"]["maxLength"], 4000);
    // A request body keeps an example of the whole object.
    assert_eq!(schema(&doc, "Submission")["example"]["quantity"], "250");

    let view = &schema(&doc, "DrawdownView")["properties"];
    assert_eq!(view["id"]["$ref"], reference("Id"));
    assert_eq!(view["created_at"]["$ref"], reference("Timestamp"));
    assert_eq!(
        view["released_at"]["oneOf"],
        json!([{"type": "null"}, {"$ref": reference("Timestamp")}])
    );
    let entry = &schema(&doc, "EntryView")["properties"];
    assert_eq!(entry["hash"]["$ref"], reference("Hash"));
}

#[tokio::test]
async fn enumerations_list_every_value() {
    let doc = document().await;
    for (name, values) in [
        ("Unit", json!(["kg", "t", "mtu"])),
        ("Severity", json!(["limited", "severe", "critical"])),
        ("PriorityTier", json!(["defense", "critical", "commercial"])),
        ("LoanKind", json!(["direct_loan", "private_capital"])),
        ("DayCount", json!(["ACT/360", "ACT/365F", "30/360"])),
        ("FeeKind", json!(["entry", "carrying"])),
        (
            "DrawdownStatus",
            json!([
                "pending_approval",
                "partially_approved",
                "released",
                "rejected",
                "cancelled",
                "expired"
            ]),
        ),
        ("DisruptionStatus", json!(["proposed", "active", "ended"])),
        ("ObligationStatus", json!(["open", "settled"])),
        ("ManufacturerStatus", json!(["active", "suspended"])),
        ("ExportFormat", json!(["jsonl", "csv"])),
    ] {
        assert_eq!(schema(&doc, name)["enum"], values, "{name}");
    }
    assert_eq!(
        schema(&doc, "MaterialInput")["properties"]["unit"]["$ref"],
        reference("Unit")
    );
}

#[tokio::test]
async fn parameters_are_typed() {
    let doc = document().await;
    let param = |path: &str, method: &str, name: &str| -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has {name}"))
            .clone()
    };
    assert_eq!(
        param("/v1/drawdowns/{id}", "get", "id")["schema"]["$ref"],
        reference("Id")
    );
    assert_eq!(
        param("/v1/materials/{code}", "get", "code")["schema"]["$ref"],
        reference("Code")
    );
    let limit = param("/v1/drawdowns", "get", "limit");
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(1000))
    );
    assert_eq!(
        param("/v1/drawdowns", "get", "status")["schema"]["$ref"],
        reference("DrawdownStatus")
    );
    assert_eq!(
        param("/v1/ledger/export", "get", "format")["schema"]["$ref"],
        reference("ExportFormat")
    );
    let export = &doc["paths"]["/v1/ledger/export"]["get"]["responses"]["200"]["content"];
    assert!(export["application/x-ndjson"].is_object() && export["text/csv"].is_object());
}

#[tokio::test]
async fn every_write_takes_an_idempotency_key_and_empty_bodies_are_optional() {
    let doc = document().await;
    let mut writes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch"] {
            let Some(op) = item.get(method) else { continue };
            writes += 1;
            let key = op["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
                .unwrap_or_else(|| panic!("{method} {path} documents Idempotency-Key"));
            assert_eq!(key["in"], "header");
            assert_eq!(key["required"], false);
            assert_eq!(key["schema"]["$ref"], reference("IdempotencyKey"));
        }
    }
    assert!(writes > 20, "{writes} writes");
    assert_eq!(schema(&doc, "IdempotencyKey")["pattern"], "^[!-~]{1,255}$");

    for (path, body) in [
        ("/v1/disruptions/{id}/confirm", "NoFields"),
        ("/v1/disruptions/{id}/end", "NoFields"),
        ("/v1/drawdowns/{id}/cancel", "NoFields"),
        ("/v1/manufacturers/{id}/suspend", "NoFields"),
        ("/v1/manufacturers/{id}/reinstate", "NoFields"),
        ("/v1/drawdowns/{id}/approve", "ApproveInput"),
    ] {
        let request = &doc["paths"][path]["post"]["requestBody"];
        assert_eq!(request["required"], false, "{path}");
        let description = request["description"].as_str().unwrap_or_default();
        assert!(description.contains("no Content-Type"), "{path}");
        assert_eq!(
            request["content"]["application/json"]["schema"],
            json!({"$ref": reference(body)}),
            "{path}"
        );
    }
    assert_eq!(
        doc["paths"]["/v1/drawdowns"]["post"]["requestBody"]["required"],
        true
    );
}

#[tokio::test]
async fn operations_are_unique_and_linked_along_the_drawdown_flow() {
    let doc = document().await;
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are unique");

    let links = &doc["paths"]["/v1/drawdowns"]["post"]["responses"]["201"]["links"];
    for (name, target) in [
        ("approve", "approve"),
        ("cancel", "cancel"),
        ("get", "get_drawdown"),
    ] {
        assert_eq!(
            links[name],
            json!({"operationId": target, "parameters": {"id": "$response.body#/id"}}),
            "{name}"
        );
        assert!(ids.contains(&target));
    }
    let approved = &doc["paths"]["/v1/drawdowns/{id}/approve"]["post"]["responses"]["200"];
    assert_eq!(
        approved["links"]["obligation"]["parameters"]["id"],
        "$response.body#/obligation_id"
    );
}

/// The route table is the one list of what is served: the router and the document are built
/// from it, so they name the same operations, and each documented operation reaches its
/// handler (neither the 404 of an unknown path nor a 405).
#[tokio::test]
async fn the_router_serves_exactly_the_documented_operations() {
    let app = spawn_app().await;
    let doc = document().await;
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut served: Vec<(String, String)> = stockpile::api::routes::endpoints()
        .into_iter()
        .map(|e| (e.method.to_string(), e.path))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);

    for (method, path) in &documented {
        let concrete = path
            .split('/')
            .map(|s| match s.strip_prefix('{') {
                Some(p) if p.contains("id") => "00000000-0000-7000-8000-000000000000",
                Some(_) => "GA",
                None => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let res = app
            .request(method.parse().unwrap(), &concrete)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let auth = !doc["paths"][path][method.to_lowercase()]["security"].is_null();
        if auth {
            assert_eq!(status, 401, "{method} {path} without a token");
        } else {
            assert_eq!(status, 200, "{method} {path}");
        }
    }
    // A method the table does not declare for a path is 405, naming the ones it does.
    let res = app
        .request(Method::DELETE, "/v1/materials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, POST");
}

/// utoipa names a schema after its Rust type alone, and a second type of the same name
/// silently replaces the first in the document: the physical transfer's answer was once
/// documented as the allocation transfer's. Each schema name must belong to one type.
#[test]
fn each_schema_name_belongs_to_one_type() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(std::path::Path::new("src"), &mut files);
    let mut owners: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut derives = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                derives = true;
            } else if derives && !line.starts_with("#[") && !line.starts_with("///") {
                let name = line
                    .split_whitespace()
                    .skip_while(|w| !matches!(*w, "struct" | "enum"))
                    .nth(1)
                    .map(|n| n.trim_end_matches(|c: char| !c.is_alphanumeric()));
                if let Some(name) = name {
                    owners
                        .entry(name.to_owned())
                        .or_default()
                        .push(file.display().to_string());
                }
                derives = false;
            }
        }
    }
    assert!(owners.len() > 50, "found only {} schemas", owners.len());
    let shared: Vec<_> = owners.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(shared.is_empty(), "schema names used twice: {shared:?}");
}
