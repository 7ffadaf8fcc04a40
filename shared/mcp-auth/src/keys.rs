//! The issuer's signing keys (its JWKS), cached per instance. Fetched on first use, kept for
//! ten minutes, and fetched again early when a token names a key not in the cache (a key
//! rotation), but at most once every 30 seconds, so tokens with made-up `kid`s cannot make the
//! server hammer the issuer. While the issuer cannot be reached, the last keys fetched keep
//! being used, but for at most an hour after that fetch: a key the issuer withdrew during an
//! outage must not stay trusted for ever. Each key is pinned to one algorithm: the one it
//! declares, else the one its type implies. Symmetric keys are never accepted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::AuthError;

const MAX_AGE: Duration = Duration::from_secs(10 * 60);
const MIN_REFETCH: Duration = Duration::from_secs(30);
const MAX_STALE: Duration = Duration::from_secs(60 * 60);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the key set comes from.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn fetch(&self) -> Result<Vec<u8>, String>;
}

#[derive(Clone)]
pub(crate) struct Key {
    pub decoding: DecodingKey,
    pub algorithm: Algorithm,
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, Key>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

pub struct KeyStore {
    source: Arc<dyn KeySource>,
    cached: RwLock<Cached>,
    fetching: Mutex<()>,
}

impl KeyStore {
    pub fn new(source: Arc<dyn KeySource>) -> Self {
        KeyStore { source, cached: RwLock::default(), fetching: Mutex::new(()) }
    }

    pub(crate) async fn key(&self, kid: &str) -> Result<Key, AuthError> {
        if let Some(key) = self.fresh(kid).await {
            return Ok(key);
        }
        let _one_fetch_at_a_time = self.fetching.lock().await;
        {
            let cached = self.cached.read().await;
            let fresh = cached.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE);
            let usable = cached.fetched_at.is_some_and(|t| t.elapsed() < MAX_STALE);
            let recently_tried = cached.attempted_at.is_some_and(|t| t.elapsed() < MIN_REFETCH);
            match cached.keys.get(kid) {
                Some(key) if fresh || (recently_tried && usable) => return Ok(key.clone()),
                Some(_) if recently_tried => return Err(AuthError::KeysUnavailable),
                None if recently_tried => {
                    return Err(if usable { AuthError::UnknownKey } else { AuthError::KeysUnavailable });
                }
                _ => {}
            }
        }
        let fetched = self.source.fetch().await.and_then(|bytes| parse_key_set(&bytes));
        let mut cached = self.cached.write().await;
        cached.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                cached.keys = keys;
                cached.fetched_at = Some(Instant::now());
            }
            Err(why) => {
                tracing::warn!(%why, "cannot fetch the issuer's keys");
                if cached.fetched_at.is_some_and(|t| t.elapsed() >= MAX_STALE) {
                    tracing::error!(
                        "the issuer's keys are over an hour old and cannot be refreshed: tokens are refused"
                    );
                    cached.keys.clear();
                    cached.fetched_at = None;
                }
            }
        }
        match cached.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if cached.fetched_at.is_some() => Err(AuthError::UnknownKey),
            None => Err(AuthError::KeysUnavailable),
        }
    }

    async fn fresh(&self, kid: &str) -> Option<Key> {
        let cached = self.cached.read().await;
        cached.fetched_at.filter(|t| t.elapsed() < MAX_AGE)?;
        cached.keys.get(kid).cloned()
    }
}

/// The signing keys of a JWKS document, by `kid`. Keys without `kid`, symmetric keys and keys
/// for other uses are left out.
pub(crate) fn parse_key_set(bytes: &[u8]) -> Result<HashMap<String, Key>, String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let set: RawSet = serde_json::from_slice(bytes).map_err(|e| format!("JWKS: {e}"))?;
    let mut keys = HashMap::new();
    // One key at a time: a key of a type this server does not know (an encryption key, a
    // curve it does not verify) is skipped, not a reason to drop the others.
    for raw in set.keys {
        let jwk: Jwk = match serde_json::from_value(raw) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::debug!(error = %e, "key skipped in the issuer's JWKS");
                continue;
            }
        };
        let jwk = &jwk;
        let Some(kid) = jwk.common.key_id.clone() else { continue };
        if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature) {
            continue;
        }
        let Some(algorithm) = pinned_algorithm(jwk) else { continue };
        match DecodingKey::from_jwk(jwk) {
            Ok(decoding) => {
                keys.insert(kid, Key { decoding, algorithm });
            }
            Err(e) => tracing::warn!(%kid, error = %e, "unusable key in the issuer's JWKS"),
        }
    }
    Ok(keys)
}

/// The one algorithm a key may verify: the one it declares if asymmetric, else its type's.
fn pinned_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let declared = match jwk.common.key_algorithm {
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
        Some(KeyAlgorithm::PS384) => Some(Algorithm::PS384),
        Some(KeyAlgorithm::PS512) => Some(Algorithm::PS512),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::ES384) => Some(Algorithm::ES384),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(_) => return None,
        None => None,
    };
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => return None,
    };
    Some(declared.unwrap_or(implied))
}

/// The issuer's JWKS over HTTPS (or HTTP, for a development issuer on loopback).
pub struct HttpKeySource {
    url: http::Uri,
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Empty<Bytes>,
    >,
}

impl HttpKeySource {
    pub fn new(url: &str) -> Result<Self, String> {
        let url: http::Uri = url.parse().map_err(|e| format!("JWKS URL {url:?}: {e}"))?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .map_err(|e| format!("TLS: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        Ok(HttpKeySource { url, client })
    }
}

#[async_trait]
impl KeySource for HttpKeySource {
    async fn fetch(&self) -> Result<Vec<u8>, String> {
        let request = http::Request::get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("{}: timed out", self.url))?
            .map_err(|e| format!("{}: {e}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("{}: HTTP {}", self.url, response.status()));
        }
        let body = tokio::time::timeout(FETCH_TIMEOUT, Limited::new(response.into_body(), MAX_JWKS_BYTES).collect())
            .await
            .map_err(|_| format!("{}: timed out", self.url))?
            .map_err(|e| format!("{}: {e}", self.url))?;
        Ok(body.to_bytes().to_vec())
    }
}
