//! The access-token claim set every format carries, `sub, sid, jti, iat, nbf, exp, iss, aud` and
//! nothing else (TOK-15), and the checks our code makes after each library's own (TOK-04): ids
//! are UUIDs, and the token is valid at the `now` the caller passes.
//!
//! Why both clocks: jsonwebtoken and pasetors validate `exp`/`nbf` against the system clock and
//! cannot be given another one, while the port promises validity at the caller's `now` (the
//! application's `Clock`, driven by tests). A token is therefore accepted only when it is valid at
//! both instants. In production the two are the same clock; tests that move their clock forward
//! see expiry through our check, and tests issue with a past `now` to make tokens expire for the
//! libraries too. A test clock must therefore start near the real time.

use gatehouse_domain::ports::{AccessClaims, TokenRejected};
use gatehouse_domain::{Infra, SessionId, UserId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The claims as they travel; `T` is the timestamp encoding (JWT: seconds, PASETO: RFC 3339).
#[derive(Serialize, Deserialize)]
pub(crate) struct WireClaims<T> {
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) jti: String,
    pub(crate) iat: T,
    pub(crate) nbf: T,
    pub(crate) exp: T,
    pub(crate) iss: String,
    pub(crate) aud: String,
}

/// A JWT NumericDate: whole seconds since the epoch. Strings and fractions fail to deserialize
/// (TOK-05), whatever the JWT library accepts.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct UnixTime(#[serde(with = "time::serde::timestamp")] pub(crate) OffsetDateTime);

/// A PASETO registered time claim: an RFC 3339 string.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct Rfc3339Time(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

impl From<UnixTime> for OffsetDateTime {
    fn from(t: UnixTime) -> Self {
        t.0
    }
}

impl From<Rfc3339Time> for OffsetDateTime {
    fn from(t: Rfc3339Time) -> Self {
        t.0
    }
}

/// What one issued token says, before encoding.
pub(crate) struct Stamp {
    pub(crate) user: Uuid,
    pub(crate) session: Uuid,
    pub(crate) jti: Uuid,
    /// `iat` and `nbf` (the same instant).
    pub(crate) issued: OffsetDateTime,
    pub(crate) expires: OffsetDateTime,
}

impl Stamp {
    /// The claims for a token issued at `now` (whole seconds) for `ttl`, with `iat`/`nbf`
    /// back-dated by `backdate` for formats whose library allows no clock skew (TOK-07).
    ///
    /// # Errors
    /// `Infra::Unexpected` when `now + ttl` is past the last representable instant (an absurd
    /// lifetime; the start-up self-test reports it).
    pub(crate) fn new(
        claims: AccessClaims,
        now: OffsetDateTime,
        ttl: Duration,
        backdate: Duration,
    ) -> Result<Self, Infra> {
        let now = now - Duration::nanoseconds(i64::from(now.nanosecond()));
        let out_of_range = || Infra::unexpected("token lifetime beyond the representable dates");
        Ok(Self {
            user: claims.user.as_uuid(),
            session: claims.session.as_uuid(),
            jti: Uuid::new_v4(),
            issued: now.checked_sub(backdate).ok_or_else(out_of_range)?,
            expires: now.checked_add(ttl).ok_or_else(out_of_range)?,
        })
    }
}

/// Why a token was refused. Logged through [`TokenRejected`]; every reason answers the same 403,
/// and no reason text carries token content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    TooLong,
    Malformed,
    WrongType,
    CriticalHeader,
    UnknownKey,
    Algorithm,
    Signature,
    Claims,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    IssuedInFuture,
    Subject,
    Session,
    TokenId,
}

impl Reason {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "token too long",
            Self::Malformed => "malformed token",
            Self::WrongType => "not an access token",
            Self::CriticalHeader => "critical header extension",
            Self::UnknownKey => "unknown key",
            Self::Algorithm => "algorithm not allowed",
            Self::Signature => "bad signature",
            Self::Claims => "missing or mistyped claims",
            Self::Issuer => "wrong issuer",
            Self::Audience => "wrong audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not yet valid",
            Self::IssuedInFuture => "issued in the future",
            Self::Subject => "subject is not a user id",
            Self::Session => "session is not a session id",
            Self::TokenId => "token id is not a UUID",
        }
    }
}

impl From<Reason> for TokenRejected {
    fn from(reason: Reason) -> Self {
        TokenRejected(reason.as_str().to_owned())
    }
}

/// Our checks on claims whose signature and registered claims the library has verified.
///
/// # Errors
/// A [`Reason`] when an id is not a UUID or the token is outside its validity window at `now`,
/// allowing `leeway` of clock skew.
pub(crate) fn accept<T: Into<OffsetDateTime>>(
    wire: WireClaims<T>,
    now: OffsetDateTime,
    leeway: Duration,
) -> Result<AccessClaims, Reason> {
    let user = Uuid::try_parse(&wire.sub).map_err(|_| Reason::Subject)?;
    let session = Uuid::try_parse(&wire.sid).map_err(|_| Reason::Session)?;
    Uuid::try_parse(&wire.jti).map_err(|_| Reason::TokenId)?;
    // Differences, not `instant ± leeway`: a date near the end of the calendar cannot overflow.
    if now - wire.exp.into() > leeway {
        return Err(Reason::Expired);
    }
    if wire.nbf.into() - now > leeway {
        return Err(Reason::NotYetValid);
    }
    if wire.iat.into() - now > leeway {
        return Err(Reason::IssuedInFuture);
    }
    Ok(AccessClaims {
        user: UserId::from_uuid(user),
        session: SessionId::from_uuid(session),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00.75 UTC);

    fn wire(iat: OffsetDateTime, exp: OffsetDateTime) -> WireClaims<UnixTime> {
        WireClaims {
            sub: Uuid::new_v4().to_string(),
            sid: Uuid::new_v4().to_string(),
            jti: Uuid::new_v4().to_string(),
            iat: UnixTime(iat),
            nbf: UnixTime(iat),
            exp: UnixTime(exp),
            iss: "gatehouse".into(),
            aud: "gatehouse-api".into(),
        }
    }

    #[test]
    fn stamps_use_whole_seconds_of_the_given_now() {
        let claims = AccessClaims {
            user: UserId::random(),
            session: SessionId::random(),
        };
        let stamp = Stamp::new(claims, NOW, Duration::minutes(15), Duration::seconds(5)).unwrap();
        assert_eq!(stamp.issued, datetime!(2026-06-01 11:59:55 UTC));
        assert_eq!(stamp.expires, datetime!(2026-06-01 12:15:00 UTC));
        assert_eq!(stamp.user, claims.user.as_uuid());
        assert_eq!(stamp.session, claims.session.as_uuid());
    }

    #[test]
    fn the_window_is_checked_at_the_given_now_with_leeway() {
        let leeway = Duration::seconds(60);
        let expired_61 = wire(NOW - Duration::minutes(16), NOW - Duration::seconds(61));
        assert_eq!(
            accept(expired_61, NOW, leeway).unwrap_err(),
            Reason::Expired
        );
        let expired_30 = wire(NOW - Duration::minutes(16), NOW - Duration::seconds(30));
        assert!(accept(expired_30, NOW, leeway).is_ok());
        let future = wire(NOW + Duration::seconds(61), NOW + Duration::minutes(15));
        assert_eq!(
            accept(future, NOW, leeway).unwrap_err(),
            Reason::NotYetValid
        );
        let mut issued_later = wire(NOW, NOW + Duration::minutes(15));
        issued_later.iat = UnixTime(NOW + Duration::minutes(2));
        assert_eq!(
            accept(issued_later, NOW, leeway).unwrap_err(),
            Reason::IssuedInFuture
        );
    }

    #[test]
    fn dates_at_the_ends_of_the_calendar_do_not_overflow() {
        let last = datetime!(9999-12-31 23:59:59 UTC);
        let first = datetime!(-9999-01-01 00:00:00 UTC);
        assert!(accept(wire(first, last), NOW, Duration::seconds(60)).is_ok());
        let claims = AccessClaims {
            user: UserId::random(),
            session: SessionId::random(),
        };
        assert!(Stamp::new(claims, last, Duration::minutes(15), Duration::ZERO).is_err());
    }

    #[test]
    fn ids_must_be_uuids() {
        let mut bad = wire(NOW, NOW + Duration::minutes(15));
        bad.sub = "1".into();
        assert_eq!(
            accept(bad, NOW, Duration::ZERO).unwrap_err(),
            Reason::Subject
        );
        let mut bad = wire(NOW, NOW + Duration::minutes(15));
        bad.sid = "admin@example.com".into();
        assert_eq!(
            accept(bad, NOW, Duration::ZERO).unwrap_err(),
            Reason::Session
        );
        let mut bad = wire(NOW, NOW + Duration::minutes(15));
        bad.jti = String::new();
        assert_eq!(
            accept(bad, NOW, Duration::ZERO).unwrap_err(),
            Reason::TokenId
        );
    }
}
