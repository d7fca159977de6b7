//! The application's rules, tested where they live: the use cases over the in-memory
//! adapters, real argon2 (cheap parameters) and real signed tokens, on a manual clock. No
//! sockets and no HTTP: the black-box suite in `gatehouse-tests` holds the contract's
//! statuses and strings; these tests hold who may do what and when.

mod harness;

mod authorization;
mod ids;
mod recovery;
mod rotation;
mod session_cap;
mod superuser_guard;
mod throttling;
