//! The limits of a public API (`[limits]`): the per-client rate limit and the request timeout.

use crate::helpers::{assert_problem, is_postgres, spawn_app_with};
use diesel::connection::SimpleConnection;
use serde_json::json;
use std::time::{Duration, Instant};
use stockpile::domain::actor::Role;

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_and_other_clients_do_not() {
    let app = spawn_app_with(|s| {
        s.limits.rate_limit_per_second = 1;
        s.limits.rate_limit_burst = 3;
    })
    .await;
    let alice = app.token(Role::Admin, "alice");
    for _ in 0..3 {
        assert_eq!(app.get_as(&alice, "/v1/materials").await.status(), 200);
    }
    let res = app.get_as(&alice, "/v1/materials").await;
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_problem(res, 429, "rate_limited").await;

    // A write over the limit changes nothing and is not audited (a flood would fill the trail).
    let body = json!({"code": "LI", "name": "Lithium", "unit": "kg", "scale": 3,
                      "strategic_floor": "0"});
    assert_problem(
        app.post_as(&alice, "/v1/materials", &body).await,
        429,
        "rate_limited",
    )
    .await;

    // Another caller has a budget of its own, and service endpoints are not limited.
    let bob = app.token(Role::Admin, "bob");
    assert_eq!(app.get_as(&bob, "/v1/materials").await.status(), 200);
    let page: serde_json::Value = app
        .get_as(&bob, "/v1/materials")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"],
        json!([]),
        "the refused write created nothing"
    );
    let trail = app.get_as(&bob, "/v1/audit-events").await;
    let trail: serde_json::Value = trail.json().await.unwrap();
    assert_eq!(trail["items"], json!([]), "nothing audited: {trail}");
    for _ in 0..10 {
        let res = app
            .request(reqwest::Method::GET, "/health/live")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    // Requests without a valid token are counted against their address.
    for _ in 0..3 {
        let res = app.get_as("not-a-token", "/v1/materials").await;
        assert_eq!(res.status(), 401);
    }
    let res = app.get_as("not-a-token", "/v1/materials").await;
    assert_problem(res, 429, "rate_limited").await;

    // The budget refills at the configured rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get_as(&alice, "/v1/materials").await.status(), 200);
}

/// A write stuck behind another session's lock outlives the request timeout: the client gets
/// 503 `timeout` promptly, the write completes when the lock goes, and a resend with the same
/// Idempotency-Key returns its answer without applying it twice.
#[tokio::test]
async fn a_write_that_outlives_the_request_timeout_is_answered_503_and_replayed_on_resend() {
    let app = spawn_app_with(|s| s.limits.request_timeout_secs = 1).await;
    app.create_material("LI", 0, "0").await;
    app.create_facility("NV1").await;

    // Another session takes the lock every ledger append needs.
    let db = app.db();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = db.get().unwrap();
        let lock = if is_postgres() {
            "BEGIN; SELECT * FROM ledger_head FOR UPDATE"
        } else {
            "BEGIN IMMEDIATE"
        };
        conn.batch_execute(lock).unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        conn.batch_execute("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();

    let operator = app.token(Role::Operator, "op-1");
    let body = json!({"material": "LI", "facility": "NV1", "quantity": "100", "grade": "99.5",
                      "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "52.5"});
    let send = || {
        app.request(reqwest::Method::POST, "/v1/lots")
            .bearer_auth(&operator)
            .header("idempotency-key", "lot-under-lock")
            .json(&body)
            .send()
    };
    let started = Instant::now();
    let res = send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered promptly"
    );
    assert_eq!(res.headers()["retry-after"], "1");
    let problem = assert_problem(res, 503, "timeout").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let res = send().await.unwrap();
    assert_eq!(res.status(), 201);
    let lots: serde_json::Value = app
        .get_as(&operator, "/v1/lots")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        lots["items"].as_array().unwrap().len(),
        1,
        "applied once: {lots}"
    );
    assert_eq!(app.figures("LI").await["on_hand"], "100");
    assert_eq!(app.verify().await["ok"], true);
}
