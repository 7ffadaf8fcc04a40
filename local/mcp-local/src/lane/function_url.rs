//! The Function URL: an HTTP request becomes a payload 2.0 event; the function's answer
//! becomes the HTTP response. In `RESPONSE_STREAM` mode the answer is a JSON prelude
//! (status, headers, cookies), eight NUL bytes, then the body as the function writes it,
//! passed on as it comes; in `BUFFERED` mode it is one JSON document. A client that goes
//! away does not stop the function (Lambda streams on regardless).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use lambda_emulator::{InvokeError, LambdaService};
use mcp_edge::rate::SourceAddress;

use super::StageInfo;

/// What separates the prelude from the body in a streamed HTTP response.
const PRELUDE_END: [u8; 8] = [0; 8];
/// The most of a prelude read before giving up on it.
const MAX_PRELUDE: usize = 64 * 1024;

pub async fn handle(
    service: &LambdaService,
    function: &str,
    streaming: bool,
    stage: &StageInfo,
    request: Request<Bytes>,
) -> Response<Body> {
    let event = event(stage, &request);
    let answer = match service.invoke(function, Bytes::from(event.to_string())).await {
        Ok(answer) => answer,
        Err(e) => return failure(&e),
    };
    match answer {
        lambda_emulator::Response::Streaming(rx) if streaming => streamed(rx).await,
        lambda_emulator::Response::Streaming(mut rx) => {
            let mut all = Vec::new();
            while let Some(chunk) = rx.recv().await {
                match chunk {
                    Ok(c) => all.extend_from_slice(&c),
                    Err(e) => return failure(&e),
                }
            }
            buffered(&all)
        }
        lambda_emulator::Response::Complete(body) => buffered(&body),
    }
}

/// What the Function URL answers when the invocation fails.
fn failure(e: &InvokeError) -> Response<Body> {
    tracing::warn!(error = %e, "Function URL invocation failed");
    let (status, message) = match e {
        InvokeError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "Rate Exceeded."),
        _ => (StatusCode::BAD_GATEWAY, "Internal Server Error"),
    };
    plain(status, &json!({ "Message": message }).to_string())
}

fn plain(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_owned()));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// A streamed answer: the prelude, then the body as it comes.
async fn streamed(mut rx: mpsc::Receiver<Result<Bytes, InvokeError>>) -> Response<Body> {
    let mut head = Vec::new();
    let (prelude, rest) = loop {
        match rx.recv().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) => return failure(&e),
            None => return plain(StatusCode::BAD_GATEWAY, "{\"Message\":\"the response ended before its prelude\"}"),
        }
        if let Some(at) = head.windows(PRELUDE_END.len()).position(|w| w == PRELUDE_END) {
            let rest = head.split_off(at + PRELUDE_END.len());
            head.truncate(at);
            break (head, rest);
        }
        if head.len() > MAX_PRELUDE {
            return plain(StatusCode::BAD_GATEWAY, "{\"Message\":\"no prelude in the streamed response\"}");
        }
    };
    let prelude: Value = serde_json::from_slice(&prelude).unwrap_or_default();
    let (tx, body) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        if !rest.is_empty() {
            // The client may be gone; the function's stream is read to its end anyway.
            let _ = tx.send(Ok(Bytes::from(rest))).await;
        }
        while let Some(chunk) = rx.recv().await {
            match chunk {
                Ok(c) => {
                    let _ = tx.send(Ok(c)).await;
                }
                // Cut off (timeout, crash): the connection is broken off, so the client
                // cannot take the stream for a complete one.
                Err(e) => {
                    tracing::warn!(error = %e, "streamed response cut off");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(body, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let mut response = Response::new(Body::from_stream(stream));
    head_from(&prelude, &mut response);
    response
}

/// A buffered answer: `{statusCode, headers, body, isBase64Encoded, cookies}`, or any other
/// JSON, which a Function URL returns as a 200 body.
fn buffered(answer: &[u8]) -> Response<Body> {
    let parsed: Value = serde_json::from_slice(answer).unwrap_or_default();
    if parsed.get("statusCode").is_none() {
        let mut r = Response::new(Body::from(answer.to_vec()));
        r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        return r;
    }
    let body = parsed["body"].as_str().unwrap_or("");
    let body = if parsed["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let mut response = Response::new(Body::from(body));
    head_from(&parsed, &mut response);
    response
}

fn head_from(prelude: &Value, response: &mut Response<Body>) {
    *response.status_mut() =
        prelude["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    for (k, v) in prelude["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&sam_template::scalar_text(v)))
        {
            headers.insert(name, value);
        }
    }
    for cookie in prelude["cookies"].as_array().into_iter().flatten() {
        if let Some(Ok(value)) = cookie.as_str().map(HeaderValue::from_str) {
            headers.append("set-cookie", value);
        }
    }
}

/// The payload 2.0 event of a request.
fn event(stage: &StageInfo, request: &Request<Bytes>) -> Value {
    let url_id = format!("{}url", stage.api_id);
    let headers = request.headers();
    let body = request.body();
    let (body, encoded) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let query = request.uri().query().unwrap_or("");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.uri().path(),
        "rawQueryString": query,
        "cookies": headers.get_all("cookie").iter().filter_map(|c| c.to_str().ok()).flat_map(|c| c.split("; ")).collect::<Vec<_>>(),
        "headers": joined_headers(headers),
        "queryStringParameters": query_map(query),
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": format!("{url_id}.lambda-url.{}.on.aws", stage.region),
            "domainPrefix": url_id,
            "http": {
                "method": request.method().as_str(),
                "path": request.uri().path(),
                "protocol": "HTTP/1.1",
                "sourceIp": request.extensions().get::<SourceAddress>().map_or("127.0.0.1", |a| a.0.as_str()),
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": mcp_server::ids::random_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": super::clock::request_time(),
            "timeEpoch": now,
        },
        "body": body,
        "isBase64Encoded": encoded,
    })
}

/// Headers as the event carries them: lower-case names, repeated ones joined by commas,
/// cookies apart (in `cookies`).
fn joined_headers(headers: &HeaderMap) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for name in headers.keys().filter(|k| k.as_str() != "cookie") {
        let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        out.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    out.insert("x-forwarded-for".into(), Value::String("127.0.0.1".into()));
    out.insert("x-forwarded-proto".into(), Value::String("http".into()));
    out
}

fn query_map(query: &str) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let joined = match out.get(k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v.to_owned(),
        };
        out.insert(k.to_owned(), Value::String(joined));
    }
    out
}
