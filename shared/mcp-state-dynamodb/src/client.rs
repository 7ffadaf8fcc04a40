//! The DynamoDB client settings every caller gets: bounded attempts and deadlines, so that
//! a DynamoDB that stops answering (a stalled endpoint, a dropped connection) costs a
//! request a few seconds and a retryable error, never a hang until the function's timeout.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Builder, Credentials, Region};

/// Opening a connection (a regional endpoint answers in milliseconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt: DynamoDB's single-item calls take milliseconds; a page of a query, tens.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// All attempts of one call, backoff included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per call (the SDK's standard retry: throttling and transient errors, with
/// jittered exponential backoff).
pub const MAX_ATTEMPTS: u32 = 3;

/// A client of `config` (`Builder::from(&sdk_config)` for a deployment's) with this crate's
/// deadlines and retries.
pub fn client(config: Builder) -> Client {
    let config = config
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(CALL_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    Client::from_conf(config.build())
}

/// A client for a local emulator (DynamoDB Local, LocalStack, moto) at `endpoint`, with
/// dummy credentials, and the same deadlines as a deployment.
pub fn emulator_client(endpoint: &str) -> Client {
    let builder = Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
    client(builder)
}
