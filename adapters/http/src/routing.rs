//! FastAPI's route resolution on top of poem's router (CONTRACT.md §2.1): the first
//! declared route matching method and path handles a request; else 405 with `allow`; else
//! a 307 to the other trailing-slash form; else the front end when one is served and the path
//! is not the API's, docs', health's or `/.well-known/`'s (see [`crate::spa`]); else 404 — all
//! in the `{"detail"}` envelope.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{Method, StatusCode, header, uri::Authority},
};
use poem_openapi::registry::MetaApi;

use crate::{
    client::forwarded,
    config::HttpConfig,
    problem::ApiError,
    spa::{self, Spa},
};

/// One route: a method and a path template whose `{name}` segments match any segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
}

pub(crate) const fn r(method: &'static str, path: &'static str) -> RouteSpec {
    RouteSpec { method, path }
}

/// The template's paths that end in a slash. FastAPI declares them so (and redirects the
/// other form, 307); poem-openapi drops a trailing slash from what it registers and
/// documents, so this is the one fact about routes the operations cannot carry. Every
/// entry must name an operation (a unit test checks).
pub const TRAILING_SLASH: &[&str] = &[
    "/api/v1/reset-password/",
    "/api/v1/users/",
    "/api/v1/utils/test-email/",
    "/api/v1/utils/health-check/",
    "/api/v1/items/",
    "/api/v1/private/users/",
];

/// Every route of the operations in `apis`, in declaration order (the API structs in the
/// order given, each in the template's order), as the contract's resolution needs them:
/// derived from the poem-openapi declarations, the one place a route is declared.
pub fn derived(apis: &[MetaApi]) -> Vec<RouteSpec> {
    apis.iter()
        .flat_map(|api| &api.paths)
        .flat_map(|path| {
            let slashed = format!("{}/", path.path);
            let template = if TRAILING_SLASH.contains(&slashed.as_str()) {
                slashed
            } else {
                path.path.clone()
            };
            let template = intern(template);
            path.operations
                .iter()
                .map(move |op| r(intern(op.method.as_str().to_owned()), template))
        })
        .collect()
}

/// A `'static` copy of `text`, made once per distinct text: route templates label metrics
/// and spans for the life of the process, and the set of them is fixed by the code.
fn intern(text: String) -> &'static str {
    static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = seen.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    seen.insert(leaked);
    leaked
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

impl RouteSpec {
    /// Whether `path` fits this route's template.
    pub fn matches(&self, path: &str) -> bool {
        let (mut want, mut have) = (self.path.split('/'), path.split('/'));
        loop {
            match (want.next(), have.next()) {
                (None, None) => return true,
                (Some(w), Some(h)) if is_param(w) && !h.is_empty() => {}
                (Some(w), Some(h)) if w == h => {}
                _ => return false,
            }
        }
    }
}

/// Where the routing tells the envelope which template a request matched, for the metrics'
/// `route` label (issue 15): set before the handler runs, so a request that times out is
/// still labelled. Unset for a path no route matches.
#[derive(Clone, Debug, Default)]
pub struct MatchedRoute(Arc<OnceLock<&'static str>>);

impl MatchedRoute {
    fn set(&self, template: &'static str) {
        let _ = self.0.set(template);
    }

    /// The matched template, if any.
    pub fn get(&self) -> Option<&'static str> {
        self.0.get().copied()
    }
}

/// Resolves routes per the contract before poem's router sees the request.
pub struct Routing {
    routes: Vec<RouteSpec>,
    spa: Option<Arc<Spa>>,
}

impl Routing {
    /// The middleware for this route table, handing what no route claims to `spa` if any.
    pub fn new(routes: Vec<RouteSpec>, spa: Option<Spa>) -> Self {
        Self {
            routes,
            spa: spa.map(Arc::new),
        }
    }
}

impl<E: Endpoint> Middleware<E> for Routing {
    type Output = RoutingEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RoutingEndpoint {
            inner: ep,
            routes: self.routes.clone(),
            spa: self.spa.clone(),
        }
    }
}

/// See [`Routing`].
pub struct RoutingEndpoint<E> {
    inner: E,
    routes: Vec<RouteSpec>,
    spa: Option<Arc<Spa>>,
}

/// What to do with a request.
enum Resolution {
    Handle(RouteSpec),
    MethodNotAllowed(RouteSpec),
    Redirect(String),
    NotFound,
}

impl<E> RoutingEndpoint<E> {
    fn resolve(&self, method: &Method, path: &str) -> Resolution {
        let on_path = || self.routes.iter().filter(|r| r.matches(path));
        if let Some(route) = on_path().find(|r| r.method == method.as_str()) {
            return Resolution::Handle(*route);
        }
        if let Some(route) = on_path().next() {
            return Resolution::MethodNotAllowed(*route);
        }
        let toggled = match path.strip_suffix('/') {
            Some(stripped) => stripped.to_owned(),
            None => format!("{path}/"),
        };
        if self.routes.iter().any(|r| r.matches(&toggled)) {
            return Resolution::Redirect(toggled);
        }
        Resolution::NotFound
    }

    /// The path poem's router must see for `route`. poem-openapi registers paths without
    /// their trailing slash, so the contract's `/users/` is handed over as `/users`. And
    /// poem prefers a static segment over a parameter, so `GET /users/signup` would stop at
    /// `POST /users/signup` with a 405: escaping the first character of that segment makes
    /// poem pick the parameter route, as FastAPI does (the extractor decodes it back).
    fn inner_path(&self, path: &str, route: RouteSpec) -> Option<String> {
        if route.path.len() > 1 && route.path.ends_with('/') {
            return Some(path.trim_end_matches('/').to_owned());
        }
        let shadowed = route.path.contains('{')
            && self
                .routes
                .iter()
                .any(|other| other.method != route.method && other.path == path);
        if !shadowed {
            return None;
        }
        let (prefix, segment) = path.rsplit_once('/')?;
        let first = segment.chars().next()?;
        Some(format!(
            "{prefix}/%{:02X}{}",
            first as u32,
            &segment[first.len_utf8()..]
        ))
    }
}

/// The absolute URL of `path` on the scheme and host the client used (CONTRACT.md §2.1
/// rule 3): behind a trusted proxy as it forwards them, else the plain `Host` (SECURITY.md
/// RL-03). A forwarded value that is no scheme or host is ignored.
fn absolute(request: &Request, path: &str) -> String {
    let config = request.data::<Arc<HttpConfig>>();
    let via_proxy = |name| config.and_then(|c| forwarded(request, c, name));
    let scheme = via_proxy("x-forwarded-proto")
        .filter(|s| ["http", "https"].contains(s))
        .unwrap_or("http");
    let is_host = |h: &&str| {
        h.parse::<Authority>()
            .is_ok_and(|a| a.as_str() == *h && !h.contains('@'))
    };
    let host = via_proxy("x-forwarded-host")
        .filter(is_host)
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(is_host)
        })
        .unwrap_or("localhost");
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{host}{path}{query}")
}

impl<E: Endpoint> Endpoint for RoutingEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        let path = request.uri().path().to_owned();
        let resolution = self.resolve(request.method(), &path);
        if let (Resolution::Handle(route) | Resolution::MethodNotAllowed(route), Some(slot)) =
            (&resolution, request.extensions().get::<MatchedRoute>())
        {
            slot.set(route.path);
        }
        match resolution {
            Resolution::Handle(route) => {
                tracing::Span::current().record("route", route.path);
                if let Some(inner) = self.inner_path(&path, route) {
                    let query = request
                        .uri()
                        .query()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default();
                    if let Ok(uri) = format!("{inner}{query}").parse() {
                        *request.uri_mut() = uri;
                    }
                }
                self.inner
                    .call(request)
                    .await
                    .map(IntoResponse::into_response)
            }
            Resolution::MethodNotAllowed(route) => {
                Ok(ApiError::reason(StatusCode::METHOD_NOT_ALLOWED)
                    .with_header("allow", route.method)
                    .into_response())
            }
            Resolution::Redirect(target) => Ok(Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(header::LOCATION, absolute(&request, &target))
                .finish()),
            Resolution::NotFound => match &self.spa {
                Some(frontend) if !spa::is_reserved(&path) => {
                    tracing::Span::current().record("route", "frontend");
                    Ok(frontend.serve(&request).await)
                }
                _ => Ok(ApiError::reason(StatusCode::NOT_FOUND).into_response()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> RoutingEndpoint<()> {
        RoutingEndpoint {
            inner: (),
            routes: crate::openapi::build(&HttpConfig::default()).routes,
            spa: None,
        }
    }

    fn resolve(method: Method, path: &str) -> String {
        match endpoint().resolve(&method, path) {
            Resolution::Handle(r) => format!("handle {} {}", r.method, r.path),
            Resolution::MethodNotAllowed(r) => format!("405 {}", r.method),
            Resolution::Redirect(to) => format!("307 {to}"),
            Resolution::NotFound => "404".to_owned(),
        }
    }

    #[test]
    fn resolution_follows_the_template_declaration_order() {
        assert_eq!(
            resolve(Method::GET, "/api/v1/users/signup"),
            "handle GET /api/v1/users/{user_id}"
        );
        assert_eq!(resolve(Method::PUT, "/api/v1/users/me"), "405 PATCH");
        assert_eq!(resolve(Method::PATCH, "/api/v1/items/x"), "405 GET");
        assert_eq!(resolve(Method::GET, "/api/v1/users"), "307 /api/v1/users/");
        assert_eq!(
            resolve(Method::POST, "/api/v1/users/signup/"),
            "307 /api/v1/users/signup"
        );
        assert_eq!(resolve(Method::GET, "/api/v1/nope"), "404");
        assert_eq!(resolve(Method::GET, "/api/v1/private/users/"), "404");
        assert_eq!(resolve(Method::HEAD, "/health/live"), "405 GET");
    }

    #[test]
    fn every_trailing_slash_names_an_operation() {
        let all = crate::openapi::build(&HttpConfig {
            private_routes: true,
            ..HttpConfig::default()
        })
        .routes;
        for slashed in TRAILING_SLASH {
            assert!(
                all.iter().any(|route| route.path == *slashed),
                "{slashed} is no operation's path"
            );
        }
    }

    #[test]
    fn the_derived_table_begins_with_the_template_routes_in_the_templates_order() {
        let routes = crate::openapi::build(&HttpConfig::default()).routes;
        let listed: Vec<String> = routes
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        // The template's declaration order (CONTRACT.md §4.1; routes of one path grouped,
        // which resolves alike), which decides which of two matching routes handles a
        // request. Gatehouse's own routes follow; adding one changes nothing here.
        let template = [
            "POST /api/v1/login/access-token",
            "POST /api/v1/login/test-token",
            "POST /api/v1/password-recovery/{email}",
            "POST /api/v1/reset-password/",
            "POST /api/v1/password-recovery-html-content/{email}",
            "GET /api/v1/users/",
            "POST /api/v1/users/",
            "PATCH /api/v1/users/me",
            "GET /api/v1/users/me",
            "DELETE /api/v1/users/me",
            "PATCH /api/v1/users/me/password",
            "POST /api/v1/users/signup",
            "GET /api/v1/users/{user_id}",
            "PATCH /api/v1/users/{user_id}",
            "DELETE /api/v1/users/{user_id}",
            "POST /api/v1/utils/test-email/",
            "GET /api/v1/utils/health-check/",
            "GET /api/v1/items/",
            "POST /api/v1/items/",
            "GET /api/v1/items/{id}",
            "PUT /api/v1/items/{id}",
            "DELETE /api/v1/items/{id}",
        ];
        assert_eq!(listed[..template.len()], template);
        assert!(listed.contains(&"GET /docs".to_owned()), "the docs pages");
        assert!(
            !listed.iter().any(|r| r.contains("/private/")),
            "{listed:?}"
        );
    }
}
