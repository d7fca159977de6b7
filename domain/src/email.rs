//! Email addresses: parsing with the same rules and messages as the FastAPI template's
//! pydantic `EmailStr` (python `email-validator`), and the case-insensitive identity key.

use unicode_normalization::UnicodeNormalization;

/// A parsed, normalised email address: surrounding whitespace trimmed, an optional
/// `Display Name <addr>` form reduced to the address, the domain lower-cased and in its
/// Unicode IDNA form (`xn--bcher-kva.com` is stored as `bücher.com`, as email-validator
/// normalises it), the local part kept in its case but NFC-normalised (CONTRACT.md §5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    address: String,
}

/// The identity of an address: two addresses are the same account exactly when their keys
/// are equal (CONTRACT.md §9d): one mailbox, one account. The domain is UTS-46 mapped to
/// its Unicode form, so `x@bücher.com`, `x@xn--bcher-kva.com` and the decomposed (NFD)
/// spelling of the first share a key; the local part is lower-cased — our choice: RFC 5321
/// lets a mail server tell `Alice` from `alice`, no real one does, and the template's users
/// expect case-insensitive logins — and NFC-normalised, so canonically equivalent
/// spellings are one account while look-alikes (Cyrillic `а`) stay distinct. The database
/// enforces uniqueness on this key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailKey(String);

/// Why an address was refused. `reason()` is the text `email-validator` would give, which
/// the HTTP adapter places after `value is not a valid email address: `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EmailError(String);

impl EmailError {
    fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }

    /// The human-readable reason, e.g. `An email address must have an @-sign.`
    pub fn reason(&self) -> &str {
        &self.0
    }
}

/// Longest address email-validator accepts (RFC 5321 path limit less the angle brackets).
const MAX_ADDRESS: usize = 254;
/// Longest local part (RFC 5321).
const MAX_LOCAL: usize = 64;
/// Longest domain name.
const MAX_DOMAIN: usize = 253;
/// Longest DNS label.
const MAX_LABEL: usize = 63;
/// Special-use names (RFC 6761 and friends) that can never receive mail.
const SPECIAL_USE: [&str; 6] = ["arpa", "invalid", "local", "localhost", "onion", "test"];

impl Email {
    /// Parses a client-supplied address (signup, admin create, profile update, test email).
    ///
    /// # Errors
    /// Returns an [`EmailError`] carrying email-validator's reason when the address is not
    /// a deliverable-looking address: no `@`, no dot in the domain, bad characters, quoted
    /// local parts, IP-literal domains, special-use domains, over-long parts.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let candidate = strip_display_name(raw).trim();
        if let Some(bad) = candidate.chars().find(|c| c.is_control()) {
            return Err(EmailError::new(format!(
                "The email address contains unsafe characters: U+{:04X}.",
                bad as u32
            )));
        }
        let Some(at) = candidate.rfind('@') else {
            return Err(EmailError::new("An email address must have an @-sign."));
        };
        let (local, domain) = (&candidate[..at], &candidate[at + 1..]);
        check_local(local)?;
        let domain = unicode_domain(&normalise_domain(domain)?);
        let address = format!("{}@{domain}", local.nfc());
        let length = address.chars().count();
        if length > MAX_ADDRESS {
            return Err(EmailError::new(format!(
                "The email address is too long ({} {} too many).",
                length - MAX_ADDRESS,
                plural(length - MAX_ADDRESS)
            )));
        }
        Ok(Self { address })
    }

    /// Takes an address without checking its syntax: rows already stored, and the
    /// development-only private route, which stores the address as given (CONTRACT.md route 23).
    pub fn unchecked(raw: impl Into<String>) -> Self {
        Self {
            address: raw.into(),
        }
    }

    /// The address as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The case-insensitive identity of this address.
    pub fn key(&self) -> EmailKey {
        EmailKey::of(&self.address)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address)
    }
}

impl EmailKey {
    /// The key of any submitted identifier: trimmed, the domain after the last `@` in its
    /// Unicode IDNA form, everything lower-cased and NFC-normalised, so unknown and
    /// malformed login names are keyed (and throttled) exactly like real ones.
    pub fn of(raw: &str) -> Self {
        let trimmed = raw.trim();
        Self(match trimmed.rsplit_once('@') {
            Some((local, domain)) => format!("{}@{}", fold(local), fold(&unicode_domain(domain))),
            None => fold(trimmed),
        })
    }

    /// The key as stored in the unique index column.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower-cased, then NFC-normalised (lower-casing can leave a string unnormalised).
fn fold(text: &str) -> String {
    text.to_lowercase().nfc().collect()
}

/// The domain in its Unicode form after UTS-46 mapping (which also lower-cases and
/// NFC-normalises), or the domain as given when it is no valid IDNA name: the syntax rules
/// judge such domains, and a login name keyed from one simply matches no account.
fn unicode_domain(domain: &str) -> String {
    match idna::domain_to_unicode(domain) {
        (unicode, Ok(())) => unicode,
        (_, Err(_)) => domain.to_owned(),
    }
}

/// `Dan D <dan@example.com>` → `dan@example.com`, as pydantic's `validate_email` does.
fn strip_display_name(raw: &str) -> &str {
    let trimmed = raw.trim();
    match (trimmed.find('<'), trimmed.strip_suffix('>')) {
        (Some(open), Some(inner)) if open < inner.len() => &inner[open + 1..],
        _ => raw,
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn check_local(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::new(
            "There must be something before the @-sign.",
        ));
    }
    if local.starts_with('"') {
        return Err(EmailError::new(
            "Quoting the part before the @-sign is not allowed here.",
        ));
    }
    let length = local.chars().count();
    if length > MAX_LOCAL {
        return Err(EmailError::new(format!(
            "The email address is too long before the @-sign ({} {} too many).",
            length - MAX_LOCAL,
            plural(length - MAX_LOCAL)
        )));
    }
    let bad = invalid_chars(local, |c| is_atext(c) || c == '.');
    if !bad.is_empty() {
        return Err(EmailError::new(format!(
            "The email address contains invalid characters before the @-sign: {bad}."
        )));
    }
    check_dots(local, "An email address cannot start with a period.")?;
    if local.ends_with('.') {
        return Err(EmailError::new(
            "An email address cannot have a period immediately before the @-sign.",
        ));
    }
    Ok(())
}

fn normalise_domain(domain: &str) -> Result<String, EmailError> {
    if domain.is_empty() {
        return Err(EmailError::new("There must be something after the @-sign."));
    }
    if domain.starts_with('[') {
        return Err(EmailError::new(
            "A bracketed IP address after the @-sign is not allowed here.",
        ));
    }
    let domain = domain.to_lowercase();
    let bad = invalid_chars(&domain, |c| {
        c.is_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && !c.is_whitespace())
    });
    if !bad.is_empty() {
        return Err(EmailError::new(format!(
            "The part after the @-sign contains invalid characters: {bad}."
        )));
    }
    check_dots(
        &domain,
        "An email address cannot have a period immediately after the @-sign.",
    )?;
    if domain.ends_with('.') {
        return Err(EmailError::new(
            "An email address cannot end with a period.",
        ));
    }
    let length = domain.chars().count();
    if length > MAX_DOMAIN {
        return Err(EmailError::new(format!(
            "The email address is too long after the @-sign ({} {} too many).",
            length - MAX_DOMAIN,
            plural(length - MAX_DOMAIN)
        )));
    }
    for label in domain.split('.') {
        let length = label.chars().count();
        if length > MAX_LABEL {
            return Err(EmailError::new(format!(
                "After the @-sign, periods cannot be separated by so many characters ({} {} too many).",
                length - MAX_LABEL,
                plural(length - MAX_LABEL)
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::new(
                "The part after the @-sign contains invalid characters (Label must not start or end with a hyphen).",
            ));
        }
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return Err(EmailError::new(
            "The part after the @-sign is not valid. It should have a period.",
        ));
    };
    if SPECIAL_USE.contains(&tld) || SPECIAL_USE.contains(&domain.as_str()) {
        return Err(EmailError::new(
            "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
        ));
    }
    if !tld.chars().last().is_some_and(char::is_alphabetic) {
        return Err(EmailError::new(
            "The part after the @-sign is not valid. It is not within a valid top-level domain.",
        ));
    }
    Ok(domain)
}

/// Rejects leading or doubled dots with the given message for the leading case.
fn check_dots(part: &str, leading: &str) -> Result<(), EmailError> {
    if part.starts_with('.') {
        return Err(EmailError::new(leading));
    }
    if part.contains("..") {
        return Err(EmailError::new(
            "An email address cannot have two periods in a row.",
        ));
    }
    Ok(())
}

/// The distinct offending characters, quoted and comma-separated as email-validator lists them.
fn invalid_chars(part: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut bad: Vec<char> = part.chars().filter(|&c| !allowed(c)).collect();
    bad.sort_unstable();
    bad.dedup();
    bad.iter()
        .map(|c| match c {
            ' ' => "SPACE".to_owned(),
            c => format!("'{c}'"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "character" } else { "characters" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(raw: &str) -> String {
        Email::parse(raw).unwrap_err().reason().to_owned()
    }

    #[test]
    fn keeps_the_local_part_and_lower_cases_the_domain() {
        let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Alice.Smith@example.com");
    }

    #[test]
    fn display_name_form_is_reduced_to_the_address() {
        assert_eq!(
            Email::parse("Dan D <dan@example.com>").unwrap().as_str(),
            "dan@example.com"
        );
    }

    #[test]
    fn unicode_addresses_are_kept() {
        assert_eq!(
            Email::parse("ünï@EXÄMPLE.com").unwrap().as_str(),
            "ünï@exämple.com"
        );
    }

    #[test]
    fn missing_at_sign_has_the_contract_message() {
        assert_eq!(
            reason("invalid-email"),
            "An email address must have an @-sign."
        );
    }

    #[test]
    fn domain_without_a_dot_has_the_contract_message() {
        assert_eq!(
            reason("bob@localhost"),
            "The part after the @-sign is not valid. It should have a period."
        );
    }

    #[test]
    fn special_use_domains_are_refused() {
        for d in [
            "a@x.local",
            "a@x.test",
            "a@x.invalid",
            "a@x.localhost",
            "a@x.onion",
            "a@x.arpa",
        ] {
            assert!(reason(d).contains("special-use"), "{d}");
        }
    }

    #[test]
    fn catalogue_f4_addresses_are_refused() {
        for raw in [
            "a b@example.com",
            "a@b",
            "\"q\"@x.io",
            "a@[127.0.0.1]",
            "a@example.com.",
            "@example.com",
            "a@",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@-x.com",
            "a@x.123",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn control_characters_and_nul_are_refused() {
        assert!(Email::parse("a\0b@example.com").is_err());
        assert!(Email::parse("ab@exa\nmple.com").is_err());
    }

    #[test]
    fn over_long_addresses_are_refused() {
        let long = format!(
            "{}@{}.com",
            "a".repeat(64),
            "b".repeat(63) + "." + &"c".repeat(63) + "." + &"d".repeat(63)
        );
        assert!(reason(&long).starts_with("The email address is too long"));
        assert!(reason(&format!("{}@example.com", "a".repeat(65))).contains("before the @-sign"));
    }

    #[test]
    fn identity_is_case_insensitive_and_trimmed() {
        let a = Email::parse("Alice@Example.com").unwrap();
        let b = Email::parse("alice@example.COM").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(EmailKey::of("  ALICE@example.com "), a.key());
    }

    #[test]
    fn one_mailbox_is_one_key_whatever_its_idna_or_unicode_spelling() {
        let unicode = Email::parse("x@bücher.com").unwrap();
        let ascii = Email::parse("x@xn--bcher-kva.com").unwrap();
        let decomposed = Email::parse("x@bu\u{0308}cher.com").unwrap();
        assert_eq!(ascii.as_str(), "x@bücher.com", "stored in its Unicode form");
        assert_eq!(decomposed.as_str(), "x@bücher.com");
        assert_eq!(unicode.key(), ascii.key());
        assert_eq!(unicode.key(), decomposed.key());
        assert_eq!(EmailKey::of(" X@XN--BCHER-KVA.COM "), unicode.key());
        let nfd_local = Email::parse("u\u{0308}ser@example.com").unwrap();
        assert_eq!(
            nfd_local.as_str(),
            "üser@example.com",
            "the local part is NFC"
        );
        assert_eq!(EmailKey::of("ÜSER@example.com"), nfd_local.key());
    }

    #[test]
    fn any_login_name_has_a_key() {
        for raw in ["no-at-sign", "a@", "@", "a@xn--", "a@b@c", "\0@\0", ""] {
            let _ = EmailKey::of(raw);
        }
        assert_eq!(EmailKey::of("No-At-Sign").as_str(), "no-at-sign");
    }

    #[test]
    fn cyrillic_lookalike_is_a_different_address() {
        let latin = Email::parse("alice@example.com").unwrap();
        let cyrillic = Email::parse("аlice@example.com").unwrap();
        assert_ne!(latin.key(), cyrillic.key());
    }
}
