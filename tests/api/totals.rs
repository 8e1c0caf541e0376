//! Figures at the limits of storage, `i64` minor units: a write that would take a running
//! total past them, or derive an amount past them, is refused with 422 naming the field and
//! the limit, and changes nothing (PostgreSQL raised on such sums, SQLite turned them into
//! floats); verify checks every cached figure against what it caches.

use crate::drawdowns::Reserve;
use crate::helpers::{assert_problem, run_cli, spawn_app, TestApp};
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

/// `i64::MAX` minor units of a scale-0 material, and of cents.
const MAX: &str = "9223372036854775807";
const MAX_USD: &str = "92233720368547758.07";

/// Asserts a 422 `validation_failed` on `field` whose message names the limit.
async fn too_large(res: reqwest::Response, field: &str, limit: &str) {
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], field, "{p}");
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(limit), "{message}");
}

/// What a refused write must leave as it was: the journal, the material and its lots.
async fn state(app: &TestApp, material: &str) -> (usize, Value, Value) {
    let lots: Value = app
        .get_as(&app.admin(), &format!("/v1/lots?material={material}"))
        .await
        .json()
        .await
        .unwrap();
    (
        app.export_jsonl().await.len(),
        app.figures(material).await,
        lots["items"].clone(),
    )
}

fn lot(quantity: &str) -> Value {
    json!({"material": "SB", "facility": "NV1", "quantity": quantity, "grade": "99.6",
           "origin_country": "CN", "supplier": "Hunan Chenzhou", "unit_cost_usd": "0"})
}

#[tokio::test]
async fn stock_on_hand_cannot_pass_what_storage_holds() {
    let app = spawn_app().await;
    app.create_material("SB", 0, "0").await;
    app.create_facility("NV1").await;
    let op = app.token(Role::Operator, "op-1");
    let res = app.post_as(&op, "/v1/lots", &lot(MAX)).await;
    assert_eq!(res.status(), 201);
    let before = state(&app, "SB").await;
    assert_eq!(before.1["on_hand"], MAX);

    too_large(
        app.post_as(&op, "/v1/lots", &lot("1")).await,
        "quantity",
        MAX,
    )
    .await;
    let adjustment = json!({"material": "SB", "facility": "NV1", "quantity": "1",
                            "reason": "recount"});
    let res = app
        .post_as(&op, "/v1/inventory/adjustments", &adjustment)
        .await;
    too_large(res, "quantity", MAX).await;

    assert_eq!(
        state(&app, "SB").await,
        before,
        "the refusals changed nothing"
    );
    let report = app.verify().await;
    assert_eq!(report["ok"], true, "{report}");
}

#[tokio::test]
async fn cash_cannot_pass_what_storage_holds() {
    let app = spawn_app().await;
    let m = app.create_manufacturer("Acme Magnetics").await;
    let path = format!("/v1/manufacturers/{m}/fees");
    let fee = |amount: &str| json!({"kind": "entry", "amount_usd": amount});
    let res = app.post_as(&app.admin(), &path, &fee(MAX_USD)).await;
    assert_eq!(res.status(), 201);
    let entries = app.export_jsonl().await.len();

    too_large(
        app.post_as(&app.admin(), &path, &fee("0.01")).await,
        "amount_usd",
        MAX_USD,
    )
    .await;
    assert_eq!(app.usd_cents("cash:reserve"), i64::MAX);
    assert_eq!(app.export_jsonl().await.len(), entries);
    assert_eq!(app.verify().await["ok"], true);
}

#[tokio::test]
async fn tranches_and_draws_at_the_limit_are_refused_by_their_rules_not_by_an_overflow() {
    let app = spawn_app().await;
    let facility = app.facility(MAX_USD, "0.05", "ACT/360", "2030-12-31").await;
    let tranche = app.tranche(&facility, MAX_USD, "2026-01-01").await;
    // A facility's tranches sum past the commitment: its rule, not a 500 from the sum.
    let res = app.add_tranche(&facility, "0.01", "2026-01-01").await;
    assert_problem(res, 422, "commitment_exceeded").await;

    let res = app.disburse(&tranche, MAX_USD, "2026-02-01").await;
    assert_eq!(res.status(), 201);
    let res = app.disburse(&tranche, "0.01", "2026-02-01").await;
    assert_problem(res, 422, "tranche_exceeded").await;
    assert_eq!(app.usd_cents("cash:reserve"), i64::MAX);
    assert_eq!(app.verify().await["ok"], true);
}

#[tokio::test]
async fn a_purchase_beyond_storage_is_refused_not_capped() {
    let app = spawn_app().await;
    app.create_material("SB", 0, "0").await;
    app.create_facility("NV1").await;
    let facility = app.facility(MAX_USD, "0.05", "ACT/360", "2030-12-31").await;
    let tranche = app.tranche(&facility, MAX_USD, "2026-01-01").await;
    // 10^15 kg at $1,000,000/kg is $10^21, past the largest amount of cents stored.
    let mut body = lot("1000000000000000");
    body["unit_cost_usd"] = json!("1000000");
    body["tranche_id"] = json!(tranche);
    body["received_at"] = json!("2026-03-01T00:00:00Z");
    let before = state(&app, "SB").await;
    let res = app
        .post_as(&app.token(Role::Operator, "op-1"), "/v1/lots", &body)
        .await;
    too_large(res, "unit_cost_usd", MAX_USD).await;
    assert_eq!(state(&app, "SB").await, before);
    assert_eq!(app.usd_cents(&format!("loan:{facility}:principal")), 0);
}

#[tokio::test]
async fn an_obligation_due_beyond_storage_is_refused_not_capped() {
    // 9×10^18 released comes back as 9.45×10^18 with the 5 % premium: past an i64.
    let r = Reserve::new(9_000_000_000_000_000_000, 0).await;
    let m = r
        .manufacturer("Acme Magnetics", "critical", "9000000000000000000", "0")
        .await;
    r.disruption("severe").await;
    let dd = r.submitted(&m, "9000000000000000000").await;
    let id = dd["id"].as_str().unwrap();
    let before = state(&r.app, "GA").await;

    too_large(r.approve(1, id, json!({})).await, "quantity", MAX).await;
    let now: Value = r
        .app
        .get_as(&r.op(1), &format!("/v1/drawdowns/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "pending_approval");
    assert_eq!(now["approvals"], json!([]));
    assert_eq!(state(&r.app, "GA").await, before);
    let obligations: Value = r
        .app
        .get_as(&r.op(1), "/v1/obligations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(obligations["items"], json!([]));
}

/// A reserve with stock, a pending hold and a fee, then one cached figure changed by hand:
/// the chain still links, and verify must still say which figure is wrong.
async fn tampered(statement: &str) -> (TestApp, Value) {
    let r = Reserve::new(1_000, 0).await;
    let m = r
        .manufacturer("Acme Magnetics", "critical", "500", "10")
        .await;
    r.disruption("severe").await;
    r.submitted(&m, "100").await;
    let fee = json!({"kind": "entry", "amount_usd": "250"});
    let res = r
        .app
        .post_as(&r.app.admin(), &format!("/v1/manufacturers/{m}/fees"), &fee)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(r.app.verify().await["ok"], true, "untouched, it verifies");
    r.app.sql(statement).await;
    let report = r.app.verify().await;
    assert_eq!(report["ok"], false, "{report}");
    (r.app, report)
}

#[tokio::test]
async fn verify_finds_a_balance_changed_by_hand() {
    let (app, report) =
        tampered("UPDATE balances SET balance = balance + 1 WHERE account = 'cash:reserve'").await;
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("cash:reserve"), "{reason}");
    assert_eq!(report["entries"], app.export_jsonl().await.len());
    assert!(report.get("head_hash").is_none(), "{report}");

    // The command line says the same, and exits 1.
    let out = run_cli(&app.settings.database.url, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cash:reserve"));
}

#[tokio::test]
async fn verify_finds_a_balance_row_removed_by_hand() {
    let (_, report) = tampered("DELETE FROM balances WHERE account = 'cash:reserve'").await;
    assert!(
        report["reason"].as_str().unwrap().contains("cash:reserve"),
        "{report}"
    );
}

#[tokio::test]
async fn verify_finds_a_material_figure_that_disagrees_with_its_balances_and_lots() {
    let (_, report) =
        tampered("UPDATE materials SET on_hand = on_hand + 5 WHERE code = 'GA'").await;
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains("GA") && reason.contains("inventory balances"),
        "{reason}"
    );

    let (_, report) = tampered("UPDATE lots SET quantity_on_hand = quantity_on_hand - 1").await;
    assert!(
        report["reason"].as_str().unwrap().contains("lots"),
        "{report}"
    );

    let (_, report) = tampered("UPDATE materials SET held = held + 1 WHERE code = 'GA'").await;
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains("held") && reason.contains("100"),
        "{reason}"
    );
}
