//! Bounded free-text values: a user's full name and an item's title and description.

/// Why a text value was refused; the HTTP adapter maps each variant to pydantic's error type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("shorter than {min} characters")]
    TooShort { min: usize },
    #[error("longer than {max} characters")]
    TooLong { max: usize },
    /// NUL cannot be stored in PostgreSQL text and is never legitimate (SECURITY.md IN-04).
    #[error("contains a NUL character")]
    ContainsNul,
}

/// Checks a length in code points between `min` and `max` and the NUL rule; for text
/// that has no value object of its own (the development-only private route's email).
///
/// # Errors
/// `TooShort`, `TooLong` or `ContainsNul`.
pub fn check(raw: &str, min: usize, max: usize) -> Result<(), TextError> {
    let length = raw.chars().count();
    if length < min {
        return Err(TextError::TooShort { min });
    }
    if length > max {
        return Err(TextError::TooLong { max });
    }
    if raw.contains('\0') {
        return Err(TextError::ContainsNul);
    }
    Ok(())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Fewest characters accepted.
            pub const MIN: usize = $min;
            /// Most characters accepted.
            pub const MAX: usize = $max;

            /// Checks the length (in code points) and NUL rules; the value is otherwise
            /// stored exactly as given, control characters and all.
            ///
            /// # Errors
            /// `TooShort`, `TooLong` or `ContainsNul`.
            pub fn new(raw: impl Into<String>) -> Result<Self, TextError> {
                let raw = raw.into();
                check(&raw, Self::MIN, Self::MAX)?;
                Ok(Self(raw))
            }

            /// Wraps a value read back from storage.
            pub fn from_stored(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// A user's display name, up to 255 characters; `""` is a valid name.
    FullName, 0, 255
);
bounded_text!(
    /// An item's title: 1 to 255 characters.
    ItemTitle, 1, 255
);
bounded_text!(
    /// An item's description, up to 255 characters.
    ItemDescription, 0, 255
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_needs_one_character_and_at_most_255() {
        assert_eq!(ItemTitle::new(""), Err(TextError::TooShort { min: 1 }));
        assert!(ItemTitle::new("x".repeat(255)).is_ok());
        assert_eq!(
            ItemTitle::new("x".repeat(256)),
            Err(TextError::TooLong { max: 255 })
        );
    }

    #[test]
    fn lengths_are_code_points() {
        assert!(FullName::new("🔑".repeat(255)).is_ok());
        assert!(ItemDescription::new("é".repeat(256)).is_err());
    }

    #[test]
    fn nul_is_refused_but_other_controls_are_kept() {
        assert_eq!(FullName::new("a\0b"), Err(TextError::ContainsNul));
        assert_eq!(
            FullName::new("\u{7}\u{1b}[31m\r\n\u{202e}")
                .unwrap()
                .as_str(),
            "\u{7}\u{1b}[31m\r\n\u{202e}"
        );
        assert!(FullName::new("").is_ok());
    }
}
