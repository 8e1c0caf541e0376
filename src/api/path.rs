//! Path segments that name objects. A segment that cannot name one (an `{id}` that is not a
//! UUID, a `{code}` that is not a code) fails to extract, which the path extractor's error
//! handler answers 404: it could only match nothing, and some bytes (NUL) no database
//! accepts in a query. Handlers take these after their `Auth`/`Command`, so the caller is
//! authenticated first and a refused write is still audited under its name.

use crate::domain::code;
use serde::{de::Error, Deserialize, Deserializer};

/// An `{id}` segment: a UUID in its hyphenated form.
pub struct Id(pub String);

/// A `{code}` or `{material_code}` segment.
pub struct Code(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if crate::domain::values::Id::is_valid(&s) {
            Ok(Id(s))
        } else {
            Err(D::Error::custom("not an id"))
        }
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        code::Code::parse(&s)
            .map(|c| Code(c.into_string()))
            .map_err(D::Error::custom)
    }
}
