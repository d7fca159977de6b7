//! Tag `private`: route 23, mounted only in development/local (CONTRACT.md §4.2).

use gatehouse_domain::{Email, FullName, Password, check_text};
use poem_openapi::{OpenApi, payload::Json};

use super::{ApiTags, App};
use crate::{
    dto::{PrivateUserCreate, UserPublic},
    extract::JsonBody,
    problem::{ApiResult, refusals::*},
    validation::{Collect, body_object},
};

/// Route 23.
#[derive(Clone, Copy)]
pub struct PrivateApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Private")]
impl PrivateApi {
    /// Create User
    ///
    /// Development helper: creates an active user with no email or password rules.
    #[oai(
        path = "/private/users/",
        method = "post",
        operation_id = "private-create_user"
    )]
    async fn create_user(
        &self,
        body: JsonBody<PrivateUserCreate>,
        app: App<'_>,
    ) -> ApiResult<Json<UserPublic>, { BAD_REQUEST | INVALID | UNAVAILABLE }> {
        let ((email, password, full_name),) = (body_object(&body.body, |f| {
            let email = f.text("email", |s| check_text(&s, 0, 255).map(|()| s));
            let password = f.string("password");
            let full_name = f.text("full_name", FullName::new);
            f.bool_or("is_verified", false)?;
            Some((email?, password?, full_name?))
        }),)
            .collect()?;
        let user = app
            .create_private_user(
                Email::unchecked(email),
                &Password::unchecked(password),
                full_name,
            )
            .await?;
        Ok(Json(UserPublic::from(&user)))
    }
}
