//! `spawn_app()`: the real server on port 0 over a fresh database: a temporary SQLite file,
//! or, when STOCKPILE_TEST_DATABASE_URL names a PostgreSQL server, a new database on it that
//! is dropped afterwards.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use stockpile::api::token;
use stockpile::config::Settings;
use stockpile::domain::actor::Role;
use stockpile::startup::Application;

pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    pub client: reqwest::Client,
    _database: TestDatabase,
}

/// The database a test owns, removed when the test ends.
enum TestDatabase {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    fn create() -> (Self, String) {
        let tag = uuid::Uuid::now_v7().simple().to_string();
        match std::env::var("STOCKPILE_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("stockpile_test_{tag}");
                let mut conn =
                    diesel::PgConnection::establish(&admin_url).expect("PostgreSQL for tests");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                // Without TLS: servers of finished tests keep their pooled connections
                // until the test binary exits, and OpenSSL's exit-time cleanup racing a
                // connection still open in another thread crashed the binary (SIGSEGV after
                // every test had passed) once in CI.
                let url = format!("{base}/{name}?sslmode=disable");
                (TestDatabase::Postgres { admin_url, name }, url)
            }
            _ => {
                let dir = std::env::temp_dir().join(format!("stockpile-test-{tag}"));
                let url = format!("sqlite://{}/stockpile.db", dir.display());
                (TestDatabase::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDatabase::Postgres { admin_url, name } => {
                if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                    let _ =
                        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

pub fn is_postgres() -> bool {
    std::env::var("STOCKPILE_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server with the test settings as `customize` leaves them.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::load_env("test").expect("test settings");
    let (database, url) = TestDatabase::create();
    settings.database.url = url;
    customize(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        settings,
        client: reqwest::Client::new(),
        _database: database,
    }
}

/// A second service process (the release or debug binary) on the same database, logging to
/// a file of its own.
pub struct ServiceProcess {
    pub address: String,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: std::process::Child,
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

pub async fn spawn_process(app: &TestApp) -> ServiceProcess {
    spawn_process_with(app, &[]).await
}

/// `spawn_process` with extra `STOCKPILE__...` settings in its environment.
pub async fn spawn_process_with(app: &TestApp, env: &[(&str, &str)]) -> ServiceProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.push((
        "STOCKPILE__DATABASE__URL".into(),
        app.settings.database.url.clone(),
    ));
    let log = std::env::temp_dir().join(format!(
        "stockpile-process-{}.log",
        uuid::Uuid::now_v7().simple()
    ));
    let child = start_process(port, &env, &log);
    let process = ServiceProcess {
        address: format!("http://127.0.0.1:{port}"),
        port,
        env,
        log,
        child,
    };
    process.wait_ready().await;
    process
}

fn start_process(
    port: u16,
    env: &[(String, String)],
    log: &std::path::Path,
) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("process log");
    std::process::Command::new(env!("CARGO_BIN_EXE_stockpile"))
        .arg("serve")
        .env("STOCKPILE_ENV", "test")
        .env("STOCKPILE__SERVER__PORT", port.to_string())
        .env("STOCKPILE__SERVER__WORKERS", "2")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start a second service process")
}

impl ServiceProcess {
    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            let ready = client
                .get(format!("{}/health/ready", self.address))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the service process did not become ready");
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// SIGKILLs the process, as a crash would, and reaps it.
    pub fn crash(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Starts the process again on the same port and database, and waits until it is ready.
    pub async fn restart(&mut self) {
        self.child = start_process(self.port, &self.env, &self.log);
        self.wait_ready().await;
    }

    /// Waits (at most `within`) for the process to exit; its exit status, or None on timeout.
    pub async fn exited_within(
        &mut self,
        within: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Runs a `stockpile` command (`verify`, `backup` ...) on the database at `database_url`.
pub fn run_cli(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stockpile"))
        .args(args)
        .env("STOCKPILE_ENV", "test")
        .env("STOCKPILE__DATABASE__URL", database_url)
        .output()
        .expect("run stockpile")
}

impl TestApp {
    /// A valid token of `role` for `sub` (manufacturers act for org `m-<sub>`).
    pub fn token(&self, role: Role, sub: &str) -> String {
        let org = (role == Role::Manufacturer).then(|| format!("m-{sub}"));
        token::mint(&self.settings, role, sub, org.as_deref(), 3600).expect("mint")
    }

    /// A token signed with the test secret from arbitrary claims.
    pub fn token_with_claims(&self, claims: Value) -> String {
        let secret = self.settings.hs256_secret().expect("test secret");
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    /// Claims the test configuration accepts, expiring in an hour.
    pub fn valid_claims(&self, role: &str, sub: &str) -> Value {
        json!({
            "sub": sub, "role": role, "exp": now() + 3600, "iat": now(),
            "iss": self.settings.auth.issuer, "aud": self.settings.auth.audience,
        })
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, "admin-1")
    }

    pub async fn create_material(&self, code: &str, scale: i64, floor: &str) -> Value {
        let body = json!({"code": code, "name": format!("Material {code}"), "unit": "kg",
                          "scale": scale, "strategic_floor": floor});
        let res = self.post_as(&self.admin(), "/v1/materials", &body).await;
        assert_eq!(res.status(), 201, "creating material {code}");
        res.json().await.unwrap()
    }

    /// A connection of its own to the test's database, in a write transaction left open
    /// (SQLite: holding the write lock), to make the service wait on what it holds.
    pub fn open_write_transaction(&self) -> stockpile::db::DbConnection {
        use stockpile::db::DbConnection;
        let mut conn = stockpile::db::DbUrl::parse(&self.settings.database.url)
            .unwrap()
            .connect()
            .unwrap();
        let begin = match conn {
            DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
            DbConnection::Pg(_) => "BEGIN",
        };
        conn.batch_execute(begin).unwrap();
        conn
    }

    /// A pool on the test's database, for checks below the API.
    pub fn db(&self) -> stockpile::db::Db {
        stockpile::db::Db::open(
            &self.settings.database.url,
            2,
            std::time::Duration::from_secs(10),
        )
        .expect("test database")
    }

    /// Runs raw SQL on the test's database (to tamper with it, as an intruder would).
    pub async fn sql(&self, statements: &str) {
        let statements = statements.to_owned();
        self.db()
            .run(move |conn| {
                diesel::connection::SimpleConnection::batch_execute(conn, &statements)
                    .map_err(stockpile::db::DbError::from)
            })
            .await
            .expect("sql");
    }

    pub async fn create_facility(&self, code: &str) {
        let body = json!({"code": code, "name": format!("Depot {code}"), "country": "US"});
        let res = self.post_as(&self.admin(), "/v1/facilities", &body).await;
        assert_eq!(res.status(), 201, "creating facility {code}");
    }

    /// Registers a manufacturer and returns its id.
    pub async fn create_manufacturer(&self, name: &str) -> String {
        let body = json!({"name": name, "priority_tier": "critical"});
        let res = self
            .post_as(&self.admin(), "/v1/manufacturers", &body)
            .await;
        assert_eq!(res.status(), 201, "creating manufacturer {name}");
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Receives a lot and returns it.
    pub async fn receive(
        &self,
        material: &str,
        facility: &str,
        quantity: &str,
        received_at: &str,
    ) -> Value {
        let body = json!({"material": material, "facility": facility, "quantity": quantity,
                          "grade": "99.5", "origin_country": "AU", "supplier": "Lynas",
                          "unit_cost_usd": "52.5", "received_at": received_at});
        let res = self
            .post_as(&self.token(Role::Operator, "op-1"), "/v1/lots", &body)
            .await;
        assert_eq!(
            res.status(),
            201,
            "receiving {quantity} {material} at {facility}"
        );
        res.json().await.unwrap()
    }

    /// A material's live figures.
    pub async fn figures(&self, code: &str) -> Value {
        self.get_as(&self.admin(), &format!("/v1/materials/{code}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Every journal entry, through the export.
    pub async fn export_jsonl(&self) -> Vec<Value> {
        let res = self
            .get_as(&self.admin(), "/v1/ledger/export?format=jsonl")
            .await;
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub async fn verify(&self) -> Value {
        self.get_as(&self.admin(), "/v1/ledger/verify")
            .await
            .json()
            .await
            .unwrap()
    }

    /// The ledger balance of a USD account, in cents (0 when nothing was ever posted to it).
    pub fn usd_cents(&self, account: &str) -> i64 {
        let mut conn = self.db().get().expect("connection");
        stockpile::db::ledger::balance(&mut conn, account, "USD")
            .expect("balance")
            .unwrap_or(0)
    }

    pub async fn audit_events(&self) -> Vec<Value> {
        let res = self
            .get_as(&self.admin(), "/v1/audit-events?limit=1000")
            .await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// The outcomes (`ok`, or the refusal's code) of the audited writes of `action`.
    pub async fn audit_outcomes(&self, action: &str) -> Vec<String> {
        self.audit_events()
            .await
            .into_iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["outcome"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Asserts a problem+json response of `status` and `code`, and returns its body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    assert!(res.headers().contains_key("x-request-id"), "x-request-id");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:stockpile:problem:{code}"));
    assert!(body["request_id"].is_string(), "{body}");
    body
}
