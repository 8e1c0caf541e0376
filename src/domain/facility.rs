//! Facilities (warehouses) where lots are stored.

use super::code::Code;
use super::country::parse_country;
use super::validation::{text, FieldError, Problems};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFacility {
    pub code: Code,
    pub name: String,
    pub country: String,
}

impl NewFacility {
    pub fn parse(code: &str, name: &str, country: &str) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let code = p.check("code", Code::parse(code));
        let name = p.check("name", text(name, 200));
        let country = p.check("country", parse_country(country));
        p.finish(|| {
            Some(NewFacility {
                code: code?,
                name: name?,
                country: country?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let f = NewFacility::parse("NV1", "Nevada depot", "US").unwrap();
        assert_eq!(f.country, "US");
        let errs = NewFacility::parse("nv1", "Depot", "USA").unwrap_err();
        assert_eq!(errs.len(), 2);
    }
}
