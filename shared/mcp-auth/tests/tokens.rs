//! Every way a token can be wrong, against a validator whose keys come from a development
//! issuer's JWKS, the way a deployment's come from its issuer.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth::dev_issuer::{DevIssuer, now_s};
use mcp_auth::{AuthConfig, AuthError, KeySource, KeyStore, TokenValidator, challenge};
use serde_json::{Value, json};

const ISSUER: &str = "http://127.0.0.1:8787";
const AUDIENCE: &str = "http://127.0.0.1:8787/mcp";

struct Jwks {
    document: Vec<u8>,
    fetches: AtomicUsize,
    down: AtomicBool,
}

impl Jwks {
    fn serving(document: Vec<u8>) -> Arc<Self> {
        Arc::new(Jwks { document, fetches: AtomicUsize::new(0), down: AtomicBool::new(false) })
    }
}

#[async_trait]
impl KeySource for Jwks {
    async fn fetch(&self) -> Result<Vec<u8>, String> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err("connection refused".into());
        }
        Ok(self.document.clone())
    }
}

fn issuer(name: &str) -> DevIssuer {
    let dir = std::env::temp_dir().join(format!("mcp-auth-test-{}-{name}", std::process::id()));
    DevIssuer::load_or_create(&dir.join("key.pem"), ISSUER).unwrap()
}

fn config() -> AuthConfig {
    AuthConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url: format!("{ISSUER}/.well-known/jwks.json"),
        required_scopes: vec!["mcp".into()],
        leeway: Duration::from_secs(60),
    }
}

fn validator(issuer: &DevIssuer) -> (TokenValidator, Arc<Jwks>) {
    let jwks = Jwks::serving(issuer.jwks());
    (TokenValidator::new(config(), KeyStore::new(jwks.clone())), jwks)
}

fn claims(overrides: Value) -> Value {
    let now = now_s();
    let mut c =
        json!({ "iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "scope": "mcp other", "nbf": now, "exp": now + 600 });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[tokio::test]
async fn a_valid_token_names_its_principal() {
    let issuer = issuer("valid");
    let (validator, _) = validator(&issuer);
    let token = issuer.mint("alice", AUDIENCE, &["mcp".into()], 600).unwrap();
    let principal = validator.validate(&token).await.unwrap();
    assert_eq!(principal.subject, "alice");
    assert_eq!(principal.scopes, ["mcp"]);
    // An issuer that lists scopes (scp) instead of a space-separated string.
    let listed = issuer.sign(&claims(json!({ "scope": null, "scp": ["mcp"] }))).unwrap();
    assert_eq!(validator.validate(&listed).await.unwrap().scopes, ["mcp"]);
}

#[tokio::test]
async fn every_wrong_token_is_refused_for_its_reason() {
    let issuer = issuer("matrix");
    let other = issuer_with_other_key();
    let (validator, _) = validator(&issuer);
    let now = now_s();
    let valid = issuer.sign(&claims(json!({}))).unwrap();
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": issuer.kid() });
    let none = format!("{}.{}.", b64(&json!({ "alg": "none", "kid": issuer.kid() })), b64(&claims(json!({}))));
    // HS256 "signed" with the public key: the classic algorithm-confusion token.
    let hs256 = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(issuer.kid().to_owned());
        jsonwebtoken::encode(&h, &claims(json!({})), &jsonwebtoken::EncodingKey::from_secret(issuer.public_key()))
            .unwrap()
    };
    // One character in the middle of the signature (the last one carries padding bits).
    let mut bad_signature = valid.clone().into_bytes();
    let at = bad_signature.len() - 10;
    bad_signature[at] = if bad_signature[at] == b'A' { b'B' } else { b'A' };
    let bad_signature = String::from_utf8(bad_signature).unwrap();
    let swapped_payload = {
        let parts: Vec<&str> = valid.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(&claims(json!({ "sub": "mallory" }))), parts[2])
    };
    let cases: Vec<(&str, String, AuthError)> = vec![
        ("not a JWT", "not-a-token".into(), AuthError::Malformed),
        // The signature is checked before the payload is even decoded.
        ("garbage segments", format!("{}.???.sig", b64(&header)), AuthError::BadSignature),
        ("alg none", none, AuthError::Malformed),
        ("HS256 with the public key", hs256, AuthError::DisallowedAlgorithm),
        ("unknown kid", other.sign(&claims(json!({}))).unwrap(), AuthError::UnknownKey),
        ("bad signature", bad_signature, AuthError::BadSignature),
        ("payload swapped", swapped_payload, AuthError::BadSignature),
        ("expired", issuer.sign(&claims(json!({ "exp": now - 120 }))).unwrap(), AuthError::Expired),
        ("not yet valid", issuer.sign(&claims(json!({ "nbf": now + 600 }))).unwrap(), AuthError::NotYetValid),
        (
            "wrong issuer",
            issuer.sign(&claims(json!({ "iss": "https://evil.example" }))).unwrap(),
            AuthError::WrongIssuer,
        ),
        (
            "wrong audience",
            issuer.sign(&claims(json!({ "aud": "http://127.0.0.1:8787/other" }))).unwrap(),
            AuthError::WrongAudience,
        ),
        ("no exp", issuer.sign(&claims(json!({ "exp": null }))).unwrap(), AuthError::MissingClaim),
        ("no sub", issuer.sign(&claims(json!({ "sub": null }))).unwrap(), AuthError::MissingClaim),
        ("missing scope", issuer.sign(&claims(json!({ "scope": "other" }))).unwrap(), AuthError::InsufficientScope),
        ("oversized", "a".repeat(20_000), AuthError::Malformed),
    ];
    for (name, token, expected) in cases {
        assert_eq!(validator.validate(&token).await, Err(expected.clone()), "{name}");
        let c = challenge(validator.config(), &expected);
        assert!(c.header.starts_with(
            "Bearer resource_metadata=\"http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp\""
        ));
        assert!(!c.message.contains("alice") && !c.message.contains("mallory"), "{name}: nothing from the token leaks");
    }
    // Within the leeway, a just-expired token still passes.
    let skewed = issuer.sign(&claims(json!({ "exp": now - 30 }))).unwrap();
    assert!(validator.validate(&skewed).await.is_ok());
}

fn issuer_with_other_key() -> DevIssuer {
    issuer("other")
}

#[tokio::test]
async fn unknown_kids_do_not_make_the_server_hammer_the_issuer() {
    let issuer = issuer("refetch");
    let other = issuer_with_other_key();
    let (validator, jwks) = validator(&issuer);
    let good = issuer.mint("alice", AUDIENCE, &["mcp".into()], 600).unwrap();
    validator.validate(&good).await.unwrap();
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
    for _ in 0..50 {
        assert_eq!(validator.validate(&other.sign(&claims(json!({}))).unwrap()).await, Err(AuthError::UnknownKey));
    }
    // At most one early re-fetch in 30 seconds, however many unknown kids arrive.
    assert!(jwks.fetches.load(Ordering::SeqCst) <= 2, "{} fetches", jwks.fetches.load(Ordering::SeqCst));
    validator.validate(&good).await.unwrap();
}

#[tokio::test]
async fn challenges_carry_the_status_and_code_the_spec_names() {
    let c = challenge(&config(), &AuthError::Missing);
    assert_eq!(c.status, 401);
    assert!(!c.header.contains("error="), "{}", c.header);
    assert!(c.header.contains("scope=\"mcp\""));
    let c = challenge(&config(), &AuthError::InsufficientScope);
    assert_eq!(c.status, 403);
    assert!(c.header.contains("error=\"insufficient_scope\""));
    let c = challenge(&config(), &AuthError::Expired);
    assert_eq!(c.status, 401);
    assert!(c.header.contains("error=\"invalid_token\""));
    assert_eq!(challenge(&config(), &AuthError::TokenInQuery).status, 400);
}

#[tokio::test]
async fn a_key_this_server_cannot_use_does_not_hide_the_others() {
    let issuer = issuer("mixed");
    let mut set: Value = serde_json::from_slice(&issuer.jwks()).unwrap();
    let keys = set["keys"].as_array_mut().unwrap();
    // An encryption key on a curve no verifier uses, and an HMAC secret: both skipped.
    keys.insert(0, json!({ "kty": "OKP", "crv": "X25519", "kid": "enc", "use": "enc", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo" }));
    keys.insert(0, json!({ "kty": "oct", "kid": "secret", "k": "c2VjcmV0" }));
    let jwks = Jwks::serving(serde_json::to_vec(&set).unwrap());
    let validator = TokenValidator::new(config(), KeyStore::new(jwks));
    let token = issuer.mint("alice", AUDIENCE, &["mcp".into()], 600).unwrap();
    assert_eq!(validator.validate(&token).await.unwrap().subject, "alice");
}

#[tokio::test(start_paused = true)]
async fn keys_outlive_an_issuer_outage_by_at_most_an_hour() {
    let issuer = issuer("outage");
    let (validator, jwks) = validator(&issuer);
    let token = issuer.mint("alice", AUDIENCE, &["mcp".into()], 3 * 3600).unwrap();
    validator.validate(&token).await.unwrap();
    jwks.down.store(true, Ordering::SeqCst);

    tokio::time::advance(Duration::from_secs(11 * 60)).await;
    assert_eq!(validator.validate(&token).await.unwrap().subject, "alice", "stale keys serve through an outage");
    let fetches = jwks.fetches.load(Ordering::SeqCst);
    assert_eq!(fetches, 2, "one refresh was tried");
    validator.validate(&token).await.unwrap();
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), fetches, "no refetch within 30 s of a failed one");

    tokio::time::advance(Duration::from_secs(50 * 60)).await;
    assert!(matches!(validator.validate(&token).await, Err(AuthError::KeysUnavailable)), "keys over an hour old");
    assert!(matches!(validator.validate(&token).await, Err(AuthError::KeysUnavailable)));

    jwks.down.store(false, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(validator.validate(&token).await.unwrap().subject, "alice", "the issuer back, its keys are used again");
}
