//! Bearer tokens: verification with the configured keys only, and minting for development
//! (`stockpile token`).

use crate::config::Settings;
use crate::domain::actor::{Actor, Role};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// Verifies tokens against the algorithms and keys of the configuration, nothing else.
pub struct TokenVerifier {
    keys: Vec<(Algorithm, DecodingKey)>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl TokenVerifier {
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        if let Some(secret) = s.hs256_secret() {
            keys.push((
                Algorithm::HS256,
                DecodingKey::from_secret(secret.as_bytes())?,
            ));
        }
        let pem = s.auth.public_key_pem.as_bytes();
        if !pem.is_empty() {
            let key = match s.auth.public_key_algorithm.as_str() {
                "EdDSA" => (Algorithm::EdDSA, DecodingKey::from_ed_pem(pem)?),
                _ => (Algorithm::RS256, DecodingKey::from_rsa_pem(pem)?),
            };
            keys.push(key);
        }
        Ok(Self {
            keys,
            issuer: non_empty(&s.auth.issuer),
            audience: non_empty(&s.auth.audience),
            leeway_secs: s.auth.leeway_secs,
        })
    }

    /// The actor a token speaks for, or why it is refused (the reason is for logs only:
    /// callers get one generic 401).
    pub fn verify(&self, token: &str) -> Result<Actor, String> {
        // An unknown or `none` algorithm fails to parse here.
        let header = decode_header(token).map_err(|e| format!("header: {e}"))?;
        let key = self
            .keys
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .map(|(_, k)| k)
            .ok_or_else(|| format!("algorithm {:?} is not configured", header.alg))?;
        let mut v = Validation::new(header.alg);
        v.leeway = self.leeway_secs;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(iss) => {
                v.set_issuer(&[iss]);
                required.push("iss");
            }
            None => v.iss = None,
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        let claims = decode::<serde_json::Value>(token, key, &v)
            .map_err(|e| format!("token: {e}"))?
            .claims;
        // jsonwebtoken also takes an `iss` array that contains the issuer; RFC 7519 makes
        // `iss` a single string, so only that string equal to ours is accepted.
        if let Some(iss) = &self.issuer {
            if claims.get("iss").and_then(|v| v.as_str()) != Some(iss.as_str()) {
                return Err("iss must be a string equal to the configured issuer".to_owned());
            }
        }
        actor_from_claims(&claims)
    }
}

fn actor_from_claims(claims: &serde_json::Value) -> Result<Actor, String> {
    // `sub` and `org` are stored (audit events, idempotency scopes) and queried: at most
    // 255 characters, none of them control characters (a NUL no database accepts).
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| (1..=255).contains(&s.chars().count()) && !s.chars().any(char::is_control))
    };
    let sub = text("sub")
        .ok_or("sub must be a string of 1-255 characters, none of them control characters")?;
    let role: Role = text("role")
        .ok_or("role missing")?
        .parse()
        .map_err(|_| "unknown role".to_owned())?;
    let org = match role {
        Role::Manufacturer => Some(
            text("org")
                .ok_or("a manufacturer token needs org")?
                .to_owned(),
        ),
        _ => None,
    };
    Ok(Actor {
        sub: sub.to_owned(),
        role,
        org,
    })
}

/// Mints an HS256 token with the configured secret (development and scripts).
pub fn mint(
    s: &Settings,
    role: Role,
    sub: &str,
    org: Option<&str>,
    ttl_secs: u64,
) -> anyhow::Result<String> {
    let secret = s.hs256_secret().ok_or_else(|| {
        anyhow::anyhow!("no HS256 secret is configured; tokens come from your identity provider")
    })?;
    if role == Role::Manufacturer && org.is_none() {
        anyhow::bail!("a manufacturer token needs --org");
    }
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: sub.to_owned(),
        role: role.as_str().to_owned(),
        org: org.map(str::to_owned),
        exp: now + ttl_secs,
        iat: Some(now),
        iss: non_empty(&s.auth.issuer),
        aud: non_empty(&s.auth.audience),
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes())?,
    )?)
}

/// Parses a duration such as `90s`, `15m`, `1h` or `7d` into seconds.
pub fn parse_ttl(text: &str) -> Result<u64, String> {
    let (num, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = num.parse().map_err(|_| format!("bad duration {text:?}"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("bad duration unit in {text:?} (use s, m, h or d)")),
    };
    n.checked_mul(mult)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("bad duration {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("2d"), Ok(172_800));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }

    #[test]
    fn claims_rules() {
        let ok =
            actor_from_claims(&json!({"sub": "u1", "role": "manufacturer", "org": "m1"})).unwrap();
        assert_eq!(ok.org.as_deref(), Some("m1"));
        let op = actor_from_claims(&json!({"sub": "u1", "role": "operator", "org": "m1"})).unwrap();
        assert_eq!(op.org, None);
        assert!(actor_from_claims(&json!({"sub": "u1", "role": "manufacturer"})).is_err());
        assert!(actor_from_claims(&json!({"sub": "u1", "role": "root"})).is_err());
        assert!(actor_from_claims(&json!({"sub": "", "role": "admin"})).is_err());
        assert!(actor_from_claims(&json!({"sub": 5, "role": "admin"})).is_err());
        assert!(actor_from_claims(&json!({"sub": "a\u{0}b", "role": "admin"})).is_err());
        assert!(actor_from_claims(&json!({"sub": "x".repeat(256), "role": "admin"})).is_err());
        let nul_org = json!({"sub": "u1", "role": "manufacturer", "org": "m\u{0}"});
        assert!(actor_from_claims(&nul_org).is_err());
    }
}
