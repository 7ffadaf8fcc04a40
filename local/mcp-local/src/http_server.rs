//! The HTTP side of the gateway: `/mcp` and `/mcp/{server}` (Streamable HTTP), `/ws` and
//! `/ws/{server}` (WebSocket upgrade) and
//! `/@connections/{id}` (the management API the Lambda functions post replies through).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use futures_util::StreamExt;

use mcp_edge::http::HttpBody;
use mcp_edge::limits::MAX_MESSAGE_BYTES;
use mcp_edge::origin::OriginPolicy;
use mcp_server::ConnectionSink;

use mcp_auth::METADATA_PATH;
use mcp_auth::dev_issuer::DevIssuer;

use crate::cli::Args;
use crate::deployment::Deployment;
use crate::dev_auth::DevAuth;
use crate::websocket;

pub async fn bind(args: &Args) -> anyhow::Result<tokio::net::TcpListener> {
    Ok(tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?)
}

/// `http://host:port` of the listener, as clients reach it.
pub fn base_url(listener: &tokio::net::TcpListener) -> anyhow::Result<String> {
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_loopback() && addr.is_ipv4() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    Ok(format!("http://{host}:{}", addr.port()))
}

pub async fn serve(
    deployment: Arc<Deployment>,
    listener: tokio::net::TcpListener,
    auth: Option<DevAuth>,
    args: &Args,
) -> anyhow::Result<()> {
    let mut app = axum::Router::new()
        .route("/mcp", any(mcp))
        .route("/mcp/{server}", any(mcp))
        .route("/ws", get(websocket::upgrade))
        .route("/ws/{server}", get(websocket::upgrade_to))
        .route(
            "/@connections/{id}",
            post(post_to_connection).delete(delete_connection).get(get_connection).layer(from_fn(loopback_only)),
        )
        .with_state(deployment.clone());
    if let Some(auth) = &auth {
        let issuer = auth.issuer.clone();
        app = app
            // The resource's metadata comes from the edge, as on AWS.
            .route(METADATA_PATH, get(mcp).with_state(deployment.clone()))
            .route(&format!("{METADATA_PATH}/mcp"), get(mcp).with_state(deployment.clone()))
            .route(&format!("{METADATA_PATH}/mcp/{{server}}"), get(mcp).with_state(deployment.clone()))
            // The development issuer's documents.
            .route("/.well-known/jwks.json", get(jwks).with_state(issuer.clone()))
            .route("/.well-known/oauth-authorization-server", get(issuer_metadata).with_state(issuer));
    }
    let addr = listener.local_addr()?;
    let base = base_url(&listener)?;
    // One line a script can wait for, then the URLs.
    println!("mcp-local listening on {addr} with {} instance(s) serving {:?}", deployment.len(), args.server);
    println!("  Streamable HTTP  {base}/mcp");
    println!("  WebSocket        {}/ws  (subprotocol: mcp)", base.replacen("http://", "ws://", 1));
    if args.registry_table.is_some() {
        println!("  Registered servers at {base}/mcp/{{server}} and /ws/{{server}} (or /ws?server=)");
    }
    println!("  @connections     {base}/@connections/{{connectionId}}");
    if auth.is_some() {
        println!("  OAuth issuer     {base}  (development; a token: mcp-local mint-token --gateway {base})");
    }
    // TCP_NODELAY on every accepted socket: Nagle plus delayed ACK costs ~40 ms a reply.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let sweeper = deployment.spawn_sweeper(SWEEP_EVERY);
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    sweeper.abort();
    Ok(())
}

/// How often lapsed connections are closed (a deployment does it every minute; locally it is
/// often enough that a test sees a short-lived token's connection closed within seconds).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn mcp(State(deployment): State<Arc<Deployment>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // One byte over the limit is enough to know it is too large; the edge answers 413.
    let bytes = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => Bytes::from(vec![b' '; MAX_MESSAGE_BYTES + 1]),
    };
    let response = deployment.pick().http.handle(axum::http::Request::from_parts(parts, bytes)).await;
    let (parts, body) = response.into_parts();
    let body = match body {
        HttpBody::Empty => Body::empty(),
        HttpBody::Full(b) => Body::from(b),
        HttpBody::Stream(s) => Body::from_stream(s.map(Ok::<_, Infallible>)),
    };
    Response::from_parts(parts, body)
}

/// `@connections` is for the functions, not for browsers: loopback Host and, if any, a
/// loopback Origin (the `--allowed-origins` of `/mcp` do not apply here).
async fn loopback_only(request: Request, next: Next) -> Response {
    match OriginPolicy::loopback().check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(why) => (StatusCode::FORBIDDEN, why).into_response(),
    }
}

async fn post_to_connection(
    State(deployment): State<Arc<Deployment>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match deployment.connections.post(&id, body.to_vec()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => gone(),
    }
}

async fn delete_connection(State(deployment): State<Arc<Deployment>>, Path(id): Path<String>) -> Response {
    if deployment.connections.close(&id).await { StatusCode::NO_CONTENT.into_response() } else { gone() }
}

async fn get_connection(State(deployment): State<Arc<Deployment>>, Path(id): Path<String>) -> Response {
    if deployment.connections.is_open(&id) { StatusCode::OK.into_response() } else { gone() }
}

/// `410 Gone` as API Gateway sends it, so that the AWS SDK reports a `GoneException`.
fn gone() -> Response {
    (
        StatusCode::GONE,
        [("x-amzn-errortype", "GoneException"), ("content-type", "application/json")],
        r#"{"message":null}"#,
    )
        .into_response()
}

async fn jwks(State(issuer): State<Arc<DevIssuer>>) -> Response {
    ([("content-type", "application/json")], issuer.jwks()).into_response()
}

async fn issuer_metadata(State(issuer): State<Arc<DevIssuer>>) -> Response {
    ([("content-type", "application/json")], issuer.metadata()).into_response()
}
