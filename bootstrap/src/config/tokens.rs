//! Access-token settings: format, issuer and audience, lifetime, and the key material for the
//! non-default formats (read from a variable or a `_FILE`, SECURITY.md CFG-04/CFG-05).

use gatehouse_domain::Secret;
use time::Duration;

use super::parse::Bounds;
use super::raw::RawSettings;
use super::report::Report;

/// The wire format of access tokens (SECURITY.md D10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFormat {
    /// HS256 JWT keyed by `SECRET_KEY`: what the template's clients expect.
    JwtHs256,
    /// Ed25519 JWT, published in `/.well-known/jwks.json`.
    JwtEddsa,
    /// PASETO v4.local (symmetric, encrypted).
    PasetoV4Local,
    /// PASETO v4.public (Ed25519 signatures).
    PasetoV4Public,
}

impl TokenFormat {
    const ALL: [(&'static str, Self); 4] = [
        ("jwt-hs256", Self::JwtHs256),
        ("jwt-eddsa", Self::JwtEddsa),
        ("paseto-v4-local", Self::PasetoV4Local),
        ("paseto-v4-public", Self::PasetoV4Public),
    ];

    /// The `TOKEN_FORMAT` spelling.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, format)| *format == self)
            .map_or("jwt-hs256", |(name, _)| name)
    }

    /// Formats verified with public keys, which can publish them and keep old ones for rotation.
    pub fn is_asymmetric(self) -> bool {
        matches!(self, Self::JwtEddsa | Self::PasetoV4Public)
    }

    /// What `TOKEN_SIGNING_KEY` must hold for this format, for messages and `.env.example`.
    fn key_form(self) -> &'static str {
        match self {
            Self::JwtHs256 => "nothing (jwt-hs256 signs with SECRET_KEY)",
            Self::JwtEddsa => "an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
            Self::PasetoV4Local => "a k4.local. PASERK (32 random bytes)",
            Self::PasetoV4Public => "a k4.secret. PASERK or an Ed25519 private key in PKCS#8 PEM",
        }
    }

    /// A cheap shape check of the key; the tokens adapter parses it fully at start-up.
    fn accepts_key(self, key: &str) -> bool {
        const PEM: &str = "-----BEGIN PRIVATE KEY-----";
        match self {
            Self::JwtHs256 => false,
            Self::JwtEddsa => key.starts_with(PEM),
            Self::PasetoV4Local => key.starts_with("k4.local."),
            Self::PasetoV4Public => key.starts_with("k4.secret.") || key.starts_with(PEM),
        }
    }
}

/// How access tokens are made and checked.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub format: TokenFormat,
    /// `iss`, checked exactly (SECURITY.md TOK-04).
    pub issuer: String,
    /// `aud`, checked exactly.
    pub audience: String,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES` (CONTRACT.md §9e: 15 by default).
    pub access_token_lifetime: Duration,
    /// The private key for every format but jwt-hs256 (which uses `SECRET_KEY`); PEM or PASERK.
    pub signing_key: Option<Secret>,
    /// The `kid` naming the signing key in tokens and the JWKS; `None` lets the adapter derive one.
    pub signing_key_id: Option<String>,
    /// Extra public keys still accepted during a rotation, as configured (PEM or PASERK, one
    /// per line or comma-separated); parsed by the tokens adapter.
    pub verification_keys: Option<String>,
}

/// Minutes above which an access-token lifetime earns a start-up warning (SECURITY.md D10).
const LONG_LIFETIME_MINUTES: u32 = 60;

pub(super) fn settings(report: &mut Report, raw: &RawSettings, development: bool) -> TokenSettings {
    let format = report.choice(
        "TOKEN_FORMAT",
        raw.token_format.as_deref(),
        TokenFormat::JwtHs256,
        &TokenFormat::ALL,
    );
    let minutes = report.number(
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        raw.access_token_expire_minutes.as_deref(),
        15u32,
        Bounds::at_least(1, "minutes"),
    );
    // CONTRACT.md §9e and SECURITY.md D10 accept any positive value with a warning; they win
    // over the §4.3 row that would refuse 61.
    if minutes > LONG_LIFETIME_MINUTES && !development {
        report.warn(
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            format!(
                "is above {LONG_LIFETIME_MINUTES} minutes: stolen access tokens stay usable longer; raise it only for clients that cannot refresh"
            ),
        );
    }
    let signing_key = material(
        report,
        ("TOKEN_SIGNING_KEY", raw.token_signing_key.as_deref()),
        (
            "TOKEN_SIGNING_KEY_FILE",
            raw.token_signing_key_file.as_deref(),
        ),
    );
    // A variable that failed to yield a key has its own error already.
    let key_attempted = raw.token_signing_key.is_some() || raw.token_signing_key_file.is_some();
    match (&signing_key, format) {
        (Some(_), TokenFormat::JwtHs256) => report.error(
            "TOKEN_SIGNING_KEY",
            "is not used by TOKEN_FORMAT=jwt-hs256, which signs with SECRET_KEY; unset it or choose another TOKEN_FORMAT",
        ),
        (None, TokenFormat::JwtHs256) => {}
        (None, _) if key_attempted => {}
        (None, _) => report.error(
            "TOKEN_SIGNING_KEY",
            format!(
                "is required by TOKEN_FORMAT={}: expected {} (in the variable or in TOKEN_SIGNING_KEY_FILE)",
                format.as_str(),
                format.key_form()
            ),
        ),
        (Some(key), _) if !format.accepts_key(key.expose()) => report.error(
            "TOKEN_SIGNING_KEY",
            format!(
                "does not fit TOKEN_FORMAT={}: expected {}",
                format.as_str(),
                format.key_form()
            ),
        ),
        (Some(_), _) => {}
    }
    let verification_keys = material(
        report,
        (
            "TOKEN_VERIFICATION_KEYS",
            raw.token_verification_keys.as_deref(),
        ),
        (
            "TOKEN_VERIFICATION_KEYS_FILE",
            raw.token_verification_keys_file.as_deref(),
        ),
    )
    .map(|keys| keys.expose().to_owned());
    if verification_keys.is_some() && !format.is_asymmetric() {
        report.error(
            "TOKEN_VERIFICATION_KEYS",
            "only applies to public-key formats (jwt-eddsa, paseto-v4-public); unset it",
        );
    }
    TokenSettings {
        format,
        issuer: name(
            report,
            "TOKEN_ISSUER",
            raw.token_issuer.as_deref(),
            "gatehouse",
        ),
        audience: name(
            report,
            "TOKEN_AUDIENCE",
            raw.token_audience.as_deref(),
            "gatehouse-api",
        ),
        access_token_lifetime: Duration::minutes(i64::from(minutes)),
        signing_key,
        signing_key_id: raw
            .token_signing_key_id
            .as_deref()
            .map(|kid| name(report, "TOKEN_SIGNING_KEY_ID", Some(kid), "")),
        verification_keys,
    }
}

/// A short identifier (`iss`, `aud`, `kid`): 1–128 visible ASCII characters without spaces, so
/// it travels unchanged in headers, claims and footers.
fn name(report: &mut Report, variable: &'static str, raw: Option<&str>, default: &str) -> String {
    let Some(raw) = raw else {
        return default.to_owned();
    };
    let fine = (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
    if !fine {
        report.error(
            variable,
            "expected 1 to 128 visible ASCII characters without spaces",
        );
    }
    raw.to_owned()
}

/// Key material from `VAR` or from the file named by `VAR_FILE` (for mounted secrets), but not
/// both. File contents are trimmed; read errors name the path, never the content.
fn material(
    report: &mut Report,
    (variable, value): (&'static str, Option<&str>),
    (file_variable, path): (&'static str, Option<&str>),
) -> Option<Secret> {
    match (value, path) {
        (Some(_), Some(_)) => {
            report.error(
                file_variable,
                format!("set either {variable} or {file_variable}, not both"),
            );
            None
        }
        (Some(value), None) => Some(Secret::new(value.trim())),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(content) if !content.trim().is_empty() => Some(Secret::new(content.trim())),
            Ok(_) => {
                report.error(file_variable, format!("the file {path} is empty"));
                None
            }
            Err(e) => {
                report.error(file_variable, format!("could not read {path}: {e}"));
                None
            }
        },
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(raw: &RawSettings, development: bool) -> (TokenSettings, Report) {
        let mut report = Report::new();
        let tokens = settings(&mut report, raw, development);
        (tokens, report)
    }

    #[test]
    fn defaults_match_the_contract() {
        let (tokens, report) = validate(&RawSettings::default(), false);
        assert!(report.finish().unwrap().is_empty());
        assert_eq!(tokens.format, TokenFormat::JwtHs256);
        assert_eq!(tokens.access_token_lifetime, Duration::minutes(15));
        assert_eq!(
            (tokens.issuer.as_str(), tokens.audience.as_str()),
            ("gatehouse", "gatehouse-api")
        );
    }

    #[test]
    fn long_lifetimes_warn_outside_development_only() {
        let raw = RawSettings {
            access_token_expire_minutes: Some("61".into()),
            ..RawSettings::default()
        };
        let (tokens, report) = validate(&raw, false);
        assert_eq!(tokens.access_token_lifetime, Duration::minutes(61));
        assert_eq!(
            report.finish().unwrap()[0].variable,
            "ACCESS_TOKEN_EXPIRE_MINUTES"
        );
        let (_, report) = validate(&raw, true);
        assert!(report.finish().unwrap().is_empty());
    }

    #[test]
    fn malformed_values_are_errors() {
        for (minutes, format) in [
            ("abc", "jwt-hs256"),
            ("0", "jwt-hs256"),
            ("15", "jwt-rs256"),
        ] {
            let raw = RawSettings {
                access_token_expire_minutes: Some(minutes.into()),
                token_format: Some(format.into()),
                ..RawSettings::default()
            };
            assert!(
                validate(&raw, true).1.finish().is_err(),
                "{minutes} {format}"
            );
        }
    }

    #[test]
    fn non_default_formats_need_a_fitting_key() {
        let raw = RawSettings {
            token_format: Some("paseto-v4-local".into()),
            ..RawSettings::default()
        };
        assert!(
            validate(&raw, true)
                .1
                .finish()
                .unwrap_err()
                .names("TOKEN_SIGNING_KEY")
        );
        let raw = RawSettings {
            token_format: Some("paseto-v4-local".into()),
            token_signing_key: Some("k4.secret.not-local".into()),
            ..RawSettings::default()
        };
        let errors = validate(&raw, true).1.finish().unwrap_err();
        assert!(errors.names("TOKEN_SIGNING_KEY"));
        assert!(!errors.to_string().contains("not-local"));
        let raw = RawSettings {
            token_signing_key: Some("k4.local.AAAA".into()),
            ..RawSettings::default()
        };
        assert!(
            validate(&raw, true)
                .1
                .finish()
                .unwrap_err()
                .names("TOKEN_SIGNING_KEY")
        );
    }

    #[test]
    fn keys_come_from_a_variable_or_a_file_but_not_both() {
        let path = std::env::temp_dir().join(format!("gatehouse-key-{}", std::process::id()));
        std::fs::write(&path, "k4.local.from-a-file\n").unwrap();
        let raw = RawSettings {
            token_format: Some("paseto-v4-local".into()),
            token_signing_key_file: Some(path.display().to_string()),
            ..RawSettings::default()
        };
        let (tokens, report) = validate(&raw, true);
        assert!(report.finish().is_ok());
        assert_eq!(tokens.signing_key.unwrap().expose(), "k4.local.from-a-file");
        let both = RawSettings {
            token_signing_key: Some("k4.local.x".into()),
            ..raw
        };
        assert!(
            validate(&both, true)
                .1
                .finish()
                .unwrap_err()
                .names("TOKEN_SIGNING_KEY_FILE")
        );
        std::fs::remove_file(path).unwrap();
        let missing = RawSettings {
            token_format: Some("paseto-v4-local".into()),
            token_signing_key_file: Some("/nonexistent/gatehouse.key".into()),
            ..RawSettings::default()
        };
        assert!(
            validate(&missing, true)
                .1
                .finish()
                .unwrap_err()
                .names("TOKEN_SIGNING_KEY_FILE")
        );
    }

    #[test]
    fn verification_keys_and_ids_are_checked() {
        let raw = RawSettings {
            token_verification_keys: Some("k4.public.x".into()),
            token_signing_key_id: Some("has space".into()),
            ..RawSettings::default()
        };
        let errors = validate(&raw, true).1.finish().unwrap_err();
        assert!(errors.names("TOKEN_VERIFICATION_KEYS"));
        assert!(errors.names("TOKEN_SIGNING_KEY_ID"));
    }
}
