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
use super::vars::Vars;

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
    v: &mut Vars<'_>,
    environment: Environment,
    secret_key: Option<&Secret>,
) -> Option<AccessTokenSettings> {
    /// Ten years, in minutes.
    const MAX_LIFETIME_MINUTES: u32 = 10 * 525_600;
    let kind = v.choice("TOKEN_FORMAT", Kind::JwtHs256, &KINDS);
    let minutes = v.number(
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        15u32,
        1..=MAX_LIFETIME_MINUTES,
        "minutes",
    );
    // CONTRACT.md §9e and SECURITY.md D10 accept any positive value with a warning; they win
    // over the SECURITY.md §4.3 row that would refuse 61. Only lifetimes past ten years, which
    // no client needs and whose expiry dates overflow, are refused.
    if minutes > LONG_LIFETIME_MINUTES && !environment.is_development() {
        v.warn(
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            format!(
                "is above {LONG_LIFETIME_MINUTES} minutes: a stolen access token stays usable longer; raise it only for clients that cannot refresh"
            ),
        );
    }
    let claims = gatehouse_tokens::TokenSettings {
        issuer: name(v, "TOKEN_ISSUER", "gatehouse"),
        audience: name(v, "TOKEN_AUDIENCE", "gatehouse-api"),
        ttl: Duration::minutes(i64::from(minutes)),
        environment: environment.as_str().to_owned(),
    };
    let signing = material(v, "TOKEN_SIGNING_KEY", "TOKEN_SIGNING_KEY_FILE");
    let previous = material(v, "TOKEN_VERIFICATION_KEYS", "TOKEN_VERIFICATION_KEYS_FILE");
    let format = match kind {
        Kind::JwtHs256 => {
            let secret_key = secret_key?;
            // It signs with `SECRET_KEY`; a configured key would be silently unused, so refuse it.
            for material in [&signing, &previous].into_iter().flatten() {
                v.error(
                    material.variable,
                    "is not used by TOKEN_FORMAT=jwt-hs256, which signs with SECRET_KEY; unset it or choose another TOKEN_FORMAT",
                );
            }
            let secret = HmacSecret::new(secret_key.expose().as_bytes());
            TokenFormat::JwtHs256 {
                secret: secret
                    .map_err(|e| v.error("SECRET_KEY", e.to_string()))
                    .ok()?,
            }
        }
        Kind::JwtEddsa => {
            let (signing, previous) = ed25519(v, signing, &previous, "jwt-eddsa")?;
            TokenFormat::JwtEdDsa { signing, previous }
        }
        Kind::PasetoV4Public => {
            let (signing, previous) = ed25519(v, signing, &previous, "paseto-v4-public")?;
            TokenFormat::PasetoPublic { signing, previous }
        }
        // v4.local takes a `k4.local.` PASERK, or derives its key from `SECRET_KEY` (TOK-08).
        Kind::PasetoV4Local => {
            let secret_key = secret_key?;
            let current = match signing {
                Some(material) => material.parse(v, LocalKey::parse),
                None => {
                    let derived =
                        derive_key(secret_key.expose().as_bytes(), KeyPurpose::PasetoLocal);
                    LocalKey::from_derived(&derived)
                        .map_err(|e| v.error("SECRET_KEY", e.to_string()))
                        .ok()
                }
            };
            let previous = previous_keys(v, &previous, LocalKey::parse);
            TokenFormat::PasetoLocal {
                current: current?,
                previous: previous?,
            }
        }
    };
    Some(AccessTokenSettings { format, claims })
}

/// Where a key came from: the variable or its `_FILE`, named in messages.
struct Material {
    variable: &'static str,
    value: Secret,
}

/// Ed25519 formats need a configured private key; old public keys may follow.
fn ed25519(
    v: &mut Vars<'_>,
    signing: Option<Material>,
    previous: &Option<Material>,
    format: &str,
) -> Option<(Ed25519SigningKey, Vec<Ed25519PublicKey>)> {
    let Some(signing) = signing else {
        v.error(
            "TOKEN_SIGNING_KEY",
            format!(
                "is required by TOKEN_FORMAT={format}: expected an Ed25519 private key as PKCS#8 PEM or a k4.secret. PASERK (see `gatehouse generate-key --format {format}`), in the variable or in TOKEN_SIGNING_KEY_FILE"
            ),
        );
        return None;
    };
    let signing = signing.parse(v, Ed25519SigningKey::parse);
    let previous = previous_keys(v, previous, Ed25519PublicKey::parse);
    Some((signing?, previous?))
}

impl Material {
    /// Parses the key; the adapter's messages name the expected form, never the key.
    fn parse<K>(&self, v: &mut Vars<'_>, parse: fn(&str) -> Result<K, KeyError>) -> Option<K> {
        let key = parse(self.value.expose());
        key.map_err(|e| v.error(self.variable, e.to_string())).ok()
    }
}

/// Every key of a rotation list, each error naming the key's position; `None` if any is
/// unusable.
fn previous_keys<K>(
    v: &mut Vars<'_>,
    previous: &Option<Material>,
    parse: fn(&str) -> Result<K, KeyError>,
) -> Option<Vec<K>> {
    let Some(material) = previous else {
        return Some(Vec::new());
    };
    let keys = split_keys(material.value.expose()).into_iter().enumerate();
    let keys: Vec<Option<K>> = keys
        .map(|(n, key)| {
            let error = |e| v.error(material.variable, format!("key {}: {e}", n + 1));
            parse(key).map_err(error).ok()
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
            let end = rest.find(END).map(|end| end + END.len());
            end.and_then(|after| rest[after..].find("-----").map(|close| after + close + 5))
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
fn name(v: &mut Vars<'_>, variable: &'static str, default: &str) -> String {
    let Some(raw) = v.get(variable) else {
        return default.to_owned();
    };
    if !(1..=128).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        v.error(
            variable,
            "expected 1 to 128 visible ASCII characters without spaces",
        );
    }
    raw.to_owned()
}

/// Key material from `VAR` or from the file named by `VAR_FILE` (mounted secrets), not both.
/// File contents are trimmed; read errors name the path, never the content.
fn material(
    v: &mut Vars<'_>,
    variable: &'static str,
    file_variable: &'static str,
) -> Option<Material> {
    let (variable, value) = match (v.get(variable), v.get(file_variable)) {
        (Some(_), Some(_)) => {
            v.error(
                file_variable,
                format!("set either {variable} or {file_variable}, not both"),
            );
            return None;
        }
        (Some(value), None) => (variable, value.trim().to_owned()),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(content) if !content.trim().is_empty() => (file_variable, content.trim().to_owned()),
            Ok(_) => {
                v.error(file_variable, format!("the file {path} is empty"));
                return None;
            }
            Err(e) => {
                v.error(file_variable, format!("could not read {path}: {e}"));
                return None;
            }
        },
        (None, None) => return None,
    };
    Some(Material {
        variable,
        value: Secret::new(value),
    })
}

/// The `TOKEN_FORMAT` spelling of a built format.
fn format_name(format: &TokenFormat) -> &'static str {
    match format {
        TokenFormat::JwtHs256 { .. } => "jwt-hs256",
        TokenFormat::JwtEdDsa { .. } => "jwt-eddsa",
        TokenFormat::PasetoLocal { .. } => "paseto-v4-local",
        TokenFormat::PasetoPublic { .. } => "paseto-v4-public",
    }
}

/// The `check-config` line of the access tokens: the format and how many rotated-out keys still
/// verify (never a key), issuer, audience, lifetime.
pub(super) fn describe(tokens: &AccessTokenSettings) -> String {
    let previous = match &tokens.format {
        TokenFormat::JwtHs256 { .. } => None,
        TokenFormat::JwtEdDsa { previous, .. } | TokenFormat::PasetoPublic { previous, .. } => {
            Some(previous.len())
        }
        TokenFormat::PasetoLocal { previous, .. } => Some(previous.len()),
    };
    let format = previous.map_or("jwt-hs256 (keyed by SECRET_KEY)".to_owned(), |previous| {
        format!(
            "{} ({previous} previous key(s))",
            format_name(&tokens.format)
        )
    });
    let claims = &tokens.claims;
    let minutes = claims.ttl.whole_minutes();
    format!(
        "{format}, issuer {}, audience {}, {minutes} min",
        claims.issuer, claims.audience
    )
}

#[cfg(test)]
mod tests {
    use super::super::vars::ConfigErrors;
    use super::super::vars::testing::{Checked, check};
    use super::*;

    const SECRET: &str = "kX9-2mQ_vR7tL4wZ8nB1cY6hJ3pF0sD5gA";

    fn validate(
        pairs: &[(&str, &str)],
        environment: Environment,
    ) -> Checked<Option<AccessTokenSettings>> {
        let secret = Secret::new(SECRET);
        check(true, pairs, |v| settings(v, environment, Some(&secret)))
    }

    fn refused(pairs: &[(&str, &str)]) -> ConfigErrors {
        validate(pairs, Environment::Production).1.unwrap_err()
    }

    /// The format with a signing key and rotated-out keys (an empty value is unset).
    fn with<'a>(format: &'a str, key: &'a str, previous: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("TOKEN_FORMAT", format),
            ("TOKEN_SIGNING_KEY", key),
            ("TOKEN_VERIFICATION_KEYS", previous),
        ]
    }

    #[test]
    fn defaults_match_the_contract() {
        let (tokens, result) = validate(&[], Environment::Production);
        assert!(result.unwrap().is_empty());
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
        let pairs = [("ACCESS_TOKEN_EXPIRE_MINUTES", "61")];
        let (tokens, result) = validate(&pairs, Environment::Production);
        assert_eq!(tokens.unwrap().claims.ttl, Duration::minutes(61));
        assert_eq!(result.unwrap()[0].variable, "ACCESS_TOKEN_EXPIRE_MINUTES");
        assert!(
            validate(&pairs, Environment::Development)
                .1
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn every_format_builds_from_generated_keys() {
        let ed = Ed25519SigningKey::generate().unwrap();
        let old = Ed25519SigningKey::generate().unwrap().public_key();
        let local = LocalKey::generate().unwrap().to_paserk();
        let rotation = format!("{}\n{}", old.to_pem(), old.to_paserk());
        for (format, key, previous) in [
            ("jwt-eddsa", ed.to_pem(), rotation.as_str()),
            ("paseto-v4-public", ed.to_paserk(), &rotation),
            ("paseto-v4-local", local.clone(), ""),
            ("paseto-v4-local", String::new(), &local),
        ] {
            let (tokens, result) = validate(&with(format, &key, previous), Environment::Production);
            assert!(result.is_ok(), "{format}");
            assert_eq!(format_name(&tokens.unwrap().format), format);
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
            let errors = refused(&with(format, key, ""));
            assert!(errors.names("TOKEN_SIGNING_KEY"), "{format} {key}");
            assert!(!errors.to_string().contains(key));
        }
        assert!(refused(&with("jwt-eddsa", "", "")).names("TOKEN_SIGNING_KEY"));
        let pem = Ed25519SigningKey::generate().unwrap().to_pem();
        let errors = refused(&with("jwt-eddsa", &pem, "k4.public.AAAA, k4.local.x"));
        assert_eq!(errors.0.len(), 2, "{errors}");
        assert!(errors.0[1].message.starts_with("key 2: "));
    }

    #[test]
    fn jwt_hs256_refuses_unused_keys() {
        let errors = refused(&with("jwt-hs256", "k4.local.x", "k4.public.y"));
        assert!(errors.names("TOKEN_SIGNING_KEY") && errors.names("TOKEN_VERIFICATION_KEYS"));
    }

    #[test]
    fn keys_come_from_a_variable_or_a_file_but_not_both() {
        let path = std::env::temp_dir().join(format!("gatehouse-key-{}", std::process::id()));
        let key = LocalKey::generate().unwrap().to_paserk();
        std::fs::write(&path, format!("{key}\n")).unwrap();
        let path = path.display().to_string();
        let mut pairs = vec![
            ("TOKEN_FORMAT", "paseto-v4-local"),
            ("TOKEN_SIGNING_KEY_FILE", &path),
        ];
        let (tokens, result) = validate(&pairs, Environment::Production);
        assert!(result.is_ok() && tokens.is_some());
        pairs.push(("TOKEN_SIGNING_KEY", &key));
        assert!(refused(&pairs).names("TOKEN_SIGNING_KEY_FILE"));
        std::fs::remove_file(&path).unwrap();
        let missing = [
            ("TOKEN_FORMAT", "paseto-v4-local"),
            ("TOKEN_SIGNING_KEY_FILE", "/nonexistent/gatehouse.key"),
        ];
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
