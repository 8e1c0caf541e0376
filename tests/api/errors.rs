//! Bad input gets a clear problem+json error and changes nothing.

use crate::helpers::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

async fn material_count(app: &TestApp) -> usize {
    let page: Value = app
        .get_as(&app.admin(), "/v1/materials")
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

fn material() -> Value {
    json!({"code": "NDPR_OXIDE", "name": "NdPr oxide", "unit": "kg", "scale": 3, "strategic_floor": "1000"})
}

async fn post_raw(app: &TestApp, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut req = app
        .request(Method::POST, "/v1/materials")
        .bearer_auth(app.admin());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(body).send().await.unwrap()
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let app = spawn_app().await;
    for body in [
        &b"{not json"[..],
        b"[]",
        b"\"text\"",
        b"{\"code\": \"A\",}",
        b"\xff\xfe",
    ] {
        let res = post_raw(&app, Some("application/json"), body.to_vec()).await;
        assert_problem(res, 400, "malformed_request").await;
    }
    let mut wrong_type = material();
    wrong_type["scale"] = json!("3");
    assert_problem(
        app.post_as(&app.admin(), "/v1/materials", &wrong_type)
            .await,
        400,
        "malformed_request",
    )
    .await;
    // Decimals are strings: a JSON number is a type error.
    let mut number = material();
    number["strategic_floor"] = json!(1000);
    let body = assert_problem(
        app.post_as(&app.admin(), "/v1/materials", &number).await,
        400,
        "malformed_request",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("strategic_floor"),
        "{body}"
    );
    let mut unknown = material();
    unknown["colour"] = json!("grey");
    assert_problem(
        app.post_as(&app.admin(), "/v1/materials", &unknown).await,
        400,
        "malformed_request",
    )
    .await;
    // Deeply nested JSON is refused, not a crash.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = post_raw(&app, Some("application/json"), deep.into_bytes()).await;
    assert_problem(res, 400, "malformed_request").await;
    assert_eq!(material_count(&app).await, 0);
}

#[tokio::test]
async fn out_of_range_values_are_422_naming_each_field() {
    let app = spawn_app().await;
    let cases = [
        ("code", json!("ndpr")),
        ("code", json!("")),
        ("name", json!("   ")),
        // maxLength counts the text as sent, before it is trimmed.
        ("name", json!(format!(" {}", "N".repeat(200)))),
        ("unit", json!("lb")),
        ("scale", json!(7)),
        ("scale", json!(-1)),
        ("strategic_floor", json!("1.2345")),
        ("strategic_floor", json!("-1")),
        ("strategic_floor", json!("1e3")),
        ("strategic_floor", json!("NaN")),
        ("strategic_floor", json!("Infinity")),
        ("strategic_floor", json!(" 1")),
        ("strategic_floor", json!("+1")),
        ("strategic_floor", json!("99999999999999999999999999999999")),
    ];
    for (field, value) in cases {
        let mut body = material();
        body[field] = value.clone();
        let res = app.post_as(&app.admin(), "/v1/materials", &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{field}={value}: {problem}"
        );
        assert!(problem["errors"][0]["message"].is_string());
    }
    let mut missing = material();
    missing.as_object_mut().unwrap().remove("name");
    let problem = assert_problem(
        app.post_as(&app.admin(), "/v1/materials", &missing).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "name");
    let problem = assert_problem(
        post_raw(&app, None, Vec::new()).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(problem["errors"].as_array().is_some());
    assert_eq!(material_count(&app).await, 0);
}

#[tokio::test]
async fn oversized_and_non_json_bodies() {
    let app = spawn_app().await;
    let mut big = material();
    big["name"] = json!("x".repeat(1024 * 1024));
    let res = app.post_as(&app.admin(), "/v1/materials", &big).await;
    assert_problem(res, 413, "payload_too_large").await;
    let body = serde_json::to_vec(&material()).unwrap();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let res = post_raw(&app, ct, body.clone()).await;
        assert_problem(res, 415, "unsupported_media_type").await;
    }
    let res = post_raw(&app, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(material_count(&app).await, 1);
}

#[tokio::test]
async fn unknown_objects_routes_and_methods() {
    let app = spawn_app().await;
    let admin = app.admin();
    assert_problem(
        app.get_as(&admin, "/v1/materials/NOPE").await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get_as(&admin, "/v1/facilities/NOPE").await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get_as(&admin, "/v1/no-such-thing").await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .request(Method::DELETE, "/v1/materials")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    // RFC 9110: a 405 names the methods the resource has.
    assert_eq!(res.headers()["allow"], "GET, POST");
    assert_problem(res, 405, "method_not_allowed").await;
}

/// The document types list filters (codes, UUIDs, time bounds); a value outside the type is
/// refused rather than answered with an empty list, so that the schema tells the truth.
#[tokio::test]
async fn malformed_filters_are_400() {
    let app = spawn_app().await;
    let admin = app.admin();
    for path in [
        "/v1/lots?material=ndpr",
        "/v1/lots?facility=NV-1",
        "/v1/drawdowns?material=a%20b",
        "/v1/drawdowns?manufacturer_id=42",
        "/v1/drawdowns?manufacturer_id=0195f3a47f4a7c1e9b2d3f5e6a7b8c9d",
        "/v1/obligations?manufacturer_id=%7B0195f3a4-7f4a-7c1e-9b2d-3f5e6a7b8c9d%7D",
        "/v1/ledger/balances?asset=usd",
        "/v1/ledger/balances?as_of=2026-3-1",
        "/v1/ledger/export?from=2026-03-01%2012:00:00Z",
    ] {
        let res = app.get_as(&admin, path).await;
        assert_problem(res, 400, "malformed_request").await;
    }
    for path in [
        "/v1/lots?material=NDPR_OXIDE&facility=NV1",
        "/v1/drawdowns?manufacturer_id=0195f3a4-7f4a-7c1e-9b2d-3f5e6a7b8c9d",
        "/v1/ledger/balances?asset=USD&as_of=2026-03-01",
        "/v1/ledger/export?from=2026-03-01T12:00:00Z&to=2026-03-02",
    ] {
        assert_eq!(app.get_as(&admin, path).await.status(), 200, "{path}");
    }
}

/// RFC 3339 joins date and time with `T`; a space is refused like any other malformed time.
#[tokio::test]
async fn times_are_strict_rfc_3339() {
    let app = spawn_app().await;
    app.create_material("NDPR_OXIDE", 3, "0").await;
    app.create_facility("NV1").await;
    let lot = json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": "10",
        "grade": "99.5", "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "52.5",
        "received_at": "2026-03-01 12:00:00Z"});
    let problem = assert_problem(
        app.post_as(&app.admin(), "/v1/lots", &lot).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "received_at", "{problem}");
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let app = spawn_app().await;
    let admin = app.admin();
    for q in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "limit=-1",
        "colour=red",
    ] {
        let res = app.get_as(&admin, &format!("/v1/materials?{q}")).await;
        assert_problem(res, 400, "malformed_request").await;
    }
    assert_eq!(
        app.get_as(&admin, "/v1/materials?limit=1000")
            .await
            .status(),
        200
    );
    // Cursors and text filters that no page or actor could have (a NUL byte reached
    // PostgreSQL as a 500 before; schemathesis found it).
    for path in [
        "/v1/loan-facilities?after=%00J",
        "/v1/materials?after=a%20b",
        "/v1/drawdowns?after=x%00",
        "/v1/audit-events?after=%F2%AD",
        "/v1/audit-events?actor=a%00b",
        "/v1/audit-events?action=%00",
    ] {
        let res = app.get_as(&admin, path).await;
        assert_problem(res, 400, "malformed_request").await;
    }
    let page: Value = app
        .get_as(
            &admin,
            "/v1/audit-events?actor=admin&after=01a2238f-d7c3-736a-8226-fd1edcf06609",
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"].is_array(), "{page}");
}

/// A path segment that cannot name an object is 404 on both backends, whatever its bytes
/// (a NUL reached PostgreSQL as a 500 before).
#[tokio::test]
async fn path_segments_that_name_nothing_are_404() {
    let app = spawn_app().await;
    let admin = app.admin();
    for path in [
        "/v1/drawdowns/%00",
        "/v1/materials/%00",
        "/v1/materials/lower_case",
        "/v1/lots/a%00b",
        "/v1/manufacturers/%00/allocations",
        "/v1/loan-facilities/01a2238f-d7c3-736a-8226",
    ] {
        let res = app.get_as(&admin, path).await;
        assert_problem(res, 404, "not_found").await;
    }
    let res = app
        .request(Method::PUT, "/v1/manufacturers/%00/allocations/LI")
        .bearer_auth(&admin)
        .json(&json!({"quantity": "1", "locked_price_usd": "1"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn duplicates_are_409_conflict_without_internal_names() {
    let app = spawn_app().await;
    app.create_material("NDPR_OXIDE", 3, "0").await;
    let res = app
        .post_as(&app.admin(), "/v1/materials", &material())
        .await;
    let problem = assert_problem(res, 409, "conflict").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("NDPR_OXIDE"), "{detail}");
    for leak in [
        "constraint",
        "materials_",
        "UNIQUE",
        "duplicate key",
        "sqlite",
        "diesel",
    ] {
        assert!(
            !problem.to_string().contains(leak),
            "{leak} leaked: {problem}"
        );
    }
    // Same name, other code: the name is unique too.
    let mut same_name = material();
    same_name["code"] = json!("OTHER");
    same_name["name"] = json!("Material NDPR_OXIDE");
    assert_problem(
        app.post_as(&app.admin(), "/v1/materials", &same_name).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(material_count(&app).await, 1);
}

async fn post_json_text(app: &TestApp, token: &str, path: &str, body: &str) -> reqwest::Response {
    app.request(Method::POST, path)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// serde_json alone keeps the last of duplicate keys: `"quantity":"1","quantity":"500"` would
/// receive 500. Every body with a duplicate key, at any depth, is 400 and changes nothing.
#[tokio::test]
async fn duplicate_keys_are_400_at_any_depth() {
    let app = spawn_app().await;
    app.create_material("NDPR_OXIDE", 3, "0").await;
    app.create_facility("NV1").await;
    let operator = app.token(Role::Operator, "op-1");
    let lot = |quantities: &str| {
        format!(
            r#"{{"material":"NDPR_OXIDE","facility":"NV1",{quantities},"grade":"99.5",
                "origin_country":"AU","supplier":"Lynas","unit_cost_usd":"52.5"}}"#
        )
    };
    for quantities in [
        r#""quantity":"1","quantity":"500""#,
        r#""quantity":"500","quantity":"500""#,
        // The same key once escaped: still one key.
        r#""quantity":"1","quan\u0074ity":"500""#,
    ] {
        let res = post_json_text(&app, &operator, "/v1/lots", &lot(quantities)).await;
        let problem = assert_problem(res, 400, "malformed_request").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("duplicate key"),
            "{problem}"
        );
    }
    assert_eq!(app.figures("NDPR_OXIDE").await["on_hand"], "0");
    // Nested: without the check this was a type error about the map, not about its keys.
    let nested = r#"{"code":"GA","name":{"en":"Gallium","en":"Ga"},"unit":"kg","scale":3,
                     "strategic_floor":"0"}"#;
    let res = post_json_text(&app, &app.admin(), "/v1/materials", nested).await;
    let problem = assert_problem(res, 400, "malformed_request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("duplicate key"),
        "{problem}"
    );
    assert_eq!(material_count(&app).await, 1);
    let res = post_json_text(&app, &operator, "/v1/lots", &lot(r#""quantity":"500""#)).await;
    assert_eq!(res.status(), 201);
}

/// An empty body declared `application/json` is not JSON: 400. Commands with no required
/// field still take an empty body sent without a content type (API.md, Conventions).
#[tokio::test]
async fn an_empty_json_body_is_400_and_an_empty_untyped_body_is_no_fields() {
    let app = spawn_app().await;
    let res = post_raw(&app, Some("application/json"), Vec::new()).await;
    assert_problem(res, 400, "malformed_request").await;
    let m = app.create_manufacturer("Acme Magnetics").await;
    let suspend = |content_type: Option<&'static str>| {
        let mut req = app
            .request(Method::POST, &format!("/v1/manufacturers/{m}/suspend"))
            .bearer_auth(app.admin());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let res = suspend(Some("application/json")).await.unwrap();
    assert_problem(res, 400, "malformed_request").await;
    let res = suspend(Some("application/json; charset=utf-8"))
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_request").await;
    let res = suspend(None).await.unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "suspended", "{v}");
    // A body with a required field, empty and untyped: the fields are missing (422).
    let problem = assert_problem(
        post_raw(&app, None, Vec::new()).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "code");
}

async fn receive_at(app: &TestApp, operator: &str, received_at: &str) -> reqwest::Response {
    let lot = json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": "10",
        "grade": "99.5", "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "52.5",
        "received_at": received_at});
    app.post_as(operator, "/v1/lots", &lot).await
}

/// A leap second (`:60`) was acknowledged and PostgreSQL stored it as the next day's
/// 00:00:00.5; dates and times outside the years 1900-9999 were accepted. Every date input
/// goes through the one strict parser, which also refuses `2026-3-1`.
#[tokio::test]
async fn leap_seconds_and_dates_outside_1900_to_9999_are_422() {
    let app = spawn_app().await;
    app.create_material("NDPR_OXIDE", 3, "0").await;
    app.create_facility("NV1").await;
    let operator = app.token(Role::Operator, "op-1");
    for at in [
        "2016-12-31T23:59:60.5Z",
        "2016-12-31T23:59:60Z",
        "2017-01-01T00:59:60+01:00",
        "0000-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
    ] {
        let res = receive_at(&app, &operator, at).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"][0]["field"], "received_at",
            "{at}: {problem}"
        );
    }
    assert_eq!(app.figures("NDPR_OXIDE").await["on_hand"], "0");
    let res = receive_at(&app, &operator, "1900-01-01T00:00:00Z").await;
    assert_eq!(res.status(), 201);

    let manufacturer = app.token(Role::Manufacturer, "acme");
    let obligation = uuid::Uuid::now_v7();
    let facility = uuid::Uuid::now_v7();
    for date in ["0000-01-01", "1899-12-31", "2026-3-1", "+2026-03-01"] {
        let submission = json!({"material": "NDPR_OXIDE", "quantity": "1",
                                "justification": "line stopped", "needed_by": date});
        let res = app
            .post_as(&manufacturer, "/v1/drawdowns", &submission)
            .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"][0]["field"], "needed_by",
            "{date}: {problem}"
        );

        let reschedule = json!({"due_date": date, "reason": "supplier delay"});
        let path = format!("/v1/obligations/{obligation}/reschedule");
        let problem = assert_problem(
            app.post_as(&operator, &path, &reschedule).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            problem["errors"][0]["field"], "due_date",
            "{date}: {problem}"
        );

        let path = format!("/v1/loan-facilities/{facility}?as_of={date}");
        let res = app.get_as(&app.admin(), &path.replace('+', "%2B")).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "as_of", "{date}: {problem}");
    }
}
