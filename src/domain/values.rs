//! The values views carry to the wire, each parsed or built once and serialized to its
//! canonical string: a quantity with its scale, USD cents, per-unit micro-dollars, times and
//! dates. A view field of one of these types cannot be formatted twice, with the wrong scale,
//! or with a scale that silently became 0; its OpenAPI schema is the named format it has
//! always had (`Decimal`, `Timestamp`, `IsoDate`), declared here once.

use super::decimal::{format_fixed, format_wide};
use super::formats;
use super::lot::UNIT_PRICE_SCALE;
use super::money::USD_SCALE;
use super::time;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::Deserialize;

/// Implements `Display` (the canonical string), `Serialize` (as that string) and the OpenAPI
/// schema of a named format for a value type.
macro_rules! wire_string {
    ($ty:ty, $format:ty, $name:literal, |$v:ident, $f:ident| $display:expr) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, $f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $v = self;
                $display
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                <$format as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}
pub(crate) use wire_string;

/// A stored value that is not one of its type's values: storage was changed outside the
/// service, or by a newer version. Reading its row fails (an internal error, logged with the
/// value), rather than defaulting to some other value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored {what} {value:?} is not one of its values")]
pub struct Undecodable {
    pub what: &'static str,
    pub value: String,
}

/// For an enum of a closed set with `ALL` and `as_str`: `Display` and `Serialize` as that
/// string, its named OpenAPI schema, and the conversions a row's text column takes
/// (`#[diesel(deserialize_as = String, serialize_as = String)]`).
macro_rules! closed_set {
    ($ty:ty, $format:ty, $name:literal) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                <$format as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }

        /// Stored records (JSON in a text column) read their values back strictly.
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::try_from(text).map_err(serde::de::Error::custom)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::domain::values::Undecodable;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == value)
                    .ok_or($crate::domain::values::Undecodable { what: $name, value })
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.as_str().to_owned()
            }
        }
    };
}
pub(crate) use closed_set;

/// Declares an enum of a closed set from its variants and their wire strings: `ALL`,
/// `as_str`, `FromStr` (refusing anything else with the list of values), and `closed_set!`.
macro_rules! closed_enum {
    ($(#[$doc:meta])* pub enum $ty:ident: $format:ty, $name:literal {
        $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$vdoc])* $variant,)+
        }

        impl $ty {
            pub const ALL: [$ty; [$($text),+].len()] = [$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
                    format!("must be one of {}", Self::ALL.map(Self::as_str).join(", "))
                })
            }
        }

        $crate::domain::values::closed_set!($ty, $format, $name);
    };
}
pub(crate) use closed_enum;

/// A decimal in a stored record (JSON in a text column), as the value types wrote it:
/// `(minor, scale)` of its canonical string, anything else refused (a stored record reads
/// back strictly, to the same string it was written as).
fn stored_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(i128, u32), D::Error> {
    use serde::de::Error;
    let text = String::deserialize(d)?;
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = format!("{}{frac}", int.trim_start_matches('-'));
    let parsed = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<i128>().ok())
        .flatten()
        .and_then(|minor| Some((minor, u32::try_from(frac.len()).ok()?)))
        .map(|(minor, scale)| (if int.starts_with('-') { -minor } else { minor }, scale))
        .filter(|&(minor, scale)| format_wide(minor, scale) == text);
    parsed.ok_or_else(|| D::Error::custom(format!("stored decimal {text:?} is not canonical")))
}

/// An amount of a material: minor units of `10^-scale` of its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    minor: i128,
    scale: u32,
}

impl Quantity {
    pub fn new(minor: i64, scale: u32) -> Self {
        Self {
            minor: i128::from(minor),
            scale,
        }
    }

    /// A derived total wider than what is stored (a report's sum over days and
    /// manufacturers): never capped or wrapped.
    pub fn wide(minor: i128, scale: u32) -> Self {
        Self { minor, scale }
    }
}

wire_string!(Quantity, formats::Decimal, "Decimal", |q, f| f
    .write_str(&format_wide(q.minor, q.scale)));

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        stored_decimal(d).map(|(minor, scale)| Self::wide(minor, scale))
    }
}

/// A decimal figure that is neither an amount of a material nor money (days of cover, a
/// share): `minor` units of `10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Figure {
    minor: i128,
    scale: u32,
}

impl Figure {
    pub fn new(minor: i128, scale: u32) -> Self {
        Self { minor, scale }
    }

    /// The exact decimal, if it fits one (28 digits).
    pub fn decimal(self) -> Option<Decimal> {
        Decimal::try_from_i128_with_scale(self.minor, self.scale).ok()
    }
}

impl From<Decimal> for Figure {
    fn from(d: Decimal) -> Self {
        Self::new(d.mantissa(), d.scale())
    }
}

wire_string!(Figure, formats::Decimal, "Decimal", |x, f| f
    .write_str(&format_wide(x.minor, x.scale)));

impl<'de> serde::Deserialize<'de> for Figure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        stored_decimal(d).map(|(minor, scale)| Self::new(minor, scale))
    }
}

/// A USD total in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Usd(pub i64);

wire_string!(Usd, formats::Decimal, "Decimal", |u, f| f
    .write_str(&format_fixed(u.0, USD_SCALE)));

impl<'de> serde::Deserialize<'de> for Usd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (minor, scale) = stored_decimal(d)?;
        USD_SCALE
            .checked_sub(scale)
            .and_then(|more| minor.checked_mul(10i128.checked_pow(more)?))
            .and_then(|cents| i64::try_from(cents).ok())
            .map(Usd)
            .ok_or_else(|| serde::de::Error::custom("stored USD amount out of range"))
    }
}

/// A USD price per unit of a material, in micro-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnitPrice(pub i64);

wire_string!(UnitPrice, formats::Decimal, "Decimal", |p, f| f
    .write_str(&format_fixed(p.0, UNIT_PRICE_SCALE)));

/// An identifier the service generated (a v7 UUID, stored as text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub String);

wire_string!(Id, formats::Id, "Id", |id, f| f.write_str(&id.0));

impl Id {
    /// Whether `s` is an id as the service writes them: a UUID in its hyphenated form.
    pub fn is_valid(s: &str) -> bool {
        s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
    }
}

impl From<String> for Id {
    fn from(id: String) -> Self {
        Self(id)
    }
}

/// A yearly rate in units of 10^-9 (`0.0475` is 4.75 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub i64);

wire_string!(Rate, formats::Decimal, "Decimal", |r, f| f
    .write_str(&format_fixed(r.0, super::loan::RATE_SCALE)));

/// A time the service wrote: RFC 3339 in UTC with exactly six fractional digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub NaiveDateTime);

wire_string!(Timestamp, formats::Timestamp, "Timestamp", |t, f| f
    .write_str(&time::format_rfc3339(&t.0)));

/// A date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDate(pub NaiveDate);

wire_string!(IsoDate, formats::IsoDate, "IsoDate", |d, f| f
    .write_str(&time::format_date(&d.0)));

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use utoipa::openapi::{RefOr, Schema};
    use utoipa::{PartialSchema, ToSchema};

    fn wire<T: Serialize>(v: T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn values_serialize_to_their_canonical_strings() {
        assert_eq!(wire(Quantity::new(1_250_500, 3)), "1250.5");
        assert_eq!(wire(Quantity::new(-300, 2)), "-3");
        assert_eq!(wire(Quantity::new(i64::MAX, 0)), "9223372036854775807");
        assert_eq!(
            wire(Quantity::wide(i128::from(i64::MAX) * 10, 1)),
            "9223372036854775807"
        );
        assert_eq!(wire(Figure::new(125, 1)), "12.5");
        assert_eq!(wire(Usd(125_050)), "1250.5");
        assert_eq!(wire(Usd(0)), "0");
        assert_eq!(wire(UnitPrice(52_125_000)), "52.125");
        let t = time::parse_rfc3339("2026-03-01T13:00:00.5+01:00").unwrap();
        assert_eq!(wire(Timestamp(t)), "2026-03-01T12:00:00.500000Z");
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(wire(IsoDate(d)), "2026-03-01");
    }

    #[test]
    fn stored_decimals_read_back_to_the_same_string() {
        fn back<T: Serialize + for<'de> Deserialize<'de>>(text: &str) -> Option<String> {
            let v: T = serde_json::from_value(serde_json::json!(text)).ok()?;
            Some(wire(v).as_str()?.to_owned())
        }
        for text in ["1250.5", "-3", "0", "0.000001", "9223372036854775807"] {
            assert_eq!(back::<Quantity>(text).as_deref(), Some(text));
            assert_eq!(back::<Figure>(text).as_deref(), Some(text));
        }
        assert_eq!(back::<Usd>("1250.5").as_deref(), Some("1250.5"));
        for bad in [
            "1.50", "01", "", ".5", "5.", "1e3", "+1", " 1", "-0", "1.2.3",
        ] {
            assert_eq!(back::<Quantity>(bad), None, "{bad}");
        }
        assert_eq!(back::<Usd>("0.001"), None);
        assert_eq!(back::<Usd>("92233720368547758.08"), None);
        let premium: Figure = Decimal::new(2500, 4).normalize().into();
        assert_eq!(wire(premium), "0.25");
        assert_eq!(premium.decimal(), Some(Decimal::new(25, 2)));
    }

    #[test]
    fn schemas_are_the_named_formats() {
        assert_eq!(Quantity::name(), "Decimal");
        assert_eq!(Usd::name(), "Decimal");
        assert_eq!(Timestamp::name(), "Timestamp");
        assert_eq!(IsoDate::name(), "IsoDate");
        let same = |a: RefOr<Schema>, b: RefOr<Schema>| {
            serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
        };
        assert!(same(Quantity::schema(), formats::Decimal::schema()));
        assert!(same(UnitPrice::schema(), formats::Decimal::schema()));
        assert!(same(Timestamp::schema(), formats::Timestamp::schema()));
    }
}
