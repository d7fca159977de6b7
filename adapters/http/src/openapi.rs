//! The OpenAPI document and the docs pages: one `OpenApiService` over every API struct,
//! used both by the server and by `gatehouse openapi` (CONTRACT.md §7).

use poem::{EndpointExt, IntoEndpoint, Route, endpoint::make_sync, web::Html};
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};

use crate::{
    api::{AuthApi, HealthApi, ItemsApi, LoginApi, PrivateApi, UsersApi, UtilsApi},
    config::HttpConfig,
    routing,
};

/// The document's version: the crate's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The API served, its document, and the docs pages for it.
pub struct Built {
    /// The OpenAPI document, pretty-printed JSON.
    pub document: String,
    /// The operations plus, when enabled, the docs pages.
    pub endpoint: poem::endpoint::BoxEndpoint<'static>,
}

/// Builds the service for `config`; route 23 is included only when it is enabled.
pub fn build(config: &HttpConfig) -> Built {
    let apis = (LoginApi, UsersApi, UtilsApi, ItemsApi, AuthApi, HealthApi);
    if config.private_routes {
        assemble((apis, PrivateApi), config)
    } else {
        assemble(apis, config)
    }
}

/// The complete document (every route, development ones included) with the default
/// title: what `openapi/openapi.json` holds and clients are generated from.
pub fn document() -> String {
    build(&HttpConfig {
        private_routes: true,
        ..HttpConfig::default()
    })
    .document
}

fn assemble<T: OpenApi + 'static>(apis: T, config: &HttpConfig) -> Built {
    let service = OpenApiService::new(apis, config.project_name.clone(), VERSION);
    let raw = service.spec();
    let document = patch(&raw);
    let mut route = Route::new();
    if config.docs {
        // The UI pages embed the document; swap poem-openapi's for the patched one.
        let swagger = service.swagger_ui_html().replace(&raw, &document);
        let redoc = service.redoc_html().replace(&raw, &document);
        let json = document.clone();
        route = route
            .at(
                "/api/v1/openapi.json",
                make_sync(move |_| {
                    poem::Response::builder()
                        .content_type("application/json")
                        .body(json.clone())
                }),
            )
            .at("/docs", make_sync(move |_| Html(swagger.clone())))
            .at("/redoc", make_sync(move |_| Html(redoc.clone())));
    }
    Built {
        document,
        endpoint: route.nest("/", service).into_endpoint().boxed(),
    }
}

/// Fixes what poem-openapi cannot express: the contract's trailing slashes, which it
/// strips from paths (the generated client calls exactly the documented path), and an
/// OAuth2 flow's scopes, which OpenAPI 3.0 requires even when there are none.
fn patch(raw: &str) -> String {
    let mut doc: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        let slashed = routing::LEGACY
            .iter()
            .chain(routing::PRIVATE)
            .filter(|r| r.path.ends_with('/'));
        for route in slashed {
            if let Some(item) = paths.shift_remove(route.path.trim_end_matches('/')) {
                paths.insert(route.path.to_owned(), item);
            }
        }
        paths.sort_keys();
    }
    if let Some(flow) = doc
        .pointer_mut("/components/securitySchemes/OAuth2PasswordBearer/flows/password")
        .and_then(Value::as_object_mut)
    {
        flow.entry("scopes").or_insert_with(|| json!({}));
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| raw.to_owned())
}
