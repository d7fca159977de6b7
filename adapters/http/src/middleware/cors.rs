//! CORS exactly as the template's Starlette middleware answers (CONTRACT.md §2.5): an
//! allowlist of origins with credentials, every method and header allowed, never `*`
//! and never a reflected foreign origin (SECURITY.md HDR-04).

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};

/// See the module documentation.
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Allows exactly these origins (no trailing slashes).
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }
}

impl<E: Endpoint> Middleware<E> for Cors {
    type Output = CorsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        CorsEndpoint {
            inner: ep,
            origins: self.origins.clone(),
        }
    }
}

/// See [`Cors`].
pub struct CorsEndpoint<E> {
    inner: E,
    origins: Vec<String>,
}

const METHODS: &str = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

fn allow_origin(response: &mut Response, origin: &str) {
    insert(response, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    insert(response, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
}

impl<E: Endpoint> Endpoint for CorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .map(str::to_owned);
        let Some(origin) = origin else {
            return self
                .inner
                .call(request)
                .await
                .map(IntoResponse::into_response);
        };
        // `*` is only configurable in development (the configuration refuses it elsewhere).
        let allowed = self.origins.iter().any(|o| o == "*" || *o == origin);
        let preflight = request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            if !allowed {
                return Ok(Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .content_type("text/plain; charset=utf-8")
                    .body("Disallowed CORS origin"));
            }
            let mut response = Response::builder()
                .status(StatusCode::OK)
                .content_type("text/plain; charset=utf-8")
                .body("OK");
            allow_origin(&mut response, &origin);
            insert(&mut response, header::ACCESS_CONTROL_ALLOW_METHODS, METHODS);
            insert(&mut response, header::ACCESS_CONTROL_MAX_AGE, "600");
            if let Some(requested) = request
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .and_then(|h| h.to_str().ok())
            {
                insert(
                    &mut response,
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    requested,
                );
            }
            return Ok(response);
        }
        let mut response = match self.inner.call(request).await {
            Ok(output) => output.into_response(),
            Err(err) => err.into_response(),
        };
        if allowed {
            allow_origin(&mut response, &origin);
            insert(
                &mut response,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                "X-Request-Id, Retry-After",
            );
        }
        Ok(response)
    }
}
