//! The JWKS document (`GET /.well-known/jwks.json`, CONTRACT.md §10): public keys only, never a
//! private member (TOK-08).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::ports::PublicKey;
use serde_json::{Value, json};

/// `{"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}…]}` for the
/// keys [`AccessTokens::public_keys`](gatehouse_domain::ports::AccessTokens::public_keys) returns.
pub fn jwk_set(keys: &[PublicKey]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.ed25519),
                "kid": key.kid,
                "alg": "EdDSA",
                "use": "sig",
            })
        })
        .collect();
    json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_appear_in_the_contract_shape_without_private_members() {
        let document = jwk_set(&[PublicKey {
            kid: "k1".into(),
            ed25519: [7; 32],
        }]);
        assert_eq!(
            document.to_string(),
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{}","kid":"k1","alg":"EdDSA","use":"sig"}}]}}"#,
                URL_SAFE_NO_PAD.encode([7; 32])
            )
        );
        assert!(document["keys"][0].get("d").is_none());
        assert_eq!(jwk_set(&[]).to_string(), r#"{"keys":[]}"#);
    }
}
