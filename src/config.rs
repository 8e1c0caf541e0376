//! Typed settings: `config/default.toml` (also compiled in), then `config/<env>.toml`, then
//! `STOCKPILE__SECTION__KEY` environment variables. `STOCKPILE_ENV` picks the environment
//! (default `development`); `STOCKPILE_CONFIG_DIR` the folder (default `config`).

use crate::domain::policy::{Policy, PolicyText};
use serde::Deserialize;
use std::path::PathBuf;

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
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub idempotency: IdempotencySettings,
    pub limits: LimitsSettings,
    pub log: LogSettings,
    pub policy: PolicySettings,
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
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub hs256_secret: String,
    pub public_key_pem: String,
    pub public_key_algorithm: String,
    pub issuer: String,
    pub audience: String,
    pub leeway_secs: u64,
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
}

impl Settings {
    /// Loads the settings of the environment named by STOCKPILE_ENV.
    pub fn load() -> anyhow::Result<Self> {
        let env = std::env::var("STOCKPILE_ENV").unwrap_or_else(|_| "development".into());
        Self::load_env(&env)
    }

    /// Loads the settings of `env`, validated.
    pub fn load_env(env: &str) -> anyhow::Result<Self> {
        use config::{Config, Environment, File, FileFormat};
        let dir = PathBuf::from(
            std::env::var("STOCKPILE_CONFIG_DIR").unwrap_or_else(|_| "config".into()),
        );
        let raw = Config::builder()
            .add_source(File::from_str(
                include_str!("../config/default.toml"),
                FileFormat::Toml,
            ))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{env}.toml"))).required(false))
            .add_source(Environment::with_prefix("STOCKPILE").separator("__"))
            .build()?;
        let mut settings: Settings = raw.try_deserialize()?;
        settings.env = env.to_owned();
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
        } else if self.env == "development" && a.public_key_pem.is_empty() {
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
        })
        .map_err(anyhow::Error::msg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let a = &self.auth;
        match self.hs256_secret() {
            Some(s) if s.len() < MIN_SECRET_BYTES => {
                anyhow::bail!("auth.hs256_secret must be at least {MIN_SECRET_BYTES} bytes")
            }
            Some(DEVELOPMENT_SECRET) if self.is_production() => {
                anyhow::bail!("auth.hs256_secret: the development secret is refused in production")
            }
            None if a.public_key_pem.is_empty() => anyhow::bail!(
                "no token verification configured: set auth.hs256_secret (32 bytes at least) \
                 or auth.public_key_pem"
            ),
            _ => {}
        }
        if !matches!(a.public_key_algorithm.as_str(), "RS256" | "EdDSA") {
            anyhow::bail!("auth.public_key_algorithm must be RS256 or EdDSA");
        }
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
        self.policy()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_settings() -> Settings {
        Settings::load_env("test").expect("test settings load")
    }

    #[test]
    fn production_refuses_weak_or_missing_secrets() {
        let mut s = test_settings();
        s.env = "production".into();
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
}
