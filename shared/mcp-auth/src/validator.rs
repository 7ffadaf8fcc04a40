//! Checking one bearer token.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::Deserialize;

use crate::keys::{HttpKeySource, KeyStore};
use crate::{AuthConfig, AuthError};

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Who a request acts for, as its token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// `sub`: what sessions, connections, subscriptions and `requestState` are bound to.
    pub subject: String,
    pub scopes: Vec<String>,
    /// `exp`, in seconds since the epoch: a WebSocket connection is closed when it passes.
    pub expires_at_s: u64,
}

/// `sub` and `exp` are required, but optional here so that their absence is reported as a
/// missing claim (by the validation) rather than as a malformed token.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
    /// RFC 8693 / RFC 9068: space-separated.
    #[serde(default)]
    scope: Option<String>,
    /// Some issuers (Entra ID, Okta) use a list instead.
    #[serde(default)]
    scp: Option<ScopeList>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Text(String),
    List(Vec<String>),
}

pub struct TokenValidator {
    config: AuthConfig,
    keys: KeyStore,
}

impl std::fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenValidator").field("config", &self.config).finish_non_exhaustive()
    }
}

impl TokenValidator {
    pub fn new(config: AuthConfig, keys: KeyStore) -> Self {
        TokenValidator { config, keys }
    }

    /// Keys from the configured JWKS URL. No network call until the first token.
    pub fn from_config(config: AuthConfig) -> Result<Self, String> {
        config.check().map_err(|e| e.to_string())?;
        let source = HttpKeySource::new(&config.jwks_url)?;
        Ok(TokenValidator::new(config, KeyStore::new(std::sync::Arc::new(source))))
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        // `alg: none` and unknown algorithms fail here: the header does not parse.
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let key = self.keys.key(&kid).await?;
        // The key decides the algorithm, never the token: an HMAC "signed" with a public
        // key, or an RSA key used as ECDSA, is refused before any verification.
        if header.alg != key.algorithm {
            return Err(AuthError::DisallowedAlgorithm);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = decode::<Claims>(token, &key.decoding, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm => AuthError::DisallowedAlgorithm,
            ErrorKind::MissingRequiredClaim(_) => AuthError::MissingClaim,
            _ => AuthError::Malformed,
        })?;
        let claims = claims.claims;
        let scopes: Vec<String> = match (claims.scope, claims.scp) {
            (Some(s), _) | (None, Some(ScopeList::Text(s))) => {
                s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            (None, Some(ScopeList::List(list))) => list,
            (None, None) => Vec::new(),
        };
        if !self.config.required_scopes.iter().all(|required| scopes.contains(required)) {
            return Err(AuthError::InsufficientScope);
        }
        match (claims.sub, claims.exp) {
            (Some(subject), Some(expires_at_s)) if !subject.is_empty() => {
                Ok(Principal { subject, scopes, expires_at_s })
            }
            _ => Err(AuthError::MissingClaim),
        }
    }
}
