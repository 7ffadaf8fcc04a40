//! `@connections` through `aws-sdk-apigatewaymanagement` (`PostToConnection`). The endpoint
//! is the API's (`https://{domainName}/{stage}`): configured, or learnt from the first event.
//! Every post has a deadline, as every DynamoDB call has: an API that stops answering costs
//! a message a few seconds, not the function's whole timeout.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;

use mcp_server::{ConnectionSink, PostError};

/// Opening a connection to the API's endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of a post (API Gateway answers in milliseconds).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// A post, retries included.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// The [`ConnectionSink`] of a deployment: posts and closes through API Gateway's
/// `@connections` API, with a client made once its endpoint is known.
pub struct ApiGatewaySink {
    sdk: aws_config::SdkConfig,
    client: OnceLock<Client>,
}

impl ApiGatewaySink {
    /// A sink over `sdk`'s configuration; `None` for `endpoint` leaves it to the first event
    /// ([`Self::use_endpoint`]): until then every post fails.
    pub fn new(sdk: aws_config::SdkConfig, endpoint: Option<String>) -> Self {
        let sink = ApiGatewaySink { sdk, client: OnceLock::new() };
        if let Some(e) = endpoint {
            sink.use_endpoint(&e);
        }
        sink
    }

    /// Sets the endpoint unless one is set already (cheap to call per event).
    pub fn use_endpoint(&self, endpoint: &str) {
        self.client.get_or_init(|| {
            let deadlines = aws_sdk_apigatewaymanagement::config::timeout::TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(POST_TIMEOUT)
                .build();
            let config = aws_sdk_apigatewaymanagement::config::Builder::from(&self.sdk)
                .endpoint_url(endpoint)
                .timeout_config(deadlines)
                .build();
            Client::from_conf(config)
        });
    }
}

#[async_trait]
impl ConnectionSink for ApiGatewaySink {
    async fn post(&self, connection_id: &str, message: Vec<u8>) -> Result<(), PostError> {
        let client = self.client()?;
        let sent = client.post_to_connection().connection_id(connection_id).data(Blob::new(message)).send().await;
        sent.map(drop).map_err(|e| post_error(connection_id, e))
    }

    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        let closed = self.client()?.delete_connection().connection_id(connection_id).send().await;
        closed.map(drop).map_err(|e| post_error(connection_id, e))
    }
}

impl ApiGatewaySink {
    fn client(&self) -> Result<&Client, PostError> {
        self.client.get().ok_or_else(|| PostError::Failed("no @connections endpoint yet".into()))
    }
}

/// `410 Gone` (also without the error type, as some emulators send it) means the connection
/// is dead; anything else is a failure to report.
fn post_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    connection_id: &str,
    e: SdkError<E, HttpResponse>,
) -> PostError {
    let gone = e.as_service_error().and_then(|s| s.code()) == Some("GoneException")
        || e.raw_response().is_some_and(|r| r.status().as_u16() == 410);
    if gone { PostError::Gone(connection_id.to_owned()) } else { PostError::Failed(format!("{e:?}")) }
}
