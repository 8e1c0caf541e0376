//! Keys from an identity provider's key set (`auth.jwks_url`, `auth.jwks_file`): chosen by
//! `kid`, rotated, refreshed within limits, and refused when a token's `alg` is not its key's.
//! The key set is served by the test itself on 127.0.0.1.

use crate::auth::{assert_401, status_with_token};
use crate::helpers::{spawn_app_with, TestApp};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A signing key of the identity provider, and its public JWK with its `kid`.
struct IdpKey {
    kid: &'static str,
    alg: Algorithm,
    signing: EncodingKey,
    jwk: Value,
}

impl IdpKey {
    fn new(kid: &'static str, alg: Algorithm, pem: &[u8]) -> Self {
        let signing = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            _ => EncodingKey::from_ed_pem(pem),
        }
        .unwrap();
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&signing, alg).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Self {
            kid,
            alg,
            signing,
            jwk,
        }
    }

    fn rsa(kid: &'static str) -> Self {
        Self::new(
            kid,
            Algorithm::RS256,
            include_bytes!("keys/rsa_private.pem"),
        )
    }

    fn ec(kid: &'static str) -> Self {
        Self::new(
            kid,
            Algorithm::ES256,
            include_bytes!("keys/ec_p256_private.pem"),
        )
    }

    fn ed(kid: &'static str) -> Self {
        Self::new(
            kid,
            Algorithm::EdDSA,
            include_bytes!("keys/ed25519_private.pem"),
        )
    }

    /// A token for `role` signed with this key, its header naming `alg` and `kid`.
    fn token_as(&self, app: &TestApp, role: &str, alg: Algorithm, kid: Option<&str>) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, &app.valid_claims(role, "idp-user"), &self.signing).unwrap()
    }

    /// A token for `role` as the identity provider signs it.
    fn token(&self, app: &TestApp, role: &str) -> String {
        self.token_as(app, role, self.alg, Some(self.kid))
    }

    /// The status of a read with a token of this key.
    async fn status(&self, app: &TestApp, role: &str) -> u16 {
        status_with_token(app, &self.token(app, role)).await
    }
}

/// A key set document of these keys.
fn key_set(keys: &[&IdpKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// The identity provider's key set endpoint: a thread answering every request with the
/// current document (or a 503), counting the requests.
struct KeySetServer {
    url: String,
    answer: Arc<Mutex<Option<String>>>,
    fetches: Arc<AtomicUsize>,
}

impl KeySetServer {
    fn start(document: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/realms/test/protocol/openid-connect/certs",
            listener.local_addr().unwrap()
        );
        let answer = Arc::new(Mutex::new(Some(document)));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shared, count) = (answer.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                count.fetch_add(1, Ordering::SeqCst);
                let reply = match shared.lock().unwrap().clone() {
                    Some(body) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\
                             connection: close\r\n\r\n"
                        .to_owned(),
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Self {
            url,
            answer,
            fetches,
        }
    }

    /// Serves `document` from now on; `None`: answers 503.
    fn serve(&self, document: Option<String>) {
        *self.answer.lock().unwrap() = document;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

const WINDOW_SECS: u64 = 3;

/// Waits until a refresh is allowed again.
async fn past_the_window() {
    tokio::time::sleep(Duration::from_millis(WINDOW_SECS * 1000 + 300)).await;
}

#[tokio::test]
async fn keys_rotate_through_a_served_key_set_within_the_refresh_limit() {
    let (k1, k2, k3, k4) = (
        IdpKey::rsa("2026-01"),
        IdpKey::ec("2026-02"),
        IdpKey::ed("2026-03"),
        IdpKey::rsa("2026-04"),
    );
    let stranger = IdpKey::ed("made-up");
    let idp = KeySetServer::start(key_set(&[&k1]));
    let app = spawn_app_with(|s| {
        s.auth.jwks_url = idp.url.clone();
        s.auth.jwks_min_refresh_secs = WINDOW_SECS;
        s.auth.jwks_refresh_secs = 0;
    })
    .await;
    assert_eq!(idp.fetches(), 1, "fetched at start");
    assert_eq!(k1.status(&app, "auditor").await, 200);
    // The HS256 secret of the configuration still verifies its tokens.
    let hs = app.token_with_claims(app.valid_claims("auditor", "script"));
    assert_eq!(status_with_token(&app, &hs).await, 200);

    // The provider adds a key; a token of it right after the start's fetch waits for the
    // window to pass: refused, nothing fetched.
    idp.serve(Some(key_set(&[&k1, &k2])));
    assert_401(
        &app,
        &k2.token(&app, "auditor"),
        "new kid within the window",
    )
    .await;
    assert_eq!(idp.fetches(), 1, "no fetch within the window");
    past_the_window().await;
    assert_eq!(k2.status(&app, "operator").await, 200);
    assert_eq!(idp.fetches(), 2, "the unknown kid refetched the set");
    assert_401(&app, &stranger.token(&app, "admin"), "made-up kid").await;
    assert_eq!(
        idp.fetches(),
        2,
        "a made-up kid right after a fetch fetches nothing"
    );

    // The provider retires k1: held until the next refresh, refused after it.
    idp.serve(Some(key_set(&[&k2, &k3])));
    assert_eq!(k1.status(&app, "auditor").await, 200);
    past_the_window().await;
    assert_eq!(k3.status(&app, "admin").await, 200);
    assert_eq!(idp.fetches(), 3);
    assert_401(
        &app,
        &k1.token(&app, "auditor"),
        "removed kid after the refresh",
    )
    .await;

    // The provider fails: the refresh is tried, the keys held stay.
    idp.serve(None);
    past_the_window().await;
    assert_401(
        &app,
        &stranger.token(&app, "admin"),
        "made-up kid, provider down",
    )
    .await;
    assert_eq!(idp.fetches(), 4, "the failed refresh was tried");
    assert_eq!(k2.status(&app, "auditor").await, 200);
    assert_eq!(k3.status(&app, "auditor").await, 200);

    // Many requests naming one new kid at once: one fetch, all of them accepted.
    idp.serve(Some(key_set(&[&k3, &k4])));
    past_the_window().await;
    let token = k4.token(&app, "auditor");
    let statuses =
        futures_util::future::join_all((0..8).map(|_| status_with_token(&app, &token))).await;
    assert_eq!(statuses, [200; 8]);
    assert_eq!(idp.fetches(), 5, "one fetch for all of them");
}

#[tokio::test]
async fn the_key_set_is_refreshed_periodically_and_a_failure_keeps_the_keys() {
    let (k1, k2) = (IdpKey::ec("ec-1"), IdpKey::ed("ed-2"));
    let idp = KeySetServer::start(key_set(&[&k1]));
    let app = spawn_app_with(|s| {
        s.auth.jwks_url = idp.url.clone();
        s.auth.jwks_min_refresh_secs = 600;
        s.auth.jwks_refresh_secs = 1;
    })
    .await;
    let old = k1.token(&app, "auditor");
    assert_eq!(status_with_token(&app, &old).await, 200);
    idp.serve(Some(key_set(&[&k2])));
    // No token names a new kid: the periodic refresh alone retires k1.
    let deadline = Instant::now() + Duration::from_secs(15);
    while status_with_token(&app, &old).await == 200 {
        assert!(Instant::now() < deadline, "k1 still accepted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_401(&app, &old, "retired by the periodic refresh").await;
    let current = k2.token(&app, "auditor");
    assert_eq!(status_with_token(&app, &current).await, 200);
    idp.serve(None);
    let failed_from = idp.fetches();
    while idp.fetches() < failed_from + 2 {
        assert!(Instant::now() < deadline, "no refresh tried");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status_with_token(&app, &current).await, 200);
}

#[tokio::test]
async fn a_key_set_file_verifies_each_algorithm_and_refuses_an_alg_not_its_keys() {
    let (rsa, ec, ed) = (IdpKey::rsa("rsa"), IdpKey::ec("ec"), IdpKey::ed("ed"));
    // Entra's keys name no alg: the EC key's is implied by its curve.
    let mut ec_without_alg = IdpKey::ec("ec");
    ec_without_alg.jwk.as_object_mut().unwrap().remove("alg");
    let dir = std::env::temp_dir().join(format!("stockpile-jwks-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, key_set(&[&rsa, &ec_without_alg, &ed])).unwrap();
    let app = spawn_app_with(|s| {
        s.auth.hs256_secret = String::new();
        s.auth.jwks_file = file.display().to_string();
        s.auth.jwks_min_refresh_secs = 1;
    })
    .await;
    for (key, role) in [(&rsa, "auditor"), (&ec, "operator"), (&ed, "admin")] {
        assert_eq!(key.status(&app, role).await, 200, "{}", key.kid);
    }
    // The kid of the RSA key over an ES256 signature, and RS384 by the RS256 key itself.
    let es_as_rsa = ec.token_as(&app, "admin", Algorithm::ES256, Some("rsa"));
    assert_401(&app, &es_as_rsa, "ES256 under an RS256 key's kid").await;
    let rs384 = rsa.token_as(&app, "admin", Algorithm::RS384, Some("rsa"));
    assert_401(&app, &rs384, "RS384 under an RS256 key").await;
    let ed_as_ec = ed.token_as(&app, "admin", Algorithm::EdDSA, Some("ec"));
    assert_401(&app, &ed_as_ec, "EdDSA under an ES256 key's kid").await;
    // HS256 signed with the public key's modulus (key confusion): no secret is configured,
    // and a key set never gives a symmetric key.
    let modulus = rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa".into());
    let confused = encode(
        &header,
        &app.valid_claims("admin", "mallory"),
        &EncodingKey::from_secret(&modulus).unwrap(),
    )
    .unwrap();
    assert_401(&app, &confused, "HS256 under an RSA kid").await;
    // Another key than the one the kid names.
    let other = IdpKey::new(
        "ec",
        Algorithm::ES256,
        include_bytes!("keys/other_ec_p256_private.pem"),
    );
    assert_401(
        &app,
        &other.token(&app, "admin"),
        "forged under a known kid",
    )
    .await;
    // Only a key set is configured: a token without kid names no key.
    let no_kid = rsa.token_as(&app, "admin", Algorithm::RS256, None);
    assert_401(&app, &no_kid, "no kid").await;

    // The file is read again on a refresh: a key added to it is taken.
    let added = IdpKey::rsa("rsa-2");
    std::fs::write(&file, key_set(&[&rsa, &ec, &ed, &added])).unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(added.status(&app, "auditor").await, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unreadable_key_set_file_stops_the_service_naming_it() {
    let dir = std::env::temp_dir().join(format!("stockpile-jwks-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = stockpile::config::Settings::load_env("test").unwrap();
    settings.database.url = format!("sqlite://{}/unused.db", dir.display());
    settings.auth.jwks_file = "/nonexistent/jwks.json".into();
    let Err(e) = stockpile::startup::Application::build(settings.clone()).await else {
        panic!("started without its key set file");
    };
    assert!(format!("{e:#}").contains("/nonexistent/jwks.json"), "{e:#}");
    assert!(
        !dir.join("unused.db").exists(),
        "the database was not touched"
    );
    let file = dir.join("jwks.json");
    std::fs::write(&file, "{\"kid\": \"not a set\"}").unwrap();
    settings.auth.jwks_file = file.display().to_string();
    let Err(e) = stockpile::startup::Application::build(settings).await else {
        panic!("started with a file that is not a key set");
    };
    assert!(format!("{e:#}").contains("no `keys` array"), "{e:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
