//! Why a request was not authenticated.

/// Each variant is one check that failed; none carries what the token said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("access tokens are not accepted in the query string")]
    TokenInQuery,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not allowed")]
    DisallowedAlgorithm,
    #[error("the token names no key the issuer publishes")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token was issued for another resource")]
    WrongAudience,
    #[error("the token lacks a required claim")]
    MissingClaim,
    #[error("the token lacks a required scope")]
    InsufficientScope,
    /// The issuer's keys could not be fetched: the request may be retried.
    #[error("the issuer's keys are unavailable")]
    KeysUnavailable,
}
