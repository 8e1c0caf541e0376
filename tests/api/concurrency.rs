//! Invariants under real concurrency: many requests racing for scarce stock, through one
//! server and through two service processes on one database. Meaningful on PostgreSQL
//! (SQLite serializes writers); they run on both.

use crate::helpers::{spawn_app_with, spawn_process, TestApp};
use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use stockpile::domain::actor::Role;

/// Sends a request; its status and JSON body.
async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn scarce(workers: usize) -> TestApp {
    let app = spawn_app_with(|s| {
        s.server.workers = workers;
        s.database.max_connections = 16;
    })
    .await;
    app.create_material("GA", 0, "0").await;
    app.create_facility("NV1").await;
    app.create_facility("TX2").await;
    app.receive("GA", "NV1", "100", "2026-01-01T00:00:00Z")
        .await;
    app
}

/// The books agree with themselves: verify passes, the balance cache equals the postings,
/// per-facility balances equal the lots, and nothing is negative.
pub async fn assert_books_consistent(app: &TestApp, material: &str) {
    let v = app.verify().await;
    assert_eq!(v["ok"], true, "{v}");
    let admin = app.admin();
    let cached: Value = app
        .get_as(&admin, "/v1/ledger/balances")
        .await
        .json()
        .await
        .unwrap();
    let summed: Value = app
        .get_as(&admin, "/v1/ledger/balances?as_of=2999-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cached["items"], summed["items"]);
    let lots: Value = app
        .get_as(&admin, &format!("/v1/lots?material={material}&limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    let dec = |v: &Value| Decimal::from_str(v.as_str().unwrap()).unwrap();
    let mut by_facility = std::collections::BTreeMap::<String, Decimal>::new();
    for l in lots["items"].as_array().unwrap() {
        let q = dec(&l["quantity_on_hand"]);
        assert!(q >= Decimal::ZERO);
        *by_facility
            .entry(l["facility"].as_str().unwrap().to_owned())
            .or_default() += q;
    }
    let mut total = Decimal::ZERO;
    for item in cached["items"].as_array().unwrap() {
        let account = item["account"].as_str().unwrap();
        if let Some(facility) = account
            .strip_prefix("inventory:")
            .and_then(|r| r.strip_suffix(&format!(":{material}")))
        {
            let b = dec(&item["balance"]);
            assert!(b >= Decimal::ZERO, "{account} is negative");
            assert_eq!(
                b,
                by_facility.get(facility).copied().unwrap_or_default(),
                "{account} vs its lots"
            );
            total += b;
        }
    }
    let f = app.figures(material).await;
    assert_eq!(dec(&f["on_hand"]), total, "on_hand vs inventory balances");
}

#[tokio::test]
async fn racing_adjustments_take_exactly_what_exists() {
    let app = scarce(2).await;
    let op = app.token(Role::Operator, "op");
    let body = json!({"material": "GA", "facility": "NV1", "quantity": "-7", "reason": "loss"});
    let results =
        join_all((0..40).map(|_| app.post_as(&op, "/v1/inventory/adjustments", &body))).await;
    let mut ok = 0;
    for r in results {
        match r.status().as_u16() {
            201 => ok += 1,
            422 => assert_eq!(
                r.json::<Value>().await.unwrap()["code"],
                "insufficient_stock"
            ),
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(ok, 14, "100 / 7 = 14 fit");
    assert_eq!(app.figures("GA").await["on_hand"], "2");
    assert_books_consistent(&app, "GA").await;
}

#[tokio::test]
async fn racing_transfers_and_adjustments_through_two_processes() {
    let app = scarce(2).await;
    let second = spawn_process(&app).await;
    let op = app.token(Role::Operator, "op");
    let client = reqwest::Client::new();
    let requests = (0..48).map(|i| {
        let base = if i % 2 == 0 { app.address.clone() } else { second.address.clone() };
        let (path, body) = match i % 3 {
            0 => ("/v1/inventory/adjustments", json!({"material": "GA", "facility": "NV1", "quantity": "-3", "reason": "loss"})),
            1 => ("/v1/inventory/transfers", json!({"material": "GA", "from_facility": "NV1", "to_facility": "TX2", "quantity": "5"})),
            _ => ("/v1/inventory/transfers", json!({"material": "GA", "from_facility": "TX2", "to_facility": "NV1", "quantity": "4"})),
        };
        let req = client.post(format!("{base}{path}")).bearer_auth(&op).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (path, status, body)
        }
    });
    let mut lost = 0;
    for (path, status, body) in join_all(requests).await {
        match status {
            201 if path.ends_with("adjustments") => lost += 3,
            201 => {}
            422 => assert_eq!(body["code"], "insufficient_stock", "{body}"),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    assert!(lost > 0);
    let f = app.figures("GA").await;
    assert_eq!(
        f["on_hand"].as_str().unwrap().parse::<i64>().unwrap(),
        100 - lost
    );
    assert_books_consistent(&app, "GA").await;
}

/// Many manufacturers racing for stock just above the floor, through two service processes:
/// exactly what fits is held, no allocation or floor is breached, and racing approvals
/// release each drawdown once.
#[tokio::test]
async fn racing_drawdowns_hold_exactly_what_fits_above_the_floor() {
    use crate::drawdowns::Reserve;
    let r = Reserve::new(1000, 800).await;
    let second = spawn_process(&r.app).await;
    r.disruption("severe").await;
    let mut manufacturers = Vec::new();
    for i in 0..30 {
        manufacturers.push(
            r.manufacturer(&format!("M{i:02}"), "commercial", "15", "1")
                .await,
        );
    }
    let client = reqwest::Client::new();
    let body = json!({"material": "GA", "quantity": "10", "justification": "line stopped"});
    let sends = manufacturers
        .iter()
        .flat_map(|m| [m, m])
        .enumerate()
        .map(|(i, m)| {
            let base = if i % 2 == 0 {
                r.app.address.clone()
            } else {
                second.address.clone()
            };
            let req = client
                .post(format!("{base}/v1/drawdowns"))
                .bearer_auth(r.token_of(m))
                .json(&body);
            send(req)
        });
    let mut held_ids = Vec::new();
    for (status, body) in join_all(sends).await {
        match status {
            201 => held_ids.push(body["id"].as_str().unwrap().to_owned()),
            422 => assert!(
                ["allocation_exceeded", "floor_breach"].contains(&body["code"].as_str().unwrap()),
                "{body}"
            ),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    assert_eq!(held_ids.len(), 20, "200 above the floor / 10 each");
    assert_eq!(
        r.figures().await,
        ("1000".into(), "200".into(), "800".into())
    );
    for m in &manufacturers {
        let a: Value = r
            .app
            .get_as(
                &r.app.admin(),
                &format!("/v1/manufacturers/{m}/allocations"),
            )
            .await
            .json()
            .await
            .unwrap();
        let held: i64 = a["items"][0]["held"].as_str().unwrap().parse().unwrap();
        assert!(held <= 10, "{m} holds {held}, over its allocation share");
    }
    assert_eq!(r.listed("?status=pending_approval").await.len(), 20);
    // A submission refused by a guarded write wrote its hold, drawdown and audit event in the
    // guards' statement (PostgreSQL): the rollback must have undone them.
    assert_eq!(r.accepted_submissions().await, 20);

    // Two operators approve every drawdown at once: each is released exactly once.
    let approvals = held_ids
        .iter()
        .flat_map(|id| [(id, 1u8), (id, 2u8)])
        .map(|(id, op)| {
            let base = if op == 1 {
                r.app.address.clone()
            } else {
                second.address.clone()
            };
            let req = client
                .post(format!("{base}/v1/drawdowns/{id}/approve"))
                .bearer_auth(r.op(op));
            async move { (id.clone(), req.send().await.unwrap().status().as_u16()) }
        });
    let mut released = std::collections::BTreeMap::<String, u32>::new();
    for (id, status) in join_all(approvals).await {
        match status {
            200 => *released.entry(id).or_default() += 1,
            409 => {}
            s => panic!("unexpected approval status {s}"),
        }
    }
    assert_eq!(released.len(), 20);
    assert!(released.values().all(|n| *n == 1), "{released:?}");
    assert_eq!(r.figures().await, ("800".into(), "0".into(), "800".into()));
    assert_books_consistent(&r.app, "GA").await;
}

/// One request each from more manufacturers than the stock above the floor can serve: each
/// has room in its allocation, so every refusal is the floor's, also when a request passed
/// its allocation's guarded write before the stock's refused (PostgreSQL runs all three):
/// the refusal is decided without the quantity this request itself had added.
#[tokio::test]
async fn a_refusal_after_a_passed_guard_names_the_rule_that_refused() {
    use crate::drawdowns::Reserve;
    let r = Reserve::new(1000, 800).await;
    let second = spawn_process(&r.app).await;
    r.disruption("severe").await;
    let mut manufacturers = Vec::new();
    for i in 0..30 {
        manufacturers.push(
            r.manufacturer(&format!("M{i:02}"), "commercial", "15", "1")
                .await,
        );
    }
    let client = reqwest::Client::new();
    let body = json!({"material": "GA", "quantity": "10", "justification": "line stopped"});
    let sends = manufacturers.iter().enumerate().map(|(i, m)| {
        let base = [&r.app.address, &second.address][i % 2];
        let req = client
            .post(format!("{base}/v1/drawdowns"))
            .bearer_auth(r.token_of(m))
            .json(&body);
        send(req)
    });
    let mut statuses = std::collections::BTreeMap::<String, u32>::new();
    for (status, body) in join_all(sends).await {
        let outcome = match status {
            201 => "held".to_owned(),
            422 => body["code"].as_str().unwrap().to_owned(),
            s => panic!("unexpected {s}: {body}"),
        };
        *statuses.entry(outcome).or_default() += 1;
    }
    assert_eq!(
        statuses,
        [("held".to_owned(), 20), ("floor_breach".to_owned(), 10)].into()
    );
    assert_eq!(
        r.figures().await,
        ("1000".into(), "200".into(), "800".into())
    );
}

/// Deadlocks PostgreSQL has counted in the test's database.
fn deadlocks(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        deadlocks: i64,
    }
    let mut conn = diesel::PgConnection::establish(&app.settings.database.url).expect("connect");
    diesel::sql_query("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .get_result::<Count>(&mut conn)
        .expect("pg_stat_database")
        .deadlocks
}

/// Ending a disruption while approvals of its drawdowns are in flight, with a rejection, a
/// cancellation and new submissions in the same burst (PostgreSQL; SQLite serializes
/// writers): every path takes its row locks in the order of `db::holding`, so nothing
/// deadlocks and the end does not wait out deadlock detection; and an approval either
/// releases before the end (which then sees it released) or is refused, so nothing is released
/// after the disruption ended and no hold outlives it.
#[tokio::test]
async fn ending_a_disruption_races_approvals_without_deadlocks() {
    use crate::drawdowns::Reserve;
    if !crate::helpers::is_postgres() {
        return;
    }
    let r = Reserve::new_with(100_000, 0, |s| {
        s.server.workers = 4;
        s.database.max_connections = 16;
    })
    .await;
    let mut manufacturers = Vec::new();
    for i in 0..12 {
        manufacturers.push(
            r.manufacturer(&format!("M{i:02}"), "commercial", "1000", "1")
                .await,
        );
    }
    let client = reqwest::Client::new();
    let admin = r.app.admin();
    let before = deadlocks(&r.app);
    let mut slowest = std::time::Duration::ZERO;
    let mut late = Vec::new();
    for round in 0..3 {
        let d = r.disruption("severe").await;
        // One drawdown per manufacturer to approve, and a second of a few of them left for
        // the end to expire.
        let mut to_approve = Vec::new();
        for m in &manufacturers {
            to_approve.push(
                r.submitted(m, "10").await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let mut all = to_approve.clone();
        let mut extra = Vec::new();
        for m in &manufacturers[..4] {
            extra.push(r.submitted(m, "5").await["id"].as_str().unwrap().to_owned());
        }
        all.extend(extra.iter().cloned());
        // In the same burst: a rejection and a cancellation of two of the extra ones, and new
        // submissions (accepted before the end, and then expired, or refused after it).
        let others = [
            (
                "reject",
                &extra[0],
                r.op(2),
                json!({"reason": "other sources"}),
            ),
            (
                "cancel",
                &extra[1],
                r.token_of(&manufacturers[1]),
                json!({}),
            ),
        ]
        .into_iter()
        .map(|(action, id, token, body)| {
            client
                .post(format!("{}/v1/drawdowns/{id}/{action}", r.app.address))
                .bearer_auth(token)
                .json(&body)
        })
        .chain(manufacturers[4..8].iter().map(|m| {
            client
                .post(format!("{}/v1/drawdowns", r.app.address))
                .bearer_auth(r.token_of(m))
                .json(&json!({"material": "GA", "quantity": "10", "justification": "line stopped"}))
        }))
        .map(send);
        let approvals = to_approve.iter().map(|id| {
            let req = client
                .post(format!("{}/v1/drawdowns/{id}/approve", r.app.address))
                .bearer_auth(r.op(1))
                .json(&json!({}));
            send(req)
        });
        let end = {
            let req = client
                .post(format!("{}/v1/disruptions/{d}/end", r.app.address))
                .bearer_auth(r.op(2))
                .json(&json!({}));
            async move {
                let started = std::time::Instant::now();
                let res = req.send().await.unwrap();
                let took = started.elapsed();
                (
                    took,
                    res.status().as_u16(),
                    res.json::<Value>().await.unwrap(),
                )
            }
        };
        let (approved, others, (took, status, ended)) =
            tokio::join!(join_all(approvals), join_all(others), end);
        assert_eq!(status, 200, "round {round}: {ended}");
        slowest = slowest.max(took);
        for (status, body) in approved.iter().chain(&others) {
            match status {
                200 => assert!(
                    ["released", "rejected", "cancelled"]
                        .contains(&body["status"].as_str().unwrap()),
                    "{body}"
                ),
                201 => all.push(body["id"].as_str().unwrap().to_owned()),
                409 => assert_eq!(body["code"], "invalid_state", "{body}"),
                422 => assert_eq!(body["code"], "no_active_disruption", "{body}"),
                s => panic!("round {round}: answered {s}: {body}"),
            }
        }
        let ended_at =
            chrono::DateTime::parse_from_rfc3339(ended["ended_at"].as_str().unwrap()).unwrap();
        let mut released = 0;
        for id in &all {
            let dd: Value = r
                .app
                .get_as(&admin, &format!("/v1/drawdowns/{id}"))
                .await
                .json()
                .await
                .unwrap();
            match dd["status"].as_str().unwrap() {
                "released" => {
                    released += 1;
                    let at =
                        chrono::DateTime::parse_from_rfc3339(dd["released_at"].as_str().unwrap())
                            .unwrap();
                    if at > ended_at {
                        late.push(format!(
                            "round {round}: {id} released at {at}, after the end at {ended_at}"
                        ));
                    }
                }
                "expired" | "rejected" | "cancelled" => {}
                s => panic!("round {round}: {id} left {s} after the end"),
            }
        }
        let answered_released = approved.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(released, answered_released, "round {round}");
        assert_eq!(
            r.figures().await.1,
            "0",
            "round {round}: no hold outlives the end"
        );
        for m in &manufacturers {
            let a: Value = r
                .app
                .get_as(&admin, &format!("/v1/manufacturers/{m}/allocations"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(a["items"][0]["held"], "0", "round {round}: {m}");
        }
        let covered: Value = r
            .app
            .get_as(&admin, &format!("/v1/disruptions/{d}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(covered["materials"][0]["held"], "0", "round {round}");
    }
    // Backends report their statistics when they go idle, at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let new = deadlocks(&r.app) - before;
    eprintln!(
        "3 rounds: {new} deadlocks, slowest end {slowest:?}, {} released after the end",
        late.len()
    );
    assert!(late.is_empty(), "{late:#?}");
    assert_eq!(new, 0, "deadlocks while ending with approvals in flight");
    assert!(
        slowest < std::time::Duration::from_secs(2),
        "an end took {slowest:?}"
    );
    assert_books_consistent(&r.app, "GA").await;
}

/// Forty drawdowns of one manufacturer race, through two processes, with admins lowering its
/// allocation: each lowering either lands at or above what is committed or is refused
/// (`allocation_below_committed`), each submission holds only within the entitlement in force,
/// and outstanding + held never end above the quantity.
#[tokio::test]
async fn lowering_an_allocation_races_drawdowns_and_never_goes_below_what_is_committed() {
    use crate::drawdowns::Reserve;
    let r = Reserve::new(10_000, 0).await;
    let second = spawn_process(&r.app).await;
    let m = r.manufacturer("Acme", "commercial", "1000", "1").await;
    r.disruption("severe").await;
    let client = reqwest::Client::new();
    let token = r.token_of(&m);
    let admin = r.app.admin();
    let submits = (0..40).map(|i| {
        let base = [&r.app.address, &second.address][i % 2];
        let req = client
            .post(format!("{base}/v1/drawdowns"))
            .bearer_auth(&token)
            .json(&json!({"material": "GA", "quantity": "20", "justification": "line stopped"}));
        send(req)
    });
    let lowerings = ["700", "500", "420", "300", "200"]
        .into_iter()
        .enumerate()
        .map(|(i, q)| {
            let base = [&second.address, &r.app.address][i % 2];
            let req = client
                .put(format!("{base}/v1/manufacturers/{m}/allocations/GA"))
                .bearer_auth(&admin)
                .json(&json!({"quantity": q, "locked_price_usd": "1"}));
            send(req)
        });
    let (submitted, lowered) = tokio::join!(join_all(submits), join_all(lowerings));
    let mut held = 0;
    for (status, body) in submitted {
        match status {
            201 => held += 20,
            422 => assert_eq!(body["code"], "allocation_exceeded", "{body}"),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    for (status, body) in lowered {
        match status {
            200 => {}
            422 => assert_eq!(body["code"], "allocation_below_committed", "{body}"),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    let a = r.allocation(&m).await;
    let figure = |k: &str| a[k].as_str().unwrap().parse::<i64>().unwrap();
    assert_eq!(figure("held"), held, "{a}");
    assert!(
        figure("held") + figure("outstanding") <= figure("quantity"),
        "committed beyond the entitlement: {a}"
    );
    assert!(held > 0, "some submissions held");
}

/// Opposite transfers between two manufacturers race through two processes, beside drawdowns
/// of both: none fails (the allocation rows are locked in manufacturer order, so opposite
/// transfers wait instead of deadlocking), the entitlement moved is conserved, every
/// acknowledged transfer is listed, and neither side ends with more committed than it holds.
#[tokio::test]
async fn opposite_transfers_race_drawdowns_without_deadlock() {
    use crate::drawdowns::Reserve;
    let r = Reserve::new(10_000, 0).await;
    let second = spawn_process(&r.app).await;
    let a = r.manufacturer("Acme", "commercial", "600", "1").await;
    let b = r.manufacturer("Beta", "commercial", "600", "3").await;
    r.disruption("severe").await;
    let client = reqwest::Client::new();
    let admin = r.app.admin();
    let transfers = (0..24).map(|i| {
        let base = [&r.app.address, &second.address][i % 2];
        let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let req = client
            .post(format!("{base}/v1/allocation-transfers"))
            .bearer_auth(&admin)
            .json(
                &json!({"from_manufacturer_id": from, "to_manufacturer_id": to,
                          "material": "GA", "quantity": "50", "price_usd": "10"}),
            );
        send(req)
    });
    let submits = (0..40).map(|i| {
        let base = [&second.address, &r.app.address][i % 2];
        let m = [&a, &b][i % 2];
        let req = client
            .post(format!("{base}/v1/drawdowns"))
            .bearer_auth(r.token_of(m))
            .json(&json!({"material": "GA", "quantity": "20", "justification": "line stopped"}));
        send(req)
    });
    let (moved, submitted) = tokio::join!(join_all(transfers), join_all(submits));
    let mut acknowledged = 0;
    for (status, body) in moved {
        match status {
            201 => acknowledged += 1,
            422 => assert_eq!(body["code"], "allocation_below_committed", "{body}"),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    for (status, body) in submitted {
        assert!(
            status == 201 || body["code"] == "allocation_exceeded",
            "{status}: {body}"
        );
    }
    let figure = |v: &Value, k: &str| v[k].as_str().unwrap().parse::<i64>().unwrap();
    let (x, y) = (r.allocation(&a).await, r.allocation(&b).await);
    assert_eq!(figure(&x, "quantity") + figure(&y, "quantity"), 1200);
    for v in [&x, &y] {
        assert!(
            figure(v, "held") + figure(v, "outstanding") <= figure(v, "quantity"),
            "committed beyond the entitlement: {v}"
        );
    }
    let listed: Value = r
        .app
        .get_as(&admin, "/v1/allocation-transfers")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), acknowledged);
    assert!(acknowledged > 0, "some transfers landed");
}

/// Two operators move one obligation a year later at the same moment, through two processes:
/// the premium is added once (the second move finds the date already moved and adds nothing).
#[tokio::test]
async fn racing_reschedules_add_the_deferral_premium_once() {
    use crate::drawdowns::Reserve;
    let r = Reserve::new(2000, 0).await;
    let second = spawn_process(&r.app).await;
    let m = r.manufacturer("Acme", "commercial", "1000", "1").await;
    r.disruption("severe").await;
    let released = r.approved(&r.submitted(&m, "1000").await).await;
    let ob = released["obligation_id"].as_str().unwrap().to_owned();
    let o: Value = r.obligation(&ob).await;
    let due: chrono::NaiveDate = o["due_date"].as_str().unwrap().parse().unwrap();
    let later = (due + chrono::TimeDelta::days(365)).to_string();
    let client = reqwest::Client::new();
    let moves = (0..6).map(|i| {
        let base = [&r.app.address, &second.address][i % 2];
        let req = client
            .post(format!("{base}/v1/obligations/{ob}/reschedule"))
            .bearer_auth(r.op(1 + (i % 2) as u8))
            .json(&json!({"due_date": later, "reason": "smelter outage"}));
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()["deferral_premium_added"].clone()
        }
    });
    let added: Vec<Value> = join_all(moves).await;
    assert_eq!(added.iter().filter(|a| **a == "50").count(), 1, "{added:?}");
    assert!(added.iter().all(|a| *a == "50" || *a == "0"), "{added:?}");
    let o: Value = r.obligation(&ob).await;
    assert_eq!(o["quantity_due"], "1100");
}
