//! Bearer tokens: verification with the configured keys only, and minting for development
//! (`stockpile token`).

use super::key_set::{KeySet, VerifyKey};
use crate::config::Settings;
use crate::domain::actor::{Actor, Role};
use crate::domain::claims::{actor_from_claims, RoleClaim};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

/// Verifies tokens against the algorithms and keys of the configuration, nothing else: the
/// HS256 secret, the public key PEM, and the keys of a key set chosen by `kid`.
pub struct TokenVerifier {
    /// The HS256 secret and the public key PEM, each with its algorithm.
    configured: Vec<Arc<VerifyKey>>,
    key_set: Option<Arc<KeySet>>,
    role_claim: RoleClaim,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl TokenVerifier {
    /// The verifier of the settings. A `jwks_file` is read here; a `jwks_url` is fetched by
    /// the key set's first `refresh` (startup) or by the first token that needs it.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let mut configured = Vec::new();
        if let Some(secret) = s.hs256_secret() {
            configured.push(Arc::new(VerifyKey {
                alg: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.as_bytes())?,
            }));
        }
        let pem = s.auth.public_key_pem.as_bytes();
        if !pem.is_empty() {
            let (alg, key) = match s.auth.public_key_algorithm.as_str() {
                "EdDSA" => (Algorithm::EdDSA, DecodingKey::from_ed_pem(pem)?),
                _ => (Algorithm::RS256, DecodingKey::from_rsa_pem(pem)?),
            };
            configured.push(Arc::new(VerifyKey { alg, key }));
        }
        Ok(Self {
            configured,
            key_set: KeySet::from_settings(&s.auth)?.map(Arc::new),
            role_claim: RoleClaim::parse(&s.auth.role_claim).map_err(anyhow::Error::msg)?,
            issuer: non_empty(&s.auth.issuer),
            audience: non_empty(&s.auth.audience),
            leeway_secs: s.auth.leeway_secs,
        })
    }

    /// The key set of `auth.jwks_url` / `auth.jwks_file`, when one is configured.
    pub fn key_set(&self) -> Option<Arc<KeySet>> {
        self.key_set.clone()
    }

    /// The key that may verify a token of this header: with a `kid` the key set holds (or
    /// gets on a refresh), that key, whose algorithm must be the token's; otherwise the
    /// configured secret or PEM key of the token's algorithm.
    async fn key_for(&self, header: &Header) -> Result<Arc<VerifyKey>, String> {
        let alg = header.alg;
        if let (Some(set), Some(kid)) = (&self.key_set, &header.kid) {
            if alg != Algorithm::HS256 {
                if let Some(key) = set.get_or_refresh(kid).await {
                    return if key.alg == alg {
                        Ok(key)
                    } else {
                        Err(format!(
                            "the token's alg {alg:?} is not kid {kid:?}'s, {:?}",
                            key.alg
                        ))
                    };
                }
            }
        }
        if let Some(key) = self.configured.iter().find(|k| k.alg == alg) {
            return Ok(key.clone());
        }
        Err(match (&self.key_set, &header.kid) {
            (Some(_), None) if alg != Algorithm::HS256 => {
                "the token has no kid, and the keys of the key set are chosen by kid".to_owned()
            }
            (Some(_), Some(kid)) if alg != Algorithm::HS256 => {
                format!("kid {kid:?} is not in the key set")
            }
            _ => format!("algorithm {alg:?} is not configured"),
        })
    }

    /// The actor a token speaks for, or why it is refused (the reason is for logs only:
    /// callers get one generic 401).
    pub async fn verify(&self, token: &str) -> Result<Actor, String> {
        // An unknown or `none` algorithm fails to parse here.
        let header = decode_header(token).map_err(|e| format!("header: {e}"))?;
        let key = self.key_for(&header).await?;
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
        let claims = decode::<serde_json::Value>(token, &key.key, &v)
            .map_err(|e| format!("token: {e}"))?
            .claims;
        // jsonwebtoken also takes an `iss` array that contains the issuer; RFC 7519 makes
        // `iss` a single string, so only that string equal to ours is accepted.
        if let Some(iss) = &self.issuer {
            if claims.get("iss").and_then(|v| v.as_str()) != Some(iss.as_str()) {
                return Err("iss must be a string equal to the configured issuer".to_owned());
            }
        }
        actor_from_claims(&claims, &self.role_claim)
    }
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

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("2d"), Ok(172_800));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
