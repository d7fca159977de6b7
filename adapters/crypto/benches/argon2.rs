//! Argon2id at the default parameters (m=19456 KiB, t=2, p=1), through the port exactly as a
//! login or signup calls it: the blocking pool's hand-off is part of what a request pays.
//!
//! `bench/run.sh` reads `argon2id/verify` from this file's report to compute the login limit
//! (cores ÷ one verification), so that name is part of the load harness's interface.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_crypto::{Argon2Hasher, HashParams, PoolLimits};
use gatehouse_domain::Password;
use gatehouse_domain::ports::PasswordHasher;

fn argon2id(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let hasher = Argon2Hasher::new(HashParams::default(), PoolLimits::default())
        .expect("the default parameters are valid");
    let password = Password::new("correct horse battery staple").expect("a valid password");
    let wrong = Password::new("correct horse battery stapler").expect("a valid password");
    let stored = runtime
        .block_on(hasher.hash(&password))
        .expect("hashing works");

    let mut group = c.benchmark_group("argon2id");
    // Tens of milliseconds per iteration: criterion's default 100 samples would take minutes.
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("hash", |b| {
        b.iter(|| runtime.block_on(hasher.hash(&password)));
    });
    group.bench_function("verify", |b| {
        b.iter(|| runtime.block_on(hasher.verify(&password, Some(&stored))));
    });
    // What a wrong password and an unknown account cost (EN-02 wants the two equal).
    group.bench_function("verify_wrong_password", |b| {
        b.iter(|| runtime.block_on(hasher.verify(&wrong, Some(&stored))));
    });
    group.bench_function("verify_unknown_account", |b| {
        b.iter(|| runtime.block_on(hasher.verify(&wrong, None)));
    });
    group.finish();
}

criterion_group!(benches, argon2id);
criterion_main!(benches);
