//! Access tokens: the format, its keys parsed and checked by the tokens adapter (a bad PEM or
//! PASERK is a configuration error, never a panic: pitfall K4), issuer, audience and lifetime.
//! Keys come from a variable or a `_FILE` (SECURITY.md CFG-04/CFG-05).

use gatehouse_domain::Secret;
use gatehouse_tokens::{
    Ed25519PublicKey, Ed25519SigningKey, HmacSecret, KeyError, KeyPurpose, LocalKey, TokenFormat,
    derive_key,
};
use time::Duration;

use super::environment::Environment;
use super::parse::Bounds;
use super::raw::RawSettings;
use super::report::Report;

/// `TOKEN_FORMAT` values (SECURITY.md D10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    JwtHs256,
    JwtEddsa,
    PasetoV4Local,
    PasetoV4Public,
}

const KINDS: [(&str, Kind); 4] = [
    ("jwt-hs256", Kind::JwtHs256),
    ("jwt-eddsa", Kind::JwtEddsa),
    ("paseto-v4-local", Kind::PasetoV4Local),
    ("paseto-v4-public", Kind::PasetoV4Public),
];

/// The `TOKEN_FORMAT` spelling of a built format.
fn format_name(format: &TokenFormat) -> &'static str {
    match format {
        TokenFormat::JwtHs256 { .. } => "jwt-hs256",
        TokenFormat::JwtEdDsa { .. } => "jwt-eddsa",
        TokenFormat::PasetoLocal { .. } => "paseto-v4-local",
        TokenFormat::PasetoPublic { .. } => "paseto-v4-public",
    }
}

/// The format and how many rotated-out keys still verify, for `check-config`.
pub(super) fn describe(format: &TokenFormat) -> String {
    let previous = match format {
        TokenFormat::JwtHs256 { .. } => return "jwt-hs256 (keyed by SECRET_KEY)".to_owned(),
        TokenFormat::JwtEdDsa { previous, .. } | TokenFormat::PasetoPublic { previous, .. } => {
            previous.len()
        }
        TokenFormat::PasetoLocal { previous, .. } => previous.len(),
    };
    format!("{} ({previous} previous key(s))", format_name(format))
}

/// Everything `gatehouse_tokens::build_access_tokens` takes. Not `Clone`: the keys are moved
/// into the token service once.
#[derive(Debug)]
pub struct AccessTokenSettings {
    /// The format with its parsed keys; the first signs, the `previous` ones still verify.
    pub format: TokenFormat,
    /// Issuer, audience, lifetime and environment (bound into PASETO implicit assertions).
    pub claims: gatehouse_tokens::TokenSettings,
}

/// Minutes above which an access-token lifetime earns a start-up warning (SECURITY.md D10).
const LONG_LIFETIME_MINUTES: u32 = 60;

/// Reads the token section. `None` only with an error recorded (or when `secret_key`, which
/// records its own, is missing).
pub(super) fn settings(
    report: &mut Report,
    raw: &RawSettings,
    environment: Environment,
    secret_key: Option<&Secret>,
) -> Option<AccessTokenSettings> {
    /// Ten years, in minutes.
    const MAX_LIFETIME_MINUTES: u32 = 10 * 525_600;
    let kind = report.choice(
        "TOKEN_FORMAT",
        raw.token_format.as_deref(),
        Kind::JwtHs256,
        &KINDS,
    );
    let minutes = report.number(
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        raw.access_token_expire_minutes.as_deref(),
        15u32,
        Bounds::between(1, MAX_LIFETIME_MINUTES, "minutes"),
    );
    // CONTRACT.md §9e and SECURITY.md D10 accept any positive value with a warning; they win
    // over the SECURITY.md §4.3 row that would refuse 61. Only lifetimes past ten years, which
    // no client needs and whose expiry dates overflow, are refused.
    if minutes > LONG_LIFETIME_MINUTES && !environment.is_development() {
        report.warn(
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            format!(
                "is above {LONG_LIFETIME_MINUTES} minutes: a stolen access token stays usable longer; raise it only for clients that cannot refresh"
            ),
        );
    }
    let claims = gatehouse_tokens::TokenSettings {
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
        ttl: Duration::minutes(i64::from(minutes)),
        environment: environment.as_str().to_owned(),
    };
    let signing = material(
        report,
        ("TOKEN_SIGNING_KEY", raw.token_signing_key.as_deref()),
        (
            "TOKEN_SIGNING_KEY_FILE",
            raw.token_signing_key_file.as_deref(),
        ),
    );
    let previous = material(
        report,
        (
            "TOKEN_VERIFICATION_KEYS",
            raw.token_verification_keys.as_deref(),
        ),
        (
            "TOKEN_VERIFICATION_KEYS_FILE",
            raw.token_verification_keys_file.as_deref(),
        ),
    );
    let format = match kind {
        Kind::JwtHs256 => hs256(report, &signing, &previous, secret_key?),
        Kind::JwtEddsa => {
            let (signing, previous) = ed25519(report, &signing, &previous, "jwt-eddsa")?;
            Some(TokenFormat::JwtEdDsa { signing, previous })
        }
        Kind::PasetoV4Public => {
            let (signing, previous) = ed25519(report, &signing, &previous, "paseto-v4-public")?;
            Some(TokenFormat::PasetoPublic { signing, previous })
        }
        Kind::PasetoV4Local => paseto_local(report, &signing, &previous, secret_key?),
    }?;
    Some(AccessTokenSettings { format, claims })
}

/// Where a key came from: the variable or its `_FILE`, named in messages.
struct Material {
    variable: &'static str,
    value: Secret,
}

/// `jwt-hs256` signs with `SECRET_KEY`; a configured key would be silently unused, so refuse it.
fn hs256(
    report: &mut Report,
    signing: &Option<Material>,
    previous: &Option<Material>,
    secret_key: &Secret,
) -> Option<TokenFormat> {
    for material in [signing, previous].into_iter().flatten() {
        report.error(
            material.variable,
            "is not used by TOKEN_FORMAT=jwt-hs256, which signs with SECRET_KEY; unset it or choose another TOKEN_FORMAT",
        );
    }
    let secret = HmacSecret::new(secret_key.expose().as_bytes())
        .map_err(|e| report.error("SECRET_KEY", e.to_string()))
        .ok()?;
    Some(TokenFormat::JwtHs256 { secret })
}

/// Ed25519 formats need a configured private key; old public keys may follow.
fn ed25519(
    report: &mut Report,
    signing: &Option<Material>,
    previous: &Option<Material>,
    format: &str,
) -> Option<(Ed25519SigningKey, Vec<Ed25519PublicKey>)> {
    let Some(signing) = signing else {
        report.error(
            "TOKEN_SIGNING_KEY",
            format!(
                "is required by TOKEN_FORMAT={format}: expected an Ed25519 private key as PKCS#8 PEM or a k4.secret. PASERK (see `gatehouse generate-key --format {format}`), in the variable or in TOKEN_SIGNING_KEY_FILE"
            ),
        );
        return None;
    };
    let signing = parsed(report, signing, None, Ed25519SigningKey::parse);
    let previous = previous_keys(report, previous, Ed25519PublicKey::parse);
    Some((signing?, previous?))
}

/// v4.local takes a `k4.local.` PASERK, or derives its key from `SECRET_KEY` (TOK-08).
fn paseto_local(
    report: &mut Report,
    signing: &Option<Material>,
    previous: &Option<Material>,
    secret_key: &Secret,
) -> Option<TokenFormat> {
    let current = match signing {
        Some(material) => parsed(report, material, None, LocalKey::parse),
        None => LocalKey::from_derived(&derive_key(
            secret_key.expose().as_bytes(),
            KeyPurpose::PasetoLocal,
        ))
        .map_err(|e| report.error("SECRET_KEY", e.to_string()))
        .ok(),
    };
    let previous = previous_keys(report, previous, LocalKey::parse);
    Some(TokenFormat::PasetoLocal {
        current: current?,
        previous: previous?,
    })
}

/// Parses one key; the adapter's messages name the expected form, never the key.
fn parsed<K>(
    report: &mut Report,
    material: &Material,
    position: Option<usize>,
    parse: impl Fn(&str) -> Result<K, KeyError>,
) -> Option<K> {
    parse(material.value.expose())
        .map_err(|e| {
            let which = position.map_or(String::new(), |n| format!("key {n}: "));
            report.error(material.variable, format!("{which}{e}"));
        })
        .ok()
}

/// Every key of a rotation list; `None` if any is unusable.
fn previous_keys<K>(
    report: &mut Report,
    previous: &Option<Material>,
    parse: impl Fn(&str) -> Result<K, KeyError>,
) -> Option<Vec<K>> {
    let Some(material) = previous else {
        return Some(Vec::new());
    };
    let keys: Vec<Option<K>> = split_keys(material.value.expose())
        .into_iter()
        .enumerate()
        .map(|(n, key)| {
            let one = Material {
                variable: material.variable,
                value: Secret::new(key),
            };
            parsed(report, &one, Some(n + 1), &parse)
        })
        .collect();
    keys.into_iter().collect()
}

/// Splits a key list: PEM blocks are kept whole, other entries (PASERKs) are separated by
/// commas or whitespace.
fn split_keys(text: &str) -> Vec<&str> {
    const END: &str = "-----END";
    let mut keys = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return keys;
        }
        let length = if rest.starts_with("-----BEGIN") {
            rest.find(END)
                .and_then(|end| {
                    let after = end + END.len();
                    rest[after..].find("-----").map(|close| after + close + 5)
                })
                .unwrap_or(rest.len())
        } else {
            rest.find(|c: char| c == ',' || c.is_whitespace())
                .unwrap_or(rest.len())
        };
        keys.push(&rest[..length]);
        rest = &rest[length..];
    }
}

/// A short identifier (`iss`, `aud`): 1–128 visible ASCII characters without spaces, so it
/// travels unchanged in claims and implicit assertions.
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

/// Key material from `VAR` or from the file named by `VAR_FILE` (mounted secrets), not both.
/// File contents are trimmed; read errors name the path, never the content.
fn material(
    report: &mut Report,
    (variable, value): (&'static str, Option<&str>),
    (file_variable, path): (&'static str, Option<&str>),
) -> Option<Material> {
    let value = match (value, path) {
        (Some(_), Some(_)) => {
            report.error(
                file_variable,
                format!("set either {variable} or {file_variable}, not both"),
            );
            return None;
        }
        (Some(value), None) => (variable, value.trim().to_owned()),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(content) if !content.trim().is_empty() => (file_variable, content.trim().to_owned()),
            Ok(_) => {
                report.error(file_variable, format!("the file {path} is empty"));
                return None;
            }
            Err(e) => {
                report.error(file_variable, format!("could not read {path}: {e}"));
                return None;
            }
        },
        (None, None) => return None,
    };
    Some(Material {
        variable: value.0,
        value: Secret::new(value.1),
    })
}

/// The `check-config` line of the access tokens (never a key).
pub(super) fn describe_settings(tokens: &AccessTokenSettings) -> String {
    format!(
        "{}, issuer {}, audience {}, {} min",
        describe(&tokens.format),
        tokens.claims.issuer,
        tokens.claims.audience,
        tokens.claims.ttl.whole_minutes()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA";

    fn validate(
        raw: &RawSettings,
        environment: Environment,
    ) -> (Option<AccessTokenSettings>, Report) {
        let mut report = Report::new();
        let secret = Secret::new(SECRET);
        let tokens = settings(&mut report, raw, environment, Some(&secret));
        (tokens, report)
    }

    fn refused(raw: &RawSettings) -> super::super::ConfigErrors {
        validate(raw, Environment::Production)
            .1
            .finish()
            .unwrap_err()
    }

    fn with(format: &str, key: Option<&str>, previous: Option<&str>) -> RawSettings {
        RawSettings {
            token_format: Some(format.into()),
            token_signing_key: key.map(str::to_owned),
            token_verification_keys: previous.map(str::to_owned),
            ..RawSettings::default()
        }
    }

    #[test]
    fn defaults_match_the_contract() {
        let (tokens, report) = validate(&RawSettings::default(), Environment::Production);
        assert!(report.finish().unwrap().is_empty());
        let tokens = tokens.unwrap();
        assert_eq!(format_name(&tokens.format), "jwt-hs256");
        assert_eq!(tokens.claims.ttl, Duration::minutes(15));
        assert_eq!(tokens.claims.issuer, "gatehouse");
        assert_eq!(tokens.claims.audience, "gatehouse-api");
        assert_eq!(tokens.claims.environment, "production");
        assert!(!format!("{tokens:?}").contains(SECRET));
    }

    #[test]
    fn long_lifetimes_warn_outside_development_only() {
        let raw = RawSettings {
            access_token_expire_minutes: Some("61".into()),
            ..RawSettings::default()
        };
        let (tokens, report) = validate(&raw, Environment::Production);
        assert_eq!(tokens.unwrap().claims.ttl, Duration::minutes(61));
        assert_eq!(
            report.finish().unwrap()[0].variable,
            "ACCESS_TOKEN_EXPIRE_MINUTES"
        );
        let (_, report) = validate(&raw, Environment::Development);
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
                ..with(format, None, None)
            };
            assert!(validate(&raw, Environment::Production).1.finish().is_err());
        }
        let raw = RawSettings {
            token_issuer: Some("has space".into()),
            ..RawSettings::default()
        };
        assert!(refused(&raw).names("TOKEN_ISSUER"));
    }

    #[test]
    fn every_format_builds_from_generated_keys() {
        let ed = Ed25519SigningKey::generate().unwrap();
        let old = Ed25519SigningKey::generate().unwrap().public_key();
        let local = LocalKey::generate().unwrap();
        let rotation = format!("{}\n{}", old.to_pem(), old.to_paserk());
        for (format, key, previous, name) in [
            (
                "jwt-eddsa",
                Some(ed.to_pem()),
                Some(rotation.clone()),
                "jwt-eddsa",
            ),
            (
                "paseto-v4-public",
                Some(ed.to_paserk()),
                Some(rotation),
                "paseto-v4-public",
            ),
            (
                "paseto-v4-local",
                Some(local.to_paserk()),
                None,
                "paseto-v4-local",
            ),
            (
                "paseto-v4-local",
                None,
                Some(local.to_paserk()),
                "paseto-v4-local",
            ),
        ] {
            let raw = with(format, key.as_deref(), previous.as_deref());
            let (tokens, report) = validate(&raw, Environment::Production);
            assert!(report.finish().is_ok(), "{format}");
            assert_eq!(format_name(&tokens.unwrap().format), name);
        }
    }

    #[test]
    fn bad_keys_are_errors_never_panics_or_echoes() {
        let zeros = format!("k4.local.{}", "A".repeat(43));
        let zero_seed = format!("k4.secret.{}", "A".repeat(86));
        for (format, key) in [
            ("paseto-v4-local", "k4.secret.bm90LWxvY2Fs"),
            ("paseto-v4-local", "k4.local.c2hvcnQ"),
            ("paseto-v4-local", zeros.as_str()),
            ("paseto-v4-public", zero_seed.as_str()),
            (
                "jwt-eddsa",
                "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----",
            ),
        ] {
            let errors = refused(&with(format, Some(key), None));
            assert!(errors.names("TOKEN_SIGNING_KEY"), "{format} {key}");
            assert!(!errors.to_string().contains(key));
        }
        assert!(refused(&with("jwt-eddsa", None, None)).names("TOKEN_SIGNING_KEY"));
        let errors = refused(&with(
            "jwt-eddsa",
            Some(&Ed25519SigningKey::generate().unwrap().to_pem()),
            Some("k4.public.AAAA, k4.local.x"),
        ));
        assert_eq!(errors.0.len(), 2, "{errors}");
        assert!(errors.0[1].message.starts_with("key 2: "));
    }

    #[test]
    fn jwt_hs256_refuses_unused_keys() {
        let errors = refused(&with("jwt-hs256", Some("k4.local.x"), Some("k4.public.y")));
        assert!(errors.names("TOKEN_SIGNING_KEY") && errors.names("TOKEN_VERIFICATION_KEYS"));
    }

    #[test]
    fn keys_come_from_a_variable_or_a_file_but_not_both() {
        let path = std::env::temp_dir().join(format!("gatehouse-key-{}", std::process::id()));
        let key = LocalKey::generate().unwrap().to_paserk();
        std::fs::write(&path, format!("{key}\n")).unwrap();
        let raw = RawSettings {
            token_format: Some("paseto-v4-local".into()),
            token_signing_key_file: Some(path.display().to_string()),
            ..RawSettings::default()
        };
        let (tokens, report) = validate(&raw, Environment::Production);
        assert!(report.finish().is_ok() && tokens.is_some());
        let both = RawSettings {
            token_signing_key: Some(key.clone()),
            ..raw
        };
        assert!(refused(&both).names("TOKEN_SIGNING_KEY_FILE"));
        std::fs::remove_file(path).unwrap();
        let missing = RawSettings {
            token_format: Some("paseto-v4-local".into()),
            token_signing_key_file: Some("/nonexistent/gatehouse.key".into()),
            ..RawSettings::default()
        };
        assert!(refused(&missing).names("TOKEN_SIGNING_KEY_FILE"));
    }

    #[test]
    fn key_lists_keep_pem_blocks_whole() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        let list = format!("{pem}\n{pem}, k4.public.a k4.public.b,");
        assert_eq!(split_keys(&list), [pem, pem, "k4.public.a", "k4.public.b"]);
        assert!(split_keys(" , ").is_empty());
    }
}
