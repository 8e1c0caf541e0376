//! `stockpile demo`: seeds a realistic reserve through the service's own API, in process (the
//! same `App` as the server: handlers, rules, ledger, audit trail, no SQL of its own), so that a
//! newcomer has something to look at.
//!
//! What it makes is fixed: the materials of `config/demo/critical-minerals.csv` (compiled in),
//! four depots, lots bought from a loan tranche, manufacturers of the three tiers with
//! allocations, a confirmed disruption, drawdowns pending, released and overdue. Quantities and
//! prices vary around the reference prices by a seeded generator, so every run on a new
//! database makes the same reserve (ids and creation times aside).

use crate::api::token::{mint, TokenVerifier};
use crate::api::AppState;
use crate::config::Settings;
use crate::domain::actor::Role;
use crate::domain::policy::{Severity, Tier};
use crate::startup;
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use actix_web::web;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The reference data, copied from `../shared/reference/critical-minerals.csv`.
const MATERIALS_CSV: &str = include_str!("../config/demo/critical-minerals.csv");
const SEED: u64 = 0x5eed_2026_0204;

const FACILITIES: [(&str, &str, &str); 4] = [
    ("NV1", "Nevada desert depot", "US"),
    ("TX2", "Texas Gulf terminal", "US"),
    ("PA3", "Pennsylvania rail depot", "US"),
    ("WA4", "Washington port store", "US"),
];

/// Per material: (total tonnage bought, in its unit; grade; [(origin, supplier)]).
fn purchases(code: &str) -> (u64, &'static str, &'static [(&'static str, &'static str)]) {
    match code {
        "NDPR_OXIDE" => (
            400_000,
            "99.0",
            &[
                ("AU", "Lynas Rare Earths"),
                ("US", "MP Materials"),
                ("MY", "Lynas Malaysia"),
            ],
        ),
        "DY_OXIDE" => (
            20_000,
            "99.5",
            &[("AU", "Lynas Rare Earths"), ("MY", "Lynas Malaysia")],
        ),
        "TB_OXIDE" => (
            5_000,
            "99.99",
            &[
                ("AU", "Lynas Rare Earths"),
                ("EE", "Silmet (Neo Performance)"),
            ],
        ),
        "GA" => (
            30_000,
            "99.99",
            &[("JP", "Dowa Metals"), ("KR", "Korea Zinc")],
        ),
        "GE" => (
            4_000,
            "99.999",
            &[("BE", "Umicore"), ("CA", "Teck Resources")],
        ),
        "SB" => (
            800,
            "99.65",
            &[
                ("OM", "SPMP Oman"),
                ("TR", "Cengiz Antimony"),
                ("BO", "Minera Andina"),
            ],
        ),
        "W_APT" => (
            50_000,
            "88.5",
            &[
                ("VN", "Masan High-Tech Materials"),
                ("AT", "Wolfram Bergbau"),
            ],
        ),
        "CO" => (
            2_000,
            "99.8",
            &[("FI", "Umicore Kokkola"), ("CA", "Sherritt International")],
        ),
        "LI2CO3" => (
            3_000,
            "99.5",
            &[
                ("CL", "SQM"),
                ("AR", "Arcadium Lithium"),
                ("US", "Albemarle"),
            ],
        ),
        "NI" => (
            2_500,
            "99.8",
            &[
                ("CA", "Vale Canada"),
                ("NO", "Glencore Nikkelverk"),
                ("AU", "BHP Nickel West"),
            ],
        ),
        "GRAPHITE" => (
            20_000,
            "95",
            &[("MZ", "Syrah Resources"), ("BR", "Nacional de Grafite")],
        ),
        _ => (1_000, "99", &[("US", "Domestic supplier")]),
    }
}

/// A manufacturer: name, tier, and per material the share of the stock bought it is allocated
/// (percent).
type Maker = (&'static str, Tier, &'static [(&'static str, u64)]);

const MANUFACTURERS: [Maker; 6] = [
    (
        "Arrowhead Defense Magnetics",
        Tier::Defense,
        &[("NDPR_OXIDE", 15), ("DY_OXIDE", 20), ("TB_OXIDE", 20)],
    ),
    (
        "Liberty Precision Munitions",
        Tier::Defense,
        &[("SB", 25), ("W_APT", 20), ("GE", 10)],
    ),
    (
        "Great Lakes Grid Transformers",
        Tier::Critical,
        &[("GRAPHITE", 10), ("NI", 10), ("DY_OXIDE", 10)],
    ),
    (
        "Cascade Compound Semiconductors",
        Tier::Critical,
        &[("GA", 25), ("GE", 15)],
    ),
    (
        "Prairie EV Motors",
        Tier::Commercial,
        &[("NDPR_OXIDE", 10), ("DY_OXIDE", 5), ("TB_OXIDE", 5)],
    ),
    (
        "Sunbelt Battery Cells",
        Tier::Commercial,
        &[("LI2CO3", 15), ("CO", 15), ("NI", 10), ("GRAPHITE", 10)],
    ),
];

/// splitmix64: a fixed, dependency-free generator, so that the demo is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number in [lo, hi].
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

struct Material {
    code: String,
    name: String,
    unit: String,
    scale: u32,
    /// Reference price, whole USD per unit.
    price: u64,
}

fn materials() -> anyhow::Result<Vec<Material>> {
    let mut lines = MATERIALS_CSV.lines();
    let header: Vec<String> = split_csv(lines.next().context("empty materials CSV")?);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("materials CSV: no column {name}"))
    };
    let (code, name, unit, scale, price) = (
        col("code")?,
        col("name")?,
        col("unit")?,
        col("scale")?,
        col("typical_price_usd_per_unit")?,
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f = split_csv(line);
            let get = |i: usize| f.get(i).cloned().context("materials CSV: short row");
            Ok(Material {
                code: get(code)?,
                name: get(name)?,
                unit: get(unit)?,
                scale: get(scale)?.parse()?,
                price: get(price)?.parse()?,
            })
        })
        .collect()
}

/// One CSV line's fields (double quotes around fields with commas).
fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Whole cents as a decimal string: 12345 -> "123.45".
fn usd(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// What `run` made, printed by the command.
pub struct Summary {
    pub text: String,
}

/// Seeds the demo reserve into the configured database. Refuses a database that already holds
/// reference data or journal entries unless `force`.
pub async fn run(settings: &Settings, force: bool) -> anyhow::Result<Summary> {
    let db = startup::open_db(settings)?;
    {
        let db = db.clone();
        tokio::task::spawn_blocking(move || startup::migrate(&db)).await??;
    }
    let state = web::Data::new(AppState::new(
        db,
        None,
        TokenVerifier::from_settings(settings)?,
        settings.policy()?,
        &settings.limits,
        settings.webhooks.clone(),
    ));
    let app = init_service(crate::service_app!(state)).await;
    let token = |role: Role, sub: &str, org: Option<&str>| mint(settings, role, sub, org, 3600);
    let admin = token(Role::Admin, "demo-admin", None).context("minting the demo's tokens")?;
    let op1 = token(Role::Operator, "demo-operator-1", None)?;
    let op2 = token(Role::Operator, "demo-operator-2", None)?;

    // call!(method, path, token, body): the answer's JSON, or an error unless 2xx (or the
    // status given after `allow`).
    macro_rules! call {
        ($method:ident, $path:expr, $token:expr, $body:expr) => {
            call!($method, $path, $token, $body, allow 0)
        };
        ($method:ident, $path:expr, $token:expr, $body:expr, allow $allowed:expr) => {{
            let path: String = $path;
            let mut req = TestRequest::$method()
                .uri(&path)
                .peer_addr(([127, 0, 0, 1], 0).into())
                .insert_header(("authorization", format!("Bearer {}", $token)));
            let body: Option<Value> = $body;
            if let Some(body) = body {
                req = req.set_json(body);
            }
            let res = call_service(&app, req.to_request()).await;
            let status = res.status();
            let bytes = read_body(res).await;
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if !status.is_success() && status.as_u16() != $allowed {
                bail!("{} {path}: {status} {value}", stringify!($method));
            }
            value
        }};
    }
    let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();

    // An empty database only, unless forced.
    let mut found = Vec::new();
    for list in [
        "materials",
        "facilities",
        "manufacturers",
        "loan-facilities",
    ] {
        let page = call!(get, format!("/v1/{list}?limit=1"), admin, None);
        if page["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            found.push(list);
        }
    }
    if !found.is_empty() && !force {
        bail!(
            "the database already holds {}: the demo seeds an empty one (a new \
             STOCKPILE__DATABASE__URL), or add to this one with --force",
            found.join(", ")
        );
    }

    // With --force, reference data already there is used as it is.
    let conflict = if force { 409 } else { 0 };
    let refused = if force { 422 } else { 0 };
    let mut rng = Rng(SEED);
    let mut out = String::new();
    let materials = materials()?;

    // Reference data.
    for m in &materials {
        let (total, _, _) = purchases(&m.code);
        call!(
            post,
            "/v1/materials".into(),
            admin,
            Some(json!({
                "code": m.code, "name": m.name, "unit": m.unit, "scale": m.scale,
                // The floor: a fifth of what the reserve buys.
                "strategic_floor": (total / 5).to_string(),
            })),
            allow conflict
        );
    }
    for (code, name, country) in FACILITIES {
        call!(
            post,
            "/v1/facilities".into(),
            admin,
            Some(json!({"code": code, "name": name, "country": country})),
            allow conflict
        );
    }
    // Today's market price of each material: its reference price (for the views and the
    // concentration report's value weighting).
    let today = crate::domain::time::format_date(&crate::domain::time::today());
    for m in &materials {
        call!(
            post,
            format!("/v1/materials/{}/prices", m.code),
            op1,
            Some(json!({"price_usd": m.price.to_string(), "as_of": today,
                        "source": "config/demo/critical-minerals.csv"})),
            allow conflict
        );
    }
    let _ = writeln!(
        out,
        "materials: {} (from config/demo/critical-minerals.csv), priced today",
        materials.len()
    );
    let _ = writeln!(out, "facilities: {}", FACILITIES.map(|f| f.0).join(", "));

    // The loan that pays for the stock: Project Vault's EXIM direct loan, 15 years.
    let loan = call!(
        post,
        "/v1/loan-facilities".into(),
        admin,
        Some(json!({
            "lender": "Export-Import Bank of the United States", "kind": "direct_loan",
            "commitment_usd": "10000000000.00", "annual_rate": "0.0475", "day_count": "ACT/360",
            "availability_end": "2031-02-01", "maturity_date": "2041-02-01",
        }))
    );
    let loan_id = id(&loan);
    let mut tranches = Vec::new();
    for (amount, from, purpose) in [
        (
            "400000000.00",
            "2026-02-01",
            "first purchase round: rare earths, gallium, germanium",
        ),
        (
            "600000000.00",
            "2026-05-01",
            "second purchase round: battery and alloy metals",
        ),
    ] {
        let t = call!(
            post,
            format!("/v1/loan-facilities/{loan_id}/tranches"),
            admin,
            Some(json!({"amount_usd": amount, "available_from": from, "purpose": purpose}))
        );
        tranches.push(id(&t));
    }
    let _ = writeln!(
        out,
        "loan facility {loan_id}: EXIM direct loan, $10bn committed, 4.75% ACT/360, tranches {}",
        tranches.join(", ")
    );

    // Lots: two to four receipts per material, spread over the depots, bought from the tranches.
    let first_round = ["NDPR_OXIDE", "DY_OXIDE", "TB_OXIDE", "GA", "GE"];
    let mut lots = 0;
    let mut spent_cents = 0u64;
    for (i, m) in materials.iter().enumerate() {
        let (total, grade, sources) = purchases(&m.code);
        let n = rng.between(2, 4);
        let mut left = total;
        for k in 0..n {
            let quantity = if k + 1 == n {
                left
            } else {
                let q = total / n * rng.between(80, 120) / 100;
                left -= q;
                q
            };
            let (origin, supplier) = sources[(k as usize) % sources.len()];
            // Within 15% of the reference price, to the cent.
            let unit_cents = m.price * 100 * rng.between(85, 115) / 100;
            let (tranche, month) = if first_round.contains(&m.code.as_str()) {
                (&tranches[0], 2 + k)
            } else {
                (&tranches[1], 5 + k)
            };
            let day = 1 + (i as u64 * 3 + k * 7) % 27;
            call!(
                post,
                "/v1/lots".into(),
                op1,
                Some(json!({
                    "material": m.code, "facility": FACILITIES[((i as u64 + k) % 4) as usize].0,
                    "quantity": quantity.to_string(), "grade": grade,
                    "origin_country": origin, "supplier": supplier,
                    "unit_cost_usd": usd(unit_cents),
                    "received_at": format!("2026-{month:02}-{day:02}T10:00:00Z"),
                    "tranche_id": tranche,
                }))
            );
            lots += 1;
            spent_cents += quantity * unit_cents;
        }
    }
    let _ = writeln!(
        out,
        "lots: {lots}, bought for ${} from the tranches",
        usd(spent_cents)
    );

    // Manufacturers of the three tiers, with allocations at locked prices.
    let mut makers = Vec::new();
    for (name, tier, allocations) in MANUFACTURERS {
        let m = call!(
            post,
            "/v1/manufacturers".into(),
            admin,
            Some(json!({"name": name, "priority_tier": tier})),
            allow conflict
        );
        let mid = if m["id"].is_string() {
            id(&m)
        } else {
            // --force: the manufacturer of that name is already there.
            let all = call!(get, "/v1/manufacturers?limit=1000".into(), admin, None);
            all["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["name"] == *name))
                .map(id)
                .with_context(|| format!("manufacturer {name} exists but is not listed"))?
        };
        for (code, share) in allocations {
            let material = materials
                .iter()
                .find(|m| m.code == *code)
                .with_context(|| format!("no material {code} in the CSV"))?;
            let (total, _, _) = purchases(code);
            let locked_cents = material.price * 100 * rng.between(100, 110) / 100;
            let quantity = total * share / 100;
            // Normal use: 10–40 % of the entitlement a month, so that days of cover vary.
            let monthly = quantity * rng.between(10, 40) / 100;
            call!(
                put,
                format!("/v1/manufacturers/{mid}/allocations/{code}"),
                admin,
                Some(json!({
                    "quantity": quantity.to_string(),
                    "locked_price_usd": usd(locked_cents),
                    "monthly_consumption": monthly.to_string(),
                }))
            );
        }
        let _ = writeln!(out, "manufacturer {mid}: {name} ({tier})");
        makers.push((mid, name));
    }

    // Heavy rare earths under export controls: proposed by one operator, confirmed by another.
    let d = call!(
        post,
        "/v1/disruptions".into(),
        op1,
        Some(json!({
            "title": "Export controls on medium and heavy rare earths",
            "materials": ["DY_OXIDE", "TB_OXIDE"], "severity": Severity::Severe,
            "reason": "export licences for dysprosium and terbium oxides halted",
        }))
    );
    let disruption = id(&d);
    call!(
        post,
        format!("/v1/disruptions/{disruption}/confirm"),
        op2,
        None
    );
    let proposed = call!(
        post,
        "/v1/disruptions".into(),
        op1,
        Some(json!({
            "title": "Gallium export permits delayed", "materials": ["GA"],
            "severity": Severity::Limited, "reason": "permits for primary gallium take months",
        }))
    );
    let _ = writeln!(
        out,
        "disruptions: {disruption} (severe, active: DY_OXIDE, TB_OXIDE), {} (limited, proposed: GA)",
        id(&proposed)
    );

    // Drawdowns: two released (one of them overdue on its obligation), three pending.
    let maker_token = |i: usize| {
        let (mid, _) = &makers[i];
        token(Role::Manufacturer, &format!("erp-{i}"), Some(mid))
    };
    let requests = [
        (
            0,
            "DY_OXIDE",
            "1500",
            "magnet line for guidance actuators stopped",
            true,
        ),
        (
            2,
            "DY_OXIDE",
            "400",
            "transformer core magnets for grid repairs",
            true,
        ),
        (
            0,
            "TB_OXIDE",
            "250",
            "sensor magnets: two weeks of stock left",
            false,
        ),
        (
            4,
            "DY_OXIDE",
            "300",
            "traction motor magnets: supplier force majeure",
            false,
        ),
        (
            4,
            "TB_OXIDE",
            "100",
            "traction motor magnets: supplier force majeure",
            false,
        ),
    ];
    let mut obligations = Vec::new();
    for (maker, material, quantity, why, release) in requests {
        let t = maker_token(maker)?;
        let dd = call!(
            post,
            "/v1/drawdowns".into(),
            t,
            Some(json!({"material": material, "quantity": quantity, "justification": why})),
            allow refused
        );
        if !dd["id"].is_string() {
            // --force on a demo reserve: e.g. the overdue obligation of the last run bars its
            // manufacturer, as the rules say.
            let _ = writeln!(
                out,
                "drawdown of {quantity} {material} for {} refused: {}",
                makers[maker].1,
                dd["code"].as_str().unwrap_or_default()
            );
            continue;
        }
        let dd_id = id(&dd);
        if release {
            let released = call!(post, format!("/v1/drawdowns/{dd_id}/approve"), op2, None);
            let obligation = released["obligation_id"].as_str().unwrap_or_default();
            let _ = writeln!(
                out,
                "drawdown {dd_id}: {quantity} {material} to {}, {}; obligation {obligation}",
                makers[maker].1,
                released["status"].as_str().unwrap_or_default()
            );
            obligations.push(obligation.to_owned());
        } else {
            let _ = writeln!(
                out,
                "drawdown {dd_id}: {quantity} {material} for {}, {}",
                makers[maker].1,
                dd["status"].as_str().unwrap_or_default()
            );
        }
    }
    // The second release's replenishment is late: its due date moved into the past.
    let due = (chrono::Utc::now().date_naive() - chrono::Days::new(14)).to_string();
    if let Some(late) = obligations.get(1) {
        call!(
            post,
            format!("/v1/obligations/{late}/reschedule"),
            op1,
            Some(
                json!({"due_date": due, "reason": "replenishment cargo held at the port of loading"})
            )
        );
        let o = call!(get, format!("/v1/obligations/{late}"), op1, None);
        let _ = writeln!(
            out,
            "obligation {late}: due {due}, overdue: {}",
            o["overdue"]
        );
    }
    let verify = call!(get, "/v1/ledger/verify".into(), admin, None);
    let _ = writeln!(out, "ledger: {verify}");
    let url = &settings.database.url;
    let _ = writeln!(
        out,
        "\nTo look at it, serve this database and mint a token (from a checkout, `cargo run \
         --release --` for `stockpile`):\n  \
         STOCKPILE__DATABASE__URL={url} stockpile serve &\n  \
         TOKEN=$(stockpile token --role auditor --sub you)\n  \
         curl -s localhost:8080/v1/materials -H \"authorization: Bearer $TOKEN\"\n  \
         curl -s localhost:8080/v1/drawdowns -H \"authorization: Bearer $TOKEN\"\n\
         A manufacturer sees its own: stockpile token --role manufacturer --sub erp --org {}\n\
         The API reference is at http://127.0.0.1:8080/docs.",
        makers[0].0
    );
    Ok(Summary { text: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_materials_parse() {
        let m = materials().unwrap();
        assert_eq!(m.len(), 11);
        assert!(m
            .iter()
            .any(|m| m.code == "W_APT" && m.unit == "mtu" && m.scale == 2));
        for m in &m {
            assert!(m.price > 0, "{}", m.code);
            let (_, _, sources) = purchases(&m.code);
            assert!(
                sources[0].1 != "Domestic supplier",
                "{} has suppliers",
                m.code
            );
        }
    }

    #[test]
    fn the_generator_is_fixed() {
        let mut a = Rng(SEED);
        let mut b = Rng(SEED);
        for _ in 0..100 {
            let x = a.between(2, 4);
            assert_eq!(x, b.between(2, 4));
            assert!((2..=4).contains(&x));
        }
    }
}
