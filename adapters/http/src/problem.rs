//! Error answers in the contract's shape: `{"detail": "..."}` and FastAPI's 422 body, as
//! one [`ApiError`] type, which handlers return as a [`Refused`] naming the statuses the
//! OpenAPI document lists for their operation.

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

/// The refusals an operation can answer with, as bits of a set its handler's error type
/// names (`ApiResult<T, { BEARER | INVALID }>`), so each operation documents only the
/// statuses it can return. 5xx other than 503 (a bug) and transport-level refusals (408,
/// 413, 414, 431) are answered by every operation and documented nowhere, as before.
pub mod refusals {
    /// 400: the operation's rule refused it.
    pub const BAD_REQUEST: u32 = 1;
    /// 401: no bearer token (or an invalid refresh token).
    pub const UNAUTHORIZED: u32 = 1 << 1;
    /// 403: token invalid or session ended, or not enough privileges.
    pub const FORBIDDEN: u32 = 1 << 2;
    /// 404: not found.
    pub const NOT_FOUND: u32 = 1 << 3;
    /// 409: conflict.
    pub const CONFLICT: u32 = 1 << 4;
    /// 422: the request's JSON, path, query or fields do not validate.
    pub const INVALID: u32 = 1 << 5;
    /// 429: throttled.
    pub const THROTTLED: u32 = 1 << 6;
    /// 503: the database (or another dependency) is unavailable.
    pub const UNAVAILABLE: u32 = 1 << 7;
    /// What the bearer check answers (CONTRACT.md §3.1): no token 401, invalid token or
    /// ended session 403, a deleted user 404, a deactivated one 400, and 503 when the
    /// session store cannot be read.
    pub const BEARER: u32 = BAD_REQUEST | UNAUTHORIZED | FORBIDDEN | NOT_FOUND | UNAVAILABLE;
}

/// The `{"detail"}` statuses, with their bit in [`refusals`] and their description.
const DOCUMENTED: &[(u32, u16, &str)] = &[
    (
        refusals::BAD_REQUEST,
        400,
        "Bad request: the operation's rule refused it (see the detail text)",
    ),
    (
        refusals::UNAUTHORIZED,
        401,
        "Not authenticated: no bearer token",
    ),
    (
        refusals::FORBIDDEN,
        403,
        "Token invalid or session ended, or not enough privileges",
    ),
    (refusals::NOT_FOUND, 404, "Not found"),
    (refusals::CONFLICT, 409, "Conflict"),
    (
        refusals::THROTTLED,
        429,
        "Too many attempts; see Retry-After",
    ),
    (
        refusals::UNAVAILABLE,
        503,
        "Service temporarily unavailable; see Retry-After",
    ),
];

/// A handler's error: an [`ApiError`] documented as one of the refusals in `R` (a set of
/// [`refusals`] bits). Any error the contract maps converts into it with `?`.
pub struct Refused<const R: u32>(ApiError);

impl<const R: u32, E: Into<ApiError>> From<E> for Refused<R> {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl<const R: u32> IntoResponse for Refused<R> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<const R: u32> From<Refused<R>> for poem::Error {
    fn from(e: Refused<R>) -> Self {
        e.0.into()
    }
}

impl<const R: u32> ApiResponse for Refused<R> {
    fn meta() -> MetaResponses {
        let detail = || {
            vec![MetaMediaType {
                content_type: "application/json",
                schema: Detail::schema_ref(),
            }]
        };
        let mut responses = Vec::new();
        if R & refusals::INVALID != 0 {
            responses.push(MetaResponse {
                description: "Validation Error",
                status: Some(422),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json",
                    schema: HttpValidationError::schema_ref(),
                }],
                headers: vec![],
            });
        }
        responses.extend(DOCUMENTED.iter().filter(|(bit, _, _)| R & bit != 0).map(
            |&(_, status, description)| MetaResponse {
                description,
                status: Some(status),
                status_range: None,
                content: detail(),
                headers: vec![],
            },
        ));
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        Detail::register(registry);
        HttpValidationError::register(registry);
    }
}

/// What handlers return: `T`, or one of the refusals in `R`.
pub type ApiResult<T, const R: u32> = Result<T, Refused<R>>;
