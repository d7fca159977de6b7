//! Tag `users`: routes 6–15 of CONTRACT.md.

use gatehouse_application::{NewUser, ProfileChanges, Registration, UserChanges};
use gatehouse_domain::{FullName, UserId};
use poem_openapi::{OpenApi, payload::Json};

use super::{ApiTags, App};
use crate::{
    client::ClientInfo,
    dto::{
        Message, UpdatePassword, UserCreate, UserPublic, UserRegister, UserUpdate, UserUpdateMe,
        UsersPublic,
    },
    errors,
    extract::{Auth, JsonBody, LimitQuery, Path, SkipQuery, UserIdSpec},
    problem::{ApiResult, refusals::*},
    validation::{Collect, body_object, page, path_uuid},
};

/// Routes 6–15, declared in the template's order so the same path resolves alike.
#[derive(Clone, Copy)]
pub struct UsersApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Read Users
    ///
    /// All users, newest first (superuser).
    #[oai(path = "/users/", method = "get", operation_id = "users-read_users")]
    async fn read_users(
        &self,
        auth: Auth,
        skip: SkipQuery,
        limit: LimitQuery,
        app: App<'_>,
    ) -> ApiResult<Json<UsersPublic>, { BEARER | INVALID }> {
        let admin = auth.0.as_superuser()?;
        let (page,) = (page(skip.get(), limit.get()),).collect()?;
        Ok(Json(app.list_users(&admin, page).await?.into()))
    }

    /// Create User
    ///
    /// Creates an account (superuser); sends the new-account email when email is on.
    #[oai(path = "/users/", method = "post", operation_id = "users-create_user")]
    async fn create_user(
        &self,
        body: JsonBody<UserCreate>,
        auth: Auth,
        app: App<'_>,
    ) -> ApiResult<Json<UserPublic>, { BEARER | INVALID }> {
        let admin = auth.0.as_superuser()?;
        let (new,) = (body_object(&body.body, |f| {
            let email = f.email("email");
            let is_active = f.bool_or("is_active", true);
            let is_superuser = f.bool_or("is_superuser", false);
            let full_name = f.text_or_null("full_name", FullName::new);
            let password = f.password("password");
            Some(NewUser {
                email: email?,
                password: password?,
                full_name: full_name?,
                is_active: is_active?,
                is_superuser: is_superuser?,
            })
        }),)
            .collect()?;
        let user = app
            .create_user(&admin, new)
            .await
            .map_err(errors::create_user_error)?;
        Ok(Json(UserPublic::from(&user)))
    }

    /// Update User Me
    ///
    /// Changes one's own name or email.
    #[oai(
        path = "/users/me",
        method = "patch",
        operation_id = "users-update_user_me"
    )]
    async fn update_user_me(
        &self,
        body: JsonBody<UserUpdateMe>,
        auth: Auth,
        app: App<'_>,
    ) -> ApiResult<Json<UserPublic>, { BEARER | CONFLICT | INVALID }> {
        let (changes,) = (body_object(&body.body, |f| {
            let full_name = f.nullable_text("full_name", FullName::new);
            let email = f.optional_email("email");
            Some(ProfileChanges {
                full_name: full_name?,
                email: email?,
            })
        }),)
            .collect()?;
        let user = app.update_me(&auth.0, changes).await?;
        Ok(Json(UserPublic::from(&user)))
    }

    /// Update Password Me
    ///
    /// Changes one's own password; other sessions end, this one stays.
    #[oai(
        path = "/users/me/password",
        method = "patch",
        operation_id = "users-update_password_me"
    )]
    async fn update_password_me(
        &self,
        body: JsonBody<UpdatePassword>,
        auth: Auth,
        app: App<'_>,
    ) -> ApiResult<Json<Message>, { BEARER | INVALID }> {
        let ((current, new),) = (body_object(&body.body, |f| {
            let current = f.password("current_password");
            let new = f.password("new_password");
            Some((current?, new?))
        }),)
            .collect()?;
        app.change_password(&auth.0, &current, &new).await?;
        Ok(Json(Message::new("Password updated successfully")))
    }

    /// Read User Me
    ///
    /// The caller's account.
    #[oai(
        path = "/users/me",
        method = "get",
        operation_id = "users-read_user_me"
    )]
    async fn read_user_me(&self, auth: Auth) -> ApiResult<Json<UserPublic>, { BEARER }> {
        Ok(Json(UserPublic::from(&auth.0.user)))
    }

    /// Delete User Me
    ///
    /// Deletes the caller's account with its items and sessions (not for superusers).
    #[oai(
        path = "/users/me",
        method = "delete",
        operation_id = "users-delete_user_me"
    )]
    async fn delete_user_me(
        &self,
        auth: Auth,
        app: App<'_>,
    ) -> ApiResult<Json<Message>, { BEARER }> {
        app.delete_me(&auth.0).await?;
        Ok(Json(Message::new("User deleted successfully")))
    }

    /// Register User
    ///
    /// Self-service signup of an active, non-superuser account.
    #[oai(
        path = "/users/signup",
        method = "post",
        operation_id = "users-register_user"
    )]
    async fn register_user(
        &self,
        body: JsonBody<UserRegister>,
        app: App<'_>,
        client: ClientInfo,
    ) -> ApiResult<Json<UserPublic>, { BAD_REQUEST | INVALID | THROTTLED | UNAVAILABLE }> {
        let (registration,) = (body_object(&body.body, |f| {
            let email = f.email("email");
            let password = f.password("password");
            let full_name = f.text_or_null("full_name", FullName::new);
            Some(Registration {
                email: email?,
                password: password?,
                full_name: full_name?,
            })
        }),)
            .collect()?;
        let user = app.signup(registration, &client.0).await?;
        Ok(Json(UserPublic::from(&user)))
    }

    /// Read User By Id
    ///
    /// One's own account, or any account for a superuser.
    #[oai(
        path = "/users/:user_id",
        method = "get",
        operation_id = "users-read_user_by_id"
    )]
    async fn read_user_by_id(
        &self,
        auth: Auth,
        user_id: Path<UserIdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<UserPublic>, { BEARER | INVALID }> {
        let (id,) = (path_uuid("user_id", user_id.get().unwrap_or_default()),).collect()?;
        let user = app.read_user(&auth.0, UserId::from_uuid(id)).await?;
        Ok(Json(UserPublic::from(&user)))
    }

    /// Update User
    ///
    /// Changes an account (superuser); a new password or deactivation ends its sessions.
    #[oai(
        path = "/users/:user_id",
        method = "patch",
        operation_id = "users-update_user"
    )]
    async fn update_user(
        &self,
        body: JsonBody<UserUpdate>,
        auth: Auth,
        user_id: Path<UserIdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<UserPublic>, { BEARER | CONFLICT | INVALID }> {
        let admin = auth.0.as_superuser()?;
        let (id, changes) = (
            path_uuid("user_id", user_id.get().unwrap_or_default()),
            body_object(&body.body, |f| {
                let email = f.optional_email("email");
                let is_active = f.optional_bool("is_active");
                let is_superuser = f.optional_bool("is_superuser");
                let full_name = f.nullable_text("full_name", FullName::new);
                let password = f.optional_password("password");
                Some(UserChanges {
                    email: email?,
                    password: password?,
                    is_active: is_active?,
                    is_superuser: is_superuser?,
                    full_name: full_name?,
                })
            }),
        )
            .collect()?;
        let user = app
            .update_user(&admin, UserId::from_uuid(id), changes)
            .await
            .map_err(errors::update_user_error)?;
        Ok(Json(UserPublic::from(&user)))
    }

    /// Delete User
    ///
    /// Deletes an account with its items and sessions (superuser; not oneself).
    #[oai(
        path = "/users/:user_id",
        method = "delete",
        operation_id = "users-delete_user"
    )]
    async fn delete_user(
        &self,
        auth: Auth,
        user_id: Path<UserIdSpec>,
        app: App<'_>,
    ) -> ApiResult<Json<Message>, { BEARER | INVALID }> {
        let admin = auth.0.as_superuser()?;
        let (id,) = (path_uuid("user_id", user_id.get().unwrap_or_default()),).collect()?;
        app.delete_user(&admin, UserId::from_uuid(id))
            .await
            .map_err(errors::delete_user_error)?;
        Ok(Json(Message::new("User deleted successfully")))
    }
}
