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
    assert_eq!(err.code().as_str(), "not_ready");
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

/// A raw HTTP/1.1 exchange: what the server answers to `request` (status, lower-cased head,
/// body), read until it closes the connection.
async fn raw_exchange(address: &str, request: Vec<u8>) -> (u16, String, Vec<u8>) {
    let address = address.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        // The server may answer and close before it has read everything.
        let _ = stream.write_all(&request);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
        let status = head[9..12].parse().unwrap();
        (status, head, answer[split + 4..].to_vec())
    })
    .await
    .unwrap()
}

/// Errors the HTTP layer (actix-http's HTTP/1 decoder) answers itself, before any code of the
/// service runs, so they cannot carry problem+json or `x-request-id` (README, "Limits"):
/// more than 96 header fields or a head over 128 KiB (431), a request target over 65,534
/// bytes, a control character (0x7f) in a header value, or `Content-Length` beside
/// `Transfer-Encoding` (400). Each is a bare status, an empty body and a closed connection;
/// requests just inside those limits reach the service and get its problem+json.
#[tokio::test]
async fn errors_of_the_http_layer_and_requests_just_inside_its_limits() {
    let app = spawn_app().await;
    let request = |line: &str, headers: &str| {
        format!("{line} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n")
            .into_bytes()
    };
    let fields = |n: usize| (0..n).map(|i| format!("X-F{i}: v\r\n")).collect::<String>();
    let admin = app.admin();
    let key = |value: &[u8]| {
        let mut r = request(
            "POST /v1/facilities",
            &format!("Authorization: Bearer {admin}\r\n"),
        );
        r.truncate(r.len() - 2);
        r.extend_from_slice(b"Content-Length: 0\r\nIdempotency-Key: ");
        r.extend_from_slice(value);
        r.extend_from_slice(b"\r\n\r\n");
        r
    };
    let bare = [
        (request("GET /v1/materials", &fields(200)), 431),
        (
            request(
                "GET /v1/materials",
                &format!("X-Big: {}\r\n", "a".repeat(140_000)),
            ),
            431,
        ),
        (
            request(
                &format!("GET /v1/materials?after={}", "a".repeat(100_000)),
                "",
            ),
            400,
        ),
        (key(b"order\x7f42"), 400),
        (
            request(
                "POST /v1/facilities",
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            ),
            400,
        ),
    ];
    for (i, (raw, status)) in bare.into_iter().enumerate() {
        let (got, head, body) = raw_exchange(&app.address, raw).await;
        assert_eq!(got, status, "case {i}: {head}");
        assert!(head.contains("content-length: 0"), "case {i}: {head}");
        assert!(head.contains("connection: close"), "case {i}: {head}");
        assert!(!head.contains("x-request-id"), "case {i}: {head}");
        assert!(body.is_empty(), "case {i}");
    }
    let shaped = [
        (request("GET /v1/materials", &fields(90)), 401),
        (
            request(
                "GET /v1/materials",
                &format!("X-Big: {}\r\n", "a".repeat(60_000)),
            ),
            401,
        ),
        (
            request(
                &format!("GET /v1/materials?after={}", "a".repeat(60_000)),
                "",
            ),
            401,
        ),
        // Bytes above 0x7f pass the HTTP layer; the service refuses the key itself.
        (key(b"order\x8042"), 400),
    ];
    for (i, (raw, status)) in shaped.into_iter().enumerate() {
        let (got, head, body) = raw_exchange(&app.address, raw).await;
        assert_eq!(got, status, "case {i}: {head}");
        assert!(
            head.contains("content-type: application/problem+json"),
            "case {i}: {head}"
        );
        assert!(head.contains("x-request-id: "), "case {i}: {head}");
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], status, "case {i}: {problem}");
    }
}

/// The console (issue 20) is served from the binary with a strict policy: no inline script or
/// style, no eval, no framing; every asset it names exists; an unknown asset is a 404.
#[tokio::test]
async fn the_console_and_its_assets_are_served_with_a_strict_policy() {
    let app = spawn_app().await;
    let page = app.request(Method::GET, "/console").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert_eq!(csp, stockpile::api::console::CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'self'",
        "script-src 'self';",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp} lacks {part}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );
    for asset in ["app.js", "api.js", "ui.js", "pages.js", "style.css"] {
        let r = app
            .request(Method::GET, &format!("/console/assets/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert!(
            r.headers().contains_key("content-security-policy"),
            "{asset}"
        );
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("innerHTML") && !body.contains("eval("),
            "{asset} builds no markup from strings"
        );
    }
    let missing = app
        .request(Method::GET, "/console/assets/nope.js")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}
