//! `@connections` through `aws-sdk-apigatewaymanagement` (`PostToConnection`). The endpoint
//! is the API's (`https://{domainName}/{stage}`): configured, or learnt from the first event.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;

use mcp_server::{ConnectionSink, PostError};

pub struct ApiGatewaySink {
    sdk: aws_config::SdkConfig,
    client: OnceLock<Client>,
}

impl ApiGatewaySink {
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
            let config = aws_sdk_apigatewaymanagement::config::Builder::from(&self.sdk).endpoint_url(endpoint).build();
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
