//! Reading a stored hash before any work is done on it: which scheme it uses, whether its cost is
//! acceptable (PW-05), and whether it is weaker than the configured parameters (PW-04).
//!
//! Parsing here is cheap and allocation-bounded: the expensive verification happens only for
//! hashes this module accepts.

use std::str::FromStr;

use argon2::{Algorithm, PasswordHash, Version};

use crate::HashParams;

/// A stored hash that may be verified.
#[derive(Debug)]
pub(crate) enum StoredHash {
    /// An Argon2 PHC string (any variant and version the crate supports).
    Argon2 {
        phc: Box<PasswordHash>,
        weaker: bool,
    },
    /// A legacy bcrypt hash (`$2a$`, `$2b$`, `$2y$`): always upgraded after a match.
    Bcrypt { modular: String },
}

impl StoredHash {
    /// Whether a match should be followed by storing a fresh hash.
    pub(crate) fn needs_rehash(&self) -> bool {
        match self {
            Self::Argon2 { weaker, .. } => *weaker,
            Self::Bcrypt { .. } => true,
        }
    }
}

/// Why a stored hash is answered "no match" without verifying.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unparsable,
    AboveCeiling,
}

impl Refusal {
    /// Raises the alert PW-05 asks for. Neither the hash nor anything about the password is
    /// logged; the account is identified by the caller's span.
    pub(crate) fn alert(&self) {
        match self {
            Self::Unparsable => {
                tracing::warn!("stored password hash is not a supported format; answered no match");
            }
            Self::AboveCeiling => tracing::warn!(
                "stored password hash exceeds the cost ceiling; answered no match without verifying"
            ),
        }
    }
}

/// Legacy bcrypt prefixes that verify; `$2x$` (the buggy 2011 variant) is not among them.
const BCRYPT_PREFIXES: [&str; 3] = ["$2a$", "$2b$", "$2y$"];

/// Classifies `stored` against the configured parameters.
pub(crate) fn classify(stored: &str, configured: HashParams) -> Result<StoredHash, Refusal> {
    if BCRYPT_PREFIXES.iter().any(|p| stored.starts_with(p)) {
        let parts = bcrypt::HashParts::from_str(stored).map_err(|_| Refusal::Unparsable)?;
        if parts.get_cost() > HashParams::BCRYPT_MAX_COST {
            return Err(Refusal::AboveCeiling);
        }
        return Ok(StoredHash::Bcrypt {
            modular: stored.to_owned(),
        });
    }
    if !stored.starts_with("$argon2") {
        return Err(Refusal::Unparsable);
    }
    let phc = PasswordHash::new(stored).map_err(|_| Refusal::Unparsable)?;
    // Missing pieces would silently fall back to the crate's defaults: refuse them instead.
    let complete = phc.salt.is_some()
        && phc.hash.is_some()
        && ["m", "t", "p"]
            .iter()
            .all(|name| phc.params.get_decimal(*name).is_some());
    if !complete {
        return Err(Refusal::Unparsable);
    }
    let algorithm = Algorithm::new(phc.algorithm.as_str()).map_err(|_| Refusal::Unparsable)?;
    if let Some(version) = phc.version {
        Version::try_from(version).map_err(|_| Refusal::Unparsable)?;
    }
    let params =
        HashParams::from(&argon2::Params::try_from(&phc).map_err(|_| Refusal::Unparsable)?);
    if params.exceeds_ceiling() {
        return Err(Refusal::AboveCeiling);
    }
    // A missing `v=` means Argon2 1.0 to other implementations: treat it as another version.
    let weaker = algorithm != Algorithm::Argon2id
        || phc.version != Some(Version::V0x13.into())
        || params.memory_kib < configured.memory_kib
        || params.iterations < configured.iterations;
    Ok(StoredHash::Argon2 {
        phc: Box::new(phc),
        weaker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT_AND_HASH: &str =
        "c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";

    fn argon2(prefix: &str) -> String {
        format!("{prefix}${SALT_AND_HASH}")
    }

    fn weaker(stored: &str) -> bool {
        classify(stored, HashParams::default())
            .unwrap()
            .needs_rehash()
    }

    #[test]
    fn configured_argon2id_is_kept_and_stronger_too() {
        assert!(!weaker(&argon2("$argon2id$v=19$m=19456,t=2,p=1")));
        assert!(
            !weaker(&argon2("$argon2id$v=19$m=65536,t=3,p=4")),
            "template"
        );
        assert!(
            !weaker(&argon2("$argon2id$v=19$m=19456,t=2,p=4")),
            "p is not a strength"
        );
    }

    #[test]
    fn lower_cost_other_variant_or_version_needs_rehash() {
        assert!(weaker(&argon2("$argon2id$v=19$m=8192,t=1,p=1")));
        assert!(weaker(&argon2("$argon2id$v=19$m=19456,t=1,p=1")));
        assert!(weaker(&argon2("$argon2i$v=19$m=65536,t=3,p=4")));
        assert!(weaker(&argon2("$argon2d$v=19$m=65536,t=3,p=4")));
        assert!(weaker(&argon2("$argon2id$v=16$m=65536,t=3,p=4")));
        assert!(weaker(&argon2("$argon2id$m=65536,t=3,p=4")));
    }

    #[test]
    fn costs_above_the_ceiling_are_refused() {
        for prefix in [
            "$argon2id$v=19$m=4194304,t=2,p=1",
            "$argon2id$v=19$m=262145,t=2,p=1",
            "$argon2id$v=19$m=19456,t=11,p=1",
            "$argon2id$v=19$m=19456,t=2,p=17",
        ] {
            assert_eq!(
                classify(&argon2(prefix), HashParams::default()).unwrap_err(),
                Refusal::AboveCeiling,
                "{prefix}"
            );
        }
        assert!(
            classify(
                &argon2("$argon2id$v=19$m=262144,t=10,p=16"),
                HashParams::default()
            )
            .is_ok()
        );
        let bcrypt15 = "$2b$15$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert_eq!(
            classify(bcrypt15, HashParams::default()).unwrap_err(),
            Refusal::AboveCeiling
        );
    }

    #[test]
    fn anything_else_is_unparsable() {
        for stored in [
            "",
            "hunter2hunter2",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNo",
            "$argon2id$v=19$m=abc,t=2,p=1$x$y",
            "$argon2id$v=42$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            "$argon3$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            "$2b$04$short",
            "$2x$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$pbkdf2-sha256$29000$N2ZMRZoMye$abc",
        ] {
            assert_eq!(
                classify(stored, HashParams::default()).unwrap_err(),
                Refusal::Unparsable,
                "{stored}"
            );
        }
    }

    #[test]
    fn bcrypt_variants_are_accepted_and_always_upgraded() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let stored =
                format!("{prefix}12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy");
            assert!(weaker(&stored), "{prefix}");
        }
    }
}
