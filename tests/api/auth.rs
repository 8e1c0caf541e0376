//! Every authentication failure of API.md is a 401 problem; roles are enforced with 403.

use crate::helpers::{assert_problem, now, spawn_app, spawn_app_with, TestApp};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

const PATH: &str = "/v1/materials";

pub(crate) async fn status_with_token(app: &TestApp, token: &str) -> u16 {
    app.get_as(token, PATH).await.status().as_u16()
}

pub(crate) async fn assert_401(app: &TestApp, token: &str, why: &str) {
    let res = app.get_as(token, PATH).await;
    assert_eq!(res.status(), 401, "{why}");
    assert_eq!(res.headers()["www-authenticate"], "Bearer", "{why}");
    assert_problem(res, 401, "unauthenticated").await;
}

pub(crate) fn b64(v: &Value) -> String {
    use std::fmt::Write;
    // URL-safe base64 without padding, written out to keep the test free of the service's code.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = v.to_string().into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            let _ = write!(out, "{}", A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token of valid operator claims, changed by `f`.
fn operator_token_with(app: &TestApp, f: &dyn Fn(&mut Value)) -> String {
    let mut c = app.valid_claims("operator", "o1");
    f(&mut c);
    app.token_with_claims(c)
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let app = spawn_app().await;
    let claims = app.valid_claims("auditor", "a1");
    assert_eq!(
        status_with_token(&app, &app.token_with_claims(claims)).await,
        200
    );
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_401() {
    let app = spawn_app().await;
    let res = app.request(Method::GET, PATH).send().await.unwrap();
    assert_problem(res, 401, "unauthenticated").await;
    for header in [
        "Basic YWxpY2U6cHc=",
        "Bearer",
        "Bearer ",
        "Bearer not.a.jwt",
        "token",
    ] {
        let res = app
            .request(Method::GET, PATH)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
    }
}

#[tokio::test]
async fn alg_none_is_401() {
    let app = spawn_app().await;
    let claims = app.valid_claims("admin", "mallory");
    let token = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_401(&app, &token, "alg none").await;
    let token = format!("{}.{}.", b64(&json!({"alg": "None"})), b64(&claims));
    assert_401(&app, &token, "alg None").await;
}

#[tokio::test]
async fn bad_signatures_are_401() {
    let app = spawn_app().await;
    let claims = app.valid_claims("admin", "mallory");
    let wrong = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"some-other-secret-of-sufficient-length!!").unwrap(),
    )
    .unwrap();
    assert_401(&app, &wrong, "wrong secret").await;

    // A payload swapped under a valid signature (role escalation attempt).
    let good = app.token_with_claims(app.valid_claims("manufacturer", "m1"));
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut escalated = app.valid_claims("admin", "m1");
    escalated["org"] = json!("x");
    parts[1] = b64(&escalated);
    assert_401(&app, &parts.join("."), "tampered payload").await;

    // Signature stripped.
    let stripped = format!("{}.{}.", parts[0], b64(&app.valid_claims("admin", "m1")));
    assert_401(&app, &stripped, "empty signature").await;
}

#[tokio::test]
async fn an_algorithm_that_is_not_configured_is_401() {
    let app = spawn_app().await;
    // HS384 with the right secret: the key is right, the algorithm is not configured.
    let secret = app.settings.hs256_secret().unwrap().to_owned();
    let hs384 = encode(
        &Header::new(Algorithm::HS384),
        &app.valid_claims("admin", "x"),
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_401(&app, &hs384, "HS384").await;
    // An EdDSA token while only HS256 is configured.
    let key = EncodingKey::from_ed_pem(include_bytes!("keys/ed25519_private.pem")).unwrap();
    let ed = encode(
        &Header::new(Algorithm::EdDSA),
        &app.valid_claims("admin", "x"),
        &key,
    )
    .unwrap();
    assert_401(&app, &ed, "EdDSA not configured").await;
    // An RS256 header over an HMAC-with-the-secret signature (key confusion).
    let mut parts: Vec<String> = hs384.split('.').map(str::to_owned).collect();
    parts[0] = b64(&json!({"alg": "RS256", "typ": "JWT"}));
    assert_401(&app, &parts.join("."), "RS256 header").await;
}

#[tokio::test]
async fn time_claims_are_enforced_with_bounded_leeway() {
    let app = spawn_app().await;
    let leeway = app.settings.auth.leeway_secs;
    let with = |f: &dyn Fn(&mut Value)| operator_token_with(&app, f);
    assert_401(
        &app,
        &with(&|c| c["exp"] = json!(now() - leeway - 5)),
        "expired",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
        "no exp",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| c["exp"] = json!("tomorrow")),
        "exp not a number",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| c["nbf"] = json!(now() + leeway + 60)),
        "future nbf",
    )
    .await;
    // Within the leeway both are tolerated.
    let recent = with(&|c| c["exp"] = json!(now() - leeway / 2));
    assert_eq!(
        status_with_token(&app, &recent).await,
        200,
        "expired within leeway"
    );
    let soon = with(&|c| c["nbf"] = json!(now() + leeway / 2));
    assert_eq!(
        status_with_token(&app, &soon).await,
        200,
        "nbf within leeway"
    );
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = spawn_app().await;
    let with = |f: &dyn Fn(&mut Value)| operator_token_with(&app, f);
    assert_401(
        &app,
        &with(&|c| c["iss"] = json!("someone-else")),
        "wrong iss",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("iss"))),
        "no iss",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| c["aud"] = json!("other-service")),
        "wrong aud",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("aud"))),
        "no aud",
    )
    .await;
    // `iss` is one string (RFC 7519): an array, even one holding ours, is refused.
    for iss in [
        json!(["stockpile-test"]),
        json!(["other", "stockpile-test"]),
        json!(5),
    ] {
        assert_401(&app, &with(&|c| c["iss"] = iss.clone()), "iss not a string").await;
    }
    let listed = with(&|c| c["aud"] = json!(["other", "stockpile"]));
    assert_eq!(
        status_with_token(&app, &listed).await,
        200,
        "aud list containing ours"
    );
}

#[tokio::test]
async fn role_and_org_claims_are_required() {
    let app = spawn_app().await;
    let with = |f: &dyn Fn(&mut Value)| operator_token_with(&app, f);
    assert_401(&app, &with(&|c| c["role"] = json!("root")), "unknown role").await;
    assert_401(
        &app,
        &with(&|c| c["role"] = json!("Admin")),
        "role is case-sensitive",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("role"))),
        "no role",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| c["role"] = json!("manufacturer")),
        "manufacturer without org",
    )
    .await;
    assert_401(
        &app,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        "no sub",
    )
    .await;
    assert_401(&app, &with(&|c| c["sub"] = json!("")), "empty sub").await;
    let mfr = with(&|c| {
        c["role"] = json!("manufacturer");
        c["org"] = json!("m-1");
    });
    assert_eq!(status_with_token(&app, &mfr).await, 200);
}

#[tokio::test]
async fn the_role_may_come_from_a_nested_list_of_roles() {
    let app = spawn_app_with(|s| s.auth.role_claim = "realm_access.roles".into()).await;
    let with_roles = |roles: Value| {
        let mut c = app.valid_claims("admin", "kc-user");
        c.as_object_mut().unwrap().remove("role");
        c["realm_access"] = json!({ "roles": roles });
        app.token_with_claims(c)
    };
    let material = json!({"code": "GA", "name": "Gallium", "unit": "kg", "scale": 3,
        "strategic_floor": "0"});
    // Keycloak lists its own roles and a composite's parts: the most capable of ours counts.
    let admin = with_roles(json!(["offline_access", "auditor", "admin", "operator"]));
    let res = app.post_as(&admin, "/v1/materials", &material).await;
    assert_eq!(res.status(), 201);
    let auditor = with_roles(json!(["uma_authorization", "auditor"]));
    assert_eq!(status_with_token(&app, &auditor).await, 200);
    let res = app
        .post_as(
            &auditor,
            "/v1/facilities",
            &json!({"code": "NV1",
        "name": "Nevada", "country": "US"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_401(&app, &with_roles(json!(["offline_access"])), "none of ours").await;
    assert_401(
        &app,
        &with_roles(json!(["manufacturer", "operator"])),
        "ambiguous",
    )
    .await;
    // The top-level `role` no longer counts.
    let top_level = app.token_with_claims(app.valid_claims("admin", "kc-user"));
    assert_401(&app, &top_level, "role outside the configured claim").await;
}

#[tokio::test]
async fn a_configured_public_key_verifies_eddsa_tokens() {
    let app = spawn_app_with(|s| {
        s.auth.hs256_secret = String::new();
        s.auth.public_key_pem = include_str!("keys/ed25519_public.pem").to_owned();
        s.auth.public_key_algorithm = "EdDSA".into();
    })
    .await;
    let claims = app.valid_claims("auditor", "a1");
    let ours = EncodingKey::from_ed_pem(include_bytes!("keys/ed25519_private.pem")).unwrap();
    let token = encode(&Header::new(Algorithm::EdDSA), &claims, &ours).unwrap();
    assert_eq!(status_with_token(&app, &token).await, 200);
    let theirs =
        EncodingKey::from_ed_pem(include_bytes!("keys/other_ed25519_private.pem")).unwrap();
    let forged = encode(&Header::new(Algorithm::EdDSA), &claims, &theirs).unwrap();
    assert_401(&app, &forged, "other key").await;
    // No secret configured: HS256 is not accepted at all, whatever the secret.
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"stockpile-test-secret-0123456789abcdef0123456789").unwrap(),
    )
    .unwrap();
    assert_401(&app, &hs, "HS256 without a configured secret").await;
}

#[tokio::test]
async fn roles_may_only_do_what_api_md_allows() {
    let app = spawn_app().await;
    let material =
        json!({"code": "GA", "name": "Gallium", "unit": "kg", "scale": 3, "strategic_floor": "0"});
    let facility = json!({"code": "NV1", "name": "Nevada", "country": "US"});
    for role in [Role::Manufacturer, Role::Operator, Role::Auditor] {
        let t = app.token(role, "u1");
        let res = app.post_as(&t, "/v1/materials", &material).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.post_as(&t, "/v1/facilities", &facility).await;
        assert_problem(res, 403, "forbidden").await;
    }
    // Nothing was written by the refused attempts.
    let admin = app.admin();
    let page: Value = app
        .get_as(&admin, "/v1/materials")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);

    assert_eq!(
        app.post_as(&admin, "/v1/materials", &material)
            .await
            .status(),
        201
    );
    for role in Role::ALL {
        let t = app.token(role, "u1");
        assert_eq!(
            app.get_as(&t, "/v1/materials").await.status(),
            200,
            "{role}"
        );
        assert_eq!(
            app.get_as(&t, "/v1/materials/GA").await.status(),
            200,
            "{role}"
        );
        assert_eq!(
            app.get_as(&t, "/v1/facilities").await.status(),
            200,
            "{role}"
        );
        let audit = app.get_as(&t, "/v1/audit-events").await.status();
        assert_eq!(
            audit,
            if role == Role::Manufacturer { 403 } else { 200 },
            "{role}"
        );
    }
}
