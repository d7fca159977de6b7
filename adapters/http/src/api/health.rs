//! Tag `health`: liveness, readiness (CONTRACT.md §9h) and the JWKS document (§10).

use gatehouse_domain::ports::PublicKey;
use poem::http::StatusCode;
use poem_openapi::{OpenApi, payload::Json};
use serde_json::{Value, json};

use super::{ApiTags, App};
use crate::{
    dto::HealthStatus,
    problem::{ApiError, ApiResult, refusals::*},
};

/// `/health/*` and `/.well-known/jwks.json`.
#[derive(Clone, Copy)]
pub struct HealthApi;

fn ok() -> Json<HealthStatus> {
    Json(HealthStatus {
        status: "ok".to_owned(),
    })
}

/// A JWK for an Ed25519 verification key (RFC 8037); public parts only (TOK-08). The JWKS
/// document is this adapter's alone: the tokens adapter hands over raw keys and ids.
fn jwk(key: &PublicKey) -> Value {
    use base64::Engine as _;
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.ed25519),
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

#[OpenApi]
impl HealthApi {
    /// Liveness
    ///
    /// 200 while the process serves requests.
    #[oai(
        path = "/health/live",
        method = "get",
        operation_id = "health-live",
        tag = "ApiTags::Health"
    )]
    async fn live(&self) -> Json<HealthStatus> {
        ok()
    }

    /// Readiness
    ///
    /// 200 when the database answers and its schema is current, else 503.
    #[oai(
        path = "/health/ready",
        method = "get",
        operation_id = "health-ready",
        tag = "ApiTags::Health"
    )]
    async fn ready(&self, app: App<'_>) -> ApiResult<Json<HealthStatus>, { UNAVAILABLE }> {
        match app.ports().readiness.check().await {
            Ok(()) => Ok(ok()),
            Err(e) => {
                tracing::warn!(reason = %e, "not ready");
                Err(ApiError::unavailable().into())
            }
        }
    }

    /// JWKS
    ///
    /// The public keys that verify access tokens, when an asymmetric format is configured.
    // Served for PASETO v4.public as for JWT EdDSA: both sign with Ed25519, the asymmetric
    // case CONTRACT.md §10 publishes, and a verifier of v4.public tokens needs the key as
    // much as a JOSE one. The `kid` is then the PASERK id the token footer names. It cannot
    // be abused across protocols: PASETO signs PAE-encoded bytes, which never read as a JWS
    // signing input, and no JWS is ever signed with that key. Symmetric formats publish
    // nothing, so the answer is the contract's 404.
    #[oai(
        path = "/.well-known/jwks.json",
        method = "get",
        operation_id = "auth-jwks",
        tag = "ApiTags::Auth"
    )]
    async fn jwks(&self, app: App<'_>) -> ApiResult<Json<Value>, { NOT_FOUND }> {
        let keys = app.ports().access_tokens.public_keys();
        if keys.is_empty() {
            return Err(ApiError::reason(StatusCode::NOT_FOUND).into());
        }
        Ok(Json(
            json!({ "keys": keys.iter().map(jwk).collect::<Vec<_>>() }),
        ))
    }
}
