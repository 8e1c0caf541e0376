//! Keys from an identity provider's JSON Web Key Set (`auth.jwks_url`, `auth.jwks_file`):
//! several keys held at once, chosen by a token's `kid`.
//!
//! The set is read at start, again every `auth.jwks_refresh_secs`, and when a token names a
//! `kid` the set does not hold, at most once per `auth.jwks_min_refresh_secs` (so tokens
//! with made-up kids cannot make the service hammer its identity provider). One refresh runs
//! at a time: requests that need one meanwhile wait for it, without holding their worker
//! thread, then look again. A source that cannot be read keeps the keys it gave last.

use crate::config::AuthSettings;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A verification key and the one algorithm it verifies.
pub struct VerifyKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// Keys by `kid`.
pub type KeyMap = HashMap<String, Arc<VerifyKey>>;

/// How long one fetch of `auth.jwks_url` may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest key set document read (a real one is a few KiB).
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// The algorithm a JWK verifies: its `alg`, which must suit its key type (and curve), or
/// when it has none (Entra's keys have none) the one its type implies: RSA RS256, EC P-256
/// ES256, EC P-384 ES384, OKP Ed25519 EdDSA. Symmetric keys are never taken from a set.
pub fn key_algorithm(jwk: &Jwk) -> Result<Algorithm, String> {
    let (implied, allowed): (Algorithm, &[Algorithm]) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (
            Algorithm::RS256,
            &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
        ),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => (Algorithm::ES256, &[Algorithm::ES256]),
            EllipticCurve::P384 => (Algorithm::ES384, &[Algorithm::ES384]),
            ref other => return Err(format!("unsupported EC curve {other:?}")),
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            (Algorithm::EdDSA, &[Algorithm::EdDSA])
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            return Err(format!("unsupported OKP curve {:?}", okp.curve))
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("a symmetric key is never taken from a key set".to_owned())
        }
        _ => return Err("unsupported key type".to_owned()),
    };
    match jwk.common.key_algorithm {
        None => Ok(implied),
        Some(named) => Algorithm::try_from(named)
            .ok()
            .filter(|alg| allowed.contains(alg))
            .ok_or_else(|| format!("alg {named} does not suit this key")),
    }
}

/// Whether a JWK may verify signatures: not marked for encryption only.
fn verifies(jwk: &Jwk) -> bool {
    let usable = !matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    );
    let operations = jwk
        .common
        .key_operations
        .as_ref()
        .is_none_or(|ops| ops.contains(&KeyOperations::Verify));
    usable && operations
}

/// The verification keys of a key set document (`{"keys": [...]}`), and a note for each key
/// left out (no `kid`, encryption keys, unsupported types, malformed keys) so that one odd key
/// does not lose the others.
pub fn parse_key_set(document: &[u8]) -> Result<(KeyMap, Vec<String>), String> {
    let value: Value =
        serde_json::from_slice(document).map_err(|e| format!("not a JSON document: {e}"))?;
    let entries = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("not a JWK set: no `keys` array")?;
    let mut keys = KeyMap::new();
    let mut skipped = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let kid = entry.get("kid").and_then(Value::as_str);
        let name = kid.map_or_else(|| format!("key {i}"), |k| format!("kid {k:?}"));
        let key = serde_json::from_value::<Jwk>(entry.clone())
            .map_err(|e| format!("malformed: {e}"))
            .and_then(|jwk| {
                let kid = jwk.common.key_id.clone().ok_or("no kid")?;
                if !verifies(&jwk) {
                    return Err("not a signature verification key".to_owned());
                }
                let alg = key_algorithm(&jwk)?;
                let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable: {e}"))?;
                Ok((kid, VerifyKey { alg, key }))
            });
        match key {
            Ok((kid, key)) if !keys.contains_key(&kid) => {
                keys.insert(kid, Arc::new(key));
            }
            Ok(_) => skipped.push(format!("{name}: a second key with this kid")),
            Err(why) => skipped.push(format!("{name}: {why}")),
        }
    }
    Ok((keys, skipped))
}

/// Where a key set is read from.
enum Source {
    File(PathBuf),
    Url {
        url: reqwest::Url,
        client: reqwest::Client,
    },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Url { url, .. } => url.to_string(),
        }
    }

    async fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            // A small local file: reading it is quicker than handing it to another thread.
            Source::File(path) => std::fs::read(path).map_err(|e| e.to_string()),
            Source::Url { url, client } => {
                let mut response = client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| format!("{e}"))?;
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(|e| format!("{e}"))? {
                    if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                        return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            }
        }
    }

    async fn load(&self) -> Result<KeyMap, String> {
        let (keys, skipped) = parse_key_set(&self.read().await?)?;
        // Providers publish encryption keys beside signing keys: worth a note, not a warning.
        for why in skipped {
            tracing::info!(source = %self.describe(), key = %why, "key set: key left out");
        }
        Ok(keys)
    }
}

/// What refreshes share; one refresh holds it at a time.
struct Refresh {
    /// When the last refresh started (successful or not).
    last: Option<Instant>,
    /// The keys each source gave last, in the order of `KeySet::sources`.
    held: Vec<KeyMap>,
}

/// The keys of the configured key sets, refreshed as the module says.
pub struct KeySet {
    sources: Vec<Source>,
    min_refresh: Duration,
    /// Every source's keys merged; an earlier source's kid wins over a later one's.
    current: RwLock<Arc<KeyMap>>,
    refresh: tokio::sync::Mutex<Refresh>,
}

impl KeySet {
    /// The key set the settings name, if any. A `jwks_file` is read now (a file that cannot
    /// be read stops the service); a `jwks_url` is first fetched by `refresh`.
    pub fn from_settings(a: &AuthSettings) -> anyhow::Result<Option<Self>> {
        let mut sources = Vec::new();
        let mut held = Vec::new();
        if !a.jwks_file.is_empty() {
            let path = PathBuf::from(&a.jwks_file);
            let text = std::fs::read(&path)
                .map_err(|e| anyhow::anyhow!("auth.jwks_file {}: {e}", path.display()))?;
            let (keys, _) = parse_key_set(&text)
                .map_err(|e| anyhow::anyhow!("auth.jwks_file {}: {e}", path.display()))?;
            sources.push(Source::File(path));
            held.push(keys);
        }
        if !a.jwks_url.is_empty() {
            let url: reqwest::Url = a.jwks_url.parse()?;
            let client = reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                // A fetch at most once a minute: no connection is worth keeping, and none is
                // then shared between the workers' runtimes.
                .pool_max_idle_per_host(0)
                .https_only(url.scheme() == "https")
                .user_agent(concat!("stockpile/", env!("CARGO_PKG_VERSION")))
                .build()?;
            sources.push(Source::Url { url, client });
            held.push(KeyMap::new());
        }
        if sources.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            sources,
            min_refresh: Duration::from_secs(a.jwks_min_refresh_secs),
            current: RwLock::new(Arc::new(merge(&held))),
            refresh: tokio::sync::Mutex::new(Refresh { last: None, held }),
        }))
    }

    /// The key of `kid` among those held now.
    pub fn get(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.get(kid).cloned()
    }

    /// The key of `kid`, refreshing the set first when it is not held and no refresh started
    /// within `min_refresh`. A request that finds a refresh running waits for it, then looks
    /// again without starting another.
    pub async fn get_or_refresh(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        if let Some(key) = self.get(kid) {
            return Some(key);
        }
        let mut state = self.refresh.lock().await;
        if let Some(key) = self.get(kid) {
            return Some(key);
        }
        if state
            .last
            .is_some_and(|last| last.elapsed() < self.min_refresh)
        {
            tracing::debug!(
                kid,
                "unknown kid: the key set was refreshed too recently to refetch"
            );
            return None;
        }
        tracing::info!(kid, "unknown kid: refreshing the key set");
        self.reload(&mut state).await;
        self.get(kid)
    }

    /// Reads every source again (at start and on the periodic refresh).
    pub async fn refresh(&self) {
        let mut state = self.refresh.lock().await;
        self.reload(&mut state).await;
    }

    async fn reload(&self, state: &mut Refresh) {
        state.last = Some(Instant::now());
        for (source, held) in self.sources.iter().zip(state.held.iter_mut()) {
            match source.load().await {
                Ok(keys) => {
                    let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
                    kids.sort_unstable();
                    tracing::info!(source = %source.describe(), ?kids, "key set loaded");
                    *held = keys;
                }
                Err(error) => tracing::warn!(
                    source = %source.describe(),
                    %error,
                    kept = held.len(),
                    "key set refresh failed; the keys it gave last are kept"
                ),
            }
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(merge(&state.held));
    }
}

/// The sources' keys as one map; an earlier source's kid wins.
fn merge(held: &[KeyMap]) -> KeyMap {
    let mut merged = KeyMap::new();
    for keys in held.iter().rev() {
        merged.extend(keys.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A real Ed25519 public key (tests/api/keys/ed25519_public.pem) as a JWK's `x`.
    const ED_X: &str = "mOq5enVrNJAqFhLZFinSLor2Ls1vDeixxGvRC9H5Ez8";

    fn okp(kid: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": kid})
    }

    fn jwk(v: Value) -> Jwk {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_algorithm_is_the_keys_own_or_implied_by_its_type() {
        assert_eq!(key_algorithm(&jwk(okp("a"))), Ok(Algorithm::EdDSA));
        let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"});
        assert_eq!(key_algorithm(&jwk(rsa.clone())), Ok(Algorithm::RS256));
        let mut ps = rsa.clone();
        ps["alg"] = json!("PS256");
        assert_eq!(key_algorithm(&jwk(ps)), Ok(Algorithm::PS256));
        let ec = |crv: &str| json!({"kty": "EC", "crv": crv, "x": "AQAB", "y": "AQAB"});
        assert_eq!(key_algorithm(&jwk(ec("P-256"))), Ok(Algorithm::ES256));
        assert_eq!(key_algorithm(&jwk(ec("P-384"))), Ok(Algorithm::ES384));
        assert!(key_algorithm(&jwk(ec("P-521"))).is_err());
        // An alg that does not suit the key is refused, not believed.
        let mut lying = rsa;
        lying["alg"] = json!("ES256");
        assert!(key_algorithm(&jwk(lying)).is_err());
        let mut lying = ec("P-256");
        lying["alg"] = json!("ES384");
        assert!(key_algorithm(&jwk(lying)).is_err());
        let hmac = json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"});
        assert!(key_algorithm(&jwk(hmac)).is_err());
    }

    #[test]
    fn a_set_keeps_its_verification_keys_and_says_why_it_left_others_out() {
        let mut enc = okp("enc");
        enc["use"] = json!("enc");
        let mut sign_only = okp("sign-only");
        sign_only["key_ops"] = json!(["sign"]);
        let mut verify = okp("verify");
        verify["key_ops"] = json!(["verify"]);
        let mut no_kid = okp("x");
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut unknown_alg = okp("rsa-oaep");
        unknown_alg["alg"] = json!("XYZ");
        let doc = json!({"keys": [
            okp("a"), okp("a"), enc, sign_only, verify, no_kid, unknown_alg,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "weird", "kid": "w"}, 7,
        ]});
        let (keys, skipped) = parse_key_set(doc.to_string().as_bytes()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["a", "verify"]);
        assert_eq!(skipped.len(), 8, "{skipped:?}");
        assert!(skipped[0].contains("second key"), "{skipped:?}");
        assert!(skipped.iter().any(|s| s.contains("no kid")), "{skipped:?}");
        assert!(
            skipped.iter().any(|s| s.contains("symmetric")),
            "{skipped:?}"
        );
        assert!(parse_key_set(b"{\"keys\": {}}").is_err());
        assert!(parse_key_set(b"<html>").is_err());
    }
}
