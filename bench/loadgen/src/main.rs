//! Load generator for `bench/run`: sets up a realistic reserve through the HTTP API, then drives
//! concurrent clients submitting drawdowns (`submit`) or approving them (`approve`) and prints
//! one JSON line of throughput and latency percentiles per scenario.
//!
//! Tokens are minted with the configured HS256 secret (`STOCKPILE__AUTH__HS256_SECRET`, read the
//! same way the service reads its settings). Only loopback addresses are accepted as targets,
//! and every loop is bounded in count and in time.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stockpile::api::token::mint;
use stockpile::config::Settings;
use stockpile::domain::actor::Role;

#[derive(Parser)]
#[command(about = "stockpile load generator (127.0.0.1 only)")]
struct Cli {
    /// Base URL of the service; must be on 127.0.0.1 or localhost.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Where `setup` writes and the scenarios read the reserve's ids.
    #[arg(long, default_value = "target/bench/state.json")]
    state: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create materials (from the reference CSV), facilities, lots, manufacturers with
    /// allocations and an active severe disruption covering every material.
    Setup {
        #[arg(long, default_value = "../shared/reference/critical-minerals.csv")]
        reference: PathBuf,
        #[arg(long, default_value_t = 300)]
        manufacturers: usize,
        #[arg(long, default_value_t = 4)]
        facilities: usize,
        #[arg(long, default_value_t = 3)]
        lots_per_facility: usize,
    },
    /// N concurrent manufacturers' systems submitting drawdowns.
    Submit(Load),
    /// A disruption's burst: N concurrent clients submitting for every manufacturer, all of
    /// the same material (the first of the reference, which setup allocates to everyone).
    Burst(Load),
    /// N concurrent operators approving the pending drawdowns (one approval releases them).
    Approve(Load),
    /// A webhook receiver on 127.0.0.1 answering every request 204, over HTTP/1.1 keep-alive,
    /// as cheaply as it can: on these shared cores its work is taken from the service's, and
    /// a manufacturer's receiver runs on its own machine. Writes its port to `port_file`, then
    /// serves until killed.
    Receive { port_file: PathBuf },
}

#[derive(clap::Args, Clone, Copy)]
struct Load {
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds to run (the run also stops after --max requests).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value_t = 1_000_000)]
    max: u64,
}

/// What the scenarios need from the setup.
#[derive(Serialize, Deserialize)]
struct State {
    /// Per manufacturer: its id and the (material, quantity per request) it may draw.
    manufacturers: Vec<(String, Vec<(String, String)>)>,
    disruption: String,
    /// The material every manufacturer holds an allocation of, and its quantity per request.
    burst: (String, String),
}

#[derive(Deserialize)]
struct Material {
    code: String,
    name: String,
    unit: String,
    scale: u32,
    typical_price_usd_per_unit: String,
    leading_producer: String,
}

const FACILITIES: [(&str, &str, &str); 6] = [
    ("NV1", "Nevada depot", "US"),
    ("TX2", "Texas Gulf terminal", "US"),
    ("PA3", "Pennsylvania rail depot", "US"),
    ("WA4", "Washington port store", "US"),
    ("OH5", "Ohio bonded warehouse", "US"),
    ("AZ6", "Arizona desert store", "US"),
];

const TIERS: [&str; 3] = ["defense", "critical", "commercial"];

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
        key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    async fn must(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let (status, v) = self.send(method, path, token, &body, None).await?;
        if !(200..300).contains(&status) {
            bail!("{path}: {status} {v}");
        }
        Ok(v)
    }
}

fn token(s: &Settings, role: Role, sub: &str, org: Option<&str>) -> anyhow::Result<String> {
    mint(s, role, sub, org, 4 * 3600)
}

/// Quantity per drawdown request: 1 kg/mtu, 0.1 t.
fn per_request(unit: &str) -> &'static str {
    if unit == "t" {
        "0.1"
    } else {
        "1"
    }
}

async fn setup(
    api: &Api,
    s: &Settings,
    state: &PathBuf,
    reference: &PathBuf,
    manufacturers: usize,
    facilities: usize,
    lots_per_facility: usize,
) -> anyhow::Result<()> {
    let admin = token(s, Role::Admin, "bench-admin", None)?;
    let op1 = token(s, Role::Operator, "bench-op1", None)?;
    let op2 = token(s, Role::Operator, "bench-op2", None)?;
    let text = std::fs::read_to_string(reference)
        .with_context(|| format!("reading {}", reference.display()))?;
    let materials = parse_reference(&text)?;
    let facilities = &FACILITIES[..facilities.clamp(1, FACILITIES.len())];
    for (code, name, country) in facilities {
        api.must(
            reqwest::Method::POST,
            "/v1/facilities",
            &admin,
            json!({"code": code, "name": name, "country": country}),
        )
        .await?;
    }
    for m in &materials {
        // Stock: 600 t of kg-traded materials, 60,000 mtu, 24,000 t; floor a tenth of it.
        let per_lot: u64 = match m.unit.as_str() {
            "t" => 2_000,
            "mtu" => 5_000,
            _ => 50_000,
        };
        let total = per_lot * (facilities.len() * lots_per_facility) as u64;
        api.must(
            reqwest::Method::POST,
            "/v1/materials",
            &admin,
            json!({"code": m.code, "name": m.name, "unit": m.unit, "scale": m.scale,
                   "strategic_floor": (total / 10).to_string()}),
        )
        .await?;
        for (f, _, _) in facilities {
            for l in 0..lots_per_facility {
                api.must(
                    reqwest::Method::POST,
                    "/v1/lots",
                    &op1,
                    json!({"material": m.code, "facility": f, "quantity": per_lot.to_string(),
                           "grade": "99.5", "origin_country": m.leading_producer,
                           "supplier": format!("Trader {}", l + 1),
                           "unit_cost_usd": m.typical_price_usd_per_unit,
                           "received_at": format!("2026-0{}-0{}T00:00:00Z", 1 + l % 9, 1 + l % 9)}),
                )
                .await?;
            }
        }
    }
    let mut out = Vec::with_capacity(manufacturers);
    for i in 0..manufacturers {
        let v = api
            .must(
                reqwest::Method::POST,
                "/v1/manufacturers",
                &admin,
                json!({"name": format!("Manufacturer {i:04}"), "priority_tier": TIERS[i % 3]}),
            )
            .await?;
        let id = v["id"].as_str().context("manufacturer id")?.to_owned();
        let mut draws = Vec::new();
        // Three materials to draw in the submit scenario, and the burst's material.
        let mut allocated: Vec<&Material> = (0..3)
            .map(|k| &materials[(i * 3 + k) % materials.len()])
            .collect();
        if !allocated.iter().any(|m| m.code == materials[0].code) {
            allocated.push(&materials[0]);
        }
        for (k, m) in allocated.into_iter().enumerate() {
            // 5,000 requests' worth of entitlement, priced at the reference price; a normal
            // use of 2-8 % of it a month, so the stress report has demand to simulate.
            let (quantity, monthly) = if m.unit == "t" {
                ("500", 10 + (i + k) % 31)
            } else {
                ("5000", 100 + (i + k) % 31 * 10)
            };
            api.must(
                reqwest::Method::PUT,
                &format!("/v1/manufacturers/{id}/allocations/{}", m.code),
                &admin,
                json!({"quantity": quantity, "locked_price_usd": m.typical_price_usd_per_unit,
                       "monthly_consumption": monthly.to_string()}),
            )
            .await?;
            if k < 3 {
                draws.push((m.code.clone(), per_request(&m.unit).to_owned()));
            }
        }
        out.push((id, draws));
    }
    let codes: Vec<&str> = materials.iter().map(|m| m.code.as_str()).collect();
    let d = api
        .must(
            reqwest::Method::POST,
            "/v1/disruptions",
            &op1,
            json!({"title": "Export controls on critical minerals", "materials": codes,
                   "severity": "severe", "reason": "licences halted at the leading producers"}),
        )
        .await?;
    let disruption = d["id"].as_str().context("disruption id")?.to_owned();
    api.must(
        reqwest::Method::POST,
        &format!("/v1/disruptions/{disruption}/confirm"),
        &op2,
        json!({}),
    )
    .await?;
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        state,
        serde_json::to_vec(&State {
            manufacturers: out,
            disruption,
            burst: (
                materials[0].code.clone(),
                per_request(&materials[0].unit).to_owned(),
            ),
        })?,
    )?;
    println!(
        "{}",
        json!({"scenario": "setup", "materials": materials.len(), "facilities": facilities.len(),
               "lots": materials.len() * facilities.len() * lots_per_facility,
               "manufacturers": manufacturers})
    );
    Ok(())
}

/// The reference CSV: quoted fields may hold commas.
fn parse_reference(text: &str) -> anyhow::Result<Vec<Material>> {
    let mut lines = text.lines();
    let header = split_csv(lines.next().context("empty reference CSV")?);
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields = split_csv(line);
        let get = |name: &str| -> anyhow::Result<String> {
            let i = header
                .iter()
                .position(|h| h == name)
                .with_context(|| format!("no column {name}"))?;
            fields.get(i).cloned().context("short row")
        };
        out.push(Material {
            code: get("code")?,
            name: get("name")?,
            unit: get("unit")?,
            scale: get("scale")?.parse()?,
            typical_price_usd_per_unit: get("typical_price_usd_per_unit")?,
            leading_producer: get("leading_producer")?,
        });
    }
    if out.is_empty() {
        bail!("no materials in the reference CSV");
    }
    Ok(out)
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// One request a client makes: method path, token, body.
type Job = (String, String, Value);

struct Outcome {
    hist: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
}

/// Runs `clients` workers, each taking jobs from its own generator until the time or the
/// shared request budget runs out.
async fn drive<F>(api: Arc<Api>, load: Load, scenario: &str, make: F) -> anyhow::Result<()>
where
    F: Fn(usize, u64) -> Option<Job> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(load.duration);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..load.clients {
        let (api, make, issued) = (api.clone(), make.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome {
                hist: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?,
                statuses: BTreeMap::new(),
                transport_errors: 0,
            };
            let mut n = 0u64;
            while Instant::now() < deadline {
                if issued.fetch_add(1, Ordering::Relaxed) >= load.max {
                    break;
                }
                let Some((path, tok, body)) = make(c, n) else {
                    break;
                };
                n += 1;
                let key = format!("bench-{c}-{n}-{}", uuid::Uuid::now_v7());
                let t = Instant::now();
                match api
                    .send(reqwest::Method::POST, &path, &tok, &body, Some(&key))
                    .await
                {
                    Ok((status, _)) => {
                        let us = t.elapsed().as_micros().max(1) as u64;
                        out.hist.saturating_record(us);
                        *out.statuses.entry(status).or_default() += 1;
                    }
                    Err(_) => out.transport_errors += 1,
                }
            }
            anyhow::Ok(out)
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut statuses = BTreeMap::new();
    let mut transport_errors = 0;
    for t in tasks {
        let o = t.await??;
        hist.add(&o.hist)?;
        for (k, v) in o.statuses {
            *statuses.entry(k).or_insert(0u64) += v;
        }
        transport_errors += o.transport_errors;
    }
    let secs = started.elapsed().as_secs_f64();
    let ok: u64 = statuses
        .iter()
        .filter(|(s, _)| (200..300).contains(*s))
        .map(|(_, n)| n)
        .sum();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({"scenario": scenario, "clients": load.clients, "seconds": secs,
               "requests": hist.len(), "ok": ok, "rps": ok as f64 / secs,
               "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99),
               "max_ms": hist.max() as f64 / 1000.0, "mean_ms": hist.mean() / 1000.0,
               "statuses": statuses, "transport_errors": transport_errors})
    );
    Ok(())
}

fn load_state(path: &PathBuf) -> anyhow::Result<State> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

async fn submit(api: Arc<Api>, s: &Settings, state: &PathBuf, load: Load) -> anyhow::Result<()> {
    let st = load_state(state)?;
    let mut jobs = Vec::with_capacity(st.manufacturers.len());
    for (id, draws) in &st.manufacturers {
        let tok = token(s, Role::Manufacturer, &format!("erp-{id}"), Some(id))?;
        jobs.push((tok, draws.clone()));
    }
    let jobs = Arc::new(jobs);
    let clients = load.clients as u64;
    drive(api, load, "submit", move |c, n| {
        // Client c walks the manufacturers c, c + clients, ... and their materials in turn.
        let i = (c as u64 + n * clients) as usize;
        let (tok, draws) = &jobs[i % jobs.len()];
        let (material, quantity) = &draws[(i / jobs.len()) % draws.len()];
        Some((
            "/v1/drawdowns".to_owned(),
            tok.clone(),
            json!({"material": material, "quantity": quantity,
                   "justification": "magnet line stopped: supplier shipment held at export licensing"}),
        ))
    })
    .await
}

async fn burst(api: Arc<Api>, s: &Settings, state: &PathBuf, load: Load) -> anyhow::Result<()> {
    let st = load_state(state)?;
    let mut toks = Vec::with_capacity(st.manufacturers.len());
    for (id, _) in &st.manufacturers {
        toks.push(token(
            s,
            Role::Manufacturer,
            &format!("erp-{id}"),
            Some(id),
        )?);
    }
    let toks = Arc::new(toks);
    let (material, quantity) = st.burst;
    let clients = load.clients as u64;
    drive(api, load, "burst", move |c, n| {
        // Client c walks the manufacturers c, c + clients, ..., every one after the same material.
        let i = (c as u64 + n * clients) as usize;
        Some((
            "/v1/drawdowns".to_owned(),
            toks[i % toks.len()].clone(),
            json!({"material": material, "quantity": quantity,
                   "justification": "every magnet line stopped: the disruption's first day"}),
        ))
    })
    .await
}

/// Every pending drawdown, oldest first (bounded to 200 pages of 1000).
async fn pending(api: &Api, tok: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let mut url = format!(
            "{}/v1/drawdowns?status=pending_approval&limit=1000",
            api.base
        );
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let v: Value = api
            .client
            .get(url)
            .bearer_auth(tok)
            .send()
            .await?
            .json()
            .await?;
        for item in v["items"].as_array().context("items")? {
            ids.push(item["id"].as_str().context("id")?.to_owned());
        }
        match v["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    Ok(ids)
}

async fn approve(api: Arc<Api>, s: &Settings, load: Load) -> anyhow::Result<()> {
    let reader = token(s, Role::Operator, "bench-op1", None)?;
    let ids = Arc::new(pending(&api, &reader).await?);
    let mut toks = Vec::new();
    for c in 0..load.clients {
        toks.push(token(
            s,
            Role::Operator,
            &format!("bench-op{}", c + 1),
            None,
        )?);
    }
    let clients = load.clients;
    drive(api, load, "approve", move |c, n| {
        let i = c + n as usize * clients;
        ids.get(i).map(|id| {
            (
                format!("/v1/drawdowns/{id}/approve"),
                toks[c].clone(),
                json!({}),
            )
        })
    })
    .await
}

async fn receive(port_file: &std::path::Path) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    std::fs::write(port_file, listener.local_addr()?.port().to_string())?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            // A connection that breaks the protocol is dropped; the sender counts the failure.
            let _ = answer_204(stream).await;
        });
    }
}

/// Reads requests off one connection (headers, then `content-length` bytes of body) and
/// answers each `204 No Content`, until the peer closes it.
async fn answer_204(mut stream: tokio::net::TcpStream) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                bail!("headers over 64 KiB");
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        };
        let head = std::str::from_utf8(&buf[..head_end])?;
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .map_or(Ok(0), |(_, v)| v.trim().parse())?;
        while buf.len() < head_end + length {
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
        buf.drain(..head_end + length);
        stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await?;
    }
}

fn loopback(base: &str) -> bool {
    let rest = base.strip_prefix("http://").unwrap_or("");
    rest.starts_with("127.0.0.1:") || rest.starts_with("localhost:")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if !loopback(&cli.base) {
        bail!("--base must be http://127.0.0.1:PORT or http://localhost:PORT");
    }
    let settings = Settings::load()?;
    let api = Arc::new(Api {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()?,
        base: cli.base.trim_end_matches('/').to_owned(),
    });
    match cli.cmd {
        Cmd::Setup {
            reference,
            manufacturers,
            facilities,
            lots_per_facility,
        } => {
            setup(
                &api,
                &settings,
                &cli.state,
                &reference,
                manufacturers,
                facilities,
                lots_per_facility,
            )
            .await
        }
        Cmd::Submit(load) => submit(api, &settings, &cli.state, load).await,
        Cmd::Burst(load) => burst(api, &settings, &cli.state, load).await,
        Cmd::Approve(load) => approve(api, &settings, load).await,
        Cmd::Receive { port_file } => receive(&port_file).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_rows_with_quoted_commas_parse() {
        let text = "code,name,unit,scale,typical_price_usd_per_unit,price_note,leading_producer\n\
                    GA,Gallium,kg,3,700,\"~350 $/kg, before 2023\",CN\n";
        let m = parse_reference(text).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].code, "GA");
        assert_eq!(m[0].leading_producer, "CN");
    }

    #[test]
    fn only_loopback_targets() {
        assert!(loopback("http://127.0.0.1:8080"));
        assert!(!loopback("http://10.0.0.1:8080"));
        assert!(!loopback("https://example.org"));
    }
}
