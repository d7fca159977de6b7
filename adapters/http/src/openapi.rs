//! The OpenAPI document and the docs pages: one `OpenApiService` over every API struct,
//! used both by the server and by `gatehouse openapi` (CONTRACT.md §7).

use std::collections::HashMap;

use poem::{endpoint::make_sync, web::Html};
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};

use crate::{
    api::{AuthApi, HealthApi, ItemsApi, LoginApi, PrivateApi, UsersApi, UtilsApi},
    config::HttpConfig,
    routing::{self, Route},
};

/// The docs pages, mounted when `DOCS_ENABLED` (D11): the document, Swagger UI, ReDoc.
const DOCS_PAGES: [&str; 3] = ["/api/v1/openapi.json", "/docs", "/redoc"];

/// The document's version: the crate's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The API served, its document, and the docs pages for it.
pub struct Built {
    /// The OpenAPI document, pretty-printed JSON.
    pub document: String,
    /// Every route with its operation, in resolution order, derived from the operations'
    /// declarations; then, when enabled, the docs pages.
    pub routes: Vec<Route>,
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

fn assemble<T: OpenApi + Copy + 'static>(apis: T, config: &HttpConfig) -> Built {
    let mut operations = HashMap::new();
    apis.add_routes(&mut operations);
    let mut routes = routing::derived(&T::meta(), operations);
    let service = OpenApiService::new(apis, config.project_name.clone(), VERSION);
    let raw = service.spec();
    let document = patch(&raw);
    if config.docs {
        // The UI pages embed the document; swap poem-openapi's for the patched one.
        let swagger = service.swagger_ui_html().replace(&raw, &document);
        let redoc = service.redoc_html().replace(&raw, &document);
        let json = document.clone();
        let [document_page, swagger_page, redoc_page] = DOCS_PAGES;
        let page = |path| routing::r("GET", path);
        routes.extend([
            Route::fixed(
                page(document_page),
                make_sync(move |_| {
                    poem::Response::builder()
                        .content_type("application/json")
                        .body(json.clone())
                }),
            ),
            Route::fixed(
                page(swagger_page),
                make_sync(move |_| Html(swagger.clone())),
            ),
            Route::fixed(page(redoc_page), make_sync(move |_| Html(redoc.clone()))),
        ]);
    }
    Built { document, routes }
}

/// Fixes what poem-openapi cannot express: the contract's trailing slashes, which it
/// strips from paths (the generated client calls exactly the documented path), and an
/// OAuth2 flow's scopes, which OpenAPI 3.0 requires even when there are none.
fn patch(raw: &str) -> String {
    let mut doc: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for &slashed in routing::TRAILING_SLASH {
            if let Some(item) = paths.shift_remove(slashed.trim_end_matches('/')) {
                paths.insert(slashed.to_owned(), item);
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
