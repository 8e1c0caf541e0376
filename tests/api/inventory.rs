//! Lots, transfers and adjustments: every movement, its figures, and refusals that change
//! nothing.

use crate::helpers::{assert_problem, spawn_app, TestApp};
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

async fn setup() -> TestApp {
    let app = spawn_app().await;
    app.create_material("NDPR_OXIDE", 3, "100").await;
    app.create_facility("NV1").await;
    app.create_facility("TX2").await;
    app
}

fn operator(app: &TestApp) -> String {
    app.token(Role::Operator, "op-1")
}

async fn balance(app: &TestApp, account: &str) -> String {
    let b: Value = app
        .get_as(
            &app.admin(),
            &format!("/v1/ledger/balances?account_prefix={account}"),
        )
        .await
        .json()
        .await
        .unwrap();
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["account"] == account)
        .map_or("0".to_owned(), |i| {
            i["balance"].as_str().unwrap().to_owned()
        })
}

#[tokio::test]
async fn receipts_transfers_and_adjustments_move_stock_and_figures() {
    let app = setup().await;
    let old = app
        .receive("NDPR_OXIDE", "NV1", "1000.5", "2026-01-01T00:00:00Z")
        .await;
    let new = app
        .receive("NDPR_OXIDE", "NV1", "500", "2026-02-01T00:00:00Z")
        .await;
    assert_eq!(old["quantity_on_hand"], "1000.5");
    assert_eq!(old["entry_seq"], 1);
    let f = app.figures("NDPR_OXIDE").await;
    assert_eq!(
        (
            f["on_hand"].as_str(),
            f["available"].as_str(),
            f["releasable"].as_str()
        ),
        (Some("1500.5"), Some("1500.5"), Some("1400.5"))
    );

    // Transfer takes the oldest lot first, then the next, and splits them into new lots.
    let t = app
        .post_as(&operator(&app), "/v1/inventory/transfers",
            &json!({"material": "NDPR_OXIDE", "from_facility": "NV1", "to_facility": "TX2", "quantity": "1200"}))
        .await;
    assert_eq!(t.status(), 201);
    let t: Value = t.json().await.unwrap();
    assert_eq!(t["picks"][0]["lot_id"], old["id"]);
    assert_eq!(t["picks"][0]["quantity"], "1000.5");
    assert_eq!(t["picks"][1]["lot_id"], new["id"]);
    assert_eq!(t["picks"][1]["quantity"], "199.5");
    let moved: Value = app
        .get_as(
            &app.admin(),
            &format!("/v1/lots/{}", t["picks"][0]["new_lot_id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["facility"], "TX2");
    assert_eq!(moved["source_lot_id"], old["id"]);
    assert_eq!(moved["received_at"], old["received_at"], "provenance kept");
    let old_now: Value = app
        .get_as(
            &app.admin(),
            &format!("/v1/lots/{}", old["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old_now["quantity_on_hand"], "0");
    assert_eq!(
        app.figures("NDPR_OXIDE").await["on_hand"],
        "1500.5",
        "transfers keep the total"
    );
    assert_eq!(balance(&app, "inventory:NV1:NDPR_OXIDE").await, "300.5");
    assert_eq!(balance(&app, "inventory:TX2:NDPR_OXIDE").await, "1200");

    // A loss at NV1, then a count correction upwards.
    let loss = app
        .post_as(&operator(&app), "/v1/inventory/adjustments",
            &json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": "-0.5", "reason": "sampling"}))
        .await;
    assert_eq!(loss.status(), 201);
    let gain = app
        .post_as(&operator(&app), "/v1/inventory/adjustments",
            &json!({"material": "NDPR_OXIDE", "facility": "TX2", "quantity": "10", "reason": "recount"}))
        .await;
    assert_eq!(gain.status(), 201);
    let gain: Value = gain.json().await.unwrap();
    assert_eq!(gain["quantity"], "10");
    let f = app.figures("NDPR_OXIDE").await;
    assert_eq!(f["on_hand"], "1510");
    assert_eq!(balance(&app, "inventory:NV1:NDPR_OXIDE").await, "300");
    assert_eq!(balance(&app, "inventory:TX2:NDPR_OXIDE").await, "1210");
    assert_eq!(balance(&app, "adjustment:NDPR_OXIDE").await, "-9.5");
    assert_eq!(balance(&app, "supplier:NDPR_OXIDE").await, "-1500.5");

    let lots: Value = app
        .get_as(&app.admin(), "/v1/lots?facility=TX2")
        .await
        .json()
        .await
        .unwrap();
    let on_hand: Vec<&str> = lots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["quantity_on_hand"].as_str().unwrap())
        .collect();
    assert_eq!(
        on_hand,
        ["1000.5", "209.5"],
        "the correction went to the newest lot"
    );
    assert_eq!(app.verify().await["ok"], true);
}

async fn entries(app: &TestApp) -> usize {
    app.export_jsonl().await.len()
}

#[tokio::test]
async fn bad_movements_are_refused_and_change_nothing() {
    let app = setup().await;
    app.receive("NDPR_OXIDE", "NV1", "100", "2026-01-01T00:00:00Z")
        .await;
    let before = (entries(&app).await, app.figures("NDPR_OXIDE").await);
    let op = operator(&app);
    let lot = |field: &str, value: Value| {
        let mut b = json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": "1", "grade": "99",
                           "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "1"});
        b[field] = value;
        b
    };
    for (field, value) in [
        ("quantity", json!("0")),
        ("quantity", json!("-5")),
        ("quantity", json!("1.0001")),
        ("material", json!("UNOBTAINIUM")),
        ("facility", json!("XX9")),
        ("grade", json!("0")),
        ("origin_country", json!("ZZ")),
        ("unit_cost_usd", json!("1.1234567")),
        ("received_at", json!("yesterday")),
    ] {
        let res = app
            .post_as(&op, "/v1/lots", &lot(field, value.clone()))
            .await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], field, "{field}={value}");
    }
    let res = app
        .post_as(&op, "/v1/lots", &lot("quantity", json!(5)))
        .await;
    assert_problem(res, 400, "malformed_request").await;

    let adjust = |q: &str, reason: &str| json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": q, "reason": reason});
    let p = assert_problem(
        app.post_as(&op, "/v1/inventory/adjustments", &adjust("-1", " "))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "reason");
    let mut no_reason = adjust("-1", "x");
    no_reason.as_object_mut().unwrap().remove("reason");
    assert_problem(
        app.post_as(&op, "/v1/inventory/adjustments", &no_reason)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.post_as(&op, "/v1/inventory/adjustments", &adjust("0", "x"))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let p = assert_problem(
        app.post_as(
            &op,
            "/v1/inventory/adjustments",
            &adjust("-100.001", "loss"),
        )
        .await,
        422,
        "insufficient_stock",
    )
    .await;
    assert_eq!(p["rule"]["requested"], "100.001");
    assert_eq!(p["rule"]["available"], "100");
    // No lot at TX2 to correct upwards.
    let mut tx2 = adjust("5", "found");
    tx2["facility"] = json!("TX2");
    assert_problem(
        app.post_as(&op, "/v1/inventory/adjustments", &tx2).await,
        422,
        "validation_failed",
    )
    .await;

    let transfer = |from: &str, to: &str, q: &str| json!({"material": "NDPR_OXIDE", "from_facility": from, "to_facility": to, "quantity": q});
    assert_problem(
        app.post_as(&op, "/v1/inventory/transfers", &transfer("NV1", "NV1", "1"))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let p = assert_problem(
        app.post_as(&op, "/v1/inventory/transfers", &transfer("TX2", "NV1", "1"))
            .await,
        422,
        "insufficient_stock",
    )
    .await;
    assert_eq!(p["rule"]["facility"], "TX2");
    assert_eq!(p["rule"]["available"], "0");
    assert_problem(
        app.post_as(
            &op,
            "/v1/inventory/transfers",
            &transfer("NV1", "TX2", "100.5"),
        )
        .await,
        422,
        "insufficient_stock",
    )
    .await;
    // Manufacturers and auditors may not move stock.
    for role in [Role::Manufacturer, Role::Auditor] {
        let t = app.token(role, "x");
        assert_problem(
            app.post_as(&t, "/v1/inventory/transfers", &transfer("NV1", "TX2", "1"))
                .await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            app.post_as(&t, "/v1/lots", &lot("quantity", json!("1")))
                .await,
            403,
            "forbidden",
        )
        .await;
    }

    let after = (entries(&app).await, app.figures("NDPR_OXIDE").await);
    assert_eq!(before, after, "no entry and no figure changed");
    let refused = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e["outcome"] != "ok")
        .count();
    assert!(refused >= 20, "refusals are audited: {refused}");
}

#[tokio::test]
async fn adjustments_cannot_take_held_stock() {
    let app = setup().await;
    app.receive("NDPR_OXIDE", "NV1", "100", "2026-01-01T00:00:00Z")
        .await;
    let db = app.db();
    // Hold 70 directly through the ledger (drawdowns do this through the API).
    db.run(|conn| {
        stockpile::db::tx::write(conn, |conn| {
            stockpile::ledger::holds::place(
                conn,
                &stockpile::domain::code::Code::parse("NDPR_OXIDE").unwrap(),
                70_000,
                0,
                None,
            )
            .map_err(stockpile::services::ServiceError::from)
        })
    })
    .await
    .unwrap();
    let f = app.figures("NDPR_OXIDE").await;
    assert_eq!(
        (f["held"].as_str(), f["available"].as_str()),
        (Some("70"), Some("30"))
    );
    let op = operator(&app);
    let body = |q: &str| json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": q, "reason": "loss"});
    let p = assert_problem(
        app.post_as(&op, "/v1/inventory/adjustments", &body("-30.001"))
            .await,
        422,
        "insufficient_stock",
    )
    .await;
    assert_eq!(p["rule"]["available"], "30");
    assert_eq!(
        app.post_as(&op, "/v1/inventory/adjustments", &body("-30"))
            .await
            .status(),
        201
    );
    let f = app.figures("NDPR_OXIDE").await;
    assert_eq!(
        (
            f["on_hand"].as_str(),
            f["held"].as_str(),
            f["available"].as_str()
        ),
        (Some("70"), Some("70"), Some("0"))
    );
}
