//! Typed settings: `config/default.toml` (also compiled in), then `config/<env>.toml`, then
//! `STOCKPILE__SECTION__KEY` environment variables. `STOCKPILE_ENV` picks the environment
//! (default `development`); `STOCKPILE_CONFIG_DIR` the folder (default `config`).
//!
//! Nothing can be silently wrong: the compiled-in `default.toml` names every key, and a key
//! that is not there, in a file or in a `STOCKPILE__*` variable, is refused with its name and
//! where it came from; a file that is not valid TOML is refused with its path.

use crate::domain::claims::RoleClaim;
use crate::domain::policy::{Policy, PolicyText};
use anyhow::Context;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The defaults, compiled in: every key the service knows, with its default value.
const DEFAULTS: &str = include_str!("../config/default.toml");
/// Environment variables that override settings: `STOCKPILE__<SECTION>__<KEY>`.
const ENV_PREFIX: &str = "STOCKPILE__";

/// The HS256 secret development falls back to when none is configured. It is public, so
/// production refuses it and development warns whenever it is used.
pub const DEVELOPMENT_SECRET: &str = "stockpile-development-secret-not-for-production";
const MIN_SECRET_BYTES: usize = 32;
const MAX_LEEWAY_SECS: u64 = 60;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Filled from STOCKPILE_ENV, not from files.
    #[serde(skip)]
    pub env: String,
    /// Whether `database.url` was set by `config/<env>.toml` or `STOCKPILE__DATABASE__URL`
    /// rather than left at its default (production refuses the default).
    #[serde(skip)]
    pub database_url_explicit: bool,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub idempotency: IdempotencySettings,
    pub limits: LimitsSettings,
    pub log: LogSettings,
    pub policy: PolicySettings,
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub connect_timeout_secs: u64,
    pub statement_timeout_ms: u64,
    pub migrate_on_start: bool,
    pub replica_url: String,
    pub replica_max_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub hs256_secret: String,
    pub public_key_pem: String,
    pub public_key_algorithm: String,
    pub jwks_url: String,
    pub jwks_file: String,
    pub jwks_min_refresh_secs: u64,
    pub jwks_refresh_secs: u64,
    pub role_claim: String,
    pub issuer: String,
    pub audience: String,
    pub leeway_secs: u64,
}

impl AuthSettings {
    /// Whether any public key is configured: a PEM or a key set.
    pub fn has_public_keys(&self) -> bool {
        !(self.public_key_pem.is_empty() && self.jwks_url.is_empty() && self.jwks_file.is_empty())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdempotencySettings {
    pub retention_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitsSettings {
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PolicySettings {
    pub share_limited: String,
    pub share_severe: String,
    pub share_critical: String,
    pub limited_cap_share: String,
    pub floor_waiver: bool,
    pub dual_approval_threshold_usd: String,
    pub replenish_premium: String,
    pub replenish_term_days: u32,
    pub target_days_of_cover: u32,
    pub concentration_alert_share: String,
    pub deferral_premium_per_year: String,
    pub carrying_fee_rate: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub deliver: bool,
    pub allow_http: bool,
    pub allow_private_networks: bool,
    pub allowed_hosts: String,
    pub timeout_secs: u64,
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub retry_delays_secs: Vec<u64>,
    pub give_up_after_hours: u64,
    pub sweep_interval_secs: u64,
    /// The keys that seal endpoints' signing secrets at rest (`domain::sealing`).
    pub secret_keys: crate::domain::sealing::SecretKeys,
}

impl WebhookSettings {
    /// Whether `host` may receive deliveries: `allowed_hosts` is empty or names it.
    pub fn host_allowed(&self, host: &str) -> bool {
        let mut allowed = self
            .allowed_hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .peekable();
        allowed.peek().is_none() || allowed.any(|h| h.eq_ignore_ascii_case(host))
    }

    pub fn retry_schedule(&self) -> crate::domain::webhook::RetrySchedule {
        crate::domain::webhook::RetrySchedule {
            delays: self
                .retry_delays_secs
                .iter()
                .map(|s| std::time::Duration::from_secs(*s))
                .collect(),
            give_up_after: std::time::Duration::from_secs(self.give_up_after_hours * 3600),
        }
    }
}

impl Settings {
    /// Loads the settings of the environment named by STOCKPILE_ENV.
    pub fn load() -> anyhow::Result<Self> {
        let env = std::env::var("STOCKPILE_ENV").unwrap_or_else(|_| "development".into());
        Self::load_env(&env)
    }

    /// Loads the settings of `env`, validated.
    pub fn load_env(env: &str) -> anyhow::Result<Self> {
        let dir = PathBuf::from(
            std::env::var("STOCKPILE_CONFIG_DIR").unwrap_or_else(|_| "config".into()),
        );
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::load_from(env, &dir, vars)
    }

    /// Loads the settings of `env` from the files in `dir` and the given environment variables
    /// (only the `STOCKPILE__*` ones are read), validated.
    pub fn load_from(
        env: &str,
        dir: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        use config::{Config, Environment, File, FileFormat};
        let known = section_keys(&toml_table(DEFAULTS, "the built-in config/default.toml")?);
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        let mut database_url_explicit = false;
        let env_file = dir.join(format!("{env}.toml"));
        if !matches!(env, "development" | "test" | "production") && !env_file.is_file() {
            anyhow::bail!(
                "STOCKPILE_ENV={env}: not development, test or production, and there is no {}",
                env_file.display()
            );
        }
        for (path, is_defaults) in [(dir.join("default.toml"), true), (env_file, false)] {
            if !path.is_file() {
                continue;
            }
            let origin = path.display().to_string();
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {origin}"))?;
            let table = toml_table(&text, &origin)?;
            for (section, key) in section_keys(&table)
                .iter()
                .flat_map(|(s, ks)| ks.iter().map(move |k| (s, k)))
            {
                check_known(&known, section, key, &origin)?;
                database_url_explicit |= !is_defaults && section == "database" && key == "url";
            }
            builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
        }
        let mut overrides = config::Map::new();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let lower = rest.to_lowercase();
            let (section, key) = lower.split_once("__").unwrap_or((lower.as_str(), ""));
            check_known(
                &known,
                section,
                key,
                &format!("environment variable {name}"),
            )?;
            database_url_explicit |= section == "database" && key == "url";
            overrides.insert(name, value);
        }
        let raw = builder
            .add_source(
                Environment::with_prefix("STOCKPILE")
                    .separator("__")
                    .source(Some(overrides)),
            )
            .build()?;
        let mut settings: Settings = raw.try_deserialize()?;
        settings.env = env.to_owned();
        settings.database_url_explicit = database_url_explicit;
        settings.validate()?;
        Ok(settings)
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// The HS256 secret in force: the configured one, or in development with no key at all
    /// the built-in one.
    pub fn hs256_secret(&self) -> Option<&str> {
        let a = &self.auth;
        if !a.hs256_secret.is_empty() {
            Some(&a.hs256_secret)
        } else if self.env == "development" && !a.has_public_keys() {
            Some(DEVELOPMENT_SECRET)
        } else {
            None
        }
    }

    pub fn policy(&self) -> anyhow::Result<Policy> {
        let p = &self.policy;
        Policy::parse(&PolicyText {
            share_limited: &p.share_limited,
            share_severe: &p.share_severe,
            share_critical: &p.share_critical,
            limited_cap_share: &p.limited_cap_share,
            floor_waiver: p.floor_waiver,
            dual_approval_threshold_usd: &p.dual_approval_threshold_usd,
            replenish_premium: &p.replenish_premium,
            replenish_term_days: p.replenish_term_days,
            deferral_premium_per_year: &p.deferral_premium_per_year,
            target_days_of_cover: p.target_days_of_cover,
            concentration_alert_share: &p.concentration_alert_share,
            carrying_fee_rate: &p.carrying_fee_rate,
        })
        .map_err(anyhow::Error::msg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.is_production() && !self.database_url_explicit {
            anyhow::bail!(
                "production needs database.url set explicitly (STOCKPILE__DATABASE__URL or \
                 config/production.toml): the default, {}, would keep the reserve's books in a \
                 throwaway file",
                self.database.url
            );
        }
        let a = &self.auth;
        match self.hs256_secret() {
            Some(s) if s.len() < MIN_SECRET_BYTES => {
                anyhow::bail!("auth.hs256_secret must be at least {MIN_SECRET_BYTES} bytes")
            }
            Some(DEVELOPMENT_SECRET) if self.is_production() => {
                anyhow::bail!("auth.hs256_secret: the development secret is refused in production")
            }
            None if !a.has_public_keys() => anyhow::bail!(
                "no token verification configured: set auth.hs256_secret (32 bytes at least), \
                 auth.public_key_pem, auth.jwks_url or auth.jwks_file"
            ),
            _ => {}
        }
        if !matches!(a.public_key_algorithm.as_str(), "RS256" | "EdDSA") {
            anyhow::bail!("auth.public_key_algorithm must be RS256 or EdDSA");
        }
        self.validate_key_set()?;
        RoleClaim::parse(&a.role_claim).map_err(anyhow::Error::msg)?;
        if a.leeway_secs > MAX_LEEWAY_SECS {
            anyhow::bail!("auth.leeway_secs must be at most {MAX_LEEWAY_SECS}");
        }
        if self.idempotency.retention_hours < 24 {
            anyhow::bail!("idempotency.retention_hours must be at least 24");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            anyhow::bail!("log.format must be text or json");
        }
        let l = &self.limits;
        if l.rate_limit_per_second > 0 && l.rate_limit_burst == 0 {
            anyhow::bail!("limits.rate_limit_burst must be at least 1 when the rate limit is on");
        }
        if self.database.max_connections == 0 {
            anyhow::bail!("database.max_connections must be at least 1");
        }
        self.validate_replica()?;
        let w = &self.webhooks;
        if w.timeout_secs == 0 || w.concurrency == 0 || w.poll_interval_ms == 0 {
            anyhow::bail!(
                "webhooks.timeout_secs, webhooks.concurrency and webhooks.poll_interval_ms must be at least 1"
            );
        }
        if w.retry_delays_secs.is_empty() || w.sweep_interval_secs == 0 {
            anyhow::bail!(
                "webhooks.retry_delays_secs must name at least one delay and webhooks.sweep_interval_secs be at least 1"
            );
        }
        if self.is_production() && w.secret_keys.is_empty() {
            anyhow::bail!(
                "production needs webhooks.secret_keys (STOCKPILE__WEBHOOKS__SECRET_KEYS): \
                 without a key, webhook signing secrets would be stored in plain text, and \
                 whoever reads the database could sign deliveries. Make one with \
                 `head -c 32 /dev/urandom | base64`"
            );
        }
        self.policy()?;
        Ok(())
    }
}

impl Settings {
    /// `database.replica_url`, when set, is a PostgreSQL URL beside a PostgreSQL
    /// `database.url`: a streaming replica only exists for PostgreSQL, and a SQLite setup that
    /// names one is a mistake, refused rather than ignored.
    fn validate_replica(&self) -> anyhow::Result<()> {
        let d = &self.database;
        if d.replica_url.is_empty() {
            return Ok(());
        }
        let replica = crate::db::DbUrl::parse(&d.replica_url)
            .map_err(|e| anyhow::anyhow!("database.replica_url: {e}"))?;
        let primary = crate::db::DbUrl::parse(&d.url).map_err(anyhow::Error::msg)?;
        if (primary.backend(), replica.backend())
            != (crate::db::Backend::Postgres, crate::db::Backend::Postgres)
        {
            anyhow::bail!(
                "database.replica_url needs PostgreSQL for both database.url and the replica \
                 (a streaming replica of a SQLite file does not exist): unset it"
            );
        }
        Ok(())
    }

    /// `auth.jwks_url` is an absolute http(s) URL, https in production (keys fetched in the
    /// clear could be anyone's); refreshes are at least a second apart.
    fn validate_key_set(&self) -> anyhow::Result<()> {
        let a = &self.auth;
        if !a.jwks_url.is_empty() {
            let url = reqwest::Url::parse(&a.jwks_url)
                .map_err(|e| anyhow::anyhow!("auth.jwks_url {:?}: {e}", a.jwks_url))?;
            match url.scheme() {
                "https" => {}
                "http" if !self.is_production() => {}
                "http" => anyhow::bail!("auth.jwks_url must be https in production"),
                other => anyhow::bail!("auth.jwks_url: {other} is not http or https"),
            }
        }
        if a.jwks_min_refresh_secs == 0 {
            anyhow::bail!("auth.jwks_min_refresh_secs must be at least 1");
        }
        Ok(())
    }
}

/// A TOML text as a table of tables; a syntax error names `origin`.
fn toml_table(text: &str, origin: &str) -> anyhow::Result<config::Map<String, config::Value>> {
    use config::{Config, File, FileFormat, Source};
    Config::builder()
        .add_source(File::from_str(text, FileFormat::Toml))
        .build()
        .and_then(|c| c.collect())
        .map_err(|e| anyhow::anyhow!("{origin}: not valid TOML: {e}"))
}

/// The `section.key` pairs of a settings table; a top-level value is a section with key "".
fn section_keys(table: &config::Map<String, config::Value>) -> BTreeMap<String, BTreeSet<String>> {
    table
        .iter()
        .map(|(section, value)| {
            let keys = match value.clone().into_table() {
                Ok(t) => t.into_keys().collect(),
                Err(_) => BTreeSet::from([String::new()]),
            };
            (section.clone(), keys)
        })
        .collect()
}

/// Refuses `section.key` unless the defaults name it, saying where it came from.
fn check_known(
    known: &BTreeMap<String, BTreeSet<String>>,
    section: &str,
    key: &str,
    origin: &str,
) -> anyhow::Result<()> {
    let Some(keys) = known.get(section) else {
        let sections: Vec<&str> = known.keys().map(String::as_str).collect();
        anyhow::bail!(
            "{origin}: unknown setting section `{section}` (known sections: {})",
            sections.join(", ")
        );
    };
    if !keys.contains(key) {
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        let shown = if key.is_empty() {
            section.to_owned()
        } else {
            format!("{section}.{key}")
        };
        anyhow::bail!(
            "{origin}: unknown setting `{shown}` (the keys of [{section}] are {})",
            names.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_settings() -> Settings {
        Settings::load_env("test").expect("test settings load")
    }

    const SECRET: (&str, &str) = (
        "STOCKPILE__AUTH__HS256_SECRET",
        "a-secret-of-at-least-thirty-two-bytes-0123",
    );

    const KEYS: (&str, &str) = (
        "STOCKPILE__WEBHOOKS__SECRET_KEYS",
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    );

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A fresh config folder holding the given files.
    fn config_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stockpile-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }

    fn error(r: anyhow::Result<Settings>) -> String {
        format!("{:#}", r.expect_err("refused"))
    }

    #[test]
    fn an_unknown_variable_is_refused_by_name() {
        let dir = Path::new("config");
        let e = error(Settings::load_from(
            "test",
            dir,
            vars(&[("STOCKPILE__DATABSE__URL", "sqlite://x.db")]),
        ));
        assert!(
            e.contains("STOCKPILE__DATABSE__URL") && e.contains("`databse`"),
            "{e}"
        );
        let e = error(Settings::load_from(
            "test",
            dir,
            vars(&[("STOCKPILE__DATABASE__URLL", "sqlite://x.db")]),
        ));
        assert!(e.contains("`database.urll`"), "{e}");
        let e = error(Settings::load_from(
            "test",
            dir,
            vars(&[("STOCKPILE__DATABASE", "x")]),
        ));
        assert!(e.contains("STOCKPILE__DATABASE:"), "{e}");
        // Other variables, and STOCKPILE_ENV-style names with one underscore, are not settings.
        let ok = Settings::load_from(
            "test",
            dir,
            vars(&[
                ("STOCKPILE_TEST_DATABASE_URL", "x"),
                ("PATH", "/bin"),
                ("STOCKPILE__SERVER__PORT", "9"),
            ]),
        )
        .unwrap();
        assert_eq!(ok.server.port, 9);
    }

    #[test]
    fn an_unknown_key_in_a_file_is_refused_with_its_file() {
        let dir = config_dir(
            "unknown",
            &[("development.toml", "[database]\nurll = \"x\"\n")],
        );
        let e = error(Settings::load_from("development", &dir, vars(&[])));
        assert!(
            e.contains("development.toml") && e.contains("`database.urll`"),
            "{e}"
        );
        let dir = config_dir("section", &[("default.toml", "[servr]\nport = 1\n")]);
        let e = error(Settings::load_from("development", &dir, vars(&[])));
        assert!(e.contains("default.toml") && e.contains("`servr`"), "{e}");
        let dir = config_dir("top", &[("development.toml", "port = 1\n")]);
        let e = error(Settings::load_from("development", &dir, vars(&[])));
        assert!(e.contains("`port`"), "{e}");
    }

    #[test]
    fn an_unknown_environment_without_its_file_is_refused() {
        let dir = config_dir("env", &[("staging.toml", "[log]\nlevel = \"info\"\n")]);
        let e = error(Settings::load_from("prod", &dir, vars(&[SECRET])));
        assert!(e.contains("STOCKPILE_ENV=prod"), "{e}");
        assert!(Settings::load_from("staging", &dir, vars(&[SECRET])).is_ok());
    }

    #[test]
    fn a_syntax_error_names_its_file() {
        let dir = config_dir("syntax", &[("test.toml", "[server\nport = 1\n")]);
        let e = error(Settings::load_from("test", &dir, vars(&[SECRET])));
        assert!(
            e.contains(&dir.join("test.toml").display().to_string()),
            "{e}"
        );
        assert!(e.contains("not valid TOML"), "{e}");
    }

    #[test]
    fn production_needs_an_explicit_database_url() {
        // The defaults' URL, even from a default.toml on disk, is not explicit.
        let dir = config_dir(
            "prod",
            &[("default.toml", "[database]\nurl = \"sqlite://d.db\"\n")],
        );
        let e = error(Settings::load_from("production", &dir, vars(&[SECRET])));
        assert!(e.contains("database.url"), "{e}");
        let url = ("STOCKPILE__DATABASE__URL", "postgres://u@127.0.0.1:5432/db");
        let s = Settings::load_from("production", &dir, vars(&[SECRET, KEYS, url])).unwrap();
        assert_eq!(s.database.url, url.1);
        let dir = config_dir(
            "prod-file",
            &[(
                "production.toml",
                "[database]\nurl = \"postgres://u@db:5432/x\"\n",
            )],
        );
        assert!(Settings::load_from("production", &dir, vars(&[SECRET, KEYS])).is_ok());
        // Other environments keep the default.
        assert!(Settings::load_from("development", &dir, vars(&[])).is_ok());
    }

    #[test]
    fn webhook_sealing_keys_are_checked_and_needed_in_production() {
        let dir = Path::new("config");
        let bad = ("STOCKPILE__WEBHOOKS__SECRET_KEYS", "not-a-key");
        let e = error(Settings::load_from("development", dir, vars(&[bad])));
        assert!(
            e.contains("key 1 is not base64") && e.contains("webhooks.secret_keys"),
            "{e}"
        );
        let two = format!(
            "{}, {}",
            KEYS.1, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        );
        let s = Settings::load_from("development", dir, vars(&[(KEYS.0, &two)])).unwrap();
        assert_eq!(
            format!("{:?}", s.webhooks.secret_keys).matches(',').count(),
            1
        );
        // Development may keep secrets in plain; production may not.
        let s = Settings::load_from("development", dir, vars(&[])).unwrap();
        assert!(s.webhooks.secret_keys.is_empty());
        let url = ("STOCKPILE__DATABASE__URL", "postgres://u@127.0.0.1:5432/db");
        let e = error(Settings::load_from("production", dir, vars(&[SECRET, url])));
        assert!(e.contains("production needs webhooks.secret_keys"), "{e}");
        assert!(Settings::load_from("production", dir, vars(&[SECRET, url, KEYS])).is_ok());
    }

    #[test]
    fn production_refuses_weak_or_missing_secrets() {
        let mut s = test_settings();
        s.env = "production".into();
        s.database_url_explicit = true;
        assert!(s.validate().is_ok(), "a 32+ byte secret is accepted");
        s.auth.hs256_secret = "short".into();
        assert!(s.validate().is_err(), "short secret");
        s.auth.hs256_secret = DEVELOPMENT_SECRET.into();
        assert!(s.validate().is_err(), "the public development secret");
        s.auth.hs256_secret = String::new();
        assert!(s.validate().is_err(), "no secret and no key");
        s.auth.public_key_pem = "-----BEGIN PUBLIC KEY-----".into();
        assert!(s.validate().is_ok(), "a public key alone");
    }

    #[test]
    fn development_falls_back_to_the_built_in_secret_only_without_keys() {
        let mut s = test_settings();
        s.env = "development".into();
        s.auth.hs256_secret = String::new();
        assert_eq!(s.hs256_secret(), Some(DEVELOPMENT_SECRET));
        s.auth.public_key_pem = "pem".into();
        assert_eq!(s.hs256_secret(), None);
        s.auth.public_key_pem = String::new();
        s.auth.jwks_file = "jwks.json".into();
        assert_eq!(s.hs256_secret(), None);
    }

    #[test]
    fn a_key_set_is_checked_and_is_enough_in_production() {
        let mut s = test_settings();
        s.env = "production".into();
        s.database_url_explicit = true;
        s.auth.hs256_secret = String::new();
        s.auth.jwks_url = "https://idp.example/realms/r/protocol/openid-connect/certs".into();
        assert!(s.validate().is_ok(), "a key set alone");
        s.auth.jwks_url = "http://idp.example/certs".into();
        let e = format!("{:#}", s.validate().unwrap_err());
        assert!(e.contains("https in production"), "{e}");
        s.env = "test".into();
        assert!(s.validate().is_ok(), "http outside production");
        for bad in ["ftp://idp.example/certs", "idp.example/certs"] {
            s.auth.jwks_url = bad.into();
            assert!(s.validate().is_err(), "{bad}");
        }
        s.auth.jwks_url = String::new();
        s.auth.jwks_file = "jwks.json".into();
        s.auth.jwks_min_refresh_secs = 0;
        assert!(s.validate().is_err(), "no refresh limit");
        let mut s = test_settings();
        s.auth.role_claim = "realm_access..roles".into();
        assert!(s.validate().is_err(), "empty part of the role claim");
        s.auth.role_claim = "resource_access.stockpile.roles".into();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn bounds_are_checked() {
        let mut s = test_settings();
        s.auth.leeway_secs = 61;
        assert!(s.validate().is_err());
        let mut s = test_settings();
        s.idempotency.retention_hours = 23;
        assert!(s.validate().is_err());
        let mut s = test_settings();
        s.policy.share_limited = "0".into();
        assert!(s.validate().is_err());
        let mut s = test_settings();
        s.auth.public_key_algorithm = "HS512".into();
        assert!(s.validate().is_err());
        let mut s = test_settings();
        s.limits.rate_limit_per_second = 10;
        s.limits.rate_limit_burst = 0;
        assert!(s.validate().is_err());
    }

    #[test]
    fn a_replica_needs_postgresql_on_both_sides() {
        let mut s = test_settings();
        s.database.url = "sqlite://data/x.db".into();
        s.database.replica_url = "postgres://u@127.0.0.1:5433/db".into();
        let e = format!("{:#}", s.validate().unwrap_err());
        assert!(e.contains("database.replica_url needs PostgreSQL"), "{e}");
        s.database.url = "postgres://u@127.0.0.1:5432/db".into();
        assert!(s.validate().is_ok());
        s.database.replica_url = "sqlite://data/x.db".into();
        assert!(s.validate().is_err(), "a SQLite replica");
        s.database.replica_url = "mysql://x".into();
        let e = format!("{:#}", s.validate().unwrap_err());
        assert!(e.contains("database.replica_url:"), "{e}");
        s.database.replica_url = String::new();
        s.database.url = "sqlite://data/x.db".into();
        assert!(s.validate().is_ok(), "no replica");
    }
}
