//! Health, request ids, metrics, the OpenAPI document and its offline rendering.

use crate::helpers::spawn_app;
use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn health_endpoints_answer_without_auth() {
    let app = spawn_app().await;
    let live = app
        .request(Method::GET, "/health/live")
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(
        live.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let ready = app
        .request(Method::GET, "/health/ready")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_unreachable() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.database.acquire_timeout_ms = 300;
    })
    .await;
    assert_eq!(
        app.request(Method::GET, "/health/ready")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A second app whose database URL points nowhere answers 503 promptly, not a hang.
    let unreachable = stockpile::db::Db::open(
        "postgres://nobody@127.0.0.1:1/none",
        1,
        std::time::Duration::from_millis(300),
    )
    .unwrap();
    let err = stockpile::services::health::ready(&unreachable)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_ready");
}

#[tokio::test]
async fn postgres_sessions_carry_the_configured_statement_timeout() {
    if !crate::helpers::is_postgres() {
        eprintln!("statement timeout: skipped, needs PostgreSQL");
        return;
    }
    // Migrations at start lift the timeout for themselves.
    let app = crate::helpers::spawn_app_with(|s| s.database.statement_timeout_ms = 300).await;
    let db = stockpile::startup::open_db(&app.settings).unwrap();
    let mut conn = db.get().unwrap();
    let err = conn.batch_execute("SELECT pg_sleep(2)").unwrap_err();
    assert!(err.to_string().contains("statement timeout"), "{err}");
    conn.batch_execute("SELECT pg_sleep(0.05)").unwrap();
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/health/live")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    // A caller's sane id is kept (tracing across a load balancer); an unsafe one is replaced.
    let res = app
        .request(Method::GET, "/v1/materials")
        .header("x-request-id", "lb-1234.abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "lb-1234.abc");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["request_id"], "lb-1234.abc",
        "the problem names the same id"
    );
    let res = app
        .request(Method::GET, "/health/live")
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app().await;
    app.get_as(&app.admin(), "/v1/materials").await;
    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"stockpile_http_requests_total{method="GET",route="/v1/materials",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("stockpile_http_request_duration_seconds_bucket"));
    assert!(text.contains("stockpile_db_pool_connections"));
}

#[tokio::test]
async fn openapi_document_and_docs_page() {
    let app = spawn_app().await;
    let doc: Value = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/materials",
        "/v1/materials/{code}",
        "/v1/facilities",
        "/v1/audit-events",
        "/health/ready",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let create = &doc["paths"]["/v1/materials"]["post"];
    assert_eq!(create["security"][0]["bearer"][0], "admin");
    for status in ["201", "401", "403", "409", "413", "415", "422"] {
        assert!(
            create["responses"][status].is_object(),
            "POST /v1/materials documents {status}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let res = app.request(Method::GET, "/docs").send().await.unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("<code>/v1/materials/{code}</code>"));
    assert!(html.contains("id=\"schema-MaterialView\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
}
