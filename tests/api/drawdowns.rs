//! Drawdowns under declared disruptions: each release rule at its boundary, approvals,
//! releases, expiry, replenishment, tenant isolation.

use crate::helpers::{assert_problem, spawn_app_with, TestApp};
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

/// A reserve with GA (scale 0, floor `floor`), `stock` on hand at NV1 in two lots.
pub struct Reserve {
    pub app: TestApp,
}

impl Reserve {
    pub async fn new(stock: i64, floor: i64) -> Self {
        Self::new_with(stock, floor, |_| {}).await
    }

    /// `new` on a server with the test settings as `customize` leaves them.
    pub async fn new_with(
        stock: i64,
        floor: i64,
        customize: impl FnOnce(&mut stockpile::config::Settings),
    ) -> Self {
        let app = spawn_app_with(customize).await;
        app.create_material("GA", 0, &floor.to_string()).await;
        app.create_facility("NV1").await;
        app.create_facility("TX2").await;
        let first = stock / 2;
        app.receive("GA", "TX2", &first.to_string(), "2026-01-01T00:00:00Z")
            .await;
        app.receive(
            "GA",
            "NV1",
            &(stock - first).to_string(),
            "2026-02-01T00:00:00Z",
        )
        .await;
        Reserve { app }
    }

    pub fn op(&self, n: u8) -> String {
        self.app.token(Role::Operator, &format!("op{n}"))
    }

    /// A manufacturer with an allocation of GA; returns its id.
    pub async fn manufacturer(
        &self,
        name: &str,
        tier: &str,
        allocation: &str,
        price: &str,
    ) -> String {
        let admin = self.app.admin();
        let res = self
            .app
            .post_as(
                &admin,
                "/v1/manufacturers",
                &json!({"name": name, "priority_tier": tier}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.allocate(&id, allocation, price).await;
        id
    }

    pub async fn allocate(&self, id: &str, quantity: &str, price: &str) {
        let res = self
            .app
            .request(
                reqwest::Method::PUT,
                &format!("/v1/manufacturers/{id}/allocations/GA"),
            )
            .bearer_auth(self.app.admin())
            .json(&json!({"quantity": quantity, "locked_price_usd": price}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    pub fn token_of(&self, manufacturer: &str) -> String {
        let claims = json!({"sub": format!("sys-{manufacturer}"), "role": "manufacturer", "org": manufacturer,
                            "exp": crate::helpers::now() + 3600, "iss": self.app.settings.auth.issuer,
                            "aud": self.app.settings.auth.audience});
        self.app.token_with_claims(claims)
    }

    /// Proposes (op1) and confirms (op2) a disruption of GA; returns its id.
    pub async fn disruption(&self, severity: &str) -> String {
        let res = self
            .app
            .post_as(&self.op(1), "/v1/disruptions",
                &json!({"title": "Export controls", "materials": ["GA"], "severity": severity, "reason": "controls"}))
            .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = self
            .app
            .post_as(
                &self.op(2),
                &format!("/v1/disruptions/{id}/confirm"),
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), 200);
        id
    }

    pub async fn submit(&self, manufacturer: &str, quantity: &str) -> reqwest::Response {
        self.app
            .post_as(
                &self.token_of(manufacturer),
                "/v1/drawdowns",
                &json!({"material": "GA", "quantity": quantity, "justification": "line stopped"}),
            )
            .await
    }

    /// `submit` under an `Idempotency-Key`.
    pub async fn submit_keyed(
        &self,
        manufacturer: &str,
        key: &str,
        quantity: &str,
    ) -> reqwest::Response {
        self.app
            .request(reqwest::Method::POST, "/v1/drawdowns")
            .bearer_auth(self.token_of(manufacturer))
            .header("idempotency-key", key)
            .json(&json!({"material": "GA", "quantity": quantity, "justification": "line stopped"}))
            .send()
            .await
            .unwrap()
    }

    /// Operator 1 approves drawdown `dd` alone (a single-approval one); returns the released
    /// drawdown.
    pub async fn approved(&self, dd: &Value) -> Value {
        let res = self.approve(1, dd["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Operator 1 moves obligation `ob`'s due date to `days_ago` days before today.
    pub async fn reschedule(&self, ob: &str, days_ago: u64) -> reqwest::Response {
        let due = chrono::Utc::now().date_naive() - chrono::Days::new(days_ago);
        self.app
            .post_as(
                &self.op(1),
                &format!("/v1/obligations/{ob}/reschedule"),
                &json!({"due_date": due.to_string(), "reason": "audit"}),
            )
            .await
    }

    /// The drawdowns an admin lists under `query` (`""`, `"?status=expired"`, …).
    pub async fn listed(&self, query: &str) -> Vec<Value> {
        let res = self
            .app
            .get_as(&self.app.admin(), &format!("/v1/drawdowns{query}"))
            .await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// Operator 1 ends disruption `id`.
    pub async fn end(&self, id: &str) -> reqwest::Response {
        self.app
            .post_as(
                &self.op(1),
                &format!("/v1/disruptions/{id}/end"),
                &json!({}),
            )
            .await
    }

    /// How many submissions were accepted, by the audit trail.
    pub async fn accepted_submissions(&self) -> usize {
        self.app
            .audit_outcomes("drawdown.submit")
            .await
            .iter()
            .filter(|o| *o == "ok")
            .count()
    }

    pub async fn submitted(&self, manufacturer: &str, quantity: &str) -> Value {
        let res = self.submit(manufacturer, quantity).await;
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }

    pub async fn approve(&self, operator: u8, id: &str, body: Value) -> reqwest::Response {
        self.app
            .post_as(
                &self.op(operator),
                &format!("/v1/drawdowns/{id}/approve"),
                &body,
            )
            .await
    }

    pub async fn figures(&self) -> (String, String, String) {
        let f = self.app.figures("GA").await;
        let s = |k: &str| f[k].as_str().unwrap().to_owned();
        (s("on_hand"), s("held"), s("available"))
    }
}

async fn rule(res: reqwest::Response, code: &str) -> Value {
    assert_problem(res, 422, code).await["rule"].clone()
}

#[tokio::test]
async fn a_drawdown_is_held_approved_and_released_oldest_lots_first() {
    let r = Reserve::new(1000, 100).await;
    let m = r.manufacturer("Acme", "commercial", "600", "700").await;
    let d = r.disruption("severe").await;
    let dd = r.submitted(&m, "550").await;
    assert_eq!(dd["status"], "pending_approval");
    assert_eq!(dd["disruption_id"], d.as_str());
    assert_eq!(dd["required_approvals"], 1);
    assert_eq!(dd["approvals"], json!([]));
    assert_eq!(dd["policy"]["severity"], "severe");
    assert_eq!(dd["policy"]["allocation_limit"], "600");
    assert_eq!(
        r.figures().await,
        ("1000".into(), "550".into(), "450".into())
    );

    let id = dd["id"].as_str().unwrap();
    let res = r.approve(1, id, json!({})).await;
    assert_eq!(res.status(), 200);
    let released: Value = res.json().await.unwrap();
    assert_eq!(released["status"], "released");
    assert!(released["released_at"].is_string());
    assert_eq!(released["approvals"][0]["operator"], "op1");
    // TX2 received first (500), then NV1.
    assert_eq!(released["picks"][0]["facility"], "TX2");
    assert_eq!(released["picks"][0]["quantity"], "500");
    assert_eq!(released["picks"][1]["facility"], "NV1");
    assert_eq!(released["picks"][1]["quantity"], "50");
    assert_eq!(r.figures().await, ("450".into(), "0".into(), "450".into()));

    let ob: Value = r
        .app
        .get_as(
            &r.token_of(&m),
            &format!(
                "/v1/obligations/{}",
                released["obligation_id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ob["base_quantity"], "550");
    assert_eq!(ob["quantity_due"], "578", "550 × 1.05 = 577.5, rounded up");
    assert_eq!(ob["status"], "open");
    assert_eq!(ob["overdue"], false);
    let due = chrono::Utc::now().date_naive() + chrono::Days::new(365);
    assert_eq!(ob["due_date"], due.to_string());

    let alloc: Value = r
        .app
        .get_as(
            &r.token_of(&m),
            &format!("/v1/manufacturers/{m}/allocations"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alloc["items"][0]["outstanding"], "550");
    assert_eq!(alloc["items"][0]["held"], "0");
    assert_eq!(alloc["items"][0]["drawable_now"], "50");

    let entries = r.app.export_jsonl().await;
    let release = entries.last().unwrap();
    assert_eq!(release["kind"], "release");
    assert_eq!(release["reference"], id);
    assert_eq!(
        release["postings"],
        json!([{"account": "inventory:NV1:GA", "asset": "GA", "amount": "-50"},
               {"account": "inventory:TX2:GA", "asset": "GA", "amount": "-500"},
               {"account": format!("released:{m}:GA"), "asset": "GA", "amount": "550"}])
    );
    assert_eq!(r.app.verify().await["ok"], true);
    let actions: Vec<String> = r
        .app
        .audit_events()
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "disruption.propose",
        "disruption.confirm",
        "drawdown.submit",
        "drawdown.approve",
    ] {
        assert!(actions.contains(&a.to_owned()), "{a} audited");
    }
}

#[tokio::test]
async fn rule_1_needs_an_active_disruption_at_submit_and_approval() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "100", "1").await;
    rule(r.submit(&m, "1").await, "no_active_disruption").await;
    // A proposed (unconfirmed) disruption does not count.
    let res = r
        .app
        .post_as(
            &r.op(1),
            "/v1/disruptions",
            &json!({"title": "t", "materials": ["GA"], "severity": "critical", "reason": "r"}),
        )
        .await;
    let proposed: Value = res.json().await.unwrap();
    rule(r.submit(&m, "1").await, "no_active_disruption").await;
    let self_confirm = r
        .app
        .post_as(
            &r.op(1),
            &format!(
                "/v1/disruptions/{}/confirm",
                proposed["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    rule(self_confirm, "self_confirmation_forbidden").await;

    let d = r.disruption("severe").await;
    let dd = r.submitted(&m, "10").await;
    // Ending it expires the request; approving then is an invalid state.
    assert_eq!(r.end(&d).await.status(), 200);
    let res = r.approve(1, dd["id"].as_str().unwrap(), json!({})).await;
    assert_problem(res, 409, "invalid_state").await;
    rule(r.submit(&m, "1").await, "no_active_disruption").await;
}

#[tokio::test]
async fn rule_2_suspended_or_without_allocation_is_not_eligible() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "100", "1").await;
    let other = r.manufacturer("Beta", "commercial", "0", "1").await;
    r.disruption("severe").await;
    rule(r.submit(&other, "1").await, "not_eligible").await;
    rule(r.submit("no-such-manufacturer", "1").await, "not_eligible").await;
    let admin = r.app.admin();
    assert_eq!(
        r.app
            .post_as(
                &admin,
                &format!("/v1/manufacturers/{m}/suspend"),
                &json!({})
            )
            .await
            .status(),
        200
    );
    let v = rule(r.submit(&m, "1").await, "not_eligible").await;
    assert_eq!(v["suspended"], true);
    assert_problem(
        r.app
            .post_as(
                &admin,
                &format!("/v1/manufacturers/{m}/suspend"),
                &json!({}),
            )
            .await,
        409,
        "invalid_state",
    )
    .await;
    assert_eq!(
        r.app
            .post_as(
                &admin,
                &format!("/v1/manufacturers/{m}/reinstate"),
                &json!({})
            )
            .await
            .status(),
        200
    );
    assert_eq!(r.submit(&m, "1").await.status(), 201);
}

#[tokio::test]
async fn rule_3_an_overdue_obligation_blocks_new_drawdowns() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "500", "1").await;
    r.disruption("severe").await;
    let dd = r.submitted(&m, "100").await;
    let released = r.approved(&dd).await;
    let ob = released["obligation_id"].as_str().unwrap().to_owned();
    let res = r.reschedule(&ob, 1).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["overdue"], true);
    let v = rule(r.submit(&m, "1").await, "obligation_overdue").await;
    assert_eq!(v["obligation_id"], ob.as_str());
    assert_eq!(v["quantity_remaining"], "105");
    // Due today is not overdue yet.
    r.reschedule(&ob, 0).await;
    assert_eq!(r.submit(&m, "1").await.status(), 201);
}

/// The rules read the material, every active disruption covering it and the manufacturer's
/// obligations together: with two disruptions and two overdue obligations that is four
/// joined rows, of which the most severe disruption and the earliest due obligation count.
#[tokio::test]
async fn the_most_severe_disruption_governs_and_the_earliest_overdue_obligation_blocks() {
    let r = Reserve::new(10_000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "1000", "1").await;
    r.disruption("limited").await;
    let severe = r.disruption("severe").await;
    // Severe: the whole allocation is drawable (limited: half of it).
    let mut obligations = Vec::new();
    for q in ["600", "10"] {
        let dd = r.submitted(&m, q).await;
        assert_eq!(dd["disruption_id"], severe.as_str());
        assert_eq!(dd["policy"]["severity"], "severe");
        let released = r.approved(&dd).await;
        obligations.push(released["obligation_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(r.reschedule(&obligations[0], 1).await.status(), 200);
    assert_eq!(r.reschedule(&obligations[1], 3).await.status(), 200);
    let v = rule(r.submit(&m, "1").await, "obligation_overdue").await;
    assert_eq!(v["obligation_id"], obligations[1].as_str());
    for ob in &obligations {
        assert_eq!(r.reschedule(ob, 0).await.status(), 200);
    }
    assert_eq!(r.submitted(&m, "1").await["disruption_id"], severe.as_str());
    // Once the severe one ends, the limited one governs: 611 outstanding + held exceed
    // 0.5 × 1000.
    assert_eq!(r.end(&severe).await.status(), 200);
    let v = rule(r.submit(&m, "1").await, "allocation_exceeded").await;
    assert_eq!(
        (v["share"].as_str(), v["limit"].as_str()),
        (Some("0.5"), Some("500"))
    );
}

/// A submission's hold and drawdown are written in one batch with its audit event and its
/// stored answer: retries with one key, concurrent or later, replay that answer and hold once.
#[tokio::test]
async fn retried_submissions_with_one_key_hold_once_and_replay_the_answer() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "500", "1").await;
    r.disruption("severe").await;
    let send = || r.submit_keyed(&m, "line-7-stop", "40");
    let answers = futures_util::future::join_all((0..8).map(|_| send())).await;
    let mut bodies = Vec::new();
    for res in answers {
        assert_eq!(res.status(), 201);
        bodies.push(res.text().await.unwrap());
    }
    let later = send().await;
    assert_eq!(later.headers()["idempotent-replayed"], "true");
    bodies.push(later.text().await.unwrap());
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "one answer");
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["status"], "pending_approval");
    assert_eq!(
        r.figures().await,
        ("1000".into(), "40".into(), "960".into())
    );
    let items = r.listed("").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], first["id"]);
    assert_eq!(r.accepted_submissions().await, 1);
    // The retries that lost the race (on PostgreSQL, at the stored key: the allocation has
    // room for all of them) replayed the answer and are not refusals in the audit trail.
    let outcomes = r.app.audit_outcomes("drawdown.submit").await;
    assert!(outcomes.iter().all(|o| o == "ok"), "{outcomes:?}");
}

/// A retry of a stored submission replays it even where the rules refuse it now, and a
/// reused key is refused as reused, not by a rule: a write refused under a stored key
/// answers with what is stored under it.
#[tokio::test]
async fn a_retry_replays_its_answer_where_the_rules_would_now_refuse_it() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "5000", "1").await;
    r.disruption("severe").await;
    let send = |quantity| r.submit_keyed(&m, "all-of-it", quantity);
    let first = send("1000").await;
    assert_eq!(first.status(), 201);
    let first = first.text().await.unwrap();
    // Stock is now all held: the same submission without the key is refused.
    rule(r.submit(&m, "1000").await, "insufficient_stock").await;
    let again = send("1000").await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first);
    assert_problem(send("1").await, 409, "idempotency_key_reused").await;
    assert_eq!(
        r.figures().await,
        ("1000".into(), "1000".into(), "0".into())
    );
}

#[tokio::test]
async fn rule_4_allocation_share_at_its_boundary() {
    let r = Reserve::new(10_000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "401", "1").await;
    r.disruption("limited").await;
    // floor(0.5 × 401) = 200, counting what is held.
    r.submitted(&m, "150").await;
    let v = rule(r.submit(&m, "51").await, "allocation_exceeded").await;
    assert_eq!(
        v,
        json!({"requested": "51", "outstanding": "0", "held": "150", "allocation": "401", "share": "0.5", "limit": "200"})
    );
    r.submitted(&m, "50").await;
    rule(r.submit(&m, "1").await, "allocation_exceeded").await;
}

#[tokio::test]
async fn rule_5_limited_cap_at_its_boundary() {
    let r = Reserve::new(1001, 0).await;
    let a = r.manufacturer("Acme", "commercial", "10000", "1").await;
    let b = r.manufacturer("Beta", "commercial", "10000", "1").await;
    r.disruption("limited").await;
    // floor(0.30 × 1001) = 300 across everyone, held or released.
    let first = r.submitted(&a, "200").await;
    r.approve(1, first["id"].as_str().unwrap(), json!({})).await;
    let v = rule(r.submit(&b, "101").await, "disruption_cap_exceeded").await;
    assert_eq!(v["released_under"], "200");
    assert_eq!(v["limit"], "300");
    assert_eq!(v["on_hand_at_activation"], "1001");
    r.submitted(&b, "100").await;
    rule(r.submit(&a, "1").await, "disruption_cap_exceeded").await;
}

#[tokio::test]
async fn rules_6_and_7_stock_then_floor() {
    let r = Reserve::new(1000, 300).await;
    let m = r.manufacturer("Acme", "commercial", "5000", "1").await;
    r.disruption("severe").await;
    rule(r.submit(&m, "1001").await, "insufficient_stock").await;
    let v = rule(r.submit(&m, "701").await, "floor_breach").await;
    assert_eq!(
        v,
        json!({"requested": "701", "available": "1000", "strategic_floor": "300"})
    );
    r.submitted(&m, "700").await;
    assert_eq!(
        r.figures().await,
        ("1000".into(), "700".into(), "300".into())
    );
    rule(r.submit(&m, "1").await, "floor_breach").await;
}

#[tokio::test]
async fn the_floor_is_waived_for_defense_in_a_critical_disruption_only() {
    let r = Reserve::new(1000, 300).await;
    let defense = r.manufacturer("Shield", "defense", "5000", "1").await;
    let commercial = r.manufacturer("Acme", "commercial", "5000", "1").await;
    r.disruption("critical").await;
    rule(r.submit(&commercial, "701").await, "floor_breach").await;
    let dd = r.submitted(&defense, "1000").await;
    assert_eq!(dd["policy"]["floor_waived"], true);
    assert_eq!(r.figures().await.2, "0");
    rule(r.submit(&defense, "1").await, "insufficient_stock").await;
}

#[tokio::test]
async fn high_value_releases_need_two_different_operators() {
    let r = Reserve::new(1000, 0).await;
    // 250 × 100,000.00 = 25,000,000.00: exactly the threshold.
    let m = r.manufacturer("Acme", "commercial", "1000", "100000").await;
    r.disruption("severe").await;
    let small = r.submitted(&m, "249").await;
    assert_eq!(small["required_approvals"], 1);
    let big = r.submitted(&m, "250").await;
    assert_eq!(big["required_approvals"], 2);
    let id = big["id"].as_str().unwrap();
    let first: Value = r
        .approve(1, id, json!({"quantity": "240"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "partially_approved");
    assert_eq!(first["quantity"], "240");
    assert_eq!(first["quantity_requested"], "250");
    assert_eq!(
        r.figures().await.1,
        "489",
        "the lowered part of the hold is released at once"
    );
    rule(r.approve(1, id, json!({})).await, "duplicate_approval").await;
    let raise = r.approve(2, id, json!({"quantity": "245"})).await;
    assert_problem(raise, 422, "validation_failed").await;
    let done: Value = r.approve(2, id, json!({})).await.json().await.unwrap();
    assert_eq!(done["status"], "released");
    assert_eq!(done["approvals"].as_array().unwrap().len(), 2);
    assert_eq!(
        done["picks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["quantity"].as_str().unwrap().parse::<i64>().unwrap())
            .sum::<i64>(),
        240
    );
    assert_eq!(
        r.figures().await,
        ("760".into(), "249".into(), "511".into())
    );
    assert_problem(r.approve(3, id, json!({})).await, 409, "invalid_state").await;
}

#[tokio::test]
async fn reject_cancel_and_invalid_transitions() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "1000", "1").await;
    r.disruption("severe").await;
    let a = r.submitted(&m, "100").await;
    let b = r.submitted(&m, "200").await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_problem(
        r.app
            .post_as(&r.op(1), &format!("/v1/drawdowns/{a}/reject"), &json!({}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let rejected: Value = r
        .app
        .post_as(
            &r.op(1),
            &format!("/v1/drawdowns/{a}/reject"),
            &json!({"reason": "other sources exist"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reject_reason"], "other sources exist");
    let cancelled = r
        .app
        .request(reqwest::Method::POST, &format!("/v1/drawdowns/{b}/cancel"))
        .bearer_auth(r.token_of(&m))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cancelled.status(),
        200,
        "an empty body without content type is accepted"
    );
    assert_eq!(r.figures().await.1, "0");
    assert_problem(r.approve(1, a, json!({})).await, 409, "invalid_state").await;
    assert_problem(
        r.app
            .post_as(
                &r.token_of(&m),
                &format!("/v1/drawdowns/{a}/cancel"),
                &json!({}),
            )
            .await,
        409,
        "invalid_state",
    )
    .await;
    assert_problem(
        r.approve(1, "no-such-id", json!({})).await,
        404,
        "not_found",
    )
    .await;
    let alloc: Value = r
        .app
        .get_as(
            &r.admin_token(),
            &format!("/v1/manufacturers/{m}/allocations"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alloc["items"][0]["held"], "0");
}

impl Reserve {
    fn admin_token(&self) -> String {
        self.app.admin()
    }
}

#[tokio::test]
async fn ending_a_disruption_expires_open_drawdowns_and_frees_their_holds() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "1000", "100000").await;
    let d = r.disruption("severe").await;
    let pending = r.submitted(&m, "100").await;
    let partial = r.submitted(&m, "300").await;
    let released = r.submitted(&m, "50").await;
    r.approve(1, partial["id"].as_str().unwrap(), json!({}))
        .await;
    r.approve(1, released["id"].as_str().unwrap(), json!({}))
        .await;
    assert_eq!(
        r.figures().await,
        ("950".into(), "400".into(), "550".into())
    );
    let ended: Value = r.end(&d).await.json().await.unwrap();
    assert_eq!(ended["status"], "ended");
    for (dd, status) in [
        (&pending, "expired"),
        (&partial, "expired"),
        (&released, "released"),
    ] {
        let now: Value = r
            .app
            .get_as(
                &r.app.admin(),
                &format!("/v1/drawdowns/{}", dd["id"].as_str().unwrap()),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(now["status"], status);
    }
    assert_eq!(r.figures().await, ("950".into(), "0".into(), "950".into()));
    assert_problem(r.end(&d).await, 409, "invalid_state").await;
    assert_eq!(r.listed("?status=expired").await.len(), 2);
}

#[tokio::test]
async fn replenishment_settles_the_obligation_and_restores_the_entitlement() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "200", "310").await;
    r.disruption("severe").await;
    let dd = r.submitted(&m, "200").await;
    let released = r.approved(&dd).await;
    let ob = released["obligation_id"].as_str().unwrap();
    rule(r.submit(&m, "1").await, "allocation_exceeded").await;
    let path = format!("/v1/obligations/{ob}/replenishments");
    let body = |q: &str| json!({"facility": "NV1", "quantity": q, "grade": "99.9"});
    // 210 due: 200 base + 5 %.
    assert_problem(
        r.app.post_as(&r.op(1), &path, &body("211")).await,
        422,
        "validation_failed",
    )
    .await;
    let first = r.app.post_as(&r.op(1), &path, &body("105")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["base_share"], "100");
    assert_eq!(first["obligation"]["quantity_returned"], "105");
    assert_eq!(first["lot"]["facility"], "NV1");
    assert_eq!(first["lot"]["supplier"], "Acme");
    assert_eq!(first["lot"]["unit_cost_usd"], "310");
    let alloc: Value = r
        .app
        .get_as(
            &r.token_of(&m),
            &format!("/v1/manufacturers/{m}/allocations"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alloc["items"][0]["outstanding"], "100");
    assert_eq!(r.submitted(&m, "100").await["status"], "pending_approval");
    let last: Value = r
        .app
        .post_as(&r.op(1), &path, &body("105"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["obligation"]["status"], "settled");
    assert_eq!(last["base_share"], "100");
    assert_problem(
        r.app.post_as(&r.op(1), &path, &body("1")).await,
        409,
        "invalid_state",
    )
    .await;
    assert_eq!(r.figures().await.0, "1010", "800 left + 210 returned");
    let premium: Value = r
        .app
        .get_as(
            &r.app.admin(),
            "/v1/ledger/balances?account_prefix=replenishment_premium:",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(premium["items"][0]["balance"], "-10");
    let owed: Value = r
        .app
        .get_as(
            &r.app.admin(),
            &format!("/v1/ledger/balances?account_prefix=released:{m}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(owed["items"][0]["balance"], "0");
    assert_eq!(r.app.verify().await["ok"], true);
}

#[tokio::test]
async fn manufacturers_see_and_touch_only_their_own() {
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "commercial", "500", "1").await;
    let b = r.manufacturer("Beta", "commercial", "500", "1").await;
    r.disruption("severe").await;
    let dd = r.submitted(&a, "100").await;
    let id = dd["id"].as_str().unwrap();
    let released: Value = r.approve(1, id, json!({})).await.json().await.unwrap();
    let ob = released["obligation_id"].as_str().unwrap();
    let mine = r.submitted(&a, "10").await;
    let tb = r.token_of(&b);
    for path in [
        format!("/v1/drawdowns/{id}"),
        format!("/v1/obligations/{ob}"),
        format!("/v1/manufacturers/{a}/allocations"),
        format!("/v1/manufacturers/{a}"),
    ] {
        assert_problem(r.app.get_as(&tb, &path).await, 404, "not_found").await;
    }
    assert_problem(
        r.app
            .post_as(
                &tb,
                &format!("/v1/drawdowns/{}/cancel", mine["id"].as_str().unwrap()),
                &json!({}),
            )
            .await,
        404,
        "not_found",
    )
    .await;
    let listed: Value = r
        .app
        .get_as(&tb, "/v1/drawdowns")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    let listed: Value = r
        .app
        .get_as(&tb, &format!("/v1/drawdowns?manufacturer_id={a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    let obs: Value = r
        .app
        .get_as(&tb, "/v1/obligations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(obs["items"], json!([]));
    let own: Value = r
        .app
        .get_as(&r.token_of(&a), "/v1/drawdowns")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.app
            .get_as(&r.token_of(&a), &format!("/v1/manufacturers/{a}"))
            .await
            .status(),
        200
    );
    // Roles: manufacturers do not approve, operators do not submit, auditors do neither.
    assert_problem(
        r.app
            .post_as(
                &r.token_of(&a),
                &format!("/v1/drawdowns/{}/approve", mine["id"].as_str().unwrap()),
                &json!({}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    let body = json!({"material": "GA", "quantity": "1", "justification": "x"});
    assert_problem(
        r.app.post_as(&r.op(1), "/v1/drawdowns", &body).await,
        403,
        "forbidden",
    )
    .await;
    let auditor = r.app.token(Role::Auditor, "aud");
    assert_problem(
        r.app.post_as(&auditor, "/v1/drawdowns", &body).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(r.app.get_as(&auditor, "/v1/drawdowns").await.status(), 200);
    assert_problem(
        r.app.get_as(&r.token_of(&a), "/v1/disruptions").await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        r.app.get_as(&r.token_of(&a), "/v1/manufacturers").await,
        403,
        "forbidden",
    )
    .await;
}

/// A manufacturer naming another manufacturer's object, on every path where its token can
/// name one, gets exactly the answer for an id that does not exist: status, headers' content
/// type, code, title and detail (which names the id asked for), all but the request id.
#[tokio::test]
async fn another_manufacturers_object_answers_as_an_id_that_does_not_exist() {
    use reqwest::Method;
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "commercial", "500", "1").await;
    let b = r.manufacturer("Beta", "commercial", "500", "1").await;
    r.disruption("severe").await;
    let released = r.approved(&r.submitted(&a, "100").await).await;
    let drawdown = released["id"].as_str().unwrap().to_owned();
    let obligation = released["obligation_id"].as_str().unwrap().to_owned();
    let pending = r.submitted(&a, "10").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ta, tb) = (r.token_of(&a), r.token_of(&b));
    let answer = |token: String, method: Method, path: String| {
        let req = r.app.request(method, &path).bearer_auth(token);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            let mut body: Value = res.json().await.unwrap();
            if status >= 400 {
                assert!(body["request_id"].is_string(), "{body}");
                body["request_id"] = Value::Null;
            }
            (status, ct, body)
        }
    };
    for (method, template, theirs) in [
        (Method::GET, "/v1/drawdowns/{}", &drawdown),
        (Method::POST, "/v1/drawdowns/{}/cancel", &pending),
        (Method::GET, "/v1/obligations/{}", &obligation),
        (Method::GET, "/v1/manufacturers/{}", &a),
        (Method::GET, "/v1/manufacturers/{}/allocations", &a),
    ] {
        let fresh = uuid::Uuid::now_v7().to_string();
        let (status, ct, body) =
            answer(tb.clone(), method.clone(), template.replace("{}", theirs)).await;
        let (f_status, f_ct, f_body) =
            answer(tb.clone(), method.clone(), template.replace("{}", &fresh)).await;
        assert_eq!(status, 404, "{template}: {body}");
        assert_eq!(body["code"], "not_found", "{template}: {body}");
        assert_eq!((status, ct), (f_status, f_ct), "{template}");
        // The same answer, the id asked for aside.
        let same = serde_json::to_string(&f_body)
            .unwrap()
            .replace(&fresh, theirs);
        assert_eq!(serde_json::to_string(&body).unwrap(), same, "{template}");
        // The object exists: its manufacturer reads it (nothing was cancelled).
        if method == Method::GET {
            let (own, _, _) = answer(ta.clone(), method, template.replace("{}", theirs)).await;
            assert_eq!(own, 200, "{template}");
        }
    }
    // Lists filtered by another manufacturer: as empty as for one that does not exist.
    for template in [
        "/v1/drawdowns?manufacturer_id={}",
        "/v1/obligations?manufacturer_id={}",
    ] {
        let fresh = uuid::Uuid::now_v7().to_string();
        let theirs = answer(tb.clone(), Method::GET, template.replace("{}", &a)).await;
        let none = answer(tb.clone(), Method::GET, template.replace("{}", &fresh)).await;
        assert_eq!(theirs.0, 200, "{template}");
        assert_eq!(theirs, none, "{template}");
    }
    let still: Value = r
        .app
        .get_as(&ta, &format!("/v1/drawdowns/{pending}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["status"], "pending_approval");
}

#[tokio::test]
async fn bad_drawdown_input_is_refused_and_holds_nothing() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "500", "1").await;
    r.disruption("severe").await;
    let t = r.token_of(&m);
    for (field, body) in [
        (
            "quantity",
            json!({"material": "GA", "quantity": "0", "justification": "x"}),
        ),
        (
            "quantity",
            json!({"material": "GA", "quantity": "1.5", "justification": "x"}),
        ),
        (
            "material",
            json!({"material": "NOPE", "quantity": "1", "justification": "x"}),
        ),
        (
            "justification",
            json!({"material": "GA", "quantity": "1", "justification": "  "}),
        ),
        (
            "justification",
            json!({"material": "GA", "quantity": "1", "justification": "x".repeat(4001)}),
        ),
        (
            "needed_by",
            json!({"material": "GA", "quantity": "1", "justification": "x", "needed_by": "soon"}),
        ),
    ] {
        let p = assert_problem(
            r.app.post_as(&t, "/v1/drawdowns", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field);
    }
    assert_problem(
        r.app
            .post_as(
                &t,
                "/v1/drawdowns",
                &json!({"material": "GA", "quantity": 1, "justification": "x"}),
            )
            .await,
        400,
        "malformed_request",
    )
    .await;
    assert_eq!(r.figures().await.1, "0");
    let ok = r.app.post_as(&t, "/v1/drawdowns", &json!({"material": "GA", "quantity": "1", "justification": "line\nstopped", "needed_by": "2026-12-31"})).await;
    assert_eq!(ok.status(), 201);
    assert_eq!(ok.json::<Value>().await.unwrap()["needed_by"], "2026-12-31");
}

/// Moving a due date later adds the deferral premium on the base quantity still due (5 % a
/// year, pro rata by day, rounded up), not on the replenishment premium; moving it earlier adds
/// nothing and takes nothing away; returns after a deferral cover the base exactly.
#[tokio::test]
async fn a_later_due_date_carries_the_deferral_premium() {
    let r = Reserve::new(2000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "1000", "1").await;
    r.disruption("severe").await;
    let released = r.approved(&r.submitted(&m, "1000").await).await;
    let ob = released["obligation_id"].as_str().unwrap().to_owned();
    let obligation: Value = r.obligation(&ob).await;
    assert_eq!(obligation["quantity_due"], "1050", "1000 + 5 %");
    let due: chrono::NaiveDate = obligation["due_date"].as_str().unwrap().parse().unwrap();
    let move_to = |days: i64| {
        let date = due + chrono::TimeDelta::days(days);
        let path = format!("/v1/obligations/{ob}/reschedule");
        let body = json!({"due_date": date.to_string(), "reason": "smelter outage"});
        let app = &r.app;
        let op = r.op(1);
        async move { app.post_as(&op, &path, &body).await }
    };
    let replenish = |q: &str| {
        let path = format!("/v1/obligations/{ob}/replenishments");
        let body = json!({"facility": "NV1", "quantity": q, "grade": "99.9"});
        let app = &r.app;
        let op = r.op(1);
        async move {
            app.post_as(&op, &path, &body)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // A year later: 1000 base × 0.05 = 50 (not 1050 × 0.05 = 52.5 → 53).
    let moved = move_to(365).await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["deferral_premium_added"], "50");
    assert_eq!(moved["quantity_due"], "1100");
    assert_eq!(moved["id"], ob.as_str());
    // Back to the original date: nothing added, nothing taken away.
    let back: Value = move_to(0).await.json().await.unwrap();
    assert_eq!(back["deferral_premium_added"], "0");
    assert_eq!(back["quantity_due"], "1100");
    // Half back covers half the base; then 73 days on the 500 base left: 5.
    assert_eq!(replenish("550").await["base_share"], "500");
    let later: Value = move_to(73).await.json().await.unwrap();
    assert_eq!(later["deferral_premium_added"], "5");
    assert_eq!(later["quantity_due"], "1105");
    // The rest covers the rest of the base, and settles it.
    let last = replenish("555").await;
    assert_eq!(last["base_share"], "500");
    assert_eq!(last["obligation"]["status"], "settled");
    assert_eq!(r.allocation(&m).await["outstanding"], "0");
}

/// A material's minimum grade, set when it is created or later by an admin, refuses
/// replenishments below it with the figures, and changes nothing when it does.
#[tokio::test]
async fn a_replenishment_below_the_minimum_grade_is_refused() {
    let r = Reserve::new(1000, 0).await;
    let admin = r.app.admin();
    let m = r.manufacturer("Acme", "commercial", "200", "1").await;
    r.disruption("severe").await;
    let released = r.approved(&r.submitted(&m, "100").await).await;
    let ob = released["obligation_id"].as_str().unwrap().to_owned();
    let patch = |body: Value| {
        let req = r
            .app
            .request(reqwest::Method::PATCH, "/v1/materials/GA")
            .bearer_auth(&admin)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    assert_problem(
        patch(json!({"min_grade": "100.5"})).await,
        422,
        "validation_failed",
    )
    .await;
    let set: Value = patch(json!({"min_grade": "99.99"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(set["min_grade"], "99.99");
    let unchanged: Value = patch(json!({})).await.json().await.unwrap();
    assert_eq!(unchanged["min_grade"], "99.99");

    let path = format!("/v1/obligations/{ob}/replenishments");
    let back = |grade: &str| json!({"facility": "NV1", "quantity": "5", "grade": grade});
    let refused = rule(
        r.app.post_as(&r.op(1), &path, &back("99.9")).await,
        "grade_below_minimum",
    )
    .await;
    assert_eq!(refused["grade"], "99.9");
    assert_eq!(refused["min_grade"], "99.99");
    let obligation: Value = r.obligation(&ob).await;
    assert_eq!(obligation["quantity_returned"], "0");
    assert_eq!(r.figures().await.0, "900", "no stock came back");
    assert_eq!(
        r.app
            .post_as(&r.op(1), &path, &back("99.99"))
            .await
            .status(),
        201
    );
    // Removed: any grade repays.
    let removed: Value = patch(json!({"min_grade": null}))
        .await
        .json()
        .await
        .unwrap();
    assert!(removed["min_grade"].is_null());
    assert_eq!(
        r.app.post_as(&r.op(1), &path, &back("90")).await.status(),
        201
    );
    // Set at creation.
    let created: Value = r
        .app
        .post_as(
            &admin,
            "/v1/materials",
            &json!({"code": "GE", "name": "Germanium", "unit": "kg", "scale": 0,
                    "strategic_floor": "0", "min_grade": "99.999"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["min_grade"], "99.999");
}

impl Reserve {
    /// An admin's PUT of `id`'s allocation of GA.
    pub async fn put_allocation(&self, id: &str, body: Value) -> reqwest::Response {
        self.app
            .request(
                reqwest::Method::PUT,
                &format!("/v1/manufacturers/{id}/allocations/GA"),
            )
            .bearer_auth(self.app.admin())
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Obligation `ob` as operator 1 reads it.
    pub async fn obligation(&self, ob: &str) -> Value {
        let res = self
            .app
            .get_as(&self.op(1), &format!("/v1/obligations/{ob}"))
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// `id`'s allocation of GA as its manufacturer sees it.
    pub async fn allocation(&self, id: &str) -> Value {
        let page: Value = self
            .app
            .get_as(
                &self.token_of(id),
                &format!("/v1/manufacturers/{id}/allocations"),
            )
            .await
            .json()
            .await
            .unwrap();
        page["items"][0].clone()
    }
}

/// Every change of an allocation is kept, newest first, with who made it; a quantity below
/// what is committed (outstanding + held) is refused with the figures and changes nothing.
#[tokio::test]
async fn allocations_keep_their_history_and_never_fall_below_what_is_committed() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "commercial", "300", "10").await;
    let terms = json!({"quantity": "250", "locked_price_usd": "12.5", "monthly_consumption": "30"});
    assert_eq!(r.put_allocation(&m, terms).await.status(), 200);
    r.disruption("severe").await;
    r.approved(&r.submitted(&m, "100").await).await; // 100 outstanding
    r.submitted(&m, "50").await; // 50 held

    let lower = |q: &str| json!({"quantity": q, "locked_price_usd": "12.5"});
    let refused = rule(
        r.put_allocation(&m, lower("149")).await,
        "allocation_below_committed",
    )
    .await;
    assert_eq!(refused["quantity"], "149");
    assert_eq!(refused["outstanding"], "100");
    assert_eq!(refused["held"], "50");
    let a = r.allocation(&m).await;
    assert_eq!(a["quantity"], "250", "nothing changed");
    assert_eq!(a["monthly_consumption"], "30");
    assert_eq!(r.put_allocation(&m, lower("150")).await.status(), 200);

    let path = format!("/v1/manufacturers/{m}/allocations/GA/history");
    let history: Value = r
        .app
        .get_as(&r.token_of(&m), &path)
        .await
        .json()
        .await
        .unwrap();
    let items = history["items"].as_array().unwrap();
    let quantities: Vec<&str> = items
        .iter()
        .map(|c| c["quantity"].as_str().unwrap())
        .collect();
    assert_eq!(
        quantities,
        ["150", "250", "300"],
        "newest first; the refused one is not kept"
    );
    assert_eq!(items[1]["locked_price_usd"], "12.5");
    assert_eq!(items[1]["monthly_consumption"], "30");
    assert_eq!(items[2]["locked_price_usd"], "10");
    assert!(items.iter().all(|c| c["actor"] == "admin-1"), "{history}");
    assert!(items[0]["at"].as_str().unwrap() >= items[1]["at"].as_str().unwrap());
    // Paged, and another manufacturer's history is not found.
    let first: Value = r
        .app
        .get_as(&r.app.admin(), &format!("{path}?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let rest: Value = r
        .app
        .get_as(&r.app.admin(), &format!("{path}?limit=2&after={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["quantity"], "300");
    let other = r.manufacturer("Bolt", "commercial", "10", "1").await;
    assert_problem(
        r.app.get_as(&r.token_of(&other), &path).await,
        404,
        "not_found",
    )
    .await;
}
