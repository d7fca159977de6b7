//! The one escape hatch every port shares: a failure of the infrastructure behind it.

/// A boxed error from an adapter's framework, kept for logging its cause chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Infrastructure failure behind a port.
///
/// The HTTP adapter answers `Unavailable` with `503 Service Unavailable` plus `Retry-After`
/// (the failure is transient: database down, pool exhausted, lock timeout, hashing pool
/// saturated) and `Unexpected` with the fixed `500` body. Neither ever reaches a client's
/// body; the source is logged with its chain.
#[derive(Debug, thiserror::Error)]
pub enum Infra {
    #[error("a backing service is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("unexpected infrastructure failure")]
    Unexpected(#[source] BoxError),
}

impl Infra {
    /// Wraps any error as a transient outage.
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Self::Unavailable(e.into())
    }

    /// Wraps any error as an unexpected failure.
    pub fn unexpected(e: impl Into<BoxError>) -> Self {
        Self::Unexpected(e.into())
    }

    /// The same failure, saying which operation of the adapter it happened in (e.g.
    /// `sessions.rotate`): the log line reads "…unavailable: during sessions.rotate: <cause>".
    #[must_use]
    pub fn during(self, operation: &'static str) -> Self {
        let within = |source| Box::new(During { operation, source }) as BoxError;
        match self {
            Self::Unavailable(source) => Self::Unavailable(within(source)),
            Self::Unexpected(source) => Self::Unexpected(within(source)),
        }
    }
}

/// The operation a failure happened in, in front of its cause.
#[derive(Debug, thiserror::Error)]
#[error("during {operation}")]
struct During {
    operation: &'static str,
    #[source]
    source: BoxError,
}

/// `error: cause: cause…` — the whole chain on one line, for logs (never for clients).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_is_part_of_the_logged_chain() {
        let failure = Infra::unavailable("connection refused").during("users.get");
        assert!(matches!(failure, Infra::Unavailable(_)));
        assert_eq!(
            error_chain(&failure),
            "a backing service is unavailable: during users.get: connection refused"
        );
    }
}
