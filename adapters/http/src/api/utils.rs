//! Tag `utils`: routes 21 and 22 of CONTRACT.md.

use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::{ApiTags, App};
use crate::{
    dto::Message,
    extract::{Auth, EmailTo},
    problem::{ApiResult, refusals::*},
    validation::{Collect, query_email},
};

/// Routes 21–22.
#[derive(Clone, Copy)]
pub struct UtilsApi;

/// Route 21 answers 201.
#[derive(ApiResponse)]
pub enum TestEmailSent {
    #[oai(status = 201)]
    Created(Json<Message>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Utils")]
impl UtilsApi {
    /// Test Email
    ///
    /// Sends a test email (superuser).
    #[oai(
        path = "/utils/test-email/",
        method = "post",
        operation_id = "utils-test_email"
    )]
    async fn test_email(
        &self,
        auth: Auth,
        email_to: EmailTo,
        app: App<'_>,
    ) -> ApiResult<TestEmailSent, { BEARER | INVALID }> {
        let admin = auth.0.as_superuser()?;
        let (to,) = (query_email("email_to", email_to.get()),).collect()?;
        app.send_test_email(&admin, &to).await?;
        Ok(TestEmailSent::Created(Json(Message::new(
            "Test email sent",
        ))))
    }

    /// Health Check
    ///
    /// `true` while the process serves; no database access (probes: `/health/*`).
    #[oai(
        path = "/utils/health-check/",
        method = "get",
        operation_id = "utils-health_check"
    )]
    async fn health_check(&self) -> Json<bool> {
        Json(true)
    }
}
