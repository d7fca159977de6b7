//! The last step before an error report leaves the process (Sentry's `before_send`): nothing
//! that identifies a user or grants access goes out (issue 15; SECURITY.md ERR-04). Reports
//! are built from our own log fields and panic messages, never from requests, so this is the
//! second line: it drops whatever request, user and breadcrumb data an integration might have
//! attached, and masks emails, tokens, credentials in `key=value` form, `Bearer`/`Basic`
//! values and query strings in every text the report carries.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use sentry::protocol::{Context, Event, Map, Value};

/// One masking rule: what to find and what replaces it.
struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

fn rule(pattern: &str, replacement: &'static str) -> Rule {
    Rule {
        pattern: Regex::new(pattern).expect("a valid scrubbing pattern"),
        replacement,
    }
}

/// Applied in order: the credential shapes first, so their values are not half-masked by the
/// generic rules.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // `Authorization: Bearer …`, `Basic …`.
        rule(r"(?i)\b(bearer|basic)\s+[^\s,;]+", "$1 [redacted]"),
        // `password=…`, `"token": "…"`, `cookie: …`, `?access_token=…`.
        rule(
            r#"(?i)\b([a-z_-]*(?:password|passwd|secret|token|authorization|cookie|api[_-]?key|session)[a-z_-]*)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+"#,
            "$1$2[redacted]",
        ),
        // A query string after a path or URL.
        rule(r#"(/[^\s?"']*)\?[^\s"'#]+"#, "$1?[redacted]"),
        // JWTs, PASETOs, and any long opaque value: refresh and reset tokens are 43 base64url
        // characters, keys and digests longer; request ids (UUIDs, 36) stay readable.
        rule(
            r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
            "[token]",
        ),
        rule(r"\bv[1-4]\.(?:local|public)\.[A-Za-z0-9_.-]+", "[token]"),
        rule(r"[A-Za-z0-9_-]{40,}", "[token]"),
        // Email addresses, internationalised ones included, and URL-encoded ones (`%40`).
        rule(
            r#"[^\s@<>"'(),;:\[\]=&?/]+(?:@|%40)[^\s@<>"'(),;:\[\]=&?/]+"#,
            "[email]",
        ),
    ]
});

/// `text` with everything sensitive masked.
pub(super) fn text(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if rule.pattern.is_match(&out) {
            let replaced = rule
                .pattern
                .replace_all(&out, |caps: &Captures<'_>| {
                    let mut masked = String::new();
                    caps.expand(rule.replacement, &mut masked);
                    masked
                })
                .into_owned();
            out = Cow::Owned(replaced);
        }
    }
    out
}

fn string(value: &mut String) {
    if let Cow::Owned(masked) = text(value) {
        *value = masked;
    }
}

fn json(value: &mut Value) {
    match value {
        Value::String(s) => string(s),
        Value::Array(items) => items.iter_mut().for_each(json),
        Value::Object(map) => map.values_mut().for_each(json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn map(values: &mut Map<String, Value>) {
    values.values_mut().for_each(json);
}

/// The scrubbed report.
pub(super) fn event(mut event: Event<'static>) -> Event<'static> {
    event.request = None;
    event.user = None;
    event.breadcrumbs.values.clear();
    if let Some(message) = event.message.as_mut() {
        string(message);
    }
    if let Some(entry) = event.logentry.as_mut() {
        string(&mut entry.message);
        entry.params.iter_mut().for_each(json);
    }
    for value in [&mut event.culprit, &mut event.transaction]
        .into_iter()
        .flatten()
    {
        string(value);
    }
    event.tags.values_mut().for_each(string);
    map(&mut event.extra);
    for context in event.contexts.values_mut() {
        if let Context::Other(values) = context {
            map(values);
        }
    }
    for exception in event.exception.values.iter_mut() {
        if let Some(value) = exception.value.as_mut() {
            string(value);
        }
        for frame in exception
            .stacktrace
            .iter_mut()
            .flat_map(|trace| trace.frames.iter_mut())
        {
            frame.vars.clear();
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use sentry::protocol::{Breadcrumb, Exception, Request, User};

    use super::*;

    const EMAIL: &str = "ursula.k@example.com";
    const PASSWORD: &str = "hunter2-correct-horse";
    const REFRESH: &str = "q0Zk3vJc1pX9yT4mW7nB2rL8sD6fG5hA0eU3iO1kPzQ";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl";

    #[test]
    fn emails_tokens_credentials_and_query_strings_are_masked() {
        let cases = [
            (
                format!("no user with email {EMAIL}"),
                "no user with email [email]",
            ),
            (
                format!("Authorization: Bearer {JWT}"),
                "Authorization: [redacted] [redacted]",
            ),
            (
                format!("password={PASSWORD}&x=1"),
                "password=[redacted]&x=1",
            ),
            (
                format!(r#"{{"new_password": "{PASSWORD}"}}"#),
                r#"{"new_password": "[redacted]"}"#,
            ),
            (format!("cookie: session={REFRESH}"), "cookie: [redacted]"),
            (
                format!("GET /api/v1/users/me?q={EMAIL}"),
                "GET /api/v1/users/me?[redacted]",
            ),
            (
                format!("bad token {REFRESH} presented"),
                "bad token [token] presented",
            ),
            (format!("jwt {JWT}"), "jwt [token]"),
            ("v4.local.abcDEF_123-xyz.Zm9v".to_owned(), "[token]"),
            ("Jürgen@bücher.example".to_owned(), "[email]"),
            (
                "query: email=ursula.k%40example.com&x=1".to_owned(),
                "query: email=[email]&x=1",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(text(&input), expected, "{input}");
        }
        let plain = "unexpected failure: no such table: item (request 5f1c-22)";
        assert!(
            matches!(text(plain), Cow::Borrowed(_)),
            "untouched text is not copied"
        );
    }

    #[test]
    fn a_report_keeps_no_request_user_breadcrumb_or_secret() {
        let mut event = Event {
            message: Some(format!("500 for {EMAIL}")),
            request: Some(Request {
                query_string: Some(format!("password={PASSWORD}")),
                ..Request::default()
            }),
            user: Some(User {
                email: Some(EMAIL.to_owned()),
                ..User::default()
            }),
            exception: vec![Exception {
                ty: "panic".into(),
                value: Some(format!(
                    "forced panic; query: email={EMAIL}&token={REFRESH}"
                )),
                ..Exception::default()
            }]
            .into(),
            ..Event::default()
        };
        event.breadcrumbs.values.push(Breadcrumb {
            message: Some(format!("login {EMAIL} {PASSWORD}")),
            ..Breadcrumb::default()
        });
        event.tags.insert("request_id".into(), EMAIL.into());
        event
            .extra
            .insert("cause".into(), format!("Bearer {JWT}").into());
        let mut fields = Map::new();
        fields.insert("detail".into(), vec![Value::from(REFRESH)].into());
        event
            .contexts
            .insert("Rust Tracing Fields".into(), Context::Other(fields));

        let scrubbed = serde_json::to_string(&super::event(event)).unwrap();
        for secret in [EMAIL, PASSWORD, REFRESH, JWT] {
            assert!(!scrubbed.contains(secret), "{secret} left in {scrubbed}");
        }
        assert!(scrubbed.contains("forced panic"), "{scrubbed}");
    }
}
