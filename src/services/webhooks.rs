//! Webhook endpoints: registration (with the URL rules), listing, enable/disable, secret
//! rotation and the delivery log. Secrets are kept in their own columns, out of every view
//! but the answers of registration and rotation, and sealed under `webhooks.secret_keys`
//! (`domain::sealing`) when a key is configured.

use super::{
    fetch_limit, not_found, scope_to_caller, visible, write, Effect, Page, PageRequest, Reply,
    ServiceError, WriteCtx,
};
use crate::config::WebhookSettings;
use crate::db::webhooks::{DeliveryRow, EndpointRow};
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::event::{EventType, Subscription};
use crate::domain::sealing::{self, SecretKeys};
use crate::domain::time;
use crate::domain::validation::text;
use crate::domain::values::{Id, Timestamp};
use crate::domain::webhook::{self, DeliveryStatus, EndpointStatus};
use serde::{Deserialize, Serialize, Serializer};

/// How long a rotated-out secret still signs deliveries (API.md leaves it open; 24 h).
const ROTATION_OVERLAP_HOURS: i64 = 24;
/// The longest endpoint URL accepted.
const MAX_URL_CHARS: usize = 2000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// `https` (plain `http` only where `webhooks.allow_http`); its host must resolve to
    /// public addresses unless `webhooks.allow_private_networks`.
    #[schema(max_length = 2000)]
    pub url: String,
    /// Event types, or `["*"]` for all of them.
    #[schema(value_type = Vec<String>, min_items = 1)]
    pub events: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl Serialize for Subscription {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: Id,
    pub url: String,
    /// The subscribed event types, or `["*"]`.
    #[schema(value_type = Vec<String>)]
    pub events: Subscription,
    pub description: Option<String>,
    pub status: EndpointStatus,
    /// The manufacturer it belongs to (it receives only that manufacturer's events); null
    /// when staff registered it.
    pub manufacturer_id: Option<Id>,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// An endpoint with its signing secret: the answer of registration and rotation only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_` + base64 of the key; shown only here.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub event_id: Id,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Attempts made so far.
    pub attempt: i32,
    pub status: DeliveryStatus,
    /// The HTTP status of the last attempt's answer (null: none, e.g. a timeout).
    pub response_status: Option<i32>,
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

fn view(row: EndpointRow) -> Result<EndpointView, ServiceError> {
    Ok(EndpointView {
        events: super::events::subscription(&row.events)?,
        id: row.id.into(),
        url: row.url,
        description: row.description,
        status: row.status,
        manufacturer_id: row.manufacturer_id.map(Id),
        created_by: row.created_by,
        created_at: Timestamp(row.created_at),
    })
}

/// `row` with its secret as stored: `open_answer` opens it once the answer is stored.
fn with_secret(row: EndpointRow) -> Result<EndpointWithSecret, ServiceError> {
    let secret = row.secret.clone();
    Ok(EndpointWithSecret {
        endpoint: view(row)?,
        secret,
    })
}

/// Endpoint `id` as `actor` may see it: staff every one, a manufacturer its own.
fn find_visible(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
) -> Result<EndpointRow, ServiceError> {
    visible(
        actor,
        "webhook endpoint",
        id,
        db::webhooks::find(conn, id)?,
        |e| e.manufacturer_id.as_deref().unwrap_or(""),
    )
}

/// A new secret from the operating system's generator.
fn new_secret() -> Result<String, ServiceError> {
    let mut key = [0u8; webhook::SECRET_BYTES];
    getrandom::fill(&mut key)
        .map_err(|e| ServiceError::internal(format!("no random bytes for a secret: {e}")))?;
    Ok(webhook::secret_text(&key))
}

/// `secret` as endpoint `endpoint_id` stores it: sealed under the first key, with a nonce
/// from the operating system's generator (plain when no key is configured).
fn seal(keys: &SecretKeys, secret: &str, endpoint_id: &str) -> Result<String, ServiceError> {
    let mut nonce = [0u8; sealing::NONCE_BYTES];
    getrandom::fill(&mut nonce)
        .map_err(|e| ServiceError::internal(format!("no random bytes for a nonce: {e}")))?;
    Ok(keys.seal(secret, endpoint_id, nonce))
}

/// The answer of registration or rotation as the client gets it, fresh or replayed: its
/// `secret`, stored sealed like the row's (so that the answer kept for replay under an
/// idempotency key holds no secret either), opened. A replay whose key is no longer listed
/// cannot show the secret.
fn open_answer(keys: &SecretKeys, mut reply: Reply) -> Result<Reply, ServiceError> {
    #[derive(Deserialize)]
    struct Answer {
        id: String,
        secret: String,
    }
    let answer: Answer = serde_json::from_str(&reply.body)?;
    let secret = keys
        .open(&answer.secret, &answer.id)
        .map_err(|e| ServiceError::internal(format!("the answer's secret: {e}")))?;
    reply.body = reply.body.replacen(&answer.secret, &secret, 1);
    Ok(reply)
}

/// The signing key of a secret as endpoint `endpoint_id` stores it, or why there is none (its
/// sealing key is no longer configured, the text was altered or is not `whsec_` + base64).
pub fn signing_key(keys: &SecretKeys, stored: &str, endpoint_id: &str) -> Result<Vec<u8>, String> {
    let secret = keys.open(stored, endpoint_id).map_err(|e| e.to_string())?;
    webhook::secret_key(&secret).ok_or_else(|| "the secret is not whsec_ + base64".into())
}

/// Checks an endpoint URL at registration: its form (`check_form`), and that every address
/// its host resolves to is public (unless private networks are allowed). Returns the URL
/// parsed, or what is wrong with it.
pub async fn check_url(url: &str, rules: &WebhookSettings) -> Result<reqwest::Url, String> {
    let (parsed, host, port) = check_form(url, rules)?;
    resolve_public(&host, port, rules).await?;
    Ok(parsed)
}

/// Checks a destination at delivery: its form, and an address literal's own address. A host
/// name is checked by the delivery client's resolver (`PublicResolver`) as it connects.
pub fn check_destination(url: &str, rules: &WebhookSettings) -> Result<reqwest::Url, String> {
    let (parsed, host, _) = check_form(url, rules)?;
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        check_public(&host, &[ip], rules)?;
    }
    Ok(parsed)
}

/// The URL's scheme, credentials, host (against `webhooks.allowed_hosts`) and port: the URL
/// parsed, its host (without brackets) and port.
fn check_form(url: &str, rules: &WebhookSettings) -> Result<(reqwest::Url, String, u16), String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if rules.allow_http => {}
        _ => return Err("must be an https URL".into()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let host = parsed
        .host_str()
        .ok_or("must name a host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if !rules.host_allowed(&host) {
        return Err(format!("host {host} is not in webhooks.allowed_hosts"));
    }
    let port = parsed.port_or_known_default().ok_or("must name a port")?;
    Ok((parsed, host, port))
}

/// Resolves `host` within the timeout; refused unless every address is public (or private
/// networks are allowed).
async fn resolve_public(
    host: &str,
    port: u16,
    rules: &WebhookSettings,
) -> Result<Vec<std::net::SocketAddr>, String> {
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<std::net::SocketAddr> =
        tokio::time::timeout(std::time::Duration::from_secs(rules.timeout_secs), lookup)
            .await
            .map_err(|_| format!("host {host} did not resolve in time"))?
            .map_err(|_| format!("host {host} does not resolve"))?
            .collect();
    if addrs.is_empty() {
        return Err(format!("host {host} does not resolve"));
    }
    let ips: Vec<_> = addrs.iter().map(std::net::SocketAddr::ip).collect();
    check_public(host, &ips, rules)?;
    Ok(addrs)
}

fn check_public(
    host: &str,
    ips: &[std::net::IpAddr],
    rules: &WebhookSettings,
) -> Result<(), String> {
    if rules.allow_private_networks {
        return Ok(());
    }
    match ips.iter().find(|ip| !webhook::is_public(**ip)) {
        Some(ip) => Err(format!(
            "host {host} resolves to {ip}, which is not a public address"
        )),
        None => Ok(()),
    }
}

/// A destination refused as the delivery client resolved it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The delivery client's resolver: each connection goes to addresses checked as it is made,
/// so a name that turns private after a check (DNS rebinding) is never reached.
pub struct PublicResolver(pub std::sync::Arc<WebhookSettings>);

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.0.clone();
        Box::pin(async move {
            // The connector sets the port; 0 only fills the field.
            match resolve_public(name.as_str(), 0, &rules).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(why) => Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

pub async fn register(
    db: &Db,
    rules: &WebhookSettings,
    ctx: WriteCtx,
    r: Registration,
) -> Result<Reply, ServiceError> {
    let mut problems = crate::domain::validation::Problems::default();
    let events = problems.check("events", Subscription::parse(&r.events));
    let description = match &r.description {
        Some(d) => problems.check("description", text(d, 500).map(Some)),
        None => Some(None),
    };
    let url = problems.check("url", check_url(&r.url, rules).await);
    let (events, description, url) = problems
        .finish(|| Some((events?, description?, url?)))
        .map_err(ServiceError::Validation)?;
    let mut owner = None;
    scope_to_caller(&ctx.actor, &mut owner);
    let by = ctx.actor.sub.clone();
    let secret = new_secret()?;
    let keys = rules.secret_keys.clone();
    let reply = write(db, ctx, 201, move |conn| {
        let id = db::new_id();
        let row = EndpointRow {
            secret: seal(&keys, &secret, &id)?,
            id,
            manufacturer_id: owner.clone(),
            created_by: by.clone(),
            url: url.to_string(),
            events: events.names().join(","),
            description: description.clone(),
            status: EndpointStatus::Enabled,
            previous_secret: None,
            previous_secret_until: None,
            created_at: time::now(),
        };
        db::webhooks::insert(conn, row.clone())?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: with_secret(row)?,
            events: Vec::new(),
        })
    })
    .await?;
    open_answer(&rules.secret_keys, reply)
}

/// Enables or disables an endpoint; one already so is `invalid_state`.
pub async fn set_status(
    db: &Db,
    ctx: WriteCtx,
    id: String,
    to: EndpointStatus,
) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.clone();
    write(db, ctx, 200, move |conn| {
        find_visible(conn, &actor, &id)?;
        if !db::webhooks::set_status(conn, &id, to)? {
            return Err(ServiceError::InvalidState(format!(
                "webhook endpoint {id} is already {to}"
            )));
        }
        let row =
            db::webhooks::find(conn, &id)?.ok_or_else(|| not_found("webhook endpoint", &id))?;
        Ok(Effect {
            target: Some(id.clone()),
            body: view(row)?,
            events: Vec::new(),
        })
    })
    .await
}

/// Replaces the secret; the old one keeps signing (a second signature) for 24 h, stored as it
/// was.
pub async fn rotate_secret(
    db: &Db,
    keys: &SecretKeys,
    ctx: WriteCtx,
    id: String,
) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.clone();
    let secret = new_secret()?;
    let sealing = keys.clone();
    let reply = write(db, ctx, 200, move |conn| {
        let row = find_visible(conn, &actor, &id)?;
        let until = time::now() + chrono::Duration::hours(ROTATION_OVERLAP_HOURS);
        let sealed = seal(&sealing, &secret, &id)?;
        if !db::webhooks::rotate(conn, &id, &row.secret, &sealed, until)? {
            return Err(ServiceError::Transient(
                "secret rotated concurrently".into(),
            ));
        }
        let row =
            db::webhooks::find(conn, &id)?.ok_or_else(|| not_found("webhook endpoint", &id))?;
        Ok(Effect {
            target: Some(id.clone()),
            body: with_secret(row)?,
            events: Vec::new(),
        })
    })
    .await?;
    open_answer(keys, reply)
}

/// What `reseal` did: secrets sealed again under the first key, and secrets that do not
/// open (their endpoints' deliveries wait, skipped, until their key is listed again).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub resealed: usize,
    pub unopened: usize,
}

/// Seals every stored secret, current or previous, that is plain or sealed under another key
/// than the first, under the first key: run at start, so that a key put first is the only one
/// needed once every process has restarted. Each secret is replaced only if it is still what
/// was read (a rotation or another process meanwhile wins). Logs each secret that does not
/// open, with its endpoint. Without keys it only checks.
pub async fn reseal(db: &Db, keys: &SecretKeys) -> Result<Resealed, ServiceError> {
    const PAGE: i64 = 500;
    let keys = keys.clone();
    db.run(move |conn| {
        let mut done = Resealed::default();
        let mut after: Option<String> = None;
        loop {
            let rows = db::webhooks::page(conn, None, after.as_deref(), PAGE)?;
            for row in &rows {
                let previous = row.previous_secret.iter().map(|p| (true, p));
                for (previous, text) in std::iter::once((false, &row.secret)).chain(previous) {
                    let secret = match keys.open(text, &row.id) {
                        Ok(secret) => secret,
                        Err(why) => {
                            tracing::warn!(endpoint = %row.id, previous, reason = %why,
                                "webhook secret does not open: its deliveries are skipped");
                            done.unopened += 1;
                            continue;
                        }
                    };
                    if !keys.needs_reseal(text) {
                        continue;
                    }
                    let sealed = seal(&keys, &secret, &row.id)?;
                    if tx::write(conn, |conn| {
                        db::webhooks::reseal(conn, &row.id, previous, text, &sealed)
                            .map_err(ServiceError::from)
                    })? {
                        done.resealed += 1;
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = Some(last.id.clone()),
                _ => return Ok(done),
            }
        }
    })
    .await
}

pub async fn get(db: &Db, actor: Actor, id: String) -> Result<EndpointView, ServiceError> {
    db.run(move |conn| view(find_visible(conn, &actor, &id)?))
        .await
}

pub async fn list(
    db: &Db,
    actor: Actor,
    page: PageRequest,
) -> Result<Page<EndpointView>, ServiceError> {
    db.run(move |conn| {
        let mut owner = None;
        scope_to_caller(&actor, &mut owner);
        let rows = db::webhooks::page(
            conn,
            owner.as_deref(),
            page.after.as_deref(),
            fetch_limit(&page),
        )?;
        Page::try_from_rows(rows, page.limit, |r| r.id.clone(), view)
    })
    .await
}

/// An endpoint's deliveries in event order; the cursor is an event id.
pub async fn deliveries(
    db: &Db,
    actor: Actor,
    id: String,
    page: PageRequest,
) -> Result<Page<DeliveryView>, ServiceError> {
    db.run(move |conn| {
        find_visible(conn, &actor, &id)?;
        let rows = db::webhooks::deliveries(conn, &id, page.after.as_deref(), fetch_limit(&page))?;
        Page::try_from_rows(
            rows,
            page.limit,
            |(d, _)| d.event_id.clone(),
            |(d, t)| delivery_view(d, t),
        )
    })
    .await
}

fn delivery_view(d: DeliveryRow, event_type: String) -> Result<DeliveryView, ServiceError> {
    Ok(DeliveryView {
        event_type: EventType::try_from(event_type)
            .map_err(|e| ServiceError::internal_because("a stored delivery", e))?,
        event_id: d.event_id.into(),
        attempt: d.attempt,
        status: d.status,
        response_status: d.response_status,
        next_attempt_at: d.next_attempt_at.map(Timestamp),
        delivered_at: d.delivered_at.map(Timestamp),
    })
}
