//! The operations, one API struct per OpenAPI tag, combined by `openapi::service`.
//!
//! Handlers take their body first (a malformed JSON body answers 422 before
//! authentication), then the security scheme, then raw parameters; they validate every
//! parameter and field together, call one use case, and map its error in `errors.rs`.

mod auth;
mod health;
mod items;
mod login;
mod private;
mod users;
mod utils;

pub use auth::AuthApi;
pub use health::HealthApi;
pub use items::ItemsApi;
pub use login::LoginApi;
pub use private::PrivateApi;
pub use users::UsersApi;
pub use utils::UtilsApi;

use std::sync::Arc;

use gatehouse_application::Gatehouse;
use poem_openapi::Tags;

/// The tags of the template plus Gatehouse's own (CONTRACT.md §7).
#[derive(Tags)]
pub enum ApiTags {
    #[oai(rename = "login")]
    Login,
    #[oai(rename = "users")]
    Users,
    #[oai(rename = "utils")]
    Utils,
    #[oai(rename = "items")]
    Items,
    #[oai(rename = "private")]
    Private,
    #[oai(rename = "auth")]
    Auth,
    #[oai(rename = "health")]
    Health,
}

/// The application service, as handlers receive it.
pub type App<'a> = poem::web::Data<&'a Arc<Gatehouse>>;
