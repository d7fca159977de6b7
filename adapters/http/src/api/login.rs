//! Tag `login`: routes 1–5 of CONTRACT.md.

use gatehouse_domain::Password;
use poem_openapi::{
    ApiResponse, OpenApi,
    payload::{Html, Json},
};

use super::{ApiTags, App};
use crate::{
    client::ClientInfo,
    dto::{Message, NewPassword, Token, UserPublic},
    extract::{Auth, EmailSpec, JsonBody, LoginBody, Path},
    problem::{ApiResult, refusals::*},
    validation::{Collect, body_object},
};

/// Routes 1–5.
#[derive(Clone, Copy)]
pub struct LoginApi;

/// Route 5's answer: the recovery mail's HTML with its subject as a header.
#[derive(ApiResponse)]
pub enum HtmlPreview {
    #[oai(status = 200)]
    Ok(Html<String>, #[oai(header = "subject")] String),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Login")]
impl LoginApi {
    /// Login Access Token
    ///
    /// OAuth2 password login: a short-lived access token and a refresh token.
    #[oai(
        path = "/login/access-token",
        method = "post",
        operation_id = "login-login_access_token"
    )]
    async fn login_access_token(
        &self,
        body: LoginBody<false>,
        app: App<'_>,
        client: ClientInfo,
    ) -> ApiResult<Json<Token>, { BAD_REQUEST | INVALID | THROTTLED | UNAVAILABLE }> {
        login(app, &body, &client).await
    }

    /// Test Token
    ///
    /// The user the presented access token belongs to.
    #[oai(
        path = "/login/test-token",
        method = "post",
        operation_id = "login-test_token"
    )]
    async fn test_token(&self, auth: Auth) -> ApiResult<Json<UserPublic>, { BEARER }> {
        Ok(Json(UserPublic::from(&auth.0.user)))
    }

    /// Recover Password
    ///
    /// Emails a password-recovery link when an active account has this address; the
    /// answer is the same either way.
    #[oai(
        path = "/password-recovery/:email",
        method = "post",
        operation_id = "login-recover_password"
    )]
    async fn recover_password(
        &self,
        email: Path<EmailSpec>,
        app: App<'_>,
        client: ClientInfo,
    ) -> ApiResult<Json<Message>, { THROTTLED | UNAVAILABLE }> {
        app.recover_password(email.get().unwrap_or_default(), &client.0)
            .await?;
        Ok(Json(Message::new(
            "If that email is registered, we sent a password recovery link",
        )))
    }

    /// Reset Password
    ///
    /// Sets a new password with the token from a recovery email; ends every session.
    #[oai(
        path = "/reset-password/",
        method = "post",
        operation_id = "login-reset_password"
    )]
    async fn reset_password(
        &self,
        body: JsonBody<NewPassword>,
        app: App<'_>,
        client: ClientInfo,
    ) -> ApiResult<Json<Message>, { BAD_REQUEST | INVALID | THROTTLED | UNAVAILABLE }> {
        let (form,) = (body_object(&body.body, |f| {
            let token = f.string("token");
            let password = f.password("new_password");
            Some((token?, password?))
        }),)
            .collect()?;
        let (token, password): (String, Password) = form;
        app.reset_password(&token, &password, &client.0).await?;
        Ok(Json(Message::new("Password updated successfully")))
    }

    /// Recover Password Html Content
    ///
    /// Preview of the recovery email (superuser); its link holds no live token.
    #[oai(
        path = "/password-recovery-html-content/:email",
        method = "post",
        operation_id = "login-recover_password_html_content"
    )]
    async fn recover_password_html_content(
        &self,
        auth: Auth,
        email: Path<EmailSpec>,
        app: App<'_>,
    ) -> ApiResult<HtmlPreview, { BEARER }> {
        let admin = auth.0.as_superuser()?;
        let mail = app
            .recovery_preview(&admin, email.get().unwrap_or_default())
            .await?;
        // A header value cannot hold control characters; the subject is ours plus an
        // address, so replacing them keeps the header valid (the template dropped the
        // connection here, §9a).
        let subject = mail
            .subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Ok(HtmlPreview::Ok(Html(mail.html), subject))
    }
}

/// Shared by route 1 and `/auth/login`: validate, then log in.
pub(super) async fn login<const JSON: bool>(
    app: App<'_>,
    body: &LoginBody<JSON>,
    client: &ClientInfo,
) -> ApiResult<Json<Token>, { BAD_REQUEST | INVALID | THROTTLED | UNAVAILABLE }> {
    let (credentials,) = (body.credentials(),).collect()?;
    let password = Password::unchecked(credentials.password);
    let pair = app
        .login(&credentials.username, &password, &client.0)
        .await?;
    Ok(Json(Token::from(pair)))
}
