//! A real streaming replica (`tests/replica/run` builds a primary and a synchronous standby
//! and sets STOCKPILE_TEST_DATABASE_URL to the primary, STOCKPILE_REPLICA_STANDBY_URL to the
//! standby and STOCKPILE_REPLICA_PRIMARY_DATA to the primary's data folder). Without them
//! every test here says it is skipped and passes.
//!
//! `reads` run one at a time (one pauses the standby's replay); `failover` SIGKILLs the
//! primary and promotes the standby, so it runs last and alone.

use crate::helpers::{is_postgres, spawn_app_with, TestApp};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::Method;
use serde_json::Value;

/// The standby's admin URL, or `None` (and a line saying so) outside the replica script.
fn standby(test: &str) -> Option<String> {
    match std::env::var("STOCKPILE_REPLICA_STANDBY_URL") {
        Ok(url) if !url.is_empty() && is_postgres() => Some(url),
        _ => {
            eprintln!("{test}: skipped, needs a streaming replica (run tests/replica/run)");
            None
        }
    }
}

/// `host:port` of a `postgres://user@host:port/db...` URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// The test's database (named in `url`) on the server of `server_url`.
fn same_database_on(url: &str, server_url: &str) -> String {
    url.replacen(authority(url), authority(server_url), 1)
}

/// A server whose reads may go to the standby's copy of its database.
async fn app_with_replica(standby: &str, max_wait_ms: u64) -> TestApp {
    let standby = standby.to_owned();
    spawn_app_with(move |s| {
        s.database.replica_url = same_database_on(&s.database.url, &standby);
        s.database.replica_max_wait_ms = max_wait_ms;
    })
    .await
}

async fn metrics(app: &TestApp) -> String {
    let res = app.request(Method::GET, "/metrics").send().await.unwrap();
    res.text().await.unwrap()
}

/// The count of replica reads with `outcome` (0 before the first).
async fn replica_reads(app: &TestApp, outcome: &str) -> u64 {
    let line = format!("stockpile_replica_reads_total{{outcome=\"{outcome}\"}} ");
    metrics(app)
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    let res = app
        .request(Method::GET, "/health/ready")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The seqs of the journal's entries, read through /v1/ledger/entries.
async fn entry_seqs(app: &TestApp) -> Vec<i64> {
    let res = app
        .get_as(&app.admin(), "/v1/ledger/entries?limit=1000")
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

mod reads {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn an_export_right_after_a_write_includes_it_and_is_served_by_the_replica() {
        let Some(standby) = standby("export after a write") else {
            return;
        };
        let app = app_with_replica(&standby, 2000).await;
        assert_eq!(
            readiness(&app).await,
            (
                200,
                serde_json::json!({"status": "ready", "replica": "streaming"})
            )
        );
        app.create_material("GA", 0, "0").await;
        app.create_facility("NV1").await;
        for i in 1..=10 {
            let lot = app
                .receive("GA", "NV1", &i.to_string(), "2026-01-01T00:00:00Z")
                .await;
            let exported = app.export_jsonl().await;
            let last = exported.last().expect("an entry");
            assert_eq!(
                last["reference"], lot["id"],
                "the export right after receipt {i} ends with it"
            );
            let balances: Value = app
                .get_as(&app.admin(), "/v1/ledger/balances?asset=GA")
                .await
                .json()
                .await
                .unwrap();
            let on_hand = balances["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["account"] == "inventory:NV1:GA")
                .map(|b| b["balance"].as_str().unwrap().to_owned());
            assert_eq!(on_hand, Some((i * (i + 1) / 2).to_string()));
        }
        let served = replica_reads(&app, "replica").await;
        assert_eq!(served, 20, "every read went to the replica");
        assert_eq!(replica_reads(&app, "timeout").await, 0);
        let text = metrics(&app).await;
        assert!(text.contains("stockpile_replica_lag_bytes "), "{text}");
        assert!(
            text.contains("stockpile_replica_wait_seconds_count 20"),
            "{text}"
        );
    }

    /// Pauses the standby's replay until dropped.
    struct Paused(diesel::PgConnection);

    impl Paused {
        fn replay(standby: &str) -> Self {
            let mut conn = diesel::PgConnection::establish(standby).expect("standby");
            conn.batch_execute("SELECT pg_wal_replay_pause()")
                .expect("pause replay");
            Paused(conn)
        }
    }

    impl Paused {
        /// Waits until replay has stopped: a pause takes effect at the next record replayed.
        fn wait(&mut self) {
            for _ in 0..500 {
                #[derive(diesel::QueryableByName)]
                struct State {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    state: String,
                }
                let s: State = diesel::RunQueryDsl::get_result(
                    diesel::sql_query("SELECT pg_get_wal_replay_pause_state() AS state"),
                    &mut self.0,
                )
                .unwrap();
                if s.state == "paused" {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("replay did not pause");
        }
    }

    impl Drop for Paused {
        fn drop(&mut self) {
            let _ = self.0.batch_execute("SELECT pg_wal_replay_resume()");
        }
    }

    #[tokio::test]
    async fn a_paused_replica_makes_reads_fall_back_to_the_primary_after_the_bound() {
        let Some(standby) = standby("paused replica") else {
            return;
        };
        let app = app_with_replica(&standby, 300).await;
        app.create_material("GA", 0, "0").await;
        app.create_facility("NV1").await;
        let before = entry_seqs(&app).await;
        assert_eq!(replica_reads(&app, "replica").await, 1);
        let mut paused = Paused::replay(&standby);
        app.receive("GA", "NV1", "1", "2026-01-01T00:00:00Z").await;
        paused.wait();
        app.receive("GA", "NV1", "5", "2026-01-01T00:00:00Z").await;
        let started = Instant::now();
        let after = entry_seqs(&app).await;
        let took = started.elapsed();
        assert_eq!(after.len(), before.len() + 2, "the new entries are read");
        assert!(
            took >= Duration::from_millis(300),
            "waited the bound: {took:?}"
        );
        assert!(took < Duration::from_secs(2), "and not much more: {took:?}");
        assert_eq!(replica_reads(&app, "timeout").await, 1);
        assert_eq!(replica_reads(&app, "replica").await, 1);
        // Still ready: a lagging replica costs only its reads' wait.
        assert_eq!(readiness(&app).await.0, 200);
        drop(paused);
        let resumed = entry_seqs(&app).await;
        assert_eq!(resumed, after);
        assert_eq!(replica_reads(&app, "replica").await, 2, "replay resumed");
    }

    #[tokio::test]
    async fn with_the_replica_down_reads_fall_back_and_writes_are_unaffected() {
        if standby("replica down").is_none() {
            return;
        }
        // A port nothing listens on: the replica's server is down.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let down = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let app = app_with_replica(&down, 500).await;
        let started = Instant::now();
        let (status, ready) = readiness(&app).await;
        assert!(
            started.elapsed() < Duration::from_millis(450),
            "readiness waits less than a read would: {:?}",
            started.elapsed()
        );
        assert_eq!(
            (status, ready),
            (
                200,
                serde_json::json!({"status": "ready", "replica": "down"})
            )
        );
        app.create_material("GA", 0, "0").await;
        app.create_facility("NV1").await;
        app.receive("GA", "NV1", "5", "2026-01-01T00:00:00Z").await;
        let started = Instant::now();
        assert_eq!(entry_seqs(&app).await.len(), 1);
        let audit = app.audit_events().await;
        assert_eq!(audit.len(), 3, "the three writes were audited");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "a replica that is down costs at most one wait: {:?}",
            started.elapsed()
        );
        assert_eq!(replica_reads(&app, "replica").await, 0);
        assert_eq!(replica_reads(&app, "replica_down").await, 2);
        assert_eq!(app.figures("GA").await["on_hand"], "5");
    }
}

mod failover {
    use super::*;
    use crate::faults::{report_resends, when_answered, Load};
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// The postmaster of the cluster in `data` and every process it started.
    fn cluster_processes(data: &str) -> Vec<libc::pid_t> {
        let pid_file = std::fs::read_to_string(format!("{data}/postmaster.pid")).unwrap();
        let postmaster: libc::pid_t = pid_file.lines().next().unwrap().trim().parse().unwrap();
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<libc::pid_t>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: the fields after the last ')'.
            let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    /// The machine under the primary dies: SIGKILL to the postmaster and all its processes.
    fn kill_primary(data: &str) {
        for pid in cluster_processes(data) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }

    #[tokio::test]
    async fn a_sigkilled_primary_fails_over_to_the_synchronous_standby_losing_nothing() {
        let Some(standby) = standby("failover") else {
            return;
        };
        let data = std::env::var("STOCKPILE_REPLICA_PRIMARY_DATA").expect("primary's folder");
        // Both servers in one libpq URL: connections go to whichever accepts writes.
        let other = authority(&standby).to_owned();
        let load = Load::with(8, move |s| {
            let url = &s.database.url;
            let primary = authority(url).to_owned();
            s.database.url = format!(
                "{}&target_session_attrs=read-write",
                url.replacen(&primary, &format!("{primary},{other}"), 1)
            );
        })
        .await;
        let bases = [load.r.app.address.clone()];
        let answered = AtomicUsize::new(0);
        let failover = async {
            when_answered(&answered, load.writes() / 3).await;
            kill_primary(&data);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut conn = diesel::PgConnection::establish(&standby).expect("standby");
            conn.batch_execute("SELECT pg_promote()").expect("promote");
        };
        let (answers, ()) = tokio::join!(load.run(&bases, &answered), failover);
        report_resends(&answers);
        assert!(
            answers.iter().any(|a| a.sends > 1),
            "some request failed during the failover and was resent"
        );
        let (status, body) = readiness(&load.r.app).await;
        assert_eq!((status, &body["status"]), (200, &Value::from("ready")));
        load.assert_exactly_once(&answers).await;
    }
}
