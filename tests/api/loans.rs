//! Loan facilities, tranches, disbursements, interest, repayments and fees over HTTP, with
//! the ledger checked against the statements. Expected interest figures are computed by hand
//! in the comments (cents, rounded half-even).

use crate::helpers::{assert_problem, spawn_app, TestApp};
use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

const CASH: &str = "cash:reserve";

fn principal_account(facility: &str) -> String {
    format!("loan:{facility}:principal")
}

fn interest_account(facility: &str) -> String {
    format!("loan:{facility}:interest")
}

fn expense_account(facility: &str) -> String {
    format!("expense:interest:{facility}")
}

impl TestApp {
    fn operator(&self) -> String {
        self.token(Role::Operator, "otto")
    }

    async fn create_loan_facility(&self, body: &Value) -> Value {
        let res = self
            .post_as(&self.admin(), "/v1/loan-facilities", body)
            .await;
        assert_eq!(res.status(), 201, "creating a loan facility");
        res.json().await.unwrap()
    }

    /// A facility of `commitment` at `rate` under `day_count`, drawable until `availability_end`.
    pub(crate) async fn facility(
        &self,
        commitment: &str,
        rate: &str,
        day_count: &str,
        availability_end: &str,
    ) -> String {
        let body = json!({"lender": "Export-Import Bank", "kind": "direct_loan",
            "commitment_usd": commitment, "annual_rate": rate, "day_count": day_count,
            "availability_end": availability_end, "maturity_date": "2040-12-31"});
        self.create_loan_facility(&body).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn add_tranche(
        &self,
        facility: &str,
        amount: &str,
        available_from: &str,
    ) -> Response {
        let body =
            json!({"amount_usd": amount, "available_from": available_from, "purpose": "Stock"});
        self.post_as(
            &self.admin(),
            &format!("/v1/loan-facilities/{facility}/tranches"),
            &body,
        )
        .await
    }

    pub(crate) async fn tranche(
        &self,
        facility: &str,
        amount: &str,
        available_from: &str,
    ) -> String {
        let res = self.add_tranche(facility, amount, available_from).await;
        assert_eq!(res.status(), 201, "creating a tranche");
        let t: Value = res.json().await.unwrap();
        t["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn disburse(&self, tranche: &str, amount: &str, value_date: &str) -> Response {
        self.post_as(
            &self.operator(),
            &format!("/v1/tranches/{tranche}/disbursements"),
            &json!({"amount_usd": amount, "value_date": value_date}),
        )
        .await
    }

    async fn disbursed(&self, tranche: &str, amount: &str, value_date: &str) -> Value {
        let res = self.disburse(tranche, amount, value_date).await;
        assert_eq!(res.status(), 201, "disbursing {amount} on {value_date}");
        res.json().await.unwrap()
    }

    async fn accrue(&self, facility: &str, through: &str) -> Value {
        let res = self
            .post_as(
                &self.operator(),
                &format!("/v1/loan-facilities/{facility}/accruals"),
                &json!({"through": through}),
            )
            .await;
        assert_eq!(res.status(), 200, "accruing through {through}");
        res.json().await.unwrap()
    }

    async fn repay(&self, facility: &str, amount: &str, value_date: &str) -> Response {
        self.post_as(
            &self.operator(),
            &format!("/v1/loan-facilities/{facility}/repayments"),
            &json!({"amount_usd": amount, "value_date": value_date}),
        )
        .await
    }

    async fn statement(&self, facility: &str, as_of: &str) -> Value {
        let res = self
            .get_as(
                &self.operator(),
                &format!("/v1/loan-facilities/{facility}?as_of={as_of}"),
            )
            .await;
        assert_eq!(res.status(), 200, "statement as of {as_of}");
        res.json().await.unwrap()
    }

    /// (action, outcome) of every audit event, oldest first.
    async fn audit_summary(&self) -> Vec<(String, String)> {
        self.audit_events()
            .await
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, o)| ((*a).to_owned(), (*o).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_facility_is_created_listed_and_read() {
    let app = spawn_app().await;
    let body = json!({"lender": " Export-Import Bank ", "kind": "private_capital",
        "commitment_usd": "10000000000.00", "annual_rate": "0.047500", "day_count": "30/360",
        "availability_end": "2028-12-31", "maturity_date": "2041-02-01"});
    let created = app.create_loan_facility(&body).await;
    assert_eq!(created["lender"], "Export-Import Bank");
    assert_eq!(created["kind"], "private_capital");
    assert_eq!(created["commitment_usd"], "10000000000", "normalized");
    assert_eq!(created["annual_rate"], "0.0475", "normalized");
    assert_eq!(created["day_count"], "30/360");
    assert_eq!(created["availability_end"], "2028-12-31");
    assert_eq!(created["maturity_date"], "2041-02-01");
    assert_eq!(created["tranched_usd"], "0");
    assert_eq!(created["accrued_through"], Value::Null);
    assert_eq!(created["interest_posted_usd"], "0");
    let id = created["id"].as_str().unwrap();

    let auditor = app.token(Role::Auditor, "audrey");
    let res = app
        .get_as(&auditor, &format!("/v1/loan-facilities/{id}"))
        .await;
    assert_eq!(res.status(), 200);
    let today = stockpile::domain::time::today()
        .format("%Y-%m-%d")
        .to_string();
    let statement: Value = res.json().await.unwrap();
    assert_eq!(
        statement["as_of"],
        today.as_str(),
        "as_of defaults to today"
    );
    assert_eq!(statement["id"], id);
    assert_eq!(statement["commitment_usd"], "10000000000");
    for figure in [
        "drawn_usd",
        "principal_outstanding_usd",
        "interest_accrued_unpaid_usd",
    ] {
        assert_eq!(statement[figure], "0", "{figure}");
    }
    assert_eq!(statement["undrawn_usd"], "10000000000");
    assert_eq!(statement["tranches"], json!([]));

    let second = app.facility("1000", "0.05", "ACT/360", "2027-01-01").await;
    let first_page: Value = app
        .get_as(&auditor, "/v1/loan-facilities?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first_page["items"][0]["id"], id, "creation order");
    let next = first_page["next"].as_str().unwrap();
    let rest: Value = app
        .get_as(
            &auditor,
            &format!("/v1/loan-facilities?limit=1&after={next}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["id"], second.as_str());
    assert_eq!(rest["next"], Value::Null);
}

#[tokio::test]
async fn tranches_may_reach_the_commitment_but_not_exceed_it() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let t = app.add_tranche(&f, "600.5", "2025-01-01").await;
    assert_eq!(t.status(), 201);
    let t: Value = t.json().await.unwrap();
    assert_eq!(t["facility_id"], f.as_str());
    assert_eq!(t["amount_usd"], "600.5");
    assert_eq!(t["undrawn_usd"], "600.5");
    assert_eq!(t["drawn_usd"], "0");

    // One cent over the commitment is refused with the figures that decided it.
    let over = app.add_tranche(&f, "399.51", "2025-01-01").await;
    let problem = assert_problem(over, 422, "commitment_exceeded").await;
    assert_eq!(
        problem["rule"],
        json!({"requested_usd": "399.51", "commitment_usd": "1000",
               "tranched_usd": "600.5", "untranched_usd": "399.5"})
    );
    // Exactly up to the commitment is accepted; nothing more after it.
    assert_eq!(
        app.add_tranche(&f, "399.5", "2025-12-31").await.status(),
        201
    );
    let full = app.add_tranche(&f, "0.01", "2025-01-01").await;
    let problem = assert_problem(full, 422, "commitment_exceeded").await;
    assert_eq!(problem["rule"]["untranched_usd"], "0");

    // A tranche that could never be drawn, after the facility's availability end.
    let f2 = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let late = app.add_tranche(&f2, "1", "2026-01-01").await;
    let problem = assert_problem(late, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "available_from");

    let statement = app.statement(&f, "2025-06-01").await;
    assert_eq!(statement["tranched_usd"], "1000");
    assert_eq!(statement["tranches"].as_array().unwrap().len(), 2);
    let missing = app
        .add_tranche("0192f5a4-7c1e-7d2a-9b3c-4d5e6f708192", "1", "2025-01-01")
        .await;
    assert_problem(missing, 404, "not_found").await;
}

#[tokio::test]
async fn disbursements_follow_the_tranche_rules_at_their_boundaries() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-06-30").await;
    let t = app.tranche(&f, "500", "2025-03-01").await;

    let early = app.disburse(&t, "1", "2025-02-28").await;
    let problem = assert_problem(early, 422, "tranche_not_available").await;
    assert_eq!(
        problem["rule"],
        json!({"value_date": "2025-02-28", "available_from": "2025-03-01"})
    );
    let late = app.disburse(&t, "1", "2025-07-01").await;
    let problem = assert_problem(late, 422, "facility_not_available").await;
    assert_eq!(
        problem["rule"],
        json!({"value_date": "2025-07-01", "availability_end": "2025-06-30"})
    );

    // Both boundary days are drawable, and the tranche up to its last cent.
    let first = app.disbursed(&t, "200.25", "2025-03-01").await;
    assert_eq!(first["tranche_id"], t.as_str());
    assert_eq!(first["facility_id"], f.as_str());
    assert_eq!(first["amount_usd"], "200.25");
    assert_eq!(first["value_date"], "2025-03-01");
    assert_eq!(first["reference"], Value::Null);
    app.disbursed(&t, "299.75", "2025-06-30").await;
    let over = app.disburse(&t, "0.01", "2025-04-01").await;
    let problem = assert_problem(over, 422, "tranche_exceeded").await;
    assert_eq!(
        problem["rule"],
        json!({"requested_usd": "0.01", "tranche_usd": "500", "drawn_usd": "500",
               "undrawn_usd": "0"})
    );
    let unknown = app
        .disburse("0192f5a4-7c1e-7d2a-9b3c-4d5e6f708192", "1", "2025-04-01")
        .await;
    assert_problem(unknown, 404, "not_found").await;

    let statement = app.statement(&f, "2025-06-30").await;
    assert_eq!(statement["drawn_usd"], "500");
    assert_eq!(statement["undrawn_usd"], "500");
    assert_eq!(statement["tranches"][0]["undrawn_usd"], "0");
    assert_eq!(app.usd_cents(CASH), 50_000);
    assert_eq!(app.usd_cents(&principal_account(&f)), -50_000);

    let summary = app.audit_summary().await;
    let disbursements: Vec<(String, String)> = summary
        .into_iter()
        .filter(|(action, _)| action == "disbursement.create")
        .collect();
    assert_eq!(
        disbursements,
        pairs(&[
            ("disbursement.create", "tranche_not_available"),
            ("disbursement.create", "facility_not_available"),
            ("disbursement.create", "ok"),
            ("disbursement.create", "ok"),
            ("disbursement.create", "tranche_exceeded"),
            ("disbursement.create", "not_found"),
        ])
    );
}

/// Per day count: 1,000,000.00 drawn on 2024-01-15 and 500,000.00 on 2024-02-20 (across
/// Feb 29) at 5 %; on 2024-03-10 a repayment of the interest to date plus 300,000.00;
/// accrual through 2024-04-01.
///
/// Interest to 2024-03-10 (cent-days 1e8 × d1 + 1.5e8 × d2) and cumulative to 2024-04-01
/// (+ 1.2e8 × d3), × 0.05 / basis:
/// - ACT/360, days 36, 19, 22: 6.45e9 → 895,833.33; 9.09e9 → 1,262,500.
/// - ACT/365F, same days: 6.45e9 → 883,561.64; 9.09e9 → 1,245,205.48.
/// - 30/360, days 35, 20, 21: 6.5e9 → 902,777.78; 9.02e9 → 1,252,777.78.
#[tokio::test]
async fn interest_under_each_day_count_with_movements_in_the_middle() {
    let cases = [
        ("ACT/360", 895_833_i64, 1_262_500_i64),
        ("ACT/365F", 883_562, 1_245_205),
        ("30/360", 902_778, 1_252_778),
    ];
    let app = spawn_app().await;
    for (day_count, interest_to_repayment, cumulative) in cases {
        let f = app
            .facility("2000000", "0.05", day_count, "2024-12-31")
            .await;
        let t = app.tranche(&f, "2000000", "2024-01-01").await;
        app.disbursed(&t, "1000000", "2024-01-15").await;
        app.disbursed(&t, "500000", "2024-02-20").await;

        let interest = fmt(interest_to_repayment);
        let amount = fmt(30_000_000 + interest_to_repayment);
        let res = app.repay(&f, &amount, "2024-03-10").await;
        assert_eq!(res.status(), 201, "{day_count}");
        let repayment: Value = res.json().await.unwrap();
        assert_eq!(repayment["interest_usd"], interest.as_str(), "{day_count}");
        assert_eq!(repayment["principal_usd"], "300000", "{day_count}");
        assert_eq!(
            repayment["tranches"],
            json!([{"tranche_id": t, "principal_usd": "300000"}])
        );

        let accrual = app.accrue(&f, "2024-04-01").await;
        assert_eq!(
            accrual,
            json!({"interest_posted_usd": fmt(cumulative - interest_to_repayment),
                   "accrued_through": "2024-04-01"}),
            "{day_count}"
        );

        let statement = app.statement(&f, "2024-04-01").await;
        assert_eq!(statement["drawn_usd"], "1500000");
        assert_eq!(statement["undrawn_usd"], "500000");
        assert_eq!(statement["principal_outstanding_usd"], "1200000");
        assert_eq!(
            statement["interest_accrued_unpaid_usd"],
            fmt(cumulative - interest_to_repayment).as_str(),
            "{day_count}"
        );
        assert_eq!(statement["interest_posted_usd"], fmt(cumulative).as_str());
        assert_eq!(statement["accrued_through"], "2024-04-01");

        // The ledger says the same.
        assert_eq!(app.usd_cents(&principal_account(&f)), -120_000_000);
        assert_eq!(
            app.usd_cents(&interest_account(&f)),
            -(cumulative - interest_to_repayment)
        );
        assert_eq!(app.usd_cents(&expense_account(&f)), cumulative);
    }
}

fn fmt(cents: i64) -> String {
    stockpile::domain::money::format_usd(cents)
}

fn cents(usd: &Value) -> i64 {
    stockpile::domain::decimal::parse_fixed(usd.as_str().unwrap(), 2).unwrap()
}

#[tokio::test]
async fn accruing_again_through_a_date_posts_nothing_and_daily_accruals_do_not_drift() {
    let app = spawn_app().await;
    let daily = app
        .facility("1000000", "0.0475", "ACT/365F", "2025-12-31")
        .await;
    let once = app
        .facility("1000000", "0.0475", "ACT/365F", "2025-12-31")
        .await;
    for f in [&daily, &once] {
        let t = app.tranche(f, "1000000", "2025-01-01").await;
        app.disbursed(&t, "333333.33", "2025-01-01").await;
    }
    // 31 days of January on 33,333,333 cents at 4.75 %: × 0.0475 × 31 / 365
    // = 134,474.88 -> 134,475.
    let mut posted = 0;
    for day in 2..=31 {
        let through = format!("2025-01-{day:02}");
        let a = app.accrue(&daily, &through).await;
        posted += cents(&a["interest_posted_usd"]);
    }
    posted += cents(&app.accrue(&daily, "2025-02-01").await["interest_posted_usd"]);
    let one = app.accrue(&once, "2025-02-01").await;
    assert_eq!(one["interest_posted_usd"], "1344.75");
    assert_eq!(fmt(posted), "1344.75", "31 daily postings add up to one");

    let again = app.accrue(&once, "2025-02-01").await;
    assert_eq!(
        again,
        json!({"interest_posted_usd": "0", "accrued_through": "2025-02-01"})
    );
    let earlier = app.accrue(&once, "2025-01-15").await;
    assert_eq!(
        earlier,
        json!({"interest_posted_usd": "0", "accrued_through": "2025-02-01"})
    );
    assert_eq!(app.usd_cents(&interest_account(&daily)), -134_475);
    assert_eq!(app.usd_cents(&interest_account(&once)), -134_475);
    let accruals = app
        .audit_summary()
        .await
        .into_iter()
        .filter(|(action, _)| action == "loan_facility.accrue")
        .count();
    assert_eq!(
        accruals,
        31 + 3,
        "every accrual is audited, those that posted 0 too"
    );
}

#[tokio::test]
async fn statements_as_of_past_and_later_dates_agree_with_the_ledger() {
    let app = spawn_app().await;
    let f = app
        .facility("200000", "0.04", "ACT/365F", "2025-12-31")
        .await;
    let t = app.tranche(&f, "200000", "2025-01-01").await;
    app.disbursed(&t, "100000", "2025-01-10").await;
    app.disbursed(&t, "50000", "2025-03-01").await;
    // Interest to 2025-04-01: 1e7 × 50 days + 1.5e7 × 31 days = 9.65e8 cent-days,
    // × 0.04 / 365 = 105,753.42 -> 105,753; the rest of 20,000.00 repays principal.
    let res = app.repay(&f, "20000", "2025-04-01").await;
    assert_eq!(res.status(), 201);
    let repayment: Value = res.json().await.unwrap();
    assert_eq!(repayment["interest_usd"], "1057.53");
    assert_eq!(repayment["principal_usd"], "18942.47");

    // Before the second disbursement: 1e7 × 22 days × 0.04 / 365 = 24,109.59 -> 24,110.
    let past = app.statement(&f, "2025-02-01").await;
    assert_eq!(past["as_of"], "2025-02-01");
    assert_eq!(past["drawn_usd"], "100000");
    assert_eq!(past["undrawn_usd"], "100000");
    assert_eq!(past["principal_outstanding_usd"], "100000");
    assert_eq!(past["interest_accrued_unpaid_usd"], "241.1");
    assert_eq!(past["tranches"][0]["drawn_usd"], "100000");
    assert_eq!(past["tranches"][0]["undrawn_usd"], "100000");
    // A disbursement dated as_of counts; its interest does not yet (5e8 × 0.04 / 365
    // = 54,794.52 -> 54,795).
    let on_the_day = app.statement(&f, "2025-03-01").await;
    assert_eq!(on_the_day["drawn_usd"], "150000");
    assert_eq!(on_the_day["interest_accrued_unpaid_usd"], "547.95");

    // As of the repayment, everything is posted: the statement is the ledger.
    let at_repayment = app.statement(&f, "2025-04-01").await;
    assert_eq!(at_repayment["principal_outstanding_usd"], "131057.53");
    assert_eq!(at_repayment["interest_accrued_unpaid_usd"], "0");
    assert_eq!(app.usd_cents(&principal_account(&f)), -13_105_753);
    assert_eq!(app.usd_cents(&interest_account(&f)), 0);
    assert_eq!(app.usd_cents(&expense_account(&f)), 105_753);
    assert_eq!(app.usd_cents(CASH), 15_000_000 - 2_000_000);

    // Later than anything posted, the statement counts the interest not posted yet:
    // + 13,105,753 × 30 days = 1.35817259e9 cent-days in all, × 0.04 / 365
    // = 148,840.83 -> 148,841; 148,841 - 105,753 paid = 43,088.
    let later = app.statement(&f, "2025-05-01").await;
    assert_eq!(later["interest_accrued_unpaid_usd"], "430.88");
    assert_eq!(
        later["tranches"][0]["principal_outstanding_usd"],
        "131057.53"
    );
    assert_eq!(later["accrued_through"], "2025-04-01");
    let accrual = app.accrue(&f, "2025-05-01").await;
    assert_eq!(accrual["interest_posted_usd"], "430.88");
    assert_eq!(app.usd_cents(&interest_account(&f)), -43_088);
}

#[tokio::test]
async fn repayments_take_interest_then_the_oldest_tranche_and_never_more_than_owed() {
    let app = spawn_app().await;
    let f = app.facility("3000", "0.036", "ACT/360", "2025-12-31").await;
    // Created first but available later: the younger tranche.
    let younger = app.tranche(&f, "1000", "2025-02-01").await;
    let older = app.tranche(&f, "1000", "2025-01-01").await;
    app.disbursed(&younger, "1000", "2025-02-01").await;
    app.disbursed(&older, "800", "2025-02-01").await;
    // Interest to 2025-02-11: 180,000 cents × 10 days × 0.036 / 360 = 180 cents.
    // Owed then: 1.80 + 1,800.00.
    let over = app.repay(&f, "1801.81", "2025-02-11").await;
    let problem = assert_problem(over, 422, "repayment_exceeds_outstanding").await;
    assert_eq!(
        problem["rule"],
        json!({"requested_usd": "1801.81", "interest_due_usd": "1.8",
               "principal_outstanding_usd": "1800", "outstanding_usd": "1801.8"})
    );
    assert_eq!(
        app.statement(&f, "2025-02-11").await["accrued_through"],
        Value::Null,
        "the refused repayment posted nothing"
    );

    let res = app.repay(&f, "1001.8", "2025-02-11").await;
    assert_eq!(res.status(), 201);
    let repayment: Value = res.json().await.unwrap();
    assert_eq!(repayment["interest_usd"], "1.8");
    assert_eq!(repayment["principal_usd"], "1000");
    assert_eq!(
        repayment["tranches"],
        json!([{"tranche_id": older, "principal_usd": "800"},
               {"tranche_id": younger, "principal_usd": "200"}])
    );
    // Exactly what is left is accepted, and then nothing is owed.
    assert_eq!(app.repay(&f, "800", "2025-02-11").await.status(), 201);
    let statement = app.statement(&f, "2025-12-31").await;
    assert_eq!(statement["principal_outstanding_usd"], "0");
    assert_eq!(statement["interest_accrued_unpaid_usd"], "0");
    assert_eq!(statement["drawn_usd"], "1800");
    assert_eq!(app.usd_cents(&principal_account(&f)), 0);
    assert_eq!(app.usd_cents(&interest_account(&f)), 0);
    assert_eq!(app.usd_cents(&expense_account(&f)), 180);
    assert_eq!(app.usd_cents(CASH), -180);
    let nothing = app.repay(&f, "0.01", "2025-03-01").await;
    assert_problem(nothing, 422, "repayment_exceeds_outstanding").await;
}

/// The responses' statuses, sorted.
fn statuses(responses: Vec<Response>) -> Vec<u16> {
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    statuses
}

#[tokio::test]
async fn racing_writes_keep_tranches_and_interest_within_their_rules() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    // Twelve tranches of 100.00 race for a commitment of 1,000.00.
    let tranches = join_all((0..12).map(|_| app.add_tranche(&f, "100", "2025-01-01"))).await;
    let mut created = Vec::new();
    let mut refused = 0;
    for res in tranches {
        match res.status().as_u16() {
            201 => created.push(
                res.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            _ => {
                assert_problem(res, 422, "commitment_exceeded").await;
                refused += 1;
            }
        }
    }
    assert_eq!((created.len(), refused), (10, 2));

    // Fifteen disbursements of 10.00 race for one tranche of 100.00.
    let t = &created[0];
    let draws = join_all((0..15).map(|_| app.disburse(t, "10", "2025-01-02"))).await;
    assert_eq!(statuses(draws), [[201; 10].as_slice(), &[422; 5]].concat());

    // Disbursements dated inside the month race an accrual through its end: each lands
    // before the accrual (and earns interest in it) or is refused.
    let u = &created[1];
    let (accrual, draws) = tokio::join!(
        app.accrue(&f, "2025-03-01"),
        join_all((0..8).map(|_| app.disburse(u, "10", "2025-02-01")))
    );
    for status in statuses(draws) {
        assert!(status == 201 || status == 422, "{status}");
    }
    let statement = app.statement(&f, "2025-03-01").await;
    assert_eq!(statement["accrued_through"], "2025-03-01");
    assert_eq!(
        statement["interest_accrued_unpaid_usd"], statement["interest_posted_usd"],
        "what was posted is the interest on what was drawn"
    );
    assert_eq!(
        accrual["interest_posted_usd"],
        statement["interest_posted_usd"]
    );
    let drawn: Vec<&Value> = statement["tranches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|tranche| tranche["id"] == t.as_str())
        .map(|tranche| &tranche["drawn_usd"])
        .collect();
    assert_eq!(drawn, ["100"]);
    assert_eq!(
        -app.usd_cents(&interest_account(&f)),
        cents(&statement["interest_posted_usd"])
    );
}

#[tokio::test]
async fn no_movement_may_be_dated_inside_the_accrued_period() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let t = app.tranche(&f, "1000", "2025-01-01").await;
    app.disbursed(&t, "100", "2025-01-01").await;
    app.accrue(&f, "2025-02-01").await;
    let before = app.usd_cents(CASH);

    let res = app.disburse(&t, "100", "2025-01-31").await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "value_date");
    let res = app.repay(&f, "1", "2025-01-31").await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "value_date");
    assert_eq!(app.usd_cents(CASH), before, "nothing was written");

    // On the accrued-through date itself: accepted.
    app.disbursed(&t, "100", "2025-02-01").await;
    assert_eq!(app.repay(&f, "1", "2025-02-01").await.status(), 201);
}

#[tokio::test]
async fn fees_are_recorded_in_the_ledger() {
    let app = spawn_app().await;
    let m = app.create_manufacturer("Acme Magnetics").await;
    let path = format!("/v1/manufacturers/{m}/fees");
    let res = app
        .post_as(
            &app.admin(),
            &path,
            &json!({"kind": "entry", "amount_usd": "250000.50", "memo": "Entry, 2026"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let fee: Value = res.json().await.unwrap();
    assert_eq!(fee["manufacturer_id"], m);
    assert_eq!(fee["kind"], "entry");
    assert_eq!(fee["amount_usd"], "250000.5");
    assert_eq!(fee["memo"], "Entry, 2026");
    let res = app
        .post_as(
            &app.admin(),
            &path,
            &json!({"kind": "carrying", "amount_usd": "1000"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let fee: Value = res.json().await.unwrap();
    assert_eq!(fee["memo"], Value::Null);

    assert_eq!(app.usd_cents(CASH), 25_000_050 + 100_000);
    assert_eq!(app.usd_cents("income:fees:entry"), -25_000_050);
    assert_eq!(app.usd_cents("income:fees:carrying"), -100_000);

    let bad_kind = app
        .post_as(
            &app.admin(),
            &path,
            &json!({"kind": "annual", "amount_usd": "1"}),
        )
        .await;
    assert_problem(bad_kind, 422, "validation_failed").await;
    let not_a_manufacturer = app
        .post_as(
            &app.admin(),
            "/v1/manufacturers/acme/fees",
            &json!({"kind": "entry", "amount_usd": "1"}),
        )
        .await;
    assert_problem(not_a_manufacturer, 404, "not_found").await;
    let by_operator = app
        .post_as(
            &app.operator(),
            &path,
            &json!({"kind": "entry", "amount_usd": "1"}),
        )
        .await;
    assert_problem(by_operator, 403, "forbidden").await;
    assert_eq!(app.usd_cents(CASH), 25_000_050 + 100_000);
    assert_eq!(
        app.audit_summary().await,
        pairs(&[
            ("manufacturer.create", "ok"),
            ("fee.create", "ok"),
            ("fee.create", "ok"),
            ("fee.create", "validation_failed"),
            ("fee.create", "not_found"),
            ("fee.create", "forbidden"),
        ])
    );
}

#[tokio::test]
async fn roles_are_enforced() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let t = app.tranche(&f, "1000", "2025-01-01").await;
    let manufacturer = app.token(Role::Manufacturer, "buyer");
    let auditor = app.token(Role::Auditor, "audrey");
    let operator = app.operator();
    let facility_body = json!({"lender": "L", "kind": "direct_loan", "commitment_usd": "1",
        "annual_rate": "0.05", "day_count": "ACT/360", "availability_end": "2025-12-31",
        "maturity_date": "2030-12-31"});
    let movement = json!({"amount_usd": "1", "value_date": "2025-01-02"});
    let tranche_body = json!({"amount_usd": "1", "available_from": "2025-01-01", "purpose": "x"});
    let writes = [
        ("/v1/loan-facilities".to_owned(), facility_body.clone()),
        (format!("/v1/loan-facilities/{f}/tranches"), tranche_body),
        (format!("/v1/tranches/{t}/disbursements"), movement.clone()),
        (
            format!("/v1/loan-facilities/{f}/accruals"),
            json!({"through": "2025-01-02"}),
        ),
        (format!("/v1/loan-facilities/{f}/repayments"), movement),
        (
            "/v1/manufacturers/0192f5a4-7c1e-7d2a-9b3c-4d5e6f708192/fees".to_owned(),
            json!({"kind": "entry", "amount_usd": "1"}),
        ),
    ];
    for (path, body) in &writes {
        for token in [&manufacturer, &auditor] {
            assert_problem(app.post_as(token, path, body).await, 403, "forbidden").await;
        }
        assert_eq!(
            app.post_as("forged", path, body).await.status(),
            401,
            "{path}"
        );
    }
    // Structures are the admin's; operators record movements.
    for (path, body) in [&writes[0], &writes[1], &writes[5]] {
        assert_problem(app.post_as(&operator, path, body).await, 403, "forbidden").await;
    }
    for path in [
        "/v1/loan-facilities".to_owned(),
        format!("/v1/loan-facilities/{f}"),
    ] {
        assert_problem(app.get_as(&manufacturer, &path).await, 403, "forbidden").await;
        assert_eq!(app.get_as(&auditor, &path).await.status(), 200);
        assert_eq!(app.get_as(&operator, &path).await.status(), 200);
    }
    assert_eq!(app.usd_cents(CASH), 0, "no refused write moved money");
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let valid = json!({"lender": "L", "kind": "direct_loan", "commitment_usd": "1000",
        "annual_rate": "0.05", "day_count": "ACT/360", "availability_end": "2025-12-31",
        "maturity_date": "2030-12-31"});
    for (field, value) in [
        ("commitment_usd", "0"),
        ("commitment_usd", "1.001"),
        ("commitment_usd", "1e3"),
        ("annual_rate", "4.75%"),
        ("annual_rate", "1.01"),
        ("day_count", "ACT/365"),
        ("kind", "grant"),
        ("availability_end", "2026-02-30"),
        ("availability_end", "2031-01-01"),
        ("maturity_date", "31/12/2030"),
        ("lender", " "),
    ] {
        let mut body = valid.clone();
        body[field] = json!(value);
        let res = app.post_as(&admin, "/v1/loan-facilities", &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{field} = {value}");
    }
    let mut number = valid.clone();
    number["commitment_usd"] = json!(1000);
    let res = app.post_as(&admin, "/v1/loan-facilities", &number).await;
    assert_problem(res, 400, "malformed_request").await;
    let mut unknown = valid.clone();
    unknown["currency"] = json!("USD");
    let res = app.post_as(&admin, "/v1/loan-facilities", &unknown).await;
    assert_problem(res, 400, "malformed_request").await;
    let page: Value = app
        .get_as(&admin, "/v1/loan-facilities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]), "nothing was written");

    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let t = app.tranche(&f, "1000", "2025-01-01").await;
    for (amount, date, field) in [
        ("0", "2025-01-02", "amount_usd"),
        ("-1", "2025-01-02", "amount_usd"),
        ("0.001", "2025-01-02", "amount_usd"),
        ("1", "2025-1-2", "value_date"),
    ] {
        let res = app.disburse(&t, amount, date).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field);
        let res = app.repay(&f, amount, date).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let res = app
        .post_as(
            &app.operator(),
            &format!("/v1/loan-facilities/{f}/accruals"),
            &json!({"through": "tomorrow"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "through");
    let res = app
        .get_as(&admin, &format!("/v1/loan-facilities/{f}?as_of=2025-02-30"))
        .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "as_of");
    let res = app
        .get_as(&admin, &format!("/v1/loan-facilities/{f}?asof=2025-01-01"))
        .await;
    assert_problem(res, 400, "malformed_request").await;

    let unknown = "0192f5a4-7c1e-7d2a-9b3c-4d5e6f708192";
    assert_problem(
        app.get_as(&admin, &format!("/v1/loan-facilities/{unknown}"))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.repay(unknown, "1", "2025-01-02").await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .post_as(
            &app.operator(),
            &format!("/v1/loan-facilities/{unknown}/accruals"),
            &json!({"through": "2025-01-02"}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;

    let statement = app.statement(&f, "2025-12-31").await;
    assert_eq!(statement["drawn_usd"], "0");
    assert_eq!(statement["accrued_through"], Value::Null);
    assert_eq!(app.usd_cents(CASH), 0);
    let entries = {
        let mut conn = app.db().get().unwrap();
        stockpile::db::ledger::head(&mut conn).unwrap().0
    };
    assert_eq!(entries, 0, "no journal entry was written");
}

#[tokio::test]
async fn a_repeated_disbursement_key_is_replayed_not_drawn_twice() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let t = app.tranche(&f, "1000", "2025-01-01").await;
    let send = || {
        app.request(
            reqwest::Method::POST,
            &format!("/v1/tranches/{t}/disbursements"),
        )
        .bearer_auth(app.operator())
        .header("idempotency-key", "disb-1")
        .json(&json!({"amount_usd": "600", "value_date": "2025-01-02"}))
        .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.usd_cents(CASH), 60_000);
}

#[tokio::test]
async fn every_loan_write_is_audited_with_what_it_touched() {
    let app = spawn_app().await;
    let f = app.facility("1000", "0.05", "ACT/360", "2025-12-31").await;
    let t = app.tranche(&f, "1000", "2025-01-01").await;
    let d = app.disbursed(&t, "100", "2025-01-01").await;
    app.accrue(&f, "2025-01-11").await;
    let r: Value = app
        .repay(&f, "10", "2025-01-11")
        .await
        .json()
        .await
        .unwrap();
    let m = app.create_manufacturer("Acme").await;
    let fee: Value = app
        .post_as(
            &app.admin(),
            &format!("/v1/manufacturers/{m}/fees"),
            &json!({"kind": "carrying", "amount_usd": "5"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<(String, String, String, String)> = app
        .audit_events()
        .await
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (
                text("action"),
                text("target"),
                text("outcome"),
                text("actor_role"),
            )
        })
        .collect();
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let expected = [
        ("loan_facility.create", f.clone(), "admin"),
        ("tranche.create", t.clone(), "admin"),
        ("disbursement.create", id(&d), "operator"),
        ("loan_facility.accrue", f.clone(), "operator"),
        ("repayment.create", id(&r), "operator"),
        ("manufacturer.create", m.clone(), "admin"),
        ("fee.create", id(&fee), "admin"),
    ];
    let expected: Vec<(String, String, String, String)> = expected
        .into_iter()
        .map(|(action, target, role)| (action.into(), target, "ok".into(), role.into()))
        .collect();
    assert_eq!(events, expected);
}

#[tokio::test]
async fn the_loan_endpoints_are_documented() {
    let app = spawn_app().await;
    let doc: Value = app
        .request(reqwest::Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (method, path, roles) in [
        ("post", "/v1/loan-facilities", json!(["admin"])),
        (
            "get",
            "/v1/loan-facilities",
            json!(["operator", "auditor", "admin"]),
        ),
        (
            "get",
            "/v1/loan-facilities/{id}",
            json!(["operator", "auditor", "admin"]),
        ),
        (
            "post",
            "/v1/loan-facilities/{id}/tranches",
            json!(["admin"]),
        ),
        (
            "post",
            "/v1/tranches/{id}/disbursements",
            json!(["operator", "admin"]),
        ),
        (
            "post",
            "/v1/loan-facilities/{id}/accruals",
            json!(["operator", "admin"]),
        ),
        (
            "post",
            "/v1/loan-facilities/{id}/repayments",
            json!(["operator", "admin"]),
        ),
        ("post", "/v1/manufacturers/{id}/fees", json!(["admin"])),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["loans"]), "{method} {path}");
        assert_eq!(op["security"][0]["bearer"], roles, "{method} {path}");
    }
    // Every schema the document refers to is in it.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{r}");
    }
}

/// A lot bought with a tranche: its cost is disbursed in the same transaction and one journal
/// entry records the stock and the money; a purchase the tranche rules refuse writes nothing.
#[tokio::test]
async fn lots_bought_with_a_tranche_are_paid_in_the_same_transaction() {
    let app = spawn_app().await;
    app.create_material("NDPR_OXIDE", 3, "0").await;
    app.create_facility("NV1").await;
    let f = app
        .facility("1000000", "0.05", "ACT/360", "2026-12-31")
        .await;
    let t = app.tranche(&f, "100000", "2026-01-01").await;
    let lot = |quantity: &str, received_at: &str| {
        json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": quantity, "grade": "99.5",
               "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "52.125",
               "received_at": received_at, "tranche_id": t})
    };
    // 1250.5 kg × 52.125 = 65,182.3125 → 65,182.31 (half-even).
    let res = app
        .post_as(
            &app.operator(),
            "/v1/lots",
            &lot("1250.5", "2026-03-02T10:00:00Z"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let received: Value = res.json().await.unwrap();
    assert_eq!(received["tranche_id"], t.as_str());
    let entry = app.export_jsonl().await.pop().unwrap();
    assert_eq!(entry["kind"], "lot_received");
    assert_eq!(
        entry["postings"],
        json!([{"account": "inventory:NV1:NDPR_OXIDE", "asset": "NDPR_OXIDE", "amount": "1250.5"},
               {"account": principal_account(&f), "asset": "USD", "amount": "-65182.31"},
               {"account": "supplier:NDPR_OXIDE", "asset": "NDPR_OXIDE", "amount": "-1250.5"},
               {"account": "supplier:NDPR_OXIDE", "asset": "USD", "amount": "65182.31"}])
    );
    let s = app.statement(&f, "2026-03-02").await;
    assert_eq!(s["drawn_usd"], "65182.31");

    // Refused by the tranche rules: nothing is written, no stock, no money.
    let before = (
        app.export_jsonl().await.len(),
        app.figures("NDPR_OXIDE").await,
    );
    let too_much = app
        .post_as(
            &app.operator(),
            "/v1/lots",
            &lot("1000", "2026-03-02T10:00:00Z"),
        )
        .await;
    assert_problem(too_much, 422, "tranche_exceeded").await;
    let early = app
        .post_as(
            &app.operator(),
            "/v1/lots",
            &lot("1", "2025-12-31T23:59:59Z"),
        )
        .await;
    assert_problem(early, 422, "tranche_not_available").await;
    let mut unknown = lot("1", "2026-03-02T10:00:00Z");
    unknown["tranche_id"] = json!("no-such-tranche");
    let p = assert_problem(
        app.post_as(&app.operator(), "/v1/lots", &unknown).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "tranche_id");
    assert_eq!(
        before,
        (
            app.export_jsonl().await.len(),
            app.figures("NDPR_OXIDE").await
        )
    );
    assert_eq!(
        app.statement(&f, "2026-03-02").await["drawn_usd"],
        "65182.31"
    );
    assert_eq!(app.verify().await["ok"], true);
}
