//! Webhook rules without IO: endpoint and delivery states, the Standard Webhooks signature,
//! secrets, the retry schedule, and which addresses count as public.

use super::formats;
use super::values::closed_enum;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

closed_enum! {
    /// A disabled endpoint receives nothing until it is enabled again.
    pub enum EndpointStatus: formats::EndpointStatus, "EndpointStatus" {
        Enabled = "enabled",
        Disabled = "disabled",
    }
}

closed_enum! {
    /// A delivery is pending until a 2xx (delivered) or until it gives up (failed).
    pub enum DeliveryStatus: formats::DeliveryStatus, "DeliveryStatus" {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

/// The prefix of a secret's text.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the contract asks for 24 at least).
pub const SECRET_BYTES: usize = 32;

/// A secret's text for `bytes`: `whsec_` + base64.
pub fn secret_text(bytes: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a secret's text, `None` when it is not `whsec_` + base64.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// One `webhook-signature` entry: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`
/// keyed with the secret's decoded bytes.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per key, space-separated (during a rotation
/// the new secret's and the old one's, as Standard Webhooks allows).
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &str) -> String {
    keys.iter()
        .map(|k| signature(k, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// When to try a failed delivery again: `delays[n - 1]` after the n-th attempt, the last delay
/// repeating, until `give_up_after` past the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
    pub give_up_after: Duration,
}

impl RetrySchedule {
    /// The contract's: 5 s, 30 s, 2 min, 10 min, 1 h, 6 h, then every 12 h, for 3 days.
    pub fn standard() -> Self {
        let secs = [5, 30, 120, 600, 3600, 6 * 3600, 12 * 3600];
        Self {
            delays: secs.into_iter().map(Duration::from_secs).collect(),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }

    /// The time of the next attempt after `attempts` failed ones, or `None` when it would
    /// fall after the deadline: the delivery has failed.
    pub fn next_attempt(
        &self,
        attempts: u32,
        event_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        let i = usize::try_from(attempts.max(1) - 1).unwrap_or(usize::MAX);
        let delay = self.delays.get(i).or(self.delays.last())?;
        let next = now + chrono::Duration::from_std(*delay).ok()?;
        let deadline = event_at + chrono::Duration::from_std(self.give_up_after).ok()?;
        (next <= deadline).then_some(next)
    }
}

/// Whether a destination address is on the public internet: not loopback, private (RFC 1918,
/// ULA), link-local, CGNAT, multicast, unspecified, broadcast, documentation or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x0064 && s[1] == 0xff9b)
        || s[..6] == [0; 6])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signs_the_specification_example() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_headers_carry_every_key() {
        let text = secret_text(&[7u8; SECRET_BYTES]);
        assert!(text.starts_with("whsec_"));
        assert_eq!(secret_key(&text), Some(vec![7u8; SECRET_BYTES]));
        assert_eq!(secret_key("sk_abc"), None);
        let keys = [vec![1u8; 24], vec![2u8; 24]];
        let header = signature_header(&keys, "id", 5, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                signature(&keys[0], "id", 5, "{}"),
                signature(&keys[1], "id", 5, "{}")
            ]
        );
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn the_standard_schedule_backs_off_then_gives_up_after_three_days() {
        let s = RetrySchedule::standard();
        let t0 = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let after = |n: u32, now: NaiveDateTime| {
            s.next_attempt(n, t0, now).map(|t| (t - now).num_seconds())
        };
        assert_eq!(after(1, t0), Some(5));
        assert_eq!(after(2, t0), Some(30));
        assert_eq!(after(3, t0), Some(120));
        assert_eq!(after(4, t0), Some(600));
        assert_eq!(after(5, t0), Some(3600));
        assert_eq!(after(6, t0), Some(6 * 3600));
        assert_eq!(after(7, t0), Some(12 * 3600));
        assert_eq!(after(12, t0), Some(12 * 3600));
        let late = t0 + chrono::Duration::hours(61);
        assert_eq!(after(9, late), None, "past 72 h: failed");
        let on_time = t0 + chrono::Duration::hours(60);
        assert_eq!(after(9, on_time), Some(12 * 3600));
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
