//! `stockpile backup`: an online copy of a live SQLite database that verifies on its own;
//! on PostgreSQL a clear refusal that points at pg_dump.

use crate::helpers::{is_postgres, run_cli, spawn_app};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use stockpile::domain::actor::Role;

/// `stockpile backup --output <copy>` on the database at `url`.
fn backup(url: &str, copy: &Path) -> std::process::Output {
    run_cli(url, &["backup", "--output", &copy.to_string_lossy()])
}

/// `stockpile verify` on a copy: it passes, and the number of entries it checked.
fn verified_entries(copy: &Path) -> i64 {
    let out = run_cli(&format!("sqlite://{}", copy.display()), &["verify"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("verify report");
    assert!(out.status.success(), "{report}");
    report["entries"].as_i64().unwrap()
}

/// A folder of its own for the copies, removed when dropped.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_live_sqlite_database_is_backed_up_to_a_copy_that_verifies() {
    let app = spawn_app().await;
    let url = app.settings.database.url.as_str();
    let folder = Folder(std::env::temp_dir().join(format!(
        "stockpile-backup-{}",
        uuid::Uuid::now_v7().simple()
    )));
    std::fs::create_dir_all(&folder.0).unwrap();
    if is_postgres() {
        let out = backup(url, &folder.0.join("copy.db"));
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    app.create_material("GA", 0, "0").await;
    app.create_facility("NV1").await;
    app.receive("GA", "NV1", "1000", "2026-01-01T00:00:00Z")
        .await;
    let op = app.token(Role::Operator, "op1");
    let before = app.verify().await["entries"].as_i64().unwrap();

    // While adjustments go on, the copy is one consistent snapshot.
    let during = folder.0.join("during.db");
    let loss = json!({"material": "GA", "facility": "NV1", "quantity": "-1", "reason": "loss"});
    let adjustments =
        join_all((0..20).map(|_| app.post_as(&op, "/v1/inventory/adjustments", &loss)));
    let copy = tokio::task::spawn_blocking({
        let (url, during) = (url.to_owned(), during.clone());
        move || backup(&url, &during)
    });
    let (results, copied) = tokio::join!(adjustments, copy);
    assert!(results.iter().all(|r| r.status() == 201));
    assert!(copied.unwrap().status.success());
    let after = app.verify().await["entries"].as_i64().unwrap();
    assert_eq!(after, before + 20);
    let n = verified_entries(&during);
    assert!((before..=after).contains(&n), "{before} <= {n} <= {after}");

    // At rest, the copy holds every entry; an existing file is never overwritten.
    let quiet = folder.0.join("quiet.db");
    assert!(backup(url, &quiet).status.success());
    assert_eq!(verified_entries(&quiet), after);
    let again = backup(url, &quiet);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}

/// A mistyped SQLite path is refused by the commands that read a database, instead of
/// creating an empty one.
#[test]
fn reading_commands_refuse_a_missing_sqlite_file() {
    let missing = std::env::temp_dir().join(format!("stockpile-missing-{}", uuid::Uuid::now_v7()));
    for args in [vec!["verify"], vec!["export", "--format", "csv"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stockpile"))
            .args(&args)
            .env("STOCKPILE_ENV", "test")
            .env(
                "STOCKPILE__DATABASE__URL",
                format!("sqlite://{}/db.sqlite", missing.display()),
            )
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no SQLite database"),
            "{args:?}"
        );
    }
    assert!(!missing.exists(), "nothing was created");
}
