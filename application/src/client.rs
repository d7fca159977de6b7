//! Who is on the other end of a request, as far as policy cares.

/// The client's network identity: throttling keys on the IP, sessions record both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Client {
    /// The client IP as decided by the HTTP layer (socket peer, or the right-most untrusted
    /// `X-Forwarded-For` hop behind a trusted proxy).
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to 512 characters.
    pub user_agent: Option<String>,
}
