//! The JSON request body: content-type rules and decoding, nothing else (CONTRACT.md §2.3).

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, Registry},
    types::Type,
};
use serde_json::{Value, json};

use crate::{problem::ApiError, validation::error};

/// A request body as the validators see it.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body bytes at all.
    Missing,
    /// A body sent without a JSON content type, kept as text for the 422's `input`.
    NotJson(String),
    /// A decoded JSON document (duplicate keys: the last one wins).
    Json(Value),
}

/// A JSON body documented with schema `T`, as required unless `REQUIRED` is false (a body
/// the route accepts to be absent); decoded to a [`Body`] for the handler.
pub struct JsonBody<T, const REQUIRED: bool = true> {
    pub body: Body,
    schema: PhantomData<fn() -> T>,
}

/// Whether a content type is JSON: `application/json` or `application/*+json`.
pub fn is_json(content_type: &str) -> bool {
    content_type.parse::<mime::Mime>().is_ok_and(|m| {
        m.type_() == mime::APPLICATION
            && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
    })
}

/// Reads and classifies the body.
///
/// # Errors
/// A 422 `json_invalid` for a JSON content type whose body does not decode; 413 and read
/// failures come from the body limiter.
pub async fn read_body(request: &Request, body: &mut RequestBody) -> poem::Result<Body> {
    let bytes = body.take()?.into_bytes().await?;
    if bytes.is_empty() {
        return Ok(Body::Missing);
    }
    match request.content_type() {
        Some(ct) if is_json(ct) => serde_json::from_slice(&bytes)
            .map(Body::Json)
            .map_err(|e| json_invalid(&bytes, &e).into()),
        _ => Ok(Body::NotJson(String::from_utf8_lossy(&bytes).into_owned())),
    }
}

/// FastAPI's answer to undecodable JSON: `loc ["body", <character offset>]`, the offset
/// Python's `json` module reports ([`python_offset`] for input that ends too early).
fn json_invalid(bytes: &[u8], e: &serde_json::Error) -> ApiError {
    let text = String::from_utf8_lossy(bytes);
    let (offset, reason) = match e.classify() {
        serde_json::error::Category::Eof => (python_offset(&text), "Expecting value"),
        _ => {
            let offset = text
                .split_inclusive('\n')
                .take(e.line().saturating_sub(1))
                .map(|l| l.chars().count())
                .sum::<usize>()
                + e.column().saturating_sub(1);
            (offset, "Invalid JSON")
        }
    };
    ApiError::unprocessable(vec![error(
        "json_invalid",
        &[json!("body"), json!(offset)],
        "JSON decode error",
        json!({}),
        Some(json!({ "error": reason })),
    )])
}

/// Where Python's `json` module reports a document that ends too early, in characters:
/// at an unterminated string's opening quote; at the start of a trailing literal that is
/// incomplete (`tru`, `-`), or just past the longest number a trailing token begins with
/// (`1.`); else at the end of the input, where it expected more.
fn python_offset(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut string_start, mut escaped) = (None, false);
    for (i, &c) in chars.iter().enumerate() {
        match string_start {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(_) if c == '"' => string_start = None,
            None if c == '"' => string_start = Some(i),
            _ => {}
        }
    }
    if let Some(start) = string_start {
        return start;
    }
    let token_start = chars
        .iter()
        .rposition(|c| c.is_whitespace() || "{}[]:,\"".contains(*c))
        .map_or(0, |i| i + 1);
    let token: String = chars[token_start..].iter().collect();
    if token.is_empty() || ["true", "false", "null"].contains(&token.as_str()) {
        return chars.len();
    }
    match number_prefix(&token) {
        0 => token_start,
        n if n == token.len() => chars.len(),
        n => token_start + n,
    }
}

/// Length in bytes of the longest JSON number at the start of `token` (Python's
/// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`), 0 when there is none.
fn number_prefix(token: &str) -> usize {
    let bytes = token.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut at = usize::from(bytes.first() == Some(&b'-'));
    match bytes.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at += digits(at),
        _ => return 0,
    }
    if bytes.get(at) == Some(&b'.') && digits(at + 1) > 0 {
        at += 1 + digits(at + 1);
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(at + 1), Some(b'+' | b'-')));
        if digits(at + 1 + sign) > 0 {
            at += 1 + sign + digits(at + 1 + sign);
        }
    }
    at
}

impl<'a, T: Type, const REQUIRED: bool> ApiExtractor<'a> for JsonBody<T, REQUIRED> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: REQUIRED,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self {
            body: read_body(request, body).await?,
            schema: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case with the offset CPython 3.12's `json.loads` reports in `JSONDecodeError.pos`.
    #[test]
    fn a_document_that_ends_too_early_is_located_as_python_locates_it() {
        for (text, python) in [
            (r#"{"email":"#, 9),
            (r#"{"email": "#, 10),
            ("{", 1),
            (r#"{"email""#, 8),
            (r#"{"email": "x""#, 13),
            ("[1,", 3),
            (r#"{"email":"ab"#, 9),
            (r#"{"a":"x\"#, 5),
            (r#"{"a": tru"#, 6),
            (r#"{"a": -"#, 6),
            (r#"{"a": 1."#, 7),
            (r#"{"a": 12"#, 8),
            (r#"{"a": 1e"#, 7),
            (r#"{"a": true"#, 10),
            ("{\"é\":", 5),
        ] {
            let error = serde_json::from_str::<Value>(text).unwrap_err();
            assert!(error.is_eof(), "{text}: {error}");
            assert_eq!(python_offset(text), python, "{text}");
        }
    }
}
