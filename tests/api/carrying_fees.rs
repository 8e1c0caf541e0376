//! Carrying fees accrued on allocations into receivables, payments against them and the
//! manufacturers' statements, with figures worked by hand.

use crate::helpers::{assert_problem, is_postgres, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

/// A reserve with material ND (kg, 3 decimals) and manufacturers to allocate it to.
struct Fees {
    app: TestApp,
}

impl Fees {
    async fn new() -> Self {
        let app = spawn_app().await;
        app.create_material("ND", 3, "0").await;
        Fees { app }
    }

    fn op(&self) -> String {
        self.app.token(Role::Operator, "op-1")
    }

    fn token_of(&self, manufacturer: &str) -> String {
        let claims = json!({"sub": format!("sys-{manufacturer}"), "role": "manufacturer",
                            "org": manufacturer, "exp": crate::helpers::now() + 3600,
                            "iss": self.app.settings.auth.issuer,
                            "aud": self.app.settings.auth.audience});
        self.app.token_with_claims(claims)
    }

    /// Sets `m`'s allocation of ND; returns the change as its history shows it.
    async fn allocate(&self, m: &str, quantity: &str, price: &str) -> Value {
        let res = self
            .app
            .request(
                Method::PUT,
                &format!("/v1/manufacturers/{m}/allocations/ND"),
            )
            .bearer_auth(self.app.admin())
            .json(&json!({"quantity": quantity, "locked_price_usd": price}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let path = format!("/v1/manufacturers/{m}/allocations/ND/history?limit=1");
        let page: Value = self
            .app
            .get_as(&self.app.admin(), &path)
            .await
            .json()
            .await
            .unwrap();
        page["items"][0].clone()
    }

    /// Places every change of `m`'s allocation made on `from` or later on `to` instead, as if
    /// it had been made then.
    async fn backdate(&self, m: &str, to: &str) {
        self.app
            .sql(&format!(
                "UPDATE allocation_history SET effective_date = '{to}' \
                 WHERE manufacturer_id = '{m}' AND effective_date >= '{to}'"
            ))
            .await;
    }

    async fn accrue(&self, through: &str) -> reqwest::Response {
        self.app
            .post_as(
                &self.op(),
                "/v1/fees/accruals",
                &json!({"through": through}),
            )
            .await
    }

    async fn accrued(&self, through: &str) -> Value {
        let res = self.accrue(through).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    async fn pay(&self, m: &str, amount: &str, value_date: &str) -> reqwest::Response {
        self.app
            .post_as(
                &self.op(),
                &format!("/v1/manufacturers/{m}/payments"),
                &json!({"amount_usd": amount, "value_date": value_date}),
            )
            .await
    }

    async fn statement_as(&self, token: &str, m: &str, as_of: &str) -> reqwest::Response {
        self.app
            .get_as(
                token,
                &format!("/v1/manufacturers/{m}/statement?as_of={as_of}"),
            )
            .await
    }

    async fn statement(&self, m: &str, as_of: &str) -> Value {
        let res = self.statement_as(&self.app.admin(), m, as_of).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// A USD account's balance at the end of `day` on the effective basis.
    async fn effective(&self, account: &str, day: &str) -> Value {
        let path =
            format!("/v1/ledger/balances?basis=effective&as_of={day}&account_prefix={account}");
        let res = self.app.get_as(&self.app.admin(), &path).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["account"] == account)
            .map_or(json!("0"), |b| b["balance"].clone())
    }
}

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

#[tokio::test]
async fn fees_for_an_allocation_changed_mid_period() {
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    // 1,000 kg at 12.5 USD/kg from 2026-01-01: 12,500 USD locked.
    f.allocate(&a, "1000", "12.5").await;
    f.backdate(&a, "2026-01-01").await;

    // The days before 2026-01-16: 15 × 12,500 × 0.02 / 365 = 10.2739... -> 10.27.
    let first = f.accrued("2026-01-16").await;
    assert_eq!(
        first,
        json!({"through": "2026-01-16", "fees_accrued_usd": "10.27",
               "manufacturers": [{"manufacturer_id": a, "fees_accrued_usd": "10.27"}]})
    );
    // 1,500 kg from 2026-01-16 (made that day, fees accrued through it).
    f.allocate(&a, "1500", "12.5").await;
    f.backdate(&a, "2026-01-16").await;
    // 15 × 12,500 + 16 × 18,750 = 487,500 USD-days × 0.02 / 365 = 26.7123... -> 26.71,
    // of which 10.27 was posted.
    let second = f.accrued("2026-02-01").await;
    assert_eq!(second["fees_accrued_usd"], "16.44");
    assert_eq!(second["manufacturers"][0]["fees_accrued_usd"], "16.44");
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 2_671);
    assert_eq!(f.app.usd_cents("income:fees:carrying"), -2_671);

    // Accruing through a date reached posts nothing; an earlier one neither.
    for again in ["2026-02-01", "2026-01-20"] {
        assert_eq!(
            f.accrued(again).await,
            json!({"through": "2026-02-01", "fees_accrued_usd": "0", "manufacturers": []})
        );
    }
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 2_671);

    // The statement at the end of a day counts the accruals effective by then (each the day
    // before its `through`), and the terms in force that day.
    let end_of_january = f.statement(&a, "2026-01-31").await;
    assert_eq!(
        end_of_january,
        json!({"manufacturer_id": a, "as_of": "2026-01-31",
               "fees_accrued_through": "2026-02-01", "fees_accrued_usd": "26.71",
               "fees_paid_usd": "0", "balance_due_usd": "26.71",
               "allocations": [{"material": "ND", "quantity": "1500", "locked_price_usd": "12.5",
                                "locked_value_usd": "18750",
                                "carrying_fees_accrued_usd": "26.71"}]})
    );
    let mid = f.statement(&a, "2026-01-15").await;
    assert_eq!(mid["fees_accrued_through"], "2026-01-16");
    assert_eq!(mid["fees_accrued_usd"], "10.27");
    assert_eq!(mid["allocations"][0]["quantity"], "1000");
    assert_eq!(mid["allocations"][0]["locked_value_usd"], "12500");
    assert_eq!(mid["allocations"][0]["carrying_fees_accrued_usd"], "10.27");
    let before = f.statement(&a, "2026-01-14").await;
    assert_eq!(before["fees_accrued_through"], Value::Null);
    assert_eq!(before["balance_due_usd"], "0");
    assert_eq!(before["allocations"][0]["carrying_fees_accrued_usd"], "0");
    let before_any = f.statement(&a, "2025-12-31").await;
    assert_eq!(before_any["allocations"], json!([]));

    // The ledger agrees on the effective basis, and its entries carry their dates.
    let receivable = format!("receivable:fees:{a}");
    assert_eq!(f.effective(&receivable, "2026-01-14").await, "0");
    assert_eq!(f.effective(&receivable, "2026-01-15").await, "10.27");
    assert_eq!(f.effective(&receivable, "2026-01-31").await, "26.71");
    let entries: Vec<Value> = f
        .app
        .export_jsonl()
        .await
        .into_iter()
        .filter(|e| e["kind"] == "carrying_fee")
        .collect();
    let dates: Vec<&Value> = entries.iter().map(|e| &e["effective_date"]).collect();
    assert_eq!(dates, [&json!("2026-01-15"), &json!("2026-01-31")]);
    assert_eq!(f.app.verify().await["ok"], true);
}

#[tokio::test]
async fn a_change_takes_effect_from_the_date_fees_are_accrued_through() {
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    let b = f.app.create_manufacturer("Beta").await;
    let made = f.allocate(&a, "1000", "12.5").await;
    assert_eq!(made["effective_date"], day(0), "before any accrual: today");
    f.allocate(&b, "1", "0.25").await;

    // Today's fee: 12,500 × 0.02 / 365 = 0.6849 -> 0.68; b's 0.25 × 0.02 / 365 rounds to 0
    // and posts nothing.
    let accrued = f.accrued(&day(1)).await;
    assert_eq!(
        accrued["manufacturers"],
        json!([{"manufacturer_id": a, "fees_accrued_usd": "0.68"}])
    );

    // Fees are accrued through tomorrow: a change made now counts from tomorrow, so what
    // was accrued for today stays.
    let change = f.allocate(&a, "2000", "12.5").await;
    assert_eq!(change["effective_date"], day(1));
    assert_eq!(f.accrued(&day(1)).await["fees_accrued_usd"], "0");
    let today = f.statement(&a, &day(0)).await;
    assert_eq!(today["fees_accrued_usd"], "0.68");
    assert_eq!(
        today["allocations"][0]["quantity"], "1000",
        "in force today"
    );
    let tomorrow = f.statement(&a, &day(1)).await;
    assert_eq!(tomorrow["allocations"][0]["quantity"], "2000");
    assert_eq!(
        tomorrow["allocations"][0]["carrying_fees_accrued_usd"],
        "0.68"
    );
    assert_eq!(tomorrow["balance_due_usd"], "0.68");

    // A transfer's changes count from tomorrow as well, on both sides.
    let res = f
        .app
        .post_as(
            &f.app.admin(),
            "/v1/allocation-transfers",
            &json!({"from_manufacturer_id": a, "to_manufacturer_id": b, "material": "ND",
                    "quantity": "500", "price_usd": "0"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    for m in [&a, &b] {
        let path = format!("/v1/manufacturers/{m}/allocations/ND/history?limit=1");
        let page: Value = f
            .app
            .get_as(&f.app.admin(), &path)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"][0]["effective_date"], day(1));
    }

    // Beyond tomorrow is refused and changes nothing.
    for bad in [day(2), "2026-02-30".into(), "tomorrow".into()] {
        let res = f.accrue(&bad).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "through", "{bad}");
    }
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 68);
    let mut outcomes = f.app.audit_outcomes("carrying_fees.accrue").await;
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "ok",
            "ok",
            "validation_failed",
            "validation_failed",
            "validation_failed"
        ]
    );
}

#[tokio::test]
async fn a_payment_above_the_receivable_is_refused() {
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    let b = f.app.create_manufacturer("Beta").await;
    f.allocate(&a, "1000", "12.5").await;
    f.backdate(&a, "2026-01-01").await;
    // 31 days: 12,500 × 0.02 × 31 / 365 = 21.2328... -> 21.23.
    assert_eq!(f.accrued("2026-02-01").await["fees_accrued_usd"], "21.23");
    let cash = f.app.usd_cents("cash:reserve");

    let res = f.pay(&a, "21.24", "2026-02-03").await;
    let body = assert_problem(res, 422, "payment_exceeds_due").await;
    assert_eq!(
        body["rule"],
        json!({"requested_usd": "21.24", "balance_due_usd": "21.23"})
    );
    assert_eq!(f.app.usd_cents("cash:reserve"), cash, "nothing changed");
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 2_123);

    let res = f
        .app
        .post_as(
            &f.op(),
            &format!("/v1/manufacturers/{a}/payments"),
            &json!({"amount_usd": "20", "value_date": "2026-02-03", "memo": "January"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let paid: Value = res.json().await.unwrap();
    assert_eq!(paid["amount_usd"], "20");
    assert_eq!(paid["value_date"], "2026-02-03");
    assert_eq!(paid["memo"], "January");
    assert_eq!(paid["manufacturer_id"], a);
    assert_eq!(f.app.usd_cents("cash:reserve"), cash + 2_000);
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 123);

    // On the effective basis the payment counts from its value date.
    let before = f.statement(&a, "2026-02-02").await;
    assert_eq!(
        (&before["fees_paid_usd"], &before["balance_due_usd"]),
        (&json!("0"), &json!("21.23"))
    );
    let after = f.statement(&a, "2026-02-03").await;
    assert_eq!(
        (&after["fees_paid_usd"], &after["balance_due_usd"]),
        (&json!("20"), &json!("1.23"))
    );
    let receivable = format!("receivable:fees:{a}");
    assert_eq!(f.effective(&receivable, "2026-02-03").await, "1.23");

    let res = f.pay(&a, "1.24", "2026-02-04").await;
    let body = assert_problem(res, 422, "payment_exceeds_due").await;
    assert_eq!(body["rule"]["balance_due_usd"], "1.23");
    assert_eq!(f.pay(&a, "1.23", "2026-02-04").await.status(), 201);
    assert_eq!(f.statement(&a, &day(0)).await["balance_due_usd"], "0");
    // Nothing is due from a manufacturer never charged.
    let body = assert_problem(f.pay(&b, "0.01", &day(0)).await, 422, "payment_exceeds_due").await;
    assert_eq!(body["rule"]["balance_due_usd"], "0");

    // Bad input names its fields and changes nothing; an unknown manufacturer is not found.
    let res = f
        .app
        .post_as(
            &f.op(),
            &format!("/v1/manufacturers/{a}/payments"),
            &json!({"amount_usd": "0.001", "value_date": day(1), "memo": ""}),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&Value> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["field"])
        .collect();
    assert_eq!(
        fields,
        [&json!("amount_usd"), &json!("value_date"), &json!("memo")]
    );
    let unknown = "0192f5e0-0000-7000-8000-000000000009";
    assert_problem(f.pay(unknown, "1", &day(0)).await, 404, "not_found").await;
    assert_eq!(f.app.usd_cents("cash:reserve"), cash + 2_123);
    let mut outcomes = f.app.audit_outcomes("fee_payment.create").await;
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "not_found",
            "ok",
            "ok",
            "payment_exceeds_due",
            "payment_exceeds_due",
            "payment_exceeds_due",
            "validation_failed"
        ]
    );
    assert_eq!(f.app.verify().await["ok"], true);
}

#[tokio::test]
async fn a_payment_is_recorded_once_under_its_idempotency_key() {
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    f.allocate(&a, "1000", "12.5").await;
    f.backdate(&a, "2026-01-01").await;
    f.accrued("2026-02-01").await;
    let send = || {
        f.app
            .request(Method::POST, &format!("/v1/manufacturers/{a}/payments"))
            .bearer_auth(f.op())
            .header("idempotency-key", "pay-january")
            .json(&json!({"amount_usd": "20", "value_date": "2026-02-03"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 123);

    // An accrual under a key answers the same when replayed, even once the date is reached.
    let accrue = || {
        f.app
            .request(Method::POST, "/v1/fees/accruals")
            .bearer_auth(f.op())
            .header("idempotency-key", "february")
            .json(&json!({"through": "2026-03-01"}))
            .send()
    };
    let posted: Value = accrue().await.unwrap().json().await.unwrap();
    // 28 days: 12,500 × 0.02 × 59 / 365 = 40.41 cumulative, less 21.23.
    assert_eq!(posted["fees_accrued_usd"], "19.18");
    let replayed: Value = accrue().await.unwrap().json().await.unwrap();
    assert_eq!(replayed, posted);
    assert_eq!(
        f.app.usd_cents(&format!("receivable:fees:{a}")),
        123 + 1_918
    );
}

#[tokio::test]
async fn a_manufacturer_reads_only_its_own_statement() {
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    let b = f.app.create_manufacturer("Beta").await;
    f.allocate(&a, "1000", "12.5").await;
    let own = f.statement_as(&f.token_of(&a), &a, &day(0)).await;
    assert_eq!(own.status(), 200);
    for role in [Role::Operator, Role::Auditor, Role::Admin] {
        let res = f
            .statement_as(&f.app.token(role, "staff"), &a, &day(0))
            .await;
        assert_eq!(res.status(), 200, "{role:?}");
    }
    // Another's statement answers as an id that does not exist.
    let unknown = "0192f5e0-0000-7000-8000-000000000009";
    let foreign = assert_problem(
        f.statement_as(&f.token_of(&b), &a, &day(0)).await,
        404,
        "not_found",
    )
    .await;
    let missing = assert_problem(
        f.statement_as(&f.token_of(&b), unknown, &day(0)).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(foreign["detail"], format!("no manufacturer {a}"));
    assert_eq!(missing["detail"], format!("no manufacturer {unknown}"));
    assert_eq!(foreign["title"], missing["title"]);
    // Without as_of: today.
    let res = f
        .app
        .get_as(&f.app.admin(), &format!("/v1/manufacturers/{a}/statement"))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["as_of"], day(0));
    let res = f.statement_as(&f.app.admin(), &a, "2026-1-1").await;
    assert_problem(res, 422, "validation_failed").await;
}

/// Concurrent payments of one receivable never pay more than is due: the receivable's own
/// guarded update refuses the ones that would take it below zero.
#[tokio::test]
async fn concurrent_payments_never_pay_more_than_is_due() {
    if !is_postgres() {
        return;
    }
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    f.allocate(&a, "1000", "12.5").await;
    f.backdate(&a, "2026-01-01").await;
    assert_eq!(f.accrued("2026-02-01").await["fees_accrued_usd"], "21.23");
    let cash = f.app.usd_cents("cash:reserve");
    let payments = (0..12).map(|_| f.pay(&a, "5", "2026-02-03"));
    let statuses: Vec<u16> = futures_util::future::join_all(payments)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    let paid = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(paid, 4, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        8,
        "{statuses:?}"
    );
    assert_eq!(f.app.usd_cents(&format!("receivable:fees:{a}")), 123);
    assert_eq!(f.app.usd_cents("cash:reserve"), cash + 2_000);
    assert_eq!(f.statement(&a, &day(0)).await["fees_paid_usd"], "20");
    assert_eq!(f.app.verify().await["ok"], true);
}

/// An allocation set before allocations kept their history gets one change from the
/// migration (its terms, effective the day it was last set), so its fees accrue; the
/// migration's down and up run again cleanly.
#[tokio::test]
async fn the_migration_gives_an_allocation_without_history_its_terms() {
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    f.allocate(&a, "1000", "12.5").await;
    f.app
        .sql(&format!(
            "DELETE FROM allocation_history WHERE manufacturer_id = '{a}'; \
             UPDATE allocations SET updated_at = '2026-01-01 09:30:00' WHERE manufacturer_id = '{a}'"
        ))
        .await;
    let backend = if is_postgres() { "postgres" } else { "sqlite" };
    let dir = format!(
        "{}/migrations/{backend}/2026-12-04-000030_carrying_fees",
        env!("CARGO_MANIFEST_DIR")
    );
    for step in ["down", "up"] {
        let sql = std::fs::read_to_string(format!("{dir}/{step}.sql")).unwrap();
        f.app.sql(&sql).await;
    }
    let path = format!("/v1/manufacturers/{a}/allocations/ND/history");
    let page: Value = f
        .app
        .get_as(&f.app.admin(), &path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"],
        json!([{"at": "2026-01-01T09:30:00.000000Z", "actor": "migration", "quantity": "1000",
                "locked_price_usd": "12.5", "monthly_consumption": "0",
                "effective_date": "2026-01-01"}])
    );
    // 31 days of 12,500 at 2 %: 21.23.
    assert_eq!(f.accrued("2026-02-01").await["fees_accrued_usd"], "21.23");
    // A later change lists after it.
    f.allocate(&a, "1500", "12.5").await;
    let page: Value = f
        .app
        .get_as(&f.app.admin(), &path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][1]["actor"], "migration");
}

/// An allocation change made while an accrual is under way waits for it, and then counts
/// from the date the accrual reached (PostgreSQL: the change reads the accrual state sharing
/// its lock; a plain read would see the date before the accrual and rewrite accrued fees).
#[tokio::test]
async fn a_change_waits_for_an_accrual_under_way() {
    use diesel::connection::SimpleConnection;
    let f = Fees::new().await;
    let a = f.app.create_manufacturer("Acme").await;
    f.allocate(&a, "1000", "12.5").await;
    let mut accrual = f.app.open_write_transaction();
    accrual
        .batch_execute(&format!(
            "UPDATE fee_accrual_state SET accrued_through = '{}' WHERE id = 1",
            day(1)
        ))
        .unwrap();
    let change = f
        .app
        .request(
            Method::PUT,
            &format!("/v1/manufacturers/{a}/allocations/ND"),
        )
        .bearer_auth(f.app.admin())
        .json(&json!({"quantity": "2000", "locked_price_usd": "12.5"}))
        .send();
    let change = tokio::spawn(change);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!change.is_finished(), "the change waits for the accrual");
    accrual.batch_execute("COMMIT").unwrap();
    assert_eq!(change.await.unwrap().unwrap().status(), 200);
    let path = format!("/v1/manufacturers/{a}/allocations/ND/history?limit=1");
    let page: Value = f
        .app
        .get_as(&f.app.admin(), &path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["quantity"], "2000");
    assert_eq!(page["items"][0]["effective_date"], day(1));
}
