//! `gatehouse generate-key`: fresh random key material for operators to store. The secret goes
//! to stdout (so it can be piped), a public half and notes to stderr.

use std::process::ExitCode;

use gatehouse_tokens::{Ed25519SigningKey, LocalKey};

use crate::cli::{GenerateKeyArgs, KeyKind};
use crate::config::generate_secret_key;

/// A secret to print and, for key pairs, the public key to show beside it.
struct Generated {
    secret: String,
    public: Option<String>,
}

fn generate(kind: KeyKind) -> Result<Generated, String> {
    let pair = |key: Ed25519SigningKey, pem: bool| {
        let public = key.public_key();
        Generated {
            secret: if pem { key.to_pem() } else { key.to_paserk() },
            public: Some(if pem {
                public.to_pem()
            } else {
                public.to_paserk()
            }),
        }
    };
    match kind {
        KeyKind::SecretKey => generate_secret_key()
            .map(|secret| Generated {
                secret,
                public: None,
            })
            .map_err(|e| e.to_string()),
        KeyKind::PasetoV4Local => LocalKey::generate()
            .map(|key| Generated {
                secret: key.to_paserk(),
                public: None,
            })
            .map_err(|e| e.to_string()),
        KeyKind::JwtEddsa => Ed25519SigningKey::generate()
            .map(|key| pair(key, true))
            .map_err(|e| e.to_string()),
        KeyKind::PasetoV4Public => Ed25519SigningKey::generate()
            .map(|key| pair(key, false))
            .map_err(|e| e.to_string()),
    }
}

/// Prints one key, or fails when the system's random source does.
pub fn run(args: &GenerateKeyArgs) -> ExitCode {
    match generate(args.format) {
        Ok(generated) => {
            println!("{}", generated.secret.trim_end());
            if let Some(public) = generated.public {
                eprintln!("public key (for TOKEN_VERIFICATION_KEYS after a rotation):");
                eprintln!("{}", public.trim_end());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse generate-key: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    /// Every generated key is accepted by the configuration of its format.
    #[test]
    fn generated_keys_pass_validation() {
        for (kind, format) in [
            (KeyKind::JwtEddsa, "jwt-eddsa"),
            (KeyKind::PasetoV4Local, "paseto-v4-local"),
            (KeyKind::PasetoV4Public, "paseto-v4-public"),
        ] {
            let generated = generate(kind).unwrap();
            let vars = [
                ("ENVIRONMENT", "development".to_owned()),
                ("TOKEN_FORMAT", format.to_owned()),
                ("TOKEN_SIGNING_KEY", generated.secret),
            ];
            let loaded = Settings::from_vars(vars.map(|(k, v)| (k.to_owned(), v)));
            assert!(loaded.is_ok(), "{format}: {:?}", loaded.err());
        }
        let secret = generate(KeyKind::SecretKey).unwrap().secret;
        let vars = [
            ("ENVIRONMENT", "development".to_owned()),
            ("SECRET_KEY", secret),
        ];
        let (_, warnings) = Settings::from_vars(vars.map(|(k, v)| (k.to_owned(), v))).unwrap();
        assert!(warnings.iter().all(|w| w.variable != "SECRET_KEY"));
    }
}
