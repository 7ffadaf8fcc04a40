//! DynamoDB errors as state errors: throttling and everything else are retryable from the
//! client's side (the SDK has already retried with backoff); a failed condition is not an
//! error but an answer, handled where it is expected.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use mcp_server::state::{StateError, StateResult};

const THROTTLING: [&str; 3] = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"];
/// Errors no retry can fix: the request itself, or the deployment, is wrong.
const PERMANENT: [&str; 4] = [
    "ValidationException",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "ItemCollectionSizeLimitExceededException",
];

pub(crate) fn state_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StateError {
    if let Some(code) = e.code()
        && THROTTLING.contains(&code)
    {
        return StateError::Throttled;
    }
    if let Some(code) = e.code()
        && PERMANENT.contains(&code)
    {
        tracing::error!(error = ?e, "DynamoDB refused the request");
        return StateError::Rejected(format!("DynamoDB: {code}"));
    }
    tracing::warn!(error = ?e, "DynamoDB call failed");
    StateError::Unavailable(format!("DynamoDB: {}", e.code().unwrap_or("unreachable")))
}

/// Whether the call failed only because its condition did not hold.
pub(crate) fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// The outcome of a conditional write: `true` if it was made, `false` if its condition
/// failed (an answer, not an error), the error otherwise.
pub(crate) fn written<T, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    r: Result<T, SdkError<E, R>>,
) -> StateResult<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(state_error(e)),
    }
}
