//! A development issuer for running the whole authorization flow on one machine: an ES256
//! key pair kept in a file (created on first use), its JWKS, its metadata, and tokens minted
//! for a subject, audience and scopes. For local use and tests only: it authenticates no one.

use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const PEM_LABEL: &str = "PRIVATE KEY";

pub struct DevIssuer {
    issuer: String,
    kid: String,
    pkcs8: Vec<u8>,
    public_point: Vec<u8>,
}

impl DevIssuer {
    /// The key in `path` (PKCS#8 PEM), generated and written there (mode 0600) if missing.
    pub fn load_or_create(path: &Path, issuer: impl Into<String>) -> io::Result<DevIssuer> {
        let pkcs8 = match std::fs::read_to_string(path) {
            Ok(pem) => pem_decode(&pem).ok_or_else(|| invalid(format!("{}: not a PKCS#8 PEM key", path.display())))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(path)?,
            Err(e) => return Err(e),
        };
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
            .map_err(|_| invalid(format!("{}: not a P-256 key", path.display())))?;
        let public_point = pair.public_key().as_ref().to_vec();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &public_point);
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        Ok(DevIssuer { issuer: issuer.into(), kid, pkcs8, public_point })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWKS document.
    pub fn jwks(&self) -> Vec<u8> {
        // An uncompressed P-256 point: 0x04, then x and y, 32 bytes each.
        let (x, y) = self.public_point[1..].split_at(32);
        let document = json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }]});
        serde_json::to_vec(&document).unwrap_or_default()
    }

    /// RFC 8414 authorization server metadata, as much as a token-minting issuer has.
    pub fn metadata(&self) -> Vec<u8> {
        let document = json!({
            "issuer": self.issuer,
            "jwks_uri": crate::config::default_jwks_url(&self.issuer),
            "response_types_supported": [],
            "grant_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
        });
        serde_json::to_vec(&document).unwrap_or_default()
    }

    /// A signed token for `subject` on `audience` with `scopes`, valid for `ttl_s` seconds.
    pub fn mint(&self, subject: &str, audience: &str, scopes: &[String], ttl_s: u64) -> Result<String, String> {
        let now = now_s();
        self.sign(&json!({
            "iss": self.issuer, "sub": subject, "aud": audience, "scope": scopes.join(" "),
            "iat": now, "nbf": now, "exp": now + ttl_s, "client_id": "mcp-local",
        }))
    }

    /// Any claims, signed with this issuer's key (tests build bad tokens with it).
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).map_err(|e| e.to_string())
    }

    /// The raw public key (an uncompressed P-256 point).
    pub fn public_key(&self) -> &[u8] {
        &self.public_point
    }
}

pub fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A new key, written to `path` unless another process wrote one first (then that one).
fn create(path: &Path) -> io::Result<Vec<u8>> {
    let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| invalid("cannot generate a key".into()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Written aside, then linked into place: the link fails if the file exists, so readers
    // never see half a key and concurrent creators agree on one.
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| invalid("no randomness".into()))?;
    let aside = path.with_extension(format!("tmp-{}", URL_SAFE_NO_PAD.encode(nonce)));
    write_private(&aside, &pem_encode(document.as_ref()))?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(document.as_ref().to_vec()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let pem = std::fs::read_to_string(path)?;
            pem_decode(&pem).ok_or_else(|| invalid(format!("{}: not a PKCS#8 PEM key", path.display())))
        }
        Err(e) => Err(e),
    }
}

fn pem_encode(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {PEM_LABEL}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    pem
}

fn pem_decode(pem: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let body = pem.split(&begin).nth(1)?.split(&end).next()?;
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    std::fs::write(path, contents)
}
