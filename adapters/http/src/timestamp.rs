//! `created_at`-style datetimes as the contract writes them: UTC, RFC 3339, six fractional
//! digits, `Z` (CONTRACT.md §5.2).

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;
use time::{
    OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description,
};

/// A point in time rendered as `2026-11-25T15:31:41.505517Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    /// The contract's rendering.
    pub fn render(&self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        self.0
            .to_offset(UtcOffset::UTC)
            .format(&format)
            .unwrap_or_default()
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(Self(OffsetDateTime::parse(&s, &Rfc3339)?)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.render()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn always_six_fractional_digits_in_utc() {
        assert_eq!(
            Timestamp(datetime!(2026-11-25 15:31:41.505517123 UTC)).render(),
            "2026-11-25T15:31:41.505517Z"
        );
        assert_eq!(
            Timestamp(datetime!(2026-11-25 16:31:41 +01:00)).render(),
            "2026-11-25T15:31:41.000000Z"
        );
    }
}
