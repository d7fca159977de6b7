//! Tag `auth`: Gatehouse's hardened session endpoints (CONTRACT.md §10).

use gatehouse_application::LogoutScope;
use gatehouse_domain::SessionId;
use poem_openapi::{OpenApi, payload::Json};
use serde_json::Value;

use super::{ApiTags, App, login::login};
use crate::{
    client::ClientInfo,
    dto::{LogoutRequest, Message, RefreshRequest, SessionPublic, SessionsPublic, Token},
    extract::{Auth, Body, IdSpec, JsonBody, LoginBody, LogoutScopeQuery, OptionalAuth, Path},
    problem::{ApiResult, refusals::*},
    validation::{Collect, body_object, path_uuid, query_enum},
};

/// `/auth/*`.
#[derive(Clone, Copy)]
pub struct AuthApi;

const SCOPES: [(&str, LogoutScope); 3] = [
    ("local", LogoutScope::Local),
    ("global", LogoutScope::Global),
    ("others", LogoutScope::Others),
];

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Login
    ///
    /// Route 1 in every respect, also accepting a JSON `LoginRequest`.
    #[oai(path = "/auth/login", method = "post", operation_id = "auth-login")]
    async fn login(
        &self,
        body: LoginBody<true>,
        app: App<'_>,
        client: ClientInfo,
    ) -> ApiResult<Json<Token>, { BAD_REQUEST | INVALID | THROTTLED | UNAVAILABLE }> {
        login(app, &body, &client).await
    }

    /// Refresh
    ///
    /// Exchanges a refresh token for a new pair; the presented token is consumed, and a
    /// replay after the grace window ends its session.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "auth-refresh")]
    async fn refresh(
        &self,
        body: JsonBody<RefreshRequest>,
        app: App<'_>,
        client: ClientInfo,
    ) -> ApiResult<Json<Token>, { UNAUTHORIZED | INVALID | THROTTLED | UNAVAILABLE }> {
        let (token,) = (body_object(&body.body, |f| f.string("refresh_token")),).collect()?;
        Ok(Json(app.refresh(&token, &client.0).await?.into()))
    }

    /// Logout
    ///
    /// Ends the current session (`local`), all (`global`) or all but the current
    /// (`others`); identified by the bearer token or by a refresh token in the body.
    #[oai(path = "/auth/logout", method = "post", operation_id = "auth-logout")]
    async fn logout(
        &self,
        body: JsonBody<LogoutRequest, false>,
        auth: OptionalAuth,
        scope: LogoutScopeQuery,
        app: App<'_>,
    ) -> ApiResult<Json<Message>, { BEARER | INVALID }> {
        let (scope, refresh) = (
            query_enum("scope", scope.get(), LogoutScope::Local, &SCOPES),
            optional_refresh_token(&body.body),
        )
            .collect()?;
        app.logout(auth.0.as_ref(), refresh.as_deref(), scope)
            .await?;
        Ok(Json(Message::new("Logged out")))
    }

    /// List Sessions
    ///
    /// The caller's live sessions, most recently used first.
    #[oai(
        path = "/auth/sessions",
        method = "get",
        operation_id = "auth-list_sessions"
    )]
    async fn list_sessions(
        &self,
        auth: Auth,
        app: App<'_>,
    ) -> ApiResult<Json<SessionsPublic>, { BEARER }> {
        let sessions = app.list_sessions(&auth.0).await?;
        let data: Vec<SessionPublic> = sessions
            .iter()
            .map(|s| SessionPublic::new(s, s.id == auth.0.session))
            .collect();
        Ok(Json(SessionsPublic {
            count: data.len() as u64,
            data,
        }))
    }

    /// Revoke Session
    ///
    /// Ends one of the caller's sessions, the current one included.
    #[oai(
        path = "/auth/sessions/:id",
        method = "delete",
        operation_id = "auth-revoke_session"
    )]
    async fn revoke_session(
        &self,
        auth: Auth,
        id: Path<IdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<Message>, { BEARER | INVALID }> {
        let (id,) = (path_uuid("id", id.get().unwrap_or_default()),).collect()?;
        app.revoke_session(&auth.0, SessionId::from_uuid(id))
            .await?;
        Ok(Json(Message::new("Session revoked")))
    }
}

/// The logout body is optional: no body, or an object whose `refresh_token` may be absent
/// or null.
fn optional_refresh_token(body: &Body) -> Result<Option<String>, Vec<Value>> {
    match body {
        Body::Missing => Ok(None),
        body => body_object(body, |f| f.string_or_null("refresh_token")),
    }
}
