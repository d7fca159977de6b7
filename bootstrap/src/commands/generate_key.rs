//! `gatehouse generate-key`: fresh random key material on stdout for operators to store.

use std::process::ExitCode;

use crate::cli::{GenerateKeyArgs, KeyKind};
use crate::config::generate_secret_key;

/// Prints one key, or fails when the system's random source does.
pub fn run(args: &GenerateKeyArgs) -> ExitCode {
    let key = match args.format {
        KeyKind::SecretKey => generate_secret_key(),
    };
    match key {
        Ok(key) => {
            println!("{key}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse generate-key: no random source available: {e}");
            ExitCode::FAILURE
        }
    }
}
