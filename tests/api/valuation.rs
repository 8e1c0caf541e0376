//! The reserve's economics: the valuation against the loans and the net return, against
//! hand-worked figures, on the effective basis.

use crate::drawdowns::Reserve;
use crate::helpers::assert_problem;
use serde_json::{json, Value};

async fn report(r: &Reserve, path: &str) -> Value {
    let res = r.app.get_as(&r.app.admin(), path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn mark(r: &Reserve, material: &str, price: &str, as_of: &str) {
    let res = r
        .app
        .post_as(
            &r.op(1),
            &format!("/v1/materials/{material}/prices"),
            &json!({"price_usd": price, "as_of": as_of, "source": "Fastmarkets assessment"}),
        )
        .await;
    assert_eq!(res.status(), 201, "mark {material} {as_of}");
}

/// A reserve with history:
/// - GA (scale 0): 500 received 2026-01-01 at TX2, 500 on 2026-02-01 at NV1; 200 released to
///   Acme today, 105 replenished today (100 base, 5 premium).
/// - ND (scale 3): 12.5 received 2026-01-10, never priced.
/// - A loan facility (5 %, ACT/360): 30,000 disbursed with value date 2026-01-02, interest
///   accrued through 2026-01-20: 30,000 × 0.05 × 18 / 360 = 75.00 (entry effective 2026-01-19).
/// - An entry fee of 250 today.
///
/// Returns the reserve, the facility and the manufacturer.
async fn history() -> (Reserve, String, String) {
    let r = Reserve::new(1000, 0).await;
    r.app.create_material("ND", 3, "0").await;
    r.app
        .receive("ND", "NV1", "12.5", "2026-01-10T09:00:00Z")
        .await;
    let f = r
        .app
        .facility("100000", "0.05", "ACT/360", "2030-12-31")
        .await;
    let t = r.app.tranche(&f, "50000", "2026-01-01").await;
    assert_eq!(
        r.app.disburse(&t, "30000", "2026-01-02").await.status(),
        201
    );
    let res = r
        .app
        .post_as(
            &r.op(1),
            &format!("/v1/loan-facilities/{f}/accruals"),
            &json!({"through": "2026-01-20"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["interest_posted_usd"],
        "75"
    );

    let m = r.manufacturer("Acme", "commercial", "200", "310").await;
    r.disruption("severe").await;
    let dd = r.submitted(&m, "200").await;
    let released = r.approved(&dd).await;
    let ob = released["obligation_id"].as_str().unwrap();
    let res = r
        .app
        .post_as(
            &r.op(1),
            &format!("/v1/obligations/{ob}/replenishments"),
            &json!({"facility": "NV1", "quantity": "105", "grade": "99.9"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = r
        .app
        .post_as(
            &r.app.admin(),
            &format!("/v1/manufacturers/{m}/fees"),
            &json!({"kind": "entry", "amount_usd": "250"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    (r, f, m)
}

#[tokio::test]
async fn valuation_and_net_return_come_out_to_the_cent() {
    let (r, f, _) = history().await;
    let today = chrono::Utc::now().date_naive();

    // Entries carry the dates their events took effect.
    let entries = r.app.export_jsonl().await;
    let effective = |kind: &str| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| e["effective_date"].clone())
            .collect()
    };
    assert_eq!(effective("loan_disbursement"), vec![json!("2026-01-02")]);
    assert_eq!(effective("loan_interest"), vec![json!("2026-01-19")]);
    assert_eq!(
        effective("lot_received"),
        vec![
            json!("2026-01-01"),
            json!("2026-02-01"),
            json!("2026-01-10")
        ]
    );
    assert_eq!(effective("release"), vec![json!(today.to_string())]);

    // Before any mark the premium has no price: listed, not counted.
    let net = report(&r, "/v1/reports/net-return").await;
    assert_eq!(net["unpriced"], json!(["GA"]));
    assert_eq!(
        net["premium_returned"],
        json!([{"material": "GA", "quantity": "5", "value_usd": null}])
    );
    assert_eq!(net["premium_value_usd"], "0");
    // 250 fees − 75 interest.
    assert_eq!(net["net_usd"], "175");

    mark(&r, "GA", "80", "2026-01-15").await;
    mark(&r, "GA", "100", &today.to_string()).await;

    // 2026-01-20: GA 500 on hand (the NV1 lot is effective 2026-02-01) at 80 = 40,000.00;
    // ND unpriced; owed 30,000 + 75 = 30,075.00; coverage 40,000 / 30,075 = 1.33000.. → 1.3300.
    let v = report(&r, "/v1/reports/valuation?as_of=2026-01-20").await;
    assert_eq!(
        v,
        json!({
            "as_of": "2026-01-20",
            "materials": [
                {"material": "GA", "unit": "kg", "on_hand": "500", "released_outstanding": "0",
                 "price_usd": "80", "price_as_of": "2026-01-15",
                 "inventory_value_usd": "40000", "receivable_value_usd": "0"},
                {"material": "ND", "unit": "kg", "on_hand": "12.5", "released_outstanding": "0",
                 "price_usd": null, "price_as_of": null,
                 "inventory_value_usd": null, "receivable_value_usd": null}
            ],
            "inventory_value_usd": "40000",
            "receivable_value_usd": "0",
            "unpriced": ["ND"],
            "loans": {"principal_outstanding_usd": "30000", "interest_accrued_unpaid_usd": "75",
                      "owed_usd": "30075"},
            "coverage_ratio": "1.33"
        })
    );
    // Before anything was owed or held.
    let early = report(&r, "/v1/reports/valuation?as_of=2025-12-31").await;
    assert_eq!(early["coverage_ratio"], Value::Null);
    assert_eq!(early["loans"]["owed_usd"], "0");
    assert_eq!(early["materials"][0]["on_hand"], "0");

    // Today: GA 1000 − 200 + 105 = 905 on hand at 100 = 90,500.00; 200 − 100 = 100 out with
    // Acme = 10,000.00; the loans exactly as the facility's statement shows them.
    let v = report(&r, "/v1/reports/valuation").await;
    assert_eq!(v["as_of"], today.to_string());
    assert_eq!(v["materials"][0]["on_hand"], "905");
    assert_eq!(v["materials"][0]["released_outstanding"], "100");
    assert_eq!(v["inventory_value_usd"], "90500");
    assert_eq!(v["receivable_value_usd"], "10000");
    let statement = report(&r, &format!("/v1/loan-facilities/{f}?as_of={today}")).await;
    assert_eq!(
        v["loans"]["principal_outstanding_usd"],
        statement["principal_outstanding_usd"]
    );
    assert_eq!(
        v["loans"]["interest_accrued_unpaid_usd"],
        statement["interest_accrued_unpaid_usd"]
    );

    // Net return to tomorrow: 250 fees + 5 × 100 premium − 75 interest = 675.00.
    let net = report(&r, "/v1/reports/net-return").await;
    assert_eq!(
        net,
        json!({
            "from": "2026-01-01",
            "to": (today + chrono::Days::new(1)).to_string(),
            "fees_income_usd": {"entry": "250", "carrying": "0", "total": "250"},
            "premium_returned": [{"material": "GA", "quantity": "5", "value_usd": "500"}],
            "premium_value_usd": "500",
            "interest_expense_usd": "75",
            "net_usd": "675",
            "unpriced": []
        })
    );
    // [from, to): the interest effective 2026-01-19 is in the period ending 2026-01-20 only.
    let before = report(&r, "/v1/reports/net-return?from=2026-01-01&to=2026-01-19").await;
    assert_eq!(
        (
            before["interest_expense_usd"].clone(),
            before["net_usd"].clone()
        ),
        (json!("0"), json!("0"))
    );
    let through = report(&r, "/v1/reports/net-return?from=2026-01-19&to=2026-01-20").await;
    assert_eq!(
        (
            through["interest_expense_usd"].clone(),
            through["net_usd"].clone()
        ),
        (json!("75"), json!("-75"))
    );
    assert_eq!(through["premium_returned"], json!([]));

    // CSV: the materials' rows.
    let res = r
        .app
        .get_as(
            &r.app.admin(),
            "/v1/reports/valuation?as_of=2026-01-20&format=csv",
        )
        .await;
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("material,"), "{csv}");
    assert!(
        lines[1].starts_with("GA,") && lines[1].contains("40000"),
        "{csv}"
    );

    // Bad input.
    for (path, status, code) in [
        (
            "/v1/reports/valuation?as_of=2026-13-01",
            422,
            "validation_failed",
        ),
        ("/v1/reports/valuation?format=xml", 400, "malformed_request"),
        (
            "/v1/reports/valuation?at=2026-01-01",
            400,
            "malformed_request",
        ),
        (
            "/v1/reports/net-return?from=2026-02-01&to=2026-01-01",
            422,
            "validation_failed",
        ),
        (
            "/v1/reports/net-return?to=tomorrow",
            422,
            "validation_failed",
        ),
    ] {
        assert_problem(r.app.get_as(&r.app.admin(), path).await, status, code).await;
    }
    // A manufacturer may not read them.
    let acme = r.token_of(&crate::helpers::now().to_string());
    assert_problem(
        r.app.get_as(&acme, "/v1/reports/valuation").await,
        403,
        "forbidden",
    )
    .await;
}
