//! Request bodies over the limit answer `413 {"detail":"Content Too Large"}` without being
//! buffered (SECURITY.md IN-01): a declared length is refused at once, a chunked body is
//! read only up to the limit. poem's `SizeLimit` needs `Content-Length`, so it won't do.

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response,
    http::{StatusCode, header},
};
use tokio::io::AsyncReadExt;

use crate::problem::ApiError;

/// See the module documentation.
pub struct BodyLimit {
    max: usize,
}

impl BodyLimit {
    /// Refuses bodies longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.max,
        }
    }
}

/// See [`BodyLimit`].
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large() -> Response {
    ApiError::reason(StatusCode::PAYLOAD_TOO_LARGE).into_response()
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(length) if length > self.max as u64 => return Ok(too_large()),
            Some(_) => {}
            None => {
                // Read at most one byte past the limit; a longer body is never stored.
                let limit = self.max as u64 + 1;
                let mut buffer = Vec::new();
                request
                    .take_body()
                    .into_async_read()
                    .take(limit)
                    .read_to_end(&mut buffer)
                    .await
                    .map_err(|_| ApiError::reason(StatusCode::BAD_REQUEST))?;
                if buffer.len() > self.max {
                    return Ok(too_large());
                }
                request.set_body(Body::from(buffer));
            }
        }
        self.inner
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}
