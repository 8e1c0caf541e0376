//! The `stockpile` command itself: settings it refuses before doing anything, the container's
//! health check, the help text.

use crate::helpers::spawn_app;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary with a clean environment for its settings: STOCKPILE_ENV=test and no
/// `STOCKPILE__*` variable of the caller's.
fn stockpile(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stockpile"));
    cmd.args(args).env("STOCKPILE_ENV", "test");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STOCKPILE__") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs `cmd`, killing it after 30 s (a service that started by mistake would never end).
fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stockpile");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running after 30 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_mistyped_setting_stops_the_service_naming_it() {
    let mut cmd = stockpile(&["serve"]);
    cmd.env("STOCKPILE__DATABSE__URL", "sqlite://somewhere.db")
        .env("STOCKPILE__SERVER__PORT", "0");
    let out = run(cmd);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("`databse`") && err.contains("STOCKPILE__DATABSE__URL"),
        "{err}"
    );
}

#[test]
fn production_without_a_database_url_refuses_to_start() {
    let secret = "a-production-secret-of-32-bytes-or-more-0123";
    let mut cmd = stockpile(&["serve"]);
    cmd.env("STOCKPILE_ENV", "production")
        .env("STOCKPILE__AUTH__HS256_SECRET", secret)
        .env("STOCKPILE__SERVER__PORT", "0");
    let out = run(cmd);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("database.url") && err.contains("STOCKPILE__DATABASE__URL"),
        "{err}"
    );
}

#[tokio::test]
async fn healthcheck_asks_the_configured_server() {
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let mut cmd = stockpile(&["healthcheck"]);
    cmd.env("STOCKPILE__SERVER__PORT", &port)
        .env("STOCKPILE__DATABASE__URL", &app.settings.database.url);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Nothing listens on a port just released.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = stockpile(&["healthcheck"]);
    cmd.env("STOCKPILE__SERVER__PORT", free.to_string());
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn help_names_the_environment_and_the_values() {
    let out = run(stockpile(&["--help"]));
    let help = String::from_utf8_lossy(&out.stdout);
    for name in ["STOCKPILE_ENV", "STOCKPILE__SECTION__KEY", "RUST_LOG"] {
        assert!(help.contains(name), "{name} in {help}");
    }
    let out = run(stockpile(&["token", "--help"]));
    let help = String::from_utf8_lossy(&out.stdout);
    for role in ["manufacturer", "operator", "auditor", "admin"] {
        assert!(help.contains(role), "{role} in {help}");
    }
    let out = run(stockpile(&["token", "--role", "root", "--sub", "x"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_are_printed_for_each_shell_without_reading_settings() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef stockpile"),
        ("fish", "complete -c stockpile"),
    ] {
        let mut cmd = stockpile(&["completions", shell]);
        // Settings that would stop any other command are not read.
        cmd.env("STOCKPILE__DATABSE__URL", "sqlite://x.db");
        let out = run(cmd);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["healthcheck", "completions", "format", "manufacturer"] {
            assert!(script.contains(word), "{shell}: {word} in {script}");
        }
    }
    let out = run(stockpile(&["completions", "cmd.exe"]));
    assert_eq!(out.status.code(), Some(2));
}

/// A new SQLite database path in a folder of its own.
fn fresh_sqlite(tag: &str) -> String {
    let dir = std::env::temp_dir().join(format!("stockpile-demo-{tag}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}/demo.db", dir.display())
}

fn demo(url: &str, args: &[&str]) -> Output {
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    let mut cmd = stockpile(&all);
    cmd.env("STOCKPILE__DATABASE__URL", url);
    run(cmd)
}

/// The summary without what differs between runs: ids, the overdue date, the database.
fn masked(summary: &str) -> String {
    mask_ids(summary)
        .lines()
        .filter(|l| {
            !l.starts_with("ledger:")
                && !l.starts_with("obligation ")
                && !l.contains("STOCKPILE__DATABASE__URL=")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces every UUID (36 characters of hex digits and dashes) by `ID`.
fn mask_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let candidate = rest.get(..36).filter(|c| {
            c.chars().enumerate().all(|(i, ch)| {
                matches!(i, 8 | 13 | 18 | 23) == (ch == '-')
                    && (ch == '-' || ch.is_ascii_hexdigit())
            })
        });
        if candidate.is_some() {
            out.push_str("ID");
            rest = &rest[36..];
        } else {
            let ch = rest.chars().next().unwrap();
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
        }
    }
    out
}

#[test]
fn demo_seeds_an_empty_database_the_same_way_every_time() {
    let url = fresh_sqlite("a");
    let first = demo(&url, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let summary = String::from_utf8_lossy(&first.stdout).into_owned();
    for expected in [
        "materials: 11",
        "facilities: NV1, TX2, PA3, WA4",
        "(defense)",
        "(critical)",
        "(commercial)",
        "(severe, active: DY_OXIDE, TB_OXIDE)",
        "released; obligation",
        "pending_approval",
        "overdue: true",
        "\"ok\":true",
        "stockpile token --role",
    ] {
        assert!(summary.contains(expected), "{expected} in:\n{summary}");
    }

    // The ledger verifies on its own.
    let mut verify = stockpile(&["verify"]);
    verify.env("STOCKPILE__DATABASE__URL", &url);
    let verified = run(verify);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("\"ok\":true"));

    // A second run refuses the database it filled.
    let again = demo(&url, &[]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    // Another new database gets the same reserve.
    let other = demo(&fresh_sqlite("b"), &[]);
    assert!(other.status.success(), "{}", stderr(&other));
    assert_eq!(
        masked(&summary),
        masked(&String::from_utf8_lossy(&other.stdout))
    );

    // --force adds to it, as far as the rules allow, and the ledger still verifies.
    let forced = demo(&url, &["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(String::from_utf8_lossy(&forced.stdout).contains("\"ok\":true"));
}
