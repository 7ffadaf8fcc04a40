//! MRTR `requestState`: what the server needs to resume a request, carried by the client.
//!
//! The client can read and replay it, so it is HMAC-SHA256 signed, bound to the principal,
//! the method, the target (tool name, prompt name or URI) and a digest of the arguments,
//! carries an expiry, and holds a random nonce that a [`NonceStore`](crate::state::NonceStore)
//! lets through once.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ids::random_id;

type HmacSha256 = Hmac<Sha256>;

/// What a `requestState` proves once verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestState {
    /// Method, e.g. `tools/call`.
    pub m: String,
    /// Target: tool or prompt name, or resource URI.
    pub t: String,
    /// SHA-256 of the arguments' JSON, base64.
    pub d: String,
    /// Principal, or empty.
    pub p: String,
    /// Expiry, milliseconds since the epoch.
    pub x: u64,
    /// Single-use nonce.
    pub n: String,
    /// Answers gathered in earlier rounds.
    pub r: BTreeMap<String, Value>,
    /// The keys of the input requests this state was issued with: the only `inputResponses`
    /// the next round takes.
    #[serde(default)]
    pub q: Vec<String>,
}

/// What one round of a request gathered: the answers so far, and the keys it asks next.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Round {
    /// The client's answers so far, by input key: from this round and the earlier ones.
    pub answers: BTreeMap<String, Value>,
    /// The keys of the input requests this round asks the client to answer.
    pub asked: Vec<String>,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateRejection {
    /// Not in the form of a state: not `body.tag`, not base64url, or not its JSON.
    #[error("requestState is malformed")]
    Malformed,
    /// Not signed with this server's key: altered, forged, or issued by another server.
    #[error("requestState signature does not verify")]
    BadSignature,
    /// Past its expiry: the client starts the request over.
    #[error("requestState has expired")]
    Expired,
    /// Issued for another method, target, arguments or principal.
    #[error("requestState belongs to another request")]
    WrongRequest,
}

/// Signs and verifies request states with one key.
#[derive(Clone)]
pub struct RequestStateCodec {
    key: Vec<u8>,
    ttl_ms: u64,
}

impl RequestStateCodec {
    /// `key` should be at least 32 random bytes from configuration (Secrets Manager, env).
    pub fn new(key: impl Into<Vec<u8>>, ttl_ms: u64) -> Self {
        RequestStateCodec { key: key.into(), ttl_ms }
    }

    /// A codec with a fresh random key: states do not survive a restart, and instances that
    /// do not share the codec cannot read each other's states. For tests and single processes.
    pub fn ephemeral() -> Self {
        let key = format!("{}{}", random_id(), random_id());
        Self::new(key.into_bytes(), 10 * 60 * 1000)
    }

    /// The codec of another server of the deployment: its key is derived from this one and
    /// the server's name, so a state one server issued is a bad signature on any other.
    pub fn for_server(&self, server: &str) -> Self {
        let mut mac = self.mac(b"server:");
        mac.update(server.as_bytes());
        RequestStateCodec { key: mac.finalize().into_bytes().to_vec(), ttl_ms: self.ttl_ms }
    }

    /// A key for another purpose (`purpose` names it), derived from this one: the deployment
    /// keeps one secret, and what is keyed with a derived key cannot forge a state.
    pub fn derived_key(&self, purpose: &str) -> Vec<u8> {
        let mut mac = self.mac(b"purpose:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The digest that binds a state to the request's arguments.
    pub fn digest(arguments: &Value) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(arguments.to_string().as_bytes()))
    }

    /// Signs the state of a request's next round, bound to `method`, `target`, the arguments'
    /// `digest` and `principal`, expiring after the codec's lifetime, with a fresh nonce.
    /// Returns the token the client sends back, and what it holds.
    pub fn issue(
        &self,
        method: &str,
        target: &str,
        digest: String,
        principal: Option<&str>,
        round: Round,
        now_ms: u64,
    ) -> (String, RequestState) {
        let state = RequestState {
            m: method.to_owned(),
            t: target.to_owned(),
            d: digest,
            p: principal.unwrap_or_default().to_owned(),
            x: now_ms + self.ttl_ms,
            n: random_id(),
            r: round.answers,
            q: round.asked,
        };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&state).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(self.mac(body.as_bytes()).finalize().into_bytes());
        (format!("{body}.{tag}"), state)
    }

    /// Verifies signature, expiry and binding; the caller then consumes the nonce.
    pub fn verify(
        &self,
        token: &str,
        method: &str,
        target: &str,
        digest: &str,
        principal: Option<&str>,
        now_ms: u64,
    ) -> Result<RequestState, StateRejection> {
        let (body, tag) = token.split_once('.').ok_or(StateRejection::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| StateRejection::Malformed)?;
        self.mac(body.as_bytes()).verify_slice(&tag).map_err(|_| StateRejection::BadSignature)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| StateRejection::Malformed)?;
        let state: RequestState = serde_json::from_slice(&bytes).map_err(|_| StateRejection::Malformed)?;
        if state.x <= now_ms {
            return Err(StateRejection::Expired);
        }
        if state.m != method || state.t != target || state.d != digest || state.p != principal.unwrap_or_default() {
            return Err(StateRejection::WrongRequest);
        }
        Ok(state)
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_every_rejection() {
        let c = RequestStateCodec::new(b"k".repeat(32), 1000);
        let d = RequestStateCodec::digest(&serde_json::json!({"a": 1}));
        let mut answers = BTreeMap::new();
        answers.insert("input-1".to_owned(), serde_json::json!({"action": "accept"}));
        let round = Round { answers, asked: vec!["input-2".to_owned()] };
        let (token, issued) = c.issue("tools/call", "t", d.clone(), Some("alice"), round, 5);
        assert_eq!(issued.q, ["input-2"]);
        assert_eq!(c.verify(&token, "tools/call", "t", &d, Some("alice"), 6).unwrap(), issued);
        assert_eq!(c.verify(&token, "tools/call", "t", &d, Some("alice"), 2000), Err(StateRejection::Expired));
        assert_eq!(c.verify(&token, "tools/call", "u", &d, Some("alice"), 6), Err(StateRejection::WrongRequest));
        assert_eq!(c.verify(&token, "tools/call", "t", &d, Some("mallory"), 6), Err(StateRejection::WrongRequest));
        let mut tampered = token.clone();
        tampered.insert(3, 'x');
        assert!(c.verify(&tampered, "tools/call", "t", &d, Some("alice"), 6).is_err());
        assert_eq!(c.verify("garbage", "tools/call", "t", &d, None, 6), Err(StateRejection::Malformed));
        let other = RequestStateCodec::new(b"j".repeat(32), 1000);
        assert_eq!(other.verify(&token, "tools/call", "t", &d, Some("alice"), 6), Err(StateRejection::BadSignature));
        let (elsewhere, _) =
            c.for_server("reports").issue("tools/call", "t", d.clone(), Some("alice"), Round::default(), 5);
        assert_eq!(c.verify(&elsewhere, "tools/call", "t", &d, Some("alice"), 6), Err(StateRejection::BadSignature));
        assert!(c.for_server("reports").verify(&elsewhere, "tools/call", "t", &d, Some("alice"), 6).is_ok());
    }
}
