//! Notifications: the outbox written with each change, the event feed and its visibility,
//! webhook endpoints, and deliveries to a receiver served here on 127.0.0.1 that checks
//! signatures with its own HMAC, written from the Standard Webhooks specification.

use crate::drawdowns::Reserve;
use crate::helpers::{assert_problem, spawn_app_with, spawn_process, spawn_process_with, TestApp};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockpile::domain::actor::Role;

mod sealed;

/// What the receiver was sent.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Whether one of the signatures is the HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed
    /// with `secret`'s decoded bytes.
    fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct ReceiverState {
    seen: Mutex<Vec<Seen>>,
    /// Statuses to answer, in turn; 200 once they run out.
    script: Mutex<VecDeque<u16>>,
    /// How many of the first requests to hold for a minute before answering.
    stall: Mutex<u32>,
}

/// An HTTP receiver on 127.0.0.1 that records every request and answers as scripted.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        Self::start_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    /// A receiver answering on `listener` (bound beforehand, so a test can pick its port).
    fn start_on(listener: std::net::TcpListener, script: &[u16]) -> Self {
        let state = Arc::new(ReceiverState::default());
        state.script.lock().unwrap().extend(script);
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { url, state }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Waits until `done` holds of what was received; panics after 20 s.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        for _ in 0..200 {
            let seen = self.seen();
            if done(&seen) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("receiver never saw {what}: {:?}", self.seen());
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    state.seen.lock().unwrap().push(Seen {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let stall = {
        let mut left = state.stall.lock().unwrap();
        let stall = *left > 0;
        *left = left.saturating_sub(1);
        stall
    };
    if stall {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// The events `token` sees under `query` (`"?type=…"`), every page.
async fn feed(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app.get_as(token, &format!("/v1/events{query}")).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// Registers an endpoint for `url` and `events` as `token`; returns the answer.
async fn register(app: &TestApp, token: &str, url: &str, events: Value) -> Value {
    let res = app
        .post_as(
            token,
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// An endpoint's delivery log once no delivery is pending (the receiver may have answered
/// before the outcome is recorded); panics after 10 s.
async fn settled_log(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    for _ in 0..100 {
        let log: Value = app.get_as(token, path).await.json().await.unwrap();
        let items = log["items"].as_array().unwrap().clone();
        if items.iter().all(|d| d["status"] != "pending") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries still pending at {path}");
}

/// Short retries and a frequent sweep.
fn quick(s: &mut stockpile::config::Settings) {
    s.webhooks.retry_delays_secs = vec![1];
    s.webhooks.sweep_interval_secs = 1;
}

#[actix_web::test]
async fn events_are_written_with_their_change_and_never_without() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "defense", "400", "10").await;
    let d = r.disruption("severe").await;
    let admin = r.app.admin();
    assert_eq!(
        types(&feed(&r.app, &admin, "").await),
        ["disruption.proposed", "disruption.activated"]
    );
    // Refused writes (over the allocation; a second confirmation) leave no event.
    assert_eq!(r.submit(&m, "401").await.status(), 422);
    let res = r
        .app
        .post_as(
            &r.op(3),
            &format!("/v1/disruptions/{d}/confirm"),
            &json!({}),
        )
        .await;
    assert_problem(res, 409, "invalid_state").await;
    assert_eq!(feed(&r.app, &admin, "").await.len(), 2);

    let dd = r.submitted(&m, "100").await;
    let released = r.approved(&dd).await;
    let events = feed(&r.app, &admin, "").await;
    assert_eq!(
        types(&events)[2..],
        [
            "drawdown.submitted",
            "drawdown.released",
            "obligation.created"
        ]
    );
    // Each event's data is the object as its GET returned it then.
    assert_eq!(events[2]["data"], dd);
    assert_eq!(events[3]["data"], released);
    let ob = released["obligation_id"].as_str().unwrap();
    let got: Value = r
        .app
        .get_as(&admin, &format!("/v1/obligations/{ob}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events[4]["data"], got);
    assert_eq!(events[1]["data"]["status"], "active");
    for e in &events {
        assert!(e["created_at"].as_str().unwrap().ends_with('Z'));
    }

    // Ending the disruption expires an open drawdown: both reported.
    let open = r.submitted(&m, "50").await;
    assert_eq!(r.end(&d).await.status(), 200);
    let events = feed(&r.app, &admin, "?type=drawdown.expired").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["id"], open["id"]);
    assert_eq!(events[0]["data"]["status"], "expired");
    assert_eq!(
        feed(&r.app, &admin, "?type=disruption.ended").await.len(),
        1
    );
}

#[actix_web::test]
async fn manufacturers_see_their_own_events_and_those_of_their_materials() {
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "defense", "400", "10").await;
    let b = r.manufacturer("Bolt", "critical", "400", "10").await;
    let outsider = r.app.create_manufacturer("Carbon").await;
    r.disruption("severe").await;
    let dd = r.submitted(&a, "10").await;
    r.approved(&dd).await;
    r.submitted(&b, "20").await;

    let of_a = feed(&r.app, &r.token_of(&a), "").await;
    assert_eq!(
        types(&of_a),
        [
            "disruption.proposed",
            "disruption.activated",
            "drawdown.submitted",
            "drawdown.released",
            "obligation.created"
        ]
    );
    assert!(of_a[2..]
        .iter()
        .all(|e| e["data"]["manufacturer_id"] == a.as_str()));
    let of_b = feed(&r.app, &r.token_of(&b), "").await;
    assert_eq!(
        types(&of_b),
        [
            "disruption.proposed",
            "disruption.activated",
            "drawdown.submitted"
        ]
    );
    assert_eq!(of_b[2]["data"]["manufacturer_id"], b.as_str());
    // No allocation of GA: no disruption event either.
    assert!(feed(&r.app, &r.token_of(&outsider), "").await.is_empty());
    // Another's event as a cursor is answered as an event that does not exist.
    let after_another = format!("/v1/events?after={}", of_a[3]["id"].as_str().unwrap());
    let res = r.app.get_as(&r.token_of(&b), &after_another).await;
    let theirs = assert_problem(res, 404, "not_found").await;
    let nothing = "/v1/events?after=01000000-0000-7000-8000-000000000000";
    let res = r.app.get_as(&r.token_of(&b), nothing).await;
    let missing = assert_problem(res, 404, "not_found").await;
    assert_eq!(
        theirs["detail"].as_str().unwrap().split(' ').count(),
        missing["detail"].as_str().unwrap().split(' ').count()
    );
    let after_own = format!("?after={}", of_b[1]["id"].as_str().unwrap());
    assert_eq!(
        types(&feed(&r.app, &r.token_of(&b), &after_own).await),
        ["drawdown.submitted"]
    );
    assert_eq!(
        feed(&r.app, &r.app.token(Role::Auditor, "aud"), "")
            .await
            .len(),
        6
    );
}

#[actix_web::test]
async fn the_feed_pages_oldest_first_and_filters_by_type() {
    let r = Reserve::new(1000, 0).await;
    let m = r.manufacturer("Acme", "defense", "400", "10").await;
    r.disruption("severe").await;
    for q in ["1", "2", "3"] {
        r.submitted(&m, q).await;
    }
    let admin = r.app.admin();
    let all = feed(&r.app, &admin, "").await;
    assert_eq!(all.len(), 5);
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = r
            .app
            .get_as(&admin, &format!("/v1/events?limit=2{after}"))
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|e| e["id"].clone()));
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    let ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);
    let mut sorted = ids.clone();
    sorted.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(ids, sorted, "oldest first");
    let submitted = feed(&r.app, &admin, "?type=drawdown.submitted").await;
    let quantities: Vec<&str> = submitted
        .iter()
        .map(|e| e["data"]["quantity"].as_str().unwrap())
        .collect();
    assert_eq!(quantities, ["1", "2", "3"]);
    let res = r
        .app
        .get_as(&admin, "/v1/events?type=drawdown.approved")
        .await;
    assert_problem(res, 400, "malformed_request").await;
}

#[actix_web::test]
async fn endpoints_are_registered_listed_toggled_and_rotated_by_their_owners() {
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "defense", "400", "10").await;
    let b = r.manufacturer("Bolt", "critical", "400", "10").await;
    let url = "http://127.0.0.1:9/hook";
    let ep = register(&r.app, &r.token_of(&a), url, json!(["drawdown.released"])).await;
    assert_eq!(ep["status"], "enabled");
    assert_eq!(ep["events"], json!(["drawdown.released"]));
    assert_eq!(ep["manufacturer_id"], a.as_str());
    let secret = ep["secret"].as_str().unwrap().to_owned();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert!(key.len() >= 24);
    let staff = register(&r.app, &r.op(1), url, json!(["*"])).await;
    assert_eq!(staff["manufacturer_id"], Value::Null);

    let res = r
        .app
        .post_as(
            &r.app.token(Role::Auditor, "aud"),
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["*"]}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/x", "events": ["*"]}),
            "url",
        ),
        (json!({"url": "not a url", "events": ["*"]}), "url"),
        (json!({"url": url, "events": []}), "events"),
        (
            json!({"url": url, "events": ["drawdown.approved"]}),
            "events",
        ),
    ] {
        let res = r
            .app
            .post_as(&r.op(1), "/v1/webhook-endpoints", &body)
            .await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }

    // Owners see their own; staff every one; the secret in none of these views.
    let listed: Value = r
        .app
        .get_as(&r.token_of(&a), "/v1/webhook-endpoints")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], ep["id"]);
    assert!(listed["items"][0].get("secret").is_none());
    let all: Value = r
        .app
        .get_as(&r.app.admin(), "/v1/webhook-endpoints")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let path = format!("/v1/webhook-endpoints/{}", id(&ep));
    let res = r.app.get_as(&r.token_of(&b), &path).await;
    assert_problem(res, 404, "not_found").await;
    let res = r
        .app
        .post_as(&r.token_of(&b), &format!("{path}/disable"), &json!({}))
        .await;
    assert_problem(res, 404, "not_found").await;
    let got: Value = r
        .app
        .get_as(&r.token_of(&a), &path)
        .await
        .json()
        .await
        .unwrap();
    assert!(got.get("secret").is_none());

    let res = r
        .app
        .post_as(&r.token_of(&a), &format!("{path}/disable"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "disabled");
    let res = r
        .app
        .post_as(&r.token_of(&a), &format!("{path}/disable"), &json!({}))
        .await;
    assert_problem(res, 409, "invalid_state").await;
    let res = r
        .app
        .post_as(&r.op(1), &format!("{path}/enable"), &json!({}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "enabled");

    let res = r
        .app
        .post_as(
            &r.token_of(&a),
            &format!("{path}/rotate-secret"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_"));
    assert_ne!(new_secret, secret);
}

#[actix_web::test]
async fn https_is_required_and_private_destinations_refused_unless_allowed() {
    let app = spawn_app_with(|s| {
        s.webhooks.allow_http = false;
        s.webhooks.allow_private_networks = false;
    })
    .await;
    let op = app.token(Role::Operator, "op1");
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "https://localhost/hook",
    ] {
        let res = app
            .post_as(
                &op,
                "/v1/webhook-endpoints",
                &json!({"url": url, "events": ["*"]}),
            )
            .await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], "url", "{url}");
    }
    let listed: Value = app
        .get_as(&op, "/v1/webhook-endpoints")
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());
}

/// With an allowlist, only the hosts it names may be registered, before any name is resolved.
#[actix_web::test]
async fn only_allowed_hosts_are_registered_when_a_list_is_set() {
    let app =
        spawn_app_with(|s| s.webhooks.allowed_hosts = "127.0.0.1, hooks.example".into()).await;
    let op = app.token(Role::Operator, "op1");
    let register = |url: &'static str| {
        let body = json!({"url": url, "events": ["*"]});
        let (app, op) = (&app, &op);
        async move { app.post_as(op, "/v1/webhook-endpoints", &body).await }
    };
    let p = assert_problem(
        register("https://elsewhere.example/hook").await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("allowed_hosts"),
        "{p}"
    );
    assert_eq!(register("http://127.0.0.1:9/hook").await.status(), 201);
}

#[actix_web::test]
async fn deliveries_are_signed_retried_with_the_same_id_and_logged() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let a = r.manufacturer("Acme", "defense", "400", "10").await;
    let b = r.manufacturer("Bolt", "critical", "400", "10").await;
    let receiver = Receiver::start(&[500]).await;
    let ep = register(&r.app, &r.token_of(&a), &receiver.url, json!(["*"])).await;
    let secret = ep["secret"].as_str().unwrap();
    r.disruption("severe").await;
    let dd = r.submitted(&a, "10").await;
    r.approved(&dd).await;
    r.submitted(&b, "20").await;

    // The first attempt got a 500: the same event came again, with the same id.
    let seen = receiver.wait_for("six deliveries", |s| s.len() >= 6).await;
    let again: Vec<&Seen> = seen[1..].iter().filter(|s| s.id == seen[0].id).collect();
    assert_eq!(again.len(), 1, "retried once, with the same webhook-id");
    assert_eq!(again[0].body, seen[0].body);
    assert!(seen.iter().all(|s| s.signed_by(secret)), "{seen:?}");
    assert!(!seen[0].signed_by("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let mut ids: Vec<&str> = seen.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each event once, but the retried one");
    for s in &seen {
        let body = s.json();
        assert_eq!(body["id"], s.id.as_str());
        assert!(s.timestamp.parse::<i64>().unwrap() > 1_700_000_000);
        // Acme's endpoint never receives Bolt's drawdown.
        assert_ne!(body["data"]["manufacturer_id"], b.as_str());
    }
    let feed_ids: Vec<Value> = feed(&r.app, &r.token_of(&a), "")
        .await
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    let mut sent: Vec<Value> = ids.iter().map(|i| json!(i)).collect();
    sent.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(sent, feed_ids, "the feed serves the same events");

    let path = format!("/v1/webhook-endpoints/{}/deliveries", id(&ep));
    let items = settled_log(&r.app, &r.token_of(&a), &path).await;
    assert_eq!(items.len(), 5);
    let first = items
        .iter()
        .find(|d| d["event_id"] == seen[0].id.as_str())
        .unwrap();
    assert_eq!(first["attempt"], 2);
    assert_eq!(first["status"], "delivered");
    assert_eq!(first["response_status"], 200);
    // Whichever event reached the receiver first (attempts of a round run side by side).
    assert_eq!(first["type"], seen[0].json()["type"]);
    assert!(first["delivered_at"].is_string());
    let res = r.app.get_as(&r.token_of(&b), &path).await;
    assert_problem(res, 404, "not_found").await;
}

/// A worker that found nothing due waits for its poll, but a write of its own process wakes
/// it: the delivery does not wait the hour this test's poll would take.
#[actix_web::test]
async fn a_committed_write_wakes_the_idle_worker() {
    let r = Reserve::new_with(1000, 0, |s| {
        quick(s);
        s.webhooks.poll_interval_ms = 3_600_000;
    })
    .await;
    let receiver = Receiver::start(&[]).await;
    register(&r.app, &r.op(1), &receiver.url, json!(["*"])).await;
    // The rounds that the start and the registration began have found nothing due.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    r.disruption("severe").await;
    let seen = receiver.wait_for("the delivery", |s| !s.is_empty()).await;
    assert!(seen[0].body.contains("disruption.proposed"), "{seen:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[actix_web::test]
async fn a_410_disables_the_endpoint() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let receiver = Receiver::start(&[410]).await;
    let ep = register(
        &r.app,
        &r.op(1),
        &receiver.url,
        json!(["disruption.proposed"]),
    )
    .await;
    r.disruption("severe").await;
    receiver.wait_for("the 410", |s| !s.is_empty()).await;
    let path = format!("/v1/webhook-endpoints/{}", id(&ep));
    let mut status = Value::Null;
    for _ in 0..50 {
        let got: Value = r.app.get_as(&r.op(1), &path).await.json().await.unwrap();
        status = got["status"].clone();
        if status == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "disabled");
    let log: Value = r
        .app
        .get_as(&r.op(1), &format!("{path}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["status"], "failed");
    assert_eq!(log["items"][0]["response_status"], 410);
    // Disabled: a new event is not sent to it.
    let res = r
        .app
        .post_as(
            &r.op(1),
            "/v1/disruptions",
            &json!({"title": "Again", "materials": ["GA"], "severity": "limited", "reason": "x"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.seen().len(), 1);
}

#[actix_web::test]
async fn after_a_rotation_both_secrets_sign() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let receiver = Receiver::start(&[]).await;
    let ep = register(
        &r.app,
        &r.op(1),
        &receiver.url,
        json!(["disruption.proposed"]),
    )
    .await;
    let old = ep["secret"].as_str().unwrap().to_owned();
    let res = r
        .app
        .post_as(
            &r.op(1),
            &format!("/v1/webhook-endpoints/{}/rotate-secret", id(&ep)),
            &json!({}),
        )
        .await;
    let new = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    r.disruption("severe").await;
    let seen = receiver.wait_for("a delivery", |s| !s.is_empty()).await;
    assert!(
        seen[0].signed_by(&old),
        "a receiver holding the old secret accepts it"
    );
    assert!(
        seen[0].signed_by(&new),
        "a receiver holding the new secret accepts it"
    );
    assert_eq!(seen[0].signature.split(' ').count(), 2);
}

#[actix_web::test]
async fn the_sweep_announces_an_overdue_obligation_once() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let m = r.manufacturer("Acme", "defense", "400", "10").await;
    r.disruption("severe").await;
    let dd = r.submitted(&m, "10").await;
    let ob = r.approved(&dd).await["obligation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let admin = r.app.admin();
    assert!(feed(&r.app, &admin, "?type=obligation.overdue")
        .await
        .is_empty());
    assert_eq!(r.reschedule(&ob, 3).await.status(), 200);
    let mut overdue = Vec::new();
    for _ in 0..50 {
        overdue = feed(&r.app, &admin, "?type=obligation.overdue").await;
        if !overdue.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["data"]["id"], ob.as_str());
    assert_eq!(overdue[0]["data"]["overdue"], true);
    // Later sweeps do not announce it again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        feed(&r.app, &admin, "?type=obligation.overdue").await.len(),
        1
    );
    assert_eq!(
        feed(&r.app, &r.token_of(&m), "?type=obligation.rescheduled")
            .await
            .len(),
        1
    );
}

/// A poller's cursor never steps past an event that commits late. On PostgreSQL writers
/// commit out of the order they began (and of their events' ids): the feed numbers events as
/// they commit, so one committed after a poller's last page comes after its cursor. (SQLite
/// has one writer at a time.)
#[actix_web::test]
async fn a_poller_never_misses_an_event_that_commits_late() {
    if !crate::helpers::is_postgres() {
        return;
    }
    let r = Reserve::new(1000, 0).await;
    let admin = r.app.admin();
    let url = r.app.settings.database.url.clone();
    let (began, wait_began) = std::sync::mpsc::channel();
    let (commit, wait_commit) = std::sync::mpsc::channel::<()>();
    let late = std::thread::spawn(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut c = diesel::PgConnection::establish(&url).unwrap();
        c.transaction(|c| {
            diesel::sql_query(
                "INSERT INTO events (id, type, created_at, data) VALUES \
                 ('01000000-0000-7000-8000-0000000000ff', 'disruption.proposed', now(), '{}')",
            )
            .execute(c)?;
            began.send(()).unwrap();
            wait_commit.recv().unwrap();
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    });
    wait_began.recv().unwrap();
    r.disruption("severe").await; // two events, committed while the late one is open

    let (mut after, mut seen) = (String::new(), Vec::new());
    assert_eq!(poll(&r.app, &admin, &mut after, &mut seen).await, 2);
    commit.send(()).unwrap();
    late.join().unwrap();
    // Its id sorts before both, but it is served after them, past the cursor.
    assert_eq!(poll(&r.app, &admin, &mut after, &mut seen).await, 1);
    assert_eq!(seen[2], "01000000-0000-7000-8000-0000000000ff", "{seen:?}");
}

/// One poll of the feed after the event `after` (then moved on): how many events came.
async fn poll(app: &TestApp, token: &str, after: &mut String, seen: &mut Vec<String>) -> usize {
    let page: Value = app
        .get_as(token, &format!("/v1/events{after}"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
    // A poller carries on from the last event it saw.
    if let Some(last) = items.last() {
        *after = format!("?after={}", last["id"].as_str().unwrap());
    }
    items.len()
}

/// A destination registered when it was public and found private at delivery is skipped,
/// whether its URL names the address or a host (then the delivery client's own resolver
/// refuses it as it connects, so the address checked is the address reached).
#[actix_web::test]
async fn a_destination_found_private_at_delivery_is_skipped() {
    let receiver = Receiver::start(&[]).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    for url in [receiver.url.clone(), by_name] {
        destination_found_private_is_skipped(&receiver, &url).await;
    }
}

async fn destination_found_private_is_skipped(receiver: &Receiver, url: &str) {
    let r = Reserve::new_with(1000, 0, |s| {
        quick(s);
        s.webhooks.allow_private_networks = false;
    })
    .await;
    // Registered when its host was public; it now resolves to a loopback address.
    r.app
        .sql(&format!(
            "INSERT INTO webhook_endpoints (id, manufacturer_id, created_by, url, events, status, secret, created_at) \
             VALUES ('01000000-0000-7000-8000-000000000001', NULL, 'op1', '{url}', '*', 'enabled', \
             'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '2026-01-01 00:00:00')"
        ))
        .await;
    r.disruption("severe").await;
    let path = "/v1/webhook-endpoints/01000000-0000-7000-8000-000000000001/deliveries";
    let mut log = Vec::new();
    for _ in 0..50 {
        let page: Value = r.app.get_as(&r.op(1), path).await.json().await.unwrap();
        log = page["items"].as_array().unwrap().clone();
        if log.iter().any(|d| d["attempt"].as_i64().unwrap() >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter().any(|d| d["attempt"].as_i64().unwrap() >= 2),
        "{log:?}"
    );
    assert!(log
        .iter()
        .all(|d| d["status"] == "pending" && d["response_status"].is_null()));
    assert!(
        receiver.seen().is_empty(),
        "nothing sent to a private address"
    );
    let metrics = r
        .app
        .request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("stockpile_webhook_deliveries_total{outcome=\"skipped\"}"),
        "{metrics}"
    );
}

/// A test server that sends no deliveries (`webhooks.deliver` false): they are left to the
/// service processes a test starts.
fn sends_nothing(s: &mut stockpile::config::Settings) {
    quick(s);
    s.webhooks.deliver = false;
}

#[actix_web::test]
async fn a_process_killed_before_recording_a_delivery_sends_it_again_after_restart() {
    let r = Reserve::new_with(1000, 0, sends_nothing).await;
    let mut service =
        spawn_process_with(&r.app, &[("STOCKPILE__WEBHOOKS__TIMEOUT_SECS", "3")]).await;
    let receiver = Receiver::start(&[]).await;
    *receiver.state.stall.lock().unwrap() = 1;
    let ep = register(
        &r.app,
        &r.op(1),
        &receiver.url,
        json!(["disruption.proposed"]),
    )
    .await;
    let res = r
        .app
        .post_as(&r.op(1), "/v1/disruptions",
            &json!({"title": "Export controls", "materials": ["GA"], "severity": "severe", "reason": "x"}))
        .await;
    assert_eq!(res.status(), 201);
    // Sent, and not answered: the process dies before it can record anything.
    receiver
        .wait_for("the first attempt", |s| !s.is_empty())
        .await;
    service.crash();
    service.restart().await;
    let seen = receiver
        .wait_for("the attempt after the restart", |s| s.len() >= 2)
        .await;
    assert_eq!(seen[0].id, seen[1].id, "the same webhook-id");
    assert!(seen
        .iter()
        .all(|s| s.signed_by(ep["secret"].as_str().unwrap())));
    let log = settled_log(
        &r.app,
        &r.op(1),
        &format!("/v1/webhook-endpoints/{}/deliveries", id(&ep)),
    )
    .await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempt"], 2);
}

#[actix_web::test]
async fn two_processes_deliver_each_event_once() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let _second = spawn_process(&r.app).await;
    let receiver = Receiver::start(&[]).await;
    let ep = register(&r.app, &r.op(1), &receiver.url, json!(["*"])).await;
    let m = r.manufacturer("Acme", "defense", "400", "10").await;
    r.disruption("severe").await;
    for q in 1..=8 {
        r.submitted(&m, &q.to_string()).await;
    }
    let log = settled_log(
        &r.app,
        &r.op(1),
        &format!("/v1/webhook-endpoints/{}/deliveries", id(&ep)),
    )
    .await;
    assert_eq!(log.len(), 10);
    assert!(
        log.iter()
            .all(|d| d["status"] == "delivered" && d["attempt"] == 1),
        "{log:?}"
    );
    let seen = receiver.wait_for("ten deliveries", |s| s.len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids: Vec<String> = receiver.seen().into_iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 10, "{seen:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10, "each event once");
}

/// A drawdown's whole life, and an obligation's, produce every event type of the contract, each
/// delivered signed to a staff endpoint whose receiver was down for the first seconds: the
/// retries deliver everything once it answers, and nothing is lost.
#[actix_web::test]
async fn every_event_of_a_life_is_delivered_across_a_receiver_outage() {
    let r = Reserve::new_with(1000, 0, quick).await;
    // A port with nothing listening yet: every attempt is refused until the receiver starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let op = r.op(1);
    let url = format!("http://127.0.0.1:{port}/hook");
    let ep = register(&r.app, &op, &url, json!(["*"])).await;
    let secret = ep["secret"].as_str().unwrap().to_owned();

    let a = r.manufacturer("Acme", "commercial", "400", "10").await;
    // Two approvals from 25,000,000 USD: 30 units at 1,000,000.
    let big = r.manufacturer("Bolt", "defense", "400", "1000000").await;
    let disruption = r.disruption("severe").await;
    let released = r.approved(&r.submitted(&a, "100").await).await;
    let ob = released["obligation_id"].as_str().unwrap().to_owned();
    let dual = r.submitted(&big, "30").await;
    let dual_id = dual["id"].as_str().unwrap();
    assert_eq!(r.approve(1, dual_id, json!({})).await.status(), 200);
    assert_eq!(r.approve(2, dual_id, json!({})).await.status(), 200);
    let rejected = r.submitted(&a, "5").await;
    let path = format!("/v1/drawdowns/{}/reject", id(&rejected));
    let res = r
        .app
        .post_as(&op, &path, &json!({"reason": "not needed"}))
        .await;
    assert_eq!(res.status(), 200);
    let cancelled = r.submitted(&a, "5").await;
    let path = format!("/v1/drawdowns/{}/cancel", id(&cancelled));
    let res = r.app.post_as(&r.token_of(&a), &path, &json!({})).await;
    assert_eq!(res.status(), 200);
    r.submitted(&a, "5").await;
    assert_eq!(
        r.end(&disruption).await.status(),
        200,
        "expires the pending one"
    );
    // Overdue once moved to yesterday (the sweep runs every second), then repaid in full.
    assert_eq!(r.reschedule(&ob, 1).await.status(), 200);
    let seen_overdue = || async {
        let events = feed(&r.app, &op, "?type=obligation.overdue").await;
        !events.is_empty()
    };
    for _ in 0..100 {
        if seen_overdue().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = format!("/v1/obligations/{ob}/replenishments");
    let back = json!({"facility": "NV1", "quantity": "105", "grade": "99.9"});
    assert_eq!(r.app.post_as(&op, &path, &back).await.status(), 201);

    let expected = [
        "disruption.proposed",
        "disruption.activated",
        "disruption.ended",
        "drawdown.submitted",
        "drawdown.partially_approved",
        "drawdown.released",
        "drawdown.rejected",
        "drawdown.cancelled",
        "drawdown.expired",
        "obligation.created",
        "obligation.rescheduled",
        "obligation.overdue",
        "obligation.replenished",
        "obligation.settled",
    ];
    let all = feed(&r.app, &op, "?limit=200").await;
    let mut kinds: Vec<&str> = types(&all);
    kinds.sort_unstable();
    kinds.dedup();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(
        kinds, want,
        "every event type of the contract, from one life"
    );

    // Down so far: only refused attempts. Now the receiver answers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let receiver = Receiver::start_on(
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
        &[],
    );
    let n = all.len();
    let seen = receiver
        .wait_for("every event", |s| {
            let mut ids: Vec<&str> = s.iter().map(|x| x.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len() >= n
        })
        .await;
    assert!(seen.iter().all(|s| s.signed_by(&secret)));
    for event in &all {
        let got = seen
            .iter()
            .find(|s| s.id == event["id"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{event} never delivered"));
        assert_eq!(&got.json(), event, "the delivery is the feed's event");
    }
    let path = format!("/v1/webhook-endpoints/{}/deliveries", id(&ep));
    let log = settled_log(&r.app, &op, &format!("{path}?limit=200")).await;
    assert_eq!(log.len(), n);
    assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:?}");
    assert!(
        log.iter().any(|d| d["attempt"].as_i64().unwrap() > 1),
        "some were refused while the receiver was down"
    );
}

/// Deliveries waiting for an endpoint that an operator disabled are neither due nor counted
/// in the queue (they wait, uncounted, until it is enabled again).
#[actix_web::test]
async fn a_disabled_endpoints_deliveries_leave_the_queue() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let receiver = Receiver::start(&[500, 500, 500, 500, 500, 500, 500, 500]).await;
    let op = r.op(1);
    let ep = register(&r.app, &op, &receiver.url, json!(["disruption.proposed"])).await;
    r.disruption("severe").await;
    receiver
        .wait_for("a failed attempt", |s| !s.is_empty())
        .await;
    let depth = || async {
        let text = r
            .app
            .request(reqwest::Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("stockpile_webhook_queue_depth "))
            .map(|v| v.trim().to_owned())
    };
    let wait_for_depth = |want: &'static str| async move {
        for _ in 0..120 {
            if depth().await.as_deref() == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("queue depth never became {want}: {:?}", depth().await);
    };
    wait_for_depth("1").await;
    let path = format!("/v1/webhook-endpoints/{}/disable", id(&ep));
    assert_eq!(r.app.post_as(&op, &path, &json!({})).await.status(), 200);
    wait_for_depth("0").await;
}

/// Each endpoint gets a delivery of exactly the events it subscribes to and its owner may see
/// (written by one statement over the endpoints): a listed type, one with an (escaped) `_`
/// among them, and no other; a manufacturer's endpoint gets its own events and the
/// disruptions of its materials, never another's; a disabled endpoint gets none.
#[actix_web::test]
async fn each_endpoint_gets_the_events_it_subscribes_to_and_may_see() {
    let r = Reserve::new_with(1000, 0, quick).await;
    let receiver = Receiver::start(&[]).await;
    let op = r.op(1);
    let a = r.manufacturer("Acme", "commercial", "400", "10").await;
    let big = r.manufacturer("Bolt", "defense", "400", "1000000").await;
    let outsider = r.app.create_manufacturer("Carbon").await;
    let partial = register(
        &r.app,
        &op,
        &receiver.url,
        json!(["drawdown.partially_approved", "obligation.created"]),
    )
    .await;
    let everything = register(&r.app, &op, &receiver.url, json!(["*"])).await;
    let of_a = register(&r.app, &r.token_of(&a), &receiver.url, json!(["*"])).await;
    let of_outsider = register(&r.app, &r.token_of(&outsider), &receiver.url, json!(["*"])).await;
    let off = register(&r.app, &op, &receiver.url, json!(["*"])).await;
    let path = format!("/v1/webhook-endpoints/{}/disable", id(&off));
    assert_eq!(r.app.post_as(&op, &path, &json!({})).await.status(), 200);

    r.disruption("severe").await;
    r.approved(&r.submitted(&a, "10").await).await;
    // Two approvals from 25,000,000 USD: the first one is partial.
    let dual = r.submitted(&big, "30").await;
    assert_eq!(r.approve(1, id(&dual), json!({})).await.status(), 200);
    assert_eq!(r.approve(2, id(&dual), json!({})).await.status(), 200);

    let logged = |ep: Value, token: String| {
        let app = &r.app;
        async move {
            let path = format!("/v1/webhook-endpoints/{}/deliveries?limit=200", id(&ep));
            let log = settled_log(app, &token, &path).await;
            let mut ids: Vec<String> = log
                .iter()
                .map(|d| d["event_id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    let ids = |events: Vec<Value>| {
        let mut ids: Vec<String> = events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort_unstable();
        ids
    };
    let all = feed(&r.app, &op, "?limit=200").await;
    let picked: Vec<Value> = all
        .iter()
        .filter(|e| {
            ["drawdown.partially_approved", "obligation.created"]
                .contains(&e["type"].as_str().unwrap())
        })
        .cloned()
        .collect();
    assert_eq!(
        types(&picked)
            .iter()
            .filter(|t| **t == "obligation.created")
            .count(),
        2
    );
    assert!(types(&picked).contains(&"drawdown.partially_approved"));
    assert_eq!(logged(partial, op.clone()).await, ids(picked));
    assert_eq!(logged(everything, op.clone()).await, ids(all.clone()));
    let seen_by_a = feed(&r.app, &r.token_of(&a), "?limit=200").await;
    assert!(seen_by_a.len() < all.len(), "Bolt's drawdown is not Acme's");
    assert_eq!(logged(of_a, r.token_of(&a)).await, ids(seen_by_a));
    assert!(logged(of_outsider, r.token_of(&outsider)).await.is_empty());
    assert!(logged(off, op.clone()).await.is_empty());
}
