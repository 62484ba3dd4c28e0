//! ListObjectsV2 continuation tokens.
//!
//! A token is opaque to clients and distinct from `start-after`: base64url of
//! `version byte ‖ last key ‖ HMAC-SHA256(version ‖ key)[..16]`. The MAC key is
//! derived from server configuration, so tokens survive restarts but cannot
//! be forged or edited; anything that does not decode and verify is
//! `InvalidArgument`, never a silently different listing.

use crate::http::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;

/// The key that authenticates tokens.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Derives the token key from a server secret (e.g. the secret key).
    pub fn derive(secret: &[u8]) -> Self {
        use sha2::Digest;
        let mut h = Sha256::new();
        h.update(b"imgbucket list continuation token v1\0");
        h.update(secret);
        TokenKey(h.finalize().into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    /// A token that resumes the listing after `last`.
    pub fn encode(&self, last: &str) -> String {
        let mut raw = Vec::with_capacity(1 + last.len() + MAC_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(last.as_bytes());
        let mut mac = self.mac();
        mac.update(&raw);
        raw.extend_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The key a token resumes after; `InvalidArgument` if it is empty,
    /// malformed or not ours.
    pub fn decode(&self, token: &str) -> Result<String, ApiError> {
        let bad = || {
            ApiError::InvalidArgument(
                "continuation-token",
                "The continuation token provided is incorrect".into(),
            )
        };
        let raw = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
        if raw.len() < 1 + MAC_LEN || raw[0] != VERSION {
            return Err(bad());
        }
        let (body, tag) = raw.split_at(raw.len() - MAC_LEN);
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_truncated_left(tag).map_err(|_| bad())?;
        String::from_utf8(body[1..].to_vec()).map_err(|_| bad())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let k = TokenKey::derive(b"secret");
        for key in ["a", "photos/2026/ü.jpg", ""] {
            assert_eq!(k.decode(&k.encode(key)).unwrap(), key);
        }
        let t = k.encode("abc");
        assert!(k.decode("").is_err());
        assert!(k.decode("not base64 !!").is_err());
        assert!(k.decode(&URL_SAFE_NO_PAD.encode(b"\x01abc")).is_err());
        // Flip one bit of the key part.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        raw[1] ^= 1;
        assert!(k.decode(&URL_SAFE_NO_PAD.encode(&raw)).is_err());
        // Another server's key does not verify.
        assert!(TokenKey::derive(b"other").decode(&t).is_err());
    }
}
