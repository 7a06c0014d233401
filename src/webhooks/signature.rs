//! Bird's webhook signature: `messagebird-signature` = base64(HMAC-SHA256(signing key,
//! `messagebird-request-timestamp` + "\n" + the public request URL + "\n" + SHA-256(raw
//! body) as its 32 raw bytes)).
//!
//! Pure. Owns HMAC-SHA256 (RFC 2104 over `sha2`; no `hmac` crate is available offline)
//! and the comparison. Trusts nothing in the headers. Guarantees: the comparison takes the
//! same time whichever byte differs, so a caller cannot find the signature byte by byte;
//! the key is only read, never returned or shown.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::config::SigningKey;

/// SHA-256's block size: longer keys are hashed first, shorter ones padded to it.
const BLOCK: usize = 64;

/// HMAC-SHA256 of `message` under `key` (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The signature Bird sends for `body` posted to `public_url` at `timestamp`.
pub fn expected(key: &SigningKey, timestamp: &str, public_url: &str, body: &[u8]) -> [u8; 32] {
    let mut message = Vec::with_capacity(timestamp.len() + public_url.len() + 34);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(public_url.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(&Sha256::digest(body));
    hmac_sha256(key.expose(), &message)
}

/// Whether `signature` (base64, as in the header) is Bird's for this request.
pub fn verify(
    key: &SigningKey,
    timestamp: &str,
    public_url: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let wanted = expected(key, timestamp, public_url, body);
    // The length is no secret (always 32); the bytes are compared without an early exit.
    given.len() == wanted.len()
        && given
            .iter()
            .zip(wanted.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with openssl:
    //   printf 'message' | openssl dgst -sha256 -hmac key -binary | base64
    const SHORT_KEY_VECTOR: &str = "bp7ym3X//Ft6uuUn1Y/a2y/kLnIZARl2kXNDBl9Y7Uo=";
    // With python3 writing "1700000000\nhttps://hooks.example.com/bird\n" + sha256(BODY)
    // to a file, then `openssl dgst -sha256 -hmac test-signing-key -binary FILE | base64`.
    const BODY: &[u8] = br#"{"event":"whatsapp.outbound"}"#;
    const REQUEST_VECTOR: &str = "oSMEBTLBkgIavJoVjDpTOz523IXXUsK8PKyVs2DOS1c=";
    // The same message under a 100-byte key of 'a' (`-mac HMAC -macopt hexkey:61...`).
    const LONG_KEY_VECTOR: &str = "0y4cyeOrdALCwtCObwoPROWLfV2prf7luYspfqJbuG0=";

    fn key(text: &str) -> SigningKey {
        SigningKey::new(text.as_bytes())
    }

    #[test]
    fn hmac_matches_openssl() {
        assert_eq!(
            STANDARD.encode(hmac_sha256(b"key", b"message")),
            SHORT_KEY_VECTOR
        );
    }

    #[test]
    fn a_request_signed_as_bird_does_verifies() {
        let k = key("test-signing-key");
        let url = "https://hooks.example.com/bird";
        assert_eq!(
            STANDARD.encode(expected(&k, "1700000000", url, BODY)),
            REQUEST_VECTOR
        );
        assert!(verify(&k, "1700000000", url, BODY, REQUEST_VECTOR));
    }

    #[test]
    fn a_key_longer_than_a_block_is_hashed_first() {
        let k = key(&"a".repeat(100));
        let url = "https://hooks.example.com/bird";
        assert!(verify(&k, "1700000000", url, BODY, LONG_KEY_VECTOR));
    }

    #[test]
    fn any_change_fails_verification() {
        let k = key("test-signing-key");
        let url = "https://hooks.example.com/bird";
        assert!(!verify(&k, "1700000001", url, BODY, REQUEST_VECTOR));
        assert!(!verify(
            &k,
            "1700000000",
            "https://other.example.com/bird",
            BODY,
            REQUEST_VECTOR
        ));
        assert!(!verify(&k, "1700000000", url, b"{}", REQUEST_VECTOR));
        assert!(!verify(
            &key("other"),
            "1700000000",
            url,
            BODY,
            REQUEST_VECTOR
        ));
        assert!(!verify(&k, "1700000000", url, BODY, "not base64!"));
        assert!(!verify(&k, "1700000000", url, BODY, ""));
        assert!(!verify(&k, "1700000000", url, BODY, "oSMEBTLB"));
    }
}
