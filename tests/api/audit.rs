//! Every write, accepted or refused, leaves an audit event with the actor from the token.

use crate::helpers::spawn_app;
use serde_json::json;
use stockpile::domain::actor::Role;

#[tokio::test]
async fn accepted_and_refused_writes_are_audited() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin, "alice");
    let operator = app.token(Role::Operator, "otto");
    let body =
        json!({"code": "GA", "name": "Gallium", "unit": "kg", "scale": 3, "strategic_floor": "5"});

    let ok = app.post_as(&admin, "/v1/materials", &body).await;
    let ok_request = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(ok.status(), 201);
    assert_eq!(
        app.post_as(&operator, "/v1/materials", &body)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.post_as(&admin, "/v1/materials", &body).await.status(),
        409
    );
    let mut bad = body.clone();
    bad["scale"] = json!(9);
    assert_eq!(
        app.post_as(&admin, "/v1/materials", &bad).await.status(),
        422
    );
    // An unauthenticated attempt has no actor to record.
    assert_eq!(
        app.post_as("forged", "/v1/materials", &body).await.status(),
        401
    );

    let events = app.audit_events().await;
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["actor_sub"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("alice", "material.create", "ok"),
        ("otto", "material.create", "forbidden"),
        ("alice", "material.create", "conflict"),
        ("alice", "material.create", "validation_failed"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect();
    assert_eq!(summary, expected);
    assert_eq!(events[0]["target"], "GA");
    assert_eq!(events[0]["actor_role"], "admin");
    assert_eq!(events[1]["actor_role"], "operator");
    assert_eq!(events[0]["request_id"], ok_request.as_str());

    let mine: serde_json::Value = app
        .get_as(&admin, "/v1/audit-events?actor=otto")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let page: serde_json::Value = app
        .get_as(&admin, "/v1/audit-events?action=material.create&limit=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let next = page["next"].as_str().unwrap();
    let rest: serde_json::Value = app
        .get_as(
            &admin,
            &format!("/v1/audit-events?action=material.create&after={next}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next"], serde_json::Value::Null);
}
