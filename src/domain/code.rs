//! Codes that address materials and facilities: upper-case `A-Z0-9_`, 1-32 characters.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = (1..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err("must be 1-32 characters of A-Z, 0-9 and _".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn accepts_codes_of_the_contract() {
        for ok in ["NDPR_OXIDE", "W_APT", "A", "NV1", &"X".repeat(32)] {
            assert!(Code::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ndpr", "NDPR-OXIDE", "NDPR OXIDE", &"X".repeat(33), "É"] {
            assert!(Code::parse(bad).is_err(), "{bad}");
        }
    }
}
