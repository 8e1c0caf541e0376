//! Faults: a service process SIGKILLed and restarted under load, the database's connections
//! cut under load, one request sent twice at once, SIGTERM with requests in flight. Clients
//! resend every request they got no answer to with the same `Idempotency-Key`; afterwards
//! every acknowledged write exists exactly once and the books agree with themselves. The
//! crash and the outage need PostgreSQL (they return early on SQLite); the rest run on both.

use crate::concurrency::assert_books_consistent;
use crate::drawdowns::Reserve;
use crate::helpers::{is_postgres, run_cli, spawn_app, spawn_process, spawn_process_with, TestApp};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use futures_util::future::join_all;
use futures_util::FutureExt;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use stockpile::api::reply::REPLAYED_HEADER;
use stockpile::db::DbConnection;

const CLIENTS: usize = 6;
const ROUNDS: usize = 10;
/// Sends of one request at most, RETRY_PAUSE apart: a client gives up after about 15 s.
const MAX_SENDS: u32 = 150;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

fn skip_without_postgres(test: &str) -> bool {
    if !is_postgres() {
        eprintln!("{test}: skipped, needs PostgreSQL (set STOCKPILE_TEST_DATABASE_URL)");
    }
    !is_postgres()
}

/// One write of the load, with the key it keeps across resends.
struct Write {
    action: &'static str,
    path: String,
    token: String,
    key: String,
    body: Value,
}

/// The answer a client finally got to a write, and how many sends it took.
pub struct Answer {
    action: &'static str,
    status: u16,
    body: Value,
    pub sends: u32,
    replayed: bool,
}

/// Sends `w` until it is answered, alternating over `bases` from `first`: a lost connection
/// or a 503 is resent with the same key.
async fn send_until_answered(
    client: &reqwest::Client,
    bases: &[String],
    first: usize,
    w: &Write,
) -> Answer {
    for sends in 1..=MAX_SENDS {
        let base = &bases[(first + sends as usize) % bases.len()];
        let sent = client
            .post(format!("{base}{}", w.path))
            .bearer_auth(&w.token)
            .header("idempotency-key", &w.key)
            .json(&w.body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(res) = sent {
            let status = res.status().as_u16();
            let replayed = res.headers().contains_key(REPLAYED_HEADER);
            if let (true, Ok(body)) = (status != 503, res.json::<Value>().await) {
                return Answer {
                    action: w.action,
                    status,
                    body,
                    sends,
                    replayed,
                };
            }
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    panic!("{} {} was never answered", w.action, w.key);
}

/// A reserve with plenty of GA at NV1 and TX2 under a severe disruption, and one manufacturer
/// per client.
pub struct Load {
    pub r: Reserve,
    manufacturers: Vec<String>,
}

impl Load {
    async fn new() -> Self {
        Self::with(CLIENTS, |_| {}).await
    }

    /// `clients` clients on a server with the test settings as `customize` leaves them.
    pub async fn with(
        clients: usize,
        customize: impl FnOnce(&mut stockpile::config::Settings),
    ) -> Self {
        let r = Reserve::new_with(100_000, 0, customize).await;
        r.disruption("severe").await;
        let mut manufacturers = Vec::new();
        for c in 0..clients {
            manufacturers.push(
                r.manufacturer(&format!("M{c}"), "critical", "1000", "1")
                    .await,
            );
        }
        Load { r, manufacturers }
    }

    /// Each client, in rounds: submits a drawdown, approves every other one, adjusts NV1 and
    /// transfers between the depots, spreading its requests over `bases`. `answered` counts
    /// the answers as they arrive.
    pub async fn run(&self, bases: &[String], answered: &AtomicUsize) -> Vec<Answer> {
        let http = reqwest::Client::new();
        let clients = (0..self.manufacturers.len()).map(|c| self.client(c, &http, bases, answered));
        join_all(clients).await.into_iter().flatten().collect()
    }

    async fn client(
        &self,
        c: usize,
        http: &reqwest::Client,
        bases: &[String],
        answered: &AtomicUsize,
    ) -> Vec<Answer> {
        let send = |w: Write, first: usize| async move {
            let a = send_until_answered(http, bases, first, &w).await;
            answered.fetch_add(1, Ordering::Relaxed);
            a
        };
        let mut answers = Vec::new();
        for i in 0..ROUNDS {
            let submitted = send(self.submission(c, i), c + i).await;
            let mut rest = Vec::new();
            if i.is_multiple_of(2) {
                let id = submitted.body["id"].as_str().unwrap_or_default();
                rest.push(self.approval(c, i, id));
            }
            answers.push(submitted);
            rest.extend(self.movements(c, i));
            for (n, w) in rest.into_iter().enumerate() {
                answers.push(send(w, c + i + n + 1).await);
            }
        }
        answers
    }

    fn write(&self, c: usize, i: usize, action: &'static str, path: String, body: Value) -> Write {
        Write {
            action,
            path,
            token: self.r.op(1),
            key: format!("c{c}-r{i}-{action}"),
            body,
        }
    }

    fn submission(&self, c: usize, i: usize) -> Write {
        let body = json!({"material": "GA", "quantity": (1 + i % 3).to_string(),
                          "justification": "line stopped"});
        Write {
            token: self.r.token_of(&self.manufacturers[c]),
            ..self.write(c, i, "drawdown.submit", "/v1/drawdowns".into(), body)
        }
    }

    fn approval(&self, c: usize, i: usize, id: &str) -> Write {
        let path = format!("/v1/drawdowns/{id}/approve");
        self.write(c, i, "drawdown.approve", path, json!({}))
    }

    /// A count correction at NV1 and a transfer between the depots, alternating directions.
    fn movements(&self, c: usize, i: usize) -> [Write; 2] {
        let (quantity, from, to) = if i.is_multiple_of(2) {
            ("-1", "NV1", "TX2")
        } else {
            ("2", "TX2", "NV1")
        };
        let adjust = json!({"material": "GA", "facility": "NV1", "quantity": quantity,
                            "reason": "count"});
        let transfer = json!({"material": "GA", "from_facility": from, "to_facility": to,
                              "quantity": "1"});
        [
            self.write(
                c,
                i,
                "inventory.adjust",
                "/v1/inventory/adjustments".into(),
                adjust,
            ),
            self.write(
                c,
                i,
                "inventory.transfer",
                "/v1/inventory/transfers".into(),
                transfer,
            ),
        ]
    }

    /// How many answers a full run gets.
    pub fn writes(&self) -> usize {
        self.manufacturers.len() * (ROUNDS * 3 + ROUNDS.div_ceil(2))
    }

    /// Every write was acknowledged and took effect exactly once, held stock is what the
    /// pending drawdowns hold, and the books verify, through the API and `stockpile verify`.
    pub async fn assert_exactly_once(&self, answers: &[Answer]) {
        let app = &self.r.app;
        assert_eq!(answers.len(), self.writes());
        for a in answers {
            assert!(
                [200, 201].contains(&a.status),
                "{} answered {}: {}",
                a.action,
                a.status,
                a.body
            );
        }
        let mut acknowledged = BTreeMap::<String, usize>::new();
        for a in answers {
            *acknowledged.entry(a.action.to_owned()).or_default() += 1;
        }
        let mut applied = BTreeMap::<String, usize>::new();
        for e in app.audit_events().await {
            let action = e["action"].as_str().unwrap();
            if e["outcome"] == "ok" && acknowledged.contains_key(action) {
                *applied.entry(action.to_owned()).or_default() += 1;
            }
        }
        assert_eq!(
            applied, acknowledged,
            "effects per action vs acknowledged writes"
        );

        let submitted: BTreeSet<&str> = answers
            .iter()
            .filter(|a| a.action == "drawdown.submit")
            .map(|a| a.body["id"].as_str().unwrap())
            .collect();
        let listed: Value = app
            .get_as(&app.admin(), "/v1/drawdowns?limit=1000")
            .await
            .json()
            .await
            .unwrap();
        let listed = listed["items"].as_array().unwrap();
        let ids: BTreeSet<&str> = listed.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(listed.len(), ids.len());
        assert_eq!(
            ids, submitted,
            "the drawdowns are the acknowledged submissions"
        );
        let approved = answers
            .iter()
            .filter(|a| a.action == "drawdown.approve")
            .count();
        let dec = |v: &Value| Decimal::from_str(v.as_str().unwrap()).unwrap();
        let pending: Decimal = listed
            .iter()
            .filter(|d| d["status"] == "pending_approval")
            .map(|d| dec(&d["quantity"]))
            .sum();
        assert_eq!(
            listed.iter().filter(|d| d["status"] == "released").count(),
            approved
        );
        let f = app.figures("GA").await;
        assert_eq!(dec(&f["held"]), pending, "held vs pending drawdowns");
        assert!(dec(&f["available"]) >= Decimal::ZERO, "{f}");
        assert_books_consistent(app, "GA").await;
        let cli = run_cli(&app.settings.database.url, &["verify"]);
        assert!(
            cli.status.success(),
            "stockpile verify: {}",
            String::from_utf8_lossy(&cli.stdout)
        );
    }
}

pub fn report_resends(answers: &[Answer]) {
    let resent = answers.iter().filter(|a| a.sends > 1);
    let replayed = resent.clone().filter(|a| a.replayed).count();
    eprintln!(
        "{} of {} writes were sent more than once, {replayed} of them answered by a replay",
        resent.count(),
        answers.len()
    );
}

/// Waits (at most 20 s) until `answered` reaches `n`.
pub async fn when_answered(answered: &AtomicUsize, n: usize) {
    for _ in 0..2000 {
        if answered.load(Ordering::Relaxed) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the load stalled before {n} answers");
}

#[tokio::test]
async fn a_process_killed_under_load_loses_nothing_and_retries_apply_once() {
    if skip_without_postgres("crash under load") {
        return;
    }
    let load = Load::new().await;
    let mut second = spawn_process(&load.r.app).await;
    let bases = [load.r.app.address.clone(), second.address.clone()];
    let answered = AtomicUsize::new(0);
    let crash = async {
        when_answered(&answered, load.writes() / 3).await;
        second.crash();
        tokio::time::sleep(Duration::from_millis(300)).await;
        second.restart().await;
    };
    let (answers, ()) = tokio::join!(load.run(&bases, &answered), crash);
    report_resends(&answers);
    assert!(
        answers.iter().any(|a| a.sends > 1),
        "some request went unanswered and was resent"
    );
    load.assert_exactly_once(&answers).await;
}

#[tokio::test]
async fn a_write_killed_inside_its_transaction_is_applied_once_when_resent() {
    if skip_without_postgres("killed inside a transaction") {
        return;
    }
    let r = Reserve::new(1000, 0).await;
    let mut second = spawn_process(&r.app).await;
    let w = loss_of_five(&r, "killed-inside");
    let client = reqwest::Client::new();
    let mut ledger = hold_ledger(&r.app);
    let lost = tokio::spawn(
        client
            .post(format!("{}{}", second.address, w.path))
            .bearer_auth(&w.token)
            .header("idempotency-key", &w.key)
            .json(&w.body)
            .send(),
    );
    // The write has taken the stock and waits for the ledger; its key is not stored yet.
    when_connections_in_use(&second.address, 1).await;
    second.crash();
    assert!(lost.await.unwrap().is_err(), "its answer is lost");
    ledger.batch_execute("COMMIT").unwrap();

    let bases = [r.app.address.clone()];
    let first = send_until_answered(&client, &bases, 0, &w).await;
    assert_eq!((first.status, first.replayed), (201, false), "applied now");
    let again = send_until_answered(&client, &bases, 0, &w).await;
    assert_eq!((again.status, again.replayed), (201, true));
    assert_eq!(again.body, first.body);
    assert_taken_once(&r, &w).await;
}

/// A loss of 5 GA at NV1, with its key.
fn loss_of_five(r: &Reserve, key: &str) -> Write {
    Write {
        action: "inventory.adjust",
        path: "/v1/inventory/adjustments".into(),
        token: r.op(1),
        key: key.into(),
        body: json!({"material": "GA", "facility": "NV1", "quantity": "-5", "reason": "loss"}),
    }
}

/// `loss_of_five` took effect once, on a reserve of 1000.
async fn assert_taken_once(r: &Reserve, w: &Write) {
    assert_eq!(r.figures().await.0, "995", "taken once");
    let applied = r.app.audit_events().await.into_iter();
    let applied = applied.filter(|e| e["action"] == w.action && e["outcome"] == "ok");
    assert_eq!(applied.count(), 1);
    assert_books_consistent(&r.app, "GA").await;
}

/// A proxy in front of `upstream` for one connection: it forwards the request and, as soon
/// as the answer starts (the write has committed), closes the connection instead.
fn answer_dropping_proxy(upstream: &str) -> String {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let mut server = std::net::TcpStream::connect(upstream).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (mut from_client, mut to_server) =
            (client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_server));
        let _ = server.read(&mut [0u8; 1]);
        let _ = client.shutdown(std::net::Shutdown::Both);
        let _ = server.shutdown(std::net::Shutdown::Both);
    });
    address
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_replayed_when_resent() {
    let r = Reserve::new(1000, 0).await;
    let w = loss_of_five(&r, "answer-lost");
    let client = reqwest::Client::new();
    let proxy = answer_dropping_proxy(&r.app.address);
    let lost = client
        .post(format!("{proxy}{}", w.path))
        .bearer_auth(&w.token)
        .header("idempotency-key", &w.key)
        .json(&w.body)
        .send()
        .await;
    assert!(lost.is_err(), "the answer is lost");
    let answer = send_until_answered(&client, std::slice::from_ref(&r.app.address), 0, &w).await;
    assert_eq!(
        (answer.status, answer.replayed),
        (201, true),
        "{}",
        answer.body
    );
    assert_taken_once(&r, &w).await;
}

/// An administrator's connection to the server of a test app's database.
struct Sessions {
    admin: diesel::PgConnection,
    database: String,
}

impl Sessions {
    fn of(app: &TestApp) -> Self {
        let admin_url = std::env::var("STOCKPILE_TEST_DATABASE_URL").unwrap();
        let database = app
            .settings
            .database
            .url
            .rsplit_once('/')
            .and_then(|(_, rest)| rest.split('?').next())
            .unwrap()
            .to_owned();
        let admin = diesel::PgConnection::establish(&admin_url).expect("admin connection");
        Sessions { admin, database }
    }

    /// Terminates every session on the database.
    fn terminate(&mut self) {
        self.admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.database
            ))
            .unwrap();
    }

    fn allow_connections(&mut self, allow: bool) {
        self.admin
            .batch_execute(&format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
                self.database
            ))
            .unwrap();
    }
}

/// Cuts every connection to a test database and refuses new ones until dropped.
struct Outage(Sessions);

impl Outage {
    fn begin(app: &TestApp) -> Self {
        let mut sessions = Sessions::of(app);
        sessions.allow_connections(false);
        let mut outage = Outage(sessions);
        outage.cut();
        outage
    }

    fn cut(&mut self) {
        self.0.terminate();
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.0.allow_connections(true);
    }
}

/// GET /health/ready: its status, code and how long it took.
async fn readiness(base: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let res = reqwest::Client::new()
        .get(format!("{base}/health/ready"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("readiness answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap(), started.elapsed())
}

#[tokio::test]
async fn the_database_going_away_under_load_gives_503s_and_the_service_recovers() {
    if skip_without_postgres("database outage under load") {
        return;
    }
    let load = Load::new().await;
    let service = spawn_process_with(
        &load.r.app,
        &[("STOCKPILE__DATABASE__ACQUIRE_TIMEOUT_MS", "1000")],
    )
    .await;
    let bases = [service.address.clone()];
    let create_facility = || {
        reqwest::Client::new()
            .post(format!("{}/v1/facilities", service.address))
            .bearer_auth(load.r.app.admin())
            .header("idempotency-key", "during-the-outage")
            .json(&json!({"code": "OUT1", "name": "Depot OUT1", "country": "US"}))
            .send()
            .map(Result::unwrap)
    };
    let answered = AtomicUsize::new(0);
    let outage = async {
        when_answered(&answered, load.writes() / 3).await;
        let mut outage = Outage::begin(&load.r.app);
        for _ in 0..5 {
            outage.cut();
            let (status, body, took) = readiness(&service.address).await;
            assert_eq!((status, body["code"].as_str()), (503, Some("not_ready")));
            assert!(
                took < Duration::from_millis(2500),
                "readiness took {took:?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let started = Instant::now();
        let refused = create_facility().await;
        assert_eq!(refused.status(), 503);
        assert!(started.elapsed() < Duration::from_millis(2500));
        drop(outage);
        // Back by itself, no restart: the pool reconnects.
        for _ in 0..100 {
            if readiness(&service.address).await.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(readiness(&service.address).await.0, 200, "recovered");
        assert_eq!(
            create_facility().await.status(),
            201,
            "the refused write, resent"
        );
    };
    let (answers, ()) = tokio::join!(load.run(&bases, &answered), outage);
    report_resends(&answers);
    assert!(
        answers.iter().any(|a| a.sends > 1),
        "some request was refused with 503 and resent"
    );
    load.assert_exactly_once(&answers).await;
    let facilities: Value = load
        .r
        .app
        .get_as(&load.r.app.admin(), "/v1/facilities")
        .await
        .json()
        .await
        .unwrap();
    let out = facilities["items"].as_array().unwrap().iter();
    assert_eq!(out.filter(|f| f["code"] == "OUT1").count(), 1);
}

/// The pool checks a connection that was idle before handing it out (not one in use a moment
/// ago), so connections the database dropped while the service was quiet fail no request.
#[tokio::test]
async fn connections_lost_while_idle_are_replaced_without_failing_a_request() {
    if skip_without_postgres("connections lost while idle") {
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin();
    assert_eq!(app.get_as(&admin, "/v1/facilities").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    Sessions::of(&app).terminate();
    assert_eq!(app.get_as(&admin, "/v1/facilities").await.status(), 200);
}

#[tokio::test]
async fn one_submission_sent_twice_at_once_through_two_processes_is_held_once() {
    let r = Reserve::new(1000, 0).await;
    let second = spawn_process(&r.app).await;
    r.disruption("severe").await;
    let m = r.manufacturer("Acme", "critical", "1000", "1").await;
    let client = reqwest::Client::new();
    let body = json!({"material": "GA", "quantity": "7", "justification": "line stopped"});
    for round in 0..10 {
        let sends = [&r.app.address, &second.address].map(|base| {
            client
                .post(format!("{base}/v1/drawdowns"))
                .bearer_auth(r.token_of(&m))
                .header("idempotency-key", format!("twice-{round}"))
                .json(&body)
                .send()
        });
        let mut answers = Vec::new();
        for res in join_all(sends).await {
            let res = res.unwrap();
            answers.push((res.status().as_u16(), res.text().await.unwrap()));
        }
        assert_eq!(answers[0].0, 201, "{}", answers[0].1);
        assert_eq!(answers[0], answers[1], "the same answer to both");
    }
    assert_eq!(r.listed("").await.len(), 10);
    assert_eq!(r.figures().await.1, "70", "held once per key");
    assert_books_consistent(&r.app, "GA").await;
}

/// Waits (at most 10 s) until a service has `n` database connections in use, by its metrics:
/// that many requests are inside their transactions.
async fn when_connections_in_use(base: &str, n: i64) {
    let gauge = |metrics: &str, name: &str| -> i64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} ")));
        line.and_then(|l| l[name.len()..].trim().parse().ok())
            .unwrap_or(0)
    };
    for _ in 0..400 {
        let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
        let metrics = metrics.text().await.unwrap();
        let open = gauge(&metrics, "stockpile_db_pool_connections");
        if open - gauge(&metrics, "stockpile_db_pool_idle") >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{base} never had {n} requests inside their transactions");
}

/// A transaction that holds the ledger, so that writes wait inside theirs until it ends.
fn hold_ledger(app: &TestApp) -> DbConnection {
    let mut conn = app.open_write_transaction();
    if let DbConnection::Pg(_) = conn {
        conn.batch_execute("LOCK TABLE ledger_head IN EXCLUSIVE MODE")
            .unwrap();
    }
    conn
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    let app = spawn_app().await;
    app.create_material("GA", 0, "0").await;
    app.create_facility("NV1").await;
    let mut service = spawn_process_with(
        &app,
        &[
            ("STOCKPILE__SERVER__SHUTDOWN_TIMEOUT_SECS", "10"),
            ("STOCKPILE__LOG__LEVEL", "info"),
        ],
    )
    .await;
    let mut ledger = hold_ledger(&app);
    let op = app.token(stockpile::domain::actor::Role::Operator, "op1");
    let client = reqwest::Client::new();
    let burst = tokio::spawn(join_all((0..6).map(|i| {
        client
            .post(format!("{}/v1/lots", service.address))
            .bearer_auth(&op)
            .header("idempotency-key", format!("lot-{i}"))
            .json(
                &json!({"material": "GA", "facility": "NV1", "quantity": "10", "grade": "99.5",
                          "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "52.5"}),
            )
            .send()
    })));
    when_connections_in_use(&service.address, 6).await;
    service.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        service.exited_within(Duration::ZERO).await.is_none(),
        "waits for the requests in flight"
    );
    let late = client
        .get(format!("{}/health/live", service.address))
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(late.is_err(), "no longer accepting: {late:?}");
    ledger.batch_execute("COMMIT").unwrap();
    for res in burst.await.unwrap() {
        assert_eq!(res.unwrap().status(), 201, "an in-flight request completed");
    }
    let status = service.exited_within(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    assert_eq!(app.figures("GA").await["on_hand"], "60");
    let log = service.log();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("closing the database pool"), "{log}");
}
