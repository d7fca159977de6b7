//! FastAPI/pydantic-compatible validation: turning raw path, query and JSON input into
//! domain values, collecting every problem of a request in the contract's order
//! (path, query, then body fields in schema order; CONTRACT.md §2.4 step 4, §6).

use gatehouse_domain::{Email, Page, Password, PasswordError, TextError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{extract::Body, problem::ApiError};

/// The problems found so far in one part of a request.
pub type Errors = Vec<Value>;

/// One pydantic error object, keys in the contract's order: type, loc, msg, input, ctx.
pub fn error(
    ty: &str,
    loc: &[Value],
    msg: impl Into<String>,
    input: Value,
    ctx: Option<Value>,
) -> Value {
    let mut e = Map::new();
    e.insert("type".into(), ty.into());
    e.insert("loc".into(), Value::Array(loc.to_vec()));
    e.insert("msg".into(), Value::String(msg.into()));
    e.insert("input".into(), input);
    if let Some(ctx) = ctx {
        e.insert("ctx".into(), ctx);
    }
    Value::Object(e)
}

/// `missing`: a required field, parameter or body is absent.
pub fn missing(loc: &[Value], input: Value) -> Value {
    error("missing", loc, "Field required", input, None)
}

/// Combines the results of validating the parts of a request: all values, or every error.
pub trait Collect {
    type Output;

    /// # Errors
    /// A 422 [`ApiError`] listing the errors of every part, in order.
    fn collect(self) -> Result<Self::Output, ApiError>;
}

macro_rules! collect_tuple {
    ($($name:ident),+) => {
        impl<$($name),+> Collect for ($(Result<$name, Errors>,)+) {
            type Output = ($($name,)+);

            #[allow(non_snake_case)]
            fn collect(self) -> Result<Self::Output, ApiError> {
                let ($($name,)+) = self;
                match ($($name,)+) {
                    ($(Ok($name),)+) => Ok(($($name,)+)),
                    ($($name,)+) => {
                        let mut all = Vec::new();
                        $(if let Err(e) = $name { all.extend(e); })+
                        Err(ApiError::unprocessable(all))
                    }
                }
            }
        }
    };
}

collect_tuple!(A);
collect_tuple!(A, B);
collect_tuple!(A, B, C);

/// Parses a path UUID (`loc ["path", name]`).
///
/// # Errors
/// `uuid_parsing` with pydantic's message (1-based character positions).
pub fn path_uuid(name: &str, raw: &str) -> Result<Uuid, Errors> {
    Uuid::parse_str(raw).map_err(|e| {
        let reason = match raw
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_hexdigit() && *c != '-')
        {
            Some((i, c)) => format!("invalid character: found `{c}` at {}", i + 1),
            None => e.to_string(),
        };
        vec![error(
            "uuid_parsing",
            &[json!("path"), json!(name)],
            format!("Input should be a valid UUID, {reason}"),
            json!(raw),
            Some(json!({ "error": reason })),
        )]
    })
}

/// Parses an integer query parameter with a default and inclusive bounds.
///
/// # Errors
/// `int_parsing` (not an integer, or beyond 64 bits), `greater_than_equal`,
/// `less_than_equal`.
pub fn query_int(
    name: &str,
    raw: Option<&str>,
    default: u64,
    max: Option<u64>,
) -> Result<u64, Errors> {
    let Some(raw) = raw else { return Ok(default) };
    let loc = [json!("query"), json!(name)];
    let Ok(value) = raw.trim().parse::<i64>() else {
        return Err(vec![error(
            "int_parsing",
            &loc,
            "Input should be a valid integer, unable to parse string as an integer",
            json!(raw),
            None,
        )]);
    };
    if value < 0 {
        return Err(vec![error(
            "greater_than_equal",
            &loc,
            "Input should be greater than or equal to 0",
            json!(raw),
            Some(json!({ "ge": 0 })),
        )]);
    }
    let value = value.unsigned_abs();
    match max {
        Some(max) if value > max => Err(vec![error(
            "less_than_equal",
            &loc,
            format!("Input should be less than or equal to {max}"),
            json!(raw),
            Some(json!({ "le": max })),
        )]),
        _ => Ok(value),
    }
}

/// `skip` and `limit` together (SECURITY.md D7).
///
/// # Errors
/// As [`query_int`], for either or both.
pub fn page(skip: Option<&str>, limit: Option<&str>) -> Result<Page, Errors> {
    let skip = query_int("skip", skip, 0, None);
    let limit = query_int("limit", limit, Page::DEFAULT_LIMIT, Some(Page::MAX_LIMIT));
    match (skip, limit) {
        (Ok(skip), Ok(limit)) => Page::new(skip, limit).ok_or_else(Vec::new),
        (skip, limit) => Err(skip
            .err()
            .into_iter()
            .chain(limit.err())
            .flatten()
            .collect()),
    }
}

/// Parses an email address (`value_error` with email-validator's reason).
fn email_error(loc: &[Value], input: &str, reason: &str) -> Value {
    error(
        "value_error",
        loc,
        format!("value is not a valid email address: {reason}"),
        json!(input),
        Some(json!({ "reason": reason })),
    )
}

/// Parses a required email query parameter.
///
/// # Errors
/// `missing` when absent, `value_error` when invalid.
pub fn query_email(name: &str, raw: Option<&str>) -> Result<Email, Errors> {
    let loc = [json!("query"), json!(name)];
    let raw = raw.ok_or_else(|| vec![missing(&loc, Value::Null)])?;
    Email::parse(raw).map_err(|e| vec![email_error(&loc, raw, e.reason())])
}

/// Parses an enum query parameter given its allowed spellings.
///
/// # Errors
/// `enum` with pydantic's "Input should be 'a', 'b' or 'c'" message.
pub fn query_enum<T: Copy>(
    name: &str,
    raw: Option<&str>,
    default: T,
    allowed: &[(&str, T)],
) -> Result<T, Errors> {
    let Some(raw) = raw else { return Ok(default) };
    if let Some((_, value)) = allowed.iter().find(|(spelling, _)| *spelling == raw) {
        return Ok(*value);
    }
    let quoted: Vec<String> = allowed.iter().map(|(s, _)| format!("'{s}'")).collect();
    let expected = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(vec![error(
        "enum",
        &[json!("query"), json!(name)],
        format!("Input should be {expected}"),
        json!(raw),
        Some(json!({ "expected": expected })),
    )])
}

/// Validates the request body as a JSON object and hands its fields to `parse`.
///
/// # Errors
/// `missing` (no body), `model_attributes_type` (not JSON or not an object), or the
/// field errors `parse` recorded.
pub fn body_object<T>(
    body: &Body,
    parse: impl FnOnce(&mut Fields<'_>) -> Option<T>,
) -> Result<T, Errors> {
    let loc = [json!("body")];
    let object = match body {
        Body::Missing => return Err(vec![missing(&loc, Value::Null)]),
        Body::NotJson(raw) => return Err(vec![not_an_object(json!(raw))]),
        Body::Json(Value::Object(map)) => map,
        Body::Json(other) => return Err(vec![not_an_object(other.clone())]),
    };
    let mut fields = Fields {
        object,
        errors: Vec::new(),
    };
    match parse(&mut fields) {
        Some(value) if fields.errors.is_empty() => Ok(value),
        _ => Err(fields.errors),
    }
}

fn not_an_object(input: Value) -> Value {
    error(
        "model_attributes_type",
        &[json!("body")],
        "Input should be a valid dictionary or object to extract fields from",
        input,
        None,
    )
}

/// The fields of one JSON object body; each accessor records its problems and answers
/// `None` on failure, so a parser reads every field before combining them.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: Errors,
}

/// What a field held: the three states PATCH semantics need (CONTRACT.md §5.3).
enum Slot<'a> {
    Absent,
    Null,
    Present(&'a Value),
}

impl<'a> Fields<'a> {
    fn loc(name: &str) -> [Value; 2] {
        [json!("body"), json!(name)]
    }

    fn slot(&self, name: &str) -> Slot<'a> {
        match self.object.get(name) {
            None => Slot::Absent,
            Some(Value::Null) => Slot::Null,
            Some(v) => Slot::Present(v),
        }
    }

    fn record(&mut self, e: Value) {
        self.errors.push(e);
    }

    fn missing(&mut self, name: &str) {
        let whole = Value::Object(self.object.clone());
        self.record(missing(&Self::loc(name), whole));
    }

    /// A present value that must be a JSON string.
    fn as_str<'v>(&mut self, name: &str, value: &'v Value) -> Option<&'v str> {
        let s = value.as_str();
        if s.is_none() {
            self.record(error(
                "string_type",
                &Self::loc(name),
                "Input should be a valid string",
                value.clone(),
                None,
            ));
        }
        s
    }

    /// A required value of any kind; `null` counts as a wrong type, reported by `parse`.
    fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&mut Self, &Value) -> Option<T>,
    ) -> Option<T> {
        match self.object.get(name) {
            None => {
                self.missing(name);
                None
            }
            Some(v) => parse(self, v),
        }
    }

    /// A value that may be absent (left unchanged) but not `null` (§9a).
    fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&mut Self, &Value) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.object.get(name) {
            None => Some(None),
            Some(v) => parse(self, v).map(Some),
        }
    }

    /// A bounded text value through its domain constructor.
    fn text_value<T>(
        &mut self,
        name: &str,
        value: &Value,
        make: fn(String) -> Result<T, TextError>,
    ) -> Option<T> {
        let s = self.as_str(name, value)?;
        make(s.to_owned())
            .map_err(|e| self.record(text_error(&Self::loc(name), s, e)))
            .ok()
    }

    fn email_value(&mut self, name: &str, value: &Value) -> Option<Email> {
        let s = self.as_str(name, value)?;
        Email::parse(s)
            .map_err(|e| self.record(email_error(&Self::loc(name), s, e.reason())))
            .ok()
    }

    fn password_value(&mut self, name: &str, value: &Value) -> Option<Password> {
        let s = self.as_str(name, value)?;
        Password::new(s)
            .map_err(|e| self.record(password_error(&Self::loc(name), s, e)))
            .ok()
    }

    fn bool_value(&mut self, name: &str, value: &Value) -> Option<bool> {
        lax_bool(value)
            .map_err(|e| self.record(e.into_error(&Self::loc(name), value)))
            .ok()
    }

    /// A required email address.
    pub fn email(&mut self, name: &str) -> Option<Email> {
        self.required(name, |f, v| f.email_value(name, v))
    }

    /// An optional, non-nullable email address.
    pub fn optional_email(&mut self, name: &str) -> Option<Option<Email>> {
        self.optional(name, |f, v| f.email_value(name, v))
    }

    /// A required password (8–128 characters).
    pub fn password(&mut self, name: &str) -> Option<Password> {
        self.required(name, |f, v| f.password_value(name, v))
    }

    /// An optional, non-nullable password.
    pub fn optional_password(&mut self, name: &str) -> Option<Option<Password>> {
        self.optional(name, |f, v| f.password_value(name, v))
    }

    /// A required string with no rule but NUL-freedom left to the caller (private route,
    /// reset token).
    pub fn string(&mut self, name: &str) -> Option<String> {
        self.required(name, |f, v| f.as_str(name, v).map(str::to_owned))
    }

    /// A string with no rule that may be absent or null, both meaning none (`/auth/logout`'s
    /// refresh token, documented as nullable).
    pub fn string_or_null(&mut self, name: &str) -> Option<Option<String>> {
        match self.slot(name) {
            Slot::Absent | Slot::Null => Some(None),
            Slot::Present(v) => self.as_str(name, v).map(|s| Some(s.to_owned())),
        }
    }

    /// A required bounded text.
    pub fn text<T>(&mut self, name: &str, make: fn(String) -> Result<T, TextError>) -> Option<T> {
        self.required(name, |f, v| f.text_value(name, v, make))
    }

    /// An optional, non-nullable bounded text.
    pub fn optional_text<T>(
        &mut self,
        name: &str,
        make: fn(String) -> Result<T, TextError>,
    ) -> Option<Option<T>> {
        self.optional(name, |f, v| f.text_value(name, v, make))
    }

    /// A nullable bounded text with PATCH semantics: `None` absent, `Some(None)` null.
    pub fn nullable_text<T>(
        &mut self,
        name: &str,
        make: fn(String) -> Result<T, TextError>,
    ) -> Option<Option<Option<T>>> {
        match self.slot(name) {
            Slot::Absent => Some(None),
            Slot::Null => Some(Some(None)),
            Slot::Present(v) => self.text_value(name, v, make).map(|t| Some(Some(t))),
        }
    }

    /// A nullable bounded text on a create: absent and null both mean none.
    pub fn text_or_null<T>(
        &mut self,
        name: &str,
        make: fn(String) -> Result<T, TextError>,
    ) -> Option<Option<T>> {
        self.nullable_text(name, make).map(Option::flatten)
    }

    /// A lax boolean with a default when absent.
    pub fn bool_or(&mut self, name: &str, default: bool) -> Option<bool> {
        self.optional(name, |f, v| f.bool_value(name, v))
            .map(|b| b.unwrap_or(default))
    }

    /// An optional, non-nullable lax boolean.
    pub fn optional_bool(&mut self, name: &str) -> Option<Option<bool>> {
        self.optional(name, |f, v| f.bool_value(name, v))
    }
}

/// Maps a domain text rule to pydantic's error.
pub fn text_error(loc: &[Value], input: &str, e: TextError) -> Value {
    match e {
        TextError::TooShort { min } => too_short(loc, input, min),
        TextError::TooLong { max } => too_long(loc, input, max),
        TextError::ContainsNul => error(
            "value_error",
            loc,
            "Value error, String should not contain NUL characters",
            json!(input),
            Some(json!({ "error": "String should not contain NUL characters" })),
        ),
    }
}

/// Maps the password length rule to pydantic's error.
pub fn password_error(loc: &[Value], input: &str, e: PasswordError) -> Value {
    match e {
        PasswordError::TooShort { min } => too_short(loc, input, min),
        PasswordError::TooLong { max } => too_long(loc, input, max),
    }
}

/// pydantic's `string_too_short` for a text under `min` characters.
fn too_short(loc: &[Value], input: &str, min: usize) -> Value {
    length_error(
        loc,
        input,
        "string_too_short",
        "at least",
        "min_length",
        min,
    )
}

/// pydantic's `string_too_long` for a text over `max` characters.
fn too_long(loc: &[Value], input: &str, max: usize) -> Value {
    length_error(loc, input, "string_too_long", "at most", "max_length", max)
}

fn length_error(loc: &[Value], input: &str, ty: &str, bound: &str, key: &str, n: usize) -> Value {
    let unit = if n == 1 { "character" } else { "characters" };
    error(
        ty,
        loc,
        format!("String should have {bound} {n} {unit}"),
        json!(input),
        Some(json!({ key: n })),
    )
}

/// Why a value is not a lax boolean.
pub enum BoolError {
    /// `null`, an array or an object.
    Type,
    /// A string or number that is not one of the accepted spellings.
    Parsing,
}

impl BoolError {
    fn into_error(self, loc: &[Value], input: &Value) -> Value {
        match self {
            Self::Type => error(
                "bool_type",
                loc,
                "Input should be a valid boolean",
                input.clone(),
                None,
            ),
            Self::Parsing => error(
                "bool_parsing",
                loc,
                "Input should be a valid boolean, unable to interpret input",
                input.clone(),
                None,
            ),
        }
    }
}

/// pydantic's lax boolean (CONTRACT.md §2.3).
///
/// # Errors
/// [`BoolError`].
pub fn lax_bool(value: &Value) -> Result<bool, BoolError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Ok(false),
            Some(1.0) => Ok(true),
            _ => Err(BoolError::Parsing),
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
            _ => Err(BoolError::Parsing),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => Err(BoolError::Type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_errors_use_one_based_positions_like_pydantic() {
        let e = path_uuid("user_id", "not-a-uuid").unwrap_err();
        assert_eq!(
            e[0],
            json!({"type":"uuid_parsing","loc":["path","user_id"],"msg":"Input should be a valid UUID, invalid character: found `n` at 1","input":"not-a-uuid","ctx":{"error":"invalid character: found `n` at 1"}})
        );
        let short = path_uuid("id", "abc").unwrap_err();
        assert!(
            short[0]["msg"]
                .as_str()
                .unwrap()
                .starts_with("Input should be a valid UUID, ")
        );
    }

    #[test]
    fn paging_bounds_and_parsing() {
        assert_eq!(page(None, None).unwrap(), Page::default());
        let e = page(Some("-1"), Some("1001")).unwrap_err();
        assert_eq!(e[0]["type"], "greater_than_equal");
        assert_eq!(e[0]["ctx"], json!({"ge": 0}));
        assert_eq!(e[1]["type"], "less_than_equal");
        assert_eq!(e[1]["msg"], "Input should be less than or equal to 1000");
        for bad in ["abc", "99999999999999999999", "1e3", "9223372036854775808"] {
            assert_eq!(
                page(Some(bad), None).unwrap_err()[0]["type"],
                "int_parsing",
                "{bad}"
            );
        }
        assert_eq!(page(Some("10000000"), Some("0")).unwrap().limit(), 0);
    }

    #[test]
    fn lax_booleans() {
        for t in [
            json!(true),
            json!(1),
            json!(1.0),
            json!("YES"),
            json!("on"),
            json!("t"),
        ] {
            assert!(lax_bool(&t).ok().unwrap(), "{t}");
        }
        for f in [json!(false), json!(0), json!("Off"), json!("n")] {
            assert!(!lax_bool(&f).ok().unwrap(), "{f}");
        }
        assert!(matches!(lax_bool(&json!("maybe")), Err(BoolError::Parsing)));
        assert!(matches!(lax_bool(&json!(2)), Err(BoolError::Parsing)));
        assert!(matches!(lax_bool(&Value::Null), Err(BoolError::Type)));
    }

    #[test]
    fn enum_message_lists_choices_like_pydantic() {
        let e = query_enum(
            "scope",
            Some("all"),
            0,
            &[("local", 0), ("global", 1), ("others", 2)],
        )
        .unwrap_err();
        assert_eq!(e[0]["msg"], "Input should be 'local', 'global' or 'others'");
        assert_eq!(
            e[0]["ctx"],
            json!({"expected": "'local', 'global' or 'others'"})
        );
    }

    #[test]
    fn body_fields_report_every_problem_in_schema_order() {
        let body = Body::Json(json!({"email": 123, "password": "weak"}));
        let errors = body_object(&body, |f| {
            let email = f.email("email");
            let password = f.password("password");
            let name = f.text_or_null("full_name", gatehouse_domain::FullName::new);
            Some((email?, password?, name?))
        })
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0]["type"], "string_type");
        assert_eq!(
            errors[1],
            json!({"type":"string_too_short","loc":["body","password"],"msg":"String should have at least 8 characters","input":"weak","ctx":{"min_length":8}})
        );
    }

    #[test]
    fn missing_field_reports_the_whole_object_as_input() {
        let body = Body::Json(json!({"email": "ivan2@example.com"}));
        let errors = body_object(&body, |f| f.password("password")).unwrap_err();
        assert_eq!(
            errors[0],
            json!({"type":"missing","loc":["body","password"],"msg":"Field required","input":{"email":"ivan2@example.com"}})
        );
    }

    #[test]
    fn null_on_non_nullable_fields_is_a_type_error() {
        let body = Body::Json(json!({"email": null, "is_superuser": null}));
        let errors = body_object(&body, |f| {
            let e = f.optional_email("email");
            let s = f.optional_bool("is_superuser");
            Some((e?, s?))
        })
        .unwrap_err();
        assert_eq!(errors[0]["type"], "string_type");
        assert_eq!(errors[0]["input"], Value::Null);
        assert_eq!(errors[1]["type"], "bool_type");
    }

    #[test]
    fn non_objects_and_missing_bodies() {
        assert_eq!(
            body_object(&Body::Missing, |_| Some(())).unwrap_err()[0]["type"],
            "missing"
        );
        assert_eq!(
            body_object(&Body::Json(json!([])), |_| Some(())).unwrap_err()[0]["type"],
            "model_attributes_type"
        );
        assert_eq!(
            body_object(&Body::NotJson("a=b".into()), |_| Some(())).unwrap_err()[0]["input"],
            "a=b"
        );
    }
}
