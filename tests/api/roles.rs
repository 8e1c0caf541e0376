//! The role matrix of API.md, endpoint by endpoint: a role that may not do a thing gets 403
//! `forbidden` (before its body is even read); a role that may never gets 401 or 403.

use crate::helpers::{assert_problem, spawn_app};
use reqwest::Method;
use serde_json::json;
use stockpile::domain::actor::Role::{self, Admin, Auditor, Manufacturer, Operator};

const ANY: &[Role] = &[Manufacturer, Operator, Auditor, Admin];
const STAFF: &[Role] = &[Operator, Auditor, Admin];
const OPERATORS: &[Role] = &[Operator, Admin];
const ADMINS: &[Role] = &[Admin];
const MANUFACTURERS: &[Role] = &[Manufacturer];
const SUBSCRIBERS: &[Role] = &[Manufacturer, Operator, Admin];

const X: &str = "00000000-0000-7000-8000-000000000000";

fn matrix() -> Vec<(Method, String, &'static [Role])> {
    use Method as M;
    vec![
        (M::GET, "/v1/materials".into(), ANY),
        (M::POST, "/v1/materials".into(), ADMINS),
        (M::GET, "/v1/materials/GA".into(), ANY),
        (M::PATCH, "/v1/materials/GA".into(), ADMINS),
        (M::GET, "/v1/facilities".into(), ANY),
        (M::POST, "/v1/facilities".into(), ADMINS),
        (M::GET, "/v1/facilities/NV1".into(), ANY),
        (M::GET, "/v1/manufacturers".into(), STAFF),
        (M::POST, "/v1/manufacturers".into(), ADMINS),
        (M::GET, format!("/v1/manufacturers/{X}"), ANY),
        (M::POST, format!("/v1/manufacturers/{X}/suspend"), ADMINS),
        (M::POST, format!("/v1/manufacturers/{X}/reinstate"), ADMINS),
        (
            M::PUT,
            format!("/v1/manufacturers/{X}/allocations/GA"),
            ADMINS,
        ),
        (M::GET, format!("/v1/manufacturers/{X}/allocations"), ANY),
        (
            M::GET,
            format!("/v1/manufacturers/{X}/allocations/GA/history"),
            ANY,
        ),
        (M::POST, format!("/v1/manufacturers/{X}/fees"), ADMINS),
        (M::POST, "/v1/fees/accruals".into(), OPERATORS),
        (
            M::POST,
            format!("/v1/manufacturers/{X}/payments"),
            OPERATORS,
        ),
        (M::GET, format!("/v1/manufacturers/{X}/statement"), ANY),
        (M::POST, "/v1/allocation-transfers".into(), ADMINS),
        (M::GET, "/v1/allocation-transfers".into(), ANY),
        (M::POST, "/v1/lots".into(), OPERATORS),
        (M::GET, "/v1/lots".into(), STAFF),
        (M::GET, format!("/v1/lots/{X}"), STAFF),
        (M::POST, "/v1/inventory/transfers".into(), OPERATORS),
        (M::POST, "/v1/inventory/adjustments".into(), OPERATORS),
        (M::POST, "/v1/disruptions".into(), OPERATORS),
        (M::GET, "/v1/disruptions".into(), STAFF),
        (M::GET, format!("/v1/disruptions/{X}"), STAFF),
        (M::POST, format!("/v1/disruptions/{X}/confirm"), OPERATORS),
        (M::POST, format!("/v1/disruptions/{X}/end"), OPERATORS),
        (M::POST, "/v1/drawdowns".into(), MANUFACTURERS),
        (M::GET, "/v1/drawdowns".into(), ANY),
        (M::GET, format!("/v1/drawdowns/{X}"), ANY),
        (M::POST, format!("/v1/drawdowns/{X}/approve"), OPERATORS),
        (M::POST, format!("/v1/drawdowns/{X}/reject"), OPERATORS),
        (M::POST, format!("/v1/drawdowns/{X}/cancel"), MANUFACTURERS),
        (M::GET, "/v1/obligations".into(), ANY),
        (M::GET, format!("/v1/obligations/{X}"), ANY),
        (
            M::POST,
            format!("/v1/obligations/{X}/replenishments"),
            OPERATORS,
        ),
        (
            M::POST,
            format!("/v1/obligations/{X}/reschedule"),
            OPERATORS,
        ),
        (M::POST, "/v1/loan-facilities".into(), ADMINS),
        (M::GET, "/v1/loan-facilities".into(), STAFF),
        (M::GET, format!("/v1/loan-facilities/{X}"), STAFF),
        (M::POST, format!("/v1/loan-facilities/{X}/tranches"), ADMINS),
        (
            M::POST,
            format!("/v1/tranches/{X}/disbursements"),
            OPERATORS,
        ),
        (
            M::POST,
            format!("/v1/loan-facilities/{X}/accruals"),
            OPERATORS,
        ),
        (
            M::POST,
            format!("/v1/loan-facilities/{X}/repayments"),
            OPERATORS,
        ),
        (M::GET, "/v1/ledger/entries".into(), STAFF),
        (M::GET, "/v1/ledger/export".into(), STAFF),
        (M::GET, "/v1/ledger/verify".into(), STAFF),
        (M::GET, "/v1/ledger/balances".into(), STAFF),
        (M::GET, "/v1/audit-events".into(), STAFF),
        (M::GET, "/v1/events".into(), ANY),
        (M::POST, "/v1/webhook-endpoints".into(), SUBSCRIBERS),
        (M::GET, "/v1/webhook-endpoints".into(), ANY),
        (M::GET, format!("/v1/webhook-endpoints/{X}"), ANY),
        (
            M::POST,
            format!("/v1/webhook-endpoints/{X}/disable"),
            SUBSCRIBERS,
        ),
        (
            M::POST,
            format!("/v1/webhook-endpoints/{X}/enable"),
            SUBSCRIBERS,
        ),
        (
            M::POST,
            format!("/v1/webhook-endpoints/{X}/rotate-secret"),
            SUBSCRIBERS,
        ),
        (M::GET, format!("/v1/webhook-endpoints/{X}/deliveries"), ANY),
        (M::GET, "/v1/materials/GA/prices".into(), ANY),
        (M::POST, "/v1/materials/GA/prices".into(), OPERATORS),
        (M::GET, "/v1/reports/cover".into(), STAFF),
        (M::POST, "/v1/reports/stress".into(), STAFF),
        (M::GET, "/v1/reports/concentration".into(), STAFF),
        (M::GET, "/v1/reports/valuation".into(), STAFF),
        (M::GET, "/v1/reports/net-return".into(), STAFF),
    ]
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let app = spawn_app().await;
    let tokens: Vec<(Role, String)> = Role::ALL
        .iter()
        .map(|r| (*r, app.token(*r, "matrix")))
        .collect();
    for (method, path, allowed) in matrix() {
        for (role, token) in &tokens {
            let mut req = app.request(method.clone(), &path).bearer_auth(token);
            if method != Method::GET {
                req = req.json(&json!({}));
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            if allowed.contains(role) {
                assert!(
                    status != 401 && status != 403 && status < 500,
                    "{role} {method} {path}: {status}"
                );
            } else {
                assert_eq!(status, 403, "{role} {method} {path}");
                assert_problem(res, 403, "forbidden").await;
            }
        }
        let anonymous = app.request(method.clone(), &path).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "no token: {method} {path}");
    }
    // Nothing the matrix sent was accepted as a write.
    let written = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e["outcome"] == "ok")
        .count();
    assert_eq!(written, 0);
    assert_eq!(app.verify().await["entries"], 0);
}

#[tokio::test]
async fn every_documented_path_is_in_the_matrix() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shape = |p: &str| {
        p.split('/')
            .map(|s| {
                if s.starts_with('{') || [X, "GA", "NV1"].contains(&s) {
                    "{}"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    let tested: Vec<(String, String)> = matrix()
        .into_iter()
        .map(|(m, p, _)| (m.as_str().to_lowercase(), shape(&p)))
        .collect();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let at = tested
                .iter()
                .position(|t| *t == (method.clone(), shape(path)))
                .unwrap_or_else(|| panic!("{method} {path} is documented but not in the matrix"));
            // The document's roles are the handler's: they must be API.md's.
            let roles: Vec<&str> = matrix()[at].2.iter().map(|r| r.as_str()).collect();
            assert_eq!(
                op["security"],
                json!([{ "bearer": roles }]),
                "{method} {path}"
            );
            documented.push(at);
        }
    }
    documented.sort_unstable();
    let every: Vec<usize> = (0..tested.len()).collect();
    assert_eq!(
        documented, every,
        "the matrix lists an undocumented operation"
    );
    assert_problem(
        app.post_as(&app.token(Role::Auditor, "a"), "/v1/materials", &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
}
