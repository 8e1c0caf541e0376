//! `spawn_app()`: the real server on port 0 over a fresh database: a temporary SQLite file,
//! or, when STOCKPILE_TEST_DATABASE_URL names a PostgreSQL server, a new database on it that
//! is dropped afterwards.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use stockpile::api::token;
use stockpile::config::Settings;
use stockpile::db::Db;
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
                let url = format!("{base}/{name}");
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

    /// A pool on the app's database, for checks through `stockpile::db`.
    pub fn db(&self) -> Db {
        Db::open(&self.settings.database.url, 2, Duration::from_secs(5)).expect("test database")
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
