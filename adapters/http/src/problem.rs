//! Error answers in the contract's shape: `{"detail": "..."}` and FastAPI's 422 body, as
//! one [`ApiError`] type that handlers return and the OpenAPI document describes.

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};
use serde_json::{Map, Value, json};

/// `{"detail": "..."}` — the body of every non-422 error.
#[derive(Object, Debug, Clone)]
#[oai(rename = "HTTPError")]
pub struct Detail {
    pub detail: String,
}

/// One validation problem, as pydantic reports it (CONTRACT.md §6).
#[derive(Object, Debug, Clone)]
#[oai(rename = "ValidationError")]
pub struct ValidationErrorSchema {
    /// Where: `["body", "email"]`, `["query", "skip"]`, `["path", "id"]`.
    pub loc: Vec<Value>,
    pub msg: String,
    #[oai(rename = "type")]
    pub ty: String,
    pub input: Option<Value>,
    pub ctx: Option<Value>,
}

/// The 422 body: every validation problem of the request.
#[derive(Object, Debug, Clone)]
#[oai(rename = "HTTPValidationError")]
pub struct HttpValidationError {
    pub detail: Vec<ValidationErrorSchema>,
}

/// Any error answer. Built only here and in `errors.rs`, so statuses and texts stay
/// readable in one place.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// `status` with `{"detail": detail}`.
    pub fn detail(status: StatusCode, detail: &str) -> Self {
        Self {
            status,
            body: json!({ "detail": detail }),
            headers: Vec::new(),
        }
    }

    /// 422 with the given pydantic-style errors (already in order).
    pub fn unprocessable(errors: Vec<Value>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: Value::Object(Map::from_iter([(
                "detail".to_owned(),
                Value::Array(errors),
            )])),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The framework errors' answer: the reason phrase as `detail` (CONTRACT.md §2.2).
    pub fn reason(status: StatusCode) -> Self {
        let phrase = match status {
            // RFC 9110's name; the `http` crate still says "Payload Too Large".
            StatusCode::PAYLOAD_TOO_LARGE => "Content Too Large",
            other => other.canonical_reason().unwrap_or("Error"),
        };
        Self::detail(status, phrase)
    }

    /// 503 with `Retry-After`: a dependency is down or saturated; retrying soon may work.
    pub fn unavailable() -> Self {
        Self::reason(StatusCode::SERVICE_UNAVAILABLE).with_header("retry-after", "1")
    }

    /// The fixed 500 answer; the cause is logged by whoever builds it, never sent.
    pub fn internal() -> Self {
        Self::reason(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(self.body.to_string());
        for (name, value) in self.headers {
            if let Ok(value) = value.parse() {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl From<ApiError> for poem::Error {
    fn from(e: ApiError) -> Self {
        poem::Error::from_response(e.into_response())
    }
}

/// The statuses every operation may answer with, described once for the OpenAPI document.
const DOCUMENTED: &[(u16, &str)] = &[
    (
        400,
        "Bad request: the operation's rule refused it (see the detail text)",
    ),
    (401, "Not authenticated: no bearer token"),
    (
        403,
        "Token invalid or session ended, or not enough privileges",
    ),
    (404, "Not found"),
    (409, "Conflict"),
    (429, "Too many attempts; see Retry-After"),
    (503, "Service temporarily unavailable; see Retry-After"),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let detail = || {
            vec![MetaMediaType {
                content_type: "application/json",
                schema: Detail::schema_ref(),
            }]
        };
        let mut responses: Vec<MetaResponse> = vec![MetaResponse {
            description: "Validation Error",
            status: Some(422),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: HttpValidationError::schema_ref(),
            }],
            headers: vec![],
        }];
        responses.extend(
            DOCUMENTED
                .iter()
                .map(|&(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: detail(),
                    headers: vec![],
                }),
        );
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        Detail::register(registry);
        HttpValidationError::register(registry);
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;
