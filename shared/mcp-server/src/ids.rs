//! Cryptographically random identifiers (session ids, nonces, server request ids).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// 128 random bits, URL-safe base64 (22 visible ASCII characters, valid in any header).
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is unrecoverable: no id would be safe to hand out.
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("OS random source failed: {e}"));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 64 random bits (versions that must never repeat).
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("OS random source failed: {e}"));
    u64::from_le_bytes(bytes)
}
