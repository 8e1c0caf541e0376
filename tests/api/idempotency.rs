//! Idempotency-Key: replay, reuse with another body, scoping by caller, concurrent retries.

use crate::helpers::{assert_problem, spawn_app};
use diesel::connection::SimpleConnection;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

fn facility(code: &str) -> Value {
    json!({"code": code, "name": "Depot", "country": "US"})
}

#[tokio::test]
async fn same_key_same_body_replays_the_first_response() {
    let app = spawn_app().await;
    let send = |body: Value| {
        app.request(Method::POST, "/v1/facilities")
            .bearer_auth(app.admin())
            .header("idempotency-key", "create-nv1")
            .json(&body)
            .send()
    };
    let first = send(facility("NV1")).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.text().await.unwrap();
    let again = send(facility("NV1")).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first_body);

    let other = send(facility("NV2")).await.unwrap();
    assert_problem(other, 409, "idempotency_key_reused").await;

    let page: Value = app
        .get_as(&app.admin(), "/v1/facilities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "one effect only"
    );
    let outcomes = app.audit_outcomes("facility.create").await;
    let created = outcomes.iter().filter(|o| *o == "ok").count();
    assert_eq!(created, 1, "one accepted write in the audit trail");
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app().await;
    let a = app.token(Role::Admin, "admin-a");
    let b = app.token(Role::Admin, "admin-b");
    for (token, code) in [(&a, "NV1"), (&b, "NV2")] {
        let res = app
            .request(Method::POST, "/v1/facilities")
            .bearer_auth(token)
            .header("idempotency-key", "shared-key")
            .json(&facility(code))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{code}");
    }
}

#[tokio::test]
async fn malformed_keys_are_400() {
    let app = spawn_app().await;
    for key in ["has space".to_owned(), "k".repeat(256)] {
        let res = app
            .request(Method::POST, "/v1/facilities")
            .bearer_auth(app.admin())
            .header("idempotency-key", key)
            .json(&facility("NV1"))
            .send()
            .await
            .unwrap();
        assert_problem(res, 400, "malformed_request").await;
    }
}

#[tokio::test]
async fn concurrent_retries_with_one_key_produce_one_effect() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sends = (0..12).map(|_| {
        app.request(Method::POST, "/v1/facilities")
            .bearer_auth(&admin)
            .header("idempotency-key", "burst")
            .json(&facility("NV9"))
            .send()
    });
    let mut bodies = Vec::new();
    for res in join_all(sends).await {
        let res = res.unwrap();
        assert_eq!(res.status(), 201);
        bodies.push(res.text().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every answer is the same"
    );
    let page: Value = app
        .get_as(&admin, "/v1/facilities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    // The requests that lost the race failed inside and replayed the winner's answer: none
    // of them is a refusal in the audit trail.
    assert_eq!(app.audit_outcomes("facility.create").await, ["ok"]);
}

/// A write that fails under a key held by a request still in its transaction waits for that
/// request to end, then replays the answer it stored.
#[tokio::test]
async fn a_failing_duplicate_waits_for_the_key_holder_and_replays_its_answer() {
    let app = spawn_app().await;
    let send = |key: &str| {
        app.request(Method::POST, "/v1/facilities")
            .bearer_auth(app.admin())
            .header("idempotency-key", key)
            .json(&facility("NV1"))
            .send()
    };
    // The first request stores its answer; the holder below stores a copy of that row under
    // a second key (same caller, same fingerprint), with a body of its own.
    assert_eq!(send("first").await.unwrap().status(), 201);
    let mut holder = app.open_write_transaction();
    holder
        .batch_execute(
            "INSERT INTO idempotency_keys \
             (caller, idem_key, fingerprint, status_code, response_body, created_at) \
             SELECT caller, 'second', fingerprint, 201, '{\"held\":true}', created_at \
             FROM idempotency_keys WHERE idem_key = 'first'",
        )
        .unwrap();
    // The second request's facility clashes with the first's; before it answers, it waits
    // for the holder of its key.
    let second = tokio::spawn(send("second"));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "it waits for the key's holder");
    holder.batch_execute("COMMIT").unwrap();
    let res = second.await.unwrap().unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(res.text().await.unwrap(), "{\"held\":true}");
}

/// The fingerprint covers the body's canonical JSON (RFC 8785), not its bytes: a retry whose
/// body differs only in whitespace, key order or escapes replays the first answer; one value
/// changed is 409. An empty body and `{}` are the same body.
#[tokio::test]
async fn a_reformatted_body_is_the_same_body() {
    let app = spawn_app().await;
    let admin = app.admin();
    let send = |body: &'static str| {
        app.request(Method::POST, "/v1/facilities")
            .bearer_auth(&admin)
            .header("idempotency-key", "create-nv1")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let first = send(r#"{"code":"NV1","name":"Depot","country":"US"}"#)
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first_body = first.text().await.unwrap();
    for same in [
        "{ \"code\" : \"NV1\",\n  \"name\": \"Depot\",\t\"country\": \"US\" }\n",
        r#"{"country":"US","name":"Depot","code":"NV1"}"#,
        r#"{"country":"US","name":"D\u0065pot","code":"NV\u0031"}"#,
    ] {
        let again = send(same).await.unwrap();
        assert_eq!(again.status(), 201, "{same}");
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.text().await.unwrap(), first_body);
    }
    for other in [
        r#"{"code":"NV1","name":"Depot ","country":"US"}"#,
        r#"{"code":"NV2","name":"Depot","country":"US"}"#,
    ] {
        let res = send(other).await.unwrap();
        assert_problem(res, 409, "idempotency_key_reused").await;
    }

    let m = app.create_manufacturer("Acme Magnetics").await;
    let suspend = |body: Option<&'static str>| {
        let req = app
            .request(Method::POST, &format!("/v1/manufacturers/{m}/suspend"))
            .bearer_auth(&admin)
            .header("idempotency-key", "suspend-acme");
        match body {
            Some(b) => req.header("content-type", "application/json").body(b),
            None => req,
        }
        .send()
    };
    let first = suspend(None).await.unwrap();
    assert_eq!(first.status(), 200);
    let first_body = first.text().await.unwrap();
    let again = suspend(Some(" { } ")).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first_body);
}
