//! The one place where use-case errors become HTTP answers: every status and `detail`
//! string of the contract that is not a validation error lives here (STYLE.md habit 3).

use gatehouse_application::{
    AdminUserError, AuthError, ChangePasswordError, DeleteMeError, EmailNotConfigured, Forbidden,
    ItemError, LoginError, LogoutError, PreviewError, ReadUserError, RecoveryError, RefreshError,
    ResetError, RevokeSessionError, SignupError, Throttled, UpdateMeError,
};
use gatehouse_domain::{Infra, error_chain};
use poem::http::StatusCode;

use crate::problem::ApiError;

const BAD_REQUEST: StatusCode = StatusCode::BAD_REQUEST;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const CONFLICT: StatusCode = StatusCode::CONFLICT;

/// 401 with `WWW-Authenticate: Bearer`: no credentials (CONTRACT.md §3.1 row 1).
pub fn not_authenticated() -> ApiError {
    ApiError::detail(StatusCode::UNAUTHORIZED, "Not authenticated")
        .with_header("www-authenticate", "Bearer")
}

/// 403 for a token we cannot accept (rows 2 and 5). The header is additive to the
/// template, which sent none here.
fn invalid_credentials() -> ApiError {
    ApiError::detail(FORBIDDEN, "Could not validate credentials")
        .with_header("www-authenticate", "Bearer error=\"invalid_token\"")
}

/// The template's `UserPublic` routes use this for "not a superuser".
pub fn not_enough_privileges() -> ApiError {
    ApiError::detail(FORBIDDEN, "The user doesn't have enough privileges")
}

/// 400 for the login route's wrong credentials; a 401 would make the template's frontend
/// drop its state and lose the message (CONTRACT.md §3.1).
fn incorrect_login() -> ApiError {
    ApiError::detail(BAD_REQUEST, "Incorrect email or password")
}

fn inactive_user() -> ApiError {
    ApiError::detail(BAD_REQUEST, "Inactive user")
}

/// The signup and private routes' duplicate answer: no trailing period, the template's
/// frontend shows this exact text.
pub fn email_registered() -> ApiError {
    ApiError::detail(
        BAD_REQUEST,
        "The user with this email already exists in the system",
    )
}

/// The answer to any request of a user that no longer exists (row 3), also when the
/// account was deleted while the request ran.
fn user_not_found() -> ApiError {
    ApiError::detail(NOT_FOUND, "User not found")
}

fn email_conflict() -> ApiError {
    ApiError::detail(CONFLICT, "User with this email already exists")
}

impl From<Infra> for ApiError {
    fn from(e: Infra) -> Self {
        match &e {
            Infra::Unavailable(_) => {
                tracing::warn!(error = %error_chain(&e), "dependency unavailable");
                ApiError::unavailable()
            }
            Infra::Unexpected(_) => {
                tracing::error!(error = %error_chain(&e), "unexpected failure");
                ApiError::internal()
            }
        }
    }
}

impl From<Throttled> for ApiError {
    fn from(t: Throttled) -> Self {
        let seconds = t.retry_after_seconds();
        ApiError::detail(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many login attempts. Try again later.",
        )
        .with_header("retry-after", seconds.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidToken | AuthError::SessionEnded => invalid_credentials(),
            AuthError::UserNotFound => user_not_found(),
            AuthError::Inactive => inactive_user(),
            AuthError::Infra(i) => i.into(),
        }
    }
}

impl From<Forbidden> for ApiError {
    fn from(_: Forbidden) -> Self {
        not_enough_privileges()
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Throttled(t) => t.into(),
            LoginError::IncorrectCredentials => incorrect_login(),
            LoginError::Inactive => inactive_user(),
            LoginError::Infra(i) => i.into(),
        }
    }
}

impl From<SignupError> for ApiError {
    fn from(e: SignupError) -> Self {
        match e {
            SignupError::Throttled(t) => t.into(),
            SignupError::EmailTaken => email_registered(),
            SignupError::Infra(i) => i.into(),
        }
    }
}

impl From<UpdateMeError> for ApiError {
    fn from(e: UpdateMeError) -> Self {
        match e {
            UpdateMeError::EmailTaken => email_conflict(),
            UpdateMeError::UserNotFound => user_not_found(),
            UpdateMeError::Infra(i) => i.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(e: ChangePasswordError) -> Self {
        match e {
            ChangePasswordError::IncorrectPassword => {
                ApiError::detail(BAD_REQUEST, "Incorrect password")
            }
            ChangePasswordError::SamePassword => ApiError::detail(
                BAD_REQUEST,
                "New password cannot be the same as the current one",
            ),
            ChangePasswordError::UserNotFound => user_not_found(),
            ChangePasswordError::Infra(i) => i.into(),
        }
    }
}

/// Superusers may not delete themselves, on `/users/me` and `/users/{id}` alike.
fn superuser_self_delete() -> ApiError {
    ApiError::detail(
        FORBIDDEN,
        "Super users are not allowed to delete themselves",
    )
}

impl From<DeleteMeError> for ApiError {
    fn from(e: DeleteMeError) -> Self {
        match e {
            DeleteMeError::Superuser => superuser_self_delete(),
            DeleteMeError::UserNotFound => user_not_found(),
            DeleteMeError::Infra(i) => i.into(),
        }
    }
}

impl From<ReadUserError> for ApiError {
    fn from(e: ReadUserError) -> Self {
        match e {
            ReadUserError::Forbidden => not_enough_privileges(),
            ReadUserError::NotFound => user_not_found(),
            ReadUserError::Infra(i) => i.into(),
        }
    }
}

/// Route 7: `POST /users/` — the duplicate text here ends **with** a period.
pub fn create_user_error(e: AdminUserError) -> ApiError {
    match e {
        AdminUserError::EmailTaken => ApiError::detail(
            BAD_REQUEST,
            "The user with this email already exists in the system.",
        ),
        other => admin_error(other),
    }
}

/// Route 14: `PATCH /users/{user_id}` — its 404 text has no period.
pub fn update_user_error(e: AdminUserError) -> ApiError {
    match e {
        AdminUserError::NotFound => ApiError::detail(
            NOT_FOUND,
            "The user with this id does not exist in the system",
        ),
        other => admin_error(other),
    }
}

/// Route 15: `DELETE /users/{user_id}`. Two superusers deleting each other at once: one
/// delete must fail, or none would be left (a deviation; the template has no guard).
pub fn delete_user_error(e: AdminUserError) -> ApiError {
    match e {
        AdminUserError::LastActiveSuperuser => {
            ApiError::detail(BAD_REQUEST, "The last active superuser cannot be deleted")
        }
        other => admin_error(other),
    }
}

/// The shared cases of routes 7, 14 and 15.
pub fn admin_error(e: AdminUserError) -> ApiError {
    match e {
        AdminUserError::NotFound => user_not_found(),
        AdminUserError::EmailTaken => email_conflict(),
        AdminUserError::LastActiveSuperuser => ApiError::detail(
            BAD_REQUEST,
            "The last active superuser cannot be demoted or deactivated",
        ),
        AdminUserError::DeleteSelf => superuser_self_delete(),
        AdminUserError::Infra(i) => i.into(),
    }
}

impl From<ItemError> for ApiError {
    fn from(e: ItemError) -> Self {
        match e {
            ItemError::NotFound => ApiError::detail(NOT_FOUND, "Item not found"),
            ItemError::NotOwner => ApiError::detail(FORBIDDEN, "Not enough permissions"),
            ItemError::UserNotFound => user_not_found(),
            ItemError::Infra(i) => i.into(),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Throttled(t) => t.into(),
            RefreshError::Invalid => {
                ApiError::detail(StatusCode::UNAUTHORIZED, "Invalid refresh token")
            }
            RefreshError::Infra(i) => i.into(),
        }
    }
}

impl From<LogoutError> for ApiError {
    fn from(e: LogoutError) -> Self {
        match e {
            LogoutError::NotAuthenticated => not_authenticated(),
            LogoutError::Infra(i) => i.into(),
        }
    }
}

impl From<RevokeSessionError> for ApiError {
    fn from(e: RevokeSessionError) -> Self {
        match e {
            RevokeSessionError::NotFound => ApiError::detail(NOT_FOUND, "Session not found"),
            RevokeSessionError::Infra(i) => i.into(),
        }
    }
}

impl From<RecoveryError> for ApiError {
    fn from(e: RecoveryError) -> Self {
        match e {
            RecoveryError::Throttled(t) => t.into(),
            RecoveryError::Infra(i) => i.into(),
        }
    }
}

impl From<ResetError> for ApiError {
    fn from(e: ResetError) -> Self {
        match e {
            ResetError::Throttled(t) => t.into(),
            ResetError::InvalidToken => ApiError::detail(BAD_REQUEST, "Invalid token"),
            ResetError::Inactive => inactive_user(),
            ResetError::Infra(i) => i.into(),
        }
    }
}

impl From<PreviewError> for ApiError {
    fn from(e: PreviewError) -> Self {
        match e {
            PreviewError::NotFound => ApiError::detail(
                NOT_FOUND,
                "The user with this username does not exist in the system.",
            ),
            PreviewError::Infra(i) => i.into(),
        }
    }
}

impl From<EmailNotConfigured> for ApiError {
    fn from(_: EmailNotConfigured) -> Self {
        ApiError::detail(BAD_REQUEST, "Email is not configured")
    }
}
