//! Building the application from settings: pool, migrations, HTTP server on a bound port
//! (port 0 in tests), graceful shutdown.

use crate::api::{key_set::KeySet, token::TokenVerifier, AppState};
use crate::config::{Settings, DEVELOPMENT_SECRET};
use crate::db::{migrations, Db, DbUrl};
use crate::domain::sealing::SecretKeys;
use crate::services;
use actix_web::dev::Server;
use actix_web::{web, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// The service's actix `App` over `state` (a `web::Data<AppState>`): routes, extractors and
/// middleware. One definition for the server and for `stockpile demo`, which calls it in process.
#[macro_export]
macro_rules! service_app {
    ($state:expr) => {
        actix_web::App::new()
            .app_data($state)
            .configure($crate::api::extractor_configs)
            .configure($crate::api::routes::configure)
            .configure($crate::api::console::configure)
            .default_service(actix_web::web::to($crate::api::not_found))
            .wrap(actix_web::middleware::from_fn(
                $crate::api::middleware::audit_refusals,
            ))
            .wrap(actix_web::middleware::from_fn(
                $crate::api::middleware::request_context,
            ))
    };
}

pub struct Application {
    server: Server,
    port: u16,
    db: Db,
    /// Tells the webhook worker and the overdue sweep to stop.
    stop: tokio::sync::watch::Sender<bool>,
    /// The webhook worker, unless `webhooks.deliver` is false.
    worker: Option<tokio::task::JoinHandle<()>>,
}

/// Opens the configured database's pool, PostgreSQL sessions bounded by the configured
/// connect and statement timeouts.
pub fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    open_pool(settings, settings.database.max_connections)
}

fn open_pool(settings: &Settings, max_connections: u32) -> anyhow::Result<Db> {
    let d = &settings.database;
    open_pool_at(
        settings,
        &d.url,
        max_connections,
        Duration::from_millis(d.acquire_timeout_ms),
    )
}

fn open_pool_at(
    settings: &Settings,
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<Db> {
    let d = &settings.database;
    let url = DbUrl::parse(url)
        .map_err(anyhow::Error::msg)?
        .with_session_limits(d.connect_timeout_secs, d.statement_timeout_ms);
    Db::open_url(url, max_connections, acquire_timeout)
}

/// The replica's pool (`database.replica_url`) and how long a read waits for it, if one is
/// configured. A read never waits for a replica connection longer than it would for the
/// replica to catch up.
fn open_replica(settings: &Settings) -> anyhow::Result<Option<(Db, Duration)>> {
    let d = &settings.database;
    if d.replica_url.is_empty() {
        return Ok(None);
    }
    let max_wait = Duration::from_millis(d.replica_max_wait_ms);
    let acquire =
        Duration::from_millis(d.acquire_timeout_ms).min(max_wait.max(Duration::from_millis(1)));
    let db = open_pool_at(settings, &d.replica_url, d.max_connections, acquire)?;
    Ok(Some((db, max_wait)))
}

/// Opens the configured database for a command that reads what is already there (verify,
/// export, backup): a SQLite file that does not exist is an error, so that a mistyped path
/// does not quietly create an empty database.
pub fn open_existing_db(settings: &Settings) -> anyhow::Result<Db> {
    if let DbUrl::Sqlite(path) = DbUrl::parse(&settings.database.url).map_err(anyhow::Error::msg)? {
        if !path.exists() {
            anyhow::bail!(
                "no SQLite database at {}: check STOCKPILE__DATABASE__URL",
                path.display()
            );
        }
    }
    open_db(settings)
}

/// Applies pending migrations, logging what was applied.
pub fn migrate(db: &Db) -> anyhow::Result<()> {
    let mut conn = db.get()?;
    let applied =
        migrations::run(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    for v in &applied {
        tracing::info!(version = %v, "migration applied");
    }
    Ok(())
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if settings.hs256_secret() == Some(DEVELOPMENT_SECRET) {
            tracing::warn!(
                "USING THE BUILT-IN DEVELOPMENT JWT SECRET: anyone can mint tokens for this \
                 service. Set STOCKPILE__AUTH__HS256_SECRET or a public key for real use."
            );
        }
        // Keys first: a key set file that cannot be read stops the service before it touches
        // the database.
        let tokens = TokenVerifier::from_settings(&settings)?;
        if let Some(key_set) = tokens.key_set() {
            key_set.refresh().await;
            spawn_key_set_refresh(key_set, settings.auth.jwks_refresh_secs);
        }
        let db = open_db(&settings)?;
        if settings.database.migrate_on_start {
            let db = db.clone();
            tokio::task::spawn_blocking(move || migrate(&db)).await??;
        }
        reseal_secrets(&db, &settings.webhooks.secret_keys).await;
        let state = web::Data::new(AppState::new(
            db.clone(),
            open_replica(&settings)?,
            tokens,
            settings.policy()?,
            &settings.limits,
            settings.webhooks.clone(),
        ));
        // The background tasks' own connections, one each (the webhook worker's rounds, the
        // overdue sweep, the key purge): they never take one a request waits for, and their
        // polling does not keep the requests' idle connections looking recently used (so those
        // are still checked after a quiet spell, and a database restart fails no request).
        let background = open_pool(&settings, 3)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = settings.webhooks.deliver.then(|| {
            tokio::spawn(services::delivery::run(
                background.clone(),
                db.written().clone(),
                settings.webhooks.clone(),
                state.metrics.clone(),
                stopped.clone(),
            ))
        });
        tokio::spawn(services::delivery::sweep_every(
            background.clone(),
            Duration::from_secs(settings.webhooks.sweep_interval_secs),
            stopped,
        ));
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let addr = listener.local_addr()?;
        tracing::info!(address = %addr, database = ?db.backend(), env = %settings.env, "listening");
        let mut server = HttpServer::new(move || crate::service_app!(state.clone()))
            .shutdown_timeout(settings.server.shutdown_timeout_secs)
            .listen(listener)?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.run();
        spawn_key_purge(background, settings.idempotency.retention_hours);
        Ok(Self {
            server,
            port: addr.port(),
            db,
            stop,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until a signal. SIGTERM stops accepting, lets in-flight requests finish (for at
    /// most `server.shutdown_timeout_secs`), stops the webhook worker from claiming and lets
    /// its attempts in flight finish or time out (`webhooks.timeout_secs`), and then closes
    /// the database pool; SIGINT and SIGQUIT stop at once (actix-web's handling).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            db,
            stop,
            worker,
            ..
        } = self;
        let result = server.await;
        let _ = stop.send(true);
        let ended = match worker {
            Some(w) => w.await,
            None => Ok(()),
        };
        if let Err(e) = ended {
            tracing::warn!(error = %e, "webhook worker ended abnormally");
        }
        let (open, idle) = db.state();
        drop(db);
        tracing::info!(
            connections = open,
            idle,
            "HTTP server stopped: in-flight requests finished; closing the database pool"
        );
        result
    }
}

/// Seals the webhook secrets stored in plain or under an older key under the first key of
/// `webhooks.secret_keys` (`services::webhooks::reseal`), or says that there is no key. A
/// failure is logged, not fatal: every secret still opens while its key is listed.
async fn reseal_secrets(db: &Db, keys: &SecretKeys) {
    if keys.is_empty() {
        tracing::warn!(
            "webhooks.secret_keys is empty: webhook signing secrets are stored in plain text, \
             and whoever reads the database can sign. Set STOCKPILE__WEBHOOKS__SECRET_KEYS \
             (`head -c 32 /dev/urandom | base64`) to seal them."
        );
    }
    match services::webhooks::reseal(db, keys).await {
        Ok(done) if done.resealed > 0 || done.unopened > 0 => tracing::info!(
            resealed = done.resealed,
            unopened = done.unopened,
            key = keys.sealing_id().unwrap_or_default(),
            "stored webhook secrets checked: resealed under the first key, or not opening"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "resealing webhook secrets failed"),
    }
}

/// Reads the key set again every `secs` seconds (0: never; an unknown kid still does).
fn spawn_key_set_refresh(key_set: Arc<KeySet>, secs: u64) {
    if secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let period = Duration::from_secs(secs);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            key_set.refresh().await;
        }
    });
}

/// Forgets expired idempotency keys every hour.
fn spawn_key_purge(db: Db, retention_hours: u32) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match services::purge_expired_keys(&db, retention_hours).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "expired idempotency keys forgotten"),
                Err(e) => tracing::warn!(error = %e, "idempotency key purge failed"),
            }
        }
    });
}
