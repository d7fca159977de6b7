//! Gatehouse's tokens: the `AccessTokens` port in four formats (JWT HS256 and EdDSA with
//! jsonwebtoken, PASETO v4.local and v4.public with pasetors) and the `OpaqueTokens` port for
//! refresh and reset tokens, plus the key handling they need: parsing and validating keys from
//! configuration, generating fresh ones, and deriving purpose-bound keys from `SECRET_KEY`. The
//! public keys leave through [`AccessTokens::public_keys`](gatehouse_domain::ports::AccessTokens);
//! the JWKS document that carries them is the HTTP adapter's.
//!
//! Nothing here reads the environment or knows about HTTP: the composition root turns
//! configuration into a [`TokenFormat`] and [`TokenSettings`] and calls [`build_access_tokens`].

mod access;
mod claims;
mod config;
mod derive;
mod jwt;
mod keys;
mod opaque;
mod paseto;

#[cfg(test)]
mod testkit;

pub use config::{TokenFormat, TokenSettings, TokenSetupError, build_access_tokens};
pub use derive::{DerivedKey, KeyPurpose, derive_key};
pub use keys::{Ed25519PublicKey, Ed25519SigningKey, HmacSecret, KeyError, LocalKey};
pub use opaque::OpaqueTokenService;
