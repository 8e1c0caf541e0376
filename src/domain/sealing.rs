//! Webhook signing secrets sealed at rest, so that a database reader cannot sign: XChaCha20-
//! Poly1305 under a key of `webhooks.secret_keys`, with the endpoint's id as associated data
//! (a sealed secret moved to another endpoint's row does not open there).
//!
//! Stored form: `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, the key id being
//! the first 4 bytes of the key's SHA-256 in hex, so that a row sealed under an older key
//! still opens while that key is listed. Text without the `sealed:` prefix is a secret stored
//! in plain (rows written before any key was configured, or with none): it opens as itself.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// What every sealed text starts with, whatever its version.
const SEALED: &str = "sealed:";
/// The prefix of this version's sealed texts.
const SEALED_V1: &str = "sealed:v1:";
pub const KEY_BYTES: usize = 32;
pub const NONCE_BYTES: usize = 24;

/// The sealing keys: the first seals, every one opens. Empty: secrets are kept in plain.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct SecretKeys(Vec<SealingKey>);

#[derive(Clone)]
struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// Why a stored secret does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the secret is sealed under key {0}, which webhooks.secret_keys does not list")]
    UnknownKey(String),
    #[error("the secret does not open under key {0}: altered, or sealed for another endpoint")]
    Unauthentic(String),
    #[error("the secret is stored in an unknown form")]
    Malformed,
}

impl std::fmt::Debug for SecretKeys {
    /// Key ids only: settings are logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|k| &k.id))
            .finish()
    }
}

impl TryFrom<String> for SecretKeys {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl SecretKeys {
    /// Comma-separated keys, each base64 of 32 bytes; empty or blank: no key. An error names
    /// the key by its place (the settings add the setting's name).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<SealingKey> = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(keys));
        }
        for (n, key) in text.split(',').map(str::trim).enumerate() {
            let bytes = STANDARD
                .decode(key)
                .ok()
                .filter(|b| b.len() == KEY_BYTES)
                .ok_or_else(|| {
                    format!(
                        "key {} is not base64 of {KEY_BYTES} bytes (make one with \
                         `head -c {KEY_BYTES} /dev/urandom | base64`)",
                        n + 1
                    )
                })?;
            let id = hex::encode(&Sha256::digest(&bytes)[..4]);
            if keys.iter().any(|k| k.id == id) {
                return Err(format!("key {} is listed twice", n + 1));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| format!("key {} is not of {KEY_BYTES} bytes", n + 1))?;
            keys.push(SealingKey { id, cipher });
        }
        Ok(Self(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The id of the key that seals, if any.
    pub fn sealing_id(&self) -> Option<&str> {
        self.0.first().map(|k| k.id.as_str())
    }

    /// `secret` sealed under the first key for `endpoint_id`, with `nonce` (random, never
    /// reused); `secret` itself when there is no key.
    pub fn seal(&self, secret: &str, endpoint_id: &str, nonce: [u8; NONCE_BYTES]) -> String {
        let Some(key) = self.0.first() else {
            return secret.to_owned();
        };
        let nonce = XNonce::from(nonce);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: endpoint_id.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any text of a secret's size");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{SEALED_V1}{}:{}", key.id, STANDARD.encode(bytes))
    }

    /// The secret `stored` for `endpoint_id` holds: opened, or as is when stored in plain.
    pub fn open(&self, stored: &str, endpoint_id: &str) -> Result<String, OpenError> {
        if !stored.starts_with(SEALED) {
            return Ok(stored.to_owned());
        }
        let (id, body) = stored
            .strip_prefix(SEALED_V1)
            .and_then(|rest| rest.split_once(':'))
            .ok_or(OpenError::Malformed)?;
        let key = self
            .0
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let bytes = STANDARD.decode(body).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let unauthentic = || OpenError::Unauthentic(id.to_owned());
        let plain = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: endpoint_id.as_bytes(),
                },
            )
            .map_err(|_| unauthentic())?;
        String::from_utf8(plain).map_err(|_| unauthentic())
    }

    /// Whether `stored` should be sealed again: a key is configured and `stored` is plain or
    /// sealed under another key than the first.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        self.sealing_id().is_some_and(|id| {
            stored
                .strip_prefix(SEALED_V1)
                .and_then(|rest| rest.split_once(':'))
                .is_none_or(|(of, _)| of != id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ENDPOINT: &str = "01900000-0000-7000-8000-000000000001";

    fn keys(text: &str) -> SecretKeys {
        SecretKeys::parse(text).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_endpoint_and_hides_the_secret() {
        let k = keys(A);
        let sealed = k.seal(SECRET, ENDPOINT, [7; NONCE_BYTES]);
        assert!(sealed.starts_with(&format!("sealed:v1:{}:", k.sealing_id().unwrap())));
        assert_eq!(k.sealing_id().unwrap().len(), 8);
        assert!(!sealed.contains(SECRET.trim_start_matches("whsec_")));
        assert_eq!(k.open(&sealed, ENDPOINT).unwrap(), SECRET);
        assert_ne!(
            sealed,
            k.seal(SECRET, ENDPOINT, [8; NONCE_BYTES]),
            "the nonce changes the text"
        );
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = keys(A).seal(SECRET, ENDPOINT, [1; NONCE_BYTES]);
        let id = keys(A).sealing_id().unwrap().to_owned();
        assert_eq!(
            keys(B).open(&sealed, ENDPOINT),
            Err(OpenError::UnknownKey(id))
        );
        assert_eq!(SecretKeys::default().open(&sealed, ENDPOINT).ok(), None);
    }

    #[test]
    fn another_endpoint_does_not_open_it() {
        let k = keys(A);
        let sealed = k.seal(SECRET, ENDPOINT, [1; NONCE_BYTES]);
        let other = "01900000-0000-7000-8000-000000000002";
        assert!(matches!(
            k.open(&sealed, other),
            Err(OpenError::Unauthentic(_))
        ));
    }

    #[test]
    fn an_altered_text_does_not_open() {
        let k = keys(A);
        let sealed = k.seal(SECRET, ENDPOINT, [1; NONCE_BYTES]);
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = STANDARD.decode(body).unwrap();
        for i in [0, NONCE_BYTES, bytes.len() - 1] {
            bytes[i] ^= 1;
            let altered = format!("{head}:{}", STANDARD.encode(&bytes));
            assert!(
                matches!(k.open(&altered, ENDPOINT), Err(OpenError::Unauthentic(_))),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        let short = format!("{head}:{}", STANDARD.encode(&bytes[..NONCE_BYTES - 1]));
        assert_eq!(k.open(&short, ENDPOINT), Err(OpenError::Malformed));
        for bad in [
            "sealed:v2:abcd:AAAA",
            "sealed:v1:nocolon",
            &format!("{head}:!!"),
        ] {
            assert_eq!(k.open(bad, ENDPOINT), Err(OpenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn an_older_key_still_listed_opens_and_asks_for_a_reseal() {
        let old = keys(A).seal(SECRET, ENDPOINT, [1; NONCE_BYTES]);
        let rotated = keys(&format!("{B}, {A}"));
        assert_eq!(rotated.open(&old, ENDPOINT).unwrap(), SECRET);
        assert!(rotated.needs_reseal(&old));
        let new = rotated.seal(SECRET, ENDPOINT, [2; NONCE_BYTES]);
        assert!(!rotated.needs_reseal(&new));
        assert!(new.contains(rotated.sealing_id().unwrap()));
        assert_eq!(keys(B).open(&new, ENDPOINT).unwrap(), SECRET);
    }

    #[test]
    fn plain_text_opens_as_itself_and_is_sealed_once_a_key_is_set() {
        assert_eq!(keys("").open(SECRET, ENDPOINT).unwrap(), SECRET);
        assert_eq!(keys(A).open(SECRET, ENDPOINT).unwrap(), SECRET);
        assert!(!keys("").needs_reseal(SECRET));
        assert!(keys(A).needs_reseal(SECRET));
        assert_eq!(keys(" ").seal(SECRET, ENDPOINT, [1; NONCE_BYTES]), SECRET);
    }

    #[test]
    fn malformed_keys_are_refused_by_their_place() {
        for bad in ["x", "AAAA", &format!("{A},"), &format!("{A},{A}"), &A[..40]] {
            let e = SecretKeys::parse(bad).err().unwrap_or_default();
            assert!(e.starts_with("key "), "{bad}: {e}");
        }
        assert!(keys("").is_empty() && keys("  ").is_empty());
        assert_eq!(
            format!("{:?}", keys(A)),
            format!("[{:?}]", keys(A).sealing_id().unwrap())
        );
    }
}
