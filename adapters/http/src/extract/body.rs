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

/// A JSON body documented with schema `T`; decoded to a [`Body`] for the handler.
pub struct JsonBody<T> {
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

/// FastAPI's answer to undecodable JSON: `loc ["body", <character offset>]`.
fn json_invalid(bytes: &[u8], e: &serde_json::Error) -> ApiError {
    let text = String::from_utf8_lossy(bytes);
    let offset: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.chars().count())
        .sum::<usize>()
        + e.column().saturating_sub(1);
    let reason = match e.classify() {
        serde_json::error::Category::Eof => "Expecting value",
        _ => "Invalid JSON",
    };
    ApiError::unprocessable(vec![error(
        "json_invalid",
        &[json!("body"), json!(offset)],
        "JSON decode error",
        json!({}),
        Some(json!({ "error": reason })),
    )])
}

impl<'a, T: Type> ApiExtractor<'a> for JsonBody<T> {
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
            required: true,
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
