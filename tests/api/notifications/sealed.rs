//! Signing secrets sealed at rest (`webhooks.secret_keys`): the rows hold no secret, deliveries
//! are still signed with the secrets the API answered, a new key put first reseals every row
//! at start, and a secret that does not open is never sent.

use super::{id, quick, register, sends_nothing, Receiver};
use crate::drawdowns::Reserve;
use crate::helpers::{spawn_process_with, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use stockpile::domain::sealing::SecretKeys;

/// The key of config/test.toml.
const TEST_KEY: &str = "4PrcZUvu1rjWAMqILCHk4oiRdUCLyeim8e8p4p75yNE=";
/// A key the test environment does not list.
const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const KEYS_VAR: &str = "STOCKPILE__WEBHOOKS__SECRET_KEYS";

fn key_id(key: &str) -> String {
    SecretKeys::parse(key)
        .unwrap()
        .sealing_id()
        .unwrap()
        .to_owned()
}

/// An endpoint's `secret` and `previous_secret` columns, read below the API.
async fn stored(app: &TestApp, endpoint: &str) -> (String, Option<String>) {
    use diesel::prelude::*;
    use stockpile::db::schema::webhook_endpoints as e;
    let endpoint = endpoint.to_owned();
    app.db()
        .run(move |conn| {
            e::table
                .find(&endpoint)
                .select((e::secret, e::previous_secret))
                .first::<(String, Option<String>)>(conn)
                .map_err(stockpile::db::DbError::from)
        })
        .await
        .unwrap()
}

/// Whether `stored` is sealed under `key` and shows nothing of `secrets`.
fn sealed_under(stored: &str, key: &str, secrets: &[&str]) -> bool {
    stored.starts_with(&format!("sealed:v1:{}:", key_id(key)))
        && secrets
            .iter()
            .all(|s| !stored.contains(s.trim_start_matches("whsec_")))
}

async fn rotate(r: &Reserve, ep: &Value) -> String {
    let path = format!("/v1/webhook-endpoints/{}/rotate-secret", id(ep));
    let res = r.app.post_as(&r.op(1), &path, &json!({})).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The delivery log of an endpoint once its first delivery has had `attempts` attempts.
async fn attempted(r: &Reserve, ep: &str, attempts: i64) -> Vec<Value> {
    let path = format!("/v1/webhook-endpoints/{ep}/deliveries");
    for _ in 0..100 {
        let page: Value = r.app.get_as(&r.op(1), &path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap().clone();
        if items
            .iter()
            .any(|d| d["attempt"].as_i64().unwrap() >= attempts)
        {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no attempt at {path}");
}

#[actix_web::test]
async fn rows_hold_sealed_secrets_and_deliveries_verify_with_the_answered_ones() {
    let r = Reserve::new_with(1000, 0, quick).await;
    assert_eq!(
        r.app.settings.webhooks.secret_keys.sealing_id(),
        Some(key_id(TEST_KEY).as_str())
    );
    let receiver = Receiver::start(&[]).await;
    let ep = register(&r.app, &r.op(1), &receiver.url, json!(["*"])).await;
    let old = ep["secret"].as_str().unwrap().to_owned();
    let (first, previous) = stored(&r.app, id(&ep)).await;
    assert!(sealed_under(&first, TEST_KEY, &[&old]), "{first}");
    assert_eq!(previous, None);

    // Rotation: the new secret sealed, the old one kept as it was stored, neither readable.
    let new = rotate(&r, &ep).await;
    let (current, previous) = stored(&r.app, id(&ep)).await;
    assert!(sealed_under(&current, TEST_KEY, &[&old, &new]), "{current}");
    assert_eq!(previous.as_deref(), Some(first.as_str()));

    r.disruption("severe").await;
    let seen = receiver.wait_for("a delivery", |s| !s.is_empty()).await;
    assert!(seen[0].signed_by(&old), "a receiver holding the old secret");
    assert!(seen[0].signed_by(&new), "a receiver holding the new secret");
    assert!(!seen[0].signed_by(&format!("whsec_{}", NEW_KEY)));
}

/// The answer kept for replay under an `Idempotency-Key` holds the secret sealed too; the
/// replay still answers it in clear, the same as the first time.
#[actix_web::test]
async fn the_answer_kept_for_replay_holds_no_secret() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let receiver = Receiver::start(&[]).await;
    let send = |path: String, key: &'static str, body: Value| {
        let (app, token) = (&r.app, r.op(1));
        async move {
            let res = app
                .request(reqwest::Method::POST, &path)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{path}: {}", res.status());
            res.text().await.unwrap()
        }
    };
    let registration = json!({"url": receiver.url, "events": ["*"]});
    let register = || {
        send(
            "/v1/webhook-endpoints".into(),
            "register-once",
            registration.clone(),
        )
    };
    let first = register().await;
    let ep: Value = serde_json::from_str(&first).unwrap();
    let secret = ep["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(register().await, first);
    let rotate = format!("/v1/webhook-endpoints/{}/rotate-secret", id(&ep));
    let rotated = send(rotate.clone(), "rotate-once", json!({})).await;
    let new: Value = serde_json::from_str(&rotated).unwrap();
    let new = new["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != secret);
    assert_eq!(send(rotate, "rotate-once", json!({})).await, rotated);

    let kept = r
        .app
        .db()
        .run(|conn| {
            use diesel::prelude::*;
            use stockpile::db::schema::idempotency_keys as k;
            k::table
                .select(k::response_body)
                .load::<String>(conn)
                .map_err(stockpile::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for body in &kept {
        assert!(
            body.contains(&format!("\"sealed:v1:{}:", key_id(TEST_KEY))),
            "{body}"
        );
        assert!(
            [&secret, &new]
                .iter()
                .all(|s| !body.contains(s.trim_start_matches("whsec_"))),
            "{body}"
        );
    }
}

/// The endpoint id is sealed with the secret: a database writer who copies one endpoint's
/// sealed secret into another's row gets no delivery signed with it; the attempt is skipped
/// and retried, and nothing is sent.
#[actix_web::test]
async fn a_sealed_secret_moved_to_another_endpoint_signs_nothing() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let (one, two) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let events = json!(["disruption.proposed"]);
    let ep1 = register(&r.app, &r.op(1), &one.url, events.clone()).await;
    let ep2 = register(&r.app, &r.op(1), &two.url, events).await;
    r.app
        .sql(&format!(
            "UPDATE webhook_endpoints SET secret = \
             (SELECT secret FROM webhook_endpoints WHERE id = '{}') WHERE id = '{}'",
            id(&ep1),
            id(&ep2)
        ))
        .await;
    r.disruption("severe").await;
    let seen = one
        .wait_for("the first endpoint's delivery", |s| !s.is_empty())
        .await;
    assert!(seen[0].signed_by(ep1["secret"].as_str().unwrap()));
    let log = attempted(&r, id(&ep2), 1).await;
    assert!(
        log.iter()
            .all(|d| d["status"] == "pending" && d["response_status"].is_null()),
        "{log:?}"
    );
    let retried = attempted(&r, id(&ep2), 2).await;
    assert!(retried[0]["response_status"].is_null(), "{retried:?}");
    assert!(two.seen().is_empty(), "nothing sent: {:?}", two.seen());
}

/// A new key put first: the next start reseals every secret (sealed under the old key, or
/// plain from before any key) under it, so that the old key can then be dropped and every
/// endpoint still gets signed deliveries.
#[actix_web::test]
async fn a_new_key_put_first_reseals_every_secret_and_the_old_key_can_go() {
    let r = Reserve::new_with(1000, 0, sends_nothing).await;
    let (sealed_rx, plain_rx) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let ep = register(&r.app, &r.op(1), &sealed_rx.url, json!(["*"])).await;
    let old = ep["secret"].as_str().unwrap().to_owned();
    let new = rotate(&r, &ep).await;
    let (before, _) = stored(&r.app, id(&ep)).await;
    assert!(sealed_under(&before, TEST_KEY, &[&new]));
    // A row stored in plain before any key was configured.
    let plain_id = "01000000-0000-7000-8000-0000000000aa";
    let plain = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";
    r.app
        .sql(&format!(
            "INSERT INTO webhook_endpoints (id, manufacturer_id, created_by, url, events, status, \
             secret, created_at) VALUES ('{plain_id}', NULL, 'op1', '{}', '*', 'enabled', \
             '{plain}', '2026-01-01 00:00:00')",
            plain_rx.url
        ))
        .await;

    let mut both =
        spawn_process_with(&r.app, &[(KEYS_VAR, &format!("{NEW_KEY},{TEST_KEY}"))]).await;
    let (current, previous) = stored(&r.app, id(&ep)).await;
    assert!(sealed_under(&current, NEW_KEY, &[&old, &new]), "{current}");
    let previous = previous.unwrap();
    assert!(
        sealed_under(&previous, NEW_KEY, &[&old, &new]),
        "{previous}"
    );
    let (resealed_plain, _) = stored(&r.app, plain_id).await;
    assert!(
        sealed_under(&resealed_plain, NEW_KEY, &[plain]),
        "{resealed_plain}"
    );
    both.crash();

    let _new_only = spawn_process_with(&r.app, &[(KEYS_VAR, NEW_KEY)]).await;
    r.disruption("severe").await;
    let seen = sealed_rx.wait_for("a delivery", |s| !s.is_empty()).await;
    assert!(
        seen[0].signed_by(&new) && seen[0].signed_by(&old),
        "{seen:?}"
    );
    let seen = plain_rx.wait_for("a delivery", |s| !s.is_empty()).await;
    assert!(seen[0].signed_by(plain), "{seen:?}");
}

/// A process whose keys do not include the one a secret was sealed under sends nothing to
/// that endpoint (neither unsigned nor with another key), logs it, and the delivery waits
/// for a process that holds the key.
#[actix_web::test]
async fn a_secret_whose_key_is_not_listed_is_never_sent() {
    let r = Reserve::new_with(1000, 0, sends_nothing).await;
    let receiver = Receiver::start(&[]).await;
    let ep = register(&r.app, &r.op(1), &receiver.url, json!(["*"])).await;
    let (before, _) = stored(&r.app, id(&ep)).await;
    let mut without = spawn_process_with(&r.app, &[(KEYS_VAR, NEW_KEY)]).await;
    assert_eq!(stored(&r.app, id(&ep)).await.0, before, "left as it was");
    r.disruption("severe").await;
    let log = attempted(&r, id(&ep), 1).await;
    assert!(
        log.iter()
            .all(|d| d["status"] == "pending" && d["response_status"].is_null()),
        "{log:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.seen().is_empty(), "{:?}", receiver.seen());
    let logged = without.log();
    let missing = format!("sealed under key {}", key_id(TEST_KEY));
    assert!(
        logged.contains(&missing) && logged.contains("webhook destination skipped"),
        "{logged}"
    );
    assert!(logged.contains(id(&ep)), "{logged}");
    without.crash();

    // The key listed again: the retry (5 s after the skipped attempt) is sent, signed.
    let _with = spawn_process_with(&r.app, &[(KEYS_VAR, TEST_KEY)]).await;
    let seen = receiver.wait_for("the retry", |s| !s.is_empty()).await;
    assert!(seen[0].signed_by(ep["secret"].as_str().unwrap()));
}
