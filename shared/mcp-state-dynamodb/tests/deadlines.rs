//! The client's retries and deadlines against endpoints that misbehave the way DynamoDB and
//! networks do: a table that throttles every call, and an endpoint that accepts connections
//! and never answers. The real SDK client makes the calls; a loopback listener plays the
//! endpoint.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use mcp_server::state::{SessionStore, StateError};
use mcp_state_dynamodb::DynamoState;
use mcp_state_dynamodb::client::{MAX_ATTEMPTS, emulator_client};

/// Longer than any bounded call may take: reaching it means a hang.
const HANG: Duration = Duration::from_secs(30);

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

/// Reads one HTTP request (headers and a `Content-Length` body); `false` at end of stream.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            if buffer.len() >= end + 4 + length {
                return true;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// An endpoint answering every request with DynamoDB's throttling error; counts requests.
async fn throttling_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                while read_request(&mut stream).await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let response = format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-errortype: ProvisionedThroughputExceededException\r\ncontent-length: {}\r\n\r\n{THROTTLED}",
                        THROTTLED.len()
                    );
                    if stream.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, requests)
}

/// An endpoint that accepts connections, reads, and never answers.
async fn stalled_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    url
}

#[tokio::test]
async fn throttling_is_retried_a_bounded_number_of_times_then_reported_as_throttled() {
    let (url, requests) = throttling_endpoint().await;
    let state = DynamoState::new(emulator_client(&url), "throttled");
    let result = tokio::time::timeout(HANG, state.get("session")).await.expect("bounded");
    assert_eq!(result.unwrap_err(), StateError::Throttled);
    assert_eq!(requests.load(Ordering::SeqCst), MAX_ATTEMPTS as usize, "the SDK's standard retries, no more");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_gives_a_retryable_error_at_the_deadline() {
    let url = stalled_endpoint().await;
    let state = DynamoState::new(emulator_client(&url), "stalled");
    let result = tokio::time::timeout(HANG, state.get("session")).await.expect("the call's deadline, not a hang");
    assert!(matches!(result, Err(StateError::Unavailable(_))), "{result:?}");
}
