//! Fixtures of the crate's integration tests and benches, which cannot reach the library's
//! `testkit`: the production token settings and fresh claims. Benches include this file by
//! path.

use gatehouse_domain::ports::AccessClaims;
use gatehouse_domain::{SessionId, UserId};
use gatehouse_tokens::TokenSettings;
use time::Duration;

/// The production defaults of `.env.example`.
pub fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "gatehouse".into(),
        audience: "gatehouse-api".into(),
        ttl: Duration::minutes(15),
        environment: "production".into(),
    }
}

/// Claims for a fresh user and session.
pub fn claims() -> AccessClaims {
    AccessClaims {
        user: UserId::random(),
        session: SessionId::random(),
    }
}
