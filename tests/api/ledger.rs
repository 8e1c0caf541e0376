//! The hash-chained journal: recomputed independently from the export, tamper detection,
//! exports and balances as of a time, holds.

use crate::helpers::{assert_problem, spawn_app, TestApp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use stockpile::domain::actor::Role;
use stockpile::domain::code::Code;
use stockpile::ledger::holds;
use stockpile::services::ServiceError;

/// RFC 8785 canonical JSON for the values an entry holds (objects, arrays, strings, integers,
/// null), written here without the service's code.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Recomputes the chain of an export: returns the head hash.
fn recompute(entries: &[Value]) -> String {
    let mut prev = "0".repeat(64);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as i64 + 1, "gapless seq");
        assert_eq!(e["prev_hash"], prev.as_str(), "link at seq {}", i + 1);
        let mut body = e.clone();
        let obj = body.as_object_mut().unwrap();
        let hash = obj.remove("hash").unwrap();
        obj.remove("prev_hash");
        let digest = Sha256::digest(format!("{prev}{}", canonical(&body)).as_bytes());
        assert_eq!(hash, hex::encode(digest).as_str(), "hash of seq {}", i + 1);
        let accounts: Vec<(&str, &str)> = e["postings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["account"].as_str().unwrap(), p["asset"].as_str().unwrap()))
            .collect();
        let mut sorted = accounts.clone();
        sorted.sort();
        assert_eq!(accounts, sorted, "postings sorted by account then asset");
        prev = hash.as_str().unwrap().to_owned();
    }
    prev
}

async fn stocked() -> TestApp {
    let app = spawn_app().await;
    app.create_material("GA", 3, "0").await;
    app.create_material("W_APT", 2, "0").await;
    app.create_facility("NV1").await;
    app.create_facility("TX2").await;
    app.receive("GA", "NV1", "12.5", "2026-01-01T00:00:00Z")
        .await;
    app.receive("W_APT", "TX2", "400.25", "2026-01-02T00:00:00Z")
        .await;
    let op = app.token(Role::Operator, "op");
    let t =
        json!({"material": "GA", "from_facility": "NV1", "to_facility": "TX2", "quantity": "2.5"});
    assert_eq!(
        app.post_as(&op, "/v1/inventory/transfers", &t)
            .await
            .status(),
        201
    );
    let a = json!({"material": "W_APT", "facility": "TX2", "quantity": "-0.25", "reason": "assay \"sample\", lab B"});
    assert_eq!(
        app.post_as(&op, "/v1/inventory/adjustments", &a)
            .await
            .status(),
        201
    );
    app
}

#[tokio::test]
async fn the_export_recomputes_independently_and_matches_verify() {
    let app = stocked().await;
    let entries = app.export_jsonl().await;
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["kind"], "lot_received");
    assert_eq!(
        entries[0]["postings"][0],
        json!({"account": "inventory:NV1:GA", "asset": "GA", "amount": "12.5"})
    );
    let head = recompute(&entries);
    let v = app.verify().await;
    assert_eq!(v, json!({"ok": true, "entries": 4, "head_hash": head}));

    // The paged entries endpoint shows the same entries.
    let page: Value = app
        .get_as(&app.admin(), "/v1/ledger/entries?limit=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().as_slice(), &entries[..3]);
    assert_eq!(page["next"], "3");
    let rest: Value = app
        .get_as(&app.admin(), "/v1/ledger/entries?after_seq=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().as_slice(), &entries[3..]);
    assert_eq!(rest["next"], Value::Null);
}

#[tokio::test]
async fn csv_export_has_one_row_per_posting_and_ranges_filter() {
    let app = stocked().await;
    let res = app
        .get_as(&app.admin(), "/v1/ledger/export?format=csv")
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,entry_id,recorded_at,effective_date,kind,reference,account,asset,amount,hash,prev_hash"
    );
    let rows: Vec<&str> = lines.collect();
    // 4 entries of 2 postings, and the adjustment reason is not in the CSV (entries hold ids).
    assert_eq!(rows.len(), 8);
    assert!(rows[0].starts_with("1,"));
    assert!(rows[7].starts_with("4,"));

    let entries = app.export_jsonl().await;
    let third = entries[2]["recorded_at"].as_str().unwrap();
    let from: Vec<Value> = app
        .get_as(&app.admin(), &format!("/v1/ledger/export?from={third}"))
        .await
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(from, entries[2..].to_vec(), "from is inclusive");
    let to: Vec<Value> = app
        .get_as(&app.admin(), &format!("/v1/ledger/export?to={third}"))
        .await
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(to, entries[..2].to_vec(), "to is exclusive");
    for bad in ["format=xml", "from=yesterday", "to=2026-13-01", "limit=5"] {
        assert_problem(
            app.get_as(&app.admin(), &format!("/v1/ledger/export?{bad}"))
                .await,
            400,
            "malformed_request",
        )
        .await;
    }
    let m = app.token(Role::Manufacturer, "m");
    assert_problem(app.get_as(&m, "/v1/ledger/export").await, 403, "forbidden").await;
    let auditor = app.token(Role::Auditor, "aud");
    assert_eq!(
        app.get_as(&auditor, "/v1/ledger/export").await.status(),
        200
    );
}

#[tokio::test]
async fn balances_as_of_a_time_come_from_the_postings() {
    let app = stocked().await;
    let entries = app.export_jsonl().await;
    let first = entries[0]["recorded_at"].as_str().unwrap();
    let then: Value = app
        .get_as(
            &app.admin(),
            &format!("/v1/ledger/balances?as_of={first}&asset=GA"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        then["items"],
        json!([{"account": "inventory:NV1:GA", "asset": "GA", "balance": "12.5"},
               {"account": "supplier:GA", "asset": "GA", "balance": "-12.5"}])
    );
    let now: Value = app
        .get_as(&app.admin(), "/v1/ledger/balances?asset=GA")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        now["items"],
        json!([{"account": "inventory:NV1:GA", "asset": "GA", "balance": "10"},
               {"account": "inventory:TX2:GA", "asset": "GA", "balance": "2.5"},
               {"account": "supplier:GA", "asset": "GA", "balance": "-12.5"}])
    );
    // The cache agrees with the sums of the postings.
    let summed: Value = app
        .get_as(&app.admin(), "/v1/ledger/balances?as_of=2999-01-01")
        .await
        .json()
        .await
        .unwrap();
    let cached: Value = app
        .get_as(&app.admin(), "/v1/ledger/balances")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summed["items"], cached["items"]);
    // A prefix with `_` matches literally.
    let w: Value = app
        .get_as(
            &app.admin(),
            "/v1/ledger/balances?account_prefix=inventory:TX2:W_",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(w["items"].as_array().unwrap().len(), 1);
}

/// Runs `f` on the test database in a write transaction.
async fn in_tx<T: Send + 'static>(
    app: &TestApp,
    f: impl FnMut(&mut stockpile::db::DbConnection) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    app.db()
        .run(move |conn| stockpile::db::tx::write(conn, f))
        .await
}

/// A hold of `quantity` GA that leaves at least 10 available, in a transaction of its own.
async fn place_ga(
    app: &TestApp,
    quantity: i64,
    reference: Option<&str>,
) -> Result<String, ServiceError> {
    let reference = reference.map(str::to_owned);
    let ga = Code::parse("GA").unwrap();
    in_tx(app, move |c| {
        Ok(holds::place(c, &ga, quantity, 10, reference.clone())?)
    })
    .await
}

#[tokio::test]
async fn tampering_with_a_stored_posting_is_found_at_its_seq() {
    let app = stocked().await;
    assert_eq!(app.verify().await["ok"], true);
    let tamper = if crate::helpers::is_postgres() {
        "ALTER TABLE postings DISABLE TRIGGER postings_append_only; \
         UPDATE postings SET amount = amount + 1 WHERE entry_seq = 3 AND amount > 0;"
    } else {
        "DROP TRIGGER postings_no_update; \
         UPDATE postings SET amount = amount + 1 WHERE entry_seq = 3 AND amount > 0;"
    };
    app.sql(tamper).await;
    let v = app.verify().await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad_seq"], 3, "{v}");
    assert_eq!(v["entries"], 2);

    // The command-line verifier agrees, with a non-zero exit.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stockpile"))
        .arg("verify")
        .env("STOCKPILE_ENV", "test")
        .env("STOCKPILE__DATABASE__URL", &app.settings.database.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_bad_seq"], 3);
}

#[tokio::test]
async fn the_journal_refuses_updates_and_deletes() {
    let app = stocked().await;
    let db = app.db();
    for sql in [
        "UPDATE postings SET amount = 0",
        "DELETE FROM journal_entries WHERE seq = 4",
    ] {
        let r = db
            .run(move |conn| {
                diesel::connection::SimpleConnection::batch_execute(conn, sql)
                    .map_err(stockpile::db::DbError::from)
            })
            .await;
        assert!(r.is_err(), "{sql} must be refused");
    }
    assert_eq!(app.verify().await["ok"], true);
}

#[tokio::test]
async fn a_truncated_chain_is_found() {
    let app = stocked().await;
    let drop_last = if crate::helpers::is_postgres() {
        "SET session_replication_role = replica; DELETE FROM postings WHERE entry_seq = 4; \
         DELETE FROM journal_entries WHERE seq = 4;"
    } else {
        "PRAGMA foreign_keys = OFF; DROP TRIGGER postings_no_delete; DROP TRIGGER journal_entries_no_delete; \
         DELETE FROM postings WHERE entry_seq = 4; DELETE FROM journal_entries WHERE seq = 4;"
    };
    app.sql(drop_last).await;
    let v = app.verify().await;
    assert_eq!(
        (v["ok"].clone(), v["first_bad_seq"].clone()),
        (json!(false), json!(4)),
        "{v}"
    );
}

#[tokio::test]
async fn the_cli_exports_what_the_api_exports() {
    let app = stocked().await;
    let file =
        std::env::temp_dir().join(format!("stockpile-export-{}.jsonl", uuid::Uuid::now_v7()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_stockpile"))
        .args(["export", "--format", "jsonl", "--output"])
        .arg(&file)
        .env("STOCKPILE_ENV", "test")
        .env("STOCKPILE__DATABASE__URL", &app.settings.database.url)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    let cli: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cli, app.export_jsonl().await);
}

#[tokio::test]
async fn holds_reserve_then_post_oldest_first_or_void() {
    let app = spawn_app().await;
    app.create_material("GA", 0, "10").await;
    app.create_facility("NV1").await;
    app.create_facility("TX2").await;
    let old = app.receive("GA", "TX2", "30", "2026-01-01T00:00:00Z").await;
    let new = app.receive("GA", "NV1", "70", "2026-03-01T00:00:00Z").await;

    // Leaving at least the floor (10) available: 90 fits, 91 does not.
    let err = place_ga(&app, 91, None).await.unwrap_err();
    assert_eq!(err.code().as_str(), "insufficient_stock");
    let h1 = place_ga(&app, 50, Some("d1")).await.unwrap();
    let h2 = place_ga(&app, 40, Some("d2")).await.unwrap();
    let f = app.figures("GA").await;
    assert_eq!(
        (
            f["held"].as_str(),
            f["available"].as_str(),
            f["releasable"].as_str()
        ),
        (Some("90"), Some("10"), Some("0"))
    );
    assert_eq!(
        place_ga(&app, 1, None).await.unwrap_err().code().as_str(),
        "insufficient_stock"
    );

    // Post 35 of the 50: oldest lot (TX2, 30) first, then 5 from NV1; the other 15 returns.
    let h = h1.clone();
    let (picks, entry) = in_tx(&app, move |c| {
        Ok(holds::post(
            c,
            &h,
            35,
            "released:m1:GA",
            "release",
            Some("d1".into()),
        )?)
    })
    .await
    .unwrap();
    let taken: Vec<(String, i64)> = picks
        .iter()
        .map(|p| (p.lot.id.clone(), p.quantity))
        .collect();
    assert_eq!(
        taken,
        vec![
            (old["id"].as_str().unwrap().to_owned(), 30),
            (new["id"].as_str().unwrap().to_owned(), 5)
        ]
    );
    let f = app.figures("GA").await;
    assert_eq!(
        (
            f["on_hand"].as_str(),
            f["held"].as_str(),
            f["available"].as_str()
        ),
        (Some("65"), Some("40"), Some("25"))
    );
    let e = &app.export_jsonl().await[entry.seq as usize - 1];
    assert_eq!(
        e["postings"],
        json!([{"account": "inventory:NV1:GA", "asset": "GA", "amount": "-5"},
               {"account": "inventory:TX2:GA", "asset": "GA", "amount": "-30"},
               {"account": "released:m1:GA", "asset": "GA", "amount": "35"}])
    );
    // A hold is closed once: posting or voiding it again is an invalid state.
    let h = h1.clone();
    assert_eq!(
        in_tx(&app, move |c| Ok(holds::void(c, &h)?))
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "invalid_state"
    );
    let h = h2.clone();
    in_tx(&app, move |c| Ok(holds::void(c, &h)?)).await.unwrap();
    let h = h2.clone();
    assert_eq!(
        in_tx(&app, move |c| Ok(holds::void(c, &h)?))
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "invalid_state"
    );
    let f = app.figures("GA").await;
    assert_eq!(
        (f["held"].as_str(), f["available"].as_str()),
        (Some("0"), Some("65"))
    );
    assert_eq!(app.verify().await["ok"], true);
}

/// Two fee entries written as the service wrote them before effective dates existed (no
/// `effective_date`, hashed without it), on `2026-01-15` and `2026-01-20`.
fn pre_migration_entries() -> String {
    use stockpile::ledger::chain::{entry_hash, ChainEntry, ChainPosting, GENESIS_HASH};
    let mut prev = GENESIS_HASH.to_owned();
    let mut sql = String::new();
    for (seq, day, amount) in [(1, "2026-01-15", "500"), (2, "2026-01-20", "250.25")] {
        let id = uuid::Uuid::now_v7().to_string();
        let postings = [
            ChainPosting {
                account: "cash:reserve".into(),
                asset: "USD".into(),
                amount: amount.into(),
            },
            ChainPosting {
                account: "income:fees:entry".into(),
                asset: "USD".into(),
                amount: format!("-{amount}"),
            },
        ];
        let hash = entry_hash(
            &prev,
            &ChainEntry {
                seq,
                id: &id,
                effective_date: None,
                kind: "fee",
                recorded_at: &format!("{day}T10:00:00.000000Z"),
                reference: None,
                postings: &postings,
            },
        );
        let cents: i64 = (amount.parse::<f64>().unwrap() * 100.0).round() as i64;
        sql.push_str(&format!(
            "INSERT INTO journal_entries (seq, id, kind, reference, recorded_at, prev_hash, hash) \
             VALUES ({seq}, '{id}', 'fee', NULL, '{day} 10:00:00', '{prev}', '{hash}');
             INSERT INTO postings (entry_seq, idx, account, asset, amount) VALUES \
             ({seq}, 0, 'cash:reserve', 'USD', {cents}), ({seq}, 1, 'income:fees:entry', 'USD', -{cents});
             UPDATE ledger_head SET seq = {seq}, hash = '{hash}', recorded_at = '{day} 10:00:00';\n"
        ));
        prev = hash;
    }
    sql.push_str(
        "INSERT INTO balances (account, asset, balance) VALUES \
         ('cash:reserve', 'USD', 75025), ('income:fees:entry', 'USD', -75025);",
    );
    sql
}

/// Runs the README's Python recipe on a JSON-lines export; returns its exit status and output.
fn readme_recipe(jsonl: &str) -> std::process::Output {
    let readme = include_str!("../../README.md");
    let start = readme.find("```python\n").expect("the README's recipe") + 10;
    let recipe = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = std::env::temp_dir().join(format!("stockpile-recipe-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ledger.jsonl"), jsonl).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", recipe])
        .current_dir(&dir)
        .output()
        .expect("python3");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

async fn balances(app: &TestApp, query: &str) -> Value {
    let res = app
        .get_as(&app.admin(), &format!("/v1/ledger/balances?{query}"))
        .await;
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_ledger_from_before_and_after_effective_dates_verifies_everywhere() {
    let app = spawn_app().await;
    // The database as it was before migration 000020, holding two entries of that time...
    // (The down migration is the same SQL on both backends.)
    let down = include_str!("../../migrations/sqlite/2026-12-04-000020_effective_dates/down.sql");
    app.sql(&format!(
        "{down}\nDELETE FROM __diesel_schema_migrations WHERE version = '20261204000020';\n{}",
        pre_migration_entries()
    ))
    .await;
    // ... migrated (the balances per effective day are filled from them) ...
    let out = crate::helpers::run_cli(&app.settings.database.url, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... then written to: a lot received last month, and a fee today.
    app.create_material("GA", 3, "0").await;
    app.create_facility("NV1").await;
    let last_month = chrono::Utc::now().date_naive() - chrono::Days::new(31);
    app.receive("GA", "NV1", "12.5", &format!("{last_month}T08:00:00Z"))
        .await;
    let m = app.create_manufacturer("Acme").await;
    let res = app
        .post_as(
            &app.admin(),
            &format!("/v1/manufacturers/{m}/fees"),
            &json!({"kind": "entry", "amount_usd": "100"}),
        )
        .await;
    assert_eq!(res.status(), 201);

    let entries = app.export_jsonl().await;
    assert_eq!(entries.len(), 4);
    assert!(entries[..2]
        .iter()
        .all(|e| e.get("effective_date").is_none()));
    assert_eq!(entries[2]["effective_date"], last_month.to_string());
    assert_eq!(
        entries[3]["effective_date"],
        &entries[3]["recorded_at"].as_str().unwrap()[..10]
    );
    let head = recompute(&entries);
    let v = app.verify().await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        (v["entries"].clone(), v["head_hash"].clone()),
        (json!(4), json!(head))
    );
    let cli = crate::helpers::run_cli(&app.settings.database.url, &["verify"]);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stdout)
    );
    let text = app
        .get_as(&app.admin(), "/v1/ledger/export?format=jsonl")
        .await
        .text()
        .await
        .unwrap();
    let recipe = readme_recipe(&text);
    assert!(
        recipe.status.success(),
        "{}",
        String::from_utf8_lossy(&recipe.stderr)
    );
    // The recipe fails on a changed effective date.
    let changed = text.replacen(&format!("\"{last_month}\""), "\"2026-01-01\"", 1);
    assert!(!readme_recipe(&changed).status.success());

    // CSV: the column after recorded_at, empty for the old entries.
    let csv = app
        .get_as(&app.admin(), "/v1/ledger/export?format=csv")
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows[0][3], "");
    assert_eq!(rows[0][4], "fee");
    assert_eq!(rows[4][3], last_month.to_string());

    // Effective basis: the lot counts from last month, the old entries from their recorded
    // date; the recorded basis places the lot today.
    let lot_day = balances(
        &app,
        &format!("basis=effective&as_of={last_month}&account_prefix=inventory:"),
    )
    .await;
    assert_eq!(lot_day["basis"], "effective");
    assert_eq!(lot_day["as_of"], last_month.to_string());
    assert_eq!(
        lot_day["items"],
        json!([{"account": "inventory:NV1:GA", "asset": "GA", "balance": "12.5"}])
    );
    let before = last_month - chrono::Days::new(1);
    let day_before = balances(
        &app,
        &format!("basis=effective&as_of={before}&account_prefix=inventory:"),
    )
    .await;
    assert_eq!(day_before["items"], json!([]));
    let recorded = balances(
        &app,
        &format!("as_of={last_month}&account_prefix=inventory:"),
    )
    .await;
    assert_eq!(recorded["basis"], "recorded");
    assert_eq!(recorded["items"], json!([]));
    let cash = |day: &str| format!("basis=effective&as_of={day}&account_prefix=cash:");
    assert_eq!(
        balances(&app, &cash("2026-01-14")).await["items"],
        json!([])
    );
    assert_eq!(
        balances(&app, &cash("2026-01-15")).await["items"][0]["balance"],
        "500"
    );
    assert_eq!(
        balances(&app, &cash("2026-01-20")).await["items"][0]["balance"],
        "750.25"
    );
    // Today, effective equals the cached balances.
    assert_eq!(
        balances(&app, "basis=effective").await["items"],
        balances(&app, "").await["items"]
    );
    for bad in [
        "basis=effective&as_of=2026-01-15T00:00:00Z",
        "basis=effective&as_of=x",
    ] {
        let res = app
            .get_as(&app.admin(), &format!("/v1/ledger/balances?{bad}"))
            .await;
        assert_problem(res, 422, "validation_failed").await;
    }
    let res = app
        .get_as(&app.admin(), "/v1/ledger/balances?basis=later")
        .await;
    assert_problem(res, 400, "malformed_request").await;

    // A stored figure per effective day that no longer matches its postings is found.
    app.sql(
        "UPDATE balances_by_day SET amount = amount + 1 \
         WHERE account = 'cash:reserve' AND day = '2026-01-20'",
    )
    .await;
    let v = app.verify().await;
    assert_eq!(v["ok"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("cash:reserve") && reason.contains("2026-01-20"),
        "{reason}"
    );
}
