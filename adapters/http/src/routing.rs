//! FastAPI's route resolution (CONTRACT.md §2.1): the first declared route matching method
//! and path handles a request; else 405 with `allow`; else a 307 to the other
//! trailing-slash form; else the front end when one is served and the path is not the
//! API's, docs', health's or `/.well-known/`'s (see [`crate::spa`]); else 404 — all in the
//! `{"detail"}` envelope.
//!
//! This module is the router: it picks the operation itself, from a table derived from the
//! poem-openapi declarations (the one place a route is declared), and hands the request,
//! untouched, to that operation alone. poem's own router would disagree with the contract
//! twice (it prefers a static segment to a parameter, and poem-openapi registers paths
//! without their trailing slash), so it only ever sees one path per route, to read the
//! path parameters.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response,
    endpoint::BoxEndpoint,
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

/// A route and the one operation that serves it.
pub struct Route {
    pub spec: RouteSpec,
    endpoint: BoxEndpoint<'static>,
}

impl Route {
    /// A route without path parameters served by `endpoint` (the docs pages, the test
    /// faults).
    pub fn fixed(spec: RouteSpec, endpoint: impl Endpoint + 'static) -> Self {
        Self {
            spec,
            endpoint: endpoint.map_to_response().boxed(),
        }
    }
}

/// The operations poem-openapi builds, by the path it gives them and method
/// ([`poem_openapi::OpenApi::add_routes`]).
pub type Operations = HashMap<String, HashMap<Method, BoxEndpoint<'static>>>;

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
/// order given, each in the template's order), each with its operation taken from
/// `operations`: derived from the poem-openapi declarations, the one place a route is
/// declared.
///
/// # Panics
/// When a documented operation is not in `operations` or one of `operations` is not
/// documented: the two come from the same declarations, so this is a bug in how they are
/// read, caught by the unit tests before any request.
pub fn derived(apis: &[MetaApi], mut operations: Operations) -> Vec<Route> {
    let routes = apis
        .iter()
        .flat_map(|api| &api.paths)
        .flat_map(|path| {
            let slashed = format!("{}/", path.path);
            let template = if TRAILING_SLASH.contains(&slashed.as_str()) {
                slashed
            } else {
                path.path.clone()
            };
            let template = intern(template);
            let served = operations.get_mut(&positional(&path.path));
            let mut served = served.map(std::mem::take).unwrap_or_default();
            path.operations
                .iter()
                .map(|op| {
                    let operation = served.remove(&op.method).unwrap_or_else(|| {
                        panic!("{} {template} is documented but not served", op.method)
                    });
                    let spec = r(intern(op.method.as_str().to_owned()), template);
                    // A router of this one path: it reads the path parameters, nothing else.
                    let endpoint = poem::Route::new()
                        .at(positional(template), operation)
                        .map_to_response()
                        .boxed();
                    Route { spec, endpoint }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    operations.retain(|_, methods| !methods.is_empty());
    assert!(
        operations.is_empty(),
        "served but not documented: {:?}",
        operations.keys()
    );
    routes
}

/// `template` in poem's syntax as poem-openapi registers it: each `{name}` segment becomes
/// `:param0`, `:param1`… in order (which is why handlers read path parameters by position).
fn positional(template: &str) -> String {
    let mut count = 0;
    template
        .split('/')
        .map(|segment| {
            if is_param(segment) {
                count += 1;
                format!(":param{}", count - 1)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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

/// The router: resolves a request per the contract and calls the operation that handles it.
pub struct Router {
    routes: Vec<Route>,
    spa: Option<Spa>,
}

/// What to do with a request.
enum Resolution<'a> {
    Handle(&'a Route),
    MethodNotAllowed(RouteSpec),
    Redirect(String),
    NotFound,
}

impl Router {
    /// The router for `routes`, handing what no route claims to `spa` if any.
    pub fn new(routes: Vec<Route>, spa: Option<Spa>) -> Self {
        Self { routes, spa }
    }

    fn resolve(&self, method: &Method, path: &str) -> Resolution<'_> {
        let on_path = || self.routes.iter().filter(|r| r.spec.matches(path));
        if let Some(route) = on_path().find(|r| r.spec.method == method.as_str()) {
            return Resolution::Handle(route);
        }
        if let Some(route) = on_path().next() {
            return Resolution::MethodNotAllowed(route.spec);
        }
        let toggled = match path.strip_suffix('/') {
            Some(stripped) => stripped.to_owned(),
            None => format!("{path}/"),
        };
        if self.routes.iter().any(|r| r.spec.matches(&toggled)) {
            return Resolution::Redirect(toggled);
        }
        Resolution::NotFound
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

impl Endpoint for Router {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let path = request.uri().path().to_owned();
        let resolution = self.resolve(request.method(), &path);
        let matched = match &resolution {
            Resolution::Handle(route) => Some(route.spec),
            Resolution::MethodNotAllowed(spec) => Some(*spec),
            _ => None,
        };
        if let (Some(spec), Some(slot)) = (matched, request.extensions().get::<MatchedRoute>()) {
            slot.set(spec.path);
        }
        match resolution {
            Resolution::Handle(route) => {
                tracing::Span::current().record("route", route.spec.path);
                route.endpoint.call(request).await
            }
            Resolution::MethodNotAllowed(spec) => {
                Ok(ApiError::reason(StatusCode::METHOD_NOT_ALLOWED)
                    .with_header("allow", spec.method)
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
    use poem_openapi::{OpenApi, param::Path, payload::PlainText};

    use super::*;

    /// A static segment declared beside a parameter, as `/users/signup` beside
    /// `/users/{user_id}`, and a trailing slash.
    #[derive(Clone, Copy)]
    struct Shadowing;

    #[OpenApi]
    impl Shadowing {
        #[oai(path = "/api/v1/users/", method = "get")]
        async fn list(&self, request: &Request) -> PlainText<String> {
            PlainText(format!("list {}", request.uri()))
        }

        #[oai(path = "/x/:id", method = "get")]
        async fn read(&self, id: Path<String>, request: &Request) -> PlainText<String> {
            PlainText(format!("read {} {}", id.0, request.uri()))
        }

        #[oai(path = "/x/static", method = "post")]
        async fn create(&self) -> PlainText<&'static str> {
            PlainText("create")
        }
    }

    async fn served(method: Method, uri: &str) -> String {
        let mut operations = HashMap::new();
        Shadowing.add_routes(&mut operations);
        let router = Router::new(derived(&Shadowing::meta(), operations), None);
        let request = Request::builder().method(method).uri_str(uri).finish();
        let response = router.call(request).await.expect("a response");
        let status = response.status();
        let body = response.into_body().into_string().await.expect("text");
        format!("{} {body}", status.as_u16())
    }

    #[tokio::test]
    async fn the_operation_sees_the_request_as_sent() {
        assert_eq!(
            served(Method::GET, "/x/static?q=%2F").await,
            "200 read static /x/static?q=%2F"
        );
        assert_eq!(
            served(Method::GET, "/x/a%20b").await,
            "200 read a b /x/a%20b"
        );
        assert_eq!(served(Method::POST, "/x/static").await, "200 create");
        assert_eq!(
            served(Method::GET, "/api/v1/users/?skip=1").await,
            "200 list /api/v1/users/?skip=1"
        );
    }

    #[test]
    #[should_panic(expected = "served but not documented")]
    fn an_operation_missing_from_the_declarations_is_caught_at_build() {
        let mut operations = HashMap::new();
        Shadowing.add_routes(&mut operations);
        derived(&[], operations);
    }

    fn router() -> Router {
        Router::new(crate::openapi::build(&HttpConfig::default()).routes, None)
    }

    fn resolve(method: Method, path: &str) -> String {
        match router().resolve(&method, path) {
            Resolution::Handle(r) => format!("handle {} {}", r.spec.method, r.spec.path),
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
                all.iter().any(|route| route.spec.path == *slashed),
                "{slashed} is no operation's path"
            );
        }
    }

    #[test]
    fn the_derived_table_begins_with_the_template_routes_in_the_templates_order() {
        let routes = crate::openapi::build(&HttpConfig::default()).routes;
        let listed: Vec<String> = routes
            .iter()
            .map(|r| format!("{} {}", r.spec.method, r.spec.path))
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
