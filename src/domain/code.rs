//! Codes that address materials and facilities: upper-case `A-Z0-9_`, 1-32 characters.

use super::formats;
use super::values::{wire_string, Undecodable};

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

wire_string!(Code, formats::Code, "Code", |c, f| f.write_str(&c.0));

/// A stored code (a row's `code`, or a ledger asset) reads back only if it is one.
impl TryFrom<String> for Code {
    type Error = Undecodable;

    fn try_from(value: String) -> Result<Self, Undecodable> {
        match Self::parse(&value) {
            Ok(code) => Ok(code),
            Err(_) => Err(Undecodable {
                what: "Code",
                value,
            }),
        }
    }
}

impl From<Code> for String {
    fn from(code: Code) -> String {
        code.0
    }
}

/// A code is read wherever a `&str` of one is taken (a query's filter, an account name).
impl std::ops::Deref for Code {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Code {
    fn borrow(&self) -> &str {
        &self.0
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

    #[test]
    fn a_stored_code_reads_back_only_if_it_is_one() {
        let code = Code::try_from("W_APT".to_owned()).unwrap();
        assert_eq!(serde_json::to_value(&code).unwrap(), "W_APT");
        assert_eq!(String::from(code), "W_APT");
        let err = Code::try_from("w apt".to_owned()).unwrap_err();
        assert_eq!(err.value, "w apt");
    }
}
