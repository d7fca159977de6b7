//! Passwords as the user typed them, and the stored hash.

use crate::Secret;

/// A candidate password: 8 to 128 Unicode code points, used exactly as given — never
/// trimmed, folded, normalised or truncated (SECURITY.md D8, PW-07…PW-09). NUL and other
/// control characters are allowed: the value is only ever hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Password(Secret);

/// Why a password was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password shorter than {min} characters")]
    TooShort { min: usize },
    #[error("password longer than {max} characters")]
    TooLong { max: usize },
}

impl Password {
    /// Fewest characters accepted (ASVS 6.2.1).
    pub const MIN: usize = 8;
    /// Most characters accepted (ASVS 6.2.9).
    pub const MAX: usize = 128;

    /// Checks the length rule.
    ///
    /// # Errors
    /// `TooShort` below [`Password::MIN`] code points, `TooLong` above [`Password::MAX`].
    pub fn new(raw: impl Into<String>) -> Result<Self, PasswordError> {
        let raw = raw.into();
        let length = raw.chars().count();
        if length < Self::MIN {
            return Err(PasswordError::TooShort { min: Self::MIN });
        }
        if length > Self::MAX {
            return Err(PasswordError::TooLong { max: Self::MAX });
        }
        Ok(Self(Secret::new(raw)))
    }

    /// A password taken without the length rule: login attempts (a wrong-length password
    /// simply fails to verify) and the development-only private route (CONTRACT.md route 23).
    pub fn unchecked(raw: impl Into<String>) -> Self {
        Self(Secret::new(raw))
    }

    /// The password itself, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// A stored password hash in PHC (`$argon2id$…`) or modular-crypt (`$2b$…`) form.
/// `Debug` is redacted: a hash is an offline-crackable secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash string.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The hash string, for storage and the verifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_code_points_with_inclusive_bounds() {
        assert_eq!(
            Password::new("a".repeat(7)),
            Err(PasswordError::TooShort { min: 8 })
        );
        assert!(Password::new("a".repeat(8)).is_ok());
        assert!(Password::new("é".repeat(128)).is_ok());
        assert_eq!(
            Password::new("a".repeat(129)),
            Err(PasswordError::TooLong { max: 128 })
        );
    }

    #[test]
    fn used_exactly_as_given() {
        let p = Password::new("  Pässwörd 🔑  ").unwrap();
        assert_eq!(p.expose(), "  Pässwörd 🔑  ");
        assert!(
            Password::new("        ").is_ok(),
            "eight spaces are a password"
        );
        assert!(
            Password::new("pass\0word").is_ok(),
            "NUL is allowed in passwords"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let p = Password::new("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(!format!("{:?}", PasswordHash::new("$argon2id$x")).contains("argon2id"));
    }
}
