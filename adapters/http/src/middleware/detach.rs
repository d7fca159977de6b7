//! Routing and the handler run in a task of their own, so neither a client that hangs up
//! nor the request timeout cancels a use case half-way: a cancelled sqlx 0.9.0 transaction
//! can stay open holding its row locks (sqlx#4393), stalling every later request on those
//! rows. The answer may be abandoned; the work completes or rolls back. This sits inside the
//! body limit, which has read the whole (bounded) body already, so the task never waits on
//! the client. A handler that panics is answered 500 and its response marked [`Panicked`], so
//! the envelope's completion line says so and the panic is reported once, not twice.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

use crate::problem::ApiError;

/// Marks the 500 that stands in for a handler's panic.
#[derive(Clone, Copy, Debug)]
pub struct Panicked;

/// See the module documentation.
pub struct Detach;

impl<E: Endpoint + 'static> Middleware<E> for Detach {
    type Output = DetachEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        DetachEndpoint {
            inner: Arc::new(ep),
        }
    }
}

/// See [`Detach`].
pub struct DetachEndpoint<E> {
    inner: Arc<E>,
}

impl<E: Endpoint + 'static> Endpoint for DetachEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let inner = Arc::clone(&self.inner);
        let task = tokio::spawn(
            async move { inner.call(request).await.map(IntoResponse::into_response) }
                .in_current_span(),
        );
        task.await.unwrap_or_else(|failed| {
            let mut response = ApiError::internal().into_response();
            if failed.is_panic() {
                // The panic hook has logged what panicked and where.
                response.extensions_mut().insert(Panicked);
            } else {
                tracing::error!(error = %failed, "request task failed");
            }
            Ok(response)
        })
    }
}
