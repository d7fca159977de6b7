//! Parsing the values every signup and login starts with: `Email::parse` (signup, profile
//! updates), `EmailKey::of` (every login's lookup key) and `Password::new`'s length rule.

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_domain::{Email, EmailKey, Password};

fn email(c: &mut Criterion) {
    let mut group = c.benchmark_group("email");
    for (name, raw, accepted) in [
        ("parse/plain", "alice.smith@example.com", true),
        (
            "parse/display_name",
            "  Alice Smith <Alice.Smith@Example.COM>  ",
            true,
        ),
        (
            "parse/internationalised",
            "jörg.müller@bücher.example.de",
            true,
        ),
        ("parse/refused_no_at", "alice.smith.example.com", false),
    ] {
        // A case that took the other branch would measure the wrong thing.
        assert_eq!(Email::parse(raw).is_ok(), accepted, "{raw}");
        group.bench_function(name, |b| b.iter(|| Email::parse(raw)));
    }
    group.bench_function("key_of", |b| {
        b.iter(|| EmailKey::of("  Alice.Smith@Example.COM "));
    });
    group.finish();
}

fn password(c: &mut Criterion) {
    let longest = "p".repeat(Password::MAX);
    let mut group = c.benchmark_group("password");
    for (name, raw, accepted) in [
        ("new/typical", "correct horse battery staple", true),
        ("new/longest", longest.as_str(), true),
        ("new/refused_too_short", "short", false),
    ] {
        assert_eq!(Password::new(raw).is_ok(), accepted, "{raw}");
        group.bench_function(name, |b| b.iter(|| Password::new(raw)));
    }
    group.finish();
}

criterion_group!(benches, email, password);
criterion_main!(benches);
