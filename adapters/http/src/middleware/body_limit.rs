//! Request bodies over the limit answer `413 {"detail":"Content Too Large"}` without being
//! buffered (SECURITY.md IN-01): a declared length is refused at once, a chunked body is
//! read only up to the limit. poem's `SizeLimit` needs `Content-Length`, so it won't do.
//! A body must also arrive within the read timeout, or `408 {"detail":"Request Timeout"}`
//! (SECURITY.md §5 B2): hyper has no body timeout, and the unread rest makes it close the
//! connection after answering.

use std::time::Duration;

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response,
    http::{StatusCode, header},
};
use tokio::io::AsyncReadExt;

use crate::problem::ApiError;

/// See the module documentation.
pub struct BodyLimit {
    max: usize,
    read_timeout: Duration,
}

impl BodyLimit {
    /// Refuses bodies longer than `max` bytes or slower than `read_timeout` to arrive.
    pub fn new(max: usize, read_timeout: Duration) -> Self {
        Self { max, read_timeout }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.max,
            read_timeout: self.read_timeout,
        }
    }
}

/// See [`BodyLimit`].
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
    read_timeout: Duration,
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
        if declared.is_some_and(|length| length > self.max as u64) {
            return Ok(too_large());
        }
        // Read at most one byte past the limit, so a longer chunked body is never stored;
        // within the limit the body is read here rather than by the handler, so its read
        // timeout is not the whole request's.
        let limit = self.max as u64 + 1;
        let mut buffer = Vec::new();
        let mut reader = request.take_body().into_async_read().take(limit);
        match tokio::time::timeout(self.read_timeout, reader.read_to_end(&mut buffer)).await {
            Err(_) => return Ok(ApiError::reason(StatusCode::REQUEST_TIMEOUT).into_response()),
            Ok(Err(_)) => return Ok(ApiError::reason(StatusCode::BAD_REQUEST).into_response()),
            Ok(Ok(_)) if buffer.len() > self.max => return Ok(too_large()),
            Ok(Ok(_)) => request.set_body(Body::from(buffer)),
        }
        self.inner
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}
