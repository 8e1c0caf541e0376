//! Materials held by the reserve and their live stock figures.

use super::code::Code;
use super::decimal::non_negative;
use super::validation::{text, FieldError, Problems};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Kg,
    T,
    Mtu,
}

impl Unit {
    pub const ALL: [Unit; 3] = [Unit::Kg, Unit::T, Unit::Mtu];

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Kg => "kg",
            Unit::T => "t",
            Unit::Mtu => "mtu",
        }
    }
}

impl FromStr for Unit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kg" => Ok(Unit::Kg),
            "t" => Ok(Unit::T),
            "mtu" => Ok(Unit::Mtu),
            _ => Err("must be one of kg, t, mtu".into()),
        }
    }
}

super::values::closed_set!(Unit, super::formats::Unit, "Unit");

pub const MAX_SCALE: i64 = 6;

/// A material's decimals: its quantities are minor units of `10^-scale`, 0 to `MAX_SCALE`.
/// A stored scale outside that range does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale(u8);

impl Scale {
    pub fn new(scale: i64) -> Option<Self> {
        u8::try_from(scale)
            .ok()
            .filter(|s| i64::from(*s) <= MAX_SCALE)
            .map(Self)
    }

    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl TryFrom<i32> for Scale {
    type Error = super::values::Undecodable;

    fn try_from(stored: i32) -> Result<Self, Self::Error> {
        Self::new(stored.into()).ok_or_else(|| super::values::Undecodable {
            what: "scale",
            value: stored.to_string(),
        })
    }
}

impl From<Scale> for i32 {
    fn from(s: Scale) -> i32 {
        i32::from(s.0)
    }
}

/// A material as the admin defines it; quantities in minor units of `10^-scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMaterial {
    pub code: Code,
    pub name: String,
    pub unit: Unit,
    pub scale: Scale,
    pub strategic_floor: i64,
    /// Replenishments below this grade (percent) are refused.
    pub min_grade: Option<super::lot::Grade>,
}

impl NewMaterial {
    pub fn parse(
        code: &str,
        name: &str,
        unit: &str,
        scale: i64,
        strategic_floor: &str,
        min_grade: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let code = p.check(
            "code",
            Code::parse(code).and_then(|c| {
                if c.as_str() == crate::ledger::accounts::USD {
                    Err("USD is the ledger's money asset and cannot name a material".to_owned())
                } else {
                    Ok(c)
                }
            }),
        );
        let name = p.check("name", text(name, 200));
        let unit = p.check("unit", unit.parse::<Unit>());
        let scale = p.check(
            "scale",
            Scale::new(scale).ok_or("must be an integer from 0 to 6"),
        );
        // The floor is written in the material's unit, so it can only be checked once the
        // scale is known.
        let floor =
            scale.and_then(|s| p.check("strategic_floor", non_negative(strategic_floor, s.get())));
        let min_grade = match min_grade {
            Some(g) => p.check("min_grade", super::lot::grade(g)).map(Some),
            None => Some(None),
        };
        p.finish(|| {
            Some(NewMaterial {
                code: code?,
                name: name?,
                unit: unit?,
                scale: scale?,
                strategic_floor: floor?,
                min_grade: min_grade?,
            })
        })
    }
}

/// Stock figures of one material, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockFigures {
    pub on_hand: i64,
    pub held: i64,
    pub strategic_floor: i64,
}

impl StockFigures {
    /// What is not reserved by a hold.
    pub fn available(&self) -> i64 {
        self.on_hand - self.held
    }

    /// What may be released without going below the strategic floor.
    pub fn releasable(&self) -> i64 {
        (self.available() - self.strategic_floor).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_valid_material() {
        let m = NewMaterial::parse("NDPR_OXIDE", " NdPr oxide ", "kg", 3, "1000.5", None).unwrap();
        assert_eq!(m.code.as_str(), "NDPR_OXIDE");
        assert_eq!(m.name, "NdPr oxide");
        assert_eq!(m.unit, Unit::Kg);
        assert_eq!(m.strategic_floor, 1_000_500);
    }

    #[test]
    fn names_every_bad_field() {
        let errs = NewMaterial::parse("ndpr", "", "lb", 7, "1", None).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "unit", "scale"]);
    }

    #[test]
    fn usd_is_reserved() {
        let errs = NewMaterial::parse("USD", "Dollars", "kg", 2, "0", None).unwrap_err();
        assert_eq!(errs[0].field, "code");
    }

    #[test]
    fn floor_respects_scale_and_sign() {
        let errs = NewMaterial::parse("GA", "Gallium", "kg", 2, "1.234", None).unwrap_err();
        assert_eq!(errs[0].field, "strategic_floor");
        let errs = NewMaterial::parse("GA", "Gallium", "kg", 2, "-1", None).unwrap_err();
        assert_eq!(errs[0].message, "must not be negative");
        assert!(NewMaterial::parse("GA", "Gallium", "kg", 0, "0", None).is_ok());
    }

    #[test]
    fn figures_follow_the_contract() {
        let f = StockFigures {
            on_hand: 100,
            held: 30,
            strategic_floor: 50,
        };
        assert_eq!(f.available(), 70);
        assert_eq!(f.releasable(), 20);
        let short = StockFigures {
            strategic_floor: 90,
            ..f
        };
        assert_eq!(short.releasable(), 0);
    }
}
