//! The bearer check as an OpenAPI security scheme named `OAuth2PasswordBearer` (password
//! flow, CONTRACT.md §7), with the contract's answers instead of poem's bare 401
//! (SECURITY.md TOK-11, TOK-12).

use std::{borrow::Cow, sync::Arc};

use gatehouse_application::{Gatehouse, Principal};
use poem::{Request, RequestBody, http::header};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaOAuthFlow, MetaOAuthFlows, MetaSecurityScheme, Registry},
};

use crate::{errors, problem::ApiError};

/// The scheme's name in the OpenAPI document; the generated client keys on it.
pub const SCHEME: &str = "OAuth2PasswordBearer";

/// An authenticated caller (routes marked "user" or "super").
pub struct Auth(pub Principal);

/// A caller who may or may not send a bearer token (`/auth/logout`); a header that is
/// present must still be valid.
pub struct OptionalAuth(pub Option<Principal>);

/// The token of an `Authorization: Bearer <token>` header, split at the first space with
/// the scheme compared case-insensitively, as FastAPI does. `Ok(None)`: no header. Bytes
/// outside ASCII stay part of the token (Starlette reads headers as Latin-1), so such a
/// token fails verification with 403 instead of counting as no credentials.
///
/// # Errors
/// 401 `Not authenticated` for another scheme.
fn bearer_token(request: &Request) -> Result<Option<Cow<'_, str>>, ApiError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.as_bytes();
    let (scheme, token) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &value[value.len()..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(errors::not_authenticated());
    }
    Ok(Some(String::from_utf8_lossy(token)))
}

/// Authenticates the request's bearer token, if any.
async fn principal(request: &Request) -> poem::Result<Option<Principal>> {
    let Some(token) = bearer_token(request)? else {
        return Ok(None);
    };
    let app = request
        .data::<Arc<Gatehouse>>()
        .ok_or_else(ApiError::internal)?;
    let principal = app.authenticate(&token).await.map_err(ApiError::from)?;
    // Every later line of this request, audit events included, names who acted (RL-06).
    tracing::Span::current().record("principal", principal.user.id.to_string());
    Ok(Some(principal))
}

fn register_scheme(registry: &mut Registry) {
    registry.create_security_scheme(
        SCHEME,
        MetaSecurityScheme {
            ty: "oauth2",
            description: None,
            name: None,
            key_in: None,
            scheme: None,
            bearer_format: None,
            flows: Some(MetaOAuthFlows {
                implicit: None,
                password: Some(MetaOAuthFlow {
                    authorization_url: None,
                    token_url: Some("/api/v1/login/access-token"),
                    refresh_url: None,
                    scopes: vec![],
                }),
                client_credentials: None,
                authorization_code: None,
            }),
            openid_connect_url: None,
        },
    );
}

/// The OpenAPI side of both extractors: the `OAuth2PasswordBearer` scheme, optional or not.
macro_rules! bearer_extractor {
    ($ty:ty, optional = $optional:expr, |$request:ident| $extract:expr) => {
        impl<'a> ApiExtractor<'a> for $ty {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                register_scheme(registry);
            }

            fn security_schemes() -> Vec<&'static str> {
                vec![SCHEME]
            }

            fn has_security_fallback() -> bool {
                $optional
            }

            async fn from_request(
                $request: &'a Request,
                _: &mut RequestBody,
                _: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                $extract
            }
        }
    };
}

bearer_extractor!(Auth, optional = false, |request| {
    principal(request)
        .await?
        .map(Self)
        .ok_or_else(|| errors::not_authenticated().into())
});

bearer_extractor!(OptionalAuth, optional = true, |request| {
    principal(request).await.map(Self)
});
